# The remote channel's traffic shaping (ferry-spawn-remote, ferry-shaping); see remote_shaping.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/remote_shaping.py"
