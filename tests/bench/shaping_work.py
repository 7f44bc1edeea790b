"""Traffic shaping's cost as work done (tests/bench/shapingwork.sh, make bench BENCH=shapingwork),
by hand, never in make check:

    shaping_work.py N RUNS [WORKLOAD...]   WORKLOAD: remote, multi (both when none is named)

The drains of shaping_bench.py (N messages injected with the set stopped, then delivered to
Postfix's smtp-sink), with ferry-schedule and ferry-spawn-remote run under valgrind's callgrind:
the instructions each executes from its start to the empty queue, per recipient, the median of
RUNS runs, the rows alternating within each run. Rows: no table, the build before traffic
shaping and as built; as built, tables of 0, 10 and 10,000 keys (shaping_bench.py's homes).
Prints a markdown section for doc/performance.md; each run on stderr."""

import glob
import os
import shutil
import sys
import tempfile

TOP = os.environ["FERRY_TOP"]
sys.path.insert(0, os.path.join(TOP, "tests", "bench"))
sys.path.insert(0, os.path.join(TOP, "tests", "helpers"))
import mta  # noqa: E402
from bench_load import INJECTORS, rcpts_of  # noqa: E402
import shaping_bench as sb  # noqa: E402
from ferrytest import median  # noqa: E402

MEASURED = ("ferry-schedule", "ferry-spawn-remote")


def wrapped(bin_dir, out):
    """a bin directory of copies of bin_dir's programs in which the MEASURED ones run under
    callgrind, each writing out/NAME.PID"""
    d = tempfile.mkdtemp(prefix="ferry-bench-work-bin.")
    os.chmod(d, 0o755)
    for name in os.listdir(bin_dir):
        shutil.copy2(os.path.join(bin_dir, name), os.path.join(d, name))
    for name in MEASURED:
        real = os.path.join(d, name + ".real")
        os.rename(os.path.join(d, name), real)
        with open(os.path.join(d, name), "w") as f:
            f.write("#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file=%s/%s.%%p %s \"$@\"\n" % (out, name, real))
        os.chmod(os.path.join(d, name), 0o755)
    return d


def instructions(out, name):
    """the instructions of every process of that program in the run (callgrind's totals)"""
    total = 0
    for path in glob.glob(os.path.join(out, name + ".*")):
        for line in open(path, errors="replace"):
            if line.startswith("summary:") or line.startswith("totals:"):
                total = total + int(line.split()[1])
                break
    return total


def one(bin_dir, workload, n, tag):
    """{program: instructions per recipient} of one drain"""
    out = tempfile.mkdtemp(prefix="ferry-bench-work-cg.")
    os.chmod(out, 0o777)    # the programs run as the home's users
    d = wrapped(bin_dir, out)
    try:
        mta.use_build(d)
        mta.one("ferry", workload, "drain", n)
        rcpts = n // INJECTORS * INJECTORS * len(rcpts_of(workload))
        got = {name: instructions(out, name) / rcpts for name in MEASURED}
        if not all(got.values()):
            sys.exit("bench: no callgrind count for %s (%s): %s" % (tag, workload, os.listdir(out)))
        print("<!-- run: %s %s %d messages: %s -->" % (tag, workload, n, " ".join("%s=%.0f" % kv for kv in got.items())),
              file=sys.stderr, flush=True)
        return got
    finally:
        shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)


METHOD = """## Traffic shaping's cost in instructions (tests/bench/shaping_work.py)

The drains of the section above (%(n)d messages, the remote and multi workloads), with
ferry-schedule and ferry-spawn-remote run under valgrind's callgrind: the instructions each
executes from its start (with the drain) to the empty queue, its load of the queue and the
channel's MX lookups included, per recipient; the median of %(runs)d runs, the rows of a part
alternating within each run (each run starts one further along), each run's figure in brackets.
Seconds and CPU seconds on this shared machine spread by a quarter from one run to the next
with what else the host runs; an instruction count moves only with how the work batches (how
many deliveries each wakeup of ferry-schedule finds): about 1%% between the runs of this bench
(the figures in brackets), but ferry-schedule did a fifth less per recipient when it ran alone
under callgrind with the channel at full speed, which is why both builds and every table are
measured in the same run and the same way. System calls count as the one instruction that makes them; the two builds make
the same ones (strace -c of the channel: the same calls per delivery, and the same
connections, 22 for the remote drain of 2,000 messages). No table: the build of %(before)s (before traffic shaping) and as built, in
the home of the section "ferry against Postfix"; tables: as built, in the homes of the section
above (the domains through MX records, no table, 10 and 10,000 keys).
"""


