# Traffic shaping per receiving site under the whole set; see shaping.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/shaping.py"
