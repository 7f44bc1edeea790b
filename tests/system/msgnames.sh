# Message names over inode reuse; see msgnames.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/msgnames.py"
