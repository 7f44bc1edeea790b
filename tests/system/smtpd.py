"""ferry-smtpd under tcpserver on 127.0.0.1, with the set (and ferry-injectd) running under
s6-svscan, driven by Python's smtplib, raw sockets and swaks: the greeting and each extension
of EHLO; a message delivered to a Maildir with its bytes and the Received: line; pipelining
(replies in order, input after the end of data not lost); BDAT with LAST and BDAT 0 LAST; who may
relay (control/relaydomains, RELAYCLIENT from tcprules, its value appended); an unknown local
recipient refused at RCPT; each bound with its code (command line, recipients, SIZE, databytes,
errors, commands, timeouts, bare LF, NUL); a client gone mid-data leaves nothing in the queue;
ferry-injectd stopped or ferry-inject failing gives 451, never 250; the DSN parameters in the
queued envelope; the log lines. Run twice: under tcpserver (smtpd.sh), and in ferry-smtpd's
server mode, a pool of three workers (smtpd-server.sh)."""

import os
import shutil
import smtplib
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Cases, Home, Supervised, eventually, s6_log, stop_all  # noqa: E402
from smtp_peers import free_port  # noqa: E402
from smtp_client import SmtpClient, code_of  # noqa: E402

# FERRY_SMTPD_MODE=server (smtpd-server.sh): the same cases against ferry-smtpd -l 127.0.0.1:PORT
SERVER_MODE = os.environ.get("FERRY_SMTPD_MODE") == "server"
home = Home()
H = home.path
cases = Cases(home)
check = cases.check
stops = []
servers = []
USERS = ["alice", "bob", "carol", "dave", "erin"]
ME = "mx.test.example"


def set_log():
    return s6_log(os.path.join(H, "log"))


def inbox(user):
    d = os.path.join(home.maildir(user), "new")
    return [open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))]


def queue_names(dirs=("todo", "mess", "intd", "pid")):
    return sorted(home.queue_files(dirs))


def split():
    return int(open(os.path.join(H, "control", "queuesplit")).read())


def envelope(msgid):
    """the stored envelope of a message still in the queue (intd stays until the message ends)"""
    return open(os.path.join(H, "queue", "intd", str(msgid % split()), str(msgid)), "rb").read()


def connectable(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Server:
    """tcpserver on 127.0.0.1 running ferry-smtpd with opts, or ferry-smtpd -l in the server mode;
    rules: tcprules lines (a cdb made)"""

    def __init__(self, name, opts=(), rules=None):
        self.port = free_port()
        self.logname = os.path.join(home.tmp, name + ".log")
        self.err = open(self.logname, "w+")
        cdb = []
        if rules:
            txt = os.path.join(home.tmp, name + ".rules")
            with open(txt, "w") as f:
                f.write(rules)
            subprocess.run("tcprules %s.cdb %s.tmp < %s" % (txt, txt, txt), shell=True, check=True)
            cdb = ["-x", txt + ".cdb"]
        if SERVER_MODE:
            args = [os.path.join(BIN, "ferry-smtpd"), "-l", "127.0.0.1:%d" % self.port, "-P", "3"] + cdb + list(opts) + [H]
        else:
            args = ["tcpserver", "-R", "-H", "-l", ME] + cdb + ["127.0.0.1", str(self.port), os.path.join(BIN, "ferry-smtpd")] + list(opts) + [H]
        self.p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.err)
        servers.append(self)
        if not eventually(lambda: connectable(self.port), 10):
            raise RuntimeError("tcpserver for ferry-smtpd %s does not listen" % name)

    def log(self):
        return open(self.logname, errors="replace").read()

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            self.p.wait()


class Raw(SmtpClient):
    """a client on a plain socket: commands and replies as bytes; a reply is (code, [line, ...]),
    (None, lines) at end of input"""

    def __init__(self, port, greet=True):
        SmtpClient.__init__(self, port)
        if greet:
            self.greeting = self.reply()

    def reply(self):
        lines = self.lines() or []
        return (code_of(lines), lines)

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def cmd(self, line):
        self.send(line + b"\r\n")
        return self.reply()

    def eof(self, timeout=30):
        """true when the server closes the connection within timeout"""
        return self.closed(timeout)


