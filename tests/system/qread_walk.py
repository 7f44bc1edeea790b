"""ferry-qread while messages are being prepared: every message injected is listed from the moment
it is first seen until it ends, and never twice in one listing. Messages go from their todo entry
to their recipient files while the listing is read; the walk must find each one in one place or
the other."""

import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Home, Supervised, eventually, expect, fail, s6_log, stop_all  # noqa: E402
from smtp_peers import free_port  # noqa: E402

N = 300
home = Home()
H = home.path
stops = []


def listing():
    """ferry-qread -j: the ids listed, in order, and how many were not prepared yet"""
    r = subprocess.run([os.path.join(BIN, "ferry-qread"), "-j", H], capture_output=True, text=True)
    if r.returncode:
        fail("ferry-qread -j exited %d: %s" % (r.returncode, r.stderr))
    ids, new = [], 0
    for line in r.stdout.splitlines():
        j = json.loads(line)
        ids.append(j["inode"])
        new += j["stage"] == "new"
    return ids, new


try:
    # every message waits: its host refuses connections
    home.control("smtproutes", "later.test:127.0.0.1:%d\n" % free_port())
    home.control("timeoutconnect", "2\n")
    svscan = Supervised(H)
    stops.append(svscan.stop)
    expect(eventually(lambda: "ferry-schedule: starting" in s6_log(os.path.join(H, "log")), 20), "the set starts")

    errors = []

    def feed():
        env = b"Fs@x.test\0Tr@later.test\0\0"
        for k in range(N):
            r, w = os.pipe()
            os.write(w, env)
            os.close(w)
            p = subprocess.run([os.path.join(BIN, "ferry-inject"), H], input=b"Subject: %d\n\nbody\n" % k,
                               stdout=r, stderr=subprocess.PIPE)
            os.close(r)
            if p.returncode:
                errors.append(p.stderr.decode())
                return

    t = threading.Thread(target=feed)
    t.start()
    seen, missing, doubled, listings, mixed = set(), [], [], 0, 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = not t.is_alive()
        ids, new = listing()
        listings += 1
        now = set(ids)
        if len(now) != len(ids):
            doubled.append(sorted(i for i in now if ids.count(i) > 1))
        if seen - now:
            missing.append(sorted(seen - now))
        if 0 < new < len(ids):
            mixed += 1
        seen |= now
        if done and len(now) == N and not new:
            break
    t.join(10)
    expect(not errors, "%d messages injected while the set runs" % N, errors[:1])
    expect(len(seen) == N, "every message was listed", len(seen))
    expect(mixed > 0, "%d listings, %d of them read while some messages were still being prepared" % (listings, mixed))
    expect(not missing, "no message once listed was missing from a later listing", missing[:3])
    expect(not doubled, "no message was listed twice in one listing", doubled[:3])
finally:
    stop_all(stops)
    home.cleanup()
