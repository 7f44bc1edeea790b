# Benchmark: traffic shaping's cost: the remote and multi drains with no table against the build
# before shaping, and with tables of 10 and 10,000 keys; see shaping_bench.py. Prints a markdown
# section.
exec /usr/bin/python3 "$FERRY_TOP/tests/bench/shaping_bench.py" "${N:-5000}" "${RUNS:-5}"
