# ferry-inject, refused injections: every malformed envelope, an oversized message or address,
# unreadable input, bad control values and a missing home or queue each get their documented
# exit code and a clear message, and leave nothing in todo/, intd/ or mess/.
. "$FERRY_TOP/tests/lib.sh"
H=$T/home
new_home "$H"
printf 'Subject: x\n\nbody\n' > "$T/msg"

# try NAME WANTCODE WANTTEXT ENVELOPE-PRINTF-FORMAT [ARGS]
try () {
  name=$1 want=$2 text=$3 ; shift 3
  printf "$@" > "$T/env"
  inject "$H" "$T/msg" "$T/env"
  [ "$rc" = "$want" ] || fail "$name: exit $rc, want $want ($(cat "$T/inject.err"))"
  grep -q "$text" "$T/inject.err" || fail "$name: message '$(cat "$T/inject.err")' lacks '$text'"
  expect_no_queue_files "$H" "$name"
  pass "$name: exit $want, nothing queued"
}

long=$(head -c 1001 /dev/zero | tr '\0' a)
try "empty envelope" 54 "terminating null" ''
try "no sender record" 91 "does not start with a sender" 'Tb@x\0\0'
try "only the terminator" 91 "does not start with a sender" '\0'
try "no recipient" 91 "no recipient" 'Fa@x\0\0'
try "no terminator" 54 "terminating null" 'Fa@x\0Tb@x\0'
try "cut inside a record" 54 "terminating null" 'Fa@x\0Tb@'
try "empty recipient" 91 "empty recipient" 'Fa@x\0T\0\0'
try "two senders" 91 "second sender" 'Fa@x\0Fb@x\0Tc@x\0\0'
try "unknown record type" 91 "record type" 'Fa@x\0Qb@x\0Tc@x\0\0'
try "forged ferry record" 91 "record type" 'Fa@x\0u0\0Tc@x\0\0'
try "sender longer than 1000" 11 "longer than 1000" 'F%s\0Tc@x\0\0' "$long"
try "recipient longer than 1000" 11 "longer than 1000" 'Fa@x\0T%s\0\0' "$long"
try "newline in a recipient" 91 "control character" 'Fa@x\0Tc@x\nBcc: y\0\0'
try "CR in the sender" 91 "control character" 'Fa@x\r\0Tc@x\0\0'
try "bad RET" 91 "DSN" 'Fa@x\0XRET=BOGUS\0Tc@x\0\0'
try "NOTIFY at sender level" 91 "DSN" 'Fa@x\0XNOTIFY=NEVER\0Tc@x\0\0'
try "ENVID at recipient level" 91 "DSN" 'Fa@x\0Tc@x\0XENVID=a\0\0'
try "repeated NOTIFY" 91 "DSN" 'Fa@x\0Tc@x\0XNOTIFY=NEVER\0XNOTIFY=DELAY\0\0'
try "NEVER with another" 91 "DSN" 'Fa@x\0Tc@x\0XNOTIFY=NEVER,DELAY\0\0'
try "bad xtext in ENVID" 91 "DSN" 'Fa@x\0XENVID=a+zz\0Tc@x\0\0'
try "ORCPT without type" 91 "DSN" 'Fa@x\0Tc@x\0XORCPT=c@x\0\0'
try "REQUIRETLS with a value" 91 "DSN" 'Fa@x\0XREQUIRETLS=YES\0Tc@x\0\0'
try "REQUIRETLS at recipient level" 91 "DSN" 'Fa@x\0Tc@x\0XREQUIRETLS\0\0'
try "X record before the sender" 91 "does not start with a sender" 'XRET=FULL\0Fa@x\0Tc@x\0\0'

# a message larger than control/databytes: 33
echo 100 > "$H/control/databytes"
head -c 101 /dev/zero > "$T/msg101" ; head -c 100 /dev/zero > "$T/msg100"
printf 'Fa@x\0Tc@x\0\0' > "$T/env"
inject "$H" "$T/msg101" "$T/env"
expect_eq "101 bytes over a limit of 100" "$rc" 33
grep -q "larger than control/databytes" "$T/inject.err" || fail "size message: $(cat "$T/inject.err")"
expect_no_queue_files "$H" "oversized message"
inject "$H" "$T/msg100" "$T/env"
expect_eq "exactly the limit is accepted" "$rc" 0
rm -rf "$H/queue/todo"/*/* "$H/queue/intd"/*/* "$H/queue/mess"/*/*
echo 0 > "$H/control/databytes"
head -c 20000000 /dev/zero > "$T/msg20m"
inject "$H" "$T/msg20m" "$T/env"
expect_eq "databytes 0 means no limit (20 MB)" "$rc" 0
rm -rf "$H/queue/todo"/*/* "$H/queue/intd"/*/* "$H/queue/mess"/*/*

# bad control values: 55, naming the file
for bad in "abc" "-1" "12 34" "" ; do
  printf '%s\n' "$bad" > "$H/control/databytes"
  inject "$H" "$T/msg" "$T/env"
  [ "$rc" = 55 ] || fail "databytes '$bad': exit $rc, want 55"
  grep -q "bad value in control/databytes" "$T/inject.err" || fail "databytes '$bad': $(cat "$T/inject.err")"
done
pass "bad control/databytes values: 55 naming the file"
echo 0 > "$H/control/queuesplit"
inject "$H" "$T/msg" "$T/env"
expect_eq "queuesplit 0 is out of range" "$rc" 55
echo 23 > "$H/control/queuesplit" ; echo 10240000 > "$H/control/databytes"
expect_no_queue_files "$H" "bad control values"

# the envelope descriptor is not readable: 54
rc=0 ; FERRY_HOME=$H "$BIN/ferry-inject" < "$T/msg" > "$T/out" 2> "$T/inject.err" || rc=$?
expect_eq "fd 1 not readable" "$rc" 54
grep -q "unable to read the envelope" "$T/inject.err" || fail "text: $(cat "$T/inject.err")"
expect_no_queue_files "$H" "unreadable envelope"
# the message descriptor is not readable: 54
rc=0 ; FERRY_HOME=$H "$BIN/ferry-inject" 0> "$T/out" 1< "$T/env" 2> "$T/inject.err" || rc=$?
expect_eq "fd 0 not readable" "$rc" 54
expect_no_queue_files "$H" "unreadable message"

# no home, no queue
rc=0 ; "$BIN/ferry-inject" "$T/nohome" < "$T/msg" 1< "$T/env" 2> "$T/inject.err" || rc=$?
expect_eq "missing home" "$rc" 61
mkdir -p "$T/h2/control"
rc=0 ; "$BIN/ferry-inject" "$T/h2" < "$T/msg" 1< "$T/env" 2> "$T/inject.err" || rc=$?
expect_eq "home without a queue" "$rc" 62
done_testing
