"""ferry-injectd, ferry-inject as a server. By hand on a home of its own: the committed files are
ferry-inject's (Received: line, u/p/t records from the kernel's credentials); every bad input is
answered with ferry-inject's code and leaves nothing (a bad chunk length, bytes after the
envelope, a refused envelope, a message over databytes, a client that hangs up halfway, one that
sends nothing until the timeout); 30 clients at once are committed in far fewer batches than
messages; a SIGKILL of the server under load loses no answered message; a failing sync of the queue is
answered 53 and leaves nothing. Under s6 in the set:
ferry-sendmail goes through it (a ferry-inject that records its runs is never run), and through
ferry-inject once the service is down; both deliver."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import stop_all, BIN, Home, Supervised, eventually, expect, s6_log  # noqa: E402
from ferrytest import injectd_chunks, injectd_serve, injectd_talk  # noqa: E402

stops = []


def stray(home):
    """queue files that belong to no committed message: none may be left by a refused injection"""
    todo = {os.path.basename(p) for p in home.queue_files(("todo",))}
    return [p for p in home.queue_files(("mess", "intd", "pid")) if os.path.basename(p) not in todo]


def errtext(err):
    err.seek(0)
    return err.read()


ENV = b"Fsender@example.org\0Trcpt@example.net\0XNOTIFY=NEVER\0\0"

try:
    # ---------- by hand, a home of its own ----------
    home = Home()
    stops.append(home.cleanup)
    p, err = injectd_serve(home, "-t", "2")
    mode = os.stat(os.path.join(home.path, "public", "inject")).st_mode & 0o777
    expect(mode == 0o666, "the socket is mode 0666: anyone may inject, as anyone may run ferry-inject", oct(mode))

    msg = b"Subject: one\n\n" + b"x" * 100000 + b"\n"
    r = injectd_talk(home, injectd_chunks(msg, 7000) + ENV)
    expect(r.startswith("0 queued id "), "a message in 15 chunks is committed", r)
    mid = int(r.split()[3])
    m = home.mess(mid)
    expect(m.startswith(b"Received: (ferry %d invoked by uid %d) id %d; " % (os.getpid(), os.getuid(), mid)),
           "the message file starts with ferry-inject's Received: line, naming the client's pid and uid", m[:100])
    expect(m.split(b"\n", 1)[1] == msg, "then the message, byte for byte")
    t = home.todo(mid)
    expect(t.startswith(b"u%d\0p%d\0t" % (os.getuid(), os.getpid())) and t.endswith(ENV),
           "the todo entry: u and p records from the kernel's credentials, t, then the envelope as sent", t)
    expect(not stray(home), "nothing else is left in the queue", stray(home))

    # every bad input: ferry-inject's code, nothing left
    cases = [
        (b"12x:", "54 ", "a bad chunk length"),
        (b":", "54 ", "a chunk without a length"),
        (b"99999999999:", "54 ", "a chunk length of 11 digits"),
        (b"3:abc;", "54 ", "a chunk without its comma"),
        (injectd_chunks(b"hi\n") + ENV + b"more", "54 ", "bytes after the envelope"),
        (injectd_chunks(b"hi\n") + b"Fa@b\0Tc@d\0XNOTIFY=SOMETIMES\0\0", "91 ", "a bad DSN parameter in the envelope"),
        (injectd_chunks(b"hi\n") + b"Fa@b\0T" + b"x" * 2000 + b"@d\0\0", "11 ", "an address over the length limit"),
        (injectd_chunks(b"hi\n") + b"Fa@b\0\0", "91 ", "an envelope without a recipient"),
    ]
    for data, code, what in cases:
        r = injectd_talk(home, data)
        expect(r.startswith(code), "%s: answered %s" % (what, code.strip()), r)
    home.control("databytes", "1000\n")
    r = injectd_talk(home, injectd_chunks(b"y" * 2000) + ENV)
    expect(r.startswith("33 "), "a message over control/databytes (changed while it runs): 33", r)
    home.control("databytes", "0\n")
    expect(not stray(home), "none of the refused messages left a file", stray(home))

    # clients that go away: halfway through the message, and halfway through the envelope
    injectd_talk(home, b"1000:" + b"z" * 500, close_early=True)
    injectd_talk(home, injectd_chunks(b"hi\n") + b"Fa@b\0Tc@", close_early=True)
    expect(eventually(lambda: not stray(home), 10), "a client that hangs up halfway (message or envelope) commits nothing, and its files go")

    # a client that sends part of a message, then nothing: dropped at the timeout (-t 2)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.path.join(home.path, "public", "inject"))
    s.sendall(b"100:abc")
    expect(eventually(lambda: stray(home), 5), "while it waits, its message file exists")
    t0 = time.time()
    s.settimeout(10)
    got = s.recv(100)
    s.close()
    expect(got == b"" and 1 <= time.time() - t0 <= 6, "a silent client is dropped after the timeout", (got, time.time() - t0))
    expect(eventually(lambda: not stray(home), 5), "and its files are removed")
    expect("sent nothing for too long" in errtext(err), "the drop is logged", errtext(err))

    # 30 clients at once: each sends all but its last byte, then all finish together
    n0 = len(home.todo_ids())
    socks, answers = [], []
    for k in range(30):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(os.path.join(home.path, "public", "inject"))
        data = injectd_chunks(b"Subject: parallel %d\n\nbody\n" % k) + b"Fp%d@example.org\0Tr@example.net\0\0" % k
        s.sendall(data[:-1])
        socks.append((s, data[-1:]))
    for s, last in socks:
        s.sendall(last)
    for s, _ in socks:
        s.settimeout(30)
        answers.append(s.recv(100).decode())
        s.close()
    ids = [int(a.split()[3]) for a in answers if a.startswith("0 queued id ")]
    expect(len(ids) == 30 and len(set(ids)) == 30, "30 clients at once: 30 answers, 30 different ids", answers)
    expect(all(home.todo(i).endswith(b"Fp%d@example.org\0Tr@example.net\0\0" % k) for k, i in enumerate(ids)),
           "each id's envelope is its own client's")
    expect(len(home.todo_ids()) == n0 + 30, "30 more todo entries")
    p.send_signal(signal.SIGTERM)
    p.wait(10)
    e = errtext(err)
    import re
    st = re.search(r"stopped: (\d+) messages committed in (\d+) batches, (\d+) refused", e)
    expect(st is not None, "on SIGTERM it logs what it did", e[-300:])
    committed, batches = int(st.group(1)), int(st.group(2))
    expect(committed == 31, "31 messages committed in all", e[-300:])
    expect(batches <= 15, "group commit: 31 messages in %d batches (sync calls shared)" % batches, e[-300:])
    expect(not os.path.exists(os.path.join(home.path, "public", "inject")), "the socket is removed when it stops")

    # SIGKILL under load: every message answered 0 is committed and whole
    p, err = injectd_serve(home)
    done = []
    stop = threading.Event()

    def load(k):
        i = 0
        while not stop.is_set() and i < 400:
            body = b"Subject: kill %d-%d\n\n" % (k, i) + b"k" * (i * 37 % 20000) + b"\n"
            try:
                r = injectd_talk(home, injectd_chunks(body, 4096) + b"Fk%d-%d@example.org\0Tr@example.net\0\0" % (k, i))
            except OSError:
                r = ""
            if r and r.startswith("0 queued id "):
                done.append((int(r.split()[3]), body, k, i))
            i += 1
    th = [threading.Thread(target=load, args=(k,)) for k in range(4)]
    for t in th:
        t.start()
    # the kill comes under load, once each client is into messages of several 4096-byte chunks
    # (the bodies grow with i): it may cut one off between chunks
    expect(eventually(lambda: {d[2] for d in done if len(d[1]) > 4096} == set(range(4)), 60),
           "the load runs: each client has had a message of several chunks answered 0", len(done))
    p.kill()
    p.wait()
    stop.set()
    for t in th:
        t.join()
    bad = [d for d in done if home.mess(d[0]).split(b"\n", 1)[1] != d[1]
           or not home.todo(d[0]).endswith(b"Fk%d-%d@example.org\0Tr@example.net\0\0" % (d[2], d[3]))]
    expect(len(done) > 10 and not bad, "SIGKILL under load: all %d messages answered 0 are committed and whole" % len(done), bad[:3])

    # the queue's sync fails (EIO, from a preloaded shim): the first sync after a message's files
    # works and its todo link is made, the sync that should make the link durable fails: the
    # link is withdrawn and the client told, its files left for the sweep (the queue may have
    # taken the message meanwhile); then every sync fails: the next client is told too, its files
    # removed. The server still stops on SIGTERM, and once the syncs work again, it commits.
    switch = os.path.join(home.tmp, "broken")
    open(switch, "w").close()
    os.unlink(os.path.join(home.path, "public", "inject"))   # the killed server's
    shim = dict(os.environ, LD_PRELOAD=os.path.join(os.environ["FERRY_TOP"], "build", "tests", "failshim.so"),
                FAILSHIM_PROG="ferry-injectd", FAILSHIM_CALLS="syncfs", FAILSHIM_ERRNO="5", FAILSHIM_SWITCH=switch, FAILSHIM_AFTER="1")
    err = open(os.path.join(home.tmp, "injectd-sync.err"), "w+")

    def start_shimmed():
        q = subprocess.Popen([os.path.join(BIN, "ferry-injectd"), home.path], stderr=err, env=shim)
        home.procs.append(q)
        expect(eventually(lambda: os.path.exists(os.path.join(home.path, "public", "inject")), 10), "ferry-injectd starts, the shim on its syncfs")
        return q
    p = start_shimmed()
    before = set(home.queue_files(("todo", "mess", "intd", "pid")))
    r = injectd_talk(home, injectd_chunks(b"Subject: sync 1\n\nbody\n") + ENV)
    expect(r.startswith("53 ") and "sync queue/todo" in r and "Input/output error" in r, "the sync of its todo link fails: answered 53, with the sync's error", r)
    r = injectd_talk(home, injectd_chunks(b"Subject: sync 2\n\nbody\n") + ENV)
    expect(r.startswith("53 ") and "sync the queue" in r, "the sync of its files fails: answered 53", r)
    left = sorted(set(home.queue_files(("todo", "mess", "intd", "pid"))) - before)
    expect(len(left) == 2 and {f.split(os.sep)[-3] for f in left} == {"mess", "intd"} and len({os.path.basename(f) for f in left}) == 1,
           "no todo entry is left; the withdrawn link's message file and envelope stay, the other's are removed", left)
    expect(errtext(err).count("syncfs the queue: the batch is withdrawn") == 2, "each failure is logged", errtext(err))
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
        stopped = True
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        stopped = False
    expect(stopped, "after the failures it still stops on SIGTERM")
    old = time.time() - 37 * 3600
    for f in left:
        os.utime(f, (old, old))
    r = subprocess.run([os.path.join(BIN, "ferry-clean"), "sweep", home.path], capture_output=True, text=True)
    expect(r.returncode == 0 and not (set(home.queue_files(("mess", "intd"))) & set(left)),
           "ferry-clean sweep removes them once they are 36 hours old", r.stdout + r.stderr)
    os.unlink(switch)
    p = start_shimmed()
    r = injectd_talk(home, injectd_chunks(b"Subject: sync 3\n\nbody\n") + ENV)
    expect(r.startswith("0 queued id ") and home.todo(int(r.split()[3])).endswith(ENV), "the syncs work again: committed", r)
    p.send_signal(signal.SIGTERM)
    p.wait(10)

    # ---------- under s6, in the set ----------
    home2 = Home()
    stops.append(home2.cleanup)
    H = home2.path
    # a bin/ where ferry-inject records each run, then runs the real one
    bindir = os.path.join(home2.tmp, "bin")
    os.makedirs(bindir)
    runs = os.path.join(home2.tmp, "inject-runs")
    for f in os.listdir(BIN):
        if f != "ferry-inject":
            os.symlink(os.path.join(BIN, f), os.path.join(bindir, f))
    with open(os.path.join(bindir, "ferry-inject"), "w") as f:
        f.write("#!/bin/sh\necho run >> %s\nexec %s \"$@\"\n" % (runs, os.path.join(BIN, "ferry-inject")))
    os.chmod(os.path.join(bindir, "ferry-inject"), 0o755)
    os.unlink(os.path.join(H, "bin"))
    os.symlink(bindir, os.path.join(H, "bin"))
    home2.maildirs(["u"], ["example.org"])
    svscan = Supervised(H)
    stops.insert(0, svscan.stop)     # before the homes are removed
    expect(eventually(lambda: "listening on public/inject" in s6_log(os.path.join(H, "log", "injectd")), 20),
           "under s6-svscan, service/ferry-injectd starts and logs to log/injectd")
    expect(eventually(lambda: "ferry-schedule: starting" in s6_log(os.path.join(H, "log")), 20), "the set starts")
    env = dict(os.environ, FERRY_HOME=H)
    for k in range(10):
        r = subprocess.run([os.path.join(BIN, "ferry-sendmail"), "-f", "s@example.org", "u@example.org"],
                           input=b"Subject: via %d\n\nhello\n" % k, capture_output=True, env=env)
        expect(r.returncode == 0, "ferry-sendmail %d exits 0" % k, r.stderr)
    newdir = os.path.join(home2.maildir("u"), "new")
    expect(eventually(lambda: len(os.listdir(newdir)) == 10, 30), "10 messages through ferry-injectd are delivered", os.listdir(newdir))
    expect(not os.path.exists(runs), "ferry-inject never ran: ferry-sendmail used the server")
    subprocess.run(["s6-svc", "-wd", "-T", "10000", "-d", os.path.join(H, "service", "ferry-injectd")], check=True)
    expect(eventually(lambda: "stopped: 10 messages committed" in s6_log(os.path.join(H, "log", "injectd")), 10),
           "s6-svc -d: it stops and says how many it committed", s6_log(os.path.join(H, "log", "injectd"))[-300:])
    r = subprocess.run([os.path.join(BIN, "ferry-sendmail"), "-f", "s@example.org", "u@example.org"],
                       input=b"Subject: without the server\n\nhello\n", capture_output=True, env=env)
    expect(r.returncode == 0 and os.path.exists(runs) and open(runs).read() == "run\n",
           "with the service down, ferry-sendmail runs ferry-inject once, and exits 0", (r.returncode, r.stderr))
    expect(eventually(lambda: len(os.listdir(newdir)) == 11, 30), "and that message is delivered too")
    subprocess.run(["s6-svc", "-u", os.path.join(H, "service", "ferry-injectd")], check=True)
    expect(eventually(lambda: s6_log(os.path.join(H, "log", "injectd")).count("listening on public/inject") == 2, 10),
           "s6-svc -u: it listens again")
finally:
    stop_all(stops)
print("injectd: all checks passed")
