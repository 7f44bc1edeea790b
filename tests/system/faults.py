"""File-system faults, made by a preloaded shim (tests/shim/failshim.c) in one program of the
running set while a switch file exists, then repaired by removing the file. Tried: every fsync and
syncfs of the local channel failing with EIO; its writes failing with ENOSPC (a full disk); the
creation of ferry-preprocess-todo's files failing with EIO; the queue manager's syncs of its marks
failing with EIO; ferry-clean's syncs failing with EIO (retried by itself); a read-only queue at injection (a read-only bind mount, EROFS from the kernel); a message file removed
under the set's feet. Each: a clear log line or exit code, a temporary failure, nothing left
half-written, and once the fault is gone every message delivered, none lost."""

import mailbox
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Home, Supervised, eventually, expect, s6_log, stop_all  # noqa: E402

TOP = os.environ["FERRY_TOP"]
SHIM = os.path.join(TOP, "build", "tests", "failshim.so")
home = Home()
H = home.path
stops = []
switch = os.path.join(home.tmp, "broken")
envdir = os.path.join(home.tmp, "faultenv")
os.makedirs(envdir)


def log():
    return s6_log(os.path.join(H, "log"))


def svc(*args):
    subprocess.run(["s6-svc"] + list(args) + [os.path.join(H, "service", "ferry")], check=True)


def subjects():
    return [m["Subject"] for m in mailbox.Maildir(os.path.join(mail, "Maildir"), factory=None, create=False)]


def queue_empty():
    return not home.queue_files(("todo", "local", "remote", "pid", "bounce"))


def fault(prog, calls, err):
    """the set restarted with the shim set on prog; the switch is on"""
    open(switch, "w").close()
    env = {"LD_PRELOAD": SHIM, "FAILSHIM_PROG": prog, "FAILSHIM_CALLS": calls, "FAILSHIM_ERRNO": str(err), "FAILSHIM_SWITCH": switch}
    for k, v in env.items():
        with open(os.path.join(envdir, k), "w") as f:
            f.write(v + "\n")
    restart()


def restart():
    starts = log().count("ferry-schedule: starting")
    svc("-t")
    expect(eventually(lambda: log().count("ferry-schedule: starting") > starts, 20), "the set restarts")


def schedule_ready():
    """true when the service's process is ferry-schedule taking SIGALRM (blocked, for its
    signalfd, or caught): s6-svc -a sent to its run script or to ferry-start, before the exec,
    would kill it instead"""
    r = subprocess.run(["s6-svstat", "-p", os.path.join(H, "service", "ferry")], capture_output=True, text=True)
    try:
        pid = int(r.stdout)
        comm = open("/proc/%d/comm" % pid).read().strip()
        masks = [int(x.split()[1], 16) for x in open("/proc/%d/status" % pid) if x.startswith(("SigBlk:", "SigCgt:"))]
    except (ValueError, OSError):
        return False
    return pid > 0 and comm == "ferry-schedule" and any(m >> (signal.SIGALRM - 1) & 1 for m in masks)


def repair():
    """the switch removed (the shim looks for it at every call, so the next one works), then every
    deferred recipient retried now: s6-svc -a to a ferry-schedule that catches it, until its log
    says it did (once more if the set was between two runs)"""
    os.unlink(switch)
    line = "ferry-schedule: SIGALRM: retrying every deferred recipient now"
    alarms = log().count(line)
    deadline = time.time() + 30
    while time.time() < deadline:
        if eventually(schedule_ready, max(0, deadline - time.time()), 0.05):
            svc("-a")
            if eventually(lambda: log().count(line) > alarms, 5):
                break
    expect(log().count(line) > alarms, "repaired: ferry-schedule retries every deferred recipient now (SIGALRM)", log()[-400:])


def inject(subject, rcpt):
    return home.inject(b"Subject: %s\n\nbody\n" % subject.encode(), "snd@example.org", [rcpt], running=True)


