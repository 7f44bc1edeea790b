"""The DNS of tests/bench/mta.py's DANE workloads (a private signed zone and validating resolver)
and the check of a DANE row: every delivery in the set's log verified by DANE."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import eventually, s6_log  # noqa: E402
from dnssec_peers import DnssecWorld, missing_tools, query, tlsa_of  # noqa: E402


DANE_ZONE = "bench.test"
DANE_HOST = "mx." + DANE_ZONE
DANE_TTL = 300


class DaneWorld:
    """The DNS of the DANE workloads: a DnssecWorld (tests/helpers/dnssec_peers.py, a private nsd
    and validating unbound on loopback) serving the signed zone bench.test, where mx.bench.test
    is A 127.0.0.1 and _PORT._tcp.mx.bench.test is TLSA 3 1 1 of the sink's certificate, both
    with a TTL of 300 s; .resolver is the unbound for control/dnssecservers"""

    def __init__(self, sink):
        miss = missing_tools()
        if miss:
            sys.exit("bench: the DANE workloads need %s (package/deps: nsd, unbound, ldnsutils)" % " ".join(miss))
        self.tlsa = "_%d._tcp.%s" % (sink.port, DANE_HOST)
        self.world = DnssecWorld()
        self.world.add_zone(DANE_ZONE, ["mx %d IN A 127.0.0.1" % DANE_TTL,
                                        "%s. %d IN TLSA %s" % (self.tlsa, DANE_TTL, tlsa_of(sink.cert, 3, 1, 1))], ttl=DANE_TTL)
        try:
            self.world.start()
            # what the rows take for granted, asked as the channel asks it
            r = query(self.world.resolver, self.tlsa, "TLSA")
            a = query(self.world.resolver, DANE_HOST, "A")
        except Exception as e:
            self.world.stop()
            sys.exit("bench: the DNSSEC world did not start: %s" % e)
        if not (r.rcode == 0 and r.ad and r.records("TLSA") and a.rcode == 0 and a.ad and a.records("A")):
            self.world.stop()
            sys.exit("bench: %s TLSA or %s A does not validate: %r %r" % (self.tlsa, DANE_HOST, r, a))
        self.resolver = self.world.resolver
        self.since = self.world.log_size()

    def mark(self):
        """the queries counted from now on"""
        self.since = self.world.log_size()

    def queries(self):
        """{"tlsa_queries": the TLSA queries the unbound received since mark(), "addr_queries":
        the A and AAAA queries for mx.bench.test}"""
        w = self.world
        return {"tlsa_queries": w.queries(self.tlsa, "TLSA", self.since),
                "addr_queries": w.queries(DANE_HOST, "A", self.since) + w.queries(DANE_HOST, "AAAA", self.since)}

    def stop(self):
        self.world.stop()



DELIVERY = re.compile(r"delivery \d+: msg \S+ to (.*?): (success|failure|deferral): (.*)$", re.M)


def log_rcpts(addrs):
    """the number of recipients a delivery line names: "a b c" or "a b c and N more"."""
    w = addrs.split()
    if len(w) > 3 and w[-3] == "and" and w[-1] == "more" and w[-2].isdigit():
        return len(w) - 3 + int(w[-2])
    return len(w)


def dane_checked(s, dane, want):
    """After a DANE row, from the set's log: every delivery a success whose text says the sink's
    certificate was verified by DANE, want recipients in all (else the row measured something
    else: the run fails); from the unbound's log, the queries the drain made"""
    log = os.path.join(s.H, "log")
    lines = []

    def all_logged():
        lines[:] = DELIVERY.findall(s6_log(log))
        return sum(log_rcpts(a) for a, _, _ in lines) >= want
    eventually(all_logged, 30, 0.2)
    bad = [l for l in lines if l[1] != "success" or "dane: verified by DANE" not in l[2]]
    got = sum(log_rcpts(a) for a, _, _ in lines)
    if bad or got != want:
        sys.exit("bench: the DANE row is invalid: %d of %d recipients logged, %d deliveries not verified by DANE, the first: %r"
                 % (got, want, len(bad), bad[:1]))
    eventually(lambda: dane.queries()["tlsa_queries"] > 0, 10, 0.1)
    return dict(dane.queries(), dane_lines=len(lines))
