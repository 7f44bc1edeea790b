"""Names in the queue that are no regular file: a FIFO and a symbolic link (to a file outside the
queue) put in queue/todo/N/. ferry-qread lists the queue without waiting on the FIFO and without
reading through the link; the running set logs each one by name and kind, moves it aside to
queue/corrupt/ (the link moved as a link, its target never read), and keeps delivering."""

import mailbox
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Home, Supervised, eventually, expect, stop_all  # noqa: E402

home = Home()
H = home.path
stops = []
log = home.log


def subjects():
    return [m["Subject"] for m in mailbox.Maildir(mail, factory=None, create=False)]


try:
    mail = home.catchall()
    split = int(open(os.path.join(H, "control", "queuesplit")).read())
    fifo_id, link_id = 1000003, 1000004
    fifo = os.path.join(H, "queue", "todo", str(fifo_id % split), str(fifo_id))
    link = os.path.join(H, "queue", "todo", str(link_id % split), str(link_id))
    # outside the queue: a file that is a valid envelope, so that following the link would show
    outside = os.path.join(home.tmp, "outside")
    with open(outside, "wb") as f:
        f.write(b"Fsecret@example.org\0Tvictim@example.org\0\0")
    before = os.stat(outside)
    os.mkfifo(fifo, 0o600)
    os.symlink(outside, link)
    home.inject(b"Subject: first\n\nbody\n", "snd@example.org", ["a@example.org"])

    # the hand tool, the set stopped: it must neither hang on the FIFO nor read through the link
    try:
        r = subprocess.run([os.path.join(BIN, "ferry-qread"), H], capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        r = None
    expect(r is not None, "ferry-qread does not wait on a FIFO in queue/todo")
    expect("secret@example.org" not in r.stdout + r.stderr, "ferry-qread does not read through the symbolic link", r.stdout)
    expect(r.stdout.count("not a regular file") == 2, "ferry-qread shows both as damaged", r.stdout + r.stderr)

    svscan = Supervised(H)
    stops.append(svscan.stop)
    expect(eventually(lambda: "first" in subjects(), 20), "the message queued with them is delivered", log()[-800:])
    home.inject(b"Subject: second\n\nbody\n", "snd@example.org", ["b@example.org"], running=True)
    expect(eventually(lambda: "second" in subjects(), 20), "the set keeps delivering", log()[-800:])
    expect(eventually(lambda: "queue/todo/%d/%d is a FIFO, not a message: moved aside to queue/corrupt/%d.todo" % (fifo_id % split, fifo_id, fifo_id) in log(), 10),
           "the FIFO is logged by name and kind, and moved aside", log()[-800:])
    expect("queue/todo/%d/%d is a symbolic link, not a message: moved aside to queue/corrupt/%d.todo" % (link_id % split, link_id, link_id) in log(),
           "the symbolic link is logged by name and kind, and moved aside", log()[-800:])
    aside = os.path.join(H, "queue", "corrupt", "%d.todo" % link_id)
    expect(os.path.islink(aside) and os.readlink(aside) == outside, "the link is moved as a link")
    expect(not os.path.exists(fifo) and not os.path.lexists(link), "neither is left in queue/todo")
    corrupt = os.path.join(H, "queue", "corrupt")
    copies = [f for f in os.listdir(corrupt) if not os.path.islink(os.path.join(corrupt, f)) and os.path.isfile(os.path.join(corrupt, f))
              and b"secret@example.org" in open(os.path.join(corrupt, f), "rb").read()]
    expect(not copies, "no copy of the file outside the queue in queue/corrupt", copies)
    expect("victim@example.org" not in log() and "secret@example.org" not in log(), "the target's envelope never reached the queue manager")
    after = os.stat(outside)
    expect((after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size), "the file outside the queue is untouched")
finally:
    stop_all(stops)
    home.cleanup()
