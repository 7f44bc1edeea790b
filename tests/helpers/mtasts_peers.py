"""An MTA-STS policy server for the tests, on loopback: MtaStsServer serves
https://mta-sts.DOMAIN/.well-known/mta-sts.txt over TLS with a certificate of the TestCA of
tls_peers.py, in a thread per connection, and can misbehave on purpose (mode):
  ok         200, Content-Type text/plain, the policy text
  big        200, text/plain, a body over 64 KiB (the policy, then comment-like padding lines)
  slow       200, text/plain, a Content-Length, then the body a byte a second, until stop()
  404        404 Not Found
  redirect   301 to another URL on the same server (/.well-known/elsewhere.txt, which serves the policy)
  wrongtype  200 with the policy as Content-Type text/html
  unframed   200, text/plain, no Content-Length: the body ends at the close, which TLS vouches for (close_notify)
  cut        the same, but the connection closed without close_notify (as a man in the middle cuts it)
Attributes: port, requests (the number of requests received), paths and hosts (the path and
Host header of each), set_policy(text), set_mode(mode), stop(). Run with /usr/bin/python3;
`python3 mtasts_peers.py` checks the server with Python's own HTTPS client."""

import os
import socket
import ssl
import threading

from tls_peers import TestCA, server_context

POLICY_PATH = "/.well-known/mta-sts.txt"
OTHER_PATH = "/.well-known/elsewhere.txt"
MODES = ("ok", "big", "slow", "404", "redirect", "wrongtype", "unframed", "cut")


class MtaStsServer:
    def __init__(self, ca, domain, policy_text, mode="ok", port=None, names=None):
        """names: the certificate's names instead of mta-sts.DOMAIN (a wrong certificate)"""
        if mode not in MODES:
            raise ValueError("unknown mode " + mode)
        self.domain = domain
        self.mode = mode
        self.policy = policy_text.encode() if isinstance(policy_text, str) else policy_text
        self.lock = threading.Lock()
        self.requests = 0
        self.paths = []
        self.hosts = []
        self.stopping = threading.Event()
        certfile, keyfile = ca.cert("good", names=list(names or ["mta-sts." + domain]))
        self.ctx = server_context(certfile, keyfile)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port or 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(16)
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def set_policy(self, text):
        with self.lock:
            self.policy = text.encode() if isinstance(text, str) else text

    def set_mode(self, mode):
        if mode not in MODES:
            raise ValueError("unknown mode " + mode)
        with self.lock:
            self.mode = mode

    def stop(self):
        """stops accepting and ends every connection (a slow one included), boundedly"""
        self.stopping.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)
        for t in list(self.conns):
            t.join(5)

    def _accept(self):
        while not self.stopping.is_set():
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(s,), daemon=True)
            self.conns.append(t)
            t.start()

    def _serve(self, s):
        s.settimeout(10)
        try:
            t = self.ctx.wrap_socket(s, server_side=True)
        except (ssl.SSLError, OSError):
            s.close()
            return
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                data = t.recv(4096)
                if not data:
                    return
                head += data
            lines = head.split(b"\r\n")
            parts = lines[0].decode("latin-1").split(" ")
            path = parts[1] if len(parts) > 1 else ""
            host = ""
            for ln in lines[1:]:
                if ln.lower().startswith(b"host:"):
                    host = ln[5:].strip().decode("latin-1")
            with self.lock:
                self.requests += 1
                self.paths.append(path)
                self.hosts.append(host)
                mode, policy = self.mode, self.policy
            self._answer(t, mode, policy, path)
        except (ssl.SSLError, OSError):
            pass
        finally:
            try:
                t.close()
            except OSError:
                pass

    def _answer(self, t, mode, policy, path):
        def send(status, ctype, body, length=None):
            hdr = "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (
                status, ctype, len(body) if length is None else length)
            t.sendall(hdr.encode() + body)

        if path not in (POLICY_PATH, OTHER_PATH):
            send("404 Not Found", "text/plain", b"no such file\n")
        elif path == OTHER_PATH or mode == "ok":
            send("200 OK", "text/plain", policy)
        elif mode == "big":
            pad = b"".join(b"x-padding-%06d: %s\n" % (i, b"p" * 50) for i in range(1000))
            send("200 OK", "text/plain", policy + pad)
        elif mode == "slow":
            send("200 OK", "text/plain", b"", length=len(policy) + 100000)
            for i in range(len(policy) + 100000):
                if self.stopping.wait(1):
                    return
                t.sendall(policy[i:i + 1] if i < len(policy) else b"#")
        elif mode == "404":
            send("404 Not Found", "text/plain", b"no policy here\n")
        elif mode == "redirect":
            loc = "https://mta-sts.%s:%d%s" % (self.domain, self.port, OTHER_PATH)
            hdr = "HTTP/1.1 301 Moved Permanently\r\nLocation: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" % loc
            t.sendall(hdr.encode())
        elif mode == "wrongtype":
            send("200 OK", "text/html", policy)
        elif mode in ("unframed", "cut"):
            t.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n" + policy)
            if mode == "unframed":
                t.unwrap()        # close_notify, then the close
            else:
                t.shutdown(socket.SHUT_RDWR)   # TCP's close alone


