# Benchmark: the remote and multi drains, ferry over TLS alone and with DANE, side by side; see
# dane_bench.py. Prints a markdown section.
exec /usr/bin/python3 "$FERRY_TOP/tests/bench/dane_bench.py" "${N:-5000}" "${RUNS:-3}"
