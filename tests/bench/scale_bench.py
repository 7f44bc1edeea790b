"""ferry alone at several queue sizes, every workload and mode of tests/bench/mta.py (the same
messages, injectors, sink and checks), by hand (tests/bench/scale.sh):

    scale_bench.py "N1 N2 ..." RUNS BIGRUNS[/E2ERUNS] [WORKLOAD[:MODE]...]   RUNS runs at N1, BIGRUNS
                                      at each larger size (E2ERUNS for the end-to-end rows there, if
                                      given); a markdown section on stdout, each run on stderr"""

import sys

from mta import attempts, med, rows_of
from ferrytest import median  # noqa: E402  (mta puts tests/helpers on the path)
from bench_load import rcpts_of


SCALE_METHOD = """## ferry at scale (tests/bench/scale_bench.py)

ferry alone, each workload and mode of the section above (the same messages, injectors, sink and
checks) with %s messages; at %s messages the median of %d runs (the reference: its runs are short, so
a run's hiccup weighs most there), at each larger size the median of %s. The last column is the
rate against the rate at %s messages, for the scale target. A drain of a large queue frees the
blocks of most files it removes, as any MTA does: the pools (queue.html) hold at most 2,048 files
each, which a drain of 5,000 messages fills early on. Where the machine's kernel pages out unused
page cache (the machine line says so), the files of a queue filled over minutes are read back from
disk by its drain, as any MTA's would be; 100,000 messages take minutes to inject. The column
disk KiB read/msg is what the whole machine read from its disks over the run (/proc/vmstat's
pgpgin), per message: what was not in the page cache. The column sink CPU µs/msg is the CPU time
of the sink that the remote and multi workloads deliver to, per message: its work for a message is
the same whatever the size of the queue sending it, so where it grows with the size the machine
itself gave each message's work more time (the kernel paging the queue back in, its interrupts
and its scans), not ferry.
"""


def scale_matrix(ns, runs, bigruns, e2eruns, args):
    """ferry's rate at each size of ns against its rate at the first, every workload and mode; at
    the larger sizes bigruns runs of a drain, e2eruns of an end-to-end row"""
    larger = "%d" % bigruns if bigruns == e2eruns else \
        "%d for a drain (seconds long: one run's spread is some 10%%) and of %d for an end-to-end row (as long as its injection, 20 s and more)" % (bigruns, e2eruns)
    print(SCALE_METHOD % (" and ".join("{:,}".format(n) for n in ns), "{:,}".format(ns[0]), runs, larger, "{:,}".format(ns[0])))
    print("| workload | mode | messages | runs | seconds | msg/s | rcpt/s | total CPU ms/msg | sync calls/msg | disk KiB read/msg | sink CPU µs/msg | queue manager peak KiB | against %s |" % "{:,}".format(ns[0]))
    print("|---" * 13 + "|", flush=True)
    figures = ["<!-- figure scale.ns %s -->" % ",".join(str(n) for n in ns)]
    for workload, mode in rows_of(args):
        base = None
        for n in ns:
            k = runs if n == ns[0] else bigruns if mode == "drain" else e2eruns
            v = [attempts("ferry", workload, mode, n) for _ in range(k)]
            secs, total, nsync, peak = med(v, 0), med(v, 2), med(v, 3), med(v, 4)
            reads = [x[6]["read_kib"] for x in v if "read_kib" in x[6]]
            sinks = [x[6]["sink_cpu"] for x in v if "sink_cpu" in x[6]]
            rate = n / secs
            base = base or rate
            rc = len(rcpts_of(workload))
            print("| %s | %s | %s | %d | %.1f | %.0f | %.0f | %.2f | %s | %s | %s | %s | %.0f%% |" % (
                workload, mode, "{:,}".format(n), k, secs, rate, rate * rc, 1000 * total / n,
                "-" if nsync is None else "%.2f" % (nsync / n), "%.1f" % (median(reads) / n) if reads else "-",
                "%.0f" % (1e6 * median(sinks) / n) if sinks else "-",
                "-" if peak is None else "%d" % peak, 100 * rate / base), flush=True)
            figures.append("<!-- figure scale.%s.%s.n%d.msg %.1f -->" % (workload, mode, n, rate))
            if n != ns[0]:
                figures.append("<!-- figure scale.pct.%s.%s.n%d %.1f -->" % (workload, mode, n, 100 * rate / base))
    print()
    print("Each run's figures are on tests/bench/scale_bench.py's standard error.")
    print()
    print("\n".join(figures))


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    big = sys.argv[3].split("/")
    scale_matrix([int(x) for x in sys.argv[1].replace(",", " ").split()], int(sys.argv[2]), int(big[0]), int(big[-1]), sys.argv[4:])
