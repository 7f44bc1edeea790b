# ferry-smtpd's STARTTLS, SMTPS and AUTH under tcpserver, with python smtplib, raw sockets and swaks; see smtpd_tls.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/smtpd_tls.py"
