# ferry-injectd facing other local users (root only); see injectd_users.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/injectd_users.py"
