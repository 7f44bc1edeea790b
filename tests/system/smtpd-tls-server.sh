# smtpd_tls.py's cases (STARTTLS, SMTPS, AUTH) against ferry-smtpd's server mode (ferry-smtpd -l).
FERRY_SMTPD_MODE=server exec /usr/bin/python3 "$FERRY_TOP/tests/system/smtpd_tls.py"
