"""The relay at several loads (tests/bench/relayload.sh, make bench BENCH=relayload): relay_bench.py's
plain rows (smtp-source, no TLS, each session keeping its connection) for several numbers of
client sessions, ferry and Postfix alternating, so that each system is seen at the load where
it is fastest as well as at the same load as the other.

    relayload_bench.py N RUNS LOADS     LOADS: the session counts, "10 20 40 80"; a markdown
                                        section on stdout, each run on stderr"""

import shutil
import sys

import relay_bench as rb
from bench_load import SIZE
from ferrytest import median  # noqa: E402

SYSTEMS = ("ferry", "postfix")

METHOD = """## Relay at several loads (tests/bench/relayload_bench.py)

The plain rows of the relay section above (%d messages of about %d bytes per run, smtp-source
into each system's SMTP server on 127.0.0.1, each session keeping its connection, relayed to
smtp-sink; the same systems, settings and checks), for several numbers of client sessions in
parallel: %s. Median of %d runs per load, ferry and Postfix alternating. ferry-smtpd serves 20
sessions at once (its service's `-P 20`: more wait in the kernel's backlog until a worker is
free); Postfix's smtpd serves up to its process limit of 100. The last lines compare each
system at the load where it was fastest.
"""


def main(n, runs, loads):
    print(METHOD % (n, SIZE, ", ".join(str(x) for x in loads), runs))
    print("| sessions | ferry msg/s | Postfix msg/s | ferry / Postfix | ferry MTA CPU ms/msg | Postfix MTA CPU ms/msg | ferry msg/s per run | Postfix msg/s per run |")
    print("|---|---|---|---|---|---|---|---|", flush=True)
    figures = ["<!-- figure relayload.n %d -->" % n, "<!-- figure relayload.runs %d -->" % runs]
    best = {x: (0.0, 0) for x in SYSTEMS}
    cert_dir, cert, key = rb.make_cert()
    try:
        for load in loads:
            rb.SESSIONS = load      # relay_bench's client() and per_conn() read it at each run
            res = {x: [] for x in SYSTEMS}
            for k in range(runs):
                for system in (SYSTEMS if k % 2 == 0 else SYSTEMS[::-1]):
                    res[system].append(rb.attempts(system, "plain", n, cert, key))
            rate = {x: n / median([r["secs"] for r in v]) for x, v in res.items()}
            cpu = {x: 1000 * median([r["mta_cpu"] for r in v]) / n for x, v in res.items()}
            for x in SYSTEMS:
                if rate[x] > best[x][0]:
                    best[x] = (rate[x], load)
                figures += ["<!-- figure relayload.%d.%s.msg %.1f -->" % (load, x, rate[x]),
                            "<!-- figure relayload.%d.%s.mta_cpu_ms %.3f -->" % (load, x, cpu[x])]
            print("| %d | %.0f | %.0f | %.1f | %.2f | %.2f | %s | %s |" % (
                load, rate["ferry"], rate["postfix"], rate["ferry"] / rate["postfix"], cpu["ferry"], cpu["postfix"],
                " ".join("%.0f" % (n / r["secs"]) for r in res["ferry"]),
                " ".join("%.0f" % (n / r["secs"]) for r in res["postfix"])), flush=True)
    finally:
        shutil.rmtree(cert_dir, ignore_errors=True)
    print()
    print("Each at its fastest load: ferry %.0f msg/s (%d sessions), Postfix %.0f msg/s (%d sessions): %.1fx."
          % (best["ferry"][0], best["ferry"][1], best["postfix"][0], best["postfix"][1], best["ferry"][0] / best["postfix"][0]))
    print()
    print("Each run's figures are on tests/bench/relayload_bench.py's standard error.")
    print()
    figures += ["<!-- figure relayload.best.%s.msg %.1f -->" % (x, best[x][0]) for x in SYSTEMS]
    figures += ["<!-- figure relayload.best.%s.sessions %d -->" % (x, best[x][1]) for x in SYSTEMS]
    print("\n".join(figures))


if __name__ == "__main__":
    if len(sys.argv) != 4 or not sys.argv[3].split():
        sys.exit(__doc__)
    main(int(sys.argv[1]), int(sys.argv[2]), [int(x) for x in sys.argv[3].split()])
