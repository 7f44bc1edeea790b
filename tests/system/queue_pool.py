"""The queue's pools (doc/queue.html, "The pools"), in a running set: the files of finished
messages go into queue/free.inject and queue/free.prepare, the next messages are written into
them (their ids the inodes kept), and every message is delivered byte for byte, a short one
written over a longer one's file included; what does not belong in a pool (a symbolic link, a
FIFO, a file of another mode, a file with a second name) is removed from it, never written
through; the queue is clean at the end."""

import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import stop_all, Home, Supervised, eventually, expect  # noqa: E402
from ferrytest import injectd_chunks, injectd_talk  # noqa: E402

stops = []


def bodies(md):
    """{subject: the message as delivered, from its Subject: line on} of the Maildir's new/"""
    out = {}
    for name in os.listdir(os.path.join(md, "new")):
        data = open(os.path.join(md, "new", name), "rb").read()
        i = data.find(b"Subject: ")
        if i >= 0:
            out[data[i:].split(b"\n", 1)[0][9:].decode()] = data[i:]
    return out


def inject(home, subject, size):
    msg = b"Subject: %s\n\n" % subject.encode() + (b"%s line\n" % subject.encode()) * (size // 16) + b"end\n"
    r = injectd_talk(home, injectd_chunks(msg) + b"Fsender@example.net\0Tu@example.org\0\0")
    expect(r.startswith("0 queued id "), "message %s (%d bytes) is committed" % (subject, len(msg)), r)
    return int(r.split()[3]), msg


def pool(home, name):
    d = os.path.join(home.path, "queue", name)
    return {os.stat(os.path.join(d, f)).st_ino for f in os.listdir(d)}


try:
    home = Home()
    stops.append(home.cleanup)
    md = home.catchall("example.org")
    sv = Supervised(home.path)
    stops.insert(0, sv.stop)
    expect(eventually(lambda: os.path.exists(os.path.join(home.path, "public", "inject")), 20), "the set and ferry-injectd run")

    # 1. long messages: their files go into the pools once delivered
    sent = {}
    for k in range(20):
        _, sent["long%d" % k] = inject(home, "long%d" % k, 12000)
    expect(eventually(lambda: len(bodies(md)) == 20 and not home.queue_files(), 30), "the 20 long messages are delivered, the queue is empty",
           home.log()[-1500:])
    kept, keptp = pool(home, "free.inject"), pool(home, "free.prepare")
    # (the later of them may already have taken the files of the first delivered)
    expect(len(kept) >= 4 and len(keptp) >= 2,
           "their message files and envelopes are in queue/free.inject (%d), their recipient files in queue/free.prepare (%d)" % (len(kept), len(keptp)))

    # 2. short messages: written into the kept files (the id is the inode kept), cut to their length
    ids = []
    for k in range(20):
        i, sent["short%d" % k] = inject(home, "short%d" % k, 40)
        ids.append(i)
    reused = [i for i in ids if i in kept]
    # each takes two files (message and envelope): the kept ones serve len(kept) // 2 messages
    expect(len(reused) >= max(1, min(20, len(kept) // 2) - 2),
           "the new messages' files come from the pool: %d of 20 ids are inodes it kept (%d files)" % (len(reused), len(kept)), (ids, sorted(kept)[:5]))
    expect(eventually(lambda: len(bodies(md)) == 40 and not home.queue_files(), 30), "the 20 short messages are delivered", home.log()[-1500:])
    got = bodies(md)
    bad = [s for s, m in sent.items() if not got.get(s, b"").endswith(m[len(b"Subject: "):]) or not got[s].startswith(b"Subject: " + s.encode())]
    expect(not bad and all(len(got[s]) == len(sent[s]) for s in sent),
           "every message is delivered byte for byte: nothing of a longer message the file held before", bad[:3])

    # 3. what does not belong in a pool is removed from it, never written through
    fi = os.path.join(home.path, "queue", "free.inject")
    outside = os.path.join(home.tmp, "outside")
    open(outside, "w").write("not the queue's\n")
    for f in os.listdir(fi):
        os.unlink(os.path.join(fi, f))
    os.symlink(outside, os.path.join(fi, "1"))
    os.mkfifo(os.path.join(fi, "2"))
    open(os.path.join(fi, "3"), "w").write("mode 0600\n")
    os.chmod(os.path.join(fi, "3"), 0o600)
    open(os.path.join(fi, "4"), "w").write("two names\n")
    os.chmod(os.path.join(fi, "4"), 0o644)
    os.link(os.path.join(fi, "4"), os.path.join(home.tmp, "second-name"))
    for k in range(3):
        _, sent["after%d" % k] = inject(home, "after%d" % k, 100)
    expect(eventually(lambda: len(bodies(md)) == 43 and not home.queue_files(), 30), "the messages after them are delivered", home.log()[-1500:])
    left = sorted(os.listdir(fi))
    expect(not {"1", "2", "3", "4"} & set(left), "the link, the FIFO, the 0600 file and the file with two names left the pool", left)
    expect(open(outside).read() == "not the queue's\n" and open(os.path.join(home.tmp, "second-name")).read() == "two names\n",
           "nothing was written through the link or into the file with a second name")
    got = bodies(md)
    expect(all(got.get("after%d" % k, b"").endswith(sent["after%d" % k][9:]) for k in range(3)), "and the messages are whole")
    mode = stat.S_IMODE(os.stat(fi).st_mode)
    expect(mode == 0o700, "queue/free.inject is mode 0700", oct(mode))
    r = subprocess.run([os.path.join(home.path, "bin", "ferry-setup"), "-c", home.path], capture_output=True, text=True)
    expect(r.returncode == 0, "ferry-setup -c passes the home with its pools", r.stdout + r.stderr)
finally:
    stop_all(stops)
