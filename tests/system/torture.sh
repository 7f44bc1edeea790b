# Crash torture: SIGKILL of the set or one member at random instants under a mixed load; see torture.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/torture.py"
