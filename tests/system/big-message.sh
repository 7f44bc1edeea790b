# A 100,000-recipient message beside 100 others; see big_message.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/big_message.py"
