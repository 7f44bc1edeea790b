"""DANE, MTA-STS and TLS reports through the whole set in a root install, as a mail admin runs
it: a home made by ferry-setup -u (the dedicated users) under s6-svscan, control/dnssecservers a
validating unbound (tests/helpers/dnssec_peers.py, with a private nsd), the policies served over
HTTPS (tests/helpers/mtasts_peers.py), the MX hosts a TLS peer (tests/helpers/tls_peers.py); mail
given by a user that is not root (ferry-sendmail through ferry-injectd). Checks: a signed domain
with TLSA records delivered with "dane: verified by DANE-EE" in the log line; an MTA-STS domain
fetched by ferry-mtasts-fetch as the remote channel's user (mtasts/ owned by ferryr) and delivered
with "sts: certificate verified"; a domain whose MX its enforce policy does not name stays
deferred, ferry-qread saying why; the day's results in tlsrpt/ (written as ferryr); a report for
an earlier day sent at the channel's start by ferry-tlsrpt (as ferryr, through the setuid
ferry-inject) into the Maildir of the domain's rua address."""

import gzip
import os
import pwd
import shutil
import subprocess
import sys
import time
import email
import json

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
import ferrytest  # noqa: E402
from ferrytest import BIN, Home, Supervised, eventually, expect, s6_log, sendmail_as, skip_unless_root, stop_all, test_user  # noqa: E402

skip_unless_root("the dedicated users of ferry-setup -u")
for tool in ("setpriv", "s6-svscan", "s6-svc", "openssl"):
    if not shutil.which(tool):
        print("skipped: no %s here (package/deps lists its package)" % tool)
        sys.exit(77)

from dnssec_peers import DnssecWorld, skip_unless_tools, tlsa_of  # noqa: E402
from mtasts_peers import MtaStsServer  # noqa: E402
from smtp_peers import free_port  # noqa: E402
from tls_peers import TestCA, TlsPeer  # noqa: E402

skip_unless_tools()

