# The syncs of ferry-preprocess-todo and ferry-clean spaced 10 ms apart under a stream of mail; see syncgap.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/syncgap.py"
