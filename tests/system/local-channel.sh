# The local channel (ferry-spawn-local) through its protocol; see local_channel.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/local_channel.py"
