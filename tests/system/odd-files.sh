# A FIFO and a symbolic link in queue/todo: see odd_files.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/odd_files.py"
