# ferry-inject under concurrency: 8 injectors in parallel commit 2,000 messages, each with its
# own id, each message and envelope exactly as sent.
. "$FERRY_TOP/tests/lib.sh"
H=$T/home
new_home "$H"
export FERRY_BIN=$BIN
pids=""
for i in 0 1 2 3 4 5 6 7 ; do
  "$HELPERS/inject-load" run "$H" $((i * 250)) 250 > "$T/load.$i" 2>&1 &
  pids="$pids $!"
done
for p in $pids ; do wait "$p" || fail "an injector failed: $(cat "$T"/load.*)" ; done
pass "8 injectors x 250 messages: every ferry-inject exited 0"
expect_eq "todo entries" "$(count_files "$H/queue/todo")" 2000
expect_eq "distinct ids" "$(find "$H/queue/todo" -type f -printf '%f\n' | sort -u | wc -l)" 2000
expect_eq "message files" "$(count_files "$H/queue/mess")" 2000
"$HELPERS/inject-load" verify "$H" > "$T/verify" 2>&1 || fail "verify: $(cat "$T/verify")"
expect_eq "every message and envelope intact, none twice" "$(cat "$T/verify")" "committed 2000, bad 0"
expect_eq "nothing left in pid/" "$(count_files "$H/queue/pid")" 0
done_testing
