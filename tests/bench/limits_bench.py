"""The machine's own limits where the queues live, measured with the benchmarks that compare with
them (tests/bench/mta.py, tls_bench.py, dane_bench.py), or alone:

    limits_bench.py N RUNS    commits, batched commits and spawns a second; a markdown table"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import median  # noqa: E402
from bench_load import INJECTORS, SIZE  # noqa: E402
from bench_timing import last_teardown, sync_settle, wait_quiet  # noqa: E402

SYNCRATE = os.path.join(os.environ["FERRY_TOP"], "build", "tests", "helpers", "sync-rate")
SPAWNLOAD = os.path.join(os.environ["FERRY_TOP"], "build", "tests", "helpers", "inject-load")
LIMIT_WRITERS = 4


def limits(n):
    """the machine's own limits, where the queues live (the temporary directory's file system):
    {name: per second} for commits (create, write 4 KiB, fsync, link, directory fsync) by one
    writer and by LIMIT_WRITERS, the same batched 100 per syncfs, bare local deliveries by
    LIMIT_WRITERS (sync-rate -d: what any local delivery of a queued message does at least), and
    spawns of /bin/true by INJECTORS processes at once (what one sendmail process a message costs,
    at best)"""
    out = {}
    sync_settle(True)
    d = tempfile.mkdtemp(prefix="ferry-bench-limits.")
    try:
        # every measurement in a directory of its own, none removed before the last: a removal's
        # inodes would be skipped by the next one's creations for a minute (see sync_settle)
        for key, args in (("commit1", []), ("commitw", ["-w", str(LIMIT_WRITERS)]),
                          ("batched1", ["-b"]), ("batchedw", ["-b", "-w", str(LIMIT_WRITERS)]),
                          ("deliverw", ["-d", "-w", str(LIMIT_WRITERS)])):
            sub = os.path.join(d, key)
            os.mkdir(sub)
            r = subprocess.run([SYNCRATE, "-k"] + args + [sub, str(n), str(SIZE)], check=True, capture_output=True, text=True)
            out[key] = float(r.stdout.split()[-3])
    finally:
        shutil.rmtree(d, ignore_errors=True)
        last_teardown[0] = time.time()
    wait_quiet()
    t0 = time.time()
    ps = [subprocess.Popen([SPAWNLOAD, "spawn", str(n // INJECTORS)], stdout=subprocess.PIPE, text=True) for _ in range(INJECTORS)]
    for p in ps:
        p.communicate()
        if p.returncode:
            sys.exit("bench: inject-load spawn failed")
    out["spawn"] = (n // INJECTORS) * INJECTORS / (time.time() - t0)
    return out


LIMITS = """The machine's own limits, measured in the same run (%d operations each, median of %d rounds), on the
file system of the queues: a commit is what a queue must do at least for one message made durable
alone (create, write %d bytes, fsync, link into a second directory, fsync that directory;
tests/bench/sync-rate.c), by one writer and by %d writers at once; batched is the same writes with
one syncfs per 100 (what group commit can reach); a bare delivery is the least any local
delivery of a queued message does, with no MTA around it (read the queue's file, write its copy
to an anonymous file and link it into a mailbox directory, remove the queue's file; one syncfs
per 100; the queue's files made before the clock starts, as a drain's are: sync-rate -d); spawn
is /bin/true started by %d processes at once (tests/helpers/inject-load spawn), the most messages
a second that one sendmail process a message allows.

| limit | per second |
|---|---|
| commits, 1 writer | %.0f |
| commits, %d writers | %.0f |
| batched commits, 1 writer | %.0f |
| batched commits, %d writers | %.0f |
| bare local deliveries, batched, %d writers | %.0f (%.0f%% of the batched commits) |
| spawns of /bin/true, %d at once | %.0f |
"""


LIMIT_ROUNDS = 3   # at most: each round starts with a wait of AGED seconds


DRIFT = """Measured once more before the rows (one round): %.0f batched commits by %d writers and %.0f
spawns a second. The limits at the end differ from those at the start by %.0f%% at most: the
larger this is, the more the machine itself changed while the rows ran, and the less the rows
and the limits above can be set against each other.
"""


def drift(before, after):
    """how far apart (percent) two measurements of the limits are, at most, over the batched
    commits by several writers and the spawns: the ones the targets are set against"""
    return max(100 * abs(after[k] - before[k]) / min(after[k], before[k]) for k in ("batchedw", "spawn"))


def limits_section(n, runs, before=None):
    """the limits table and its figures (medians of min(runs, LIMIT_ROUNDS) rounds); with before
    (limits(n) measured before the rows), both and how far apart they are"""
    rounds = min(runs, LIMIT_ROUNDS)
    got = [limits(n) for _ in range(rounds)]
    m = {k: median([g[k] for g in got]) for k in got[0]}
    print(LIMITS % (n, rounds, SIZE, LIMIT_WRITERS, INJECTORS, m["commit1"], LIMIT_WRITERS, m["commitw"], m["batched1"],
                    LIMIT_WRITERS, m["batchedw"], LIMIT_WRITERS, m["deliverw"], 100 * m["deliverw"] / m["batchedw"],
                    INJECTORS, m["spawn"]))
    figures = ["<!-- figure mta.limit.%s %.0f -->" % (k, v) for k, v in sorted(m.items())]
    if before:
        d = drift(before, m)
        print(DRIFT % (before["batchedw"], LIMIT_WRITERS, before["spawn"], d))
        figures += ["<!-- figure mta.limit.before.%s %.0f -->" % (k, before[k]) for k in ("batchedw", "spawn")]
        figures.append("<!-- figure mta.limit.drift %.0f -->" % d)
    return figures


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print("\n".join(limits_section(int(sys.argv[1]), int(sys.argv[2]))))
