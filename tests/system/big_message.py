"""A message of 100,000 recipients does not hold up the other mail: 100 small messages injected
while it is delivered (through Postfix's smtp-sink) are each delivered within a bound measured
on the idle set in the same test, and the big message is delivered whole, with no deferral."""

import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import stop_all, BIN, Home, Supervised, eventually, expect, s6_log  # noqa: E402
from smtp_peers import SmtpSink  # noqa: E402

if not os.access("/usr/sbin/smtp-sink", os.X_OK):
    print("skipped: no /usr/sbin/smtp-sink (package postfix)")
    sys.exit(77)

stops = []


def inject(home, sender, rcpts, body=b"Subject: x\n\nx\n"):
    """ferry-inject with the envelope from a file (a pipe would hold only 64 KiB)"""
    env = b"F" + sender.encode() + b"\0" + b"".join(b"T" + r.encode() + b"\0" for r in rcpts) + b"\0"
    with tempfile.TemporaryFile() as f:
        f.write(env)
        f.seek(0)
        p = subprocess.run([os.path.join(BIN, "ferry-inject"), home.path], input=body, stdout=f.fileno(), stderr=subprocess.PIPE)
    expect(p.returncode == 0 or len(rcpts) == 1, "ferry-inject takes a message to %d recipients" % len(rcpts), p.stderr)
    return p.returncode == 0


def latencies(log, sent, timeout):
    """for each address of sent (address: time of injection), the seconds until its success line"""
    got = {}
    deadline = time.time() + timeout
    while len(got) < len(sent) and time.time() < deadline:
        text = log()
        now = time.time()
        for a in sent:
            if a not in got and (" to %s: success: " % a) in text:
                got[a] = now - sent[a]
        time.sleep(0.02)
    return got


home = Home()
try:
    H = home.path
    log = lambda: s6_log(os.path.join(H, "log"))  # noqa: E731
    sink = SmtpSink(home.tmp, dump=False)
    stops.append(sink.stop)
    home.control("smtproutes", "huge.test:127.0.0.1:%d\no.test:127.0.0.1:%d\n" % (sink.port, sink.port))
    svscan = Supervised(H)
    stops.insert(0, svscan.stop)
    expect(eventually(lambda: "status:" in log(), 20), "the set starts", log()[-500:])

    # what "normal" is here: ten messages, one at a time, on the idle set
    idle = {}
    for i in range(10):
        a = "idle%d@o.test" % i
        t = time.time()
        inject(home, "s@example.com", [a])
        idle.update(latencies(log, {a: t}, 20))
    expect(len(idle) == 10, "the idle set delivers ten messages", log()[-800:])
    normal = max(idle.values())
    bound = 10 * normal + 3
    print("# idle: the slowest of ten took %.3f s; the bound beside the big message: %.1f s" % (normal, bound))

    # the big message, then 100 others while it is delivered
    N = 100000
    t0 = time.time()
    inject(home, "s@example.com", ["r%d@huge.test" % i for i in range(N)])
    expect(eventually(lambda: "to remote r0@huge.test" in log() or "r0@huge.test" in log(), 60), "the big message's delivery starts", log()[-800:])
    sent = {}
    for i in range(100):
        a = "beside%d@o.test" % i
        sent[a] = time.time()
        inject(home, "s@example.com", [a])
    got = latencies(log, sent, 120)
    slow = sorted(got.values())[-1] if got else None
    expect(len(got) == 100, "the 100 other messages are delivered", (len(got), log()[-800:]))
    expect(slow <= bound, "each within %.1f s of its injection (the slowest: %.2f s)" % (bound, slow))
    expect(eventually(lambda: re.search(r"end msg \S+\n", log()) and
                      sum(int(n) + 3 for n in re.findall(r"delivery \d+: msg \S+ to r\d+@huge\.test \S+ \S+ and (\d+) more: success", log())) == N, 120),
           "the big message is delivered whole (%d recipients, %.1f s)" % (N, time.time() - t0), log()[-800:])
    expect("deferral msg" not in log(), "nothing was deferred")
finally:
    stop_all(stops)
    home.cleanup()
