"""Outbound TLS and SMTP AUTH in the remote channel: ferry-spawn-remote, driven through its
protocol, against the TLS peers of tests/helpers/tls_peers.py (a test CA's certificates, a
scripted peer that records what TLS it saw and every command, a private Postfix) with dnsmasq
naming the hosts (mx.tls.test, smtp.relay.test: 127.0.0.1). Each case is a group of checks;
a failed check is reported and the next case still runs; the test fails if any check failed."""

import os
import subprocess
import shutil
import sys

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
import ferrytest  # noqa: E402
from ferrytest import Cases, Home, Spawner, eventually, is_root  # noqa: E402
from smtp_peers import Dnsmasq  # noqa: E402
from tls_peers import PrivatePostfix, TestCA, TlsPeer, port_free  # noqa: E402

home = Home()
cases = Cases(home)
check, case, finish = cases.check, cases.case, cases.finish
stoppers = []
num = [0]
USER, PASSWORD = "alice@example.com", "s3cret pass"


def stopping(x):
    stoppers.append(x.stop)
    return x


def control(name, text, mode=0o644):
    home.control(name, text)
    os.chmod(os.path.join(home.path, "control", name), mode)


def route(*lines):
    control("smtproutes", "".join(l + "\n" for l in lines))


def policy(*lines):
    control("tlspolicy", "".join(l + "\n" for l in lines))


def deliver(sp, rcpts, sender="sender@example.com", timeout=30):
    num[0] += 1
    sp.deliver(num[0], mid, sender, rcpts)
    return sp.wait(num[0], timeout)


def wire(data):
    """the message as a peer gets it, unstuffed: CRLF line ends, a final CRLF"""
    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return data if data.endswith(b"\r\n") else data + b"\r\n"


