# What the remote channel and the queue manager decide; see remote_decisions.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/remote_decisions.py"
