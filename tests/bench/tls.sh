# Benchmark: the remote and multi drains over TLS, ferry with and without, Postfix with; see
# tls_bench.py. Prints a markdown section.
exec /usr/bin/python3 "$FERRY_TOP/tests/bench/tls_bench.py" "${N:-5000}" "${RUNS:-3}"
