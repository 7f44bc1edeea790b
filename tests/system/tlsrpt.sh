# ferry-tlsrpt: the daily TLS reports of RFC 8460, -n and sent for real under the set; see tlsrpt.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/tlsrpt.py"
