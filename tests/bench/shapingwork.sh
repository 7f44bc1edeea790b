# Benchmark: traffic shaping's cost in instructions (callgrind) per recipient, before shaping and
# now, and with tables of 10 and 10,000 keys; see shaping_work.py. Prints a markdown section.
exec /usr/bin/python3 "$FERRY_TOP/tests/bench/shaping_work.py" "${N:-2000}" "${RUNS:-3}"
