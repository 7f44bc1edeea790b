"""As root, ferry-injectd on a home made with ferry-setup -u, facing users that are not root: 70
idle connections of one user (nobody), each trickling a byte, hold at most -u of the slots; the
others are turned away at once with 71, and that user's ferry-sendmail still queues its mail
(through ferry-inject); another user's ferry-sendmail goes through the server at once. A client
that trickles bytes forever is cut off at the whole submission's deadline (-T) with 52."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Home, eventually, expect, skip_unless_root, test_user  # noqa: E402

skip_unless_root("clients as two other users")
if not shutil.which("setpriv"):
    print("skipped: no setpriv here (package/deps lists its package)")
    sys.exit(77)

NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
OTHER = ["setpriv", "--reuid=ferrytest", "--regid=%d" % test_user().pw_gid, "--clear-groups"]

# the hostile user: N connections, a byte every second on each one the server keeps; it writes
# what it saw (answers at the door, connections kept) into its report file, then trickles on
#   The server takes connections in the order they were made and turns one away at once (its
# answer sent before the next is taken): a last connection, a marker, answered or closed, shows
# that the N before it have all been taken, each kept or answered. Never answered (the server
# keeping every one), the report is written at the deadline all the same.
HOSTILE = r'''
import os, select, socket, sys, time
path, n, report = sys.argv[1], int(sys.argv[2]), sys.argv[3]
socks = []
for k in range(n + 1):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    socks.append(s)
marker = socks.pop()
select.select([marker], [], [], 20)
marker.close()
kept, turned = [], []
for s in socks:
    s.setblocking(False)
    try:
        b = s.recv(200)
        turned.append(b.decode(errors="replace").strip())
        s.close()
    except BlockingIOError:
        kept.append(s)
with open(report + ".tmp", "w") as f:
    f.write("%d\n%s\n" % (len(kept), "\n".join(turned)))
os.rename(report + ".tmp", report)
while True:
    for s in kept:
        try:
            s.send(b"9")
        except OSError:
            pass
    time.sleep(1)   # the trickle's pace: a byte a second on each connection kept
'''

home = Home()
procs = []
try:
    home.make_with_dedicated_users()
    H = home.path
    # the home's bin/: the build's programs, and a ferry-inject that records what it is given (the
    # setuid one reads the install home, not this one): whoever is turned away at the door runs it
    bindir = os.path.join(home.tmp, "bin")
    rdir = os.path.join(home.tmp, "hostile")
    os.makedirs(bindir)
    os.mkdir(rdir)
    os.chmod(rdir, 0o777)
    for f in os.listdir(BIN):
        if f != "ferry-inject":
            os.symlink(os.path.join(BIN, f), os.path.join(bindir, f))
    with open(os.path.join(bindir, "ferry-inject"), "w") as f:
        f.write("#!/bin/sh\ncat > %s/inject-run.$$ && cat <&1 >> %s/inject-run.$$\n" % (rdir, rdir))
    os.chmod(os.path.join(bindir, "ferry-inject"), 0o755)
    os.unlink(os.path.join(H, "bin"))
    os.symlink(bindir, os.path.join(H, "bin"))
    sock = os.path.join(H, "public", "inject")

    def serve(*opts):
        err = open(os.path.join(home.tmp, "injectd.err"), "w+")
        p = subprocess.Popen([os.path.join(BIN, "ferry-injectd")] + list(opts) + [H], stderr=err)
        procs.append(p)
        expect(eventually(lambda: os.path.exists(sock), 10), "ferry-injectd makes its socket")
        return p, err

    def errtext(err):
        err.seek(0)
        return err.read()

    def todo_subjects():
        out = []
        for f in home.queue_files(("mess",)):
            try:
                out.append(open(f if f.startswith("/") else os.path.join(H, f), "rb").read())
            except OSError:
                pass
        return out

    p, err = serve()
    report = os.path.join(rdir, "report")
    hostile = subprocess.Popen(NOBODY + ["/usr/bin/python3", "-c", HOSTILE, sock, "70", report])
    procs.append(hostile)
    expect(eventually(lambda: os.path.exists(report), 20), "the hostile user opened its 70 connections")
    env = {"PATH": "/usr/bin:/bin", "FERRY_HOME": H}
    t0 = time.time()
    try:
        r = subprocess.run(OTHER + [os.path.join(BIN, "ferry-sendmail"), "-f", "t@example.org", "x@example.net"],
                           input=b"Subject: from another user\n\nhi\n", capture_output=True, env=env, timeout=20)
        rc = r.returncode
    except subprocess.TimeoutExpired:
        rc = "timed out"
    expect(rc == 0 and time.time() - t0 < 10, "meanwhile another user's ferry-sendmail exits 0 at once", rc)
    expect(any(b"Subject: from another user\n" in m and b"invoked by uid %d)" % test_user().pw_uid in m for m in todo_subjects()),
           "its message is queued, through the server (its Received: line names its uid)")

    lines = open(report).read().split("\n")
    kept, turned = int(lines[0]), [x for x in lines[1:] if x]
    expect(kept == 16, "of 70 connections from nobody, the server keeps 16 (-u's default)", kept)
    expect(len(turned) == 54 and all(t == "71 busy: too many connections from uid 65534; use ferry-inject" for t in turned),
           "the 54 others are answered at once: 71, the uid named, use ferry-inject", turned[:2])
    expect("client of uid 65534 turned away: too many connections from its uid" in errtext(err),
           "the refusal is logged, with the uid", errtext(err)[-300:])

    r = subprocess.run(NOBODY + [os.path.join(BIN, "ferry-sendmail"), "-f", "n@example.org", "x@example.net"],
                       input=b"Subject: from the busy user\n\nhi\n", capture_output=True, env=env, timeout=20)
    runs = [open(os.path.join(rdir, f), "rb").read() for f in os.listdir(rdir) if f.startswith("inject-run.")]
    expect(r.returncode == 0 and len(runs) == 1 and b"Subject: from the busy user\n" in runs[0] and runs[0].endswith(b"Tx@example.net\0\0"),
           "the busy user's own ferry-sendmail, turned away at the door, hands its message and envelope to ferry-inject, and exits 0",
           (r.returncode, r.stderr, runs))
    expect(not any(b"Subject: from the busy user\n" in m for m in todo_subjects()), "(the server queued nothing of it)")
    hostile.kill()
    hostile.wait()
    p.send_signal(signal.SIGTERM)
    p.wait(20)

    # the whole submission's deadline: a byte every half second keeps the idle timeout away
    p, err = serve("-t", "2", "-T", "3")
    before = sorted(home.queue_files(("mess", "pid", "intd")))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    s.setblocking(False)
    t0 = time.time()
    got = b""
    s.send(b"1000000:")
    while time.time() - t0 < 15:
        try:
            s.send(b"z")
        except OSError:
            pass
        time.sleep(0.5)   # the trickle's pace, under -t 2: time itself must pass, up to -T
        try:
            b = s.recv(200)
        except BlockingIOError:
            continue
        got += b
        if not b or got.endswith(b"\n"):
            break
    took = time.time() - t0
    s.close()
    expect(got == b"52 the submission took more than 3 seconds\n" and 2.5 <= took <= 6,
           "a client that trickles a byte every half second is cut off after -T 3 seconds, told 52", (got, took))
    expect("a client of uid 0 took longer than -T allows: cut off, nothing committed" in errtext(err), "the cut-off is logged", errtext(err)[-300:])
    expect(eventually(lambda: sorted(home.queue_files(("mess", "pid", "intd"))) == before, 5), "and its message file is removed",
           home.queue_files(("mess", "pid", "intd")))
finally:
    for q in procs:
        if q.poll() is None:
            q.kill()
            q.wait()
    home.cleanup()
print("%d checks passed" % __import__("ferrytest").checks)
