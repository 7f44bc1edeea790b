"""ferry-smtpd's TLS and AUTH, as clients see them: ferry-smtpd under tcpserver on 127.0.0.1 in a
test home whose control/smtpdcert and smtpdkey are a certificate of the test CA
(tests/helpers/tls_peers.py), three servers as ferry-setup's services run it (port 25's way: no
AUTH; submission's: a checkpassword program written here; SMTPS: -s), driven by python smtplib,
raw sockets and swaks. Checked: STARTTLS advertised and taken (the CA verifies the server),
refused inside TLS and in a transaction, the state reset after it, input pipelined after it
discarded (CVE-2011-0411); AUTH only inside TLS (538 before), PLAIN and LOGIN through the
checkpassword program (what it read on fd 3), 535 for a bad password, 421 after three failures,
the password in no log; SMTPS from the first byte; the Received: line of each queued message
(ESMTPS / ESMTPSA, the TLS version and cipher); a home without a certificate or with a bad one
(no STARTTLS, or a key that does not load: 454 at STARTTLS; the log says why; SMTPS closes);
ferry-showctl's view of the certificate; the services ferry-setup writes (ferry-smtpd's server
mode). Run twice: under tcpserver (smtpd-tls.sh), and in the server mode (smtpd-tls-server.sh)."""

import base64
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Cases, Home, eventually, is_root  # noqa: E402
from smtp_peers import free_port  # noqa: E402
from smtp_client import SmtpClient, code_of  # noqa: E402
from tls_peers import TestCA  # noqa: E402

# FERRY_SMTPD_MODE=server (smtpd-tls-server.sh): the servers are ferry-smtpd -l, three workers each
SERVER_MODE = os.environ.get("FERRY_SMTPD_MODE") == "server"
home = Home()
cases = Cases(home)
check, case = cases.check, cases.case
ca = TestCA()
USER, PASSWORD = "alice", "s3cret pass"
servers = []


def control(h, name, data, mode=0o644):
    fn = os.path.join(h.path, "control", name)
    with open(fn, "wb") as f:
        f.write(data)
    os.chmod(fn, mode)


def give_cert(h, kind="good"):
    crt, key = ca.cert(kind)
    control(h, "smtpdcert", open(crt, "rb").read())
    control(h, "smtpdkey", open(key, "rb").read(), 0o640)


CHECKPASSWORD = r"""#!/usr/bin/python3
import os, sys
data = b""
while True:
    b = os.read(3, 4096)
    if not b:
        break
    data += b
with open(%r, "ab") as f:
    f.write(data.replace(b"\0", b"|") + b"\n")
parts = data.split(b"\0")
if len(parts) >= 3 and parts[0] == %r and parts[1] == %r:
    os.execvp(sys.argv[1], sys.argv[1:])
sys.exit(1)
"""


class Server:
    """tcpserver on 127.0.0.1 running ferry-smtpd [opts] HOME [checkpassword true]; its log
    (ferry-smtpd's and tcpserver's fd 2) in a file"""

    def __init__(self, h, opts=(), auth=False, env=None):
        self.port = free_port()
        self.logfile = os.path.join(h.tmp, "smtpd-%d.log" % self.port)
        if SERVER_MODE:
            argv = [os.path.join(BIN, "ferry-smtpd"), "-l", "127.0.0.1:%d" % self.port, "-P", "3"] + list(opts) + [h.path]
        else:
            argv = ["tcpserver", "-R", "-H", "-l", "0", "127.0.0.1", str(self.port), os.path.join(BIN, "ferry-smtpd")] + list(opts) + [h.path]
        if auth:
            argv += [os.path.join(h.tmp, "checkpassword"), "true"]
        self.log_f = open(self.logfile, "ab")
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log_f,
                                  env=dict(os.environ, **(env or {})))
        servers.append(self)
        if not eventually(self.listening, timeout=10):
            raise RuntimeError("tcpserver did not listen on port %d" % self.port)

    def listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def log(self):
        return open(self.logfile, errors="replace").read()

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            self.p.wait()
        self.log_f.close()


def client_ctx():
    ctx = ssl.create_default_context(cafile=ca.pem)
    return ctx


