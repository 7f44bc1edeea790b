# Outbound TLS and SMTP AUTH through the whole set in a root install (ferry-setup -u), mail from a
# user that is not root; see remote_tls_set.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/remote_tls_set.py"
