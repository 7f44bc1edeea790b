"""The queue's pools (doc/queue.html, "The pools"), in a running set: the files of finished
messages go into queue/free.inject and queue/free.prepare, the next messages are written into
them (their ids the inodes kept), and every message is delivered byte for byte, a short one
written over a longer one's file included; what does not belong in a pool (a symbolic link, a
FIFO, a file of another mode, a file with a second name) is removed from it, never written
through; the pools emptied or removed while the set runs, or missing when it starts, cost
nothing but their use; the queue is clean at the end."""

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


def batch(home, md, sent, name, n, total):
    """n messages injected while the set runs, then all total delivered whole and the queue empty"""
    for k in range(n):
        _, sent["%s%d" % (name, k)] = inject(home, "%s%d" % (name, k), 200 + 300 * k)
    expect(eventually(lambda: len(bodies(md)) == total and not home.queue_files(), 30),
           "%s: %d messages delivered, the queue empty" % (name, n), home.log()[-1500:])
    got = bodies(md)
    expect(all(got.get("%s%d" % (name, k), b"").endswith(sent["%s%d" % (name, k)][9:]) for k in range(n)), "%s: the messages are whole" % name)


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

    # each kind apart: message files in odd slots, envelopes in even ones (so that a message file
    # is written over a message file's blocks, an envelope over an envelope's)
    fi = os.path.join(home.path, "queue", "free.inject")
    slots = {int(f): os.stat(os.path.join(fi, f)) for f in os.listdir(fi)}
    odd = {st.st_ino for n, st in slots.items() if n % 2}
    expect(odd and len(odd) < len(slots), "queue/free.inject holds files in odd and in even slots", sorted(slots))
    expect(all((st.st_size > 8000) == (n % 2 == 1) for n, st in slots.items()),
           "the message files (over 8,000 bytes) are in the odd slots, the envelopes (under 100) in the even ones",
           sorted((n, st.st_size) for n, st in slots.items()))

    # 2. short messages: written into the kept files (the id is the inode kept), cut to their length
    ids = []
    for k in range(20):
        i, sent["short%d" % k] = inject(home, "short%d" % k, 40)
        ids.append(i)
    reused = [i for i in ids if i in kept]
    # each takes two files (message and envelope): the kept ones serve len(kept) // 2 messages
    expect(len(reused) >= max(1, min(20, len(kept) // 2) - 2),
           "the new messages' files come from the pool: %d of 20 ids are inodes it kept (%d files)" % (len(reused), len(kept)), (ids, sorted(kept)[:5]))
    first = ids[:min(len(odd), 20)]
    expect(all(i in odd for i in first), "the first %d new message files are message files of the pool (odd slots), none an envelope" % len(first),
           [i for i in first if i not in odd])
    expect(eventually(lambda: len(bodies(md)) == 40 and not home.queue_files(), 30), "the 20 short messages are delivered", home.log()[-1500:])
    got = bodies(md)
    bad = [s for s, m in sent.items() if not got.get(s, b"").endswith(m[len(b"Subject: "):]) or not got[s].startswith(b"Subject: " + s.encode())]
    expect(not bad and all(len(got[s]) == len(sent[s]) for s in sent),
           "every message is delivered byte for byte: nothing of a longer message the file held before", bad[:3])

    # 3. what does not belong in a pool is removed from it, never written through
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
    os.mkdir(os.path.join(fi, "5"))
    for k in range(3):
        _, sent["after%d" % k] = inject(home, "after%d" % k, 100)
    expect(eventually(lambda: len(bodies(md)) == 43 and not home.queue_files(), 30), "the messages after them are delivered", home.log()[-1500:])
    left = sorted(os.listdir(fi))
    expect(not {"1", "2", "3", "4", "5"} & set(left), "the link, the FIFO, the 0600 file, the file with two names and the directory left the pool", left)
    expect(open(outside).read() == "not the queue's\n" and open(os.path.join(home.tmp, "second-name")).read() == "two names\n",
           "nothing was written through the link or into the file with a second name")
    got = bodies(md)
    expect(all(got.get("after%d" % k, b"").endswith(sent["after%d" % k][9:]) for k in range(3)), "and the messages are whole")
    mode = stat.S_IMODE(os.stat(fi).st_mode)
    expect(mode == 0o700, "queue/free.inject is mode 0700", oct(mode))
    r = subprocess.run([os.path.join(home.path, "bin", "ferry-setup"), "-c", home.path], capture_output=True, text=True)
    expect(r.returncode == 0, "ferry-setup -c passes the home with its pools", r.stdout + r.stderr)

    # 4. the pools emptied while the set runs: the next messages are made as new files
    fp = os.path.join(home.path, "queue", "free.prepare")
    subprocess.run(["find", fi, fp, "-type", "f", "-delete"], check=True)
    batch(home, md, sent, "emptied", 5, 43 + 5)
    expect(pool(home, "free.inject") and pool(home, "free.prepare"), "and their files fill the pools again")

    # 5. the pools removed while the set runs: nothing is lost, the files are made and freed
    for d in (fi, fp):
        subprocess.run(["find", d, "-type", "f", "-delete"], check=True)
        os.rmdir(d)
    batch(home, md, sent, "removed", 5, 43 + 10)
    expect(not os.path.exists(fi) and not os.path.exists(fp), "no program made the pools again")
    r = subprocess.run([os.path.join(home.path, "bin", "ferry-setup"), "-c", home.path], capture_output=True, text=True)
    expect(r.returncode != 0 and "missing: queue/free.inject" in r.stdout + r.stderr and "missing: queue/free.prepare" in r.stdout + r.stderr,
           "ferry-setup -c reports them missing", r.stdout + r.stderr)

    # 6. a set started without them: the same
    sv.stop()
    sv = Supervised(home.path)
    stops.insert(0, sv.stop)
    expect(eventually(lambda: os.path.exists(os.path.join(home.path, "public", "inject")), 20), "the set starts again, without the pools")
    batch(home, md, sent, "without", 5, 43 + 15)
    expect(not os.path.exists(fi) and not os.path.exists(fp), "started without the pools, the set works without them")
    r = subprocess.run([os.path.join(home.path, "bin", "ferry-setup"), home.path], capture_output=True, text=True)
    expect(r.returncode == 0 and stat.S_IMODE(os.stat(fi).st_mode) == 0o700 and stat.S_IMODE(os.stat(fp).st_mode) == 0o700,
           "ferry-setup makes them again, mode 0700", r.stdout + r.stderr)
finally:
    stop_all(stops)
