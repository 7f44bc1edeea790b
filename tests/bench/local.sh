# Benchmark: the local channel; see local_bench.py. Prints a markdown section.
exec /usr/bin/python3 "$FERRY_TOP/tests/bench/local_bench.py"
