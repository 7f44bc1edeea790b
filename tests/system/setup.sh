# ferry-setup: a complete home without root, idempotent, never clobbering a queue;
# the check mode; the log service script really logs with TAI64N stamps.
. "$FERRY_TOP/tests/lib.sh"
H=$T/home

"$BIN/ferry-setup" -b "$BIN" "$H" > "$T/out1" || fail "ferry-setup exited $?"
grep -q "^created queue/lock/trigger (FIFO)$" "$T/out1" || fail "first run does not report the FIFO"
for d in control queue/pid queue/bounce queue/corrupt queue/lock service/ferry/log log ; do
  [ -d "$H/$d" ] || fail "no $d"
done
for d in mess intd todo local remote ; do
  n=$(find "$H/queue/$d" -mindepth 1 -maxdepth 1 -type d | wc -l)
  [ "$n" = 23 ] || fail "queue/$d has $n subdirectories, not 23"
done
pass "the queue has every directory, split 23 ways"
expect_eq "queue/split records the split" "$(cat "$H/queue/split")" 23
expect_eq "queue/split mode" "$(stat -c %a "$H/queue/split")" 644
[ -p "$H/queue/lock/trigger" ] || fail "lock/trigger is not a FIFO"
expect_eq "trigger mode" "$(stat -c %a "$H/queue/lock/trigger")" 622
expect_eq "pid mode" "$(stat -c %a "$H/queue/pid")" 700
expect_eq "mess mode" "$(stat -c %a "$H/queue/mess/7")" 750
# the envelopes are read by the queue manager's user (group ferry) until each message's end
expect_eq "intd mode" "$(stat -c %a "$H/queue/intd/7")" 750
[ ! -e "$H/queue/info" ] || fail "a new home has queue/info (no program uses it)"
for c in me queuesplit databytes locals concurrencylocal concurrencyremote queuelifetime minbackoff maxbackoff delaywarning bouncefrom doublebounceto ; do
  [ -f "$H/control/$c" ] || fail "no control/$c"
done
expect_eq "control/queuesplit" "$(cat "$H/control/queuesplit")" 23
expect_eq "control/databytes" "$(cat "$H/control/databytes")" 10240000
expect_eq "control/me is the host name" "$(cat "$H/control/me")" "$(hostname)"
[ -x "$H/service/ferry/run" ] && [ -x "$H/service/ferry/log/run" ] || fail "run scripts are not executable"
grep -q "^\"$H/bin/ferry-start\" \"$H\"\$" "$H/service/ferry/run" || fail "run does not start ferry-start on the home"
expect_eq "bin points at the programs" "$(readlink "$H/bin")" "$(cd "$BIN" && pwd -P)"

"$BIN/ferry-setup" -c "$H" > "$T/check" || { cat "$T/check" ; fail "ferry-setup -c on a fresh home" ; }
pass "ferry-setup -c accepts the fresh home"

# a second run changes nothing, says so, and leaves a queued message and edited control alone
mkdir -p "$T/m" ; printf 'hello\n' > "$T/m/msg" ; printf 'Fa@b\0Tc@d\0\0' > "$T/m/env"
inject "$H" "$T/m/msg" "$T/m/env" ; expect_eq "inject before the rerun" "$rc" 0
echo mail.example.org > "$H/control/me"
( cd "$H" && find . -printf '%p %i %s %m %T@\n' | sort ) > "$T/before"
"$BIN/ferry-setup" -b "$BIN" "$H" > "$T/out2" || fail "second run exited $?"
( cd "$H" && find . -printf '%p %i %s %m %T@\n' | sort ) > "$T/after"
cmp -s "$T/before" "$T/after" || { diff "$T/before" "$T/after" | head ; fail "the second run changed the home" ; }
grep -q "already a complete ferry home: nothing changed" "$T/out2" || fail "the second run does not say nothing changed: $(cat "$T/out2")"
pass "a second run changes nothing (inodes, sizes, modes, times) and says so"

