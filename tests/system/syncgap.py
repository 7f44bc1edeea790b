"""The syncs of ferry-preprocess-todo and of the queue owner's ferry-clean, spaced: under a steady
stream of mail (4 clients of ferry-injectd at once, 400 messages, each committed by itself or with
a few others), the set and ferry-injectd run under strace (--seccomp-bpf: only syncfs stops a
process, so the programs run at their own pace), and each one's syncs of the file system start 10 ms
apart or more (the median gap: strace's report of one call can come late, shortening one gap and
lengthening the next), so that a sync serves several commits: fewer syncs than three quarters of
ferry-injectd's commits. (Without the spacing, the same load made ferry-preprocess-todo sync 1 to
4 ms apart here.) The stream itself came faster than that: the median gap of
ferry-injectd's syncs (its commits) is under 10 ms, else the test could not fail and says it is
skipped. Every message is delivered once and the queue ends empty."""

import os
import shutil
import statistics
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import Home, Supervised, eventually, expect, injectd_chunks, injectd_talk, s6_log, stop_all, syncfs_starts  # noqa: E402

if not shutil.which("strace"):
    print("skipped: strace is not installed (it counts the syncs)")
    sys.exit(77)

N = 400
CLIENTS = 4
home = Home()
H = home.path
stops = []


def log():
    return s6_log(os.path.join(H, "log"))


def traced_run(service, prefix):
    """the service's program run under strace, one trace file a process: prefix.PID"""
    run = os.path.join(H, "service", service, "run")
    lines = open(run).read().rstrip("\n").split("\n")
    lines[-1] = "strace -f --seccomp-bpf -qq -ttt -e trace=syncfs -ff -o %s %s" % (prefix, lines[-1])
    open(run, "w").write("\n".join(lines) + "\n")


def program_of(service, comm):
    """the one child named comm of the service's process (strace)"""
    r = subprocess.run(["s6-svstat", "-p", os.path.join(H, "service", service)], capture_output=True, text=True)
    try:
        top = int(r.stdout)
    except ValueError:
        return None
    r = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(top)], capture_output=True, text=True)
    kids = [int(x.split()[0]) for x in r.stdout.splitlines() if x.split()[1:] == [comm]]
    return kids[0] if len(kids) == 1 else None


def members(pid):
    """FERRY_MEMBERS of the queue manager: preprocess, local, remote, the queue owner's clean, its own clean"""
    env = open("/proc/%d/environ" % pid, "rb").read().split(b"\0")
    for e in env:
        if e.startswith(b"FERRY_MEMBERS="):
            return [int(x) for x in e[14:].split(b",")]
    return []


def gaps(v):
    return [b - a for a, b in zip(v, v[1:])]


def delivered():
    d = os.path.join(mail, "Maildir", "new")
    return len(os.listdir(d)) if os.path.isdir(d) else 0


try:
    mail = os.path.dirname(home.catchall())
    traces = os.path.join(home.tmp, "trace")
    traced_run("ferry", traces + ".set")
    traced_run("ferry-injectd", traces + ".injectd")
    svscan = Supervised(H)
    stops.append(svscan.stop)
    expect(eventually(lambda: "status:" in log() and program_of("ferry", "ferry-schedule") and program_of("ferry-injectd", "ferry-injectd")
                      and os.path.exists(os.path.join(H, "public", "inject")), 20), "the set and ferry-injectd start, under strace")
    m = members(program_of("ferry", "ferry-schedule"))
    inj_pid = program_of("ferry-injectd", "ferry-injectd")
    expect(len(m) == 5, "the queue manager names its members", m)
    answers = []

    def client(k):
        for i in range(N // CLIENTS):
            body = b"Subject: gap %d-%d\n\nbody\n" % (k, i)
            answers.append(injectd_talk(home, injectd_chunks(body) + b"Fs@example.org\0Tgap%d-%d@example.org\0\0" % (k, i)))
    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    expect(len(answers) == N and all(a.startswith("0 ") for a in answers), "ferry-injectd queues the %d messages" % N,
           [a for a in answers if not a.startswith("0 ")][:3])
    expect(eventually(lambda: delivered() == N and not home.queue_files(("todo", "mess", "intd", "local")), 60),
           "the %d messages are delivered and the queue ends empty" % N, (delivered(), log()[-400:]))
    inj, pre, clean = syncfs_starts("%s.injectd.%d" % (traces, inj_pid)), syncfs_starts("%s.set.%d" % (traces, m[0])), syncfs_starts("%s.set.%d" % (traces, m[3]))
    commits = statistics.median(gaps(inj)) if len(inj) > 1 else 1
    print("ferry-injectd: %d syncs, median gap %.4f s; ferry-preprocess-todo: %d; ferry-clean: %d"
          % (len(inj), commits, len(pre), len(clean)))
    if commits >= 0.010:
        print("skipped: the commits came %.1f ms apart (median): slower than the gap, so spacing cannot show here" % (commits * 1000))
        skip = True
    else:
        skip = False
        for name, v in (("ferry-preprocess-todo", pre), ("the queue owner's ferry-clean", clean)):
            expect(len(v) >= 5, "%s synced the file system several times" % name, len(v))
            expect(statistics.median(gaps(v)) >= 0.009, "%s: two syncs of the file system start 10 ms apart or more" % name,
                   ["%.4f" % g for g in gaps(v)][:40])
            expect(len(v) < 0.75 * len(inj), "%s: fewer syncs than three quarters of ferry-injectd's commits (%d): one serves several" % (name, len(inj)), len(v))
    subjects = []
    d = os.path.join(mail, "Maildir", "new")
    for f in os.listdir(d):
        subjects.append(open(os.path.join(d, f), "rb").read().split(b"Subject: ", 1)[1].split(b"\n", 1)[0])
    expect(len(set(subjects)) == N == len(subjects), "each message delivered once", (len(subjects), len(set(subjects))))
finally:
    stop_all(stops)
    home.cleanup()
if skip:
    sys.exit(77)
