"""Benchmark: the hand tools on a large queue. QUEUED messages (default 100,000) are written in
the queue format (each with one deferred remote recipient and its last error), then ferry-qread
(text and JSON) and ferry-qstat read them all, with the file cache warm, RUNS times each; wall
time and peak resident memory per run. The floor beside them: opening and reading every one of
those files once (from Python), which no listing can beat by much. Prints a markdown section."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Home, median  # noqa: E402

QUEUED = int(os.environ.get("QUEUED", "100000"))
RUNS = int(os.environ.get("RUNS", "3"))
FAKE_BASE = 1 << 40


MAXRSS = os.path.join(os.environ["FERRY_TOP"], "build", "tests", "helpers", "maxrss")


def timed(argv):
    """seconds and peak RSS (KiB) of one run, its output thrown away (tests/bench/maxrss.c)"""
    r = subprocess.run([MAXRSS] + argv, capture_output=True, text=True)
    if r.returncode:
        sys.exit("bench: %s exited %d" % (argv[0], r.returncode))
    secs, kib = r.stdout.split()
    return float(secs), int(kib)


home = Home()
H = home.path
try:
    now = int(time.time())
    t0 = time.time()
    for i in range(QUEUED):
        mid = FAKE_BASE + i
        sub = str(mid % 23)
        with open(os.path.join(H, "queue", "intd", sub, str(mid)), "wb") as f:
            f.write(b"u0\x00p0\x00t%d\x00Fs%d@example.com\x00Tr%d@d%d.test\x00\x00" % (now - i, i % 100, i, i % 500))
        with open(os.path.join(H, "queue", "remote", sub, str(mid)), "wb") as f:
            f.write(b"T%016x%08x" % (now + 3600, 0) + b"r%d@d%d.test\x00" % (i, i % 500))
        with open(os.path.join(H, "queue", "defer", sub, str(mid)), "wb") as f:
            f.write(b"ZR%08x%016x" % (0, now - 60) + b"r%d@d%d.test\x00host mx.d%d.test[192.0.2.1]:25 said: 451 4.3.0 try later (in reply to RCPT TO)\x00" % (i, i % 500, i % 500))
        with open(os.path.join(H, "queue", "mess", sub, str(mid)), "wb") as f:
            f.write(b"Subject: deferred\n\n" + b"x" * 2000 + b"\n")
    made = time.time() - t0
    files = [os.path.join(r, f) for d in ("intd", "remote", "defer") for r, _, fs in os.walk(os.path.join(H, "queue", d)) for f in fs]
    rows = []
    floor = []
    for _ in range(RUNS):
        t0 = time.time()
        for fn in files:
            fd = os.open(fn, os.O_RDONLY)
            os.read(fd, 65536)
            os.close(fd)
        floor.append(time.time() - t0)
    for name, argv in (("ferry-qread (text)", [os.path.join(BIN, "ferry-qread"), H]),
                       ("ferry-qread -j (JSON lines)", [os.path.join(BIN, "ferry-qread"), "-j", H]),
                       ("ferry-qread -d d7.test (a filter)", [os.path.join(BIN, "ferry-qread"), "-d", "d7.test", H]),
                       ("ferry-qstat (counts, ages per domain)", [os.path.join(BIN, "ferry-qstat"), H])):
        runs = [timed(argv) for _ in range(RUNS)]
        rows.append((name, [r[0] for r in runs], max(r[1] for r in runs)))
    print("## The hand tools on a large queue (tests/bench/qread_bench.py)\n")
    print("%d messages queued, each with one deferred remote recipient and its last error, to 500 domains" % QUEUED)
    print("(written in the queue format in %.0f s; file cache warm). Median of %d runs [all runs]; peak resident memory.\n" % (made, RUNS))
    print("| what | seconds | messages/s | peak RSS |")
    print("|---|---|---|---|")
    print("| floor: open and read the %d envelope, remote and defer files once (no parsing, no output) | %.2f [%s] | %.0f | - |" % (len(files), median(floor), " ".join("%.2f" % x for x in floor), QUEUED / median(floor)))
    for name, secs, rss in rows:
        print("| %s | %.2f [%s] | %.0f | %d KiB |" % (name, median(secs), " ".join("%.2f" % x for x in secs), QUEUED / median(secs), rss))
    print("\nMemory does not grow with the queue: one message is held at a time (ferry-qstat also keeps one counter row per domain).")
finally:
    home.cleanup()
