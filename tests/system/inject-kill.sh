# ferry-inject killed with SIGKILL at random instants of 200 injections (message reading,
# writing, syncing, envelope, link): no todo entry ever names an incomplete message, and every
# injection that exited 0 is committed. What a kill leaves behind is only in pid/, mess/, intd/.
. "$FERRY_TOP/tests/lib.sh"
H=$T/home
new_home "$H"
export FERRY_BIN=$BIN
seed=${FERRY_SEED:-$(date +%s)}
echo "seed $seed"
"$HELPERS/inject-load" kill "$H" 200 "$seed" > "$T/kill" 2>&1 || fail "kill run: $(cat "$T/kill")"
cat "$T/kill"
killed=$(sed -n 's/.*killed \([0-9]*\),.*/\1/p' "$T/kill")
[ "$killed" -ge 50 ] || fail "only $killed of 200 injections were killed: the kills do not land"
pass "200 injections, $killed killed mid-way"
"$HELPERS/inject-load" verify "$H" "$T/inject-ok" > "$T/verify" 2>&1 || fail "verify: $(cat "$T/verify")"
cat "$T/verify"
pass "no todo entry with an incomplete message; every exit 0 committed"
committed=$(sed -n 's/committed \([0-9]*\),.*/\1/p' "$T/verify")
echo "leftovers of killed injections: pid/ $(count_files "$H/queue/pid"), mess/ $(( $(count_files "$H/queue/mess") - committed )), intd/ $(( $(count_files "$H/queue/intd") - committed ))"
done_testing
