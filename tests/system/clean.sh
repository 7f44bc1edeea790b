# ferry-clean: the files the queue manager names are removed and acknowledged; "sweep" removes
# only stale leftovers (older than 36 hours) and never a committed message.
. "$FERRY_TOP/tests/lib.sh"
H=$T/home
new_home "$H"
split=$(cat "$H/control/queuesplit")
printf 'x\n' > "$T/msg" ; printf 'Fa@x\0Tb@x\0\0' > "$T/env"
ids=""
for i in 1 2 3 4 ; do inject "$H" "$T/msg" "$T/env" ; [ "$rc" = 0 ] || fail "inject" ; done
ids=$(ls -tr "$H"/queue/todo/*/* | xargs -n1 basename)
set -- $ids
a=$1 b=$2 c=$3 d=$4
p () { echo "$H/queue/$1/$(( $2 % split ))/$2" ; }
rm "$(p todo $b)"     # b is finished: no todo entry; d has one, as a new message that took an old id

# the service: t (the todo entry), m (envelope and message), c (all three), an unknown kind, a
# malformed frame
frame () { n=$(printf "$1" | wc -c) ; printf "%s:$1," "$n" ; }
{ frame "t$a\0" ; frame "m$b\0" ; frame "c$c\0" ; frame "x$a\0" ; printf 'junk,' ; frame "t$a\0" ; frame "m$d\0" ; } > "$T/req"
rc=0 ; "$BIN/ferry-clean" "$H" < "$T/req" > "$T/ack" 2> "$T/err" || rc=$?
expect_eq "ferry-clean exits 0 at end of input" "$rc" 0
tr '\0' '|' < "$T/ack" > "$T/ack.txt"
want="$(printf '%s' "$(( ${#a} + 2 )):t$a|,$(( ${#b} + 2 )):m$b|,$(( ${#c} + 2 )):c$c|,")"
case "$(cat "$T/ack.txt")" in
  "$want"*"x$a|unknown request|,"*"t$a|,"*"m$d|a new message has this id: its files are left alone|,") pass "each request acknowledged in order, the unknown one and the refused one with their reasons" ;;
  *) fail "acknowledgements: $(cat "$T/ack.txt")" ;;
esac
[ ! -e "$(p todo $a)" ] && [ -e "$(p intd $a)" ] && [ -e "$(p mess $a)" ] || fail "t: todo gone, envelope and mess kept"
pass "t removes the todo entry only: the envelope (intd) stays, read by the queue manager, and the message"
[ ! -e "$(p mess $b)" ] && [ ! -e "$(p intd $b)" ] || fail "m: the envelope and the message file"
pass "m removes the envelope (intd) and the message file"
[ -e "$(p mess $d)" ] && [ -e "$(p intd $d)" ] && [ -e "$(p todo $d)" ] || fail "m of an id with a todo entry removed something"
pass "m of an id that has a todo entry (a new message, the id reused) removes nothing"
# t where a power loss kept the todo name of a committed envelope and lost its intd name
# (ferry-inject syncs todo/N, not intd/N): the envelope is made again from the todo link
ino=$(stat -c %i "$(p todo $d)") ; rm "$(p intd $d)"
frame "t$d\0" > "$T/req2"
rc=0 ; "$BIN/ferry-clean" "$H" < "$T/req2" > "$T/ack2" 2> "$T/err2" || rc=$?
[ "$rc" = 0 ] && [ ! -e "$(p todo $d)" ] && [ "$(stat -c %i "$(p intd $d)" 2> /dev/null)" = "$ino" ] || fail "t did not restore the lost intd name: $(cat "$T/err2")"
pass "t restores an envelope whose intd name was lost, from the todo link, before the todo entry goes"
[ ! -e "$(p todo $c)" ] && [ ! -e "$(p intd $c)" ] && [ ! -e "$(p mess $c)" ] || fail "c: all three"
pass "c removes todo, intd and mess"
grep -q "broken request frame" "$T/err" && grep -q "unknown request" "$T/err" || fail "log: $(cat "$T/err")"
pass "the malformed frame and the unknown request are logged"

# s: the queue manager's files of a finished message (what its own ferry-clean removes), all of
# them, the envelope and the mess file kept; a file that cannot be removed (a directory in place
# of the local file) stops there: the reason is acknowledged and logged, and what comes after it
# (the remote file) is kept
sfiles () { echo "$(p local $1)" "$(p remote $1)" "$(p defer $1)" "$H/queue/hold/$1" "$H/queue/bounce/$1.delay" "$H/queue/bounce/$1.delay.new" ; }
for f in $(sfiles $a) $(p remote $b) ; do mkdir -p "$(dirname "$f")" ; echo x > "$f" ; done
mkdir -p "$(p local $b)/x"
{ frame "s$a\0" ; frame "s$b\0" ; } > "$T/req"
rc=0 ; "$BIN/ferry-clean" "$H" < "$T/req" > "$T/ack" 2> "$T/err" || rc=$?
expect_eq "ferry-clean exits 0 after s requests" "$rc" 0
tr '\0' '|' < "$T/ack" > "$T/ack.txt"
case "$(cat "$T/ack.txt")" in
  "$(( ${#a} + 2 )):s$a|,"*":s$b|unable to remove a recipient file|,") pass "s requests acknowledged in order, the failed one with its reason" ;;
  *) fail "s acknowledgements: $(cat "$T/ack.txt")" ;;
esac
for f in $(sfiles $a) ; do [ ! -e "$f" ] || fail "s left $f" ; done
[ -e "$(p mess $a)" ] && [ -e "$(p intd $a)" ] || fail "s removed the message file or the envelope"
pass "s removes local, remote, defer, hold and the delay marks, not the envelope nor the message file"
[ -e "$(p remote $b)" ] && grep -q "message [0-9A-Z]\{11\}\.$b: unable to remove a recipient file" "$T/err" || fail "s failure: remote kept and logged: $(cat "$T/err")"
pass "an s removal that fails stops there, keeps the rest, and is logged"
rm -r "$(p local $b)" "$(p remote $b)"

# the pool (doc/queue.html, "The pools"): m moves a finished message's small files into
# queue/free.inject, kept for the next messages, and removes a large one; s moves recipient files
# into queue/free.prepare; without the pool directory, m removes them
pool=$H/queue/free.inject
e=700001 ; f=700002 ; g=700003
for id in $e $f $g ; do mkdir -p "$(dirname "$(p mess $id)")" "$(dirname "$(p intd $id)")" ; printf 'x\n' > "$(p mess $id)" ; printf 'Fa@x\0\0' > "$(p intd $id)" ; done
head -c 20000 /dev/zero > "$(p mess $f)"
printf 'T\0' > "$(p remote $e)"
before=$(ls "$pool" | wc -l) ; beforep=$(ls "$H/queue/free.prepare" | wc -l)
{ frame "s$e\0" ; frame "m$e\0" ; frame "m$f\0" ; } > "$T/req"
rc=0 ; "$BIN/ferry-clean" "$H" < "$T/req" > "$T/ack" 2> "$T/err" || rc=$?
expect_eq "ferry-clean exits 0 (the pool)" "$rc" 0
for id in $e $f ; do [ ! -e "$(p mess $id)" ] && [ ! -e "$(p intd $id)" ] || fail "m left a file of $id in the queue" ; done
[ ! -e "$(p remote $e)" ] || fail "s left the recipient file"
after=$(ls "$pool" | wc -l) ; afterp=$(ls "$H/queue/free.prepare" | wc -l)
[ "$after" = $((before + 3)) ] || fail "queue/free.inject holds $after files, not $before + 3 (two envelopes and the small message file)"
[ "$afterp" = $((beforep + 1)) ] || fail "queue/free.prepare holds $afterp files, not $beforep + 1"
[ -z "$(find "$pool" -type f -size +16k)" ] || fail "the 20,000-byte message file was kept in the pool"
pass "m moves the envelope and a small message file into queue/free.inject, removes a message file over 16 KiB; s moves the recipient file into queue/free.prepare"
mv "$pool" "$pool.aside"
frame "m$g\0" > "$T/req"
rc=0 ; "$BIN/ferry-clean" "$H" < "$T/req" > "$T/ack" 2> "$T/err" || rc=$?
[ "$rc" = 0 ] && [ ! -e "$(p mess $g)" ] && [ ! -e "$(p intd $g)" ] && [ ! -e "$pool" ] || fail "without queue/free.inject, m did not remove the files ($rc): $(cat "$T/err")"
mv "$pool.aside" "$pool"
pass "without queue/free.inject, m removes the files"

# who removes (doc/ferry-clean.html, "Removals at once"): 8 m requests read at once whose files
# go into the pool (renames, which free no blocks) are done by ferry-clean itself, no remover
# touching them; 8 more with the pool gone (each removal frees a file's blocks, and is held
# 200 ms by strace) are done by the 4 removers side by side, none by ferry-clean itself, and
# acknowledged as they end (after the first four, then the rest). Each time, all 8 in order.
if command -v strace > /dev/null ; then
  eight () {
    : > "$T/req" ; k=0
    while [ "$k" -lt 8 ] ; do
      id=$(( $1 + k )) ; frame "m$id\0" >> "$T/req"
      mkdir -p "$(dirname "$(p mess $id)")" ; printf 'x\n' > "$(p mess $id)" ; printf 'Fa@x\0\0' > "$(p intd $id)"
      k=$((k + 1))
    done
  }
  # traced WHAT: ferry-clean on $T/req under strace, unlink held 200 ms; sets reads, writes, parent
  # (the file of the process that read the requests) and removers (the other processes that
  # removed a message file), and checks the 8 acknowledgements
  traced () {
    rm -f "$T"/strace.*
    # LeakSanitizer cannot run under ptrace: off for this one run of a sanitizer build
    rc=0 ; ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -ff -o "$T/strace" -e trace=read,write,unlink,renameat2 \
      -e inject=unlink:delay_exit=200000 "$BIN/ferry-clean" "$H" < "$T/req" > "$T/ack" 2> "$T/err" || rc=$?
    expect_eq "ferry-clean under strace exits 0 ($1)" "$rc" 0
    # one file a process (-ff): no call of one split by another's in the middle
    reads=$(cat "$T"/strace.* | grep -c '^read(0, "[0-9]') ; writes=$(cat "$T"/strace.* | grep -c '^write(1,')
    parent=$(grep -l '^read(0, "[0-9]' "$T"/strace.*)
    removers=$(grep -l '^\(unlink(\|renameat2([A-Z_]*, \)"queue/mess/' "$T"/strace.* | grep -v -x -F "$parent" | wc -l)
    [ "$reads" = 1 ] || fail "$1: the 8 requests were not read at once ($reads reads): the test proves nothing"
    tr '\0' '|' < "$T/ack" > "$T/ack.txt" ; tr '\0' '|' < "$T/req" > "$T/req.txt"
    cmp -s "$T/ack.txt" "$T/req.txt" || fail "$1: not the 8 acknowledgements in order: $(cat "$T/ack.txt")"
    for f in $(tr '|' '\n' < "$T/req.txt" | sed -n 's/^[0-9]*:m//p') ; do
      [ ! -e "$(p mess $f)" ] && [ ! -e "$(p intd $f)" ] || fail "$1: a file of $f is left"
    done
  }
  eight 900000 ; traced "into the pool"
  # the renames that succeeded: a slot already taken (EEXIST) is tried again at the next one
  inparent=$(grep -c '^renameat2([A-Z_]*, "queue/\(mess\|intd\)/[0-9]*/90000[0-7]", [A-Z_]*, "queue/free.inject/[0-9]*", [A-Z_]*) = 0$' "$parent")
  expect_eq "removers that moved a message file (the pool)" "$removers" 0
  expect_eq "moves into the pool done by ferry-clean itself" "$inparent" 16
  pass "8 requests whose files go into the pool are done by ferry-clean itself, no remover, all 8 acknowledged in order"
  eight 910000 ; mv "$pool" "$pool.aside" ; traced "the pool gone"
  mv "$pool.aside" "$pool"
  [ "$removers" = 4 ] || fail "the removals were done by $removers processes, not the 4 removers: $(grep -h 'unlink\|renameat2' "$T"/strace.* | head)"
  ! grep -q '^unlink("queue/' "$parent" || fail "ferry-clean itself removed a file with data: $(grep '^unlink' "$parent" | head -3)"
  [ "$writes" -ge 2 ] || fail "8 requests acknowledged in $writes writes, not as the removals end: $(grep -h 'write(1' "$T"/strace.*)"
  pass "8 requests whose removals free blocks are done by the 4 removers side by side, acknowledged as they end ($writes writes), all 8 in order"

  # the marks of a finished message are named by its id, the message file's inode, free again
  # once the message file goes: their removal is synced before the acknowledgement (after which
  # the queue manager asks for the message file's), so no crash can bring one back for the next
  # message with the id. A message without marks (its recipient files only) costs no sync.
  e=700001 f=700002
  for x in "$(p local $e)" "$H/queue/hold/$e" "$(p local $f)" "$(p remote $f)" ; do mkdir -p "$(dirname "$x")" ; echo x > "$x" ; done
  for id in $e $f ; do
    frame "s$id\0" > "$T/req"
    rm -f "$T"/sync.*
    rc=0 ; ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -ff -o "$T/sync" -e trace=syncfs,fsync,fdatasync,write \
      "$BIN/ferry-clean" "$H" < "$T/req" > "$T/ack" 2> "$T/err" || rc=$?
    expect_eq "ferry-clean s$id under strace exits 0" "$rc" 0
    parent=$(grep -l '^write(1,' "$T"/sync.*)
    [ -n "$parent" ] && [ ! -e "$(p local $id)" ] || fail "s$id: not acknowledged, or its recipient file left: $(cat "$T/err")"
    eval "syncs_$id=\$(cat \"\$T\"/sync.* | grep -c -E '^(syncfs|fsync|fdatasync)\\(')"
    eval "order_$id=\$(grep -o -E '^(syncfs|write)\\([0-9]+' \"\$parent\" | tr '\\n' ' ')"
  done
  [ ! -e "$H/queue/hold/$e" ] || fail "s left the hold mark"
  case "${order_700001%%write(1*}" in
    *"syncfs("*) ;;
    *) fail "the removal of a hold mark was acknowledged without a sync before it: $order_700001" ;;
  esac
  expect_eq "sync calls for a message without marks" "$syncs_700002" 0
  pass "s with a hold mark: one syncfs before the acknowledgement; s with recipient files only: no sync"
