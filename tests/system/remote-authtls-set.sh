# DANE, MTA-STS and TLS reports through the whole set in a root install; see remote_authtls_set.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/remote_authtls_set.py"
