# A queue not in memory at the start; see cold_queue.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/cold_queue.py"
