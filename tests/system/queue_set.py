"""The whole set under s6-svscan on a home made by ferry-setup: mail injected with ferry-inject is
delivered exactly once, locally (a Maildir read back with Python's mailbox module) and remotely
(Postfix's smtp-sink on loopback); retries, SIGALRM, a restart, expiry, the concurrency limits,
and SIGKILL of the whole set at random instants under load."""

import mailbox
import os
import random
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import stop_all, BIN, Home, Supervised, eventually, expect, fail, is_root, s6_log, test_user  # noqa: E402
from smtp_peers import RawPeer, SmtpSink, free_port  # noqa: E402

home = Home()
H = home.path
stops = []
svscan = None


def control(**kv):
    for k, v in kv.items():
        home.control(k, "%s\n" % v)


def log():
    return s6_log(os.path.join(H, "log"))


def svc(*args):
    subprocess.run(["s6-svc"] + list(args) + [os.path.join(H, "service", "ferry")], check=True)


def reread():
    """s6-svc -h, and wait until ferry-schedule has read its settings again"""
    n = log().count("ferry-schedule: SIGHUP: settings read again")
    svc("-h")
    if not eventually(lambda: log().count("ferry-schedule: SIGHUP: settings read again") > n, 10):
        fail("ferry-schedule did not read its settings again: " + log()[-300:])


def peer_routed(domains, settings=None, **behaviour):
    """a RawPeer of its own that takes the mail of domains (sink.test still goes to the sink), the
    route and the settings given read again at SIGHUP"""
    peer = RawPeer(port=free_port(), **behaviour)
    stops.append(peer.stop)
    home.control("smtproutes", "sink.test:127.0.0.1:%d\n" % sink.port + "".join("%s:127.0.0.1:%d\n" % (d, peer.port) for d in domains))
    control(**(settings or {}))
    reread()
    return peer


def queue_files(dirs=("todo", "intd", "local", "remote", "mess", "pid", "bounce")):
    return home.queue_files(dirs)


def inject_many(n, rcpt_of, subject, sender="sender@example.com"):
    """n messages, from one ferry-inject each, as a client would"""
    ids = []
    for i in range(n):
        ids.append(home.inject(b"Subject: %s %d\n\nbody of %d\n" % (subject.encode(), i, i), sender, rcpt_of(i), running=True))
    return ids


def notices(subject, needle):
    """how many notifications with this subject and mentioning needle the catch-all Maildir holds"""
    n = 0
    d = os.path.join(mail, "box", "Maildir", "new")
    for f in os.listdir(d):
        with open(os.path.join(d, f), "rb") as fh:
            data = fh.read()
        if ("\nSubject: %s\n" % subject).encode() in data and needle in data:
            n += 1
    return n


def set_pids():
    """ferry-schedule's pid (s6-svstat) and every process below it"""
    r = subprocess.run(["s6-svstat", "-p", os.path.join(H, "service", "ferry")], capture_output=True, text=True)
    top = int(r.stdout.strip() or 0)
    if top <= 0:
        return []
    pids, todo = [top], [top]
    while todo:
        p = todo.pop()
        kids = subprocess.run(["pgrep", "-P", str(p)], capture_output=True, text=True).stdout.split()
        pids += [int(k) for k in kids]
        todo += [int(k) for k in kids]
    return pids


def maildir_subjects(path):
    md = mailbox.Maildir(path, factory=None, create=False)
    return [m["Subject"] for m in md]


