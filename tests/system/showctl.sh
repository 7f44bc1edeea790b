# ferry-showctl: every setting with its value and whether it is the default; a bad number, a bad
# smtproutes, mailboxes or shaping line (as the program that reads it sees it), settings that
# contradict each other, a misspelt file name and a stale mailboxes.cdb or shaping.cdb are each
# reported; JSON parses.
. "$FERRY_TOP/tests/lib.sh"
H=$T/home
"$BIN/ferry-setup" -b "$BIN" "$H" > /dev/null || fail "ferry-setup"

"$BIN/ferry-showctl" "$H" > "$T/out" 2> "$T/err" || fail "ferry-showctl on a fresh home exited $?: $(cat "$T/err")"
n=$(grep -c '(the default)' "$T/out")
want=$(grep -c '^  { "' src/libferry/control_table.c)
expect_eq "a fresh home: every one of the $want settings shown, each the default" "$n" "$want"
grep -q '^concurrencylocal: *20   (the default)$' "$T/out" || fail "no concurrencylocal line: $(cat "$T/out")"
pass "a setting's line gives its value"

echo 2000 > "$H/control/concurrencylocal"
echo 7 > "$H/control/concurrencyremote"
echo 300 > "$H/control/timoutdata"
printf 'a.example\nb.example\n' > "$H/control/virtualdomains"
"$BIN/ferry-showctl" "$H" > "$T/out" 2> "$T/err"
expect_eq "problems: exit 100" "$?" 100
grep -q 'bad value in control/concurrencylocal: it must be one number from 1 to 1000' "$T/err" || fail "no complaint about the bad number: $(cat "$T/err")"
grep -q '^concurrencylocal: *2000   <- BAD: not a number in its range$' "$T/out" || fail "the bad line is not marked: $(cat "$T/out")"
pass "a number out of range: named, with its range"
grep -q '^concurrencyremote: *7$' "$T/out" || fail "a changed setting is not shown as set: $(grep concurrencyremote "$T/out")"
pass "a changed setting is shown without (the default)"
grep -q 'control/timoutdata: not a ferry setting (a typo?)' "$T/err" || fail "the misspelt file is not reported"
pass "a misspelt file name is reported"
grep -A1 '^virtualdomains:' "$T/out" | grep -q '^ *b.example$' || fail "a list is not shown line by line: $(cat "$T/out")"
pass "a list setting is shown line by line"
rm "$H/control/timoutdata" ; echo 20 > "$H/control/concurrencylocal"

echo "x@a.example: $T/Maildir/" > "$H/control/mailboxes"
touch -d '1 hour ago' "$H/control/mailboxes.cdb" 2>/dev/null || : > "$H/control/mailboxes.cdb"
touch -d '1 hour ago' "$H/control/mailboxes.cdb"
"$BIN/ferry-showctl" "$H" > /dev/null 2> "$T/err"
grep -q 'control/mailboxes is newer than control/mailboxes.cdb: run ferry-mailboxes' "$T/err" || fail "a stale mailboxes.cdb is not reported: $(cat "$T/err")"
pass "a stale mailboxes.cdb is reported"
"$BIN/ferry-mailboxes" "$H" > /dev/null || fail "ferry-mailboxes"

# each file checked by the parser of the program that reads it: an smtproutes line that stops
# ferry-spawn-remote (it exits 111 at its start) is reported with the file and line
printf 'ok.test:mx.ok.test\nbad.test:[::1:25\n' > "$H/control/smtproutes"
"$BIN/ferry-spawn-remote" "$H" < /dev/null > /dev/null 2> "$T/err"
expect_eq "ferry-spawn-remote refuses that smtproutes: exit 111" "$?" 111
grep -q 'control/smtproutes:2: bad route' "$T/err" || fail "ferry-spawn-remote does not say why: $(cat "$T/err")"
"$BIN/ferry-showctl" "$H" > "$T/out" 2> "$T/err"
expect_eq "ferry-showctl on that smtproutes: exit 100" "$?" 100
grep -q 'bad value in control/smtproutes: line 2: bad route' "$T/err" || fail "the bad route is not named: $(cat "$T/err")"
grep -q 'bad.test:\[::1:25   <- BAD: line 2: bad route' "$T/out" || fail "the bad route is not marked: $(cat "$T/out")"
pass "a bad smtproutes line: named with the file and line"
printf 'ok.test:mx.ok.test\n.sub.test:[::1]:2525\n:smart.test\ndns.test:\n' > "$H/control/smtproutes"
"$BIN/ferry-spawn-remote" "$H" < /dev/null > /dev/null 2> "$T/err" || fail "ferry-spawn-remote refuses good routes: $(cat "$T/err")"
"$BIN/ferry-showctl" "$H" > /dev/null 2> "$T/err" || fail "ferry-showctl refuses the routes ferry-spawn-remote takes: $(cat "$T/err")"
pass "routes that ferry-spawn-remote takes pass"

