# Benchmark: ferry against Postfix, one run per row; see mta.py. Prints a markdown section.
# N and RUNS set the size (the issue asks 5,000 and 20,000, 3 runs: hours with Postfix end to end).
exec /usr/bin/python3 "$FERRY_TOP/tests/bench/mta.py" matrix "${N:-5000}" "${RUNS:-3}"
