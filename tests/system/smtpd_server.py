"""ferry-smtpd's server mode as a whole (smtpd.py and smtpd_tls.py run their cases against it too):
sessions in sequence through ONE worker (-P 1) share nothing (relaying by RELAYCLIENT or AUTH,
TLS, HELO, the transaction, counters, input sent after QUIT); the rules of a tcprules cdb by
client address (127.0.0.1, 127.0.0.2 and a denied 127.0.0.3, the client binding its source
address), the checkpassword program sees the connection's TCP variables; an IPv6 literal; a
worker killed mid-session is replaced and the next client served; a worker exits after -u
connections and another starts (its log line); SIGTERM: no new connection, the session under
way ends, exit 0."""

import base64
import os
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Cases, Home, eventually  # noqa: E402
from smtp_peers import free_port  # noqa: E402
from smtp_client import SmtpClient, code_of  # noqa: E402
from tls_peers import TestCA  # noqa: E402

home = Home()
cases = Cases(home)
check, case = cases.check, cases.case
ca = TestCA()
USER, PASSWORD = "alice", "s3cret pass"
servers = []
RULES = '127.0.0.1:allow,RELAYCLIENT=""\n127.0.0.2:allow,TCPREMOTEHOST="two.test"\n127.0.0.3:deny\n:allow\n'

# a checkpassword program: the variables it was given, then the verdict
CHECKPASSWORD = r"""#!/usr/bin/python3
import os, sys
data = b""
while True:
    b = os.read(3, 4096)
    if not b:
        break
    data += b
with open(%r, "a") as f:
    f.write(" ".join("%%s=%%s" %% (k, os.environ.get(k, "-")) for k in
                     ("TCPREMOTEIP", "TCPREMOTEPORT", "TCPLOCALIP", "TCPLOCALPORT", "TCPREMOTEHOST", "RELAYCLIENT")) + "\n")
parts = data.split(b"\0")
sys.exit(0 if len(parts) >= 3 and parts[0] == %r and parts[1] == %r else 1)
"""