# settings that contradict each other
echo 600 > "$H/control/minbackoff" ; echo 60 > "$H/control/maxbackoff"
"$BIN/ferry-showctl" "$H" > "$T/out" 2> "$T/err"
expect_eq "maxbackoff below minbackoff: exit 100" "$?" 100
grep -q 'bad value in control/maxbackoff: below control/minbackoff' "$T/err" || fail "maxbackoff < minbackoff is not named: $(cat "$T/err")"
pass "maxbackoff below minbackoff: named"
echo 600 > "$H/control/maxbackoff"
echo 86400 > "$H/control/delaywarning" ; echo 3600 > "$H/control/queuelifetime"
"$BIN/ferry-showctl" "$H" > /dev/null 2> "$T/err"
expect_eq "delaywarning past queuelifetime: exit 100" "$?" 100
grep -q 'bad value in control/delaywarning: not below control/queuelifetime' "$T/err" || fail "delaywarning >= queuelifetime is not named: $(cat "$T/err")"
pass "a delay warning that could never be sent: named"
rm "$H/control/delaywarning" "$H/control/queuelifetime"

# control/mailboxes as ferry-mailboxes reads it
cp "$H/control/mailboxes" "$T/mailboxes.good"
printf 'x@a.example: %s/Maildir/\nno-at-sign: /tmp/x/\n' "$T" > "$H/control/mailboxes"
"$BIN/ferry-mailboxes" "$H" > /dev/null 2> "$T/err"
expect_eq "ferry-mailboxes refuses that file: exit 100" "$?" 100
"$BIN/ferry-showctl" "$H" > /dev/null 2> "$T/err"
expect_eq "ferry-showctl on that mailboxes: exit 100" "$?" 100
grep -q 'bad line in control/mailboxes: line 2: ' "$T/err" || fail "the bad mailboxes line is not named: $(cat "$T/err")"
pass "a bad control/mailboxes line: named with the file and line"
cp "$T/mailboxes.good" "$H/control/mailboxes"
"$BIN/ferry-mailboxes" "$H" > /dev/null || fail "ferry-mailboxes"

# control/tlspolicy and control/smtpauth, checked with ferry-spawn-remote's own parsers; the
# passwords never shown
printf '* may\nexample.com frobnicate\n' > "$H/control/tlspolicy"
"$BIN/ferry-showctl" "$H" > "$T/out" 2> "$T/err"
expect_eq "ferry-showctl on a bad tlspolicy level: exit 100" "$?" 100
grep -q 'control/tlspolicy:2: unknown level frobnicate' "$T/err" || fail "the bad tlspolicy line is not named: $(cat "$T/err")"
grep -q 'example.com frobnicate   <- BAD: control/tlspolicy:2: unknown level' "$T/out" || fail "the bad tlspolicy line is not marked: $(cat "$T/out")"
pass "a bad control/tlspolicy line: named with the file and line"
printf '* may\n[smtp.relay.test] secure match=.relay.test\n' > "$H/control/tlspolicy"
printf '# smarthost\nsmtp.relay.test alice@example.com s3cret words\n' > "$H/control/smtpauth"
chmod 640 "$H/control/smtpauth"
"$BIN/ferry-showctl" "$H" > "$T/out" 2> "$T/err" || fail "good tlspolicy and smtpauth refused: $(cat "$T/err")"
grep -q 'smtp.relay.test alice@example.com (password hidden)' "$T/out" || fail "smtpauth's line is not shown with its password hidden: $(cat "$T/out")"
if grep -q 's3cret' "$T/out" "$T/err" ; then fail "the password is shown: $(cat "$T/out")" ; fi
pass "control/smtpauth: host and user shown, the password hidden"
"$BIN/ferry-showctl" -j "$H" > "$T/json" 2> "$T/err" || fail "ferry-showctl -j exited $?: $(cat "$T/err")"
if grep -q 's3cret' "$T/json" ; then fail "the password is in the JSON: $(cat "$T/json")" ; fi
pass "-j: the password hidden too"
chmod 644 "$H/control/smtpauth"
"$BIN/ferry-showctl" "$H" > "$T/out" 2> "$T/err"
expect_eq "ferry-showctl on an smtpauth others may read: exit 100" "$?" 100
grep -q 'control/smtpauth: readable by others' "$T/err" || fail "an smtpauth others may read is not named: $(cat "$T/err")"
pass "control/smtpauth readable by others: named"
printf 'smtp.relay.test alice\n' > "$H/control/smtpauth" ; chmod 600 "$H/control/smtpauth"
"$BIN/ferry-showctl" "$H" > "$T/out" 2> "$T/err"
expect_eq "ferry-showctl on an smtpauth line without a password: exit 100" "$?" 100
grep -q 'control/smtpauth:1: write host user password' "$T/err" || fail "the bad smtpauth line is not named: $(cat "$T/err")"
pass "a bad control/smtpauth line: named with the file and line"
: > "$H/control/tlspolicy" ; : > "$H/control/smtpauth"