# a damaged home: -c names what is wrong and exits 1; a run completes what is missing only
rmdir "$H/queue/local/5" ; chmod 755 "$H/queue/pid"
rc=0 ; "$BIN/ferry-setup" -c "$H" > "$T/check2" 2>&1 || rc=$?
expect_eq "ferry-setup -c on a damaged home" "$rc" 1
grep -q "^missing: queue/local/5$" "$T/check2" || fail "-c does not name queue/local/5: $(cat "$T/check2")"
grep -q "^wrong mode: queue/pid (want 0700)$" "$T/check2" || fail "-c does not name the mode of queue/pid"
"$BIN/ferry-setup" -b "$BIN" "$H" > "$T/out3" 2>&1 || fail "repair run exited $?"
[ -d "$H/queue/local/5" ] || fail "the repair run did not recreate queue/local/5"
expect_eq "the repair run leaves pid's mode for a person" "$(stat -c %a "$H/queue/pid")" 755
expect_eq "the queued message is still there" "$(count_files "$H/queue/todo")" 1
expect_eq "edited control/me is kept" "$(cat "$H/control/me")" mail.example.org

# -s sets the split of a new queue
"$BIN/ferry-setup" -b "$BIN" -s 5 "$T/h5" > /dev/null || fail "ferry-setup -s 5"
expect_eq "split 5" "$(find "$T/h5/queue/todo" -mindepth 1 -type d | wc -l)" 5
expect_eq "split 5 recorded" "$(cat "$T/h5/queue/split")" 5
rc=0 ; "$BIN/ferry-setup" -s 0 "$T/h0" 2> "$T/err" || rc=$?
expect_eq "-s 0 is refused" "$rc" 100

# the log service: s6-log with TAI64N stamps into the home's log/
echo "ferry test line" | ( cd "$H/service/ferry/log" && ./run ) || fail "log/run exited $?"
grep -Eq '^@4[0-9a-f]{23} ferry test line$' "$H/log/current" || fail "no TAI64N-stamped line in log/current: $(cat "$H/log/current")"
pass "log/run writes TAI64N-stamped lines to log/current"

# dedicated users, as root only
if [ "$(id -u)" = 0 ] ; then
  "$BIN/ferry-setup" -u -b "$BIN" "$T/hu" > "$T/outu" || fail "ferry-setup -u exited $?"
  expect_eq "queue/mess owner" "$(stat -c %U:%G "$T/hu/queue/mess/3")" ferryq:ferry
  expect_eq "queue/split owner and mode" "$(stat -c %U:%G:%a "$T/hu/queue/split")" ferryq:ferry:644
  expect_eq "queue/local owner" "$(stat -c %U:%G "$T/hu/queue/local/3")" ferrys:ferry
  expect_eq "queue/intd owner and mode" "$(stat -c %U:%G:%a "$T/hu/queue/intd/3")" ferryq:ferry:750
  expect_eq "log owner" "$(stat -c %U "$T/hu/log")" ferryl
  grep -q "^s6-setuidgid ferryl$" "$T/hu/service/ferry/log/run" || fail "log/run does not drop to ferryl"
  "$BIN/ferry-setup" -u -c "$T/hu" > /dev/null || fail "ferry-setup -u -c"
  # a home whose queue/split went: -u -c reports it, -u writes it back with its owner and mode
  rm "$T/hu/queue/split"
  rc=0 ; "$BIN/ferry-setup" -u -c "$T/hu" > "$T/outuc" || rc=$?
  expect_eq "-u -c on a home without queue/split exits 1" "$rc" 1
  grep -q "missing: queue/split" "$T/outuc" || fail "-u -c does not report queue/split missing: $(cat "$T/outuc")"
  "$BIN/ferry-setup" -u -b "$BIN" "$T/hu" > "$T/outur" || fail "ferry-setup -u on a home without queue/split exited $?"
  expect_eq "queue/split written back" "$(cat "$T/hu/queue/split")" 23
  expect_eq "queue/split written back: owner and mode" "$(stat -c %U:%G:%a "$T/hu/queue/split")" ferryq:ferry:644
  pass "as root, -u makes the home with the dedicated users"
fi
done_testing
