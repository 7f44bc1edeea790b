# The remote channel (ferry-spawn-remote) against real SMTP peers; see remote_channel.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/remote_channel.py"
