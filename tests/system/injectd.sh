# ferry-injectd by hand and under s6; see injectd.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/injectd.py"
