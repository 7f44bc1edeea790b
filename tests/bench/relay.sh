# Benchmark: mail relayed over SMTP through ferry, Postfix, Exim and OpenSMTPD to smtp-sink, with and without TLS;
# see relay_bench.py. Prints a markdown section.
exec /usr/bin/python3 "$FERRY_TOP/tests/bench/relay_bench.py" "${N:-5000}" "${RUNS:-3}"
