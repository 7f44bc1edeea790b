"""A queue's split cannot change while it holds mail (doc/queue.html). With 20 committed messages
and control/queuesplit changed from 23 to 31: ferry-inject, ferry-qread, ferry-qstat, ferry-clean
sweep, ferry-setup -c, ferry-schedule and ferry-preprocess-todo started by hand, and the set under
s6 all refuse, naming both numbers, and not one queue file goes, even 40 hours old; with 23 put
back, all 20 are delivered. Then ferry-clean sweep on old files removes no message that has an
envelope, whatever numbered subdirectory its files are in, and still removes a leftover. Without
queue/split, every program refuses and says to run ferry-setup, which writes it."""

import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Home, Supervised, eventually, expect, s6_log  # noqa: E402

home = Home()
H = home.path
svscan = None


def run(prog, *args, stdin=None):
    return subprocess.run([os.path.join(BIN, prog)] + list(args), input=stdin, capture_output=True)


def age(paths, hours=40):
    old = time.time() - hours * 3600
    for p in paths:
        os.utime(p, (old, old))


def snapshot():
    return sorted(home.queue_files(("todo", "intd", "mess", "local", "remote", "pid")))


def names_both(text):
    return "control/queuesplit says 31 but the queue was made with 23" in text and "put 23 back" in text


