# File-system faults under the running set and at injection; see faults.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/faults.py"
