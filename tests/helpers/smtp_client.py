"""A raw SMTP client for the tests of ferry-smtpd: bytes out, whole replies in, exactly as sent
(no smtplib between the test and the server), TLS when asked.

    c = SmtpClient(port)                  127.0.0.1, or addr= (an IPv6 address too), src= to bind
    c.send(b"MAIL FROM:<a@b>\\r\\n")        any bytes, in one write
    c.lines()                             one whole reply: its lines, CR LF removed; None at end
                                          of input (a reset or a TLS error counts as the end)
    c.tls(ctx, "localhost")               STARTTLS's handshake over the same connection
    c.closed(timeout)                     the server closes the connection within timeout (what it
                                          still sends is kept for lines())"""

import socket
import ssl


class SmtpClient:
    def __init__(self, port, addr="127.0.0.1", src=None, timeout=30):
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        self.s = socket.socket(fam, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        try:
            if src:
                self.s.bind((src, 0))
            self.s.connect((addr, port))
        except OSError:
            self.s.close()
            raise
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def lines(self):
        out = []
        while True:
            while b"\n" not in self.buf:
                try:
                    d = self.s.recv(65536)
                except (ConnectionResetError, ssl.SSLError):
                    d = b""
                if not d:
                    return out or None
                self.buf += d
            i = self.buf.index(b"\n") + 1
            ln, self.buf = self.buf[:i].decode("utf-8", "replace").rstrip("\r\n"), self.buf[i:]
            out.append(ln)
            if len(ln) < 4 or ln[3] != "-":
                return out

    def tls(self, ctx, name):
        self.s = ctx.wrap_socket(self.s, server_hostname=name)
        return self.s

    def closed(self, timeout=30):
        self.s.settimeout(timeout)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
        except socket.timeout:
            return False
        except (OSError, ssl.SSLError):
            return True

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def code_of(lines):
    """a reply's code, None at end of input or for a line that has none"""
    return int(lines[-1][:3]) if lines and lines[-1][:3].isdigit() else None