def queued_since(before):
    """the messages queued since the set of ids before, as bytes"""
    return [home.mess(i) for i in sorted(home.mess_ids() - before)]


def received(msg):
    """ferry-smtpd's Received: field (the one "by ... (ferry-smtpd)"), unfolded"""
    head = msg.split(b"\n\n", 1)[0].decode(errors="replace")
    fields = []
    for ln in head.split("\n"):
        if ln[:1] in (" ", "\t") and fields:
            fields[-1] += " " + ln.strip()
        else:
            fields.append(ln)
    return next((f for f in fields if f.lower().startswith("received:") and "(ferry-smtpd)" in f), "")


class Raw(SmtpClient):
    """a raw client: lines in, replies (their lines, None at end of input) out, TLS when asked"""

    def __init__(self, port):
        SmtpClient.__init__(self, port, timeout=10)

    def reply(self):
        return self.lines()

    def tls(self):
        return SmtpClient.tls(self, client_ctx(), "localhost")

    def closed(self):
        return SmtpClient.closed(self, 10)


code = code_of


try:
    with open(os.path.join(home.tmp, "checkpassword"), "w") as f:
        f.write(CHECKPASSWORD % (os.path.join(home.tmp, "checkpassword.seen"), USER.encode(), PASSWORD.encode()))
    os.chmod(os.path.join(home.tmp, "checkpassword"), 0o755)
    home.settings(me="mail.test")
    give_cert(home)
    smtp25 = Server(home, env={"RELAYCLIENT": ""})
    submission = Server(home, auth=True)
    smtps = Server(home, opts=["-s"], auth=True)

    def starttls_25():
        with smtplib.SMTP("127.0.0.1", smtp25.port, timeout=15) as c:
            code_, caps = c.ehlo("client.test")
            check(code_ == 250 and c.has_extn("starttls") and not c.has_extn("auth"), "port 25's way: STARTTLS offered, no AUTH", caps)
            r = c.starttls(context=client_ctx())
            check(r[0] == 220, "STARTTLS: 220, and the handshake verifies the server against the test CA", r)
            check(c.sock.version() in ("TLSv1.3", "TLSv1.2"), "TLS 1.2 or later", c.sock.version())
            c.ehlo("client.test")
            check(not c.has_extn("starttls") and not c.has_extn("auth"), "inside TLS: no STARTTLS offered, still no AUTH", c.esmtp_features)
            r = c.docmd("STARTTLS")
            check(r[0] == 503, "STARTTLS inside TLS: 503", r)
            version, cipher = c.sock.version(), c.sock.cipher()[0]
            before = home.mess_ids()
            c.sendmail("sender@client.test", ["someone@elsewhere.test"], b"Subject: over TLS\r\n\r\nhello\r\n")
        got = queued_since(before)
        check(len(got) == 1 and got[0].endswith(b"hello\n"), "the message is queued", got)
        rcv = received(got[0]) if got else ""
        check("with ESMTPS" in rcv and version in rcv and cipher in rcv, "Received: says ESMTPS, %s and %s" % (version, cipher), rcv)
        check(eventually(lambda: "TLS " + version + " with cipher " + cipher in smtp25.log()), "the log says the TLS of the session", smtp25.log()[-600:])

    case("STARTTLS on port 25's way", starttls_25)

    def starttls_rules():
        c = Raw(smtp25.port)
        c.reply()
        c.send(b"EHLO client.test\r\nMAIL FROM:<a@client.test>\r\n")
        c.reply()
        check(code(c.reply()) == 250, "MAIL accepted")
        c.send(b"STARTTLS\r\n")
        check(code(c.reply()) == 503, "STARTTLS inside a mail transaction: 503")
        c.send(b"STARTTLS now\r\n")
        check(code(c.reply()) == 501, "STARTTLS with an argument: 501")
        c.send(b"RSET\r\nSTARTTLS\r\n")
        c.reply()
        check(code(c.reply()) == 220, "after RSET: 220")
        c.tls()
        c.send(b"MAIL FROM:<a@client.test>\r\n")
        check(code(c.reply()) == 503, "inside TLS, the state is new: MAIL before EHLO is refused (503)")
        c.send(b"EHLO client.test\r\nMAIL FROM:<a@client.test>\r\n")
        c.reply()
        check(code(c.reply()) == 250, "EHLO again, then MAIL")
        c.send(b"QUIT\r\n")
        check(code(c.reply()) == 221, "QUIT")
        c.close()

    case("STARTTLS: refused in a transaction, the session new after it", starttls_rules)

    def injection():
        c = Raw(smtp25.port)
        c.reply()
        c.send(b"EHLO client.test\r\n")
        c.reply()
        # the attack: commands after STARTTLS in the same packet, in clear
        c.send(b"STARTTLS\r\nMAIL FROM:<evil@attacker.test>\r\nRCPT TO:<victim@elsewhere.test>\r\n")
        r = c.reply()
        check(code(r) == 220, "STARTTLS: 220", r)
        check(c.buf == b"", "nothing more in clear after the 220", c.buf)
        c.tls()
        c.send(b"EHLO client.test\r\n")
        r = c.reply()
        check(code(r) == 250 and r[0].startswith("250-"), "the first reply inside TLS is EHLO's", r)
        c.send(b"RCPT TO:<victim@elsewhere.test>\r\n")
        r = c.reply()
        check(code(r) == 503, "the injected MAIL was never run: RCPT needs MAIL (503)", r)
        c.send(b"QUIT\r\n")
        c.reply()
        c.close()
        check(eventually(lambda: "sent after STARTTLS before TLS: discarded" in smtp25.log()), "the log says the bytes were discarded",
              smtp25.log()[-800:])

    case("STARTTLS command injection (CVE-2011-0411)", injection)

    def handshake_fails():
        c = Raw(smtp25.port)
        c.reply()
        c.send(b"EHLO client.test\r\nSTARTTLS\r\n")
        c.reply()
        check(code(c.reply()) == 220, "STARTTLS: 220")
        c.send(b"this is not a TLS ClientHello\r\n")
        check(c.closed(), "bytes that are not TLS: the connection ends")
        c.close()
        check(eventually(lambda: "the TLS handshake failed: " in smtp25.log()), "the log says the handshake failed, and why", smtp25.log()[-600:])
        quick = Server(home, opts=["-t", "2"], env={"RELAYCLIENT": ""})
        c = Raw(quick.port)
        c.reply()
        c.send(b"STARTTLS\r\n")
        check(code(c.reply()) == 220, "STARTTLS: 220 (a server with -t 2)")
        start = time.time()
        check(c.closed(), "a client silent after the 220: the connection ends")
        took = time.time() - start
        check(1.5 < took < 8, "at the timeout (-t 2), not before nor long after", took)
        c.close()
        check(eventually(lambda: "the TLS handshake timed out" in quick.log()), "the log says the handshake timed out", quick.log()[-600:])

    case("a failed and a timed-out handshake", handshake_fails)

    def auth_submission():
        seen = os.path.join(home.tmp, "checkpassword.seen")
        with smtplib.SMTP("127.0.0.1", submission.port, timeout=15) as c:
            c.ehlo("client.test")
            check(c.has_extn("starttls") and not c.has_extn("auth"), "submission before TLS: STARTTLS, no AUTH offered", c.esmtp_features)
            r = c.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0" + USER.encode() + b"\0" + PASSWORD.encode()).decode())
            check(r[0] == 538, "AUTH before STARTTLS: 538 5.7.11", r)
            check(not os.path.exists(seen), "the checkpassword program did not run")
            r = c.docmd("MAIL FROM:<a@client.test>")
            r2 = c.docmd("RCPT TO:<someone@elsewhere.test>")
            check(r2[0] == 550, "no AUTH: relaying denied", r2)
            c.docmd("RSET")
            c.starttls(context=client_ctx())
            c.ehlo("client.test")
            check(c.has_extn("auth") and "PLAIN" in c.esmtp_features.get("auth", "").upper() and "LOGIN" in c.esmtp_features.get("auth", "").upper(),
                  "inside TLS: AUTH PLAIN LOGIN offered", c.esmtp_features)
            try:
                c.login(USER, "wrong")
                check(False, "a bad password is refused")
            except smtplib.SMTPAuthenticationError as e:
                check(e.smtp_code == 535, "a bad password: 535", e)
            c.user, c.password = USER, PASSWORD
            r = c.auth("PLAIN", c.auth_plain)
            check(r[0] == 235, "AUTH PLAIN: 235", r)
            r = c.docmd("AUTH", "PLAIN")
            check(r[0] == 503, "AUTH again: 503", r)
            version, cipher = c.sock.version(), c.sock.cipher()[0]
            before = home.mess_ids()
            c.sendmail("alice@client.test", ["someone@elsewhere.test"], b"Subject: submitted\r\n\r\nbody\r\n")
        got = queued_since(before)
        check(len(got) == 1, "authenticated: relayed, the message queued", got)
        rcv = received(got[0]) if got else ""
        check("with ESMTPSA" in rcv and version in rcv and cipher in rcv, "Received: says ESMTPSA with the TLS version and cipher", rcv)
        # smtplib's login tries PLAIN, then LOGIN: two bad ones, then the good one
        lines = open(seen, "rb").read().split(b"\n")
        check(lines == [USER.encode() + b"|wrong||"] * 2 + [USER.encode() + b"|" + PASSWORD.encode() + b"||", b""],
              "the checkpassword program read user NUL password NUL timestamp NUL on fd 3, once per AUTH", lines)
        log = submission.log()
        check(PASSWORD not in log and "wrong" not in log, "no password in the log", log[-800:])
        check("AUTH user alice: accepted" in log and "AUTH user alice: refused" in log, "the log says each AUTH's verdict and user", log[-800:])
        check(eventually(lambda: " ESMTPSA tls TLSv1.3 auth alice: " in submission.log()), "the session line says ESMTPSA, the TLS version and the user",
              submission.log()[-800:])

    case("AUTH PLAIN on submission", auth_submission)

    def auth_login_and_failures():
        with smtplib.SMTP("127.0.0.1", submission.port, timeout=15) as c:
            c.starttls(context=client_ctx())
            c.ehlo("client.test")
            c.user, c.password = USER, PASSWORD
            r = c.auth("LOGIN", c.auth_login, initial_response_ok=False)
            check(r[0] == 235, "AUTH LOGIN: 235", r)
        c = Raw(submission.port)
        c.reply()
        c.send(b"EHLO client.test\r\nSTARTTLS\r\n")
        c.reply()
        c.reply()
        c.tls()
        c.send(b"EHLO client.test\r\n")
        c.reply()
        bad = base64.b64encode(b"\0alice\0nope")
        codes = []
        for _ in range(3):
            c.send(b"AUTH PLAIN " + bad + b"\r\n")
            codes.append(code(c.reply()))
        check(codes == [535, 535, 421], "three bad passwords: 535, 535, then 421", codes)
        check(c.closed(), "then the connection is closed")
        c.close()
        c = Raw(submission.port)
        c.reply()
        c.send(b"EHLO client.test\r\nSTARTTLS\r\n")
        c.reply()
        c.reply()
        c.tls()
        c.send(b"EHLO client.test\r\nAUTH LOGIN\r\n")
        c.reply()
        check(c.reply() == ["334 VXNlcm5hbWU6"], "AUTH LOGIN asks Username:")
        c.send(b"*\r\n")
        check(code(c.reply()) == 501, "* cancels: 501")
        c.send(b"AUTH CRAM-MD5\r\n")
        check(code(c.reply()) == 504, "an unknown mechanism: 504")
        c.send(b"AUTH PLAIN " + b"A" * 13000 + b"\r\n")
        r = c.reply()
        check(code(r) in (500, 501), "an AUTH line over the bound is refused", r)
        c.close()

    case("AUTH LOGIN, cancel, unknown mechanism, failures up to 421", auth_login_and_failures)

    def smtps_465():
        with smtplib.SMTP_SSL("127.0.0.1", smtps.port, timeout=15, context=client_ctx()) as c:
            c.ehlo("client.test")
            check(not c.has_extn("starttls") and c.has_extn("auth"), "SMTPS: TLS from the first byte, AUTH offered, no STARTTLS", c.esmtp_features)
            c.login(USER, PASSWORD)
            version, cipher = c.sock.version(), c.sock.cipher()[0]
            before = home.mess_ids()
            c.sendmail("alice@client.test", ["x@elsewhere.test"], b"Subject: smtps\r\n\r\nbody\r\n")
        got = queued_since(before)
        rcv = received(got[0]) if got else ""
        check(len(got) == 1 and "with ESMTPSA" in rcv and version in rcv and cipher in rcv, "SMTPS: queued, Received: says ESMTPSA and the TLS", rcv)
        c = Raw(smtps.port)
        c.send(b"EHLO client.test\r\n")
        check(c.closed(), "SMTPS: a client that speaks in clear gets no reply, the connection ends")
        c.close()

    case("SMTPS (-s), port 465's way", smtps_465)

    def swaks():
        if not shutil.which("swaks"):
            check(False, "swaks is installed (package/deps)")
            return
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(submission.port), "--tls",
                            "--auth", "PLAIN", "--auth-user", USER, "--auth-password", PASSWORD,
                            "--from", "alice@client.test", "--to", "bob@elsewhere.test", "--ehlo", "client.test",
                            "--h-Subject", "from swaks"], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0 and "235 2.7.0" in r.stdout and "250 2.0.0" in r.stdout, "swaks --tls --auth PLAIN: 235 and the message taken", r.stdout[-1500:])
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(submission.port), "--tls",
                            "--auth", "LOGIN", "--auth-user", USER, "--auth-password", "bad",
                            "--from", "alice@client.test", "--to", "bob@elsewhere.test"], capture_output=True, text=True, timeout=60)
        check(r.returncode != 0 and "535 5.7.8" in r.stdout, "swaks with a bad password: 535", r.stdout[-1500:])

    case("swaks --tls --auth", swaks)

    def no_cert():
        h2 = Home()
        h2.settings(me="mail.test")
        s = Server(h2, env={"RELAYCLIENT": ""})
        s465 = Server(h2, opts=["-s"], auth=True)
        with smtplib.SMTP("127.0.0.1", s.port, timeout=15) as c:
            c.ehlo("client.test")
            check(not c.has_extn("starttls"), "no certificate: no STARTTLS offered", c.esmtp_features)
            r = c.docmd("STARTTLS")
            check(r[0] == 502, "STARTTLS then: 502", r)
        check(eventually(lambda: "no TLS: control/smtpdcert: empty: STARTTLS not offered" in s.log()), "the log says why", s.log()[-600:])
        c = Raw(s465.port)
        check(c.closed(), "SMTPS without a certificate: the connection is closed")
        c.close()
        check(eventually(lambda: "the SMTPS connection is closed" in s465.log()), "and the log says why", s465.log()[-600:])
        # a key that is not the certificate's
        crt, _ = ca.cert("good")
        _, other = ca.cert("wrongname")
        control(h2, "smtpdcert", open(crt, "rb").read())
        control(h2, "smtpdkey", open(other, "rb").read(), 0o640)
        with smtplib.SMTP("127.0.0.1", s.port, timeout=15) as c:
            c.ehlo("client.test")
            # the files are only looked at until a client asks for TLS: then they do not load
            check(c.has_extn("starttls"), "a key that is not the certificate's: STARTTLS offered (the files are there)", c.esmtp_features)
            r = c.docmd("STARTTLS")
            check(r[0] == 454 and b"4.7.0" in r[1], "STARTTLS then: 454 4.7.0", r)
            check(c.noop()[0] == 250, "and the session goes on in clear")
        check(eventually(lambda: "control/smtpdkey: not the key of the certificate" in s.log() and "STARTTLS refused (454)" in s.log()),
              "the log names the file and the problem", s.log()[-600:])
        r = subprocess.run([os.path.join(BIN, "ferry-showctl"), h2.path], capture_output=True, text=True)
        check("smtpdkey" in r.stdout and "not the key of the certificate" in r.stdout, "ferry-showctl says so too", r.stdout + r.stderr)
        give_cert(h2)
        os.chmod(os.path.join(h2.path, "control", "smtpdkey"), 0o644)
        with smtplib.SMTP("127.0.0.1", s.port, timeout=15) as c:
            c.ehlo("client.test")
            check(not c.has_extn("starttls"), "a key others may read: no STARTTLS offered", c.esmtp_features)
        check(eventually(lambda: "control/smtpdkey: readable by others" in s.log()), "the log says the key is readable by others", s.log()[-600:])
        os.chmod(os.path.join(h2.path, "control", "smtpdkey"), 0o640)
        r = subprocess.run([os.path.join(BIN, "ferry-showctl"), h2.path], capture_output=True, text=True)
        key = open(os.path.join(h2.path, "control", "smtpdkey")).read()
        check("CN=mx.tls.test" in r.stdout and "valid until" in r.stdout and "(a private key, not shown)" in r.stdout
              and key.splitlines()[1] not in r.stdout, "ferry-showctl: the certificate's subject and end, never the key", r.stdout)
        with smtplib.SMTP("127.0.0.1", s.port, timeout=15) as c:
            c.ehlo("client.test")
            check(c.has_extn("starttls"), "a good pair again: STARTTLS offered at the next connection", c.esmtp_features)
        s.stop()
        s465.stop()
        h2.cleanup()

    case("no certificate, a bad key", no_cert)

    def run_service(h, name, port, swap=()):
        """service/NAME/run of h as ferry-setup wrote it, but on 127.0.0.1:PORT (and each (a, b)
        of swap), started by hand; its log (fdmove -c 2 1: tcpserver's and ferry-smtpd's fd 2)
        into a file"""
        run = open(os.path.join(h.path, "service", name, "run")).read()
        real = {"ferry-smtpd": "25", "ferry-submission": "587", "ferry-smtps": "465"}[name]
        run = run.replace(" -l 0.0.0.0:%s " % real, " -l 127.0.0.1:%d " % port)
        for a, b in swap:
            run = run.replace(a, b)
        fn = os.path.join(h.tmp, name + ".run")
        with open(fn, "w") as f:
            f.write(run)
        os.chmod(fn, 0o755)
        log = open(os.path.join(h.tmp, name + ".log"), "ab")
        p = subprocess.Popen([fn], stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=os.path.join(h.path, "service", name))
        h.procs.append(p)
        return p, os.path.join(h.tmp, name + ".log")

    def listening(port):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    def services():
        for name, port, want in (("ferry-smtpd", "25", ""), ("ferry-submission", "587", " /usr/local/bin/checkpassword /bin/true\n"),
                                 ("ferry-smtps", "465", " -s ")):
            d = os.path.join(home.path, "service", name)
            run = open(os.path.join(d, "run")).read()
            check(os.path.exists(os.path.join(d, "down")) and os.path.exists(os.path.join(d, "log", "run")),
                  "service/%s: made down, with its log" % name)
            check(run.startswith("#!/usr/bin/execlineb -P\n") and "/usr/bin/tcpserver" not in run
                  and "/bin/ferry-smtpd\" -l 0.0.0.0:%s -P " % port in run
                  and "-x \"%s/control/smtpd.cdb\"" % home.path in run and want in run
                  and ("checkpassword" in run) == (name != "ferry-smtpd"), "service/%s runs ferry-smtpd -l 0.0.0.0:%s with its rules and options" % (name, port), run)
        r = subprocess.run(["tcprulescheck", "control/smtpd.cdb"], cwd=home.path, capture_output=True, text=True,
                           env=dict(os.environ, TCPREMOTEIP="127.0.0.1"))
        check("RELAYCLIENT" in r.stdout and "allow" in r.stdout, "control/smtpd.cdb: this host relays", r.stdout)
        r = subprocess.run(["tcprulescheck", "control/smtpd.cdb"], cwd=home.path, capture_output=True, text=True,
                           env=dict(os.environ, TCPREMOTEIP="192.0.2.1"))
        check("RELAYCLIENT" not in r.stdout and "allow" in r.stdout, "control/smtpd.cdb: others may connect, not relay", r.stdout)
        port = free_port()
        p, log = run_service(home, "ferry-submission", port, [("/usr/local/bin/checkpassword", os.path.join(home.tmp, "checkpassword"))])
        check(eventually(lambda: listening(port), timeout=10), "the submission service's run script listens", open(log).read())
        with smtplib.SMTP("127.0.0.1", port, timeout=15) as c:
            c.starttls(context=client_ctx())
            c.login(USER, PASSWORD)
            before = home.mess_ids()
            c.sendmail("alice@client.test", ["z@elsewhere.test"], b"Subject: service\r\n\r\nbody\r\n")
        got = queued_since(before)
        check(len(got) == 1 and "with ESMTPSA" in received(got[0]), "through the service as written: STARTTLS, AUTH, the message queued", got)
        check(eventually(lambda: "AUTH user alice: accepted" in open(log).read()), "its log gets ferry-smtpd's lines", open(log).read()[-600:])
        p.terminate()
        p.wait()
        r = subprocess.run([os.path.join(BIN, "ferry-setup"), "-c", home.path], capture_output=True, text=True)
        check(r.returncode == 0, "ferry-setup -c: the home with its SMTP services is complete", r.stdout + r.stderr)

    case("the services ferry-setup makes", services)

    def dedicated():
        if not is_root():
            print("# skipped: a root install needs root")
            return
        h3 = Home()
        h3.make_with_dedicated_users()
        h3.settings(me="mail.test")
        key = os.path.join(h3.path, "control", "smtpdkey")
        st = os.stat(key)
        import grp, pwd
        check(st.st_uid == 0 and grp.getgrgid(st.st_gid).gr_name == "ferryd" and st.st_mode & 0o777 == 0o640,
              "root install: control/smtpdkey is root's, group ferryd, mode 0640", (st.st_uid, st.st_gid, oct(st.st_mode)))
        check(pwd.getpwnam("ferryd").pw_shell == "/usr/sbin/nologin" and grp.getgrgid(pwd.getpwnam("ferryd").pw_gid).gr_name == "ferryd",
              "the user ferryd, in a group of its own, no shell")
        run = open(os.path.join(h3.path, "service", "ferry-smtpd", "run")).read()
        check("s6-envuidgid" not in run and " -l 0.0.0.0:25 " in run, "its service: ferry-smtpd binds as root, then becomes ferryd itself", run)
        # the key written into the file ferry-setup made keeps its mode; ferryd reads it through its group
        crt, k = ca.cert("good")
        with open(os.path.join(h3.path, "control", "smtpdcert"), "wb") as f:
            f.write(open(crt, "rb").read())
        with open(key, "wb") as f:
            f.write(open(k, "rb").read())
        port = free_port()
        p, log = run_service(h3, "ferry-smtpd", port)
        check(eventually(lambda: listening(port), timeout=10), "the port 25 service's run script listens", open(log).read())
        with smtplib.SMTP("127.0.0.1", port, timeout=15) as c:
            c.ehlo("client.test")
            check(c.has_extn("starttls"), "as ferryd, ferry-smtpd reads the key: STARTTLS offered", (c.esmtp_features, open(log).read()[-600:]))
            r = c.starttls(context=client_ctx())
            check(r[0] == 220, "and the handshake works", r)
        uids = []
        for pid in os.listdir("/proc"):
            try:
                st = open("/proc/%s/status" % pid).read()
            except OSError:
                continue
            if pid.isdigit() and "PPid:\t%d\n" % p.pid in st:
                uids.append(int(st.split("Uid:\t")[1].split()[0]))
        check(uids and all(u == pwd.getpwnam("ferryd").pw_uid for u in uids) and
              int(open("/proc/%d/status" % p.pid).read().split("Uid:\t")[1].split()[0]) == pwd.getpwnam("ferryd").pw_uid,
              "the server and its workers run as ferryd", uids)
        p.terminate()
        p.wait()
        r = subprocess.run([os.path.join(BIN, "ferry-setup"), "-c", h3.path], capture_output=True, text=True)
        check(r.returncode == 0, "ferry-setup -c on the root install", r.stdout + r.stderr)
        h3.cleanup()

    case("a root install: ferryd and the key", dedicated)
finally:
    for s in servers:
        s.stop()
    ca.cleanup()
    home.cleanup()
cases.end()
