# Big recipient lists: batches, a host's recipient limit, bounded logs and defer files; see big_lists.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/big_lists.py"
