"""Damaged queue files when the queue manager starts: what was tried is a recipient record whose
status byte is garbled (a disk that returned garbage), a recipient file whose last record lost its
final null byte (torn), and an envelope (queue/intd, read by the queue manager) torn the same way. Each message is left alone with a log line naming the file: nothing of it is
delivered, marked or removed, ferry-qread shows it as DAMAGED, and the rest of the queue flows."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Home, Supervised, eventually, expect, stop_all  # noqa: E402
from smtp_peers import free_port  # noqa: E402

home = Home()
H = home.path
stops = []
log = home.log


def svc(*args):
    subprocess.run(["s6-svc"] + list(args) + [os.path.join(H, "service", "ferry")], check=True)


def rpath(msgid, d="remote"):
    return os.path.join(H, "queue", d, str(msgid % 23), str(msgid))


try:
    mail = os.path.dirname(home.catchall())
    home.control("smtproutes", "later.test:127.0.0.1:%d\n" % free_port())
    home.control("timeoutconnect", "2\n")

    svscan = Supervised(H)
    stops.append(svscan.stop)
    expect(eventually(lambda: "ferry-schedule: starting" in log(), 20), "the set starts")
    a = home.inject(b"Subject: a\n\na\n", "s@x.test", ["x@later.test", "y@later.test"], running=True)
    b = home.inject(b"Subject: b\n\nb\n", "s@x.test", ["z@later.test"], running=True)
    d = home.inject(b"Subject: d\n\nd\n", "s@x.test", ["w@later.test"], running=True)
    names = {m: home.name(m) for m in (a, b, d)}
    expect(eventually(lambda: "new msg %s\n" % names[b] in log() and "new msg %s\n" % names[d] in log() and ": deferral: " in log(), 20),
           "all three queued, the remote peer down", log()[-400:])
    svc("-d")
    expect(eventually(lambda: "ferry-schedule: stopped" in log(), 20), "the set stops")

    ra = open(rpath(a), "rb").read()
    open(rpath(a), "r+b").write(b"X")                       # the first record's status garbled
    rb = open(rpath(b), "rb").read()
    with open(rpath(b), "r+b") as f:
        f.truncate(len(rb) - 1)                               # torn: no null byte after the address
    idd = open(rpath(d, "intd"), "rb").read()
    with open(rpath(d, "intd"), "r+b") as f:
        f.truncate(len(idd) - 1)                              # torn: no final empty record
    c = home.inject(b"Subject: c\n\nc\n", "s@x.test", ["u@example.org"])
    svc("-u")
    expect(eventually(lambda: len(os.listdir(os.path.join(mail, "Maildir", "new"))) == 1, 20),
           "a message injected meanwhile is delivered: the damage stops nothing else")
    text = log()
    expect("ferry-schedule: warning: a garbled recipient record in queue/remote/%d/%d: the message is left alone" % (a % 23, a) in text,
           "the garbled file is named in the log", text[-600:])
    expect("ferry-schedule: warning: a truncated recipient record in queue/remote/%d/%d: the message is left alone" % (b % 23, b) in text,
           "the torn file is named in the log", text[-600:])
    expect("ferry-schedule: warning: a damaged envelope, a truncated envelope (no final null byte): queue/intd/%d/%d: the message is left alone" % (d % 23, d) in text,
           "the torn envelope is named in the log", text[-600:])
    expect(eventually(lambda: "messages 0 recipients 0" in log().rsplit("status:", 1)[-1], 10),
           "no damaged message is loaded: the status line counts none", log()[-300:])
    after = log().split("ferry-schedule: starting")[-1]
    expect(all("msg %s " % names[m] not in after for m in (a, b, d)), "nothing of them is tried after the restart", after[-400:])
    expect(open(rpath(a), "rb").read() == b"X" + ra[1:] and open(rpath(b), "rb").read() == rb[:-1] and open(rpath(d, "intd"), "rb").read() == idd[:-1],
           "their files are as they were: nothing marked")
    # (c's files go once it is delivered, in ferry-clean, a moment after its Maildir file appears)
    kept = lambda left: all(any(p.endswith("/%d" % m) for p in left) for m in (a, b, d)) and len(left) == 9
    expect(eventually(lambda: kept(home.queue_files(("mess", "intd", "remote"))), 10),
           "their message, envelope and recipient files are all kept", home.queue_files(("mess", "intd", "remote")))
    q = subprocess.run([os.path.join(BIN, "ferry-qread"), H], capture_output=True, text=True)
    expect(q.stdout.count("DAMAGED: a garbled recipient record") == 1 and q.stdout.count("DAMAGED: a truncated recipient record") == 1
           and q.stdout.count("DAMAGED: a truncated envelope") == 1,
           "ferry-qread shows each as DAMAGED", q.stdout + q.stderr)
    expect(c is not None, "c was injected")

    # ferry-qctl on the damaged ones while the set runs: bounce cannot build a notice and says
    # why; delete removes every file they have
    files = lambda m: [p for p in home.queue_files() if os.path.basename(p).split(".")[0] == str(m)]
    before = files(b)
    r = subprocess.run([os.path.join(BIN, "ferry-qctl"), "-h", H, "bounce", home.name(b)], capture_output=True, text=True)
    expect(r.returncode == 100 and "is damaged (a truncated recipient record): its recipients cannot be read, so no notice can be built" in r.stderr
           and files(b) == before, "ferry-qctl bounce of a damaged message: exit 100, why, nothing removed", (r.returncode, r.stdout, r.stderr))
    for m, what in ((a, "a garbled recipient record"), (b, "a truncated recipient record"), (d, "a truncated envelope")):
        expect(files(m), "msg %d has files before the delete" % m)
        mname = home.name(m)
        r = subprocess.run([os.path.join(BIN, "ferry-qctl"), "-h", H, "delete", mname], capture_output=True, text=True)
        expect(r.returncode == 0 and ("deleted damaged msg %s (%s" % (mname, what)) in r.stdout and "without notice" in r.stdout,
               "ferry-qctl delete of a damaged message (%s): exit 0, says what it removed" % what, (r.returncode, r.stdout, r.stderr))
        expect(not files(m), "and every file of it is gone at once (message, envelope, recipients, deferral log)", files(m))
    q = subprocess.run([os.path.join(BIN, "ferry-qread"), H], capture_output=True, text=True)
    expect("DAMAGED" not in q.stdout and q.returncode == 0, "ferry-qread lists none of them any more", q.stdout + q.stderr)

    # what a power loss can leave of a finished message on a file system that does not keep
    # the order of removals: its recipient file, every recipient done, without envelope or
    # message file. It is removed at the start; one with a recipient still to deliver is kept
    stopped = log().count("ferry-schedule: stopped")
    svc("-d")
    expect(eventually(lambda: log().count("ferry-schedule: stopped") > stopped, 20), "the set stops again")
    rem, kept_ = 987654321, 987654322
    with open(rpath(rem, "local"), "wb") as f:
        f.write(b"K" + b"0" * 16 + b"00000000" + b"done@example.org\0")
    with open(rpath(kept_, "local"), "wb") as f:
        f.write(b"T" + b"0" * 16 + b"00000000" + b"open@example.org\0")
    svc("-u")
    expect(eventually(lambda: not os.path.exists(rpath(rem, "local")) and
                      "ferry-schedule: message 00000000000.%d: every recipient done and no envelope: what a crash left of its removal goes now" % rem in log(), 20),
           "the finished message's leftover recipient file is removed at the start, and logged", log()[-600:])
    expect(os.path.exists(rpath(kept_, "local")) and
           "ferry-schedule: warning: unable to read the envelope queue/intd/%d/%d, so the message is left alone (ferry-qread shows it): No such file or directory" % (kept_ % 23, kept_) in log(),
           "one with a recipient still to deliver and no envelope is kept, and named in the log", log()[-600:])
finally:
    stop_all(stops)
    home.cleanup()
