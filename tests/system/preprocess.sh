# ferry-preprocess-todo by itself; see preprocess.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/preprocess.py"