else
  echo "note: no strace here: the removers and the marks' sync are not checked"
fi

# a full pool (doc/queue.html, "The pools"): every file is removed, the pool left as it was, and
# the pool is not tried at every file (under strace: the renames into it counted; tried at every
# file, the 80 files of 40 messages cost 360 refused renames: three for each file in a remover,
# three more for each envelope in ferry-clean itself, which tries it first). Emptied while the same
# ferry-clean runs, the pool is used again for the next files.
k=0
while [ "$k" -lt 2048 ] ; do [ -e "$pool/$k" ] || printf 'x\n' > "$pool/$k" ; k=$((k + 1)) ; done
chmod 0644 "$pool"/*
ls -i "$pool" | sort > "$T/pool.before"
batch () {
  k=0
  while [ "$k" -lt "$2" ] ; do
    id=$(( $1 + k ))
    mkdir -p "$(dirname "$(p mess $id)")" "$(dirname "$(p intd $id)")"
    printf 'x\n' > "$(p mess $id)" ; printf 'Fa@x\0\0' > "$(p intd $id)"
    frame "m$id\0" >&7
    k=$((k + 1))
  done
}
batch_gone () { k=0 ; while [ "$k" -lt "$2" ] ; do [ ! -e "$(p mess $(( $1 + k )))" ] || return 1 ; k=$((k + 1)) ; done ; }
rm -f "$T/pfifo" "$T"/pstrace.* ; mkfifo "$T/pfifo"
if command -v strace > /dev/null ; then
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -ff -o "$T/pstrace" -e trace=renameat2 "$BIN/ferry-clean" "$H" < "$T/pfifo" > "$T/pack" 2> "$T/perr" &
else
  "$BIN/ferry-clean" "$H" < "$T/pfifo" > "$T/pack" 2> "$T/perr" &
fi
cpid=$!
exec 7> "$T/pfifo"
batch 920000 40
wait_for 20 batch_gone 920000 40
ls -i "$pool" | sort > "$T/pool.after"
cmp -s "$T/pool.before" "$T/pool.after" || fail "a full pool was changed by the removals: $(diff "$T/pool.before" "$T/pool.after" | head -5)"
[ -z "$(ls "$H"/queue/intd/*/92000* 2> /dev/null)" ] || fail "an envelope of the full-pool batch is left"
if [ -n "$(ls "$T"/pstrace.* 2> /dev/null)" ] ; then
  tries=$(cat "$T"/pstrace.* | grep -c '^renameat2(.*"queue/free.inject/')
  [ "$tries" -lt 120 ] || fail "80 files, the pool full: $tries renames tried into it, not under 120 (tried at every file: 360)"
  pass "40 messages removed while the pool is full: the pool untouched, $tries renames tried into it for 80 files"
