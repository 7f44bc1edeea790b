# Benchmark: the relay (no TLS) at several numbers of client sessions, ferry against Postfix; see
# relayload_bench.py. Prints a markdown section.
exec /usr/bin/python3 "$FERRY_TOP/tests/bench/relayload_bench.py" "${N:-5000}" "${RUNS:-3}" "${LOADS:-10 20 40 80}"
