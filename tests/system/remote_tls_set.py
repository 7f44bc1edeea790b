"""Outbound TLS and SMTP AUTH through the whole set in a root install, as a mail admin sets it up:
a home made by ferry-setup -u (the dedicated users) under s6-svscan, control/smtpauth as
ferry-setup made it (0640 root:ferryr) filled by root, a route to a TLS peer by name (dnsmasq
names it), control/tlscafile the test CA, control/tlspolicy verify for the route's host; mail
given by a user that is not root (ferry-sendmail through ferry-injectd). Checks: the message goes
over TLS 1.3 with AUTH (the peer saw the credentials inside TLS, and the message) and the log
says so; a recipient the peer defers (450) shows its last attempt, over TLS, in ferry-qread; a
wrong password (535) leaves the message deferred, never bounced; control/smtpauth made readable
by others is refused at a reread (s6-svc -h), the old settings kept, the log saying why."""

import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
import ferrytest  # noqa: E402
from ferrytest import BIN, Home, Supervised, eventually, expect, s6_log, sendmail_as, skip_unless_root, stop_all, test_user  # noqa: E402

skip_unless_root("the dedicated users of ferry-setup -u")
for tool in ("setpriv", "s6-svscan", "s6-svc", "openssl", "/usr/sbin/dnsmasq"):
    if not shutil.which(tool):
        print("skipped: no %s here (package/deps lists its package)" % tool)
        sys.exit(77)

from smtp_peers import Dnsmasq  # noqa: E402
from tls_peers import TestCA, TlsPeer  # noqa: E402

