# ferry-local by hand, system users, the mailboxes compiler, a full disk; see local_delivery.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/local_delivery.py"
