# The set on a home with the dedicated users (root only); see queue_users.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/queue_users.py"
