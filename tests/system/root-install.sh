# The root install as a mail admin makes it (root only): make install, ferry-setup -u, the set
# linked into an s6 scan directory, and mail from callers that are not root; see root_install.py.
exec /usr/bin/python3 "$FERRY_TOP/tests/system/root_install.py"
