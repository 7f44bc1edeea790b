# A setuid ferry-inject ignores FERRY_HOME and its argument: a user cannot point it at a queue
# of their choosing. As root only: a setuid copy owned by a dedicated user, run as nobody.
. "$FERRY_TOP/tests/lib.sh"
if [ "$(id -u)" != 0 ] ; then skip "needs root" ; fi
conf=$(head -n 1 "$FERRY_TOP/conf-home")
if [ -e "$conf" ] ; then skip "$conf exists on this machine; not testing into it" ; fi
id ferryq > /dev/null 2>&1 || "$BIN/ferry-setup" -u -b "$BIN" "$T/uhome" > /dev/null || fail "ferry-setup -u"
H=$T/home
new_home "$H"
chmod 755 "$T" ; chmod -R a+rwX "$H"
cp "$BIN/ferry-inject" "$T/ferry-inject"
chown ferryq "$T/ferry-inject" ; chmod 4711 "$T/ferry-inject"
printf 'x\n' > "$T/msg" ; printf 'Fa@x\0Tb@x\0\0' > "$T/env" ; chmod 644 "$T/msg" "$T/env"
rc=0 ; FERRY_HOME=$H setpriv --reuid=nobody --regid=nogroup --clear-groups "$T/ferry-inject" "$H" < "$T/msg" 1< "$T/env" 2> "$T/err" || rc=$?
expect_eq "setuid ferry-inject with a home argument and FERRY_HOME" "$rc" 61
grep -q "unable to enter the ferry home" "$T/err" || fail "message: $(cat "$T/err")"
expect_eq "nothing went into the home it was pointed at" "$(count_files "$H/queue/todo")" 0
# the same copy without the setuid bit uses the argument
chmod 711 "$T/ferry-inject"
rc=0 ; setpriv --reuid=nobody --regid=nogroup --clear-groups "$T/ferry-inject" "$H" < "$T/msg" 1< "$T/env" 2> "$T/err" || rc=$?
expect_eq "the same program without setuid honours the argument" "$rc" 0
done_testing
