# Benchmark: the remote channel to smtp-sink; see remote_bench.py. Prints a markdown section.
exec /usr/bin/python3 "$FERRY_TOP/tests/bench/remote_bench.py"
