# ferry-smtpd's server mode: one worker's sessions share nothing, rules, IPv6, workers replaced, SIGTERM; see smtpd_server.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/smtpd_server.py"
