# ferry-qread while messages are being prepared; see qread_walk.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/qread_walk.py"
