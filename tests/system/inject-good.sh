# ferry-inject, accepted messages: the exact bytes of mess/ and todo/, the Received: line,
# DSN extension records kept, the trigger pulled, and the home found by argument or FERRY_HOME.
. "$FERRY_TOP/tests/lib.sh"
H=$T/home
new_home "$H"

# a plain qmail-queue client: message on 0, envelope on 1
printf 'From: a@example.org\nSubject: test\n\nline 1\n.\nlast line without newline' > "$T/msg"
printf 'Fsender@example.org\0Trcpt1@example.net\0Trcpt2@example.com\0\0' > "$T/env"
before=$(date +%s)
inject "$H" "$T/msg" "$T/env"
expect_eq "exit code of a good injection" "$rc" 0
expect_eq "todo entries" "$(count_files "$H/queue/todo")" 1
todo=$(find "$H/queue/todo" -type f)
id=$(basename "$todo")
n=$(basename "$(dirname "$todo")")
expect_eq "the id is the message file's inode" "$(stat -c %i "$H/queue/mess/$n/$id")" "$id"
expect_eq "split subdirectory is id % 23" "$n" "$((id % 23))"

# mess: one Received: line, then the message byte for byte
head -n 1 "$H/queue/mess/$n/$id" > "$T/received"
grep -Eq "^Received: \(ferry [0-9]+ invoked by uid $(id -u)\) id $id; (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} \+0000\$" "$T/received" \
  || fail "Received: line is '$(cat "$T/received")'"
pass "Received: line names the pid, the uid, the id and the date"
tail -c +"$(( $(wc -c < "$T/received") + 1 ))" "$H/queue/mess/$n/$id" > "$T/body"
cmp -s "$T/body" "$T/msg" || fail "message bytes differ"
pass "mess/ holds the message byte for byte after the Received: line"

# todo: u<uid> p<pid> t<time>, then the client's envelope verbatim
tr '\0' '\n' < "$todo" > "$T/todo.txt"
expect_eq "todo record 1" "$(sed -n 1p "$T/todo.txt")" "u$(id -u)"
sed -n 2p "$T/todo.txt" | grep -Eq '^p[0-9]+$' || fail "todo record 2 is not p<pid>"
t=$(sed -n 3p "$T/todo.txt" | sed 's/^t//')
# time(), which ferry-inject uses, reads the kernel's coarse clock: up to a tick behind date's, so
# at a second's edge it may still say the second before
[ "$t" -ge "$((before - 1))" ] && [ "$t" -le "$(date +%s)" ] || fail "todo birth time $t is not now"
# w: octets on the wire (the Received: line and the message, a CR more for each of their LFs), b7: 7-bit, no long line
wire=$(( $(wc -c < "$H/queue/mess/$n/$id") + $(tr -cd '\n' < "$H/queue/mess/$n/$id" | wc -c) ))
expect_eq "todo record 4: the message's size on the wire" "$(sed -n 4p "$T/todo.txt")" "w$wire"
expect_eq "todo record 5: 7-bit, no line over 998 octets" "$(sed -n 5p "$T/todo.txt")" "b7"
tail -c +"$(( $(head -n 5 "$T/todo.txt" | wc -c) + 1 ))" "$todo" > "$T/envstored"
cmp -s "$T/envstored" "$T/env" || fail "the stored envelope differs from the client's"
pass "todo/ holds u, p, t, w, b and the client's envelope verbatim"
expect_eq "intd/ is the same file as todo/" "$(stat -c %i "$H/queue/intd/$n/$id")" "$(stat -c %i "$todo")"
expect_eq "nothing left in pid/" "$(count_files "$H/queue/pid")" 0

# null sender, DSN extension records, a 1,000-byte address, an 8-bit address
a1000=$(head -c 988 /dev/zero | tr '\0' x)@example.org
printf 'F\0XENVID=abc+2Bdef\0XRET=HDRS\0XBODY=8BITMIME\0XSMTPUTF8\0XREQUIRETLS\0T%s\0XNOTIFY=SUCCESS,DELAY\0XORCPT=rfc822;b+40example.org\0T\303\251l\303\250ve@example.org\0XNOTIFY=NEVER\0\0' "$a1000" > "$T/env2"
printf 'x' > "$T/msg2"
inject "$H" "$T/msg2" "$T/env2"
expect_eq "null sender with DSN records" "$rc" 0
todo2=$(find "$H/queue/todo" -type f -newer "$todo" ; find "$H/queue/todo" -type f ! -name "$id")
todo2=$(echo "$todo2" | sort -u | head -n 1)
tail -c "$(wc -c < "$T/env2")" "$todo2" | cmp -s - "$T/env2" || fail "DSN records not stored verbatim"
pass "the X records and a 1000-byte address are stored verbatim"

# an empty message and a 3 MB binary one
: > "$T/empty"
inject "$H" "$T/empty" "$T/env" ; expect_eq "empty message" "$rc" 0
head -c 3000000 /dev/urandom > "$T/big"
inject "$H" "$T/big" "$T/env" ; expect_eq "3 MB binary message" "$rc" 0
big=$(ls -t "$H"/queue/mess/*/* | head -n 1)
tail -c 3000000 "$big" | cmp -s - "$T/big" || fail "binary message bytes differ"
pass "a 3 MB binary message is stored byte for byte"

# the trigger: a listener on lock/trigger is woken; with none, injection does not block
( exec 3<>"$H/queue/lock/trigger" ; dd of="$T/pulled" bs=1 count=1 <&3 2>/dev/null ) &
ddpid=$!
stop_dd () { kill "$ddpid" 2>/dev/null ; }
at_exit stop_dd
wait_for 10 sh -c "ls -l /proc/$ddpid/fd 2>/dev/null | grep -q trigger"
inject "$H" "$T/msg" "$T/env" ; expect_eq "inject with a listener" "$rc" 0
wait "$ddpid" || fail "the listener did not finish"
expect_eq "the listener got one byte" "$(wc -c < "$T/pulled")" 1

# the home: argument, else FERRY_HOME, else conf-home
new_home "$T/other"
rc=0 ; FERRY_HOME=$H "$BIN/ferry-inject" "$T/other" < "$T/msg" 1< "$T/env" || rc=$?
expect_eq "inject with a home argument" "$rc" 0
expect_eq "the argument wins over FERRY_HOME" "$(count_files "$T/other/queue/todo")" 1
rc=0 ; env -u FERRY_HOME "$BIN/ferry-inject" < "$T/msg" 1< "$T/env" 2> "$T/err" || rc=$?
if [ ! -d "$(head -n 1 "$FERRY_TOP/conf-home")" ] ; then
  expect_eq "no home at conf-home: 61" "$rc" 61
  grep -q "unable to enter the ferry home" "$T/err" || fail "error text: $(cat "$T/err")"
fi

# the programs that start once per message are static (doc/ferry-inject.html): no program
# interpreter, so no shared library at start. The sanitizer build links them dynamically.
if [ -z "${FERRY_BIN:-}" ] && command -v readelf > /dev/null ; then
  for p in ferry-inject ferry-sendmail ; do
    readelf -l "$BIN/$p" | grep -q "Requesting program interpreter" && fail "$p is linked dynamically"
  done
  readelf -l "$BIN/ferry-injectd" | grep -q "Requesting program interpreter" || fail "readelf sees no interpreter in a dynamic program: the check proves nothing"
  pass "ferry-inject and ferry-sendmail are static"
fi
done_testing