USER, PASSWORD = "alice@example.com", "s3cret pass"
home = Home()
stoppers = []
svscan = None
try:
    home.make_with_dedicated_users()
    H = home.path
    log = lambda: s6_log(os.path.join(H, "log"))

    # control/smtpauth as ferry-setup -u made it: private to root and the remote channel's group
    auth = os.path.join(H, "control", "smtpauth")
    st = os.stat(auth)
    expect(stat.S_IMODE(st.st_mode) == 0o640 and st.st_uid == 0 and st.st_gid == pwd.getpwnam("ferryr").pw_gid,
           "ferry-setup -u made control/smtpauth 0640 root:ferryr", (oct(st.st_mode), st.st_uid, st.st_gid))

    # the sender's mailbox: any bounce to sender@example.org would land in this Maildir
    box = home.catchall("example.org")
    tu = test_user()

    ca = TestCA(os.path.join(home.tmp, "ca"))
    good = ca.cert("good")
    expect(subprocess.run(["setpriv", "--reuid=ferryr", "--regid=ferryr", "--clear-groups", "cat", ca.pem],
                          capture_output=True).returncode == 0, "the test CA's certificate is readable by ferryr")
    # peer A takes alice's password and defers later@relay.test at RCPT; peer B (the same name,
    # another port) has another password for her: it answers 535
    peer = TlsPeer("starttls", *good, auth={USER: PASSWORD}, require_auth=True, name="smtp.relay.test",
                   rcpt_replies={"later@relay.test": "450 4.2.1 mailbox busy, try again later"})
    stoppers.append(peer.stop)
    wrong = TlsPeer("starttls", *good, auth={USER: "another password"}, require_auth=True, name="smtp.relay.test")
    stoppers.append(wrong.stop)
    dns = Dnsmasq(["--host-record=smtp.relay.test,127.0.0.1"])
    stoppers.append(dns.stop)

    home.control("dnsservers", "127.0.0.1:%d\n" % dns.port)
    home.control("tlscafile", ca.pem + "\n")
    home.control("smtproutes", "relay.test:smtp.relay.test:%d\nbad.test:smtp.relay.test:%d\n" % (peer.port, wrong.port))
    home.control("tlspolicy", "* may\n[smtp.relay.test] verify\n")
    for k, v in (("timeoutconnect", 5), ("timeoutgreeting", 5), ("timeoutcommand", 10), ("timeoutdata", 10), ("connectioncache", 0)):
        home.control(k, "%d\n" % v)
    home.control("smtpauth", "# host user password\nsmtp.relay.test %s %s\n" % (USER, PASSWORD))   # open(..., "w"): mode and owner kept
    st = os.stat(auth)
    expect(stat.S_IMODE(st.st_mode) == 0o640 and st.st_gid == pwd.getpwnam("ferryr").pw_gid and "alice" in open(auth).read(),
           "root filled control/smtpauth; it is still 0640 root:ferryr")

    svscan = Supervised(H)
    stoppers.insert(0, svscan.stop)
    expect(eventually(lambda: "status:" in log() and "listening on" in s6_log(os.path.join(H, "log", "injectd")), 20),
           "the set and ferry-injectd start", log()[-600:])

    def sendmail(subject, rcpt, body="line one\n.a line that starts with a dot\nlast line\n"):
        sendmail_as(tu, H, rcpt, "To: %s\nSubject: %s\n\n%s" % (rcpt, subject, body))

    line = home.delivery_line

    def qread(*args):
        r = subprocess.run([os.path.join(BIN, "ferry-qread")] + list(args) + [H], capture_output=True, text=True)
        return r.returncode, r.stdout, r.stderr

    def qrcpt(rcpt):
        """ferry-qread -j's record of rcpt (as root), or None"""
        rc, out, _ = qread("-j")
        for ln in out.splitlines():
            m = json.loads(ln)
            for r in m["recipients"]:
                if r["address"] == rcpt:
                    return dict(r, message=m)
        return None

    def bounced():
        return os.listdir(os.path.join(box, "new")) or home.queue_files(("bounce",)) or re.search(r"^.*bounce msg ", log(), re.M)

    # 1. delivered over TLS 1.3 with AUTH inside it, the certificate verified
    sendmail("over TLS with AUTH", "ok@relay.test")
    expect(eventually(lambda: line("ok@relay.test", "(success|deferral|failure)"), 30), "the delivery to ok@relay.test ends", log()[-1500:])
    ok = line("ok@relay.test", "success")
    print("the log line: %s" % ok, flush=True)
    expect(ok is not None, "it is a success", line("ok@relay.test", "(deferral|failure)"))
    want = "host smtp.relay.test[127.0.0.1]:%d over TLSv1.3 (" % peer.port
    expect(want in ok and "certificate verified" in ok and "not verified" not in ok,
           "its log line says %s...certificate verified" % want, ok)
    c = peer.conns[0] if peer.conns else None
    expect(c is not None and c.tls and c.version == "TLSv1.3" and c.cipher in ok, "the peer saw TLS 1.3, with the cipher the log names", c)
    expect(c.auth == ("PLAIN", USER, PASSWORD, True) and not c.auth_in_clear,
           "the peer saw AUTH PLAIN with root's credentials, inside TLS only", (c.auth, c.commands))
    verbs = c.verbs()
    expect(verbs.index("STARTTLS") < verbs.index("AUTH") < verbs.index("MAIL"), "STARTTLS, then AUTH, then MAIL", c.commands)
    got = [m for m in peer.messages if m[1] == ["ok@relay.test"]]
    expect(len(got) == 1 and got[0][0] == "sender@example.org", "the peer got one message from sender@example.org", peer.messages)
    data = got[0][2]
    expect(b"\r\nSubject: over TLS with AUTH\r\n" in b"\r\n" + data
           and data.endswith(b"\r\n\r\nline one\r\n.a line that starts with a dot\r\nlast line\r\n"),
           "the message bytes: its Subject:, the body whole (the dot line unstuffed)", data[-300:])

    # 2. a recipient the peer defers at RCPT: ferry-qread shows the last attempt, over TLS
    sendmail("deferred at RCPT", "later@relay.test")
    expect(eventually(lambda: line("later@relay.test", "(success|deferral|failure)"), 30), "the delivery to later@relay.test ends",
           log()[-1500:])
    d = line("later@relay.test", "deferral")
    expect(d is not None and "450 4.2.1 mailbox busy" in d and want in d, "it is a deferral, quoting the 450, over TLS", d)
    expect(eventually(lambda: (qrcpt("later@relay.test") or {}).get("state") == "deferred", 10), "ferry-qread -j (root): the recipient is deferred",
           qread("-j"))
    r = qrcpt("later@relay.test")
    expect(want in (r["last_error"] or "") and "450 4.2.1" in r["last_error"] and "(in reply to RCPT TO:<later@relay.test>)" in r["last_error"],
           "its last_error: the 450 from the host over TLSv1.3 (...), in reply to RCPT", r)
    rc, out, err = qread()
    expect(rc == 0 and "later@relay.test" in out and want in out and "450 4.2.1" in out,
           "ferry-qread's text (root) shows the recipient and its last attempt over TLSv1.3 (", (rc, out, err))
    # ferry-qread run by a user other than root lists the install home (setuid there), never this
    # test home: the user's view is root_install.py's (mailq as nobody)
    print("note: ferry-qread as %s would list the install home, not this one: not checked here" % tu.pw_name, flush=True)

    # 3. a wrong password: 535, the message deferred (never bounced), still queued
    sendmail("wrong password", "x@bad.test")
    expect(eventually(lambda: line("x@bad.test", "(success|deferral|failure)"), 30), "the delivery to x@bad.test ends", log()[-1500:])
    d = line("x@bad.test", "deferral")
    expect(d is not None and "535" in d and "in reply to AUTH" in d, "a deferral, quoting the 535 in reply to AUTH", line("x@bad.test", ".*"))
    expect(wrong.conns and wrong.conns[0].auth == ("PLAIN", USER, PASSWORD, False) and not any("MAIL" in k.verbs() for k in wrong.conns),
           "the peer saw AUTH (refused) and no MAIL", [k.commands for k in wrong.conns])
    expect(eventually(lambda: (qrcpt("x@bad.test") or {}).get("state") == "deferred", 10), "ferry-qread -j: x@bad.test is deferred, still queued",
           qread("-j"))
    r = qrcpt("x@bad.test")
    expect("535" in (r["last_error"] or ""), "its last_error shows the 535", r)
    expect(os.path.exists(os.path.join(H, "queue", "mess", str(r["message"]["inode"] % int(open(os.path.join(H, "control", "queuesplit")).read())),
                                       str(r["message"]["inode"]))), "its message file is in the queue")
    expect(not line("x@bad.test", "failure") and not bounced(), "no failure, no bounce: nothing in queue/bounce nor in the sender's Maildir",
           (os.listdir(os.path.join(box, "new")), home.queue_files(("bounce",))))

    # 4. control/smtpauth readable by others (and its password changed): at the reread the channel
    #    keeps its old settings and says why; the next delivery still authenticates with the old ones
    home.control("smtpauth", "smtp.relay.test %s %s\n" % (USER, "not the password"))
    os.chmod(auth, 0o644)
    mark = len(log())
    expect(subprocess.run(["s6-svc", "-h", os.path.join(H, "service", "ferry")]).returncode == 0, "s6-svc -h on the set")
    spec = "control/smtpauth is readable by others: chmod 640 (owner root, group of the remote channel) or 600"
    expect(eventually(lambda: "ferry-spawn-remote: reread: kept the old settings: " + spec in log()[mark:], 20),
           "the log: ferry-spawn-remote kept the old settings, control/smtpauth is readable by others", log()[mark:])
    expect(re.search(r"ferry-spawn-remote: warning: keeping the old settings: " + re.escape(spec), log()[mark:]),
           "the channel's own warning says so too", log()[mark:])
    sendmail("after the refused reread", "again@relay.test")
    expect(eventually(lambda: line("again@relay.test", "(success|deferral|failure)"), 30), "the delivery to again@relay.test ends", log()[-1500:])
    ok2 = line("again@relay.test", "success")
    expect(ok2 is not None and want in ok2, "delivered over TLS with the old settings", line("again@relay.test", ".*"))
    # connectioncache 0: each delivery on a connection of its own, with its own AUTH
    k = [k for k in peer.conns if any(m[1] == ["again@relay.test"] for m in k.messages)]
    expect(len(k) == 1 and k[0] is not peer.conns[0] and k[0].auth == ("PLAIN", USER, PASSWORD, True),
           "its connection authenticated with the old password, not the new file's", [(x.auth, x.commands) for x in peer.conns])

    # back to a private file: the reread takes it
    home.control("smtpauth", "smtp.relay.test %s %s\n" % (USER, PASSWORD))
    os.chmod(auth, 0o640)
    mark = len(log())
    subprocess.run(["s6-svc", "-h", os.path.join(H, "service", "ferry")])
    expect(eventually(lambda: "ferry-spawn-remote: reread: settings read again" in log()[mark:], 20),
           "mode 0640 again: the reread is taken", log()[mark:])
finally:
    stop_all(stoppers)
    home.cleanup()
print("%d checks passed" % ferrytest.checks)
