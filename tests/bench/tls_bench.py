"""The remote and multi drains of tests/bench/mta.py over TLS, by hand (tests/bench/tls.sh): ferry
with and without TLS, Postfix and postfix-tuned with smtp_tls_security_level = may, against
tests/bench/tls-sink.

    tls_bench.py N RUNS [WORKLOAD...]    (remote, multi; both when none is named) a markdown
                                         section on stdout, each run on stderr"""

import sys

from mta import attempts, med
from bench_load import SIZE, rcpts_of
from ferrytest import median
from limits_bench import limits_section


TLS_SYSTEMS = (("ferry", "tls"), ("ferry", "plain"), ("postfix", "tls"), ("postfix-tuned", "tls"))

TLS_METHOD = """## Remote over TLS (tests/bench/tls_bench.py)

%d messages of %d bytes per run, injected as in the section above with delivery stopped, then
delivered (drain: seconds until the queue is empty); median of %d runs, the systems alternating
within each run (ferry with TLS first in odd runs, without in even ones). The peer is tests/bench/tls-sink on 127.0.0.1 (one process, OpenSSL 3, a
2048-bit RSA certificate made for the run, session tickets and a session cache so that clients
can resume); it offers STARTTLS, except to ferry (no TLS), where the same sink leaves it out.
ferry runs with its default settings (control/tlspolicy absent: `may`, STARTTLS when offered).
Postfix is the private instance of the section above, relayhost to the sink, with
`smtp_tls_security_level = may` and a TLS session cache (`smtp_tls_session_cache_database`,
as Debian's main.cf has it); postfix-tuned adds, besides its tuning above,
`smtp_tls_connection_reuse = yes` (TLS connections kept open through tlsproxy).

Workloads: remote (1 recipient), multi (10 recipients over 3 domains, all routed to the sink).
Columns: connections, handshakes (full and resumed) and recipients are the sink's counts; the run
fails unless the sink took every recipient. Handshakes per message are over the messages
injected. Sink handshake CPU is the server side: the sink's own CPU inside SSL_do_handshake,
per handshake (the certificate's RSA signature is most of a full one). Channel CPU is
ferry-spawn-remote's time on a CPU, user and kernel (/proc/PID/schedstat), per message; TLS cost per handshake is
ferry's channel CPU with TLS minus without, over the handshakes of the TLS row: the client side
of the handshakes and the encryption of the data both, so an upper bound of a handshake's cost.
The ratio columns are ferry's rate over each Postfix's (TLS rows) and over its own rate without
TLS.
"""

TLS_COLS = ("| system | workload | TLS | seconds | msg/s | rcpt/s | total CPU ms/msg | channel CPU ms/msg | connections"
            " | handshakes/msg | resumed % | sink handshake CPU us | TLS cost per handshake us | stolen s"
            " | ferry / postfix | ferry / postfix-tuned | ferry TLS / no TLS |")


def tls_matrix(n, runs, args):
    """the TLS rows: remote and multi drains, ferry with and without TLS, Postfix with"""
    print(TLS_METHOD % (n, SIZE, runs))
    print(TLS_COLS)
    print("|---" * TLS_COLS.count(" | ") + "|---|", flush=True)
    figures = ["<!-- figure tls.n %d -->" % n, "<!-- figure tls.runs %d -->" % runs]
    for workload in args or ("remote", "multi"):
        res = {k: [] for k in TLS_SYSTEMS}
        for k in range(runs):
            # ferry with and without TLS take turns at going first (a run's first row has
            # measured slower than the second with nothing else different)
            order = TLS_SYSTEMS if k % 2 == 0 else (TLS_SYSTEMS[1], TLS_SYSTEMS[0]) + TLS_SYSTEMS[2:]
            for system, tls in order:
                res[(system, tls)].append(attempts(system, "%s-%s" % (workload, tls), "drain", n))
        rc = len(rcpts_of(workload))
        meds = {}
        for k, v in res.items():
            m = [med(v, i) for i in range(6)]
            x = {}
            for key in ("channel_cpu", "connections", "handshakes", "resumed", "handshake_cpu_us"):
                got = [r[6][key] for r in v if key in r[6]]
                x[key] = median(got) if got else None
            meds[k] = (m, x)
        rate = {k: n / meds[k][0][0] for k in meds}
        ferry_tls, ferry_plain = meds[("ferry", "tls")][1], meds[("ferry", "plain")][1]
        for system, tls in TLS_SYSTEMS:
            (secs, _, total, _, _, stolen), x = meds[(system, tls)]
            hs = x["handshakes"] or 0
            cost = "-"
            if (system, tls) == ("ferry", "tls") and hs:
                cost = "%.0f" % (1e6 * (ferry_tls["channel_cpu"] - ferry_plain["channel_cpu"]) / hs)
            ratios = " | | |"
            if tls == "tls" and not hs:
                print("bench: %s negotiated no TLS with the sink (%s, STARTTLS offered)" % (system, workload), file=sys.stderr, flush=True)
            if (system, tls) == ("ferry", "tls"):
                ratios = " %.1f | %.1f | %.2f |" % (rate[("ferry", "tls")] / rate[("postfix", "tls")],
                                                  rate[("ferry", "tls")] / rate[("postfix-tuned", "tls")],
                                                  rate[("ferry", "tls")] / rate[("ferry", "plain")])
            print("| %s | %s | %s | %.1f | %.0f | %.0f | %.2f | %s | %d | %.3f | %s | %s | %s | %.1f |%s" % (
                system, workload, "yes" if tls == "tls" else "no", secs, rate[(system, tls)], rate[(system, tls)] * rc,
                1000 * total / n, "-" if x["channel_cpu"] is None else "%.3f" % (1000 * x["channel_cpu"] / n),
                x["connections"] or 0, hs / n, "%.0f" % (100 * x["resumed"] / hs) if hs else "-",
                "%.0f" % (x["handshake_cpu_us"] / hs) if hs else "-", cost, stolen, ratios), flush=True)
            k = "tls.%s.%s%s" % (workload, system, "" if tls == "tls" else ".plain")
            figures += ["<!-- figure %s.msg %.1f -->" % (k, rate[(system, tls)]),
                        "<!-- figure %s.rcpt %.1f -->" % (k, rate[(system, tls)] * rc)]
            if tls == "tls":
                figures += ["<!-- figure %s.hs_per_msg %.4f -->" % (k, hs / n)]
                if hs:
                    figures += ["<!-- figure %s.sink_hs_cpu_us %.0f -->" % (k, x["handshake_cpu_us"] / hs)]
                if cost != "-":
                    figures += ["<!-- figure %s.tls_cost_per_hs_us %s -->" % (k, cost)]
    print()
    figures += limits_section(n, runs)
    print("Each run's figures are on tests/bench/tls_bench.py's standard error.")
    print()
    print("\n".join(figures))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    tls_matrix(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:])
