"""ferry-preprocess-todo on a full disk: the queue on a small tmpfs (as root), messages committed,
then the disk filled to the last byte before the set starts, so that their recipient files cannot
be written. It logs the failure and tries again on a growing timer; no empty or partial recipient
file is ever left; once space is freed everything is prepared and delivered by itself (no new
mail, no restart), local and remote, nothing lost."""

import mailbox
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import Home, Supervised, eventually, expect, is_root, s6_log, stop_all  # noqa: E402
from smtp_peers import SmtpSink  # noqa: E402

if not is_root():
    print("skipped: a tmpfs needs root")
    sys.exit(77)
home = Home()
H = home.path
Q = os.path.join(H, "queue")
stops = []
mounted = False


def log():
    return s6_log(os.path.join(H, "log"))


def empty_rcpt_files():
    return [f for f in home.queue_files(("local", "remote")) if os.path.getsize(f) == 0]


try:
    os.rename(Q, Q + ".orig")
    os.mkdir(Q)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", Q]).returncode:
        os.rmdir(Q)
        os.rename(Q + ".orig", Q)
        print("skipped: mount -t tmpfs failed")
        sys.exit(77)
    mounted = True
    subprocess.run(["cp", "-a", Q + ".orig/.", Q + "/"], check=True)
    mail = home.catchall()
    sink = SmtpSink(home.tmp)
    stops.append(sink.stop)
    home.control("smtproutes", "sink.test:127.0.0.1:%d\n" % sink.port)
    home.control("minbackoff", "1\n")
    home.control("maxbackoff", "2\n")
    N = 6
    for i in range(N):
        home.inject(b"Subject: full%d\n\nbody\n" % i, "snd@example.org", ["l%d@example.org" % i, "r%d@sink.test" % i])
    # the disk full to the last byte
    filler = os.path.join(Q, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    for size in (65536, 4096, 512, 1):
        try:
            while True:
                os.write(fd, b"\0" * size)
        except OSError:
            pass
    os.close(fd)
    svscan = Supervised(H)
    stops.append(svscan.stop)
    expect(eventually(lambda: log().count("todo entries could not be prepared: trying again in") >= 2, 30),
           "the failure is logged, and tried again by itself", log()[-800:])
    expect("No space left on device" in log(), "the reason is said", log()[-800:])
    expect(not empty_rcpt_files(), "no empty recipient file left", empty_rcpt_files())
    os.unlink(filler)
    subjects = lambda: [m["Subject"] for m in mailbox.Maildir(mail, factory=None, create=False)]  # noqa: E731
    sunk = lambda: [d for d in sink.dumps() if b"Subject: full" in d]  # noqa: E731
    expect(eventually(lambda: len(subjects()) == N and len(sunk()) == N, 90),
           "space again: every message delivered by itself, local and remote", (subjects(), len(sunk()), log()[-800:]))
    expect(sorted(subjects()) == ["full%d" % i for i in range(N)], "each once")
    expect(eventually(lambda: not home.queue_files(("todo", "local", "remote", "pid")), 20), "the queue empties")
    expect("ferry-preprocess-todo: info: every todo entry prepared again" in log(), "the recovery is logged")
finally:
    stop_all(stops)
    if mounted:
        subprocess.run(["umount", Q])
    home.cleanup()
