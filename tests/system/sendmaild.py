"""ferry-sendmaild serving ferry-sendmail: a call is done by a worker (the Received: line names
another pid than the caller's) as the caller's uid; the worker is kept for the next calls of that
identity (the same pid queues them), holds nothing of a caller's between calls (the caller's pipes
end when it exits), is retired after -i seconds idle and after 100 calls; without the server, or beyond -u, the caller
runs the job alone (its own pid); the job's exit code and its errors reach the caller; a caller
killed before its message is whole queues nothing and frees its worker; a malformed request is
turned away and the server goes on; SIGTERM removes the socket and waits for the workers; as
root, a caller of another uid is served as itself, in a home with the dedicated users."""

import fcntl
import os
import re
import select
import signal
import socket
import subprocess
import sys
import termios
import threading
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Home, eventually, expect, injectd_serve, is_root, test_user  # noqa: E402

RECEIVED = re.compile(rb"^Received: \(ferry (\d+) invoked by uid (\d+)\)")


def received(home, before):
    """(pid, uid) of the Received: line of the one message queued since before (a set of ids)"""
    new = home.mess_ids() - before
    expect(len(new) == 1, "one message queued", new)
    m = RECEIVED.match(home.mess(new.pop()))
    expect(m, "its Received: line names the pid and uid that queued it")
    return int(m.group(1)), int(m.group(2))


def server(home, *opts):
    err = open(os.path.join(home.tmp, "sendmaild.err"), "w+")
    p = subprocess.Popen([os.path.join(BIN, "ferry-sendmaild")] + list(opts) + [home.path], stderr=err)
    home.procs.append(p)
    sock = os.path.join(home.path, "sendmail", "socket")
    expect(eventually(lambda: os.path.exists(sock), 10), "ferry-sendmaild makes its socket sendmail/socket")
    return p, err


def call(home, args, stdin, pre=()):
    """ferry-sendmail ARGS with stdin: (pid, exit code, stderr)"""
    p = subprocess.Popen(list(pre) + [os.path.join(BIN, "ferry-sendmail")] + args, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={"PATH": "/usr/bin:/bin", "FERRY_HOME": home.path})
    out, err = p.communicate(stdin, timeout=30)
    return p.pid, p.returncode, err.decode(errors="replace"), out.decode(errors="replace")


def unread(fd):
    """bytes still in a pipe"""
    return int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"), "little")


def workers(srv):
    return [int(x) for x in subprocess.run(["pgrep", "-P", str(srv.pid)], capture_output=True).stdout.split()]


def busy(srv):
    """the workers that hold a call: their 0 is the caller's, not /dev/null"""
    out = []
    for w in workers(srv):
        try:
            if os.readlink("/proc/%d/fd/0" % w) != "/dev/null":
                out.append(w)
        except OSError:
            pass
    return out


def idle_fds(w):
    """an idle worker's descriptors: {number: what it is}"""
    d = "/proc/%d/fd" % w
    return {int(f): os.readlink(os.path.join(d, f)) for f in os.listdir(d)}


def errtext(f):
    f.seek(0)
    return f.read()


