# The body facts: ferry-inject and ferry-injectd record a message's size on the wire, 8-bit or
# not, long lines or not (w and b records), and ferry-spawn-remote reads the message once; see body_facts.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/body_facts.py"
