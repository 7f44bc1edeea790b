# smtpd.py's cases against ferry-smtpd's server mode (ferry-smtpd -l, a pool of workers).
FERRY_SMTPD_MODE=server exec /usr/bin/python3 "$FERRY_TOP/tests/system/smtpd.py"
