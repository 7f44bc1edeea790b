# DANE in the remote channel against a private DNSSEC world (nsd, unbound) and TLS peers; see remote_dane.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/remote_dane.py"
