# Local delivery in a root install (ferry-setup -u, root only); see local_root.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/local_root.py"
