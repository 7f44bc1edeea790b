# ferry-inject on a full disk: a home on a 2 MB tmpfs (as root), filled so that the message
# does not fit, gives 53 and leaves nothing queued, and the space comes back; a file-size
# limit (ulimit -f) does the same without root.
. "$FERRY_TOP/tests/lib.sh"
printf 'Fa@x\0Tc@x\0\0' > "$T/env"

check_full () {  # HOME WHAT
  grep -q "unable to write the message" "$T/inject.err" || fail "$2: message '$(cat "$T/inject.err")'"
  expect_no_queue_files "$1" "$2"
}

# file-size limit: 8 KiB; a 20 KB message cannot be written
new_home "$T/h1"
head -c 20000 /dev/urandom > "$T/msg20k"
rc=0 ; ( ulimit -f 16 ; FERRY_HOME=$T/h1 exec "$BIN/ferry-inject" < "$T/msg20k" 1< "$T/env" 2> "$T/inject.err" ) || rc=$?
expect_eq "over the file-size limit" "$rc" 53
check_full "$T/h1" "file-size limit"
head -c 2000 /dev/urandom > "$T/msg2k"
rc=0 ; ( ulimit -f 16 ; FERRY_HOME=$T/h1 exec "$BIN/ferry-inject" < "$T/msg2k" 1< "$T/env" 2> "$T/inject.err" ) || rc=$?
expect_eq "under the file-size limit" "$rc" 0

if [ "$(id -u)" != 0 ] || ! mkdir "$T/fs" || ! mount -t tmpfs -o size=2m,nr_inodes=2000 tmpfs "$T/fs" 2> "$T/mount.err" ; then
  echo "note: the tmpfs part needs root and mount: $(cat "$T/mount.err" 2>/dev/null)"
  done_testing ; exit 0
fi
unmount () { umount "$T/fs" 2>/dev/null ; }
at_exit unmount
H=$T/fs/home
new_home "$H"
free_kb () { df -k "$T/fs" | awk 'NR == 2 { print $4 }' ; }
# leave about 200 KB free
head -c $(( ($(free_kb) - 200) * 1024 )) /dev/zero > "$T/fs/filler" 2>/dev/null
head -c 400000 /dev/urandom > "$T/msg400k"
inject "$H" "$T/msg400k" "$T/env"
expect_eq "a 400 KB message with 200 KB free" "$rc" 53
check_full "$H" "full tmpfs"
inject "$H" "$T/msg2k" "$T/env"
expect_eq "the space of the failed message came back: a 2 KB message fits" "$rc" 0
# now nothing free at all
rm -f "$H/queue/todo"/*/* "$H/queue/intd"/*/* "$H/queue/mess"/*/*
head -c $(( $(free_kb) * 1024 + 8192 )) /dev/zero > "$T/fs/filler2" 2>/dev/null
expect_eq "the tmpfs is full" "$(free_kb)" 0
inject "$H" "$T/msg2k" "$T/env"
[ "$rc" = 53 ] || fail "a message on a full disk: exit $rc, want 53 ($(cat "$T/inject.err"))"
pass "a 2 KB message on a full disk: 53"
expect_no_queue_files "$H" "completely full tmpfs"
rm -f "$T/fs/filler2"
inject "$H" "$T/msg2k" "$T/env"
expect_eq "with room again, the same message is accepted" "$rc" 0
expect_eq "exactly one message queued" "$(count_files "$H/queue/todo")" 1
done_testing