home = Home()
stoppers = []
try:
    home.make_with_dedicated_users()
    H = home.path
    log = lambda: s6_log(os.path.join(H, "log"))
    box = home.catchall("example.org")
    tu = test_user()
    ferryr = pwd.getpwnam("ferryr")

    ca = TestCA(os.path.join(home.tmp, "ca"))
    os.chmod(home.tmp, 0o755)
    cert = ca.cert("good", names=("mx.sts.test", "mx.dane.test"))
    expect(subprocess.run(["setpriv", "--reuid=ferryr", "--regid=ferryr", "--clear-groups", "cat", ca.pem],
                          capture_output=True).returncode == 0, "the test CA's certificate is readable by ferryr")
    PORT = free_port()
    peer = TlsPeer("starttls", *cert, port=PORT, name="mx.test")
    stoppers.append(peer.stop)
    # one policy server for both domains (one port): the policy names mx.sts.test only
    sts = MtaStsServer(ca, "sts.test", "version: STSv1\nmode: enforce\nmx: mx.sts.test\nmax_age: 86400\n",
                       names=["mta-sts.sts.test", "mta-sts.stsbad.test"])
    stoppers.append(sts.stop)

    world = DnssecWorld(os.path.join(home.tmp, "dns"))
    stoppers.append(world.stop)
    world.add_zone("dane.test", ["@ MX 10 mx", "mx A 127.0.0.1", "_%d._tcp.mx TLSA %s" % (PORT, tlsa_of(cert[0], 3, 1, 1))])
    world.add_zone("sts.test", ["@ MX 10 mx", "mx A 127.0.0.1", "mta-sts A 127.0.0.1", '_mta-sts TXT "v=STSv1; id=one;"',
                                '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:reports@example.org"'], signed=False)
    world.add_zone("stsbad.test", ["@ MX 10 mx2", "mx2 A 127.0.0.1", "mta-sts A 127.0.0.1", '_mta-sts TXT "v=STSv1; id=one;"'], signed=False)
    world.start()

    for k, v in dict(dnssecservers=world.resolver, smtpport=PORT, mtastsport=sts.port, tlscafile=ca.pem, timeoutmtasts=5,
                     timeoutconnect=5, timeoutgreeting=5, timeoutcommand=10, timeoutdata=10).items():
        home.control(k, "%s\n" % v)
    home.control("dnsservers", "")

    # a day of results before today, as the channel wrote it: reported at the channel's start
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    t0 = int(time.time()) - 86400
    day = os.path.join(H, "tlsrpt", yesterday)
    with open(day, "w") as f:
        for i in range(3):
            f.write("%d\tsts.test\tsts\tone\tmx.sts.test\t127.0.0.1\t127.0.0.1\tsuccess\t\n" % (t0 + i))
        f.write("%d\tsts.test\tsts\tone\tmx.sts.test\t127.0.0.1\t127.0.0.1\tcertificate-expired\tcertificate has expired\n" % (t0 + 5))
    os.chown(day, ferryr.pw_uid, ferryr.pw_gid)

    svscan = Supervised(H)
    stoppers.insert(0, svscan.stop)
    expect(eventually(lambda: "status:" in log() and "listening on" in s6_log(os.path.join(H, "log", "injectd")), 20),
           "the set and ferry-injectd start", log()[-600:])

    def sendmail(subject, rcpt):
        sendmail_as(tu, H, rcpt, "To: %s\nSubject: %s\n\nchecked TLS\n" % (rcpt, subject))

    line = home.delivery_line

    def ended(rcpt):
        expect(eventually(lambda: line(rcpt, "(success|deferral|failure)"), 40), "the delivery to %s ends" % rcpt, log()[-1500:])

    # the report of the day before: ferry-tlsrpt, run by the channel at its start, as ferryr
    def report():
        for f in os.listdir(os.path.join(box, "new")):
            m = email.message_from_bytes(open(os.path.join(box, "new", f), "rb").read())
            if m.get("TLS-Report-Domain") == "sts.test":
                return m
        return None
    expect(eventually(report, 40), "the report of %s for sts.test reached reports@example.org" % yesterday, log()[-1500:])
    m = report()
    if m:
        part = [p for p in m.walk() if p.get_content_type() == "application/tlsrpt+gzip"]
        data = json.loads(gzip.decompress(part[0].get_payload(decode=True))) if part else {}
        pol = (data.get("policies") or [{}])[0]
        expect(pol.get("summary") == {"total-successful-session-count": 3, "total-failure-session-count": 1},
               "its JSON: 3 successful sessions, 1 failure", data)
        expect(pol.get("policy", {}).get("policy-type") == "sts" and pol.get("policy", {}).get("policy-domain") == "sts.test",
               "policy-type sts, policy-domain sts.test", pol.get("policy"))
    expect(eventually(lambda: os.path.exists(os.path.join(H, "tlsrpt", "sent", yesterday)), 10), "the day moved to tlsrpt/sent/",
           os.listdir(os.path.join(H, "tlsrpt")))

    # DANE
    sendmail("dane", "a@dane.test")
    ended("a@dane.test")
    ok = line("a@dane.test", "success")
    print("the log line: %s" % ok, flush=True)
    expect(ok is not None and "dane: verified by DANE-EE" in ok, "a@dane.test delivered, the log line says dane: verified by DANE-EE",
           line("a@dane.test", ".*"))

    # MTA-STS, first contact: the fetch as ferryr, the delivery waits for it
    sendmail("sts", "b@sts.test")
    ended("b@sts.test")
    ok = line("b@sts.test", "success")
    print("the log line: %s" % ok, flush=True)
    expect(ok is not None and "sts: certificate verified" in ok, "b@sts.test delivered, the log line says sts: certificate verified",
           line("b@sts.test", ".*"))
    cf = os.path.join(H, "mtasts", "sts.test")
    expect(os.path.exists(cf) and os.stat(cf).st_uid == ferryr.pw_uid and open(cf, "rb").read().startswith(b"ferry-mtasts 1\nid one\n"),
           "mtasts/sts.test: the policy, written by ferryr", os.listdir(os.path.join(H, "mtasts")))
    expect(sts.requests == 1, "one policy fetch", sts.requests)

    # an MX the enforce policy does not name: deferred, ferry-qread says why
    sendmail("stsbad", "c@stsbad.test")
    ended("c@stsbad.test")
    d = line("c@stsbad.test", "deferral")
    expect(d is not None and "no MX host of the domain matches its MTA-STS policy (mode enforce, id one)" in d,
           "c@stsbad.test deferred: no MX host matches its policy", line("c@stsbad.test", ".*"))
    r = subprocess.run([os.path.join(BIN, "ferry-qread"), H], capture_output=True, text=True)
    expect(r.returncode == 0 and "c@stsbad.test" in r.stdout and "MTA-STS policy" in r.stdout, "ferry-qread shows it and why", r.stdout[-800:])
    expect(len(peer.messages) == 2 and sts.requests == 2, "the peer got the two messages, not the third (whose policy was fetched)",
           ([x[1] for x in peer.messages], sts.requests))

    # today's results, written by the channel as ferryr
    today = os.path.join(H, "tlsrpt", time.strftime("%Y-%m-%d", time.gmtime()))
    rows = [l.split("\t") for l in open(today).read().splitlines()] if os.path.exists(today) else []
    expect(os.path.exists(today) and os.stat(today).st_uid == ferryr.pw_uid, "tlsrpt/TODAY exists, owned by ferryr", os.listdir(os.path.join(H, "tlsrpt")))
    expect(any(r[1] == "dane.test" and r[2] == "tlsa" and r[7] == "success" for r in rows)
           and any(r[1] == "sts.test" and r[2] == "sts" and r[3] == "one" and r[7] == "success" for r in rows),
           "it holds a tlsa success for dane.test and an sts success for sts.test", rows)
finally:
    stop_all(stoppers)
    home.cleanup()
print("%d checks passed" % ferrytest.checks)
