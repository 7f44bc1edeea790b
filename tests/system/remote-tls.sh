# Outbound TLS and SMTP AUTH in the remote channel against TLS peers and a private Postfix; see remote_tls.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/remote_tls.py"
