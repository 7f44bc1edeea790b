# MTA-STS in the remote channel: policies fetched by ferry-mtasts-fetch, cached, enforced; see remote_mtasts.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/remote_mtasts.py"
