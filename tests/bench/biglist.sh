# Benchmark: ferry-schedule's time per recipient for one message of 1,000 to 1,000,000; see biglist_bench.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/bench/biglist_bench.py"
