"""Benchmark: the whole set under s6, end to end (from the first injection to the last delivery),
local (Maildir) and remote (smtp-sink), with the queue empty and with DEFERRED messages already
deferred in it; the restart time to the first delivery with them queued; ferry-schedule's memory
per queued recipient. Prints a markdown section. 4 KiB messages, 4 injectors in parallel."""

import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Home, Supervised, eventually, is_root, median, s6_log, test_user  # noqa: E402
from smtp_peers import SmtpSink  # noqa: E402

N = int(os.environ.get("N", "2000"))
RUNS = int(os.environ.get("RUNS", "3"))
DEFERRED = int(os.environ.get("DEFERRED", "100000"))
HELPER = os.path.join(os.environ["FERRY_TOP"], "build", "tests", "helpers", "inject-load")
FAKE_BASE = 1 << 40    # ids far above any real inode number


def rss_kb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Set:
    def __init__(self, remote):
        self.home = Home()
        H = self.H = self.home.path
        self.mail = os.path.join(self.home.tmp, "mail")
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(self.mail, "Maildir", sub))
        if is_root():
            test_user()
            self.home.control("mailboxowner", "ferrytest\n")
            subprocess.run(["chown", "-R", "ferrytest", self.mail], check=True)
            os.chmod(self.home.tmp, 0o755)
        self.home.control("virtualdomains", "" if remote else "test\n")
        self.home.control("mailboxes", "@test: %s/Maildir/\n" % self.mail)
        subprocess.run([os.path.join(BIN, "ferry-mailboxes"), H], check=True, capture_output=True)
        self.sink = SmtpSink(self.home.tmp, dump=False)
        self.home.control("smtproutes", "test:127.0.0.1:%d\ndead.test:127.0.0.1:9\n" % self.sink.port)
        self.svscan = None

    def start(self):
        self.svscan = Supervised(self.H)
        if not eventually(lambda: "status:" in self.log(), 60):
            sys.exit("bench: the set did not start")

    def log(self):
        return s6_log(os.path.join(self.H, "log"))

    def sched_pid(self):
        r = subprocess.run(["s6-svstat", "-p", os.path.join(self.H, "service", "ferry")], capture_output=True, text=True)
        return int(r.stdout.strip() or 0)

    def stop(self):
        if self.svscan:
            self.svscan.stop()
        self.sink.stop()
        self.home.cleanup()

    def ends(self):
        return self.log().count(" end msg ")

    def fabricate(self, n):
        """n messages deferred for an hour to a dead destination, written in the queue format"""
        now = int(time.time())
        for i in range(n):
            mid = FAKE_BASE + i
            sub = str(mid % 23)
            env = b"u0\x00p0\x00t%d\x00Fs@example.com\x00Tr%d@dead.test\x00\x00" % (now, i)
            with open(os.path.join(self.H, "queue", "intd", sub, str(mid)), "wb") as f:
                f.write(env)
            rfn = os.path.join(self.H, "queue", "remote", sub, str(mid))
            with open(rfn, "wb") as f:
                f.write(b"T%016x%08x" % (now + 3600, 0) + b"r%d@dead.test\x00" % i)
            # the time hint ferry-schedule sets on a deferral: the next attempt (doc/queue.html)
            os.utime(rfn, (now, now + 3600))
            with open(os.path.join(self.H, "queue", "mess", sub, str(mid)), "wb") as f:
                f.write(b"Subject: deferred\n\nx\n")
        subprocess.run(["sync"])


