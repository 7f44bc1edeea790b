# Delivery status notifications under the whole set; see bounce.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/bounce.py"
