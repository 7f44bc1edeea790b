"""Benchmark: one message of 1,000, 10,000, 100,000 and 1,000,000 recipients to one domain
(smtp-sink), delivered by the whole set under s6: ferry-schedule's CPU time per recipient (from
/proc/PID/schedstat, from the injection to the message's end) and the wall time. Flat per
recipient means no work per event grows with the message. Prints a markdown section."""

import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Home, Supervised, eventually, s6_log  # noqa: E402
from smtp_peers import SmtpSink  # noqa: E402

SIZES = [int(x) for x in os.environ.get("SIZES", "1000 10000 100000 1000000").split()]


def cpu_s(pid):
    """the time the process has run on a CPU, in seconds (/proc/PID/schedstat, nanoseconds)"""
    return int(open("/proc/%d/schedstat" % pid).read().split()[0]) / 1e9


home = Home()
H = home.path
sink = SmtpSink(home.tmp, dump=False)
home.control("smtproutes", "big.test:127.0.0.1:%d\n" % sink.port)
svscan = Supervised(H)
log = lambda: s6_log(os.path.join(H, "log"))  # noqa: E731
try:
    assert eventually(lambda: "status:" in log(), 20)
    r = subprocess.run(["s6-svstat", "-p", os.path.join(H, "service", "ferry")], capture_output=True, text=True)
    pid = int(r.stdout.strip())
    assert open("/proc/%d/comm" % pid).read().strip() == "ferry-schedule"
    rows = []
    for n in SIZES:
        env = b"Fs@example.com\0" + b"".join(b"Tr%d@big.test\0" % i for i in range(n)) + b"\0"
        mark = len(log())
        c0, t0 = cpu_s(pid), time.time()
        with tempfile.TemporaryFile() as f:
            f.write(env)
            f.seek(0)
            subprocess.run([os.path.join(BIN, "ferry-inject"), H], input=b"Subject: big\n\nx\n", stdout=f.fileno(), check=True)
        assert eventually(lambda: re.search(r"end msg \S+\n", log()[mark:]), 3600, 0.2), log()[-800:]
        c1, t1 = cpu_s(pid), time.time()
        assert "deferral msg" not in log()[mark:]
        rows.append((n, c1 - c0, t1 - t0))
    print("## One big message (tests/bench/biglist.sh)")
    print()
    print("`sh tests/bench/biglist.sh`: one message to N recipients of one domain, delivered to smtp-sink in")
    print("requests of at most 1,000 recipients; ferry-schedule's time on a CPU (/proc/PID/schedstat) from the injection")
    print("to the message's end, and the wall time of the whole set.")
    print()
    print("| recipients | ferry-schedule CPU | per recipient | wall time | per recipient |")
    print("|---:|---:|---:|---:|---:|")
    for n, c, t in rows:
        print("| %d | %.3f s | %.1f us | %.2f s | %.1f us |" % (n, c, c / n * 1e6, t, t / n * 1e6))
finally:
    svscan.stop()
    sink.stop()
    home.cleanup()
