# Benchmark: the whole set end to end; see queue_bench.py. Prints a markdown section.
exec /usr/bin/python3 "$FERRY_TOP/tests/bench/queue_bench.py"