try:
    home.settings(timeoutconnect=3, timeoutgreeting=3, timeoutcommand=5, timeoutdata=5, deadhosttime=60, connectioncache=5)
    body = b"Subject: over TLS\n\nline one\n.starts with a dot\nlast line\n"
    mid = home.inject(body, "sender@example.com", ["a@tls.test"])
    stored = home.mess(mid)
    ca = TestCA(os.path.join(home.tmp, "ca"))
    good = ca.cert("good")
    dns = stopping(Dnsmasq(["--host-record=mx.tls.test,127.0.0.1", "--host-record=smtp.relay.test,127.0.0.1"]))
    home.settings(dnsservers="127.0.0.1:%d" % dns.port, tlscafile=ca.pem)

    def tls13():
        peer = stopping(TlsPeer("starttls", *good))
        route("tls13.test:mx.tls.test:%d" % peer.port)
        policy("* may")
        sp = Spawner(home, "ferry-spawn-remote")
        res = deliver(sp, ["a@tls13.test"])
        c = peer.conns[0] if peer.conns else None
        check(res[0][0] == "K", "may, STARTTLS offered: delivered", res)
        check(c is not None and c.tls and c.version == "TLSv1.3", "the peer saw STARTTLS and TLS 1.3", c)
        check("over TLSv1.3" in res[0][1], "the answer says over TLSv1.3", res[0][1])
        check(c is not None and c.cipher and c.cipher in res[0][1], "and names the cipher the peer saw", (c and c.cipher, res[0][1]))
        check("mx.tls.test[127.0.0.1]:%d over TLSv1.3 (" % peer.port in res[0][1], "the host part: NAME[IP]:PORT over TLSv1.3 (CIPHER, ...)", res[0][1])
        check(c is not None and "STARTTLS" in c.verbs() and c.verbs().count("EHLO") == 2, "EHLO, STARTTLS, EHLO again", c and c.commands)
        check(c is not None and c.after_starttls == b"", "nothing pipelined after STARTTLS", c and c.after_starttls)
        check(peer.messages and peer.messages[0][2] == wire(stored), "the peer got the queued message whole",
              peer.messages[:1])
        finish(sp)
    case("TLS 1.3 under may", tls13)

    def verify_good():
        peer = stopping(TlsPeer("starttls", *good))
        route("vgood.test:mx.tls.test:%d" % peer.port)
        policy("* may", "vgood.test verify")
        sp = Spawner(home, "ferry-spawn-remote")
        res = deliver(sp, ["a@vgood.test"])
        check(res[0][0] == "K", "verify (per domain), a chain to control/tlscafile: delivered", res)
        check("certificate verified" in res[0][1] and "not verified" not in res[0][1], "the answer says certificate verified", res[0][1])
        finish(sp)
    case("verify, a good chain", verify_good)

    def injection():
        # the 220 to STARTTLS comes with a plain-text EHLO reply that offers AUTH: taken as said
        # inside TLS, it would answer ferry's second EHLO and skip the real one
        peer = stopping(TlsPeer("starttls", *good, inject=b"250-mx.tls.test\r\n250 AUTH PLAIN\r\n"))
        route("inject.test:mx.tls.test:%d" % peer.port)
        policy("* may")
        sp = Spawner(home, "ferry-spawn-remote")
        res = deliver(sp, ["a@inject.test"])
        check(res[0][0] == "K" and "over TLSv1.3" in res[0][1], "plain text after the 220 to STARTTLS: delivered over TLS", res)
        c = peer.conns[0] if peer.conns else None
        check(c is not None and c.verbs()[:4] == ["EHLO", "STARTTLS", "EHLO", "MAIL"],
              "the injected reply was dropped: EHLO again inside TLS, its own reply awaited", c.commands if c else None)
        finish(sp)
    case("a reply injected after the 220 to STARTTLS", injection)

    def verify_system_store():
        # control/tlscafile empty: the system's store, a directory of hashed names read when a chain
        # needs it (SSL_CERT_DIR names it here: a directory holding only the test CA)
        store = os.path.join(home.tmp, "certs")
        os.makedirs(store, exist_ok=True)
        shutil.copy(ca.pem, os.path.join(store, "testca.pem"))
        rehash = subprocess.run(["openssl", "rehash", store], capture_output=True)
        check(rehash.returncode == 0, "openssl rehash made the store", rehash.stderr)
        peer = stopping(TlsPeer("starttls", *good))
        route("vstore.test:mx.tls.test:%d" % peer.port)
        policy("* may", "vstore.test verify")
        home.settings(tlscafile="")
        os.environ["SSL_CERT_DIR"] = store
        try:
            sp = Spawner(home, "ferry-spawn-remote")
        finally:
            del os.environ["SSL_CERT_DIR"]
        res = deliver(sp, ["a@vstore.test"])
        check(res[0][0] == "K" and "certificate verified" in res[0][1], "verify against the system's store (a hashed directory): delivered, verified", res)
        finish(sp)
        os.environ["SSL_CERT_DIR"] = os.path.join(home.tmp, "empty-store")
        try:
            sp = Spawner(home, "ferry-spawn-remote")
        finally:
            del os.environ["SSL_CERT_DIR"]
        res = deliver(sp, ["b@vstore.test"])
        check(res[0][0] in ("Z", "H") and "the certificate did not verify (control/tlspolicy: verify)" in res[0][1],
              "a store without the CA (a directory that does not exist): deferred, not verified", res)
        finish(sp)
        home.settings(tlscafile=ca.pem)
    case("verify against the system's store", verify_system_store)

    for kind, reason in (("expired", "certificate has expired"), ("selfsigned", "self-signed certificate"), ("wrongname", "hostname mismatch")):
        def bad_cert(kind=kind, reason=reason):
            cert = ca.cert(kind)
            peer = stopping(TlsPeer("starttls", *cert))
            route("bad.test:mx.tls.test:%d" % peer.port)
            policy("* verify")
            sp = Spawner(home, "ferry-spawn-remote")
            res = deliver(sp, ["a@bad.test"])
            check(res[0][0] in ("Z", "H"), "%s certificate under * verify: deferred (Z, or H: no host of the destination took it)" % kind, res)
            want = "host mx.tls.test[127.0.0.1]:%d over TLSv1.3 (" % peer.port
            want2 = "): the certificate did not verify (control/tlspolicy: verify): "
            check(want in res[0][1] and want2 in res[0][1] and reason in res[0][1].lower(), "the text: %s...%s...%s" % (want, want2, reason), res[0][1])
            check(peer.no_mail(), "the peer saw no MAIL", [c.commands for c in peer.conns])
            finish(sp)
            policy("* may")
            sp = Spawner(home, "ferry-spawn-remote")
            before = len(peer.conns)
            res = deliver(sp, ["b@bad.test"])
            check(res[0][0] == "K" and "over TLSv1.3" in res[0][1], "the same %s certificate under may: delivered over TLS" % kind, res)
            check(len(peer.conns) > before and peer.conns[-1].tls and len(peer.messages) == 1, "the peer got it over TLS", peer.conns[before:])
            check("not verified" in res[0][1], "the answer says certificate not verified", res[0][1])
            finish(sp)
        case("a %s certificate" % kind, bad_cert)

    def secure():
        peer = stopping(TlsPeer("starttls", *good))
        route("secure.test:mx.tls.test:%d" % peer.port)
        policy("* may", "[mx.tls.test] secure match=.tls.test")
        sp = Spawner(home, "ferry-spawn-remote")
        res = deliver(sp, ["a@secure.test"])
        check(res[0][0] == "K" and "certificate verified" in res[0][1], "[routehost] secure match=.tls.test, the good certificate: delivered, verified", res)
        finish(sp)
        policy("* may", "[mx.tls.test] secure match=other.test")
        sp = Spawner(home, "ferry-spawn-remote")
        before = len(peer.messages)
        res = deliver(sp, ["b@secure.test"])
        check(res[0][0] in ("Z", "H") and "the certificate did not verify (control/tlspolicy: secure)" in res[0][1],
              "secure match=other.test: Z, the certificate did not verify", res)
        check(len(peer.messages) == before, "and the peer got nothing", peer.messages[before:])
        finish(sp)
    case("secure with match= on a route's host", secure)

    def stripped():
        peer = stopping(TlsPeer("strip"))
        route("strip.test:mx.tls.test:%d" % peer.port)
        policy("* may", "strip.test encrypt")
        sp = Spawner(home, "ferry-spawn-remote")
        res = deliver(sp, ["a@strip.test"])
        check(res[0][0] in ("Z", "H"), "STARTTLS stripped under encrypt: deferred", res)
        want = "host mx.tls.test[127.0.0.1]:%d: TLS is required (control/tlspolicy: encrypt) but the host does not offer STARTTLS" % peer.port
        check(want in res[0][1], "the text: " + want, res[0][1])
        check(peer.connections >= 1 and peer.no_mail(), "the peer saw no MAIL", [c.commands for c in peer.conns])
        finish(sp)
    case("STARTTLS stripped under encrypt", stripped)

    def broken():
        peer = stopping(TlsPeer("broken"))
        route("broken.test:mx.tls.test:%d" % peer.port)
        policy("* may")
        home.settings(connectioncache=0, tlsbrokentime=3600)
        sp = Spawner(home, "ferry-spawn-remote")
        res = deliver(sp, ["a@broken.test"])
        check(res[0][0] == "K", "a broken handshake under may: delivered", res)
        check(peer.connections == 2, "on a second connection", peer.conns)
        if peer.connections >= 2:
            c1, c2 = peer.conns[0], peer.conns[1]
            check("STARTTLS" in c1.verbs() and c1.tls_error, "the first tried STARTTLS and its handshake failed", c1)
            check("STARTTLS" not in c2.verbs() and not c2.tls and len(c2.messages) == 1, "the second: plain, no STARTTLS, the message", c2)
        check("over TLS" not in res[0][1] and "mx.tls.test[127.0.0.1]:%d without TLS (opportunistic) said: " % peer.port in res[0][1], "the answer names a plain connection", res[0][1])
        res = deliver(sp, ["b@broken.test"])
        check(res[0][0] == "K" and peer.connections == 3, "the next delivery to that host (within tlsbrokentime): delivered, one connection", (res, peer.conns))
        if peer.connections >= 3:
            check("STARTTLS" not in peer.conns[2].verbs(), "without trying STARTTLS", peer.conns[2].commands)
        finish(sp)
        home.settings(connectioncache=5)
    case("a broken handshake under may", broken)

    def implicit():
        if not port_free(465):
            print("skip - port 465 on 127.0.0.1 is taken (or needs root): no implicit TLS case", flush=True)
            return
        peer = stopping(TlsPeer("implicit", *good, port=465))
        route("imp.test:mx.tls.test:465")
        policy("* may", "imp.test none")
        sp = Spawner(home, "ferry-spawn-remote")
        res = deliver(sp, ["a@imp.test"])
        c = peer.conns[0] if peer.conns else None
        check(res[0][0] == "K", "a route to port 465 (level none): delivered", res)
        check(c is not None and c.tls and c.version == "TLSv1.3" and "STARTTLS" not in c.verbs(), "TLS from the first byte, no STARTTLS", c)
        check("mx.tls.test[127.0.0.1]:465 over TLSv1.3" in res[0][1], "the answer says over TLSv1.3", res[0][1])
        finish(sp)
    case("implicit TLS on port 465", implicit)

    def auth_ok():
        for mechs in (("PLAIN", "LOGIN"), ("LOGIN",)):
            peer = stopping(TlsPeer("starttls", *good, auth={USER: PASSWORD}, mechs=mechs, require_auth=True, name="smtp.relay.test"))
            route("relay.test:smtp.relay.test:%d" % peer.port)
            policy("* may")
            control("smtpauth", "# host user password\nsmtp.relay.test %s %s\n" % (USER, PASSWORD), 0o600)
            sp = Spawner(home, "ferry-spawn-remote")
            res = deliver(sp, ["a@relay.test"])
            want = "PLAIN" if "PLAIN" in mechs else "LOGIN"
            c = peer.conns[0] if peer.conns else None
            check(res[0][0] == "K", "AUTH %s offered (%s): delivered" % (want, " ".join(mechs)), res)
            check(c is not None and c.auth == (want, USER, PASSWORD, True), "the peer saw AUTH %s with the right user and password" % want, c and c.auth)
            check(c is not None and not c.auth_in_clear and c.tls, "inside TLS only", c)
            finish(sp)
    case("AUTH PLAIN and LOGIN", auth_ok)

    def auth_535():
        peer = stopping(TlsPeer("starttls", *good, auth={USER: "another"}, require_auth=True, name="smtp.relay.test"))
        route("relay.test:smtp.relay.test:%d" % peer.port)
        control("smtpauth", "smtp.relay.test %s %s\n" % (USER, PASSWORD), 0o600)
        sp = Spawner(home, "ferry-spawn-remote")
        res = deliver(sp, ["a@relay.test"])
        check(res[0][0] in ("Z", "H") and "535" in res[0][1] and "in reply to AUTH" in res[0][1], "wrong credentials, 535: deferred, quoting the 535 in reply to AUTH", res)
        check(peer.no_mail(), "no MAIL after the 535", [c.commands for c in peer.conns])
        finish(sp)
    case("AUTH refused with 535", auth_535)

    def auth_clear():
        peer = stopping(TlsPeer("strip", auth={USER: PASSWORD}, auth_clear=True, require_auth=True, name="smtp.relay.test"))
        route("relay.test:smtp.relay.test:%d" % peer.port)
        policy("* may")
        control("smtpauth", "smtp.relay.test %s %s\n" % (USER, PASSWORD), 0o600)
        sp = Spawner(home, "ferry-spawn-remote")
        res = deliver(sp, ["a@relay.test"])
        check(not any(c.auth_in_clear or "AUTH" in c.verbs() for c in peer.conns), "a peer offering AUTH without STARTTLS got no AUTH",
              [c.commands for c in peer.conns])
        check(res[0][0] in ("Z", "H"), "deferred", res)
        check("credentials for smtp.relay.test (control/smtpauth) are sent only over TLS, and the host does not offer STARTTLS" in res[0][1], "the text says why", res[0][1])
        check(peer.no_mail(), "and no MAIL", [c.commands for c in peer.conns])
        finish(sp)
    case("never AUTH outside TLS", auth_clear)

    def auth_530():
        peer = stopping(TlsPeer("starttls", *good, auth={USER: PASSWORD}, require_auth=True))
        route("needauth.test:mx.tls.test:%d" % peer.port)
        control("smtpauth", "smtp.relay.test %s %s\n" % (USER, PASSWORD), 0o600)
        sp = Spawner(home, "ferry-spawn-remote")
        res = deliver(sp, ["a@needauth.test"])
        check(res[0][0] == "H" and "530" in res[0][1] and res[0][1].endswith("; control/smtpauth has no credentials for this route"),
              "530 at MAIL, no credentials for the route: H, saying so", res)
        check(not any("AUTH" in c.verbs() for c in peer.conns), "no AUTH sent", [c.commands for c in peer.conns])
        finish(sp)
    case("AUTH demanded, no credentials", auth_530)

    def auth_perms():
        peer = stopping(TlsPeer("starttls", *good, auth={USER: PASSWORD}, name="smtp.relay.test"))
        route("relay.test:smtp.relay.test:%d" % peer.port)
        control("smtpauth", "smtp.relay.test %s %s\n" % (USER, PASSWORD), 0o644)
        want = "control/smtpauth is readable by others: chmod 640 (owner root, group of the remote channel) or 600"
        sp = Spawner(home, "ferry-spawn-remote")
        num[0] += 1
        ended, ans = sp.try_deliver(num[0], mid, "sender@example.com", ["a@relay.test"])
        said = sp.logtext()[sp.logstart:] + repr(ans)
        check(ended and want in said, "control/smtpauth mode 644: refused with the spec's error", (sp.p.poll(), said[-600:]))
        if not ans:
            eventually(lambda: sp.p.poll() is not None, 15)
        check(sp.p.poll() not in (None, 0) or (ans and ans[0][0] != "K"), "and nothing delivered (the channel stopped, or the delivery failed)", (sp.p.poll(), ans))
        check(not any(c.auth for c in peer.conns) and not peer.messages, "the peer got neither AUTH nor a message", [c.commands for c in peer.conns])
        control("smtpauth", "", 0o600)
    case("control/smtpauth readable by others", auth_perms)

    def reuse():
        peer = stopping(TlsPeer("starttls", *good))
        route("many.test:mx.tls.test:%d" % peer.port)
        policy("* may")
        home.settings(connectioncache=5)
        sp = Spawner(home, "ferry-spawn-remote")
        res = [deliver(sp, ["m%d@many.test" % i]) for i in range(20)]
        check(all(r[0][0] == "K" and "over TLSv1.3" in r[0][1] for r in res), "20 deliveries one after another: all K over TLS 1.3", res[:3])
        c = peer.conns[0] if peer.conns else None
        check(peer.connections == 1 and c.tls and len(c.messages) == 20, "one TLS connection carried the 20 messages",
              [(x.tls, len(x.messages)) for x in peer.conns])
        seq = [v for v in (c.verbs() if c else []) if v in ("MAIL", "RSET")]
        check(seq and seq[0] == "MAIL" and all(seq[i - 1] == "RSET" for i in range(1, len(seq)) if seq[i] == "MAIL"),
              "each message after the first after RSET", seq)
        finish(sp)
    case("many messages on one TLS connection", reuse)

    def reuse_names():
        # two domains whose MX is the same machine under two names: under verify the idle
        # connection, whose certificate was checked against the first name, is not given to the
        # second; under may it is
        peer = stopping(TlsPeer("starttls", *good))
        route("one.test:mx.tls.test:%d" % peer.port, "two.test:smtp.relay.test:%d" % peer.port)
        home.settings(connectioncache=5)
        for level, want in (("verify", 2), ("may", 1)):
            policy("* " + level)
            before = peer.connections
            sp = Spawner(home, "ferry-spawn-remote")
            res = [deliver(sp, ["a@one.test"]), deliver(sp, ["b@two.test"])]
            check(all(r[0][0] == "K" for r in res), "%s: both delivered" % level, res)
            check(peer.connections - before == want, "%s: %d connection(s) for the two names" % (level, want), peer.connections - before)
            finish(sp)
    case("an idle connection under verify only for the name it was checked against", reuse_names)

    def resume():
        peer = stopping(TlsPeer("starttls", *good))
        route("resume.test:mx.tls.test:%d" % peer.port)
        policy("* may")
        home.settings(connectioncache=0)
        sp = Spawner(home, "ferry-spawn-remote")
        res = [deliver(sp, ["r%d@resume.test" % i]) for i in range(3)]
        check(all(r[0][0] == "K" and "over TLSv1.3" in r[0][1] for r in res), "3 deliveries with connectioncache 0: all K over TLS 1.3", res)
        check(peer.connections == 3, "three connections", peer.connections)
        check([c.reused for c in peer.conns] == [False, True, True], "the first a full handshake, the next two resume its session",
              [(c.tls, c.reused) for c in peer.conns])
        finish(sp)
        home.settings(connectioncache=5)
    case("a reconnection resumes the TLS session", resume)

    def resume_policy():
        # a session verified under one policy (may: the host's name) must not stand for a
        # stricter one: a domain under secure with names the certificate lacks, on the same host
        peer = stopping(TlsPeer("starttls", *good))
        route("loose.test:mx.tls.test:%d" % peer.port, "strict.test:mx.tls.test:%d" % peer.port)
        policy("* may", "strict.test secure match=other.test")
        home.settings(connectioncache=0)
        sp = Spawner(home, "ferry-spawn-remote")
        first = deliver(sp, ["a@loose.test"])
        check(first[0][0] == "K" and "certificate verified" in first[0][1], "may: delivered, the certificate verified for the host's name", first)
        before = len(peer.messages)
        strict = deliver(sp, ["b@strict.test"])
        check(strict[0][0] in ("Z", "H") and "the certificate did not verify (control/tlspolicy: secure)" in strict[0][1],
              "secure on the same host right after: deferred, the cached session did not stand for it", strict)
        check(len(peer.messages) == before, "and the peer got nothing", peer.messages[before:])
        check(len(peer.conns) >= 2 and not peer.conns[1].reused, "the secure connection made a full handshake", [(c.tls, c.reused) for c in peer.conns])
        again = deliver(sp, ["c@loose.test"])
        check(again[0][0] == "K" and "session resumed" in again[0][1], "may again: the session of the may delivery resumed", again)
        finish(sp)
        home.settings(connectioncache=5)
    case("a session resumed only under the policy it was verified under", resume_policy)

    def postfix():
        if not is_root() or not os.path.exists("/usr/sbin/postfix"):
            print("skip - a private Postfix needs root and Debian's postfix", flush=True)
            return
        pf = stopping(PrivatePostfix(*good, domain="pf.tls.test", dir=os.path.join(home.tmp, "postfix")))
        route("pf.tls.test:mx.tls.test:%d" % pf.port)
        policy("* may", "pf.tls.test verify")
        sp = Spawner(home, "ferry-spawn-remote")
        res = deliver(sp, ["x@pf.tls.test"])
        check(res[0][0] == "K" and "over TLSv1.3" in res[0][1] and "certificate verified" in res[0][1],
              "Postfix's smtpd: delivered over TLS 1.3, certificate verified", res)
        check(eventually(lambda: len(pf.messages()) == 1, 20), "Postfix delivered it into its Maildir", pf.log()[-1500:])
        msgs = pf.messages()
        check(msgs and b"(using TLSv1.3 with cipher" in msgs[0], "its Received: says TLSv1.3", msgs[0][:600] if msgs else None)
        check(eventually(lambda: "TLS connection established from" in pf.log() and "TLSv1.3" in pf.log(), 10),
              "its log: TLS connection established, TLSv1.3", pf.log()[-1500:])
        finish(sp)
    case("a private Postfix smtpd with STARTTLS", postfix)
finally:
    ferrytest.stop_all(stoppers)
    home.cleanup()

cases.end()
