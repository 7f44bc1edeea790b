# Benchmark: ferry against Postfix, Exim and OpenSMTPD, one run per row; see mta.py. Prints a markdown section.
# N (one size, or several: "5000 20000 100000") and RUNS set the size; MTA_SYSTEMS the systems.
exec /usr/bin/python3 "$FERRY_TOP/tests/bench/mta.py" matrix "${N:-5000}" "${RUNS:-3}"