try:
    mail = os.path.join(home.tmp, "mail")
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(mail, "box", "Maildir", sub))
    prog = os.path.join(home.tmp, "prog")
    os.makedirs(prog)
    if is_root():
        test_user()
        control(mailboxowner="ferrytest")
        subprocess.run(["chown", "-R", "ferrytest", mail, prog], check=True)
        os.chmod(home.tmp, 0o755)
    control(virtualdomains="example.org")
    home.control("mailboxes", "@example.org: %s/box/Maildir/\nslow@example.org: |echo s >> %s/conc; sleep 1; echo e >> %s/conc\n" % (mail, prog, prog))
    subprocess.run([os.path.join(BIN, "ferry-mailboxes"), H], check=True, capture_output=True)
    sink = SmtpSink(home.tmp)
    stops.append(sink.stop)
    deadport = free_port()
    home.control("smtproutes", "sink.test:127.0.0.1:%d\nlater.test:127.0.0.1:%d\n" % (sink.port, deadport))
    control(timeoutconnect=2, deadhosttime=0)

    svscan = Supervised(H)
    expect(eventually(lambda: "ferry-schedule: starting" in log(), 20), "the set starts under s6-svscan and logs through s6-log", log()[-500:])
    expect(eventually(lambda: re.search(r"^@4[0-9a-f]{23} status: local 0/20 remote 0/100 messages 0 recipients 0$", log(), re.M), 10), "a TAI64N-stamped status line")

    # 1,000 local and 1,000 remote messages, each delivered exactly once; the queue empty after
    t0 = time.time()
    inject_many(1000, lambda i: ["user%d@example.org" % i] if i % 2 == 0 else ["user%d@sink.test" % i], "bulk")
    inject_many(1000, lambda i: ["user%d@example.org" % (i * 2 + 1)] if i % 2 == 0 else ["user%d@sink.test" % (i * 2)], "bulk2")
    ok_ = eventually(lambda: len(os.listdir(os.path.join(mail, "box", "Maildir", "new"))) >= 1000 and len(sink.dumps()) >= 1000
                     and not queue_files(), 180)
    expect(ok_, "2,000 messages delivered in %.1fs, the queue empty" % (time.time() - t0),
           (len(os.listdir(os.path.join(mail, "box", "Maildir", "new"))), len(sink.dumps()), queue_files()[:5]))
    subj = maildir_subjects(os.path.join(mail, "box", "Maildir"))
    expect(len(subj) == 1000 and len(set(subj)) == 1000, "the Maildir holds 1,000 distinct messages: none lost, none twice", len(set(subj)))
    sunk = [re.search(rb"\nSubject: ([^\n]*)\n", d).group(1) for d in sink.dumps()]
    expect(len(sunk) == 1000 and len(set(sunk)) == 1000, "smtp-sink got 1,000 distinct messages: none lost, none twice", len(set(sunk)))
    for line in ("new msg ", "info msg ", ": bytes ", "starting delivery ", ": success: ", "end msg "):
        if line not in log():
            fail("no log line with %r" % line)
    expect(True, "the log has new, info, starting delivery, success and end lines")

    # a peer that is down: deferred with a next attempt on disk; a restart keeps it; SIGALRM after
    # the peer is back delivers at once
    mark = len(log())   # ids are inodes, reused: only this message's lines count
    lid = inject_many(1, lambda i: ["x@later.test"], "later")[0]
    lname = home.name(lid)
    expect(eventually(lambda: ("deferral msg %s" % lname) in log()[mark:], 20), "a refused connection: deferral", log()[-400:])
    rec = open(os.path.join(H, "queue", "remote", str(lid % 23), str(lid)), "rb").read()
    nxt = int(rec[1:17], 16)
    expect(rec[0:1] == b"T" and nxt > time.time() + 200, "the next attempt is on disk, minbackoff ahead (%ds)" % (nxt - time.time()))
    rmtime = int(os.stat(os.path.join(H, "queue", "remote", str(lid % 23), str(lid))).st_mtime)
    expect(rmtime == nxt, "the recipient file's time hint is its next attempt (doc/queue.html)", (rmtime, nxt))
    svc("-d")
    expect(eventually(lambda: "ferry-schedule: stopped" in log(), 20), "s6-svc -d: the set stops cleanly")
    peer = RawPeer(port=deadport)
    stops.append(peer.stop)
    svc("-u")
    expect(eventually(lambda: re.search(r"ferry-schedule: 1 messages, 1 recipients to deliver", log()), 20), "the restarted set has the deferred recipient again", log()[-300:])
    expect("loading the queue: 1 messages (1 recipient files), 0 of them due now first" in log(),
           "at the restart, the hint keeps the deferred file out of the files loaded first", log()[-300:])
    # the scheduler's first round after the load: a status line with nothing out
    expect(eventually(lambda: re.search(r"status: local 0/\d+ remote 0/\d+ messages 1 recipients 1\n", log().split("ferry-schedule: starting")[-1]), 20),
           "the first round after the restart starts nothing", log()[-300:])
    expect(not peer.messages, "it waits for its time, not retrying at once")
    svc("-a")
    expect(eventually(lambda: len(peer.messages) == 1 and not queue_files(), 20), "s6-svc -a: delivered at once, the queue empty", log()[-400:])

    # expiry: a recipient still failing after queuelifetime fails for good, and its sender (here a
    # local mailbox) gets the failure notice (the notices themselves: tests/system/bounce.py)
    peer.stop()
    control(queuelifetime=2)
    svc("-h")
    mark = len(log())
    eid = home.name(inject_many(1, lambda i: ["y@later.test"], "expiring", sender="expiry@example.org")[0])
    expect(eventually(lambda: ("deferral msg %s" % eid) in log()[mark:], 20), "deferred first")
    time.sleep(2.2)     # time itself: the message must be older than queuelifetime
    svc("-a")
    expect(eventually(lambda: ("expired msg %s" % eid) in log()[mark:], 20), "after queuelifetime it expires", log()[-400:])
    expect(eventually(lambda: notices("Undelivered Mail Returned to Sender", b"y@later.test") == 1 and not queue_files(), 20),
           "the sender gets a failure notice naming the recipient, and the queue is empty", log()[-600:])
    expect(("bounce msg %s: failure notice about 1 recipient queued, to <expiry@example.org>" % eid) in log(), "the notice is logged")
    control(queuelifetime=604800)
    svc("-h")

    # the delay warning: once per message
    control(delaywarning=1)
    svc("-h")
    mark = len(log())
    did = inject_many(1, lambda i: ["z@later.test"], "delayed", sender="delayed@example.org")[0]
    dname = home.name(did)
    expect(eventually(lambda: ("delay msg %s" % dname) in log()[mark:] and notices("Delayed Mail (still being retried)", b"z@later.test") == 1, 20),
           "a message queued longer than delaywarning: its sender is warned", log()[-300:])
    dfile = os.path.join(H, "queue", "bounce", "%d.delay" % did)
    expect(os.path.exists(dfile) and os.path.getsize(dfile) == 0, "queue/bounce/ID.delay is left, empty, as the mark")
    # two more rounds that retry it (SIGALRM), each a chance for a second warning
    for _ in range(2):
        tried = log()[mark:].count("deferral msg %s" % dname)
        svc("-a")
        if not eventually(lambda: log()[mark:].count("deferral msg %s" % dname) > tried, 20):
            fail("no retry after s6-svc -a: " + log()[mark:][-3000:])
    expect(log()[mark:].count("delay msg %s: queued longer" % dname) == 1 and notices("Delayed Mail (still being retried)", b"z@later.test") == 1, "only once per message")
    control(delaywarning=14400, queuelifetime=1)
    svc("-h")
    svc("-a")
    expect(eventually(lambda: not queue_files(), 20), "when it expires, everything of it goes, the mark too", queue_files())
    control(queuelifetime=604800)
    svc("-h")

    # a member that dies takes the set down; s6 starts it again and mail goes on
    starts = log().count("ferry-schedule: starting")
    top = subprocess.run(["s6-svstat", "-p", os.path.join(H, "service", "ferry")], capture_output=True, text=True).stdout.strip()
    remote_pid = subprocess.run(["pgrep", "-P", top, "-f", "ferry-spawn-remote"], capture_output=True, text=True).stdout.split()[0]
    os.kill(int(remote_pid), signal.SIGKILL)
    # the scheduler notices through SIGCHLD or through the closed pipe, whichever comes first
    expect(eventually(lambda: ("a member of the set died" in log() or "ferry-spawn-remote has gone" in log())
                      and log().count("ferry-schedule: starting") > starts, 20),
           "killing ferry-spawn-remote stops the set, and s6 starts it again", log()[-300:])
    inject_many(2, lambda i: ["after%d@%s" % (i, "example.org" if i else "sink.test")], "afterdeath")
    expect(eventually(lambda: not queue_files(("todo", "local", "remote")), 60), "mail flows again after the restart",
           "%s left; the log ends: %s" % (queue_files(("todo", "local", "remote")), log()[-1500:]))

    # the local concurrency limit, counted at a slow program
    control(concurrencylocal=3)
    reread()
    inject_many(9, lambda i: ["slow@example.org"], "slow")
    expect(eventually(lambda: not queue_files(), 60), "9 slow program deliveries done")
    running = peak = 0
    for x in open(os.path.join(prog, "conc")).read().split():
        running += 1 if x == "s" else -1
        peak = max(peak, running)
    expect(peak == 3, "never more than concurrencylocal (3) at once, and 3 reached", peak)
    control(concurrencylocal=20)
    svc("-h")

    # the remote limits, counted at a slow peer: 4 at once in all, 2 per domain
    slow = peer_routed(["slow%d.test" % k for k in range(3)], dict(concurrencyremote=4, concurrencydestination=2), slow_data=1)
    inject_many(12, lambda i: ["r%d@slow%d.test" % (i, i % 3)], "slowremote")
    expect(eventually(lambda: len(slow.messages) == 12 and not queue_files(), 60), "12 deliveries to a slow peer done")
    expect(slow.peak == 4, "never more than concurrencyremote (4) connections at once, and 4 reached", slow.peak)
    slow2 = peer_routed(["slowone.test"], slow_data=1)
    inject_many(6, lambda i: ["r%d@slowone.test" % i], "slowone")
    expect(eventually(lambda: len(slow2.messages) == 6 and not queue_files(), 60), "6 deliveries to one slow domain done")
    expect(slow2.peak == 2, "never more than concurrencydestination (2) at once to one domain, and 2 reached", slow2.peak)

    # recipients due while their domain has no free slot wait parked on it (doc/ferry-schedule.html,
    # "Destinations"); a higher concurrencydestination given by SIGHUP lets them go at once, not
    # only when a slot frees (here the peer holds each delivery 12 s)
    stuck = peer_routed(["stuck.test"], dict(concurrencyremote=4, concurrencydestination=1), slow_data=12)
    mark = len(log())
    inject_many(3, lambda i: ["r%d@stuck.test" % i], "stuck")
    expect(eventually(lambda: stuck.active == 1, 10), "one delivery to the held-up domain under way", stuck.active)
    # a round of the scheduler with the three due and one out: the other two were not started
    expect(eventually(lambda: re.search(r"status: local 0/\d+ remote 1/4 messages 3 recipients 3\n", log()[mark:]), 10),
           "the scheduler holds all three, one out", log()[-300:])
    expect(stuck.active == 1 and stuck.peak == 1, "concurrencydestination 1: the other two wait", stuck.peak)
    control(concurrencydestination=3)
    svc("-h")
    expect(eventually(lambda: stuck.active == 3, 5), "after SIGHUP with concurrencydestination 3, the two parked go at once", stuck.active)
    expect(eventually(lambda: len(stuck.messages) == 3 and not queue_files(), 60), "the 3 held-up deliveries done")
    control(concurrencyremote=20, concurrencydestination=10)

    # a failing destination is backed off as a whole, probed rather than hammered; when it takes
    # mail again, its deferred mail goes at once (a 451 greeting: a 421 is a throttling reply,
    # which lowers the domain's shaping limits instead, doc/ferry-schedule.html)
    bad = peer_routed(["flaky.test"], dict(minbackoff=1, maxbackoff=2), greeting="451 4.3.2 not now")
    inject_many(10, lambda i: ["r%d@flaky.test" % i], "flaky")
    expect(eventually(lambda: "destination flaky.test: 1 failed deliveries in a row" in log(), 20), "the destination is marked failing", log()[-300:])
    time.sleep(0.5)     # time itself: the rate of probes over 6 s is what is measured
    c0 = bad.connections
    time.sleep(6)
    c1 = bad.connections
    expect(c1 - c0 <= 8, "in 6 s, %d connections to the failing destination (10 messages queued for it): probed, not hammered" % (c1 - c0))
    bad.stop()
    good = RawPeer(port=bad.port)
    stops.append(good.stop)
    t0 = time.time()
    expect(eventually(lambda: len(good.messages) == 10 and not queue_files(), 20), "when it takes mail again, all 10 go within %.1fs (they were parked for 60 s)" % (time.time() - t0))
    expect(eventually(lambda: "destination flaky.test: accepts mail again" in log(), 10), "logged: the destination accepts mail again")
    control(minbackoff=300, maxbackoff=4000)
    home.control("smtproutes", "sink.test:127.0.0.1:%d\n" % sink.port)
    svc("-h")

    # torture: SIGKILL the whole set at random instants under a 2,000-message load
    before_md = len(os.listdir(os.path.join(mail, "box", "Maildir", "new")))
    before_sink = len(sink.dumps())
    kills = 0
    killmark = len(log())
    rnd = random.Random(int(os.environ.get("FERRY_SEED", time.time())))
    t0 = time.time()
    for i in range(2000):
        home.inject(b"Subject: torture %d\n\nx\n" % i, "sender@example.com", ["t%d@example.org" % i if i % 2 else "t%d@sink.test" % i], running=True)
        if i % 250 == 125:
            time.sleep(rnd.random() * 0.3)
            # s6-supervise starts a killed set again after a second: kill this one once it is up
            eventually(lambda: "status:" in log()[killmark:] if kills else True, 20)
            killmark = len(log())
            pids = set_pids()
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if pids:
                kills += 1
    ok_ = eventually(lambda: not queue_files(("todo", "local", "remote", "pid")), 240)
    subj = [s for s in maildir_subjects(os.path.join(mail, "box", "Maildir")) if s.startswith("torture")]
    sunk = [re.search(rb"\nSubject: ([^\n]*)\n", d).group(1).decode() for d in sink.dumps()]
    sunk = [s for s in sunk if s.startswith("torture")]
    want_local = {"torture %d" % i for i in range(2000) if i % 2}
    want_remote = {"torture %d" % i for i in range(2000) if not i % 2}
    lost = len(want_local - set(subj)) + len(want_remote - set(sunk))
    dups = (len(subj) - len(set(subj))) + (len(sunk) - len(set(sunk)))
    expect(ok_ and kills >= 5, "after %d kills every message is done: no todo, local, remote left" % kills, queue_files()[:5])
    everything = set(maildir_subjects(os.path.join(mail, "box", "Maildir"))) | {re.search(rb"\nSubject: ([^\n]*)\n", d).group(1).decode() for d in sink.dumps()}
    orphans = home.left_for_sweep(kills, lambda data: (re.findall(rb"^Subject: ([^\n]*)\n", data, re.M) or [b""])[0].decode() in everything)
    print("torture: 2000 messages, %d kills of the whole set, lost %d, duplicates %d, message files left for the sweep %d, %.1fs"
          % (kills, lost, dups, len([f for f in orphans if "/mess/" in f]), time.time() - t0))
    expect(lost == 0, "no message lost", lost)
    expect(dups <= kills * 40, "duplicates only in the window of deliveries in flight at each kill (%d)" % dups)

    # stopped while messages finish: SIGTERM waits for the removals of the finished ones (done by
    # the queue manager's own ferry-clean) and for the envelopes' and message files' removal; what
    # is left is only messages with a recipient still to deliver, and no ended message keeps a file
    stopped = log().count("ferry-schedule: stopped")
    inject_many(150, lambda i: ["stop%d@example.org" % i], "stopping")
    svc("-d")
    expect(eventually(lambda: log().count("ferry-schedule: stopped") > stopped, 20), "s6-svc -d while messages finish: the set stops")
    # (ids are inode numbers, reused: the files themselves say what is finished, not the log)
    def qpath(d, mid):
        return os.path.join(H, "queue", d, str(mid % 23), str(mid))
    left_done, unfinished = [], 0
    for mid in {int(os.path.basename(f)) for f in queue_files(("local", "remote"))}:
        if not os.path.exists(qpath("intd", mid)):
            left_done.append(mid)     # a recipient file without its envelope
        recs = b""
        for ch in ("local", "remote"):
            if os.path.exists(qpath(ch, mid)):
                recs += open(qpath(ch, mid), "rb").read()
        statuses, pos = [], 0
        while pos < len(recs):
            statuses.append(recs[pos:pos + 1])
            pos = recs.index(b"\0", pos + 25) + 1
        if b"T" in statuses:
            unfinished += 1
        elif not os.path.exists(qpath("todo", mid)):
            left_done.append(mid)     # every recipient done, yet its recipient files are there
    for f in set(queue_files(("mess", "intd"))) - set(orphans):
        mid = int(os.path.basename(f))
        if not [d for d in ("todo", "local", "remote") if os.path.exists(qpath(d, mid))]:
            left_done.append(mid)     # a message file or envelope nothing refers to: its removal was not waited for
    expect(not left_done, "after the stop, no finished message keeps a file (%d unfinished left)" % unfinished, left_done[:5])
finally:
    if svscan:
        svscan.stop()
    stop_all(stops)
    home.cleanup()
print("%d checks passed" % __import__("ferrytest").checks)