class Server:
    """ferry-smtpd -l ADDR:PORT [opts] HOME [checkpassword]; its fd 2 in a file"""

    def __init__(self, opts=(), addr="127.0.0.1", auth=False):
        self.port = free_port()
        self.addr = addr
        self.logfile = os.path.join(home.tmp, "server-%d.log" % self.port)
        where = ("[%s]:%d" if ":" in addr else "%s:%d") % (addr, self.port)
        argv = [os.path.join(BIN, "ferry-smtpd"), "-l", where] + list(opts) + [home.path]
        if auth:
            argv += [os.path.join(home.tmp, "checkpassword")]
        self.log_f = open(self.logfile, "ab")
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log_f)
        servers.append(self)
        if not eventually(self.listening, timeout=10):
            raise RuntimeError("ferry-smtpd -l did not listen on port %d: %s" % (self.port, self.log()))

    def listening(self):
        try:
            socket.create_connection((self.addr, self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def log(self):
        return open(self.logfile, errors="replace").read()

    def workers(self):
        """the pids of the "worker N started" lines, in order"""
        return [int(x) for x in re.findall(r"worker (\d+) started", self.log())]

    def sessions(self):
        """the session log lines but those of listening()'s probes (no command)"""
        return [x for x in re.findall(r"info: session client (.*)", self.log()) if " SMTP: 0 commands, " not in x]

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log_f.close()


class Raw(SmtpClient):
    """a client from source address src: lines in, replies (their lines, None at end of input)
    out, TLS when asked"""

    def __init__(self, server, src="127.0.0.1"):
        SmtpClient.__init__(self, server.port, addr=server.addr, src=src, timeout=15)

    def reply(self):
        return self.lines()

    def cmd(self, line):
        self.send(line.encode() + b"\r\n")
        return self.reply()

    def tls(self):
        SmtpClient.tls(self, ssl.create_default_context(cafile=ca.pem), "localhost")


code = code_of


def plain_auth():
    return "AUTH PLAIN " + base64.b64encode(b"\0" + USER.encode() + b"\0" + PASSWORD.encode()).decode()


try:
    seen = os.path.join(home.tmp, "checkpassword.seen")
    with open(os.path.join(home.tmp, "checkpassword"), "w") as f:
        f.write(CHECKPASSWORD % (seen, USER.encode(), PASSWORD.encode()))
    os.chmod(os.path.join(home.tmp, "checkpassword"), 0o755)
    home.settings(me="mail.test")
    crt, key = ca.cert("good")
    for name, src, mode in (("smtpdcert", crt, 0o644), ("smtpdkey", key, 0o640)):
        fn = os.path.join(home.path, "control", name)
        with open(fn, "wb") as f:
            f.write(open(src, "rb").read())
        os.chmod(fn, mode)
    rules = os.path.join(home.tmp, "rules")
    with open(rules, "w") as f:
        f.write(RULES)
    subprocess.run("tcprules %s.cdb %s.tmp < %s" % (rules, rules, rules), shell=True, check=True)

    def one_worker():
        s = Server(["-P", "1", "-u", "1000", "-x", rules + ".cdb", "-t", "10"], auth=True)
        # 1: RELAYCLIENT by the rule of 127.0.0.1; a transaction left open, input after QUIT
        c = Raw(s, "127.0.0.1")
        check(code(c.reply()) == 220, "127.0.0.1: the greeting")
        rs = [c.cmd("EHLO one.test"), c.cmd("MAIL FROM:<a@one.test>"), c.cmd("RCPT TO:<x@elsewhere.test>")]
        check([code(r) for r in rs] == [250, 250, 250], "127.0.0.1 relays (RELAYCLIENT from its rule)", rs)
        c.send(b"QUIT\r\nMAIL FROM:<leak@one.test>\r\nRCPT TO:<leak@elsewhere.test>\r\nDATA\r\n")
        check(code(c.reply()) == 221, "QUIT with commands after it in the same write")
        check(c.reply() is None, "and the connection closes: they got no reply")
        c.close()
        # 2: 127.0.0.2's rule sets no RELAYCLIENT: relaying refused, nothing of session 1 here
        c = Raw(s, "127.0.0.2")
        g = c.reply()
        check(code(g) == 220, "127.0.0.2: the greeting, the first reply (nothing left over from before)", g)
        r = c.cmd("RCPT TO:<x@elsewhere.test>")
        check(code(r) == 503, "no transaction carried over: RCPT first is 503", r)
        r = c.cmd("MAIL FROM:<b@two.test>")
        check(code(r) == 503, "no HELO carried over: MAIL before EHLO is 503", r)
        r = c.cmd("EHLO two.test")
        check(code(r) == 250 and any("STARTTLS" in x for x in r) and not any("AUTH" in x for x in r), "EHLO: STARTTLS, no AUTH in clear", r)
        rs = [c.cmd("MAIL FROM:<b@two.test>"), c.cmd("RCPT TO:<x@elsewhere.test>")]
        check(code(rs[0]) == 250 and code(rs[1]) == 550 and "5.7.1" in rs[1][0], "127.0.0.2 after a RELAYCLIENT client: relaying refused", rs)
        # 3: the same address, STARTTLS and AUTH: then it relays
        c.cmd("RSET")
        check(code(c.cmd("STARTTLS")) == 220, "STARTTLS: 220")
        c.tls()
        r = c.cmd("EHLO two.test")
        check(any("AUTH PLAIN LOGIN" in x for x in r) and not any("STARTTLS" in x for x in r), "inside TLS: AUTH offered", r)
        check(code(c.cmd(plain_auth())) == 235, "AUTH PLAIN: 235")
        rs = [c.cmd("MAIL FROM:<b@two.test>"), c.cmd("RCPT TO:<x@elsewhere.test>")]
        check([code(r) for r in rs] == [250, 250], "authenticated: relaying taken", rs)
        c.cmd("QUIT")
        c.close()
        # 4: 127.0.0.2 again, in clear: no TLS, no AUTH, no relaying left from the session before
        c = Raw(s, "127.0.0.2")
        c.reply()
        r = c.cmd("EHLO two.test")
        check(any("STARTTLS" in x for x in r) and not any("AUTH" in x for x in r), "the next session: in clear again, STARTTLS offered, no AUTH", r)
        r = c.cmd(plain_auth())
        check(code(r) == 538, "AUTH in clear: 538 (not authenticated from before)", r)
        rs = [c.cmd("MAIL FROM:<b@two.test>"), c.cmd("RCPT TO:<x@elsewhere.test>")]
        check(code(rs[1]) == 550, "an authenticated session followed by one that is not: relaying refused", rs)
        c.cmd("QUIT")
        c.close()
        # 5: 127.0.0.1 once more: its rule applies again
        c = Raw(s, "127.0.0.1")
        c.reply()
        rs = [c.cmd("HELO one.test"), c.cmd("MAIL FROM:<a@one.test>"), c.cmd("RCPT TO:<x@elsewhere.test>"), c.cmd("QUIT")]
        check([code(r) for r in rs] == [250, 250, 250, 221], "127.0.0.1 relays again", rs)
        c.close()
        check(eventually(lambda: len(s.sessions()) == 4), "four session log lines (2 and 3 are one)", s.log()[-1500:])
        ss = s.sessions()
        check(len(s.workers()) == 1, "all through one worker (one worker start)", s.log()[-1500:])
        if len(ss) == 4:
            check(ss[0].startswith("unknown[127.0.0.1] helo one.test ESMTP: 4 commands, 0 messages queued, 0 refused, 0 errors; ended: QUIT"),
                  "session 1's line: its commands (not those after QUIT)", ss[0])
            check(ss[1].startswith("two.test[127.0.0.2] helo two.test ESMTPSA tls TLSv1.3 auth alice: 12 commands, 0 messages queued, 0 refused, 3 errors"),
                  "session 2-3's line: TCPREMOTEHOST from its rule, TLS, AUTH, its own counters", ss[1])
            check(ss[2].startswith("two.test[127.0.0.2] helo two.test ESMTP: 5 commands, 0 messages queued, 0 refused, 2 errors"),
                  "session 4's line: no TLS, no AUTH, counters from zero", ss[2])
            check(ss[3].startswith("unknown[127.0.0.1] helo one.test SMTP: 4 commands"), "session 5's line: no host name left from 127.0.0.2's rule", ss[3])
        lines = open(seen).read().splitlines() if os.path.exists(seen) else []
        check(len(lines) == 1 and re.match(r"TCPREMOTEIP=127\.0\.0\.2 TCPREMOTEPORT=\d+ TCPLOCALIP=127\.0\.0\.1 TCPLOCALPORT=%d "
                                           r"TCPREMOTEHOST=two\.test RELAYCLIENT=-$" % s.port, lines[0]),
              "the checkpassword program saw the connection's variables and its rule's", lines)
        # a denied address gets no session
        c = Raw(s, "127.0.0.3")
        check(c.reply() is None, "127.0.0.3 (a deny rule): closed without a greeting")
        c.close()
        check(eventually(lambda: "deny client 127.0.0.3" in s.log()), "the log says so", s.log()[-600:])
        check(len(s.workers()) == 1, "still the same worker")
        s.stop()
        check(s.p.returncode == 0, "SIGTERM: the server exits 0", s.p.returncode)

    case("sessions in sequence through one worker share nothing", one_worker)

    def ipv6():
        try:
            socket.socket(socket.AF_INET6).bind(("::1", 0))
        except OSError:
            print("# skipped: no ::1 here")
            return
        s = Server(["-P", "1"], addr="::1")
        with smtplib.SMTP("::1", s.port, local_hostname="six.test", timeout=15) as c:
            r = c.ehlo()
            check(r[0] == 250, "-l [::1]:PORT: a session over IPv6", r)
            check(c.mail("a@six.test")[0] == 250 and c.rcpt("x@elsewhere.test")[0] == 550, "no rules: no relaying")
        check(eventually(lambda: "session client unknown[::1] helo six.test" in s.log()), "the log names the client ::1", s.log()[-600:])
        s.stop()
        r = subprocess.run([os.path.join(BIN, "ferry-smtpd"), "-l", "::1", home.path], capture_output=True, text=True)
        check(r.returncode == 100 and "IP:PORT" in r.stderr, "-l without a port: usage error 100", r.stderr)
        r = subprocess.run([os.path.join(BIN, "ferry-smtpd"), "-P", "2", home.path], capture_output=True, text=True)
        check(r.returncode == 100 and "-l" in r.stderr, "-P without -l: usage error 100", r.stderr)

    case("an IPv6 literal; bad options", ipv6)

    def killed_worker():
        s = Server(["-P", "1"])
        check(eventually(lambda: len(s.workers()) == 1), "one worker started")
        first = s.workers()[0]
        c = Raw(s)
        c.reply()
        c.cmd("EHLO a.test")
        c.cmd("MAIL FROM:<a@a.test>")
        os.kill(first, signal.SIGKILL)
        check(c.reply() is None, "the worker killed mid-session: the client sees the connection end")
        c.close()
        check(eventually(lambda: len(s.workers()) == 2, 10), "the master starts another worker", s.log()[-600:])
        check("worker %d killed by signal 9" % first in s.log(), "and logs the one that died", s.log()[-600:])
        with smtplib.SMTP("127.0.0.1", s.port, local_hostname="b.test", timeout=15) as c2:
            check(c2.ehlo()[0] == 250 and c2.noop()[0] == 250, "the next client is served")
        check(s.workers()[-1] != first, "by the new worker", s.workers())
        s.stop()

    case("a worker killed mid-session", killed_worker)

    def maxuse():
        s = Server(["-P", "1", "-u", "3"])
        for i in range(7):
            with smtplib.SMTP("127.0.0.1", s.port, local_hostname="u.test", timeout=15) as c:
                c.noop()
        check(eventually(lambda: len(s.sessions()) == 7 and len(s.workers()) >= 3, 10), "seven sessions", s.log()[-800:])
        w = s.workers()
        check(len(w) == 3 and len(set(w)) == 3, "-u 3: seven sessions, three workers one after the other", w)
        before = s.log().split("info: worker %d started" % w[1])[0] if len(w) > 1 else ""
        check(before.count("info: session client") == 3, "the first served three connections (listening()'s probe among them), then the second started",
              s.log()[-1500:])
        check("killed by signal" not in s.log() and "exited with code" not in s.log(), "none failed")
        s.stop()

    case("-u: a worker ends after its connections, another takes over", maxuse)

    def sigterm():
        s = Server(["-P", "2", "-x", rules + ".cdb"])
        check(eventually(lambda: len(s.workers()) == 2), "two workers")
        c = Raw(s)
        c.reply()
        rs = [c.cmd("EHLO t.test"), c.cmd("MAIL FROM:<t@t.test>"), c.cmd("RCPT TO:<x@elsewhere.test>")]
        before = home.mess_ids()
        s.p.send_signal(signal.SIGTERM)
        check(eventually(lambda: "stopping" in s.log()), "SIGTERM: the master stops", s.log()[-600:])
        check(eventually(lambda: not s.listening(), 10), "no new connection is taken")
        rs += [c.cmd("DATA"), c.cmd("Subject: during the stop\r\n\r\nbody\r\n."), c.cmd("QUIT")]
        check([code(r) for r in rs] == [250, 250, 250, 354, 250, 221], "the session under way goes on to its end", rs)
        c.close()
        check(len(home.mess_ids() - before) == 1, "its message is queued")
        try:
            s.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        check(s.p.returncode == 0 and "info: stopped" in s.log(), "then the server exits 0", (s.p.returncode, s.log()[-400:]))
        check("killed" not in s.log(), "no worker killed", s.log()[-600:])

    case("SIGTERM: the session under way ends, then exit 0", sigterm)
finally:
    for s in servers:
        s.stop()
    home.cleanup()
cases.end()
