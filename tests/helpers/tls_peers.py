"""TLS peers for the remote channel's TLS and SMTP AUTH tests, all on loopback:
- TestCA: a certificate authority made with the openssl command in a temporary directory, and
  server certificates signed by it (good, expired, wrong name) or by themselves;
- TlsPeer: a hand-written SMTP server (a thread per connection) that offers STARTTLS, or strips
  it, or speaks TLS from the first byte, or breaks the handshake; offers AUTH PLAIN/LOGIN (after
  TLS only, or in clear too) and can demand it; it records per connection whether TLS was used,
  the version, cipher and session resumption, every command (AUTH decoded) and every message;
- PrivatePostfix: Debian's Postfix as a private instance (its own config, queue and Maildir)
  whose smtpd offers STARTTLS with a certificate of the test CA on a loopback port.
Run with /usr/bin/python3; `python3 tls_peers.py` checks the peers with smtplib."""

import base64
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

from smtp_peers import free_port, postfix_private


def _run(args, cwd):
    r = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("%s: %s" % (" ".join(args), r.stderr.strip()))


CA_CNF = """[ ca ]
default_ca = test
[ test ]
dir = .
database = db/index.txt
serial = db/serial
new_certs_dir = db
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName = supplied
"""

GOOD_NAMES = ("mx.tls.test", "smtp.relay.test", "localhost", "127.0.0.1")


class TestCA:
    """A CA in dir (a new temporary directory unless given); nothing is kept anywhere else.
    cert(kind) returns (certfile, keyfile): kind good (names: GOOD_NAMES), expired (the same
    names, valid only in January 2020), selfsigned (the same names, signed by its own key) or
    wrongname (other.example only). The CA's own certificate is self.pem."""

    def __init__(self, dir=None):
        self.dir = dir or tempfile.mkdtemp(prefix="ferry-test-ca.")
        os.makedirs(os.path.join(self.dir, "db"), exist_ok=True)
        open(os.path.join(self.dir, "db", "index.txt"), "w").close()
        with open(os.path.join(self.dir, "db", "serial"), "w") as f:
            f.write("1000\n")
        with open(os.path.join(self.dir, "ca.cnf"), "w") as f:
            f.write(CA_CNF)
        _run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
              "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650", "-subj", "/CN=ferry test CA",
              "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], self.dir)
        self.pem = os.path.join(self.dir, "ca.pem")
        self.made = {}

    @staticmethod
    def _san(names):
        return ",".join(("IP:" if n.replace(".", "").isdigit() else "DNS:") + n for n in names)

    def cert(self, kind="good", names=None):
        if names is None:
            names = ("other.example",) if kind == "wrongname" else GOOD_NAMES
        key = (kind, tuple(names))
        if key in self.made:
            return self.made[key]
        base = "%s-%d" % (kind, len(self.made))
        crt, k = os.path.join(self.dir, base + ".pem"), os.path.join(self.dir, base + ".key")
        subj = "/CN=" + names[0]
        if kind == "selfsigned":
            _run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", k, "-out", crt, "-days", "30", "-subj", subj, "-addext", "subjectAltName=" + self._san(names),
                  "-addext", "extendedKeyUsage=serverAuth"], self.dir)
        else:
            csr = os.path.join(self.dir, base + ".csr")
            ext = os.path.join(self.dir, base + ".ext")
            with open(ext, "w") as f:
                f.write("[ server ]\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\nsubjectAltName = %s\n" % self._san(names))
            _run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", k, "-out", csr, "-subj", subj], self.dir)
            dates = ["-startdate", "20200101000000Z", "-enddate", "20200201000000Z"] if kind == "expired" else ["-days", "30"]
            _run(["openssl", "ca", "-batch", "-notext", "-config", "ca.cnf", "-extfile", ext, "-extensions", "server",
                  "-in", csr, "-out", crt] + dates, self.dir)
        self.made[key] = (crt, k)
        return crt, k

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def server_context(certfile, keyfile):
    """a TLS server context (1.2 and up) that issues TLS 1.3 session tickets, so that a client
    can resume its session on a later connection to any peer made with the same context"""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(certfile, keyfile)
    ctx.num_tickets = 2
    return ctx


