# The whole set under s6-svscan; see queue_set.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/queue_set.py"
