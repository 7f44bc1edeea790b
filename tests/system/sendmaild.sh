# ferry-sendmaild and ferry-sendmail; see sendmaild.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/sendmaild.py"
