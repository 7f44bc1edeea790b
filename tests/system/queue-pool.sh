# The queue's pools in a running set; see queue_pool.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/queue_pool.py"