class Conn:
    """what one connection saw"""

    def __init__(self, number):
        self.number = number
        self.tls = False
        self.version = None         # e.g. "TLSv1.3"
        self.cipher = None          # e.g. "TLS_AES_256_GCM_SHA384"
        self.reused = None          # the TLS session was resumed (ssl's session_reused)
        self.tls_error = None       # a failed handshake: why
        self.commands = []          # each line received, AUTH exchanges decoded ("AUTH PLAIN user=.. password=..")
        self.auth = None            # (mechanism, user, password, accepted) of the last AUTH
        self.auth_in_clear = False  # an AUTH command arrived before TLS
        self.after_starttls = b""   # bytes that came with STARTTLS, before the handshake (injection)
        self.messages = []          # (mail_from, [rcpts], data unstuffed, with CRLF)
        self.closed = False

    def verbs(self):
        return [c.split(" ")[0].split(":")[0].upper() for c in self.commands]

    def __repr__(self):
        return "<conn %d tls=%s %s %s reused=%s err=%s cmds=%r>" % (self.number, self.tls, self.version, self.cipher,
                                                                    self.reused, self.tls_error, self.commands)


class _Lines:
    """lines from a socket, the buffer visible (to see what came after STARTTLS)"""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def readline(self):
        while b"\n" not in self.buf:
            if len(self.buf) > 100000:
                return None
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
        i = self.buf.index(b"\n") + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        return line


