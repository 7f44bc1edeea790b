"""MTA-STS in the remote channel (RFC 8461): ferry-spawn-remote, driven through its protocol, with
control/dnssecservers naming a private validating unbound in front of a private nsd
(tests/helpers/dnssec_peers.py): the MTA-STS domains are in unsigned zones (an MTA-STS domain
needs no DNSSEC), one signed zone has both TLSA records and a policy. The policies are served over
HTTPS by tests/helpers/mtasts_peers.py with certificates of a test CA (control/tlscafile), on the
port of control/mtastsport; the MX hosts are the TLS peers of tests/helpers/tls_peers.py, all on
127.0.0.1 and one port (control/smtpport). The channel runs ferry-mtasts-fetch itself, in the
background. Each case is a group of checks; a failed check is reported and the next case still
runs; the test fails if any check failed. Without nsd, unbound or ldns-signzone it is skipped."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
import ferrytest  # noqa: E402
from ferrytest import Cases, Home, Spawner  # noqa: E402
from dnssec_peers import DnssecWorld, skip_unless_tools, tlsa_of  # noqa: E402
from mtasts_peers import MtaStsServer  # noqa: E402
from smtp_peers import free_port  # noqa: E402
from tls_peers import TestCA, TlsPeer  # noqa: E402

skip_unless_tools()

home = Home()
cases = Cases(home)
check, case, finish = cases.check, cases.case, cases.finish
stoppers = []
num = [0]
now = {"peer": None, "sts": None}
TIMEOUT = 3


def policy(mode, *mx, max_age=86400):
    return "version: STSv1\nmode: %s\n%smax_age: %d\n" % (mode, "".join("mx: %s\n" % m for m in mx), max_age)


def peer(cert):
    """the MX host of the next case on the port of control/smtpport (the last one stopped first)"""
    if now["peer"]:
        now["peer"].stop()
    now["peer"] = TlsPeer("starttls", *cert, port=PORT)
    return now["peer"]


def sts(domain, text, mode="ok"):
    """the policy server of the next case, on the port of control/mtastsport"""
    if now["sts"]:
        now["sts"].stop()
    now["sts"] = MtaStsServer(ca, domain, text, mode=mode, port=STSPORT)
    return now["sts"]


def spawner():
    return Spawner(home, "ferry-spawn-remote")


def deliver(sp, domain, timeout=30):
    num[0] += 1
    sp.deliver(num[0], mid, "sender@example.com", ["a@" + domain])
    res = sp.wait(num[0], timeout)
    print("  %s: %r" % (domain, res), flush=True)
    return res


def cache(domain):
    try:
        return open(os.path.join(home.path, "mtasts", domain), "rb").read()
    except FileNotFoundError:
        return None


def report_lines():
    out = []
    d = os.path.join(home.path, "tlsrpt")
    for f in sorted(os.listdir(d)):
        p = os.path.join(d, f)
        if os.path.isfile(p):
            out += [l.split("\t") for l in open(p).read().splitlines()]
    return out


try:
    mid = home.inject(b"Subject: MTA-STS\n\nover TLS checked by a policy\n", "sender@example.com", ["a@sts.test"])
    ca = TestCA(os.path.join(home.tmp, "ca"))
    PORT = free_port()
    STSPORT = free_port()
    good = {d: ca.cert("good", names=("mx.%s" % d,)) for d in ("sts.test", "testing.test", "slow.test", "refresh.test")}
    selfsigned = ca.cert("selfsigned")

    def zone(name, stsid, mx="mx", signed=False, extra=()):
        return (name, ["@ MX 10 %s" % mx, "mx A 127.0.0.1", "mta-sts A 127.0.0.1", '_mta-sts TXT "v=STSv1; id=%s;"' % stsid] + list(extra), signed)

    world = DnssecWorld(os.path.join(home.tmp, "dns"))
    stoppers.append(world.stop)
    for name, records, signed in (zone("sts.test", "p1"), zone("nomatch.test", "p1", mx="mx2", extra=["mx2 A 127.0.0.1"]), zone("testing.test", "t1"),
                                  zone("slow.test", "s1"), zone("refresh.test", "r2"),
                                  zone("both.test", "b1", signed=True, extra=["_%d._tcp.mx TLSA %s" % (PORT, tlsa_of(selfsigned[0], 3, 1, 1))])):
        world.add_zone(name, records, signed=signed)
    world.add_zone("nopolicy.test", ["@ MX 10 mx", "mx A 127.0.0.1", "mx2 A 127.0.0.1"], signed=False)
    world.start()
    home.settings(smtpport=PORT, dnssecservers=world.resolver, mtastsport=STSPORT, tlscafile=ca.pem, timeoutmtasts=TIMEOUT,
                  timeoutconnect=3, timeoutgreeting=3, timeoutcommand=5, timeoutdata=5, deadhosttime=0)
    home.control("dnsservers", "")
    print("# unbound %s, the MX hosts on 127.0.0.1:%d, the policy servers on 127.0.0.1:%d" % (world.resolver, PORT, STSPORT), flush=True)

    def enforce():
        s = sts("sts.test", policy("enforce", "mx.sts.test"))
        p = peer(good["sts.test"])
        sp = spawner()
        res = deliver(sp, "sts.test")
        check(res[0][0] == "K" and "sts: certificate verified" in res[0][1],
              "first contact: the policy fetched while the destination waited; delivered, sts: certificate verified", res)
        check(s.requests == 1, "one policy fetch", s.requests)
        c = cache("sts.test")
        check(c is not None and c.startswith(b"ferry-mtasts 1\nid p1\n"), "mtasts/sts.test holds policy p1", c)
        res = deliver(sp, "sts.test")
        check(res[0][0] == "K" and s.requests == 1, "the next delivery: no fetch", (res, s.requests))
        finish(sp)
        check(len(p.conns) >= 1 and all(x.tls for x in p.conns), "every connection inside TLS", p.conns)
    case("enforce, a matching MX host and a good certificate", enforce)

    def restart():
        now["sts"].stop()
        now["sts"] = None
        p = peer(selfsigned)
        sp = spawner()
        res = deliver(sp, "sts.test")
        check(res[0][0] in ("Z", "H") and "the certificate did not verify (sts: MTA-STS policy of sts.test, enforce)" in res[0][1],
              "after a restart, the policy server gone: the cached policy still enforced, a self-signed certificate refused", res)
        check(p.no_mail(), "nothing sent to that host", [c.commands for c in p.conns])
        finish(sp)
    case("the policy cached across a restart", restart)

    def nomatch():
        s = sts("nomatch.test", policy("enforce", "mx.nomatch.test"))
        p = peer(good["sts.test"])
        sp = spawner()
        res = deliver(sp, "nomatch.test")
        check(res[0][0] == "H" and "no MX host of the domain matches its MTA-STS policy (mode enforce, id p1)" in res[0][1],
              "enforce, the MX host mx2.nomatch.test not in the policy: deferred, the text says why", res)
        check(s.requests == 1 and not p.conns, "the policy fetched, no connection made", (s.requests, p.conns))
        finish(sp)
    case("enforce, an MX host the policy does not name", nomatch)

    def testing():
        s = sts("testing.test", policy("testing", "mx.testing.test"))
        p = peer(selfsigned)
        sp = spawner()
        res = deliver(sp, "testing.test")
        check(res[0][0] == "K" and "sts-testing: certificate not verified" in res[0][1],
              "testing, a self-signed certificate: delivered, the text says sts-testing and why", res)
        check(s.requests == 1, "the policy fetched", s.requests)
        finish(sp)
        rows = [r for r in report_lines() if len(r) >= 9 and r[1] == "testing.test"]
        check(any(r[2] == "sts" and r[3] == "t1" and r[4] == "mx.testing.test" and r[7] == "certificate-not-trusted" for r in rows),
              "tlsrpt/DAY: testing.test sts t1 mx.testing.test ... certificate-not-trusted", rows)
        check(not any(r[7] == "success" for r in rows), "and no success for it", rows)
    case("testing mode: delivered, reported", testing)

    def dane_wins():
        s = sts("both.test", policy("enforce", "elsewhere.both.test"))
        p = peer(selfsigned)
        sp = spawner()
        res = deliver(sp, "both.test")
        check(res[0][0] == "K" and "dane: verified by DANE-EE" in res[0][1],
              "a signed zone with TLSA records and an enforce policy that names another MX: DANE decides, delivered", res)
        finish(sp)
    case("DANE wins over MTA-STS", dane_wins)

    def slow():
        s = sts("slow.test", policy("enforce", "mx.slow.test"), mode="slow")
        p = peer(selfsigned)
        sp = spawner()
        start = time.time()
        res = deliver(sp, "slow.test", timeout=TIMEOUT + 20)
        took = time.time() - start
        check(res[0][0] == "K" and "opportunistic" in res[0][1],
              "a policy server that dribbles: the fetch fails, the destination goes on without a policy", res)
        check(TIMEOUT - 0.5 <= took <= TIMEOUT + 6, "within control/timeoutmtasts (%d s) and a little: %.1f s" % (TIMEOUT, took), took)
        check(cache("slow.test") is None, "nothing cached", cache("slow.test"))
        log = finish(sp)
        check("ferry-mtasts-fetch: slow.test: policy fetch failed" in log, "the fetcher's log line is in the channel's log", log[-600:])
        s.stop()
        now["sts"] = None
        s = sts("slow.test", policy("enforce", "mx.slow.test"), mode="big")
        sp = spawner()
        res = deliver(sp, "slow.test", timeout=TIMEOUT + 20)
        check(res[0][0] == "K" and "opportunistic" in res[0][1] and cache("slow.test") is None,
              "a policy over 64 KiB: refused, nothing cached, delivered without a policy", res)
        finish(sp)
    case("a slow or oversized policy", slow)

    def refresh():
        # a cached policy with another id than the TXT record's: used meanwhile, the new one fetched
        s = sts("refresh.test", policy("enforce", "mx.refresh.test"))
        os.makedirs(os.path.join(home.path, "mtasts"), exist_ok=True)
        old = "ferry-mtasts 1\nid r1\nfetched %d\n\n%s" % (int(time.time()), policy("testing", "mx.refresh.test"))
        with open(os.path.join(home.path, "mtasts", "refresh.test"), "w") as f:
            f.write(old)
        p = peer(good["refresh.test"])
        sp = spawner()
        res = deliver(sp, "refresh.test")
        check(res[0][0] == "K" and "sts-testing" in res[0][1], "the cached policy (r1, testing) used at once", res)
        check(ferrytest.eventually(lambda: (cache("refresh.test") or b"").startswith(b"ferry-mtasts 1\nid r2\n"), 10),
              "the policy of the TXT record's id (r2) fetched in the background", cache("refresh.test"))
        check(s.requests == 1, "one fetch", s.requests)
        finish(sp)
    case("a new policy id", refresh)

    def nopolicy():
        p = peer(selfsigned)
        sp = spawner()
        res = deliver(sp, "nopolicy.test")
        check(res[0][0] == "K" and "opportunistic: certificate not verified" in res[0][1], "no _mta-sts record: opportunistic", res)
        finish(sp)
    case("no policy", nopolicy)

finally:
    for x in ("peer", "sts"):
        if now[x]:
            now[x].stop()
    ferrytest.stop_all(stoppers)
    home.cleanup()

cases.end()
