# ferry-sendmail under the whole set; see sendmail.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/sendmail.py"