class TlsPeer:
    """An SMTP server on host:port, each connection in a thread. mode:
      starttls  offers STARTTLS (certfile/keyfile: its certificate, or ctx: a server_context)
      strip     never offers STARTTLS (a stripping attacker); a STARTTLS sent anyway gets 502
      implicit  TLS from the first byte (port 465 style), then SMTP
      broken    offers STARTTLS, answers 220 to it, then sends garbage instead of a handshake and closes
    auth: {user: password} offered as AUTH (mechs, default PLAIN LOGIN) after TLS only, or in
    clear too with auth_clear; a wrong password gets 535 5.7.8. require_auth: 530 5.7.0 at MAIL
    without a successful AUTH. rcpt_replies: {address: reply line} for RCPT TO that address
    (say "450 4.2.1 try again later"), the recipient not taken. inject: bytes sent in clear in
    the same write as the 220 to STARTTLS (a response injection: a client must not take them as
    said inside TLS). conns: a Conn per connection, in order."""

    def __init__(self, mode="starttls", certfile=None, keyfile=None, ctx=None, host="127.0.0.1", port=None,
                 auth=None, mechs=("PLAIN", "LOGIN"), auth_clear=False, require_auth=False, name="tlspeer.test", rcpt_replies=None, inject=b"",
                 requiretls=False):
        self.mode = mode
        self.ctx = ctx or (server_context(certfile, keyfile) if certfile else None)
        if mode in ("starttls", "implicit") and not self.ctx:
            raise ValueError("a certificate is needed for mode " + mode)
        self.auth = auth or {}
        self.mechs = list(mechs)
        self.auth_clear = auth_clear
        self.require_auth = require_auth
        self.rcpt_replies = dict(rcpt_replies or {})
        self.inject = inject
        self.requiretls = requiretls
        self.name = name
        self.host = host
        self.lock = threading.Lock()
        self.conns = []
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port or 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(64)
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def connections(self):
        return len(self.conns)

    @property
    def messages(self):
        with self.lock:
            return [m for c in self.conns for m in c.messages]

    def no_mail(self):
        """no connection went as far as MAIL or DATA"""
        return not any(v in ("MAIL", "DATA") for c in self.conns for v in c.verbs())

    def stop(self):
        self.running = False
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)

    def _accept(self):
        while self.running:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                c = Conn(len(self.conns) + 1)
                self.conns.append(c)
            threading.Thread(target=self._serve, args=(s, c), daemon=True).start()

    def _tls(self, s, c):
        """the server side of a handshake on s: the TLS socket, or None (c.tls_error says why)"""
        try:
            t = self.ctx.wrap_socket(s, server_side=True)
        except (ssl.SSLError, OSError) as e:
            c.tls_error = str(e)
            return None
        c.tls = True
        c.version = t.version()
        c.cipher = t.cipher()[0]
        c.reused = t.session_reused
        return t

    def _serve(self, s, c):
        s.settimeout(30)
        try:
            if self.mode == "implicit":
                t = self._tls(s, c)
                if t is None:
                    return
                s = t
            self._smtp(s, c)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            c.closed = True
            try:
                s.close()
            except OSError:
                pass

    def _smtp(self, s, c):
        lines = _Lines(s)

        def send(text):
            s.sendall(text.encode() + b"\r\n")

        def getline():
            line = lines.readline()
            return None if line is None else line.decode("utf-8", "replace").rstrip("\r\n")

        authed = False
        mail_from, rcpts = None, []
        send("220 %s ESMTP tls peer" % self.name)
        while True:
            text = getline()
            if text is None:
                return
            verb = text.split(" ")[0].split(":")[0].upper()
            if verb != "AUTH":
                c.commands.append(text)
            if verb in ("EHLO", "HELO"):
                mail_from, rcpts = None, []
                if verb == "HELO":
                    send("250 " + self.name)
                    continue
                ext = ["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8"]
                if not c.tls and self.mode in ("starttls", "broken"):
                    ext.append("STARTTLS")
                if self.auth and (c.tls or self.auth_clear):
                    ext.append("AUTH " + " ".join(self.mechs))
                if self.requiretls and c.tls:
                    ext.append("REQUIRETLS")   # RFC 8689: offered inside TLS only
                out = [self.name] + ext
                send("\r\n".join("250%s%s" % ("-" if i < len(out) - 1 else " ", x) for i, x in enumerate(out)))
            elif verb == "STARTTLS":
                if c.tls or self.mode not in ("starttls", "broken"):
                    send("502 5.5.1 STARTTLS not offered")
                    continue
                c.after_starttls = lines.buf
                if self.inject:
                    s.sendall(b"220 2.0.0 Ready to start TLS\r\n" + self.inject)
                else:
                    send("220 2.0.0 Ready to start TLS")
                if self.mode == "broken":
                    s.sendall(b"this is not a TLS record, goodbye\r\n")
                    c.tls_error = "broken on purpose"
                    return
                t = self._tls(s, c)
                if t is None:
                    return
                s = t
                lines = _Lines(s)
                authed = False
                mail_from, rcpts = None, []
            elif verb == "AUTH":
                authed = self._auth(text, c, send, getline) or authed
            elif verb == "MAIL":
                if self.require_auth and not authed:
                    send("530 5.7.0 Authentication required")
                    continue
                mail_from, rcpts = text[text.index(":") + 1:].strip().split(" ")[0].strip("<>"), []
                send("250 2.1.0 ok")
            elif verb == "RCPT":
                if mail_from is None:
                    send("503 5.5.1 MAIL first")
                    continue
                addr = text[text.index(":") + 1:].strip().split(" ")[0].strip("<>")
                if addr in self.rcpt_replies:
                    send(self.rcpt_replies[addr])
                    continue
                rcpts.append(addr)
                send("250 2.1.5 ok")
            elif verb == "DATA":
                if not rcpts:
                    send("503 5.5.1 RCPT first")
                    continue
                send("354 go ahead")
                data = b""
                while True:
                    line = lines.readline()
                    if line is None:
                        return
                    if line in (b".\r\n", b".\n"):
                        break
                    data += line[1:] if line.startswith(b".") else line
                c.commands.append("<data %d bytes>" % len(data))
                with self.lock:
                    c.messages.append((mail_from, list(rcpts), data))
                mail_from, rcpts = None, []
                send("250 2.0.0 taken by the tls peer")
            elif verb == "RSET":
                mail_from, rcpts = None, []
                send("250 2.0.0 ok")
            elif verb == "NOOP":
                send("250 2.0.0 ok")
            elif verb == "QUIT":
                send("221 2.0.0 bye")
                return
            else:
                send("502 5.5.2 what")

    def _auth(self, text, c, send, getline):
        """one AUTH exchange, recorded decoded; True if it succeeded"""
        if not c.tls:
            c.auth_in_clear = True
        parts = text.split(" ")
        mech = parts[1].upper() if len(parts) > 1 else ""
        if not self.auth or not (c.tls or self.auth_clear) or mech not in self.mechs:
            c.commands.append(text)
            send("504 5.5.4 mechanism not available")
            return False

        def b64(s):
            try:
                return base64.b64decode(s, validate=True).decode("utf-8", "replace")
            except ValueError:
                return None
        user = password = None
        if mech == "PLAIN":
            resp = parts[2] if len(parts) > 2 else None
            if resp is None:
                send("334 ")
                resp = getline()
            dec = b64(resp or "")
            if dec is not None and dec.count("\0") == 2:
                _, user, password = dec.split("\0")
        else:
            u = parts[2] if len(parts) > 2 else None
            if u is None:
                send("334 " + base64.b64encode(b"Username:").decode())
                u = getline()
            send("334 " + base64.b64encode(b"Password:").decode())
            p = getline()
            user, password = b64(u or ""), b64(p or "")
        good = user is not None and self.auth.get(user) == password
        c.commands.append("AUTH %s user=%s password=%s" % (mech, user, password))
        c.auth = (mech, user, password, good)
        send("235 2.7.0 Authentication successful" if good else "535 5.7.8 Authentication credentials invalid")
        return good


