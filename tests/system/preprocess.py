"""ferry-preprocess-todo by itself: what it writes for each committed message, what it tells the
queue manager and when, corrupt envelopes, the trigger, forgetting, SIGHUP, end of input."""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Home, eventually, expect, netstring  # noqa: E402

home = Home()


class Pre:
    def __init__(self):
        self.p = subprocess.Popen([os.path.join(BIN, "ferry-preprocess-todo"), home.path], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.set_blocking(self.p.stdout.fileno(), False)
        os.set_blocking(self.p.stderr.fileno(), False)
        home.procs.append(self.p)
        self.buf = b""
        self.frames = []
        self.err = b""

    def poll(self):
        try:
            data = os.read(self.p.stdout.fileno(), 65536)
        except BlockingIOError:
            data = b""
        self.buf += data
        while b":" in self.buf:
            c = self.buf.index(b":")
            n = int(self.buf[:c])
            if len(self.buf) < c + n + 2:
                break
            self.frames.append(self.buf[c + 1:c + 1 + n].decode())
            self.buf = self.buf[c + n + 2:]
        return self.frames

    def errtext(self):
        """what it has logged so far"""
        while True:
            try:
                data = os.read(self.p.stderr.fileno(), 65536)
            except BlockingIOError:
                break
            if not data:
                break
            self.err += data
        return self.err.decode(errors="replace")

    def told(self, count, timeout=10):
        ok_ = eventually(lambda: len(self.poll()) >= count, timeout)
        return ok_ and self.frames[:count]

    def forget(self, msgid):
        self.p.stdin.write(netstring(b"%d\x00" % msgid))
        self.p.stdin.flush()


def split():
    return int(open(os.path.join(home.path, "control", "queuesplit")).read())


def qpath(d, msgid):
    return os.path.join(home.path, "queue", d, str(msgid % split()), str(msgid))


try:
    H = home.path
    home.control("virtualdomains", "example.org\n")
    home.control("locals", "mx.example.net\n")
    ids = []
    for i in range(3):
        ids.append(home.inject(b"Subject: %d\n\nx\n" % i, "s@x.test",
                               ["a%d@Example.ORG" % i, "b%d@remote.test" % i, "c%d@mx.example.net" % i],
                               extra=b""))
        time.sleep(0.05 if i < 2 else 0)  # more than a kernel clock tick: the entries' times differ
    pre = Pre()
    frames = pre.told(3)
    expect(frames == ["R%d\x00" % m for m in ids], "at start it tells every committed message, oldest first", frames)
    loc = open(qpath("local", ids[0]), "rb").read()
    rem = open(qpath("remote", ids[0]), "rb").read()
    expect(loc == b"T" + b"0" * 16 + b"00000000" + b"a0@Example.ORG\x00" + b"T" + b"0" * 16 + b"00000002" + b"c0@mx.example.net\x00",
           "local/: both local recipients (virtual and locals domains, any case), status T, next 0, envelope index", loc)
    expect(rem == b"T" + b"0" * 16 + b"00000001" + b"b0@remote.test\x00", "remote/: the remote recipient", rem)
    # the envelope stays where ferry-inject wrote it, read there by the queue manager: no copy
    expect(os.path.samefile(qpath("intd", ids[0]), qpath("todo", ids[0])) and not os.path.exists(os.path.join(H, "queue", "info")),
           "no copy of the envelope is made: intd/ and todo/ are still the one committed file, and there is no info/")

    # a message with only local recipients has no remote file
    only = home.inject(b"x\n", "s@x.test", ["z@example.org"])
    frames = pre.told(4)
    expect(frames[3] == "R%d\x00" % only, "a new commit wakes it through the trigger", frames)
    expect(os.path.exists(qpath("local", only)) and not os.path.exists(qpath("remote", only)), "no remote file without remote recipients")

    # forgetting: a removed todo entry is not told again; one still there is, after a rescan
    # (as in the set: ferry-clean removes the todo entry first, then the queue manager says forget)
    os.unlink(qpath("todo", ids[0]))
    pre.forget(ids[0])
    pre.forget(ids[1])
    frames = pre.told(5)
    expect(frames and frames[4] == "R%d\x00" % ids[1], "after a forget it looks again: a forgotten id whose todo entry is still there is told again", frames)
    # then a marker: the newest entry forgotten, so told again by a scan no earlier than the
    # one of the SIGALRM (the signal is taken before the frame sent after it), and last in its
    # scan (oldest first): anything told again before it would show
    pre.p.send_signal(signal.SIGALRM)
    pre.forget(only)
    frames = pre.told(6)
    expect(frames and frames[5] == "R%d\x00" % only and len(pre.poll()) == 6, "and nothing else is told again", pre.frames)

    # a corrupt envelope: copies in corrupt/, a C frame, and the queue goes on
    bad = 999 * split() + 3
    with open(qpath("todo", bad), "wb") as f:
        f.write(b"u0\x00Fs@x\x00\x00")
    with open(qpath("mess", bad), "wb") as f:
        f.write(b"the message")
    pre.p.send_signal(signal.SIGALRM)
    frames = pre.told(7)
    expect(frames and frames[6] == "C%d\x00" % bad, "a corrupt envelope is told with C", frames)
    expect(open(os.path.join(H, "queue", "corrupt", "%d.envelope" % bad), "rb").read() == b"u0\x00Fs@x\x00\x00"
           and open(os.path.join(H, "queue", "corrupt", "%d.message" % bad), "rb").read() == b"the message", "its envelope and message are kept in corrupt/")
    later = home.inject(b"x\n", "s@x.test", ["y@remote.test"])
    frames = pre.told(8)
    expect(frames[7] == "R%d\x00" % later, "the next message is prepared as usual", frames)

    # the trigger names the new entries: one planted without its id on the trigger is not looked
    # at (no directory is listed), until the trigger names it, or brings anything but id lines,
    # or a drain finds the FIFO half full (a write may have been lost there)
    def plant(k):
        msgid = (990 - k) * split() + 5
        for d in ("todo", "mess"):
            with open(qpath(d, msgid), "wb") as f:
                f.write(open(qpath(d, later), "rb").read())
        return msgid

    def pull(data):
        fd = os.open(os.path.join(H, "queue", "lock", "trigger"), os.O_WRONLY | os.O_NONBLOCK)
        os.write(fd, data)
        os.close(fd)

    told = len(pre.poll())
    planted = [plant(0)]
    time.sleep(0.05)  # more than a kernel clock tick: the unnamed entry is the older
    planted.append(plant(1))
    # an id with no todo entry is passed over; the named one is told, and the older one, not
    # named, is not: a listing would have told it first
    pull(b"%d\n%d\n" % (later + split(), planted[1]))
    frames = pre.told(told + 1)
    expect(frames and frames[told] == "R%d\x00" % planted[1], "named on the trigger, an entry is told, and an older one not named is not looked at", pre.frames[told:])
    pull(b"%d\n" % planted[0])
    frames = pre.told(told + 2)
    expect(frames and frames[told + 1] == "R%d\x00" % planted[0] and len(pre.poll()) == told + 2, "named in turn, it is told, and nothing else", pre.frames[told:])
    for k, (what, data) in enumerate([("a null byte", b"\0"), ("a line that is no id", b"12x\n"), ("an empty line", b"\n")]):
        planted.append(plant(k + 2))
        pull(data)
        frames = pre.told(told + 3 + k)
        expect(frames and frames[-1] == "R%d\x00" % planted[-1], "%s on the trigger: every directory is listed, the unnamed entry told" % what, pre.frames[told:])
    # half the FIFO in one drain: the reader stopped while it fills
    planted.append(plant(9))
    pre.p.send_signal(signal.SIGSTOP)
    try:
        pull(b"%d\n" % (later + split()) * (40000 // len(b"%d\n" % (later + split()))))
    finally:
        pre.p.send_signal(signal.SIGCONT)
    frames = pre.told(told + 6)
    expect(frames and frames[-1] == "R%d\x00" % planted[-1], "a drain of half the FIFO or more lists every directory: the unnamed entry told", pre.frames[told:])
    expect(len(pre.poll()) == told + 6, "nothing told twice", pre.frames[told:])
    # gone, as the queue manager would have them go
    for msgid in planted:
        for d in ("todo", "mess", "local", "remote"):
            if os.path.exists(qpath(d, msgid)):
                os.unlink(qpath(d, msgid))
        pre.forget(msgid)

    # SIGHUP rereads the domain lists
    home.control("locals", "mx.example.net\nremote.test\n")
    pre.p.send_signal(signal.SIGHUP)
    expect(eventually(lambda: "control/locals and control/virtualdomains read again" in pre.errtext(), 10),
           "SIGHUP: it says it read the lists again", pre.errtext())
    nowlocal = home.inject(b"x\n", "s@x.test", ["w@remote.test"])
    frames = pre.told(len(pre.frames) + 1)
    expect(os.path.exists(qpath("local", nowlocal)) and not os.path.exists(qpath("remote", nowlocal)), "after SIGHUP, remote.test is local", frames)

    # end of input on fd 0: exit 0
    pre.p.stdin.close()
    expect(pre.p.wait(10) == 0, "exits 0 when the queue manager goes away")
    err = pre.errtext()
    expect("corrupt envelope" in err and "kept as queue/corrupt/" in err, "the corrupt envelope was logged", err)

    # a restart tells every todo entry still there again
    pre = Pre()
    want = sorted(["R%d\x00" % m for m in ids[1:] + [only, later, nowlocal]] + ["C%d\x00" % bad])
    frames = pre.told(6)
    # the marker: the newest entry forgotten, told again by a scan after the first one, and
    # last in it: a seventh frame before it would be one told twice
    pre.forget(nowlocal)
    frames = pre.told(7)
    expect(frames and sorted(frames[:6]) == want and frames[6] == "R%d\x00" % nowlocal,
           "after a restart, every todo entry still there is told again, once", (pre.frames, want))
    pre.p.stdin.close()
    pre.p.wait(10)
finally:
    home.cleanup()
print("%d checks passed" % __import__("ferrytest").checks)
