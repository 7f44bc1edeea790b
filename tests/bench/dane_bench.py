"""The remote and multi drains of tests/bench/mta.py, ferry over TLS alone and with DANE,
alternating, by hand (tests/bench/dane.sh): each one's rate, the ratio, the TLSA queries.

    dane_bench.py N RUNS [WORKLOAD...]   (remote, multi; both when none is named) a markdown
                                         section on stdout, each run on stderr"""

import math
import sys

import mta
from mta import attempts, med
from bench_dane import DANE_HOST, DANE_TTL, DANE_ZONE
from bench_load import SIZE, rcpts_of
from ferrytest import median
from limits_bench import limits_section


DANE_METHOD = """## Remote with DANE (tests/bench/dane_bench.py)

%d messages of %d bytes per run, the drains of the section above (ferry only), each workload
twice: over TLS alone, and with DANE. Median of %d runs, the two alternating within each run
(TLS alone first in odd runs, DANE first in even ones). The peer is the same tests/bench/tls-sink
with STARTTLS and its own 2048-bit RSA certificate for each run. TLS alone: the home of the
section above (no control/dnssecservers, the routes to 127.0.0.1:PORT: no DNS at all, the level
`may`). DANE: control/dnssecservers names a private validating unbound in front of a private nsd
(tests/helpers/dnssec_peers.py, both on 127.0.0.1) serving the zone %s signed with ECDSA
P-256 keys (ldns-signzone), the unbound trusting only its key; in it %s A 127.0.0.1 and, at
`_PORT._tcp.%s`, TLSA 3 1 1 of the sink's certificate, both with a TTL of %d s. The
routes name `%s:PORT`, so DANE applies (its address validates; no line in control/tlspolicy:
the level `dane`) and the DANE row also pays for the address lookups DANE needs (A and AAAA with
the AD bit asked); everything else is the same. Before the home starts, the harness asks the
unbound for both records and requires them validated, so its cache is warm, as a resolver in
front of busy mail usually is.

A run fails unless the sink took every recipient and the queue is empty, and, in the DANE rows,
unless every delivery in the set's log is a success whose text says `dane: verified by DANE`
(so that the check sees every line, the homes of both rows keep 400 log archives of 1 MB, not 20).
It starts once the machine is idle, and is made again (at most three attempts) if the host
stole more than a tenth of the machine or other jobs took more than a twentieth of a core:
stolen and other jobs' CPU are the medians of the runs kept.
The set is stopped during the injection, so ferry-spawn-remote starts with the drain, its TLSA
cache empty. TLSA queries are the unbound's own count (its log-queries lines) of the queries for
`_PORT._tcp.%s` TLSA from the start of delivery to the end of the run, over the number
of MX hosts (1) and over the TTLs the drain spans (1: it lasts seconds); each run's figure in
brackets. Address queries are the A and AAAA queries for %s (each domain resolves
its route). msg/s per run and DANE / TLS per run are in run order (each run's DANE row over its
own TLS row); DANE / TLS is the ratio of the medians.
"""

DANE_COLS = ("| workload | ferry with | seconds | msg/s | msg/s per run | rcpt/s | total CPU ms/msg | channel CPU ms/msg"
             " | connections | handshakes/msg | resumed % | TLSA queries per MX host per TTL | address queries | stolen s | other jobs' CPU s"
             " | DANE / TLS | DANE / TLS per run |")
DANE_HOSTS = (DANE_HOST,)     # the MX hosts of the DANE rows: TLSA queries are counted over them


def tlsa_per_host_ttl(r):
    """a DANE run's TLSA queries per MX host and per TTL the drain spanned"""
    return r[6]["tlsa_queries"] / (len(DANE_HOSTS) * max(1, math.ceil(r[0] / DANE_TTL)))


def dane_matrix(n, runs, args):
    """the DANE rows: remote and multi drains, ferry over TLS alone and with DANE, side by side"""
    mta.BIG_LOG[0] = True
    print(DANE_METHOD % (n, SIZE, runs, DANE_ZONE, DANE_HOST, DANE_HOST, DANE_TTL, DANE_HOST, DANE_HOST, DANE_HOST))
    print(DANE_COLS)
    print("|---" * DANE_COLS.count(" | ") + "|---|", flush=True)
    figures = ["<!-- figure dane.n %d -->" % n, "<!-- figure dane.runs %d -->" % runs]
    kinds = ("tls", "dane")
    for workload in args or ("remote", "multi"):
        res = {k: [] for k in kinds}
        for k in range(runs):
            for kind in (kinds if k % 2 == 0 else kinds[::-1]):
                res[kind].append(attempts("ferry", "%s-%s" % (workload, kind), "drain", n))
        rc = len(rcpts_of(workload))
        rate = {k: n / med(v, 0) for k, v in res.items()}
        pairs = [n / d[0] / (n / t[0]) for t, d in zip(res["tls"], res["dane"])]
        ratio = rate["dane"] / rate["tls"]
        for kind in kinds:
            v = res[kind]
            x = {key: median([r[6][key] for r in v]) for key in ("channel_cpu", "connections", "handshakes", "resumed")}
            hs = x["handshakes"]
            queries = addrs = "-"
            if kind == "dane":
                per = [tlsa_per_host_ttl(r) for r in v]
                queries = "%g [%s]" % (median(per), " ".join("%g" % q for q in per))
                addrs = "%g" % median([r[6]["addr_queries"] for r in v])
                figures += ["<!-- figure dane.%s.tlsa_per_host_ttl %g -->" % (workload, max(per))]
            if not hs:
                print("bench: ferry negotiated no TLS with the sink (%s-%s)" % (workload, kind), file=sys.stderr, flush=True)
            print("| %s | %s | %.1f | %.0f | %s | %.0f | %.2f | %.3f | %d | %.3f | %s | %s | %s | %.1f | %.2f | %s | %s |" % (
                workload, "TLS alone" if kind == "tls" else "DANE", med(v, 0), rate[kind],
                " ".join("%.0f" % (n / r[0]) for r in v), rate[kind] * rc, 1000 * med(v, 2) / n,
                1000 * x["channel_cpu"] / n, x["connections"], hs / n, "%.0f" % (100 * x["resumed"] / hs) if hs else "-",
                queries, addrs, med(v, 5), median([r[6]["others_cpu"] for r in v]), "%.3f" % ratio if kind == "dane" else "-",
                " ".join("%.3f" % q for q in pairs) if kind == "dane" else "-"), flush=True)
            figures += ["<!-- figure dane.%s.%s.msg %.1f -->" % (workload, kind, rate[kind]),
                        "<!-- figure dane.%s.%s.rcpt %.1f -->" % (workload, kind, rate[kind] * rc),
                        "<!-- figure dane.%s.%s.hs_per_msg %.4f -->" % (workload, kind, hs / n)]
        figures += ["<!-- figure dane.%s.ratio %.4f -->" % (workload, ratio)]
    print()
    figures += limits_section(n, runs)
    print("Each run's figures are on tests/bench/dane_bench.py's standard error.")
    print()
    print("\n".join(figures))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    dane_matrix(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:])
