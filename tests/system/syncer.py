"""The queue manager's syncer: ferry-schedule hands each round's marks to a child process to sync,
and goes on meanwhile. Tried: the syncer stopped (SIGSTOP) while messages are delivered; the
deliveries go on, but no message delivered meanwhile is finished (its files stay, no end msg) until
the syncer runs again (SIGCONT). Then the syncer killed while a sync waits: the set says so,
stops, and s6 starts it again; every message is delivered once and the queue ends empty. Then a
load: the local channel stopped while 300 messages come in, then let go, so that rounds end one
after another; traced with strace, the syncer's syncs of the file system start 10 ms apart or
more (back to back, on this kind of machine, they were 1 to 6 ms apart). Then the set stopped: the
syncer goes with it."""

import mailbox
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import Home, Supervised, eventually, expect, fail, s6_log, stop_all, syncfs_starts  # noqa: E402

home = Home()
H = home.path
stops = []
syncer = None


def log():
    return s6_log(os.path.join(H, "log"))


def subjects():
    return sorted(m["Subject"] for m in mailbox.Maildir(os.path.join(mail, "Maildir"), factory=None, create=False))


def schedule_pid():
    r = subprocess.run(["s6-svstat", "-p", os.path.join(H, "service", "ferry")], capture_output=True, text=True)
    try:
        pid = int(r.stdout)
        return pid if open("/proc/%d/comm" % pid).read().strip() == "ferry-schedule" else None
    except (ValueError, OSError):
        return None


def child_of(pid, comm):
    """the one child of pid with that command name (ps's, cut at 15 characters)"""
    r = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(pid)], capture_output=True, text=True)
    kids = [int(x.split()[0]) for x in r.stdout.splitlines() if x.split()[1:] == [comm]]
    return kids[0] if len(kids) == 1 else None


def syncer_of(pid):
    """the queue manager's child that is a ferry-schedule too"""
    return child_of(pid, "ferry-schedule")


def traced(pid):
    try:
        return any(line.split()[1:] != ["0"] for line in open("/proc/%d/status" % pid) if line.startswith("TracerPid:"))
    except OSError:
        return False


def files_of(i):
    return [p for p in home.queue_files(("mess", "intd", "local")) if p.endswith("/%d" % i)]


def inject(subject):
    i = home.inject(b"Subject: %s\n\nbody\n" % subject.encode(), "snd@example.org", ["%s@example.org" % subject], running=True)
    if i is None:
        fail("the message %s was gone at once" % subject)
    return i


try:
    mail = os.path.dirname(home.catchall())
    svscan = Supervised(H)
    stops.append(svscan.stop)
    expect(eventually(lambda: "status:" in log() and schedule_pid(), 20), "the set starts")
    top = schedule_pid()
    syncer = syncer_of(top)
    expect(syncer is not None, "ferry-schedule has one child that is its syncer, running as it does")

    # 1. the syncer stopped: deliveries go on, nothing finishes until it runs again
    os.kill(syncer, 19)   # SIGSTOP
    a = inject("first")
    expect(eventually(lambda: subjects() == ["first"], 20), "with the syncer stopped, a message is delivered", log()[-400:])
    b = inject("second")
    expect(eventually(lambda: subjects() == ["first", "second"], 20),
           "and another after it: the queue manager does not wait for the sync it asked for", log()[-400:])
    expect("end msg" not in log() and files_of(a) and files_of(b),
           "neither is finished: their files stay in the queue while their marks are not synced",
           (files_of(a), files_of(b), log()[-400:]))
    os.kill(syncer, 18)   # SIGCONT
    expect(eventually(lambda: log().count("end msg") == 2 and not files_of(a) and not files_of(b), 20),
           "the syncer runs again: both are finished, their files removed", log()[-400:])

    # 2. the syncer killed while a sync waits: the set stops and starts again, nothing lost or doubled
    starts = log().count("ferry-schedule: starting")
    os.kill(syncer, 19)
    c = inject("third")
    expect(eventually(lambda: subjects() == ["first", "second", "third"], 20), "a third message is delivered", log()[-400:])
    os.kill(syncer, 9)
    expect(eventually(lambda: "ferry-schedule: fatal: the syncer died: the set stops, and s6 starts it again" in log()
                      or "ferry-schedule: fatal: the syncer is gone: the set stops, and s6 starts it again" in log(), 20),
           "the syncer killed: the queue manager says so and stops", log()[-400:])
    expect(eventually(lambda: log().count("ferry-schedule: starting") > starts and schedule_pid() not in (None, top), 20),
           "s6 starts the set again", log()[-400:])
    expect(eventually(lambda: not files_of(c) and not home.queue_files(("todo", "local", "remote", "pid")), 20),
           "the third message is finished after the restart; the queue is empty", home.queue_files())
    expect(subjects() == ["first", "second", "third"], "each message delivered once", subjects())

    # 3. under load, the syncs of the file system start at least 10 ms apart
    top = schedule_pid()
    syncer = syncer_of(top)
    expect(syncer is not None, "the new queue manager has its syncer")
    local = child_of(top, "ferry-spawn-loc")
    expect(local is not None, "the queue manager has its local channel")
    trace = tempfile.mktemp(prefix="ferry-syncer.", suffix=".trace")
    st = subprocess.Popen(["strace", "-qq", "-ttt", "-e", "trace=syncfs", "-o", trace, "-p", str(syncer)])
    try:
        expect(eventually(lambda: traced(syncer), 10), "strace follows the syncer")
        os.kill(local, 19)   # SIGSTOP: the deliveries wait, the messages come in
        try:
            for k in range(300):
                home.inject(b"Subject: load%d\n\nbody\n" % k, "snd@example.org", ["load%d@example.org" % k], running=True)
        finally:
            os.kill(local, 18)
        expect(eventually(lambda: log().count("end msg") >= 303 and not home.queue_files(("mess", "todo")), 60),
               "the 300 messages are delivered and finished", log()[-400:])
    finally:
        st.send_signal(2)
        st.wait()
        starts = []
        if os.path.exists(trace):   # strace may have failed before writing it
            starts = syncfs_starts(trace)
            os.unlink(trace)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    expect(len(starts) >= 5, "the load made the syncer sync the file system several times", starts)
    # the median: a delay in strace's report of one call shortens one gap and lengthens the next
    expect(statistics.median(gaps) >= 0.009, "under load, two syncs of the file system start 10 ms apart or more",
           ["%.4f" % g for g in gaps])
    expect(len(subjects()) == 303, "each message delivered once", len(subjects()))

    # 4. the set stopped: its syncer goes with it
    subprocess.run(["s6-svc", "-d", os.path.join(H, "service", "ferry")], check=True)
    expect(eventually(lambda: "ferry-schedule: stopped" in log() and not os.path.exists("/proc/%d" % syncer), 20),
           "s6-svc -d: the queue manager stops, and its syncer is gone", log()[-300:])
finally:
    if syncer:
        try:
            os.kill(syncer, 18)   # a stopped syncer would keep its queue manager from stopping
        except OSError:
            pass
    stop_all(stops)
    home.cleanup()
