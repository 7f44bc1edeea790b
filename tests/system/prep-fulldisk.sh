# ferry-preprocess-todo on a full disk, then space again: see prep_fulldisk.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/prep_fulldisk.py"