# control/shaping as ferry-shaping reads it, and a compiled table older than its source
printf 'site:big mx=*.big.test connections=5\nexample.com rate=3/d\n' > "$H/control/shaping"
"$BIN/ferry-shaping" "$H" > /dev/null 2> "$T/err"
expect_eq "ferry-shaping refuses that file: exit 100" "$?" 100
"$BIN/ferry-showctl" "$H" > "$T/out" 2> "$T/err"
expect_eq "ferry-showctl on that shaping: exit 100" "$?" 100
grep -q 'bad line in control/shaping: line 2: bad unit: .* (ferry-shaping would refuse the file)$' "$T/err" || fail "the bad shaping line is not named: $(cat "$T/err")"
grep -q '^control/shaping: line 2: bad unit: .*   <- BAD$' "$T/out" || fail "the bad shaping line is not marked: $(cat "$T/out")"
grep -q 'control/shaping is newer than control/shaping.cdb: run ferry-shaping' "$T/err" || fail "a shaping table never compiled is not reported: $(cat "$T/err")"
pass "a bad control/shaping line: named with the file and line; no compiled table: said"
printf 'site:big mx=*.big.test connections=5\nexample.com rate=3/m\n' > "$H/control/shaping"
"$BIN/ferry-shaping" "$H" > /dev/null || fail "ferry-shaping"
touch -d '1 hour ago' "$H/control/shaping.cdb"
"$BIN/ferry-showctl" "$H" > /dev/null 2> "$T/err"
expect_eq "ferry-showctl on a stale shaping.cdb: exit 100" "$?" 100
grep -q 'control/shaping is newer than control/shaping.cdb: run ferry-shaping' "$T/err" || fail "a stale shaping.cdb is not reported: $(cat "$T/err")"
if grep -q 'bad line in control/shaping' "$T/err" ; then fail "a good shaping line is reported bad: $(cat "$T/err")" ; fi
pass "a stale shaping.cdb is reported, good lines are not"
"$BIN/ferry-shaping" "$H" > /dev/null || fail "ferry-shaping"

"$BIN/ferry-showctl" "$H" > /dev/null 2> "$T/err" || fail "a correct set of settings does not pass: $(cat "$T/err")"
pass "a correct set of settings passes: exit 0"

"$BIN/ferry-showctl" -j "$H" > "$T/json" 2> "$T/err" || fail "ferry-showctl -j exited $?: $(cat "$T/err")"
/usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["concurrencyremote"] == {"value": "7", "default": False, "file": True}, d["concurrencyremote"]
assert d["queuesplit"]["default"] is True
assert d["virtualdomains"]["value"] == "a.example\nb.example"
' "$T/json" || fail "the JSON is not what it should be: $(cat "$T/json")"
pass "-j: one JSON object, values and defaults right"
done_testing