try:
    mail = os.path.dirname(home.catchall())
    home.control("minbackoff", "1\n")
    home.control("maxbackoff", "1\n")
    # the set's run script (execline) takes the shim's settings from an envdir, empty at first
    run = os.path.join(H, "service", "ferry", "run")
    lines = open(run).read().split("\n")
    lines.insert(2, "s6-envdir %s" % envdir)
    with open(run, "w") as f:
        f.write("\n".join(lines))
    svscan = Supervised(H)
    stops.append(svscan.stop)
    expect(eventually(lambda: "ferry-schedule: starting" in log(), 20), "the set starts")

    # 1. the local channel's syncs fail (EIO): deferred, nothing in the Maildir, then delivered once
    fault("ferry-spawn-local", "fsync,fdatasync,syncfs", 5)
    for i in range(3):
        inject("sync%d" % i, "u%d@example.org" % i)
    expect(eventually(lambda: len(re.findall(r"to u[0-9]@example.org: deferral: .*Input/output error", log())) >= 3, 20),
           "each delivery is deferred with the error in the log", log()[-500:])
    md = lambda d: os.listdir(os.path.join(mail, "Maildir", d))  # noqa: E731
    expect(not md("new") and not md("tmp"), "nothing in new/ or tmp/: a delivery that could not be synced is not there", (md("new"), md("tmp")))
    repair()
    expect(eventually(lambda: sorted(subjects()) == ["sync0", "sync1", "sync2"] and queue_empty(), 20),
           "repaired: each delivered once, the queue empty", (subjects(), log()[-400:]))

    # 2. the local channel's writes fail (ENOSPC): a full disk
    fault("ferry-spawn-local", "write", 28)
    inject("full", "f@example.org")
    expect(eventually(lambda: re.search(r"to f@example.org: deferral: .*No space left on device \(disk full or over quota\)", log()), 20),
           "deferred: disk full, said so", log()[-400:])
    expect(len(md("new")) == 3 and not md("tmp"), "no partial file left")
    repair()
    expect(eventually(lambda: subjects().count("full") == 1 and queue_empty(), 20), "repaired: delivered once")

    # 3. ferry-preprocess-todo can neither create its files nor take them from its pool (EIO): the
    #    message waits in todo/
    fault("ferry-preprocess-todo", "create,rename", 5)
    pid = inject("prep", "p@example.org")
    expect(eventually(lambda: "ferry-preprocess-todo: warning: unable to write the recipients of queue/todo/" in log(), 20),
           "its warning names the todo entry", log()[-400:])
    # its own next scan (1 s later) fails on the same todo entry: by then it was still there, so
    # the queue manager had not been told of it (it has ferry-clean remove the entry first)
    split = int(open(os.path.join(H, "control", "queuesplit")).read())
    entry = "unable to write the recipients of queue/todo/%d/%d:" % (pid % split, pid)
    expect(eventually(lambda: log().count(entry) >= 2, 20), "its next scan tries the message again, and fails again", log()[-400:])
    expect(any(p.endswith("/%d" % pid) for p in home.queue_files(("todo",))) and "prep" not in subjects(),
           "the message is still committed in todo/, not delivered")
    repair()
    expect(eventually(lambda: subjects().count("prep") == 1 and queue_empty(), 20), "repaired: prepared and delivered once")

    # 4. the queue manager cannot sync its marks (EIO): the set stops, s6 starts it again; once
    #    repaired everything is delivered; a delivery whose mark was lost is made again (counted)
    fault("ferry-schedule", "fsync,fdatasync,syncfs", 5)
    starts = log().count("ferry-schedule: starting")
    for i in range(3):
        inject("mark%d" % i, "m%d@example.org" % i)
    expect(eventually(lambda: re.search(r"ferry-schedule: warning: unable to sync a recipient file \(the set stops\)|"
                                        r"ferry-schedule: warning: unable to syncfs the queue \(the set stops\)", log()), 20),
           "it says it cannot sync and stops", log()[-400:])
    expect(eventually(lambda: log().count("ferry-schedule: starting") > starts, 20), "s6 starts the set again, the fault still on", log()[-400:])
    repair()
    expect(eventually(lambda: all(subjects().count("mark%d" % i) >= 1 for i in range(3)) and queue_empty(), 30),
           "repaired: all three delivered, the queue empty", (subjects(), log()[-400:]))
    dups = sum(subjects().count("mark%d" % i) - 1 for i in range(3))
    print("faults: marks not synced: %d duplicate deliveries while the fault lasted (a restart of the set at least)" % dups)

    # 4b. ferry-clean's syncs fail (EIO): the todo removals wait, ferry-clean tries again with a
    #     growing delay, one warning each time; once the disk works, everything goes on by itself
    fault("ferry-clean", "fsync,fdatasync,syncfs", 5)
    starts = log().count("ferry-schedule: starting")
    for i in range(3):
        inject("clean%d" % i, "c%d@example.org" % i)
    fails = lambda: re.findall(r"ferry-clean: warning: unable to sync [^:]*: Input/output error: trying again in ([0-9]+) s", log())  # noqa: E731
    expect(eventually(lambda: len(fails()) >= 3, 20), "each failed sync is logged with its next delay", log()[-600:])
    expect([int(d) for d in fails()[:3]] == [1, 2, 4], "the delay grows", fails())
    expect(not any(s_.startswith("clean") for s_ in subjects()), "nothing delivered while the todo removals are not durable")
    os.unlink(switch)
    expect(eventually(lambda: sorted(s_ for s_ in subjects() if s_.startswith("clean")) == ["clean0", "clean1", "clean2"] and queue_empty(), 30),
           "repaired: all three delivered once by themselves, the queue empty", (subjects(), log()[-600:]))
    expect("ferry-clean: info: the queue syncs again" in log(), "the recovery is logged", log()[-600:])
    expect(log().count("ferry-schedule: starting") == starts, "without a restart of the set")

    # 5. a message file removed under the set's feet (the set stopped, one message queued)
    for k in os.listdir(envdir):
        os.unlink(os.path.join(envdir, k))
    svc("-d")
    expect(eventually(lambda: "ferry-schedule: stopped" in log(), 20), "the set stops")
    gone = home.inject(b"Subject: gone\n\nbody\n", "snd@example.org", ["g@example.org"])
    os.unlink(os.path.join(H, "queue", "mess", str(gone % 23), str(gone)))
    svc("-u")
    expect(eventually(lambda: re.search(r"msg [0-9A-Z]{11}\.%d to g@example.org: deferral: unable to open queue/mess/[0-9]+/%d: No such file or directory" % (gone, gone), log()), 20),
           "a delivery of a message without its file is deferred, the log naming the missing file", log()[-500:])
    inject("after", "a@example.org")
    expect(eventually(lambda: subjects().count("after") == 1, 20), "the rest of the queue flows")

    # 6. injection into a read-only queue: the queue bind-mounted read-only in a mount namespace
    # of its own (a real EROFS from the kernel: ferry-inject is static, no shim reaches it)
    before = set(home.queue_files(("pid", "mess", "intd", "todo")))
    q = os.path.join(H, "queue")
    ns = ["unshare", "-m"] + ([] if os.getuid() == 0 else ["-r"])
    ro = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    r_, w_ = os.pipe()
    os.write(w_, b"Fs@x.test\0Tro@example.org\0\0")
    os.close(w_)
    p = subprocess.run(ns + ["sh", "-c", ro, "sh", q, os.path.join(BIN, "ferry-inject"), H], input=b"Subject: ro\n\nx\n", stdout=r_, stderr=subprocess.PIPE)
    os.close(r_)
    if b"mount" in p.stderr or b"unshare" in p.stderr:
        print("note: no read-only bind mount here (%s): the read-only queue is not tried" % p.stderr.decode(errors="replace").strip())
    else:
        expect(p.returncode in (53, 63, 64, 65, 66) and b"Read-only file system" in p.stderr,
               "a read-only queue: ferry-inject exits %d (temporary) and says why" % p.returncode, p.stderr)
        expect(not set(home.queue_files(("pid", "mess", "intd", "todo"))) - before, "nothing of it is left in the queue")
finally:
    stop_all(stops)
    home.cleanup()