def run_load(s, n):
    """4 injectors in parallel, n messages in all; seconds from the first injection to the last end"""
    before = s.ends()
    env = dict(os.environ, FERRY_BIN=BIN)
    t0 = time.time()
    ps = [subprocess.Popen([HELPER, "bench", s.H, str(n // 4), "4096"], env=env, stdout=subprocess.DEVNULL) for _ in range(4)]
    for p in ps:
        if p.wait():
            sys.exit("bench: an injector failed")
    if not eventually(lambda: s.ends() >= before + n, 600):
        sys.exit("bench: not every message was delivered")
    return time.time() - t0


def measure(remote, deferred):
    s = Set(remote)
    try:
        if deferred:
            s.fabricate(deferred)
        s.start()
        if deferred and not eventually(lambda: ("%d messages, %d recipients to deliver (queue loaded" % (deferred, deferred)) in s.log(), 600):
            sys.exit("bench: the deferred messages were not loaded")
        t = run_load(s, N)
        return N / t
    finally:
        s.stop()


def restart_and_memory():
    s = Set(True)
    try:
        s.start()
        empty = rss_kb(s.sched_pid())
        subprocess.run(["s6-svc", "-d", os.path.join(s.H, "service", "ferry")], check=True)
        eventually(lambda: "ferry-schedule: stopped" in s.log(), 60)
        s.fabricate(DEFERRED)
        # one message due now among them, delivered: its id must be its message file's inode
        # (the remote channel checks it), so the file is written first and named after it
        tmp = os.path.join(s.H, "queue", "mess", "due.tmp")
        with open(tmp, "wb") as f:
            f.write(b"Subject: now\n\nx\n")
        mid = os.stat(tmp).st_ino
        sub = str(mid % 23)
        os.rename(tmp, os.path.join(s.H, "queue", "mess", sub, str(mid)))
        with open(os.path.join(s.H, "queue", "intd", sub, str(mid)), "wb") as f:
            f.write(b"u0\x00p0\x00t%d\x00Fs@example.com\x00Tnow@test\x00\x00" % int(time.time()))
        with open(os.path.join(s.H, "queue", "remote", sub, str(mid)), "wb") as f:
            f.write(b"T%016x%08x" % (0, 0) + b"now@test\x00")
        subprocess.run(["sync"])
        marker = len(s.log())
        t0 = time.time()
        subprocess.run(["s6-svc", "-u", os.path.join(s.H, "service", "ferry")], check=True)
        if not eventually(lambda: "starting delivery" in s.log()[marker:], 120):
            sys.exit("bench: no first delivery after the restart")
        first = time.time() - t0
        eventually(lambda: re.search(r" end msg [0-9A-Z]{11}\.%d\n" % mid, s.log()), 60)
        if not eventually(lambda: "queue loaded in" in s.log()[marker:], 120):
            print(s.log()[marker:][-3000:], file=sys.stderr)
            sys.exit("bench: the queue did not load")
        loaded = re.search(r"\(queue loaded in (\d+) s\)", s.log()[marker:]).group(1)
        full = rss_kb(s.sched_pid())
        return first, empty, full, int(loaded)
    finally:
        s.stop()


rows = []
for remote in (False, True):
    e = [measure(remote, 0) for _ in range(RUNS)]
    d = [measure(remote, DEFERRED) for _ in range(1 if DEFERRED >= 50000 else RUNS)]
    rows.append((remote, e, d))
first, empty, full, loaded = restart_and_memory()

print("## The whole set (end to end)\n")
print("%d messages of 4 KiB per measurement from 4 ferry-inject processes in parallel (each a fork and exec)," % N)
print("timed from the first injection to the last `end msg` log line; the set under s6-svscan with the default")
print("settings; local mail to one Maildir through a catch-all, remote mail to smtp-sink on 127.0.0.1. The")
print("deferred queue is %d messages written in the queue format (one recipient each, deferred for an hour" % DEFERRED)
print("to a dead destination) before the set starts. N = %d; median of %d runs, each in brackets (the deferred" % (N, RUNS))
print("rows: %d run%s).\n" % ((1, "") if DEFERRED >= 50000 else (RUNS, "s")))
print("| channel | queue | messages per second |")
print("|---|---|---|")
for remote, e, d in rows:
    ch = "remote" if remote else "local"
    print("| %s | empty | %.0f [%s] |" % (ch, median(e), " ".join("%.0f" % x for x in e)))
    print("| %s | %d deferred | %.0f [%s] (%.0f%% of empty) |" % (ch, DEFERRED, median(d), " ".join("%.0f" % x for x in d), 100 * median(d) / median(e)))
print("\nRestart with %d deferred messages queued and one due: first delivery %.2f s after `s6-svc -u`; the whole" % (DEFERRED, first))
print("queue loaded %d s after it (ferry-schedule's log). The due message's recipient file is found by its time" % loaded)
print("hint (doc/queue.html) and loaded first; the deferred ones load in chunks while delivery runs.")
print("ferry-schedule's resident memory: %d KiB with the queue empty, %d KiB with %d recipients queued:" % (empty, full, DEFERRED + 1))
print("%.0f bytes per queued recipient (the recipient's record, its address and its message's).\n" % ((full - empty) * 1024.0 / (DEFERRED + 1)))
print("End-to-end rates include the injection: 4 injectors each fork and exec ferry-inject per message, and")
print("each injection makes 4 sync calls; compare the injection table below, measured alone.\n")
print("<!-- figure queue.n %d -->" % N)
print("<!-- figure queue.deferred %d -->" % DEFERRED)
for remote, e, d in rows:
    print("<!-- figure queue.%s.deferred_pct %.1f -->" % ("remote" if remote else "local", 100 * median(d) / median(e)))
print("<!-- figure queue.restart_first_s %.2f -->" % first)
print("<!-- figure queue.bytes_per_rcpt %.0f -->" % ((full - empty) * 1024.0 / (DEFERRED + 1)))
