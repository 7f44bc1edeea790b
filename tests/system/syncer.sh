# The queue manager's syncer: deliveries go on during a sync, messages finish after it; see syncer.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/syncer.py"
