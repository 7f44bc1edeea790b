"""Traffic shaping's cost (tests/bench/shaping.sh, make bench BENCH=shaping), by hand, never in
make check:

    shaping_bench.py N RUNS [WORKLOAD...]   WORKLOAD: remote, multi (both when none is named)

Two parts in one run, both on the drains of tests/bench/mta.py (N messages injected with the
set stopped, then delivered to Postfix's smtp-sink on 127.0.0.1):
- no table: ferry as built (build/) against the build of the commit before traffic shaping
  (BEFORE, built once from `git archive` into tests/bench/.build-784cddf and kept), the two
  alternating within each run (mta.py alternate, as mta.py compare);
- tables: ferry as built, the domains delivered through MX records (a dnsmasq on loopback),
  with no table, a table of 10 keys and one of 10,000, alternating: the drain's rate and the
  CPU per recipient of ferry-schedule and ferry-spawn-remote.
Prints a markdown section for doc/performance.md (its figures for tests/bench/page.py's targets);
each run on stderr."""

import os
import re
import shutil
import subprocess
import sys

TOP = os.environ["FERRY_TOP"]
sys.path.insert(0, os.path.join(TOP, "tests", "bench"))
sys.path.insert(0, os.path.join(TOP, "tests", "helpers"))
import mta  # noqa: E402
from bench_load import INJECTORS, SIZE, rcpts_of  # noqa: E402
from ferrytest import eventually, median, s6_log  # noqa: E402
from smtp_peers import Dnsmasq  # noqa: E402

BEFORE = "784cddf454f52288d8f80b6f5369ea098f2548dd"    # the last commit before traffic shaping
CACHE = os.path.join(TOP, "tests", "bench", ".build-784cddf")
TABLES = (0, 10, 10000)         # keys in each home's table (0: no control/shaping.cdb)
CONC = 20                       # control/concurrencydestination, and each drain key's connections=
DRAIN = "connections=%d rate=1000000/s burst=1000" % CONC


