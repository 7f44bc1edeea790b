# Benchmark: the remote and multi drains, ferry over TLS alone and with DANE, side by side; see
# mta.py dane. Prints a markdown section.
exec /usr/bin/python3 "$FERRY_TOP/tests/bench/mta.py" dane "${N:-5000}" "${RUNS:-3}"
