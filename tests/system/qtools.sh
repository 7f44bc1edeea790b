# The hand tools under the whole set; see qtools.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/qtools.py"
