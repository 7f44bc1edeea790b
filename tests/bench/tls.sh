# Benchmark: the remote and multi drains over TLS, ferry with and without, Postfix with; see mta.py tls.
# Prints a markdown section.
exec /usr/bin/python3 "$FERRY_TOP/tests/bench/mta.py" tls "${N:-5000}" "${RUNS:-3}"
