"""DANE in the remote channel (RFC 7672): ferry-spawn-remote, driven through its protocol, with
control/dnssecservers naming a private validating unbound in front of a private nsd
(tests/helpers/dnssec_peers.py) that serves signed, unsigned and bogus zones, and the TLS peers
of tests/helpers/tls_peers.py as the MX hosts. Every MX host is 127.0.0.1 and control/smtpport is
the one port the peers take in turn, so the TLSA records are at _PORT._tcp.HOST. Each case is a
group of checks; a failed check is reported and the next case still runs; the test fails if any
check failed. Without nsd, unbound or ldns-signzone the test is skipped."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
import ferrytest  # noqa: E402
from ferrytest import Cases, Home, Spawner, body_facts, request  # noqa: E402
from dnssec_peers import DnssecWorld, query, skip_unless_tools, tlsa_of  # noqa: E402
from smtp_peers import free_port  # noqa: E402
from tls_peers import TestCA, TlsPeer  # noqa: E402

skip_unless_tools()

home = Home()
cases = Cases(home)
check, case, finish = cases.check, cases.case, cases.finish
stoppers = []
num = [0]
peer_now = [None]


def lines(name, *text):
    home.control(name, "".join(l + "\n" for l in text))


def deliver(sp, rcpts, timeout=30):
    num[0] += 1
    sp.deliver(num[0], mid, "sender@example.com", rcpts)
    return sp.wait(num[0], timeout)


def deferred(res):
    return res[0][0] in ("Z", "H")


def serve(mode="starttls", cert=(), **kw):
    """the peer of the next case on the port of control/smtpport (the last one stopped first)"""
    if peer_now[0]:
        peer_now[0].stop()
        peer_now[0] = None
    peer_now[0] = TlsPeer(mode, *cert, port=PORT, **kw)
    return peer_now[0]


def stop_peer():
    if peer_now[0]:
        peer_now[0].stop()
        peer_now[0] = None


def one(domain, peer, timeout=30):
    """a new spawner, one delivery to a@DOMAIN, the spawner finished; the answer"""
    sp = Spawner(home, "ferry-spawn-remote")
    res = deliver(sp, ["a@" + domain], timeout)
    print("  %s: %r" % (domain, res), flush=True)
    finish(sp)
    return res


def tlsa_name(host):
    return "_%d._tcp.%s" % (PORT, host)


def refusal(host):
    """the start of the text of a certificate refused under DANE (SPEC25)"""
    return "the certificate did not verify (dane: TLSA records of %s)" % tlsa_name(host)


try:
    home.settings(timeoutconnect=3, timeoutgreeting=3, timeoutcommand=5, timeoutdata=5, deadhosttime=0, connectioncache=5)
    mid = home.inject(b"Subject: DANE\n\nover TLS checked by DNSSEC\n", "sender@example.com", ["a@dane.test"])
    ca = TestCA(os.path.join(home.tmp, "ca"))
    PORT = free_port()

    def chain(cert):
        """the certificate followed by the CA's: a DANE-TA record names the CA, which the peer must send"""
        path = cert[0] + ".chain.pem"
        with open(path, "w") as f:
            f.write(open(cert[0]).read() + open(ca.pem).read())
        return path, cert[1]

    ee = ca.cert("selfsigned")                                 # DANE-EE: no PKIX, names that are not the MX host's
    old = ca.cert("expired")                                   # DANE-EE: no date check either
    other = ca.cert("good", names=("other.mismatch.test",))    # a key no peer presents
    ta = chain(ca.cert("good", names=("mx.ta.test",)))
    tadomain = chain(ca.cert("good", names=("tadomain.test",)))
    tawrong = chain(ca.cert("good", names=("mx.elsewhere.test",)))
    ca_201 = tlsa_of(ca.pem, 2, 0, 1)

    def mx(tlsa=()):
        return ["@ MX 10 mx", "mx A 127.0.0.1"] + ["%s TLSA %s" % (tlsa_name("mx"), t) for t in tlsa]

    world = DnssecWorld(os.path.join(home.tmp, "dns"))
    stoppers.append(world.stop)
    world.add_zone("dane.test", mx([tlsa_of(ee[0], 3, 1, 1)]))
    world.add_zone("eeold.test", mx([tlsa_of(old[0], 3, 1, 1)]))
    world.add_zone("mismatch.test", mx([tlsa_of(other[0], 3, 1, 1)]))
    world.add_zone("bogus.test", mx([tlsa_of(ee[0], 3, 1, 1)]), bogus="TLSA")
    world.add_zone("insecure.test", mx([tlsa_of(other[0], 3, 1, 1)]), signed=False)
    world.add_zone("crossmx.test", ["@ MX 10 mx.insecure.test."])     # a signed MX to a host in the insecure zone
    world.add_zone("ta.test", mx([ca_201]))
    world.add_zone("tadomain.test", mx([ca_201]))
    world.add_zone("tawrong.test", mx([ca_201]))
    world.add_zone("notls.test", mx([tlsa_of(ee[0], 3, 1, 1)]))
    world.add_zone("notlsa.test", mx())
    # usages 0 and 1 (PKIX, not for SMTP) and a DANE-EE SHA-256 digest of 20 bytes (malformed): none usable
    world.add_zone("unusable.test", mx(["1 1 1 " + tlsa_of(other[0], 3, 1, 1).split()[3], "0 0 1 " + ca_201.split()[3], "3 1 1 " + "ab" * 20]))
    # an MX host name so long that its TLSA name is longer than a DNS name may be
    LONG = ".".join(["h" * 57] * 4) + ".longmx.test"
    world.add_zone("longmx.test", ["@ MX 10 %s." % LONG, "%s. A 127.0.0.1" % LONG])
    world.start()
    home.settings(smtpport=PORT, dnssecservers=world.resolver)
    home.control("dnsservers", "")
    home.control("tlspolicy", "")
    home.control("tlscafile", "")      # no PKIX trust in the test CA: DANE-TA must come from DNS alone
    print("# the DNSSEC world: unbound %s, nsd %s, the peers on 127.0.0.1:%d" % (world.resolver, world.nsd, PORT), flush=True)

    def the_world():
        # what the cases below take for granted, asked of the unbound as the channel would ask it
        r = query(world.resolver, "dane.test", "MX")
        check(r.rcode == 0 and r.ad and r.records("MX"), "dane.test MX validates (AD)", r)
        r = query(world.resolver, tlsa_name("mx.dane.test"), "TLSA")
        check(r.rcode == 0 and r.ad and r.records("TLSA"), "its TLSA record validates (AD)", r)
        r = query(world.resolver, tlsa_name("mx.notlsa.test"), "TLSA")
        check(r.rcode == 3 and r.ad, "notlsa.test: no TLSA record, proven (NXDOMAIN with AD)", r)
        r = query(world.resolver, "mx.bogus.test", "A")
        check(r.rcode == 0 and r.ad, "bogus.test: the MX host's address validates", r)
        r = query(world.resolver, tlsa_name("mx.bogus.test"), "TLSA")
        check(r.rcode == 2, "bogus.test: its TLSA lookup fails (SERVFAIL)", r)
        r = query(world.resolver, tlsa_name("mx.insecure.test"), "TLSA")
        check(r.rcode == 0 and not r.ad and r.records("TLSA"), "insecure.test: a TLSA record, insecure (no AD)", r)
        r = query(world.resolver, "crossmx.test", "MX")
        r2 = query(world.resolver, "mx.insecure.test", "A")
        check(r.ad and r.records("MX") and r2.rcode == 0 and not r2.ad, "crossmx.test: its MX validates, its host's address does not", (r, r2))

        # OpenSSL's own DANE code (openssl s_client), given the TLSA records as the unbound
        # answers them, agrees with what each case expects of the peer it uses
        for domain, host, cert, good in (("dane.test", "mx.dane.test", ee, True), ("eeold.test", "mx.eeold.test", old, True),
                                         ("mismatch.test", "mx.mismatch.test", ee, False), ("ta.test", "mx.ta.test", ta, True),
                                         ("tadomain.test", "tadomain.test", tadomain, True), ("tawrong.test", "mx.tawrong.test", tawrong, False)):
            r = query(world.resolver, tlsa_name("mx." + domain), "TLSA")
            rrs = ["%d %d %d %s" % (t.rdata[0], t.rdata[1], t.rdata[2], t.rdata[3:].hex()) for t in r.records("TLSA")]
            serve(cert=cert)
            args = ["openssl", "s_client", "-starttls", "smtp", "-connect", "127.0.0.1:%d" % PORT, "-brief", "-verify_return_error",
                    "-dane_ee_no_namechecks", "-dane_tlsa_domain", host]
            for rr in rrs:
                args += ["-dane_tlsa_rrdata", rr]
            p = subprocess.run(args, input=b"", capture_output=True, timeout=30)
            out = (p.stdout + p.stderr).decode(errors="replace")
            verified = p.returncode == 0 and "Verification: OK" in out
            check(rrs and r.ad and verified == good, "openssl s_client, DANE for %s with the records of %s: %s" % (host, domain, "verified" if good else "refused"),
                  (rrs, out[-300:]))
        stop_peer()
    case("the DNSSEC world", the_world)

    def no_dnssec():
        # the same unbound as a plain resolver (control/dnsservers): no DANE, so the records of
        # mismatch.test, which no key of a peer matches, are not looked at
        peer = serve(cert=ee)
        home.control("dnssecservers", "")
        home.settings(dnsservers=world.resolver)
        since = world.log_size()
        try:
            res = one("mismatch.test", peer)
        finally:
            home.settings(dnssecservers=world.resolver)
            home.control("dnsservers", "")
        check(world.queries("mismatch.test", "MX", since) >= 1, "the channel asked the unbound (control/dnsservers) for the MX of mismatch.test",
              world.logs("unbound")[-800:])
        check(res[0][0] == "K" and "over TLSv1.3" in res[0][1] and "dane" not in res[0][1].lower(),
              "control/dnssecservers empty: mismatch.test delivered over TLS, no DANE", res)
        check("opportunistic" in res[0][1], "the text says opportunistic", res[0][1])
    case("no control/dnssecservers: no DANE", no_dnssec)

    def both_servers():
        home.settings(dnsservers=world.resolver)
        try:
            sp = Spawner(home, "ferry-spawn-remote")
            num[0] += 1
            ended, ans = sp.try_deliver(num[0], mid, "sender@example.com", ["a@dane.test"])
            if not ans:
                ferrytest.eventually(lambda: sp.p.poll() is not None, 15)
        finally:
            home.control("dnsservers", "")
        said = sp.logtext()[sp.logstart:]
        check(ended and not ans and sp.p.poll() not in (None, 0), "control/dnssecservers and dnsservers both set: the channel does not start", (sp.p.poll(), ans, said[-400:]))
        check("dnssecservers" in said and "dnsservers" in said.replace("dnssecservers", ""), "its error names both files", said[-400:])
    case("control/dnssecservers with control/dnsservers", both_servers)

    def dane_ee():
        peer = serve(cert=ee)
        res = one("dane.test", peer)
        check(res[0][0] == "K", "dane.test, TLSA 3 1 1 of the peer's key (a self-signed certificate for other names): delivered", res)
        check("host mx.dane.test[127.0.0.1]:%d over TLSv1.3 (" % PORT in res[0][1], "the text: host mx.dane.test[127.0.0.1]:PORT over TLSv1.3 (", res[0][1])
        check("dane: verified by DANE-EE" in res[0][1], "the text says dane: verified by DANE-EE", res[0][1])
        check(len(peer.messages) == 1 and peer.conns[0].tls, "the peer got the message over TLS", peer.conns)
    case("DANE-EE", dane_ee)

    def dane_ee_expired():
        peer = serve(cert=old)
        res = one("eeold.test", peer)
        check(res[0][0] == "K" and "dane: verified by DANE-EE" in res[0][1], "DANE-EE with an expired certificate: delivered, verified by DANE-EE (no date check)", res)
    case("DANE-EE, the certificate expired", dane_ee_expired)

    def mismatch():
        peer = serve(cert=ee)
        res = one("mismatch.test", peer)
        check(deferred(res), "mismatch.test, TLSA 3 1 1 of another key: deferred", res)
        check(refusal("mx.mismatch.test") in res[0][1], "the text: " + refusal("mx.mismatch.test"), res[0][1])
        check(peer.no_mail() and not peer.messages, "nothing delivered: the peer saw no MAIL", [c.commands for c in peer.conns])
    case("DANE-EE, the key does not match", mismatch)

    def bogus():
        peer = serve(cert=ee)
        res = one("bogus.test", peer)
        check(deferred(res), "bogus.test, its TLSA RRset bogus (SERVFAIL), MX and address validated: deferred", res)
        check("TLSA lookup" in res[0][1] and "failed" in res[0][1] and tlsa_name("mx.bogus.test") in res[0][1],
              "the text says the TLSA lookup of %s failed" % tlsa_name("mx.bogus.test"), res[0][1])
        check(peer.no_mail() and not peer.messages, "nothing delivered", [c.commands for c in peer.conns])
    case("a bogus TLSA RRset", bogus)

    def insecure():
        peer = serve(cert=ee)
        res = one("insecure.test", peer)
        check(res[0][0] == "K", "insecure.test (unsigned, a TLSA record of another key): delivered, the insecure record not used", res)
        check("opportunistic" in res[0][1] and "DANE" not in res[0][1] and "dane:" not in res[0][1], "the text says opportunistic, no DANE", res[0][1])
        check(len(peer.messages) == 1 and peer.conns[0].tls, "over TLS all the same (the level dane is may without TLSA)", peer.conns)
        res = one("crossmx.test", peer)
        check(res[0][0] == "K" and "opportunistic" in res[0][1],
              "crossmx.test, its MX validated, the MX host in insecure.test (its address not validated): delivered, opportunistic", res)
    case("an insecure zone's TLSA record", insecure)

    def dane_ta():
        peer = serve(cert=ta)
        res = one("ta.test", peer)
        check(res[0][0] == "K" and "dane: verified by DANE-TA" in res[0][1],
              "ta.test, TLSA 2 0 1 of the test CA, a certificate for mx.ta.test it signed: delivered, verified by DANE-TA", res)
        peer = serve(cert=tadomain)
        res = one("tadomain.test", peer)
        check(res[0][0] == "K" and "dane: verified by DANE-TA" in res[0][1],
              "tadomain.test, the certificate names the domain (not the MX host): delivered, verified by DANE-TA", res)
    case("DANE-TA", dane_ta)

    def dane_ta_name():
        peer = serve(cert=tawrong)
        res = one("tawrong.test", peer)
        check(deferred(res), "tawrong.test, TLSA 2 0 1 of the CA, a certificate of that CA for mx.elsewhere.test: deferred", res)
        check(refusal("mx.tawrong.test") in res[0][1], "the text: " + refusal("mx.tawrong.test"), res[0][1])
        check(peer.no_mail(), "the peer saw no MAIL", [c.commands for c in peer.conns])
    case("DANE-TA, the name does not match", dane_ta_name)

    def notls():
        peer = serve("strip")
        res = one("notls.test", peer)
        check(deferred(res), "notls.test, usable TLSA records, the peer does not offer STARTTLS: deferred", res)
        check("TLS is required (dane: TLSA records of %s) but the host does not offer STARTTLS" % tlsa_name("mx.notls.test") in res[0][1],
              "the text: TLS is required (dane: TLSA records of ...) but the host does not offer STARTTLS", res[0][1])
        check(peer.connections >= 1 and peer.no_mail(), "the peer saw no MAIL", [c.commands for c in peer.conns])
    case("STARTTLS stripped from a host with TLSA records", notls)

    def unusable():
        peer = serve(cert=ee)
        res = one("unusable.test", peer)
        check(res[0][0] == "K" and "over TLSv1.3" in res[0][1],
              "unusable.test, TLSA records of usage 0 and 1 only (unusable for SMTP): delivered over TLS, the certificate not checked", res)
        peer = serve("strip")
        res = one("unusable.test", peer)
        check(deferred(res) and "does not offer STARTTLS" in res[0][1], "the same without STARTTLS: deferred (TLS is required)", res)
        check(peer.no_mail(), "the peer saw no MAIL", [c.commands for c in peer.conns])
        lines("tlspolicy", "unusable.test dane-only")
        peer = serve(cert=ee)
        res = one("unusable.test", peer)
        check(deferred(res) and "dane-only" in res[0][1] and peer.no_mail(), "the same under dane-only: deferred, nothing sent", res)
        home.control("tlspolicy", "")
    case("TLSA records, none usable", unusable)

    def longmx():
        peer = serve(cert=ee)
        res = one("longmx.test", peer)
        check(res[0][0] == "K" and "opportunistic" in res[0][1],
              "a validated MX host whose TLSA name would be over 253 characters: no DANE, delivered, the channel alive", res)
    case("an MX host name too long for a TLSA name", longmx)

    def reread():
        # a lookup under way at the servers of before: asked again of the new ones, and answered
        import signal
        import socket
        hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        hole.bind(("127.0.0.1", 0))
        hole.settimeout(10)
        home.settings(dnssecservers="127.0.0.1:%d" % hole.getsockname()[1])
        peer = serve(cert=ee)
        sp = Spawner(home, "ferry-spawn-remote")
        num[0] += 1
        sp.deliver(num[0], mid, "sender@example.com", ["r@dane.test"])
        try:
            got = hole.recvfrom(4096)
        except socket.timeout:
            got = None
        check(got is not None, "the MX query went to the servers that never answer", got)
        home.settings(dnssecservers=world.resolver)
        sp.p.send_signal(signal.SIGHUP)
        res = sp.wait(num[0], 30)
        print("  dane.test: %r" % res, flush=True)
        check(res[0][0] == "K" and "dane: verified by DANE-EE" in res[0][1],
              "SIGHUP with other dnssecservers while the lookup waits: taken, the lookup made again, delivered by DANE", res)
        log = sp.logtext()
        finish(sp)
        check("settings read again" in log and "keeping the old settings" not in log, "the log: settings read again", log[-600:])
        hole.close()
    case("a reread with other servers while a lookup is under way", reread)

    def dane_only():
        peer = serve(cert=ee)
        res = one("notlsa.test", peer)
        check(res[0][0] == "K" and "opportunistic" in res[0][1], "notlsa.test (signed, no TLSA record), no line in control/tlspolicy: delivered, opportunistic", res)
        lines("tlspolicy", "notlsa.test dane-only")
        before = len(peer.messages)
        res = one("notlsa.test", peer)
        check(deferred(res), "the same under a line notlsa.test dane-only: deferred", res)
        check(len(peer.messages) == before, "nothing delivered", peer.messages[before:])
        lines("tlspolicy", "dane.test dane-only")
        res = one("dane.test", peer)
        check(res[0][0] == "K" and "dane: verified by DANE-EE" in res[0][1], "dane-only for dane.test (usable TLSA records): delivered, verified by DANE-EE", res)
        home.control("tlspolicy", "")
    case("dane-only", dane_only)

    def pkix():
        # a signed domain without TLSA records under verify: PKIX against control/tlscafile
        peer = serve(cert=ca.cert("good", names=("mx.notlsa.test",)))
        lines("tlspolicy", "notlsa.test verify")
        home.settings(tlscafile=ca.pem)
        try:
            res = one("notlsa.test", peer)
        finally:
            home.control("tlspolicy", "")
            home.control("tlscafile", "")
        check(res[0][0] == "K" and "pkix: certificate verified" in res[0][1],
              "notlsa.test verify, a certificate of the test CA (control/tlscafile) for mx.notlsa.test: delivered, pkix: certificate verified", res)
    case("verify for a signed domain without TLSA records", pkix)

    def level_none():
        peer = serve(cert=ee)
        lines("tlspolicy", "mismatch.test none")
        res = one("mismatch.test", peer)
        check(res[0][0] == "K" and "without TLS (none)" in res[0][1],
              "mismatch.test under none: delivered without TLS, its TLSA records not looked at", res)
        check(len(peer.messages) == 1 and not peer.conns[-1].tls, "the peer got it in plain text", peer.conns)
        home.control("tlspolicy", "")
    case("the level none", level_none)

    def routes():
        peer = serve(cert=ee)
        lines("smtproutes", "routed.test:mx.dane.test", "literal.test:[127.0.0.1]")
        res = one("routed.test", peer)
        check(res[0][0] == "K" and "dane: verified by DANE-EE" in res[0][1],
              "a route by name to mx.dane.test (its address validated, TLSA records): delivered, verified by DANE-EE", res)
        res = one("literal.test", peer)
        check(res[0][0] == "K" and "DANE" not in res[0][1] and "dane:" not in res[0][1],
              "a route to the address literal [127.0.0.1]: delivered, no DANE", res)
        home.control("smtproutes", "")
    case("routes: by name, and to an address", routes)

    def reuse():
        # two domains routed to one MX host: a connection verified by DANE-EE (no name checked)
        # carries the second domain's message too; under DANE-TA the destination domain is one of
        # the names checked, so the second domain gets a connection of its own
        def two(cert, host, first, second):
            peer = serve(cert=cert)
            lines("smtproutes", "%s:%s" % (first, host), "%s:%s" % (second, host))
            sp = Spawner(home, "ferry-spawn-remote")
            res = [deliver(sp, ["a@" + first]), deliver(sp, ["a@" + second])]
            print("  %s, %s: %r" % (first, second, res), flush=True)
            finish(sp)
            home.control("smtproutes", "")
            return peer, res
        peer, res = two(ee, "mx.dane.test", "ee1.test", "ee2.test")
        check(all(r[0][0] == "K" and "dane: verified by DANE-EE" in r[0][1] for r in res),
              "ee1.test then ee2.test, both routed to mx.dane.test: delivered, verified by DANE-EE", res)
        check(peer.connections == 1 and len(peer.messages) == 2,
              "one connection carried both messages (the second reused the idle one)", (peer.connections, len(peer.messages)))
        peer, res = two(ta, "mx.ta.test", "ta1.test", "ta2.test")
        check(all(r[0][0] == "K" and "dane: verified by DANE-TA" in r[0][1] for r in res),
              "ta1.test then ta2.test, both routed to mx.ta.test: delivered, verified by DANE-TA", res)
        check(peer.connections == 2 and len(peer.messages) == 2,
              "DANE-TA: a connection for each domain (its name is checked)", (peer.connections, len(peer.messages)))
    case("a connection verified by DANE-EE serves every domain of its host", reuse)

    def requiretls():
        # a message whose envelope asks for REQUIRETLS: the request's b field ends in T
        def rt(domain):
            sp = Spawner(home, "ferry-spawn-remote")
            num[0] += 1
            facts = body_facts(home.mess(mid))
            sp.send(request(num[0], mid, "sender@example.com", ["rt@" + domain], (facts[0], facts[1] + b"T")))
            res = sp.wait(num[0], 30)
            print("  %s: %r" % (domain, res), flush=True)
            finish(sp)
            return res
        peer = serve(cert=ee, requiretls=True)
        res = rt("dane.test")
        check(res[0][0] == "K" and "dane: verified by DANE-EE" in res[0][1],
              "REQUIRETLS, verified by DANE, the host offers REQUIRETLS: delivered", res)
        mails = [x for c in peer.conns for x in c.commands if x.upper().startswith("MAIL")]
        check(mails and mails[-1].upper().endswith(" REQUIRETLS"), "MAIL FROM carries REQUIRETLS", mails)
        res = rt("insecure.test")
        check(res[0][0] == "D" and "5.7.30" in res[0][1], "REQUIRETLS over opportunistic TLS (insecure zone): returned, 5.7.30", res)
        peer = serve(cert=ee)
        res = rt("dane.test")
        check(res[0][0] == "D" and "5.7.30" in res[0][1] and "REQUIRETLS" in res[0][1],
              "REQUIRETLS, verified by DANE, the host does not offer REQUIRETLS: returned, 5.7.30", res)
        check(peer.no_mail(), "no MAIL was sent to it", [c.commands for c in peer.conns])
    case("REQUIRETLS", requiretls)

    def burst():
        peer = serve(cert=ee)
        since = world.log_size()
        sp = Spawner(home, "ferry-spawn-remote")
        first = num[0] + 1
        for i in range(20):
            num[0] += 1
            sp.deliver(num[0], mid, "sender@example.com", ["b%d@dane.test" % i])
        res = sp.wait(list(range(first, num[0] + 1)), 60)
        finish(sp)
        check(all(r[0][0] == "K" and "dane: verified by DANE-EE" in r[0][1] for r in res),
              "20 deliveries to dane.test at once: all delivered, verified by DANE-EE", [r for r in res if r[0][0] != "K"][:3] or res[:2])
        check(len(peer.messages) == 20, "the peer got 20 messages", len(peer.messages))
        asked = ferrytest.eventually(lambda: world.queries(tlsa_name("mx.dane.test"), "TLSA", since) >= 1, 5)
        n = world.queries(tlsa_name("mx.dane.test"), "TLSA", since)
        check(asked and n == 1, "the unbound's log: %s TLSA asked once for the 20 (cached by its TTL, 300 s)" % tlsa_name("mx.dane.test"), n)
    case("the TLSA records cached by their TTL", burst)

    def tlsrpt():
        # SPEC25: a line per connection that negotiated a policy, in tlsrpt/DAY
        peer = serve(cert=ee)
        res = one("dane.test", peer)
        d = os.path.join(home.path, "tlsrpt")
        text = ""
        for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            if os.path.isfile(os.path.join(d, f)):
                text += open(os.path.join(d, f), errors="replace").read()
        rr = tlsa_of(ee[0], 3, 1, 1)
        want = [l.split("\t") for l in text.splitlines() if l.split("\t")[1:4] == ["dane.test", "tlsa", rr]]
        check(res[0][0] == "K" and want and want[-1][4] == "mx.dane.test" and want[-1][5] == "127.0.0.1" and want[-1][7] == "success",
              "tlsrpt/DAY: dane.test tlsa '%s' mx.dane.test 127.0.0.1 ... success" % rr[:20], text[-600:])
    case("the TLS-RPT day file", tlsrpt)
finally:
    stop_peer()
    ferrytest.stop_all(stoppers)
    home.cleanup()

cases.end()
