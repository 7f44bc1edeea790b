# ferry-mtasts-fetch by hand against MTA-STS policy servers and dnsmasq; see mtasts_fetch.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/mtasts_fetch.py"
