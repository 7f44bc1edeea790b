# The queue's split is recorded in the queue: a changed control/queuesplit stops every program,
# and ferry-clean's sweep keeps every message that has an envelope; see queuesplit.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/queuesplit.py"