else
  pass "40 messages removed while the pool is full: the pool untouched (no strace here: the renames are not counted)"
fi
rm -f "$pool"/*
batch 930000 100
exec 7>&-
rc=0 ; wait "$cpid" || rc=$?
expect_eq "ferry-clean exits 0 (the full pool, then the empty one)" "$rc" 0
batch_gone 930000 100 || fail "a message file of the second batch is left"
kept=$(ls "$pool" | wc -l)
[ "$kept" -ge 100 ] || fail "the pool emptied, then 100 messages removed: $kept files kept in it, not 100 or more: $(head -c 300 "$T/perr")"
pass "the pool emptied while ferry-clean runs: $kept of the next 200 files are kept in it"
rm -f "$pool"/*

# a long stream, the kinds mixed (t done at once, m and s by ferry-clean or its removers), read in several
# pieces: all 3,000 acknowledged, in order (the window moves, the tables are compacted and reset)
/usr/bin/python3 -c '
import sys
for k in range(3000):
    p = b"tms"[k % 3:k % 3 + 1] + str(800000 + k).encode() + b"\0"
    sys.stdout.buffer.write(b"%d:%s," % (len(p), p))' > "$T/req"
rc=0 ; timeout 60 "$BIN/ferry-clean" "$H" < "$T/req" > "$T/ack" 2> "$T/err" || rc=$?
expect_eq "ferry-clean exits 0 after 3,000 requests (within a minute: a lost request hangs it)" "$rc" 0
cmp -s "$T/ack" "$T/req" || fail "not the 3,000 acknowledgements in order: $(wc -c < "$T/ack") bytes for $(wc -c < "$T/req"); $(head -c 300 "$T/err")"
pass "3,000 requests of mixed kinds, read in pieces, are all acknowledged, in order"

# the removers: SIGTERM does not stop them (ferry-clean stops when its input ends); a remover
# killed makes ferry-clean die (111) and say why, and the other removers go with it
mkfifo "$T/fifo"
"$BIN/ferry-clean" "$H" < "$T/fifo" > /dev/null 2> "$T/err3" &
cpid=$!
exec 7> "$T/fifo"
nremovers () { pgrep -P "$cpid" | wc -l ; }
four () { [ "$(nremovers)" = 4 ] ; }
wait_for 10 four
rpids=$(pgrep -P "$cpid")
kill -TERM $rpids
# the SIGTERMs handled: none left pending (an ignored signal is dropped when sent; one that
# kills leaves a SIGKILL pending until the remover dies), then the 4 removers must be there alive
handled () {
  for p in $rpids ; do
    [ -r "/proc/$p/status" ] || return 0
    awk '/^(SigPnd|ShdPnd):/ && $2 !~ /^0+$/ { bad = 1 } END { exit bad }' "/proc/$p/status" || return 1
  done
}
wait_for 10 handled
alive () { for p in $rpids ; do [ "$(awk '/^State:/ { print $2 }' "/proc/$p/status" 2> /dev/null)" = S ] || [ "$(awk '/^State:/ { print $2 }' "/proc/$p/status" 2> /dev/null)" = R ] || return 1 ; done ; }
alive && [ "$(nremovers)" = 4 ] || fail "SIGTERM stopped a remover: $(nremovers) left"
kill -KILL $(echo "$rpids" | head -n 1)
rc=0 ; wait "$cpid" || rc=$?
exec 7>&-
expect_eq "a remover killed: ferry-clean exits 111" "$rc" 111
grep -q "a remover died" "$T/err3" || fail "no reason logged: $(cat "$T/err3")"
gone () { for p in $rpids ; do kill -0 "$p" 2> /dev/null && return 1 ; done ; return 0 ; }
wait_for 10 gone
pass "removers ignore SIGTERM; one killed, ferry-clean dies saying so, and the other removers exit"

# sweep: stale leftovers go, fresh files and committed messages stay
H2=$T/home2
new_home "$H2"
for i in 1 2 3 4 5 ; do inject "$H2" "$T/msg" "$T/env" ; done
set -- $(ls -tr "$H2"/queue/todo/*/* | xargs -n1 basename)
committed=$1 prepared=$2 orphan=$3 fresh=$4 localp=$5
q () { echo "$H2/queue/$1/$(( $2 % split ))/$2" ; }
rm "$(q todo $prepared)" ; echo x > "$(q remote $prepared)"     # as after preprocessing: envelope and recipient file
rm "$(q todo $localp)" ; echo x > "$(q local $localp)"     # the same, for the local channel
rm "$(q todo $orphan)"                              # as after a crash before the commit: mess and intd only
rm "$(q todo $fresh)"                               # the same, but recent
echo stale > "$H2/queue/pid/123.1.2.0" ; echo fresh > "$H2/queue/pid/124.1.2.0"
echo notours > "$H2/queue/mess/0/README"
old="40 hours ago"
for f in "$(q mess $committed)" "$(q intd $committed)" "$(q todo $committed)" "$(q mess $prepared)" "$(q intd $prepared)" "$(q mess $localp)" "$(q intd $localp)" "$(q mess $orphan)" "$(q intd $orphan)" \
         "$H2/queue/pid/123.1.2.0" "$H2/queue/mess/0/README" ; do touch -d "$old" "$f" ; done
