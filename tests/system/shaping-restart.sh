# Traffic shaping across a stop of the set, and the hand tools while the queue manager is down; see shaping_restart.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/shaping_restart.py"