def rounds(tags, runs, measure):
    """{tag: {program: median instructions per recipient}, and each run's sums as text}, the tags
    alternating within each run, each run starting one further along"""
    res = {t: [] for t in tags}
    for k in range(runs):
        for t in tags[k % len(tags):] + tags[:k % len(tags)]:
            res[t].append(measure(t))
    med = {t: {p: median([r[p] for r in v]) for p in MEASURED} for t, v in res.items()}
    each = {t: " ".join("%.0f" % sum(r.values()) for r in v) for t, v in res.items()}
    return med, each


def main(n, runs, workloads):
    print(METHOD % dict(n=n, runs=runs, before=sb.BEFORE[:7]))
    figures = ["<!-- figure shapingwork.n %d -->" % n, "<!-- figure shapingwork.runs %d -->" % runs]
    now = mta.bindir(os.path.join(TOP, "build"))
    before = sb.build_before()
    print("| workload | home | build or table | ferry-schedule instructions/rcpt | channel instructions/rcpt | both [per run] | / no table or before |")
    print("|---" * 7 + "|", flush=True)
    for w in workloads:
        bins = {"before": before, "now": now}
        got, each = rounds(("before", "now"), runs, lambda tag: one(bins[tag], w, n, tag))
        for tag, name in (("before", "%s (before shaping)" % sb.BEFORE[:7]), ("now", "as built")):
            g = got[tag]
            both = sum(g.values())
            ratio = "%.3f" % (both / sum(got["before"].values())) if tag == "now" else "-"
            print("| %s | routes | %s | %.0f | %.0f | %.0f [%s] | %s |" % (w, name, g[MEASURED[0]], g[MEASURED[1]], both, each[tag], ratio), flush=True)
            figures += ["<!-- figure shapingwork.notable.%s.%s.sched %.1f -->" % (w, tag, g[MEASURED[0]]),
                        "<!-- figure shapingwork.notable.%s.%s.chan %.1f -->" % (w, tag, g[MEASURED[1]])]
    dns = sb.drain_dns()
    try:
        for w in workloads:
            def measure(keys):
                mta.FERRY_VARIANT[0] = sb.Shaped(keys, dns)
                return one(now, w, n, "%d-keys" % keys)
            got, each = rounds(sb.TABLES, runs, measure)
            mta.FERRY_VARIANT[0] = None
            for keys in sb.TABLES:
                g = got[keys]
                ratios = "-" if not keys else "ferry-schedule %.3f, channel %.3f" % (
                    g[MEASURED[0]] / got[0][MEASURED[0]], g[MEASURED[1]] / got[0][MEASURED[1]])
                print("| %s | MX records | %s | %.0f | %.0f | %.0f [%s] | %s |" % (
                    w, "{:,} keys".format(keys) if keys else "no table", g[MEASURED[0]], g[MEASURED[1]], sum(g.values()), each[keys], ratios),
                    flush=True)
                figures += ["<!-- figure shapingwork.table.%s.%d.sched %.1f -->" % (w, keys, g[MEASURED[0]]),
                            "<!-- figure shapingwork.table.%s.%d.chan %.1f -->" % (w, keys, g[MEASURED[1]])]
    finally:
        mta.FERRY_VARIANT[0] = None
        mta.use_build(now)
        dns.stop()
    print()
    print("Each run's figures are on tests/bench/shaping_work.py's standard error.")
    print()
    print("\n".join(figures))


if __name__ == "__main__":
    if len(sys.argv) < 3 or not all(w in ("remote", "multi") for w in sys.argv[3:]):
        sys.exit(__doc__)
    if not shutil.which("valgrind"):
        sys.exit("bench: shapingwork needs valgrind (apt-get install valgrind)")
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:] or ["remote", "multi"])
