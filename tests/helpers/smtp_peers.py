"""SMTP peers for the remote channel's tests, all on loopback, run in a background thread:
- ScriptedPeer: a python3-aiosmtpd server whose answers depend on the addresses
  (rcpt-450@... gets 450, mail-553@... as sender gets 553 at MAIL, ...);
- RawPeer: a hand-written server that records every byte it receives and can be told to
  misbehave (greet with 421, never answer, send endless or never-ending replies, garbage,
  refuse EHLO, announce a SIZE limit, drop the line, go slowly); its session loop is SmtpPeer's,
  which other peers (shaping_peer.py) hook into.
Run with /usr/bin/python3."""

import asyncio
import os
import socket
import subprocess
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


def ipv6_ok():
    """whether ::1 can be bound here (a container may have no IPv6)"""
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def free_port(host="127.0.0.1"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening(port, host="127.0.0.1"):
    """whether a server (of another process or thread) takes TCP connections on host:port now"""
    try:
        socket.create_connection((host, port), 1).close()
        return True
    except OSError:
        return False


def postfix_private(d, myhostname, mailbox_domain, interfaces):
    """The common part of a private instance of Debian's Postfix under the directory d (needs
    root): conf/ (for `postfix -c`), queue/, data/ (Postfix's), mail/box/ (one Maildir, written
    as nobody, for every address @mailbox_domain), and the main.cf lines they need. Returns
    (conf, queue, maildir, main lines); the caller adds its own lines, writes master.cf and main.cf."""
    conf, queue, data = (os.path.join(d, x) for x in ("conf", "queue", "data"))
    maildir = os.path.join(d, "mail", "box")
    for x in (conf, queue, data):
        os.makedirs(x)
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(maildir, sub))
    subprocess.run(["chown", "-R", "nobody", os.path.join(d, "mail")], check=True)
    subprocess.run(["chown", "postfix", data], check=True)
    nobody = subprocess.run(["id", "-u", "nobody"], capture_output=True, text=True).stdout.strip()
    nogroup = subprocess.run(["id", "-g", "nobody"], capture_output=True, text=True).stdout.strip()
    main = [
        "compatibility_level = 3.6", "queue_directory = " + queue, "data_directory = " + data,
        "command_directory = /usr/sbin", "daemon_directory = /usr/lib/postfix/sbin", "meta_directory = /etc/postfix",
        "shlib_directory = /usr/lib/postfix", "mail_owner = postfix", "setgid_group = postdrop",
        "inet_interfaces = " + interfaces, "inet_protocols = ipv4", "myhostname = " + myhostname, "mydestination =",
        "alias_maps =", "alias_database =", "local_recipient_maps =", "smtputf8_enable = no",
        "virtual_mailbox_domains = " + mailbox_domain, "virtual_mailbox_base = " + os.path.join(d, "mail"),
        "virtual_mailbox_maps = static:box/", "virtual_uid_maps = static:" + nobody, "virtual_gid_maps = static:" + nogroup,
        "maillog_file = " + os.path.join(d, "maillog"), "maillog_file_prefixes = " + d, "smtp_dns_support_level = disabled",
    ]
    return conf, queue, maildir, main