rc=0 ; "$BIN/ferry-clean" sweep "$H2" > "$T/sweep" 2>&1 || rc=$?
expect_eq "sweep exits 0" "$rc" 0
cat "$T/sweep"
grep -q "^removed $H2/queue/pid/123.1.2.0 (an interrupted injection)\$" "$T/sweep" || fail "stale pid file not reported"
grep -q "^removed $(q mess $orphan) " "$T/sweep" && grep -q "^removed $(q intd $orphan) " "$T/sweep" || fail "orphan not reported"
grep -q "^ferry-clean: swept 3 stale files\$" "$T/sweep" || fail "summary: $(tail -n 1 "$T/sweep")"
pass "sweep removes and reports exactly the 3 stale leftovers"
[ ! -e "$H2/queue/pid/123.1.2.0" ] && [ ! -e "$(q mess $orphan)" ] && [ ! -e "$(q intd $orphan)" ] || fail "stale files still there"
[ -e "$H2/queue/pid/124.1.2.0" ] && [ -e "$(q mess $fresh)" ] && [ -e "$(q intd $fresh)" ] || fail "fresh files removed"
pass "files younger than 36 hours stay"
[ -e "$(q mess $committed)" ] && [ -e "$(q intd $committed)" ] && [ -e "$(q todo $committed)" ] && [ -e "$(q mess $prepared)" ] && [ -e "$(q intd $prepared)" ] \
  && [ -e "$(q mess $localp)" ] && [ -e "$(q intd $localp)" ] || fail "a committed message was touched"
pass "old committed messages (a todo entry, or a local or remote recipient file) are never touched"
[ -e "$H2/queue/mess/0/README" ] || fail "a file that is not a queue file was removed"
pass "a file that is not named like a queue file is left alone"
done_testing
