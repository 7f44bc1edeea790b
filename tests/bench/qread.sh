# Benchmark: the hand tools on a large queue; see qread_bench.py. Prints a markdown section.
exec /usr/bin/python3 "$FERRY_TOP/tests/bench/qread_bench.py"