home = Home()
try:
    me = os.getuid()
    injectd_serve(home)   # so that the Received: line names the process that queued (its peer)
    srv, err = server(home, "-u", "1")

    before = home.mess_ids()
    pid, rc, stderr, _ = call(home, ["-f", "s@x.test", "a@example.org"], b"Subject: served\n\nhello\n")
    expect(rc == 0, "a call through the server exits 0", stderr)
    qpid, quid = received(home, before)
    expect(qpid != pid and quid == me, "a worker queued it, as the caller's uid (%d)" % me, (qpid, pid, quid))
    worker1 = qpid

    # the worker stays, idle, holding nothing of its caller's: 0, 1 and 2 on /dev/null, and its
    # control socket to the server
    expect(eventually(lambda: workers(srv) == [worker1], 10), "after its call the worker stays, idle", workers(srv))
    fds = idle_fds(worker1)
    expect(len(fds) == 5 and all(fds[i] == "/dev/null" for i in (0, 1, 2)) and sorted(fds.values())[-1].startswith("socket:")
           and sorted(fds.values())[:4] == ["/dev/null"] * 4,
           "an idle worker holds /dev/null (as 0, 1 and 2, and its own copy) and one socket, its control socket: nothing of its caller's", fds)
    # the next calls of the same identity go to it: the same pid queues them
    for k in range(3):
        before = home.mess_ids()
        pid, rc, stderr, _ = call(home, ["-f", "s@x.test", "again%d@example.org" % k], b"Subject: again\n\nhello\n")
        qpid, _ = received(home, before)
        expect(rc == 0 and qpid == worker1, "call %d after it: queued by the same worker" % (k + 2), (rc, qpid, worker1, stderr))
    # the caller's pipes end when ferry-sendmail exits (the worker dropped its 1 and 2 before it
    # answered): read to the end with a deadline of 5 s after the exit
    p = subprocess.Popen([os.path.join(BIN, "ferry-sendmail"), "-f", "s@x.test", "pipes@example.org"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={"PATH": "/usr/bin:/bin", "FERRY_HOME": home.path})
    p.stdin.write(b"Subject: pipes\n\nx\n")
    p.stdin.close()
    rc = p.wait(30)
    ended = []
    for f in (p.stdout, p.stderr):
        r, _, _ = select.select([f], [], [], 5)
        ended.append(bool(r) and f.read() == b"")
    expect(rc == 0 and ended == [True, True], "a served caller's stdout and stderr pipes end at its exit", (rc, ended))

    # the job's codes and errors come back: no recipients (65), an unknown option (64)
    _, rc, stderr, _ = call(home, ["-f", "s@x.test"], b"Subject: nobody\n\nx\n")
    expect(rc == 65 and "no recipients" in stderr, "no recipients: 65, and the reason on the caller's stderr", (rc, stderr))
    _, rc, stderr, _ = call(home, ["-Z"], b"")
    expect(rc == 64 and "unknown option -Z" in stderr, "an unknown option: 64 and its reason", (rc, stderr))
    # -bp: the listing on the caller's stdout
    _, rc, _, out = call(home, ["-bp"], b"")
    expect(rc == 0 and "a@example.org" in out, "-bp lists the queue on the caller's stdout", out)

    # a caller killed before its message is whole: nothing queued, its worker gone
    before = home.mess_ids()
    p = subprocess.Popen([os.path.join(BIN, "ferry-sendmail"), "-f", "s@x.test", "k@example.org"], stdin=subprocess.PIPE,
                         stderr=subprocess.PIPE, env={"PATH": "/usr/bin:/bin", "FERRY_HOME": home.path})
    p.stdin.write(b"Subject: half\n\nthe first half")
    p.stdin.flush()
    expect(eventually(lambda: len(busy(srv)) == 1 and unread(p.stdin.fileno()) == 0, 10),
           "the server has a worker for it, which has read the first half")
    p.kill()
    p.wait()
    expect(eventually(lambda: not subprocess.run(["pgrep", "-P", str(srv.pid)], capture_output=True).stdout.split(), 10),
           "killed before its message was whole: the worker stops at once, though the input is still open")
    p.stdin.close()
    expect(home.mess_ids() == before, "and nothing was queued", home.mess_ids() - before)

    # -u 1: a second call of the uid while one is served runs alone (its own pid), and the log says so
    hold = subprocess.Popen([os.path.join(BIN, "ferry-sendmail"), "-f", "s@x.test", "h@example.org"], stdin=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={"PATH": "/usr/bin:/bin", "FERRY_HOME": home.path})
    expect(eventually(lambda: len(busy(srv)) == 1, 10), "one call held open by its caller")
    before = home.mess_ids()
    pid, rc, stderr, _ = call(home, ["-f", "s@x.test", "b@example.org"], b"Subject: alone\n\nx\n")
    qpid, _ = received(home, before)
    expect(rc == 0 and qpid == pid, "beyond -u, the caller runs the job alone: its own pid queued it", (rc, qpid, pid, stderr))
    expect(eventually(lambda: "a caller of uid %d runs its job alone: its uid has -u workers already (1 so far" % me in errtext(err), 10),
           "the server's log says why", errtext(err))
    before = home.mess_ids()
    hold.communicate(b"Subject: held\n\nx\n", timeout=30)
    expect(hold.returncode == 0 and len(home.mess_ids() - before) == 1, "the held call is queued when its input ends")

    # a malformed request: turned away ("R", or nothing at all), before a byte of the caller's
    # input is read; the server goes on
    rd, wr = os.pipe()
    os.write(wr, b"Subject: not to be read\n\nx\n")
    inp = os.pipe()[0]
    for junk, fds, what in ((b"", [], "nothing"), (b"4:ab\0\0,", [], "no descriptors"), (b"4:ab\0\0,", [rd], "one descriptor"),
                            (b"4:ab\0\0,", [rd] * 4, "four descriptors"), (b"x", [rd] * 3, "no length"),
                            (b"5:ab", [rd] * 3, "cut short"), (b"999999999:", [rd] * 3, "nine digits of length"),
                            (b"1048577:", [rd] * 3, "a length of 1 MiB and 1"),
                            (b"0:,", [rd] * 3, "no arguments"), (b"3:abc,", [rd] * 3, "no null byte at the end"),
                            (b"3:ab\0;", [rd] * 3, "no comma"), (b"3:ab\0,x", [rd] * 3, "bytes after it")):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(os.path.join(home.path, "sendmail", "socket"))
        if fds:
            socket.send_fds(s, [junk], fds)
        else:
            s.sendall(junk)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(15)
        got = b""
        while True:
            b = s.recv(100)
            if not b:
                break
            got += b
        s.close()
        expect(got == b"R\n" and unread(wr) == 27, "a request with %s: turned away (R), its input unread" % what, (got, unread(wr)))
    for fd in (rd, wr, inp):
        os.close(fd)
    before = home.mess_ids()
    pid, rc, stderr, _ = call(home, ["-f", "s@x.test", "c@example.org"], b"x\n")
    qpid, _ = received(home, before)
    expect(rc == 0 and qpid != pid, "and the next call is served", (rc, stderr))

    # a served job reads at most control/databytes and 64 KiB: more is refused (69), nothing
    # queued; without -i, what follows a line with a single dot is not read
    home.control("databytes", "1000\n")
    before = home.mess_ids()
    pid, rc, stderr, _ = call(home, ["-f", "s@x.test", "big@example.org"], b"Subject: big\n\n" + b"x" * 200000 + b"\n")
    expect(rc == 69 and "not queued: it is larger than control/databytes" in stderr and "the queue answered" not in stderr
           and home.mess_ids() == before, "a message of 200 KB with databytes 1000: 69 from the reading itself (the queue never asked), nothing queued", (rc, stderr))
    pid, rc, stderr, _ = call(home, ["-f", "s@x.test", "dot@example.org"], b"Subject: dot\n\nshort\n.\n" + b"y" * 200000 + b"\n")
    qpid, _ = received(home, before)
    expect(rc == 0 and qpid != pid, "200 KB after a line with a single dot (no -i): the message before it is queued, served", (rc, stderr))
    os.unlink(os.path.join(home.path, "control", "databytes"))

    # the calls that run alone at once: 0 closed (the connection would take its number)
    r = subprocess.run(["sh", "-c", 'exec "$0" -f s@x.test e@example.org <&-', os.path.join(BIN, "ferry-sendmail")],
                       capture_output=True, env={"PATH": "/usr/bin:/bin", "FERRY_HOME": home.path}, timeout=30)
    expect(r.returncode == 66 and b"read the message" in r.stderr, "descriptor 0 closed: run alone, which cannot read it (66)", (r.returncode, r.stderr))
    # at a terminal (a pseudo-terminal by script(1)): alone, its own pid (job control stays the shell's)
    before = home.mess_ids()
    r = subprocess.run(["script", "-qec", 'echo "pid $$" >&2; exec "%s" -f s@x.test t@example.org' % os.path.join(BIN, "ferry-sendmail"), "/dev/null"],
                       input=b"Subject: tty\n\nx\n\x04", capture_output=True, env={"PATH": "/usr/bin:/bin", "FERRY_HOME": home.path}, timeout=30)
    m = re.search(rb"pid (\d+)", r.stdout + r.stderr)
    qpid, _ = received(home, before)
    expect(r.returncode == 0 and m and int(m.group(1)) == qpid, "input from a terminal: run alone", (r.returncode, r.stdout, r.stderr, qpid))

    # SIGTERM with a call in progress: the socket goes at once, the call ends queued, then the server
    held = subprocess.Popen([os.path.join(BIN, "ferry-sendmail"), "-f", "s@x.test", "t@example.org"], stdin=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={"PATH": "/usr/bin:/bin", "FERRY_HOME": home.path})
    expect(eventually(lambda: len(busy(srv)) == 1, 10), "a call in progress")
    srv.send_signal(signal.SIGTERM)
    expect(eventually(lambda: not os.path.exists(os.path.join(home.path, "sendmail", "socket")), 10) and srv.poll() is None,
           "SIGTERM: the socket removed at once, the server waits for its worker")
    before = home.mess_ids()
    held.communicate(b"Subject: during the stop\n\nx\n", timeout=30)
    expect(held.returncode == 0 and len(home.mess_ids() - before) == 1, "the call in progress ends queued", held.stderr)
    expect(srv.wait(10) == 0, "then the server exits 0")
    before = home.mess_ids()
    pid, rc, stderr, _ = call(home, ["-f", "s@x.test", "d@example.org"], b"x\n")
    qpid, _ = received(home, before)
    expect(rc == 0 and qpid == pid, "without the server, the caller runs the job alone", (rc, stderr))

    # -i 1: an idle worker is retired a second after its call
    srv, err = server(home, "-i", "1")
    pid, rc, stderr, _ = call(home, ["-f", "s@x.test", "i@example.org"], b"x\n")
    expect(rc == 0, "a call to a server with -i 1", stderr)
    t0 = time.time()
    expect(eventually(lambda: not workers(srv), 10) and time.time() - t0 >= 0.5, "with -i 1 its worker is gone about a second after", time.time() - t0)
    srv.send_signal(signal.SIGTERM)
    expect(srv.wait(10) == 0, "the server with -i 1 stops")
    # a worker serves 100 calls, then the next call gets a new one
    srv, err = server(home, "-i", "60")
    pids = []
    for k in range(101):
        before = home.mess_ids()
        _, rc, stderr, _ = call(home, ["-f", "s@x.test", "n%d@example.org" % k], b"x\n")
        expect(rc == 0, "call %d of 101" % (k + 1), stderr)
        pids.append(received(home, before)[0])
    expect(len(set(pids[:100])) == 1 and pids[100] != pids[0], "100 calls in a row by one worker, the 101st by another",
           (len(set(pids[:100])), pids[0], pids[100]))
    srv.send_signal(signal.SIGTERM)
    expect(srv.wait(10) == 0, "and SIGTERM with only an idle worker: the server exits at once, 0")
    expect(eventually(lambda: not workers(srv), 10), "its idle worker retired with it")

    # what ferry-sendmail does with each answer, against a stand-in server on the socket
    def fake(behave, keep=False, args=("-f", "s@x.test", "f@example.org"), data=b"Subject: fake\n\nx\n"):
        path = os.path.join(home.path, "sendmail", "socket")
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(path)
        ls.listen(1)
        seen = {}

        def serve():
            c, _ = ls.accept()
            msg, fds, _, _ = socket.recv_fds(c, 65536, 3)
            seen["request"] = msg
            for fd in fds:
                os.close(fd)
            behave(c)
            c.close()
        t = threading.Thread(target=serve)
        t.start()
        rd, wr = os.pipe()
        os.write(wr, data)
        p = subprocess.Popen([os.path.join(BIN, "ferry-sendmail")] + list(args), stdin=rd, stderr=subprocess.PIPE,
                             env={"PATH": "/usr/bin:/bin", "FERRY_HOME": home.path})
        os.close(rd)
        before = home.mess_ids()
        left = None
        if keep:
            # the input stays open: a job that read it would wait for its end; the client must not
            p.wait(30)
            left = unread(wr)
        os.close(wr)
        _, err = p.communicate(timeout=30)
        t.join(30)
        ls.close()
        os.unlink(path)
        return p, err.decode(errors="replace"), left, home.mess_ids() - before, seen

    def say_r(c):
        c.sendall(b"R\n")

    def s_then_close(c):
        c.sendall(b"S\n")
        c.recv(1)

    def s_then_71(c):
        c.sendall(b"S\n")
        c.recv(1)
        c.sendall(b"71 the worker of ferry-sendmaild was killed: the message may or may not be queued\n")

    def silent(c):
        c.settimeout(30)
        try:
            c.recv(1)   # until the client gives up
        except OSError:
            pass

    p, err, left, new, seen = fake(say_r)
    body = os.path.join(BIN, "ferry-sendmail").encode() + b"\0-f\0s@x.test\0f@example.org\0"
    expect(seen.get("request") == b"%d:%s," % (len(body), body), "the request: a netstring of the arguments, argv[0] first", seen)
    expect(p.returncode == 0 and len(new) == 1, "R: the job runs alone, queued", (p.returncode, err, new))
    p, err, left, new, _ = fake(s_then_close, keep=True)
    expect(p.returncode == 71 and "may or may not be queued" in err and not new and left > 0,
           "S, G, then nothing: 71, 'may or may not', and the job is not run again (its input left as it was)", (p.returncode, err, left))
    p, err, left, new, _ = fake(s_then_71, keep=True)
    expect(p.returncode == 71 and "ferry-sendmail: fatal: the worker of ferry-sendmaild was killed" in err and not new,
           "a 71 line with its reason: printed, exit 71", (p.returncode, err))
    t0 = time.time()
    p, err, left, new, _ = fake(silent)
    expect(p.returncode == 0 and len(new) == 1 and time.time() - t0 >= 9,
           "no S within 10 s: the job runs alone, queued", (p.returncode, err, time.time() - t0))

    if is_root():
        # a home with the dedicated users; the server as root, the caller another user
        r = home.make_with_dedicated_users()
        expect(r.returncode == 0, "ferry-setup -u", r.stdout + r.stderr)
        user = test_user()
        injectd_serve(home)
        srv, err = server(home)
        before = home.mess_ids()
        pid, rc, stderr, _ = call(home, ["a@example.org"], b"x\n",
                                  pre=["setpriv", "--reuid=%d" % user.pw_uid, "--regid=%d" % user.pw_gid, "--clear-groups"])
        expect(rc == 0, "as %s, a call through the server as root exits 0" % user.pw_name, stderr)
        qpid, quid = received(home, before)
        expect(qpid != pid and quid == user.pw_uid, "a worker queued it as %s's uid, not root's" % user.pw_name, (qpid, pid, quid))
        msg = home.mess(max(home.mess_ids() - before))
        expect(msg.endswith(b"\n\nx\n"), "its message is there, its body whole", msg[-40:])
        plain = qpid   # that worker stays idle: the user without supplementary groups
        # two calls held open, the caller with a supplementary group: what a worker is and holds
        as_user = ["setpriv", "--reuid=%d" % user.pw_uid, "--regid=%d" % user.pw_gid, "--groups=8"]
        held = []
        for k in range(2):
            held.append(subprocess.Popen(as_user + [os.path.join(BIN, "ferry-sendmail"), "-f", "s@x.test", "h%d@example.org" % k],
                                         stdin=subprocess.PIPE, stderr=subprocess.PIPE, env={"PATH": "/usr/bin:/bin", "FERRY_HOME": home.path}))
            expect(eventually(lambda: len(workers(srv)) == k + 2, 10),
                   "worker %d runs: the idle worker of the user without groups is not given a call of the user with group 8" % (k + 1))
        ws = [w for w in workers(srv) if w != plain]
        expect(len(ws) == 2 and plain in workers(srv), "two new workers beside the idle one", (ws, workers(srv)))
        for w in ws:
            expect(eventually(lambda: open("/proc/%d/status" % w).read().count("\nUid:\t%d\t" % user.pw_uid) == 1, 10), "worker %d has taken its caller's uid" % w)
        # a worker that has sent S has its descriptors in place: wait for each call's handshake
        for p in held:
            expect(eventually(lambda: unread(p.stdin.fileno()) == 0, 10), "a held call's worker is reading")
        for w in ws:
            st = dict(line.split(":", 1) for line in open("/proc/%d/status" % w).read().splitlines() if ":" in line)
            expect(st["Uid"].split() == [str(user.pw_uid)] * 4 and st["Gid"].split() == [str(user.pw_gid)] * 4 and st["Groups"].split() == ["8"],
                   "a worker is the caller: its uid, gid and groups, no more", (st["Uid"], st["Gid"], st["Groups"]))
            fds = sorted(int(f) for f in os.listdir("/proc/%d/fd" % w))
            expect(len(fds) == 6 and fds[:3] == [0, 1, 2],
                   "a worker holds 0, 1, 2, /dev/null, its own connection and its control socket: no other caller's, no other worker's, no listener, no signal pipe", fds)
        for p in held:
            p.communicate(b"x\n", timeout=30)
            expect(p.returncode == 0, "a held call ends queued", p.stderr)
        # each identity's next call goes to its own idle worker
        for pre, want, who in ((as_user, ws, "with group 8"), (["setpriv", "--reuid=%d" % user.pw_uid, "--regid=%d" % user.pw_gid, "--clear-groups"], [plain], "without groups")):
            before = home.mess_ids()
            pid, rc, stderr, _ = call(home, ["-f", "s@x.test", "next@example.org"], b"x\n", pre=pre)
            qpid, _ = received(home, before)
            expect(rc == 0 and qpid in want, "the next call of the user %s: queued by that identity's idle worker" % who, (rc, qpid, want, stderr))
        srv.send_signal(signal.SIGTERM)
        srv.wait(10)
        # -c 1: one worker in all, busy or idle; a caller of another identity retires the idle one
        srv, err = server(home, "-c", "1")
        plain_call = ["setpriv", "--reuid=%d" % user.pw_uid, "--regid=%d" % user.pw_gid, "--clear-groups"]
        before = home.mess_ids()
        _, rc, stderr, _ = call(home, ["a@example.org"], b"x\n", pre=plain_call)
        first, _ = received(home, before)
        expect(rc == 0 and eventually(lambda: workers(srv) == [first], 10), "-c 1: a call, and its worker idle after it", (rc, stderr, workers(srv)))
        before = home.mess_ids()
        pid, rc, stderr, _ = call(home, ["a@example.org"], b"x\n", pre=as_user)
        second, _ = received(home, before)
        expect(rc == 0 and second not in (first, pid) and eventually(lambda: workers(srv) == [second], 10),
               "a caller of another identity, the one slot taken by an idle worker: that worker is retired, a new one serves the call",
               (rc, first, second, pid, workers(srv), stderr))
        srv.send_signal(signal.SIGTERM)
        srv.wait(10)
    else:
        print("note: not root: a caller of another uid is not tried")
finally:
    home.cleanup()
print("%d checks passed" % __import__("ferrytest").checks)
