# ferry-metrics and the programs' snapshots, parsed by python3-prometheus-client: the counters
# against the logs and a scripted peer, the HTTP service, a root install; see metrics.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/metrics.py"
