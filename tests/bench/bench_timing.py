"""The timing conventions every benchmark run follows: no file of the run before freed less than
AGED seconds ago, the machine idle before the timed part, a run made again when the host stole
much of the machine or other jobs took much of a core; and a perf profile of the timed part on
request (MTA_PERF)."""

import os
import subprocess
import sys
import tempfile
import time

from bench_proc import cpu_busy


# a run during which the host took more than this share of the machine's cores (steal) is
# made again, at most ATTEMPTS times in all, whichever system it measured
MAX_STOLEN = 0.10
# nor while other jobs on the machine (not the system measured, its sink, the harness) took more
# than this share of one core
MAX_OTHERS = 0.05
ATTEMPTS = 3
AGED = int(os.environ.get("MTA_AGED", "65"))   # seconds after a removal before its inodes count as old
                                                # (see below; lower only for a quick check of the harness)
last_teardown = [0.0]


def sync_settle(timed):
    """Everything dirty written back (sync(2)), and no file of the previous run freed less than
    AGED seconds ago. On ext4 without a journal (this project's test machine) a new inode skips
    every inode freed in the last 60 seconds (recently_deleted in fs/ext4/ialloc.c), so the run
    that follows the removal of another run's 15,000 to 25,000 files pays for them in each file
    it creates. Postfix's injection lasts over two minutes, ferry's 20 seconds: without this,
    only ferry's drain started inside that window."""
    os.sync()
    wait = AGED - (time.time() - last_teardown[0])
    if timed and wait > 0:
        time.sleep(wait)


COLD = os.environ.get("MTA_COLD", "")


def cold_cache():
    """With MTA_COLD (as root), before a drain's timed part: everything written back, then what
    /proc/sys/vm/drop_caches is told: 1 the page cache (the files' data, as the kernel's pageout
    of memory unused for a while leaves it), 3 the dentries and inodes too (as after a reboot);
    so that the drain reads its queue from the disk. Without it, nothing."""
    if not COLD:
        return
    if COLD not in ("1", "3"):
        sys.exit("bench: MTA_COLD is 1 (the page cache) or 3 (dentries and inodes too)")
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write(COLD + "\n")


QUIET = float(os.environ.get("MTA_QUIET", "0.1"))   # of one core: the most an idle machine may be busy
QUIET_WAIT = 900                                     # seconds: the longest wait for it


def wait_quiet():
    """Waits until the machine is idle before a timed part: over 2 seconds, with the system
    measured idle (drain: stopped; e2e: nothing injected yet), at most QUIET of one core busy
    (this machine is shared: another job's build or tests would be timed with the system); at
    most QUIET_WAIT seconds, then the run goes on all the same. Says on stderr when it waited.
    MTA_QUIET=0 turns it off (a quick check of the harness)."""
    if QUIET <= 0:
        return
    start = time.time()
    said = False
    while True:
        b0 = cpu_busy()[0]
        time.sleep(2)
        busy = (cpu_busy()[0] - b0) / 2
        if busy <= QUIET:
            break
        if not said and time.time() - start > 10:
            print("bench: waiting for the machine to be idle (%.2f of a core busy; at most %d s)" % (busy, QUIET_WAIT),
                  file=sys.stderr, flush=True)
            said = True
        if time.time() - start > QUIET_WAIT:
            print("bench: the machine is still busy (%.2f of a core) after %d s: timed all the same" % (busy, QUIET_WAIT),
                  file=sys.stderr, flush=True)
            return
    if time.time() - start > 3:
        print("bench: waited %.0f s for the machine to be idle" % (time.time() - start), file=sys.stderr, flush=True)


class Profile:
    """perf record -a over the timed part when MTA_PERF holds its options (say "-g -e
    sched:sched_switch" for where processes wait); the data file is named on stderr"""

    def __init__(self, tag):
        self.p = None
        if not os.environ.get("MTA_PERF"):
            return
        self.out = tempfile.mktemp(prefix="ferry-bench-%s." % tag, suffix=".data")
        self.p = subprocess.Popen(["perf", "record", "-a", "-q", "-o", self.out] + os.environ["MTA_PERF"].split(),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)

    def stop(self):
        if self.p:
            self.p.send_signal(2)
            self.p.wait()
            print("bench: profile in %s" % self.out, file=sys.stderr, flush=True)
            self.p = None