def build_before():
    """the bin directory of BEFORE's programs, built once into CACHE (a stamp says it is whole)"""
    stamp = os.path.join(CACHE, "built")
    if os.path.exists(stamp) and open(stamp).read().strip() == BEFORE:
        return mta.bindir(os.path.join(CACHE, "build"))
    shutil.rmtree(CACHE, ignore_errors=True)
    os.makedirs(CACHE)
    print("bench: building %s (the commit before traffic shaping) in %s" % (BEFORE[:7], CACHE), file=sys.stderr, flush=True)
    git = subprocess.Popen(["git", "-C", TOP, "archive", BEFORE], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tar = subprocess.run(["tar", "-x", "-C", CACHE], stdin=git.stdout, capture_output=True)
    git.stdout.close()
    err = git.stderr.read().decode(errors="replace")
    if git.wait() or tar.returncode:
        sys.exit("bench: git archive %s failed (the shaping bench needs ferry's git history): %s%s"
                 % (BEFORE[:7], err, tar.stderr.decode(errors="replace")))
    r = subprocess.run(["make", "-j2", "progs"], cwd=CACHE, capture_output=True, text=True)
    if r.returncode:
        sys.exit("bench: the build of %s failed:\n%s" % (BEFORE[:7], "\n".join((r.stdout + r.stderr).splitlines()[-30:])))
    with open(stamp, "w") as f:
        f.write(BEFORE + "\n")
    return mta.bindir(os.path.join(CACHE, "build"))


def domains_of(workload, messages):
    """{domain: its recipients in the drain}"""
    out = {}
    for r in rcpts_of(workload):
        d = r.split("@")[1]
        out[d] = out.get(d, 0) + messages
    return out


def label(domain):
    return domain.split(".")[0]


def mx_host(domain):
    return "mx1.in.%s.mail.test" % label(domain)


DRAIN_DOMAINS = sorted(set(domains_of("remote", 1)) | set(domains_of("multi", 1)))


def drain_dns():
    """a dnsmasq on 127.0.0.1 giving each drain domain its MX host, at 127.0.0.1"""
    records = []
    for d in DRAIN_DOMAINS:
        records += ["--mx-host=%s,%s,10" % (d, mx_host(d)), "--host-record=%s,127.0.0.1" % mx_host(d)]
    return Dnsmasq(records)


def table(keys):
    """control/shaping with keys lines: a site of its own for each drain domain, the rest a third
    each sites, domains and routes that no drain mail goes to"""
    lines = ["# the drains' domains: each a site of its own, found through its MX host"]
    lines += ["site:%s mx=*.%s.mail.test %s" % (label(d), label(d), DRAIN) for d in DRAIN_DOMAINS]
    lines.append("# others")
    for i in range(keys - len(DRAIN_DOMAINS)):
        j = i // 3
        lines.append(("site:f%d mx=*.f%d.mail.test,mx1.f%d.other.test connections=10 messages=100 rate=20/s burst=20" % (j, j, j),
                      "d%d.example connections=2 daily=5000" % j,
                      "route:relay%d.example.net connections=20 rate=100/s burst=50" % j)[i % 3])
    return "\n".join(lines) + "\n"


PROM = re.compile(r"^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$", re.M)


def samples(path):
    """{(name, labels as written): value} of a Prometheus text file ({} when it cannot be read)"""
    try:
        text = open(path).read()
    except OSError:
        return {}
    return {(m.group(1), m.group(2) or ""): float(m.group(3)) for m in PROM.finditer(text)}


class Shaped:
    """mta.FERRY_VARIANT for the tables part: every home delivers the drain's domains through
    their MX records, and has a table of keys lines (none when 0)"""

    def __init__(self, keys, dns):
        self.keys = keys
        self.dns = dns

    def setup(self, ferry, sink):
        home = ferry.home
        home.control("smtproutes", "")
        home.settings(smtpport=sink.port, dnsservers="127.0.0.1:%d" % self.dns.port, concurrencydestination=CONC)
        if not self.keys:
            return
        home.control("shaping", table(self.keys))
        r = subprocess.run([os.path.join(mta.BIN, "ferry-shaping"), ferry.H], capture_output=True, text=True)
        if r.returncode or "%d keys compiled" % self.keys not in r.stdout + r.stderr:
            sys.exit("bench: ferry-shaping did not compile the table of %d keys: %s%s" % (self.keys, r.stdout, r.stderr))

    def check(self, ferry, workload, messages):
        """the run measured what it says: every recipient delivered (ferry-schedule's metrics
        snapshot), none deferred or failed, shaping on with a table and not without, and with a
        table every recipient counted under its domain's site"""
        want = domains_of(workload, messages)
        total = sum(want.values())
        prom = os.path.join(ferry.H, "metrics", "schedule", "metrics.prom")
        seen = {}

        def results(what):
            return seen.get(("ferry_recipient_results_total", 'channel="remote",result="%s"' % what))

        def by_key(key):
            return seen.get(("ferry_shaping_results_total", 'key="site:%s",result="success"' % key))

        def counted():
            seen.clear()
            seen.update(samples(prom))
            return results("success") == total and (not self.keys or all(by_key(label(d)) == c for d, c in want.items()))
        # the snapshot is written at most once a second, and every 5 seconds anyway
        if not eventually(counted, 15, 0.2):
            sys.exit("bench: %d keys, %s: ferry-schedule's snapshot counts %s of %d recipients delivered, %s under the sites"
                     % (self.keys, workload, results("success"), total, {d: by_key(label(d)) for d in want}))
        if results("deferral") or results("failure"):
            sys.exit("bench: %d keys, %s: %s recipients deferred, %s failed" % (self.keys, workload, results("deferral"), results("failure")))
        keyed = [k for k in seen if k[0] == "ferry_shaping_results_total"]
        if not self.keys and keyed:
            sys.exit("bench: no table, yet ferry-schedule counts under keys: %s" % keyed[:3])
        # the queue manager starts with shaping off, and logs only a change
        on = "ferry-schedule: ferry-spawn-remote: shaping on" in s6_log(os.path.join(ferry.H, "log"))
        if on != bool(self.keys):
            sys.exit("bench: %d keys, %s: the log %s shaping on" % (self.keys, workload, "says" if on else "does not say"))
        return {}


METHOD = """## Traffic shaping's cost (tests/bench/shaping_bench.py)

%(n)d messages of %(size)d bytes per run, the remote and multi drains of the section "ferry
against Postfix" (ferry only: injected through ferry-sendmail by %(inj)d injectors with the set
stopped, then delivered to Postfix's smtp-sink on 127.0.0.1: seconds until the queue is empty).
Median of %(runs)d runs. Two parts, in the same run of the bench.

No table: ferry as built here, and as built from commit %(before)s, the last before traffic
shaping (its `git archive`, built by `make progs` in a directory of tests/bench/ that git
ignores, and kept for the next run), each in the home of that section (no
control/shaping.cdb, the domains routed to the sink by control/smtproutes), the two
alternating within each run (the build before shaping first in odd runs, last in even ones).

Tables: ferry as built here, the domains delivered through their MX records instead of routes:
control/dnsservers names a dnsmasq on 127.0.0.1 that gives remote.test the MX host
mx1.in.remote.mail.test (r0.test, r1.test and r2.test likewise), with the address 127.0.0.1,
and control/smtpport is the sink's port. Three homes, alternating within each run (each run
starts one further along): no table, a table of 10 keys, a table of 10,000 keys, compiled by
ferry-shaping before the set starts. In both tables each drain domain's key is a site of its
own, `site:remote mx=*.remote.mail.test %(drain)s` (site:r0,
r1 and r2 likewise): connections= is control/concurrencydestination (%(conc)d, written in every
home of this part), so a key lets as many deliveries go at once as no table does, and its rate
holds none back though the queue manager takes a token for each; finding the key costs the
channel the lookups of the domain's own line and of the MX host's exact and `*.` patterns,
three misses before the site. The other keys are a third each sites
(`site:fN mx=*.fN.mail.test,mx1.fN.other.test connections=10 messages=100 rate=20/s burst=20`),
domains (`dN.example connections=2 daily=5000`) and routes (`route:relayN.example.net
connections=20 rate=100/s burst=50`), none of them a destination of the drains.

CPU: ferry-schedule's and ferry-spawn-remote's time on a CPU, user and kernel
(/proc/PID/schedstat of the processes of the run's home), per recipient; both start with the
drain, so ferry-schedule's includes its load of the queue, and ferry-spawn-remote's the MX
lookups (once per domain: a resolved destination is kept 60 s). Total CPU is the whole
machine's busy time over the drain, per message. Each run's figure is in brackets, in run order.
A run fails unless the queue empties, and in the tables part unless ferry-schedule's metrics
snapshot counts every recipient delivered and none deferred or failed, with a table every one of
them under its domain's site, and the log says that shaping is on (not without a table). Each
run starts once the machine is idle and is made again (at most three attempts) when the host
stole more than a tenth of the machine or other jobs took more than a twentieth of a core:
stolen and other jobs' CPU are the medians of the runs kept. Ratios are of the medians.
"""


def us_per_rcpt(rs, key, rcpts):
    return [1e6 * r[6][key] / rcpts for r in rs]


def cells(rs, n, rc):
    """the columns a part's rows share: seconds, msg/s [per run], rcpt/s, ferry-schedule and
    channel CPU us/rcpt [per run], total CPU ms/msg, stolen, other jobs' CPU"""
    rates = [n / r[0] for r in rs]
    sched = us_per_rcpt(rs, "qmgr_cpu", n * rc)
    chan = us_per_rcpt(rs, "channel_cpu", n * rc)
    text = "%.1f | %.0f [%s] | %.0f | %.2f [%s] | %.2f [%s] | %.2f | %.1f | %.2f" % (
        median([r[0] for r in rs]), median(rates), " ".join("%.0f" % x for x in rates), median(rates) * rc,
        median(sched), " ".join("%.2f" % x for x in sched), median(chan), " ".join("%.2f" % x for x in chan),
        1000 * median([r[2] for r in rs]) / n, median([r[5] for r in rs]), median([r[6]["others_cpu"] for r in rs]))
    return text, median(rates), median(sched), median(chan)


COLS = ("seconds | msg/s [per run] | rcpt/s | ferry-schedule CPU us/rcpt [per run] | channel CPU us/rcpt [per run]"
        " | total CPU ms/msg | stolen s | other jobs' CPU s")


def main(n, runs, workloads):
    print(METHOD % dict(n=n, size=SIZE, inj=INJECTORS, runs=runs, before=BEFORE[:7], drain=DRAIN, conc=CONC))
    figures = ["<!-- figure shaping.n %d -->" % n, "<!-- figure shaping.runs %d -->" % runs]
    now = mta.bindir(os.path.join(TOP, "build"))
    before = build_before()

    print("### No table: before shaping and now\n")
    print("| workload | build | " + COLS + " | now / before |")
    print("|---" * (COLS.count(" | ") + 4) + "|", flush=True)
    for w in workloads:
        res = mta.alternate((("before", before), ("now", now)), w, "drain", n, runs)
        rc = len(rcpts_of(w))
        got = {tag: cells(res[tag], n, rc) for tag in res}
        ratio = got["now"][1] / got["before"][1]
        for tag, name in (("before", "%s (before shaping)" % BEFORE[:7]), ("now", "as built")):
            print("| %s | %s | %s | %s |" % (w, name, got[tag][0], "%.3f" % ratio if tag == "now" else "-"), flush=True)
            figures.append("<!-- figure shaping.notable.%s.%s.msg %.1f -->" % (w, tag, got[tag][1]))
        figures.append("<!-- figure shaping.notable.%s.ratio %.4f -->" % (w, ratio))

    mta.use_build(now)
    dns = drain_dns()
    try:
        print("\n### Tables of 10 and 10,000 keys\n")
        print("| workload | table | " + COLS + " | ferry-schedule / no table | channel / no table |")
        print("|---" * (COLS.count(" | ") + 5) + "|", flush=True)
        for w in workloads:
            res = {k: [] for k in TABLES}
            for k in range(runs):
                for keys in TABLES[k % 3:] + TABLES[:k % 3]:
                    mta.FERRY_VARIANT[0] = Shaped(keys, dns)
                    res[keys].append(mta.attempts("ferry", w, "drain", n, "ferry-%d-keys" % keys))
            mta.FERRY_VARIANT[0] = None
            rc = len(rcpts_of(w))
            got = {k: cells(res[k], n, rc) for k in TABLES}
            for keys in TABLES:
                text, rate, sched, chan = got[keys]
                ratios = "- | -"
                if keys:
                    ratios = "%.3f | %.3f" % (sched / got[0][2], chan / got[0][3])
                print("| %s | %s | %s | %s |" % (w, "%s keys" % "{:,}".format(keys) if keys else "none", text, ratios), flush=True)
                figures += ["<!-- figure shaping.table.%s.%d.msg %.1f -->" % (w, keys, rate),
                            "<!-- figure shaping.table.%s.%d.sched_us %.3f -->" % (w, keys, sched),
                            "<!-- figure shaping.table.%s.%d.chan_us %.3f -->" % (w, keys, chan)]
    finally:
        mta.FERRY_VARIANT[0] = None
        dns.stop()
    print()
    print("Each run's figures are on tests/bench/shaping_bench.py's standard error.")
    print()
    print("\n".join(figures))


if __name__ == "__main__":
    if len(sys.argv) < 3 or not all(w in ("remote", "multi") for w in sys.argv[3:]):
        sys.exit(__doc__)
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:] or ["remote", "multi"])