def codes(rs):
    return [r[0] for r in rs]


def text(r):
    return " / ".join(r[1])


def send_smtplib(port, sender, rcpts, msg, mail_options=(), rcpt_options=()):
    """smtplib's sendmail: the refused recipients, or the SMTP exception"""
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.example", timeout=30) as c:
        return c.sendmail(sender, rcpts, msg, mail_options=list(mail_options), rcpt_options=list(rcpt_options))


try:
    home.maildirs(USERS, ["example.org"])
    home.control("me", ME + "\n")
    home.control("locals", ME + "\n")
    home.control("relaydomains", "relay.example\n.sub.example\n")
    # every remote recipient goes to a port where nothing listens: it stays in the queue, deferred
    home.control("smtproutes", ":127.0.0.1:%d\n" % free_port())
    svscan = Supervised(H)
    stops.append(svscan.stop)
    if not eventually(lambda: "ferry-schedule: starting" in set_log() and os.path.exists(os.path.join(H, "public", "inject")), 20):
        raise RuntimeError("the set and ferry-injectd do not start: " + set_log()[-500:])
    plain = Server("plain", ["-t", "20"])
    relay = Server("relay", ["-t", "20"], rules='127.0.0.1:allow,RELAYCLIENT="",TCPREMOTEHOST="client.test"\n')

    def greeting_and_ehlo():
        r = Raw(plain.port)
        check(r.greeting[0] == 220 and ME in r.greeting[1][0] and "ESMTP" in r.greeting[1][0], "the greeting: 220 with control/me", r.greeting)
        c, lines = r.cmd(b"EHLO client.example")
        keys = [x[4:].split(" ")[0] for x in lines[1:]]
        check(c == 250 and lines[0].startswith("250-" + ME), "EHLO: 250 and the host name", lines)
        for k in ("PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8", "DSN", "ENHANCEDSTATUSCODES", "CHUNKING"):
            check(k in keys, "EHLO offers %s" % k, lines)
        check("SIZE 10240000" in [x[4:] for x in lines], "SIZE says control/databytes (10240000)", lines)
        check("STARTTLS" not in keys and "AUTH" not in keys, "no STARTTLS and no AUTH without their layer", lines)
        check(r.cmd(b"HELP")[0] == 214, "HELP: 214")
        check(r.cmd(b"VRFY alice@example.org")[0] == 252, "VRFY: 252")
        check(r.cmd(b"NOOP")[0] == 250, "NOOP: 250")
        check(r.cmd(b"EXPN list")[0] == 502, "EXPN: 502")
        c, lines = r.cmd(b"FROBNICATE")
        check(c == 500 and "5.5.2" in lines[0], "an unknown command: 500 5.5.2", lines)
        check(r.cmd(b"RCPT TO:<alice@example.org>")[0] == 503, "RCPT before MAIL: 503")
        check(r.cmd(b"DATA")[0] == 503, "DATA before MAIL: 503")
        c, lines = r.cmd(b"QUIT")
        check(c == 221 and r.eof(), "QUIT: 221 and the connection closes", lines)
        r2 = Raw(plain.port)
        check(r2.cmd(b"MAIL FROM:<a@remote.example>")[0] == 503, "MAIL before HELO/EHLO: 503")
        check(r2.cmd(b"HELO client.example")[0] == 250, "HELO: 250")
        c, lines = r2.cmd(b"MAIL FROM:<a@remote.example> SIZE=10")
        check(c == 555, "parameters after HELO (not EHLO): 555", lines)
        r2.close()

    def delivery():
        msg = (b"From: Sender <sender@remote.example>\r\nTo: alice@example.org\r\nSubject: through ferry-smtpd\r\n\r\n"
               b"line one\r\n..a line that starts with a dot\r\n\r\nlast line\r\n")
        before = len(inbox("alice"))
        with smtplib.SMTP("127.0.0.1", relay.port, local_hostname="client.example", timeout=30) as c:
            c.ehlo()
            c.mail("sender@remote.example")
            c.rcpt("alice@example.org")
            code, resp = c.data(msg.replace(b"\r\n..", b"\r\n."))   # smtplib doubles the dot itself
        check(code == 250 and b"queued id" in resp, "end of data: 250 with the queue's id", (code, resp))
        msgid = resp.split(b"queued id ")[-1].split()[0].decode() if b"queued id" in resp else "?"
        check(eventually(lambda: len(inbox("alice")) == before + 1, 20), "the message reaches alice's Maildir")
        got = inbox("alice")[-1] if len(inbox("alice")) > before else b""
        want_body = msg.replace(b"\r\n..", b"\r\n.").replace(b"\r\n", b"\n")
        check(got.endswith(want_body), "the message's bytes arrive exactly (CRLF as LF, the dot kept once)", got[-300:])
        head = got[:len(got) - len(want_body)]
        want = (b"Received: from client.example (client.test [127.0.0.1])\n\tby " + ME.encode() + b" (ferry-smtpd) with ESMTP\n\tfor <alice@example.org>; ")
        check(want in head, "the Received: line: HELO, TCPREMOTEHOST, the address, control/me, ESMTP, the one recipient", head)
        check(head.index(b"Received: (ferry ") < head.index(want), "below ferry-inject's own Received: line", head)
        lg = relay.log()
        check("message from <sender@remote.example> to <alice@example.org> octets %d client client.test[127.0.0.1] ESMTP: queued id %s" % (len(msg) + 3, msgid) in lg,
              "the log line of the message: sender, recipient, size, client, protocol, the queue's id", lg[-600:])
        check(eventually(lambda: "session client client.test[127.0.0.1] helo client.example ESMTP: " in relay.log() and "ended: QUIT" in relay.log(), 5),
              "the log line of the session", relay.log()[-600:])

    def pipelining():
        r = Raw(plain.port)
        r.cmd(b"EHLO client.example")
        r.send(b"MAIL FROM:<p@remote.example>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<nosuch@example.org>\r\n"
               b"RCPT TO:<carol@example.org>\r\nDATA\r\n")
        rs = r.replies(5)
        check(codes(rs) == [250, 250, 550, 250, 354], "pipelined MAIL, RCPT x3, DATA: replies in order", rs)
        check("5.1.1" in text(rs[2]), "the unknown one: 550 5.1.1", rs[2])
        r.send(b"Subject: first\r\n\r\none\r\n.\r\nMAIL FROM:<p@remote.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n")
        rs = r.replies(4)
        check(codes(rs) == [250, 250, 250, 354], "the commands after the end of data, in the same write, are not lost", rs)
        r.send(b"Subject: second\r\n\r\ntwo\r\n.\r\nQUIT\r\n")
        rs = r.replies(2)
        check(codes(rs) == [250, 221], "the second message, then QUIT", rs)
        check(eventually(lambda: sum(b"Subject: first" in m for m in inbox("bob")) == 1 and sum(b"Subject: second" in m for m in inbox("bob")) == 1
                         and sum(b"Subject: first" in m for m in inbox("carol")) == 1, 20),
              "bob got both, carol the first", (len(inbox("bob")), len(inbox("carol"))))

    def bdat():
        r = Raw(plain.port)
        r.cmd(b"EHLO client.example")
        part1 = b"Subject: bdat\r\n"
        part2 = b"\r\nchunked body\r\n.still text\r\n"
        r.send(b"MAIL FROM:<b@remote.example>\r\nRCPT TO:<dave@example.org>\r\nBDAT %d\r\n" % len(part1) + part1
               + b"BDAT %d LAST\r\n" % len(part2) + part2 + b"NOOP\r\n")
        rs = r.replies(5)
        check(codes(rs) == [250, 250, 250, 250, 250], "MAIL, RCPT, BDAT n, BDAT n LAST, NOOP pipelined: all 250", rs)
        check("%d octets" % len(part1) in text(rs[2]) and "queued id" in text(rs[3]), "a chunk's reply counts its octets; LAST's says queued", rs)
        zero = b"Subject: zero\r\n\r\nz\r\n"
        r.send(b"MAIL FROM:<b@remote.example>\r\nRCPT TO:<dave@example.org>\r\nBDAT %d\r\n" % len(zero) + zero + b"BDAT 0 LAST\r\n")
        rs = r.replies(4)
        check(codes(rs) == [250, 250, 250, 250] and "queued id" in text(rs[3]), "BDAT 0 LAST ends a message", rs)
        r.send(b"BDAT 6\r\nNOOP\r\nNOOP\r\n")
        rs = r.replies(2)
        check(codes(rs) == [503, 250], "BDAT without MAIL: 503, and its 6 bytes are read as data, not as a command", rs)
        r.send(b"MAIL FROM:<b@remote.example>\r\nRCPT TO:<dave@example.org>\r\nBDAT 3\r\nabcDATA\r\nRSET\r\n")
        rs = r.replies(5)
        check(codes(rs) == [250, 250, 250, 503, 250], "DATA after BDAT: 503; RSET ends it", rs)
        r.cmd(b"QUIT")
        check(eventually(lambda: any(m.endswith(b"Subject: bdat\n\nchunked body\n.still text\n") for m in inbox("dave"))
                         and any(m.endswith(b"Subject: zero\n\nz\n") for m in inbox("dave")), 20),
              "both BDAT messages delivered, CRLF as LF, no dot removed", [m[-60:] for m in inbox("dave")])

    def relaying():
        r = Raw(plain.port)
        r.cmd(b"EHLO client.example")
        r.cmd(b"MAIL FROM:<r@remote.example>")
        c, lines = r.cmd(b"RCPT TO:<x@elsewhere.example>")
        check(c == 550 and "5.7.1" in lines[0], "without RELAYCLIENT, another domain: 550 5.7.1", lines)
        check(r.cmd(b"RCPT TO:<x@relay.example>")[0] == 250, "a domain of control/relaydomains: 250")
        check(r.cmd(b"RCPT TO:<x@a.sub.example>")[0] == 250, "a domain under a .domain line: 250")
        check(r.cmd(b"RCPT TO:<x@sub.example>")[0] == 550, "but not the .domain itself: 550")
        c, lines = r.cmd(b"RCPT TO:<nosuch@example.org>")
        check(c == 550 and "5.1.1" in lines[0], "an unknown virtual mailbox: 550 5.1.1 at RCPT", lines)
        c, lines = r.cmd(b"RCPT TO:<nosuchuser@" + ME.encode() + b">")
        check(c == 550 and "5.1.1" in lines[0], "an unknown system user of control/locals: 550 5.1.1 at RCPT", lines)
        check(r.cmd(b"RCPT TO:<alice-ext@example.org>")[0] == 250, "user-ext of a mailbox: 250, as ferry-local resolves it")
        r.cmd(b"QUIT")
        r = Raw(relay.port)
        r.cmd(b"EHLO client.example")
        r.cmd(b"MAIL FROM:<r@remote.example>")
        check(r.cmd(b"RCPT TO:<x@elsewhere.example>")[0] == 250, "RELAYCLIENT from the tcprules cdb: another domain is taken")
        c, lines = r.cmd(b"RCPT TO:<nosuch@example.org>")
        check(c == 550 and "5.1.1" in lines[0], "even then, an unknown local recipient: 550 5.1.1", lines)
        r.cmd(b"QUIT")
        tagged = Server("tagged", ["-t", "20"], rules='127.0.0.1:allow,RELAYCLIENT="-tag"\n')
        r = Raw(tagged.port)
        r.cmd(b"EHLO client.example")
        r.cmd(b"MAIL FROM:<r@remote.example>")
        r.cmd(b"RCPT TO:<x@elsewhere.example>")
        r.cmd(b"DATA")
        c, lines = r.cmd(b"Subject: tag\r\n\r\nx\r\n.")
        check(c == 250 and "queued id" in lines[0], "a relayed message queued", lines)
        r.cmd(b"QUIT")
        msgid = int(lines[0].split("queued id ")[-1].split()[0]) if "queued id" in lines[0] else 0
        check(eventually(lambda: os.path.exists(os.path.join(H, "queue", "intd", str(msgid % split()), str(msgid))), 10)
              and b"Tx@elsewhere.example-tag\0" in envelope(msgid), "RELAYCLIENT's value is appended to the recipient",
              envelope(msgid) if msgid else lines)
        tagged.stop()

    def dsn():
        r = Raw(relay.port)
        r.cmd(b"EHLO client.example")
        rs = [r.cmd(b"MAIL FROM:<d@remote.example> RET=HDRS ENVID=abc+2Bdef BODY=8BITMIME SIZE=100"),
              r.cmd(b"RCPT TO:<x@elsewhere.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x+40elsewhere.example"),
              r.cmd(b"RCPT TO:<y@elsewhere.example> NOTIFY=NEVER"),
              r.cmd(b"DATA"), r.cmd(b"Subject: dsn\r\n\r\n\xc3\xa9t\xc3\xa9\r\n.")]
        check(codes(rs) == [250, 250, 250, 354, 250], "MAIL and RCPT with DSN parameters, 8-bit body", rs)
        msgid = int(rs[4][1][0].split("queued id ")[-1]) if "queued id" in rs[4][1][0] else 0
        env = envelope(msgid) if msgid and eventually(lambda: os.path.exists(os.path.join(H, "queue", "intd", str(msgid % split()), str(msgid))), 10) else b""
        check(b"Fd@remote.example\0" in env and b"XRET=HDRS\0" in env and b"XENVID=abc+2Bdef\0" in env and b"XBODY=8BITMIME\0" in env,
              "the queued envelope has RET, ENVID and BODY for the message", env)
        check(b"Tx@elsewhere.example\0XNOTIFY=SUCCESS,FAILURE\0XORCPT=rfc822;x+40elsewhere.example\0Ty@elsewhere.example\0XNOTIFY=NEVER\0" in env,
              "and NOTIFY and ORCPT for each recipient", env)
        q = subprocess.run([os.path.join(BIN, "ferry-qread"), "-j", H], capture_output=True, text=True)
        check(q.returncode == 0 and '"sender":"d@remote.example"' in q.stdout.replace(" ", "") and "x@elsewhere.example" in q.stdout,
              "ferry-qread lists the message and its recipients", q.stdout[-500:])
        c, lines = r.cmd(b"MAIL FROM:<j\xc3\xb6rg@remote.example>")
        check(c == 553 and "5.6.7" in lines[0], "a UTF-8 address without SMTPUTF8: 553 5.6.7", lines)
        rs = [r.cmd(b"MAIL FROM:<j\xc3\xb6rg@remote.example> SMTPUTF8"), r.cmd(b"RCPT TO:<x@elsewhere.example>"),
              r.cmd(b"DATA"), r.cmd(b"Subject: utf8\r\n\r\nx\r\n.")]
        check(codes(rs) == [250, 250, 354, 250], "with SMTPUTF8: taken", rs)
        msgid = int(rs[3][1][0].split("queued id ")[-1]) if "queued id" in rs[3][1][0] else 0
        env = envelope(msgid) if msgid and eventually(lambda: os.path.exists(os.path.join(H, "queue", "intd", str(msgid % split()), str(msgid))), 10) else b""
        check(b"Fj\xc3\xb6rg@remote.example\0XSMTPUTF8\0" in env, "the envelope says SMTPUTF8", env)
        for bad, want in ((b"MAIL FROM:<d@remote.example> RET=SOME", 501), (b"MAIL FROM:<d@remote.example> FOO=1", 555),
                          (b"MAIL FROM:<d@remote.example> RET=HDRS RET=FULL", 501), (b"MAIL FROM:<d@remote.example> BODY=BINARYMIME", 555)):
            check(r.cmd(bad)[0] == want, "%s: %d" % (bad.decode(), want))
        r.cmd(b"MAIL FROM:<d@remote.example>")
        check(r.cmd(b"RCPT TO:<x@elsewhere.example> NOTIFY=SOMETIMES")[0] == 501, "a bad NOTIFY: 501")
        r.cmd(b"QUIT")

    def bounds():
        r = Raw(plain.port)
        r.cmd(b"EHLO client.example")
        c, lines = r.cmd(b"NOOP " + b"x" * 600)
        check(c == 500 and "5.5.2" in lines[0], "a command line over 512 bytes: 500 5.5.2", lines)
        check(r.cmd(b"NOOP")[0] == 250, "and the session goes on")
        r.cmd(b"QUIT")
        # recipients per message
        few = Server("few", ["-r", "3", "-e", "50"])
        r = Raw(few.port)
        r.cmd(b"EHLO client.example")
        r.cmd(b"MAIL FROM:<b@remote.example>")
        rs = [r.cmd(b"RCPT TO:<%s@example.org>" % u.encode()) for u in ("alice", "bob", "carol", "dave")]
        check(codes(rs) == [250, 250, 250, 452] and "4.5.3" in text(rs[3]), "-r 3: the fourth recipient gets 452 4.5.3", rs)
        r.cmd(b"QUIT")
        few.stop()
        # SIZE and databytes (read at each connection)
        home.control("databytes", "2000\n")
        try:
            r = Raw(plain.port)
            c, lines = r.cmd(b"EHLO client.example")
            check("250-SIZE 2000" in lines, "SIZE follows control/databytes", lines)
            c, lines = r.cmd(b"MAIL FROM:<b@remote.example> SIZE=5000")
            check(c == 552 and "5.3.4" in lines[0], "MAIL SIZE= over databytes: 552 5.3.4 at MAIL", lines)
            before = queue_names()
            rs = [r.cmd(b"MAIL FROM:<b@remote.example>"), r.cmd(b"RCPT TO:<erin@example.org>"), r.cmd(b"DATA"),
                  r.cmd(b"Subject: big\r\n\r\n" + b"0123456789" * 300 + b"\r\n.")]
            check(codes(rs) == [250, 250, 354, 552] and "5.3.4" in text(rs[3]), "a message over databytes without SIZE: 552 5.3.4 at its end", rs)
            check(not set(queue_names()) - set(before), "and nothing of it in the queue")
            r.cmd(b"QUIT")
        finally:
            home.control("databytes", "10240000\n")
        # bare LF, bare CR, NUL, a long line
        r = Raw(plain.port)
        r.cmd(b"EHLO client.example")
        for body, what in ((b"Subject: lf\r\n\r\na\nb\r\n", "a bare LF"), (b"Subject: cr\r\n\r\na\rb\r\n", "a bare CR"),
                           (b"Subject: nul\r\n\r\na\0b\r\n", "a NUL byte")):
            rs = [r.cmd(b"MAIL FROM:<b@remote.example>"), r.cmd(b"RCPT TO:<erin@example.org>"), r.cmd(b"DATA"), r.cmd(body + b".")]
            check(codes(rs) == [250, 250, 354, 554] and "5.6.0" in text(rs[3]), "%s in the message: 554 5.6.0 at its end" % what, rs)
        smuggle = b"Subject: smuggle\r\n\r\nx\n.\r\nMAIL FROM:<evil@remote.example>\r\n"
        rs = [r.cmd(b"MAIL FROM:<b@remote.example>"), r.cmd(b"RCPT TO:<erin@example.org>"), r.cmd(b"DATA"), r.cmd(smuggle + b".")]
        check(codes(rs) == [250, 250, 354, 554], "LF.CRLF does not end the data (no smuggled command): one reply, 554", rs)
        long_line = b"y" * 1500
        rs = [r.cmd(b"MAIL FROM:<b@remote.example>"), r.cmd(b"RCPT TO:<erin@example.org>"), r.cmd(b"DATA"),
              r.cmd(b"Subject: long\r\n\r\n" + long_line + b"\r\n.")]
        check(codes(rs) == [250, 250, 354, 250], "a data line of 1500 octets: taken", rs)
        r.cmd(b"QUIT")
        check(eventually(lambda: any(m.endswith(b"Subject: long\n\n" + long_line + b"\n") for m in inbox("erin")), 20),
              "and delivered whole", [len(m) for m in inbox("erin")])
        check(not any(b"Subject: lf" in m or b"Subject: cr" in m or b"Subject: nul" in m or b"smuggle" in m or b"Subject: big" in m for m in inbox("erin")),
              "nothing refused was delivered")
        # errors and commands per session
        strict = Server("strict", ["-e", "3", "-c", "6"])
        r = Raw(strict.port)
        rs = [r.cmd(b"FOO"), r.cmd(b"BAR"), r.cmd(b"BAZ"), r.reply()]
        check(codes(rs) == [500, 500, 500, 421] and "4.7.0" in text(rs[3]) and r.eof(), "-e 3: the third error, then 421 4.7.0 and the connection closes", rs)
        r = Raw(strict.port)
        rs = [r.cmd(b"NOOP") for _ in range(7)]
        check(codes(rs)[:6] == [250] * 6 and rs[6][0] == 421 and r.eof(), "-c 6: the seventh command gets 421", rs)
        # a client that keeps its connection for message after message (a relay's connection
        # cache): 1 + 4 x 3 = 13 commands, more than -c 6, each message taken; then the count
        # from the last message taken still ends an idle talker at its seventh command
        r = Raw(strict.port)
        rs = [r.cmd(b"EHLO cache.example")]
        for k in range(4):
            rs += [r.cmd(b"MAIL FROM:<b@remote.example>"), r.cmd(b"RCPT TO:<erin@example.org>"), r.cmd(b"DATA"),
                   r.cmd(b"Subject: cached %d\r\n\r\nx\r\n." % k)]
        check(codes(rs) == [250] + [250, 250, 354, 250] * 4, "-c 6: four messages (13 commands) on one connection, each taken", rs)
        rs = [r.cmd(b"NOOP") for _ in range(7)]
        check(codes(rs)[:6] == [250] * 6 and rs[6][0] == 421 and r.eof(), "-c 6 after the last message taken: the seventh NOOP gets 421", rs)
        check(eventually(lambda: sum(b"Subject: cached " in m for m in inbox("erin")) == 4, 20), "the four messages delivered",
              [m[:60] for m in inbox("erin")])
        check("ended: too many errors" in strict.log() and "ended: too many commands" in strict.log(), "both are logged", strict.log()[-400:])
        strict.stop()
        # timeouts: each command, the whole session
        slow = Server("slow", ["-t", "2", "-T", "4"])
        r = Raw(slow.port)
        t0 = time.time()
        c, lines = r.reply()
        check(c == 421 and "4.4.2" in lines[0] and 1.5 < time.time() - t0 < 10 and r.eof(), "-t 2: silence gets 421 4.4.2 after 2 seconds", (lines, time.time() - t0))
        r = Raw(slow.port)
        t0 = time.time()
        got = None
        while time.time() - t0 < 15:
            c, lines = r.cmd(b"NOOP")
            if c != 250:
                got = (c, lines)
                break
            time.sleep(0.5)
        check(got and got[0] == 421 and 3.5 < time.time() - t0 < 10, "-T 4: a busy session still ends at 4 seconds with 421", (got, time.time() - t0))
        check("ended: timeout" in slow.log(), "logged as a timeout", slow.log()[-300:])
        slow.stop()

    def mid_data():
        before = queue_names()
        n = len(plain.log())
        r = Raw(plain.port)
        r.cmd(b"EHLO client.example")
        rs = [r.cmd(b"MAIL FROM:<m@remote.example>"), r.cmd(b"RCPT TO:<erin@example.org>"), r.cmd(b"DATA")]
        check(codes(rs) == [250, 250, 354], "a transaction up to DATA", rs)
        r.send(b"Subject: cut\r\n\r\nhalf a mess")
        r.close()
        check(eventually(lambda: "aborted, nothing queued: the client closed the connection in the middle of the message" in plain.log()[n:], 10),
              "ferry-smtpd logs the message as aborted", plain.log()[n:])
        check(not set(queue_names()) - set(before), "nothing of it is in the queue", (before, queue_names()))
        check(not eventually(lambda: any(b"Subject: cut" in m for m in inbox("erin")), 2), "and nothing delivered")

    def injectd_faults():
        svc = os.path.join(H, "service", "ferry-injectd")
        fast = Server("fast", ["-t", "3"])
        # ferry-injectd stopped (SIGSTOP): its socket takes the connection, nobody answers
        subprocess.run(["s6-svc", "-p", svc], check=True)
        try:
            r = Raw(fast.port)
            r.cmd(b"EHLO client.example")
            rs = [r.cmd(b"MAIL FROM:<f@remote.example>"), r.cmd(b"RCPT TO:<carol@example.org>"), r.cmd(b"DATA"),
                  r.cmd(b"Subject: stopped injectd\r\n\r\nx\r\n.")]
            check(codes(rs) == [250, 250, 354, 451] and "4.3.0" in text(rs[3]), "ferry-injectd stopped: 451 4.3.0 after the timeout, not 250", rs)
            check("451 4.3.0" in fast.log() and "timed out" in fast.log(), "the log says why (timed out)", fast.log()[-400:])
            r.cmd(b"QUIT")
        finally:
            subprocess.run(["s6-svc", "-c", svc], check=True)
        # ferry-injectd down (its socket removed) and ferry-inject failing: queue/pid is no directory
        subprocess.run(["s6-svc", "-wd", "-d", svc], check=True, timeout=30)
        check(eventually(lambda: not os.path.exists(os.path.join(H, "public", "inject")), 10), "ferry-injectd is down, its socket gone")
        pid = os.path.join(H, "queue", "pid")
        os.rename(pid, pid + ".away")
        open(pid, "w").close()
        try:
            r = Raw(fast.port)
            r.cmd(b"EHLO client.example")
            rs = [r.cmd(b"MAIL FROM:<f@remote.example>"), r.cmd(b"RCPT TO:<carol@example.org>"), r.cmd(b"DATA"),
                  r.cmd(b"Subject: failing inject\r\n\r\nx\r\n.")]
            check(codes(rs) == [250, 250, 354, 451] and "4.3.0" in text(rs[3]), "ferry-inject failing: 451 4.3.0, not 250", rs)
            check("code 63" in fast.log(), "the log gives ferry-inject's code", fast.log()[-400:])
        finally:
            os.unlink(pid)
            os.rename(pid + ".away", pid)
        rs = [r.cmd(b"MAIL FROM:<f@remote.example>"), r.cmd(b"RCPT TO:<carol@example.org>"), r.cmd(b"DATA"),
              r.cmd(b"Subject: through ferry-inject\r\n\r\nx\r\n.")]
        check(codes(rs) == [250, 250, 354, 250], "with the queue back, ferry-inject (no ferry-injectd) queues it: 250", rs)
        r.cmd(b"QUIT")
        subprocess.run(["s6-svc", "-u", svc], check=True)
        check(eventually(lambda: os.path.exists(os.path.join(H, "public", "inject")), 10), "ferry-injectd back up")
        check(eventually(lambda: any(b"Subject: through ferry-inject" in m for m in inbox("carol")), 20), "and delivered")
        check(not any(b"Subject: failing inject" in m for m in inbox("carol")), "the refused one never was")
        fast.stop()

    def swaks():
        exe = shutil.which("swaks")
        if not check(exe is not None, "swaks is installed (package/deps)"):
            return
        r = subprocess.run([exe, "--server", "127.0.0.1", "--port", str(plain.port), "--ehlo", "swaks.example", "--from", "s@remote.example",
                            "--to", "erin@example.org", "--pipeline", "--header", "Subject: from swaks", "--body", "hello from swaks"],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0 and "250 2.0.0 ok: queued id" in r.stdout, "swaks --pipeline: the message is queued", r.stdout[-800:] + r.stderr[-300:])
        check(eventually(lambda: any(b"Subject: from swaks" in m for m in inbox("erin")), 20), "and delivered")

    cases.case("greeting, EHLO and the simple commands", greeting_and_ehlo)
    cases.case("a message delivered to a Maildir", delivery)
    cases.case("pipelining", pipelining)
    cases.case("BDAT", bdat)
    cases.case("who may relay; unknown local recipients", relaying)
    cases.case("DSN, 8BITMIME and SMTPUTF8 parameters in the queued envelope", dsn)
    cases.case("the bounds", bounds)
    cases.case("a client gone in the middle of the data", mid_data)
    cases.case("ferry-injectd stopped or down, ferry-inject failing", injectd_faults)
    cases.case("swaks", swaks)
finally:
    stop_all([s.stop for s in servers] + stops)
    home.cleanup()
cases.end()
