# The remote channel's 7-bit conversion and its account of a lost connection; see remote_mime.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/remote_mime.py"
