# ferry-smtpd under tcpserver, with the set; see smtpd.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/smtpd.py"
