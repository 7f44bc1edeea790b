# Damaged recipient files at the queue manager's start; see damaged_queue.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/damaged_queue.py"