def port_free(port, host="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class PrivatePostfix:
    """Debian's Postfix as a private instance under dir (needs root): its smtpd on 127.0.0.1:port
    offers STARTTLS (smtpd_tls_security_level may) with certfile/keyfile, adds the TLS line to
    Received:, logs the handshakes (smtpd_tls_loglevel 1) into self.maillog and delivers mail
    for any address @domain into one Maildir (self.maildir, as nobody)."""

    def __init__(self, certfile, keyfile, domain="pf.tls.test", dir=None):
        self.dir = dir or tempfile.mkdtemp(prefix="ferry-test-postfix.")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.conf, self.queue, self.maildir, main = postfix_private(self.dir, domain, domain, "127.0.0.1")
        self.maillog = os.path.join(self.dir, "maillog")
        self.port = free_port()
        # Debian's services, none in a chroot (it would lack the files they read), the public
        # smtpd replaced by one on the loopback port
        master = []
        with open("/etc/postfix/master.cf") as f:
            for line in f:
                fields = line.split()
                if line.startswith(("#", " ", "\t")) or len(fields) < 8:
                    master.append(line)
                    continue
                if fields[0] == "smtp" and fields[1] == "inet":
                    fields[0] = "127.0.0.1:%d" % self.port
                fields[4] = "n"
                master.append("  ".join(fields[:8]) + (" " + " ".join(fields[8:]) if fields[8:] else "") + "\n")
        open(os.path.join(self.conf, "master.cf"), "w").write("".join(master))
        main += [
            "mynetworks = 127.0.0.0/8", "smtpd_banner = $myhostname ESMTP",
            "smtpd_tls_security_level = may", "smtpd_tls_cert_file = " + certfile, "smtpd_tls_key_file = " + keyfile,
            "smtpd_tls_loglevel = 1", "smtpd_tls_received_header = yes", "smtpd_tls_session_cache_database =",
            "smtpd_tls_protocols = >=TLSv1.2",
        ]
        open(os.path.join(self.conf, "main.cf"), "w").write("\n".join(main) + "\n")
        subprocess.run(["postfix", "-c", self.conf, "set-permissions"], check=True, capture_output=True)
        r = subprocess.run(["postfix", "-c", self.conf, "start"], capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError("postfix start: " + r.stdout + r.stderr)
        deadline = time.time() + 20
        while True:
            try:
                s = socket.create_connection(("127.0.0.1", self.port), 1)
                s.settimeout(5)
                greeting = s.recv(200)
                s.close()
                if greeting.startswith(b"220"):
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("the private Postfix does not greet on 127.0.0.1:%d; its log: %s" % (self.port, self.log()))
            time.sleep(0.1)

    def messages(self):
        """the delivered messages, bytes each, oldest first"""
        d = os.path.join(self.maildir, "new")
        names = sorted(os.listdir(d), key=lambda n: os.stat(os.path.join(d, n)).st_mtime_ns)
        return [open(os.path.join(d, n), "rb").read() for n in names]

    def log(self):
        try:
            return open(self.maillog, errors="replace").read()
        except OSError:
            return ""

    def stop(self):
        subprocess.run(["postfix", "-c", self.conf, "stop"], capture_output=True)
        deadline = time.time() + 30
        while subprocess.run(["postfix", "-c", self.conf, "status"], capture_output=True).returncode == 0 and time.time() < deadline:
            time.sleep(0.1)
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- the peers checked with smtplib

def _selfcheck():
    import smtplib

    def check(cond, what, detail=""):
        if not cond:
            raise SystemExit("FAILED: %s %s" % (what, detail))
        print("ok - " + what, flush=True)

    ca = TestCA()
    stop = []
    try:
        good = ca.cert("good")
        cctx = ssl.create_default_context(cafile=ca.pem)
        for kind, reason in (("good", None), ("expired", "certificate has expired"), ("selfsigned", "self-signed certificate"),
                             ("wrongname", "Hostname mismatch")):
            r = subprocess.run(["openssl", "verify", "-CAfile", ca.pem, "-verify_hostname", "mx.tls.test", ca.cert(kind)[0]],
                               capture_output=True, text=True)
            if reason is None:
                check(r.returncode == 0, "openssl verify: the good certificate verifies for mx.tls.test", r.stdout + r.stderr)
            else:
                check(r.returncode != 0, "openssl verify: the %s certificate does not verify" % kind, r.stdout)

        # STARTTLS, AUTH PLAIN and LOGIN after TLS only, a wrong password, resumption
        peer = TlsPeer("starttls", *good, auth={"alice@example.com": "s3cret pass"})
        stop.append(peer.stop)
        c = smtplib.SMTP("127.0.0.1", peer.port, timeout=10)
        c.ehlo("client.test")
        check(c.has_extn("starttls") and not c.has_extn("auth"), "STARTTLS offered, AUTH not before TLS")
        c.starttls(context=cctx)     # checks the name 127.0.0.1 (the good certificate has it)
        c.ehlo("client.test")
        check(c.has_extn("auth") and "PLAIN" in c.esmtp_features["auth"], "AUTH offered after TLS")
        c.login("alice@example.com", "s3cret pass")
        c.sendmail("s@example.com", ["r@mx.tls.test"], b"Subject: t\r\n\r\nhello\r\n.dot\r\n")
        session = c.sock.session
        c.quit()
        conn = peer.conns[0]
        check(conn.tls and conn.version == "TLSv1.3" and conn.reused is False, "the peer saw TLS 1.3, a new session", conn)
        check(conn.auth == ("PLAIN", "alice@example.com", "s3cret pass", True) and not conn.auth_in_clear, "AUTH PLAIN decoded", conn.auth)
        check(conn.messages == [("s@example.com", ["r@mx.tls.test"], b"Subject: t\r\n\r\nhello\r\n.dot\r\n")], "the message, unstuffed", conn.messages)

        # LOGIN, by hand (smtplib prefers PLAIN), and resumption of the session above
        s = socket.create_connection(("127.0.0.1", peer.port), 10)
        f = s.makefile("rb")

        def reply(sock_file):
            out = []
            while True:
                ln = sock_file.readline().decode()
                out.append(ln)
                if ln[3:4] != "-":
                    return "".join(out)
        reply(f)
        s.sendall(b"EHLO c\r\n")
        reply(f)
        s.sendall(b"STARTTLS\r\n")
        check(reply(f).startswith("220"), "220 to STARTTLS")
        t = cctx.wrap_socket(s, server_hostname="mx.tls.test", session=session)
        tf = t.makefile("rb")
        t.sendall(b"EHLO c\r\n")
        reply(tf)
        check(t.session_reused, "the client resumed its TLS 1.3 session (tickets issued)")
        t.sendall(b"AUTH LOGIN\r\n")
        reply(tf)
        t.sendall(base64.b64encode(b"alice@example.com") + b"\r\n")
        reply(tf)
        t.sendall(base64.b64encode(b"wrong") + b"\r\n")
        r = reply(tf)
        check(r.startswith("535 5.7.8"), "a wrong password: 535 5.7.8", r)
        t.sendall(b"QUIT\r\n")
        reply(tf)
        t.close()
        check(peer.connections == 2 and peer.conns[1].reused is True, "the peer saw the second session resumed", peer.conns[1])
        check(peer.conns[1].auth == ("LOGIN", "alice@example.com", "wrong", False), "AUTH LOGIN decoded", peer.conns[1].commands)

        # stripping attacker, AUTH in clear, AUTH demanded
        strip = TlsPeer("strip", auth={"u": "p"}, auth_clear=True, require_auth=True)
        stop.append(strip.stop)
        c = smtplib.SMTP("127.0.0.1", strip.port, timeout=10)
        c.ehlo("x")
        check(not c.has_extn("starttls") and c.has_extn("auth"), "strip: no STARTTLS; auth_clear: AUTH offered in clear")
        code, _ = c.docmd("MAIL FROM:<a@b>")
        check(code == 530, "require_auth: 530 at MAIL", code)
        c.login("u", "p")
        check(strip.conns[0].auth_in_clear, "AUTH in clear recorded")
        c.quit()

        # implicit TLS
        imp = TlsPeer("implicit", *good)
        stop.append(imp.stop)
        ictx = ssl.create_default_context(cafile=ca.pem)
        ictx.check_hostname = False
        c = smtplib.SMTP_SSL("127.0.0.1", imp.port, timeout=10, context=ictx)
        c.sendmail("a@b", ["c@d"], b"x\r\n")
        c.quit()
        check(imp.conns[0].tls and len(imp.messages) == 1, "implicit TLS from the first byte", imp.conns[0])

        # a broken handshake
        br = TlsPeer("broken")
        stop.append(br.stop)
        c = smtplib.SMTP("127.0.0.1", br.port, timeout=10)
        c.ehlo("x")
        try:
            c.starttls(context=cctx)
            failed = False
        except (ssl.SSLError, OSError, smtplib.SMTPException):
            failed = True
        check(failed and br.conns[0].tls_error, "broken: the handshake fails after 220", br.conns[0])

        # each bad certificate fails verification on the client side
        for kind, why in (("expired", "expired"), ("selfsigned", "self-signed"), ("wrongname", "mismatch")):
            p = TlsPeer("starttls", *ca.cert(kind))
            stop.append(p.stop)
            c = smtplib.SMTP("127.0.0.1", p.port, timeout=10)
            c.ehlo("x")
            c.putcmd("STARTTLS")
            c.getreply()
            try:
                cctx.wrap_socket(c.sock, server_hostname="mx.tls.test")
                msg = ""
            except ssl.SSLCertVerificationError as e:
                msg = str(e)
            check(why in msg.lower() or why in msg, "%s certificate: verification fails (%s)" % (kind, msg[:80]))

        if os.geteuid() == 0 and shutil.which("postfix"):
            pf = PrivatePostfix(*good)
            stop.append(pf.stop)
            c = smtplib.SMTP("127.0.0.1", pf.port, timeout=10)
            c.ehlo("client.test")
            check(c.has_extn("starttls"), "Postfix offers STARTTLS")
            c.starttls(context=ictx)
            c.ehlo("client.test")
            c.sendmail("s@example.com", ["x@pf.tls.test"], b"Subject: pf\r\n\r\nvia postfix\r\n")
            c.quit()
            ok = False
            deadline = time.time() + 20
            while time.time() < deadline and not ok:
                ok = any(b"(using TLSv1.3 with cipher" in m for m in pf.messages())
                time.sleep(0.1)
            check(ok, "Postfix delivered it, its Received: says TLSv1.3", pf.log()[-2000:])
    finally:
        for s in stop:
            try:
                s()
            except Exception:
                pass
        ca.cleanup()
    print("tls peers: all checks passed")


if __name__ == "__main__":
    _selfcheck()