try:
    md = home.catchall()
    expect(open(os.path.join(H, "queue", "split")).read() == "23\n", "ferry-setup records the split in queue/split")
    for i in range(20):
        home.inject(b"Subject: qs %d\n\nbody %d\n" % (i, i), "", ["u%d@example.org" % i])
    age(home.queue_files(("todo", "intd", "mess")))
    before = snapshot()
    expect(len(home.queue_files(("todo",))) == 20, "20 committed messages")

    home.control("queuesplit", "31\n")
    # ferry-inject reads its envelope on fd 1: give it one through a pipe
    rd, wr = os.pipe()
    os.write(wr, b"F\0Tx@example.org\0\0")
    os.close(wr)
    p = subprocess.run([os.path.join(BIN, "ferry-inject"), H], input=b"Subject: late\n\nx\n", stdout=rd, stderr=subprocess.PIPE)
    os.close(rd)
    expect(p.returncode == 55 and names_both(p.stderr.decode()), "ferry-inject exits 55 (configuration), naming both numbers",
           (p.returncode, p.stderr))
    for prog, args in (("ferry-qread", [H]), ("ferry-qstat", [H]), ("ferry-clean", ["sweep", H]),
                       ("ferry-schedule", [H]), ("ferry-preprocess-todo", [H])):
        r = run(prog, *args, stdin=b"")
        expect(r.returncode == 111 and names_both(r.stderr.decode()), "%s refuses, naming both numbers" % " ".join([prog] + args[:-1]),
               (r.returncode, r.stdout, r.stderr))
    r = run("ferry-setup", "-c", H)
    expect(r.returncode == 1 and names_both(r.stdout.decode()), "ferry-setup -c reports the changed split (exit 1)", (r.returncode, r.stdout))
    r = run("ferry-setup", "-b", BIN, H)
    expect(r.returncode == 111 and names_both(r.stderr.decode()) and not os.path.exists(os.path.join(H, "queue", "mess", "30")),
           "ferry-setup refuses and makes no subdirectory for 31", (r.returncode, r.stderr))

    svscan = Supervised(H)
    logd = os.path.join(H, "log")
    expect(eventually(lambda: names_both(s6_log(logd)), 20), "the set under s6 refuses to start, and its log says why", s6_log(logd)[-500:])
    expect(snapshot() == before, "not one queue file was removed or added")
    expect(len(os.listdir(os.path.join(md, "new"))) == 0, "nothing delivered")

    home.control("queuesplit", "23\n")
    def subjects():
        out = []
        for f in os.listdir(os.path.join(md, "new")):
            m = re.search(rb"\nSubject: (qs \d+)\n", open(os.path.join(md, "new", f), "rb").read())
            if m:
                out.append(m.group(1).decode())
        return sorted(out)
    want = sorted("qs %d" % i for i in range(20))
    expect(eventually(lambda: subjects() == want and not home.queue_files(("todo", "intd", "mess", "local")), 60),
           "with 23 put back, the set starts and delivers all 20, each once", (len(subjects()), s6_log(logd)[-800:]))
    svscan.stop()
    svscan = None

    # the sweep: old files of messages with an envelope stay, in whatever subdirectory they are
    ids = [home.inject(b"Subject: kept %d\n\nx\n" % i, "", ["k%d@example.org" % i]) for i in range(6)]
    q = os.path.join(H, "queue")
    def path(d, msgid, sub=None):
        return os.path.join(q, d, str(msgid % 23 if sub is None else sub), str(msgid))
    # two messages whose files are in a subdirectory the split does not give (put there by
    # another split): their message file, envelope and todo entry
    for msgid in ids[:2]:
        other = (msgid + 5) % 23
        for d in ("mess", "intd", "todo"):
            os.rename(path(d, msgid), path(d, msgid, other))
    # one whose todo entry is gone (prepared elsewhere, say) but whose envelope is there: its
    # message file stays (the envelope, with no todo entry nor recipient file, is an injection's
    # leftover and goes first, then the message file with it: so keep a recipient file for it)
    msgid = ids[2]
    os.unlink(path("todo", msgid))
    open(path("remote", msgid, (msgid + 7) % 23), "w").close()
    # a leftover: a message file alone
    leftover = path("mess", ids[3])
    for d in ("todo", "intd"):
        os.unlink(path(d, ids[3]))
    age(home.queue_files(("todo", "intd", "mess", "remote")))
    before = snapshot()
    r = run("ferry-clean", "sweep", H)
    after = snapshot()
    expect(r.returncode == 0 and sorted(set(before) - set(after)) == [leftover],
           "ferry-clean sweep on 40-hour-old files removes only the message file that has no envelope",
           (r.returncode, r.stdout, r.stderr, sorted(set(before) - set(after))))

    # a queue without queue/split: every program refuses and says how to repair it; ferry-setup -c
    # reports it and a run of ferry-setup writes it
    os.unlink(os.path.join(q, "split"))
    before = snapshot()
    for prog, args in (("ferry-qstat", [H]), ("ferry-qread", [H]), ("ferry-clean", ["sweep", H])):
        r = run(prog, *args, stdin=b"")
        expect(r.returncode == 111 and b"queue/split is missing: run ferry-setup on the home" in r.stderr,
               "without queue/split, %s refuses and says to run ferry-setup" % prog, (r.returncode, r.stderr))
    expect(snapshot() == before, "and no queue file went")
    r = run("ferry-setup", "-c", H)
    expect(r.returncode == 1 and b"missing: queue/split" in r.stdout, "ferry-setup -c reports queue/split missing", r.stdout)
    # the repair never records a split the queue was not made with: control/queuesplit at 2, the
    # queue's 23 subdirectories: refused, nothing written
    ctl = os.path.join(H, "control", "queuesplit")
    open(ctl, "w").write("2\n")
    r = run("ferry-setup", "-b", BIN, H)
    expect(r.returncode == 111 and b"control/queuesplit says 2 but queue/mess has 23 numbered subdirectories" in r.stderr
           and not os.path.exists(os.path.join(q, "split")),
           "ferry-setup refuses to write a split that is not the queue's (111, queue/split not written)", (r.returncode, r.stderr))
    r = run("ferry-setup", "-c", H)
    expect(r.returncode == 1 and b"wrong split" in r.stdout, "and ferry-setup -c reports the wrong split", r.stdout)
    open(ctl, "w").write("23\n")
    r = run("ferry-setup", "-b", BIN, H)
    expect(r.returncode == 0 and b"created queue/split" in r.stdout and open(os.path.join(q, "split")).read() == "23\n",
           "ferry-setup writes queue/split from control/queuesplit", r.stdout + r.stderr)
    r = run("ferry-qstat", H)
    expect(r.returncode == 0 and not r.stderr, "then ferry-qstat runs, with nothing to say on stderr", (r.returncode, r.stderr))
finally:
    if svscan:
        svscan.stop()
    home.cleanup()
print("all checks passed")