def _selfcheck():
    import http.client
    import time

    def check(cond, what, detail=""):
        if not cond:
            raise SystemExit("FAILED: %s %s" % (what, detail))
        print("ok - " + what, flush=True)

    ca = TestCA()
    policy = "version: STSv1\nmode: enforce\nmx: mx.peer.test\nmax_age: 86400\n"
    srv = MtaStsServer(ca, "peer.test", policy)
    try:
        cctx = ssl.create_default_context(cafile=ca.pem)

        def get(path=POLICY_PATH):
            # the certificate is checked for mta-sts.peer.test while connecting to 127.0.0.1
            raw = socket.create_connection(("127.0.0.1", srv.port), 10)
            c = http.client.HTTPConnection("mta-sts.peer.test", srv.port, timeout=10)
            c.sock = cctx.wrap_socket(raw, server_hostname="mta-sts.peer.test")
            c.request("GET", path)
            r = c.getresponse()
            return r, r.read() if srv.mode != "slow" else b""

        r, body = get()
        check(r.status == 200 and r.getheader("Content-Type") == "text/plain" and body == policy.encode(), "ok: the policy, text/plain", (r.status, body))
        check(srv.requests == 1 and srv.paths == [POLICY_PATH] and srv.hosts == ["mta-sts.peer.test:%d" % srv.port], "one request recorded", (srv.paths, srv.hosts))
        srv.set_mode("big")
        r, body = get()
        check(r.status == 200 and len(body) > 65536 and body.startswith(policy.encode()), "big: over 64 KiB", len(body))
        srv.set_mode("404")
        r, body = get()
        check(r.status == 404, "404", r.status)
        srv.set_mode("redirect")
        r, body = get()
        check(r.status == 301 and r.getheader("Location").endswith(OTHER_PATH), "redirect: 301 elsewhere", r.getheader("Location"))
        srv.set_mode("wrongtype")
        r, body = get()
        check(r.getheader("Content-Type") == "text/html", "wrongtype: text/html")
        srv.set_mode("slow")
        start = time.time()
        r, _ = get()
        got = r.read(1)
        check(r.status == 200 and got == policy.encode()[:1] and time.time() - start >= 0.5, "slow: the first byte after a wait")
        srv.set_policy("version: STSv1\nmode: none\nmax_age: 1\n")
        srv.set_mode("ok")
        r, body = get()
        check(body.endswith(b"mode: none\nmax_age: 1\n"), "set_policy")
    finally:
        srv.stop()
        ca.cleanup()
    print("mtasts peers: all checks passed")


if __name__ == "__main__":
    _selfcheck()