class ScriptedHandler:
    """Codes by address: a local part ending in -NNN gets NNN at that stage."""

    def __init__(self):
        self.messages = []     # (mail_from, rcpt_tos, bytes)
        self.lock = threading.Lock()

    @staticmethod
    def code_of(address):
        local = address.split("@")[0]
        tail = local.rsplit("-", 1)[-1]
        return int(tail) if tail.isdigit() and len(tail) == 3 else None

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        code = self.code_of(address) if address.startswith("mail-") else None
        if code:
            return "%d %s.0.0 sender refused by the scripted peer" % (code, code // 100)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = self.code_of(address) if address.startswith("rcpt-") else None
        if code:
            return "%d %s.1.1 <%s>: recipient refused by the scripted peer" % (code, code // 100, address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        for r in envelope.rcpt_tos:
            if r.startswith("data-"):
                code = self.code_of(r)
                if code:
                    return "%d %s.0.0 message refused by the scripted peer" % (code, code // 100)
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 queued by the scripted peer"


class ScriptedPeer:
    def __init__(self, host="127.0.0.1", port=None):
        self.handler = ScriptedHandler()
        self.port = port or free_port(host)
        self.controller = Controller(self.handler, hostname=host, port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


def path_of(command):
    """the address in MAIL FROM:<a> or RCPT TO:<a>"""
    a, b = command.find("<"), command.find(">")
    return command[a + 1:b] if 0 <= a < b else ""


class Session:
    """one connection to an SmtpPeer, as its session loop keeps it"""

    def __init__(self):
        self.log = []           # ("C", line) / ("S", line) / ("P", bytes) in order
        self.mail = ""          # the transaction's MAIL command as received
        self.sender = None      # and its address, then the addresses of its accepted RCPT TO
        self.rcpts = []
        self.accepted = 0       # recipients accepted since MAIL, RSET or DATA
        self.taken = 0          # messages taken on the connection
        self.quit = False       # the client said QUIT


class SmtpPeer:
    """The session loop of a hand-written SMTP server: one asyncio server in a thread, answering
    as the behaviour keys say (RawPeer's; self.b, read at each use, so that a test may change them
    while the peer runs). A subclass records what it needs through the hooks (on_open, on_greet,
    on_refused, on_mail, on_data, on_taken, on_close) and may change name (in the greeting and
    the EHLO reply), extensions (EHLO's when the behaviour names none), replies (the texts of
    NOOP's, QUIT's and an unknown command's) and probe_pipelining (at MAIL, wait 50 ms and log
    ("P", the bytes of later commands already there): more than 0 means the client pipelines)."""

    name = "rawpeer"
    extensions = ["PIPELINING", "8BITMIME", "SMTPUTF8"]
    replies = {"NOOP": "250 ok", "QUIT": "221 bye", "other": "502 5.5.2 what"}
    probe_pipelining = True

    def __init__(self, host="127.0.0.1", port=None, **behaviour):
        self.host = host
        self.port = port or free_port(host)
        self.b = behaviour
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("the %s peer did not start" % self.name)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._session, self.host, self.port))
        self.ready.set()
        self.loop.run_forever()

    def stop(self):
        if not self.thread.is_alive():
            return

        async def halt():
            self.server.close()
            tasks = [t for t in asyncio.all_tasks(self.loop) if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.loop.stop()
        asyncio.run_coroutine_threadsafe(halt(), self.loop)
        self.thread.join(5)

    # ---- the hooks

    def on_open(self):
        """a connection begins: its Session (or a subclass's)"""
        return Session()

    def on_greet(self, s):
        """the line to greet s with; one of 4xx or 5xx ends the session (on_refused)"""
        return self.b.get("greeting", "220 %s ESMTP" % self.name)

    async def on_refused(self, s, reader):
        """after a greeting of 4xx or 5xx: the client's next line, then the connection closes"""
        await reader.readline()

    def on_mail(self, s):
        """a MAIL command (s.mail) came, before its reply"""

    def on_data(self, s, data):
        """a message's data as received (dot-stuffed), before any reply to it"""

    def on_taken(self, s, data):
        """a message about to be answered 250"""

    def on_close(self, s):
        """the connection ended"""

    # ---- the session

    async def _session(self, reader, writer):
        s = self.on_open()
        b = self.b

        async def send(line):
            s.log.append(("S", line))
            writer.write(line.encode() + b"\r\n")
            await writer.drain()
        try:
            greeting = self.on_greet(s)
            if b.get("garbage"):
                await send("hello, this is not SMTP")
            elif b.get("silent"):
                await asyncio.sleep(3600)
            elif b.get("endless"):
                await send("220-welcome")
                while True:
                    writer.write(b"220-and more\r\n")
                    await writer.drain()
                    await asyncio.sleep(0.001)
            elif b.get("neverending"):
                writer.write(b"220 ")
                while True:
                    writer.write(b"x" * 100)
                    await writer.drain()
                    await asyncio.sleep(0.01)
            else:
                await send(greeting)
            if greeting.startswith(("4", "5")):
                await self.on_refused(s, reader)
                return
            while True:
                line = await reader.readline()
                if not line:
                    return
                text = line.decode(errors="replace").rstrip("\r\n")
                s.log.append(("C", text))
                if b.get("close_after") and s.taken >= b["close_after"]:
                    return
                verb = text.split(" ")[0].split(":")[0].upper()
                if b.get("drop_after") == verb:
                    return
                if verb == "EHLO":
                    if isinstance(b.get("ehlo"), int):
                        await send("%d command not recognized" % b["ehlo"])
                        continue
                    ext = b.get("ehlo", self.extensions)
                    if b.get("size"):
                        ext = ext + ["SIZE %d" % b["size"]]
                    lines = [self.name] + ext
                    for i, l in enumerate(lines):
                        await send("250%s%s" % ("-" if i < len(lines) - 1 else " ", l))
                elif verb == "HELO":
                    await send("250 " + self.name)
                elif verb == "MAIL":
                    s.mail, s.sender, s.rcpts, s.accepted = text, path_of(text), [], 0
                    self.on_mail(s)
                    if self.probe_pipelining:
                        await asyncio.sleep(0.05)
                        s.log.append(("P", len(reader._buffer)))
                    await send("250 2.1.0 ok")
                elif verb == "RCPT":
                    address = path_of(text)
                    code = ScriptedHandler.code_of(address) if b.get("scripted") and address.startswith("rcpt-") else None
                    if code:
                        await send("%d %s.1.1 <%s>: recipient refused by the scripted peer" % (code, code // 100, address))
                        continue
                    s.rcpts.append(address)
                    s.accepted += 1
                    await send("250 2.1.5 ok")
                elif verb == "RSET":
                    s.sender, s.rcpts, s.accepted = None, [], 0
                    await send("250 2.0.0 ok")
                elif verb == "NOOP":
                    await send(self.replies["NOOP"])
                elif verb == "QUIT":
                    s.quit = True
                    await send(self.replies["QUIT"])
                    return
                elif verb == "DATA" and b.get("scripted") and not s.accepted:
                    await send("554 5.5.1 no valid recipients")
                elif verb == "DATA":
                    s.accepted = 0
                    await send("354 go ahead")
                    if b.get("close_in_data"):
                        return
                    data = b""
                    while not data.endswith(b"\r\n.\r\n") and data != b".\r\n":
                        chunk = await reader.readline()
                        if not chunk:
                            return
                        data += chunk
                    s.log.append(("C", "<data %d bytes>" % len(data)))
                    self.on_data(s, data)
                    if b.get("slow_data"):
                        await asyncio.sleep(b["slow_data"])
                    if b.get("drop_after") == "DOT":
                        return
                    if b.get("strict"):
                        lines = data.split(b"\r\n")
                        if any(len(l) > 998 for l in lines):
                            await send("554 5.5.2 line longer than 998 octets (RFC 5321 4.5.3.1.6)")
                            continue
                        if any(c > 127 for c in data) and "BODY=8BITMIME" not in s.mail.upper():
                            await send("554 5.6.1 8-bit data without BODY=8BITMIME")
                            continue
                    self.on_taken(s, data)
                    await send("250 2.0.0 taken")
                    s.taken += 1
                    s.sender, s.rcpts = None, []
                    if b.get("close_after") and s.taken >= b["close_after"] and not b.get("close_lazily"):
                        return
                else:
                    await send(self.replies["other"])
        except (asyncio.CancelledError, ConnectionError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass
            self.on_close(s)


class RawPeer(SmtpPeer):
    """SmtpPeer recording every byte it receives. behaviour keys (all optional):
    greeting: reply line(s) to greet with, or None to say nothing ('silent');
    ehlo: list of extension lines, or an int code to refuse EHLO with;
    endless: after the greeting, send '250-x' lines forever; neverending: send bytes with no newline;
    garbage: greet with a line that is not SMTP; drop_after: a command name after which to close;
    slow_data: seconds to wait before answering the end of data; size: a SIZE limit to announce;
    close_in_data: close the connection right after the 354, reading none of the message;
    strict: refuse with 554 at the end of data a message with a line over 998 octets, or with
    8-bit bytes and no BODY=8BITMIME (offer ehlo without 8BITMIME to make a strict 7-bit peer);
    scripted: RCPT of rcpt-NNN@... gets NNN (as ScriptedPeer), and DATA after no accepted
    recipient gets 554;
    close_after: close the connection after taking that many messages on it, right after the
    reply to the last one's end of data (close_lazily: when the client's next command comes,
    unanswered). self.opened: the time.monotonic() of each connection's start."""

    def __init__(self, host="127.0.0.1", port=None, **behaviour):
        self.connections = 0
        self.active = 0
        self.peak = 0
        self.sessions = []          # per connection: list of ("C", line) / ("S", line) and data
        self.messages = []          # raw DATA bytes, dot-stuffed, as received
        self.mailargs = []
        self.opened = []
        super().__init__(host, port, **behaviour)

    def on_open(self):
        s = Session()
        with self.lock:
            self.opened.append(time.monotonic())
            self.connections += 1
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.sessions.append(s.log)
        return s

    def on_mail(self, s):
        with self.lock:
            self.mailargs.append(s.mail)

    def on_data(self, s, data):
        with self.lock:
            self.messages.append(data)

    def on_close(self, s):
        with self.lock:
            self.active -= 1


class SmtpSink:
    """Postfix's smtp-sink on a loopback port, one dump file per message in a directory."""

    def __init__(self, tmp, host="127.0.0.1", extra=(), dump=True):
        import os
        import subprocess
        self.dir = os.path.join(tmp, "sink-%d" % free_port())
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o777)
        self.port = free_port(host)
        args = ["/usr/sbin/smtp-sink"] + list(extra) + (["-d", self.dir + "/%H%M%S."] if dump else []) + ["%s:%d" % (host, self.port), "100"]
        if os.geteuid() == 0:
            args[1:1] = ["-u", "nobody"]
        self.p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not listening(self.port, host):
            if time.time() > deadline:
                raise RuntimeError("smtp-sink does not listen on %s port %d" % (host, self.port))
            time.sleep(0.05)

    def dumps(self):
        import os
        out = []
        for f in sorted(os.listdir(self.dir)):
            out.append(open(os.path.join(self.dir, f), "rb").read())
        return out

    def stop(self):
        self.p.kill()
        self.p.wait()


class Dnsmasq:
    """dnsmasq on a loopback port, answering only what the test gives it."""

    def __init__(self, records):
        import subprocess
        self.port = free_port()
        args = ["/usr/sbin/dnsmasq", "-k", "-p", str(self.port), "--listen-address=127.0.0.1", "--bind-interfaces",
                "--no-resolv", "--no-hosts", "-C", "/dev/null", "--local=/test/", "--pid-file="] + list(records)
        self.p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # wait until it answers a query (any answer will do), boundedly
        query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05probe\x04test\x00\x00\x01\x00\x01"
        deadline = time.time() + 10
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.1)
        try:
            while True:
                if self.p.poll() is not None:
                    raise RuntimeError("dnsmasq: " + self.p.stderr.read().decode())
                s.sendto(query, ("127.0.0.1", self.port))
                try:
                    s.recvfrom(512)
                    break
                except socket.timeout:
                    if time.time() > deadline:
                        raise RuntimeError("dnsmasq does not answer")
        finally:
            s.close()

    def stop(self):
        self.p.kill()
        self.p.wait()
