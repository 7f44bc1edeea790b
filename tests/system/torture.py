"""Crash torture. Under a mixed load (local Maildir, remote smtp-sink, a local program that fails
for good so the sender gets a notice, one that fails once then succeeds), kill with SIGKILL, at
random instants, either the whole set (TORTURE_SET_KILLS times, 50 by default) or one member
(ferry-schedule, ferry-preprocess-todo, ferry-spawn-local, ferry-spawn-remote, either ferry-clean,
one of a ferry-clean's removers, or a local delivery worker: TORTURE_ROUNDS times), in a shuffled
order, let s6 start it again, and repeat. Then, against the injector's own ledger: every accepted message reached every
recipient or its sender got a failure notice, and nothing is left in the queue. Duplicates are
allowed only in the window of deliveries in flight at a kill (doc/ferry-start.html): counted,
printed and bounded. The last line reports the messages accepted, the deliveries (and notices)
wanted and made, those lost (must be 0) and the duplicates.

make check runs a short version (about a minute and a half); by hand, for longer:
    TORTURE_SET_KILLS=500 TORTURE_ROUNDS=300 TORTURE_PER_ROUND=30 FERRY_SEED=1 FERRY_TOP=$PWD /usr/bin/python3 tests/system/torture.py"""

import os
import random
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import Home, Supervised, eventually, expect, s6_log, stop_all  # noqa: E402
from smtp_peers import SmtpSink  # noqa: E402

ROUNDS = int(os.environ.get("TORTURE_ROUNDS", "12"))           # rounds ending in a kill of one member
SET_KILLS = int(os.environ.get("TORTURE_SET_KILLS", "50"))     # rounds ending in a kill of the whole set
PER_ROUND = int(os.environ.get("TORTURE_PER_ROUND", "6"))
seed = int(os.environ.get("FERRY_SEED", str(int(time.time()))))
rnd = random.Random(seed)
home = Home()
H = home.path
stops = []
MEMBERS = ("ferry-schedule", "ferry-preprocess-todo", "ferry-spawn-local", "ferry-spawn-remote", "ferry-clean")


def log():
    return s6_log(os.path.join(H, "log"))


def comm(pid):
    try:
        return open("/proc/%d/cmdline" % pid, "rb").read().split(b"\0")[0].decode().rsplit("/", 1)[-1]
    except OSError:
        return ""


def tree():
    """ferry-schedule's pid (s6-svstat) and every process below it, with their depth"""
    r = subprocess.run(["s6-svstat", "-p", os.path.join(H, "service", "ferry")], capture_output=True, text=True)
    top = int(r.stdout.strip() or 0)
    if top <= 0:
        return []
    out, todo = [(top, 0)], [(top, 0)]
    while todo:
        p, d = todo.pop()
        for k in subprocess.run(["pgrep", "-P", str(p)], capture_output=True, text=True).stdout.split():
            out.append((int(k), d + 1))
            todo.append((int(k), d + 1))
    return out


def kill(pids):
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def subjects_in(path):
    out = []
    for f in os.listdir(path):
        with open(os.path.join(path, f), "rb") as fh:
            out.append(fh.read())
    return out


try:
    flaky = os.path.join(home.tmp, "flaky")
    os.makedirs(flaky)
    script = os.path.join(home.tmp, "flaky.sh")
    with open(script, "w") as f:
        # fails the first attempt of each message, then records the delivery
        f.write('s=$(sed -n "s/^Subject: //p" | head -n 1 | tr -dc "a-z0-9-")\n'
                '[ -e "%s/seen-$s" ] || { touch "%s/seen-$s" ; exit 111 ; }\n'
                'echo "$s" >> "%s/delivered"\n' % (flaky, flaky, flaky))
    maildir = home.catchall("example.org", "fail@example.org: |exit 100\nflaky@example.org: |sh %s\n" % script, owned=(flaky,))
    sink = SmtpSink(home.tmp)
    stops.append(sink.stop)
    home.control("smtproutes", "sink.test:127.0.0.1:%d\n" % sink.port)
    home.control("minbackoff", "1\n")
    home.control("maxbackoff", "2\n")

    svscan = Supervised(H)
    stops.append(svscan.stop)
    expect(eventually(lambda: "ferry-schedule: starting" in log(), 20), "the set starts")

    kinds = ("local", "remote", "fail", "flaky")
    ledger = []           # (subject, kinds) of every message ferry-inject accepted
    kills = {"set": 0, "worker": 0}
    t0 = time.time()
    plan = ["set"] * SET_KILLS + [None] * ROUNDS
    rnd.shuffle(plan)
    for r, planned in enumerate(plan):
        for i in range(PER_ROUND):
            subj = "t%d-%d" % (r, i)
            ks = rnd.sample(kinds, rnd.randint(1, 3))
            rcpts = []
            for k in ks:
                rcpts.append({"local": "%s@example.org" % subj, "remote": "%s@sink.test" % subj,
                              "fail": "fail@example.org", "flaky": "flaky@example.org"}[k])
            home.inject(b"Subject: %s\n\nbody\n" % subj.encode(), "snd@example.org", rcpts, running=True)
            ledger.append((subj, ks))
        time.sleep(rnd.random() * 0.4)
        procs = tree()
        if not procs and planned:
            expect(eventually(lambda: tree(), 30, 0.05), "the set runs", log()[-400:])
            procs = tree()
        if not procs:
            continue
        starts = log().count("ferry-schedule: starting")
        what = planned or rnd.choice(MEMBERS + ("worker", "remover"))
        if what == "set":
            kill([p for p, _ in procs])
        elif what == "worker":
            workers = [p for p, d in procs if d == 2 and comm(p) == "ferry-spawn-local"]
            if not workers:
                continue
            kill([rnd.choice(workers)])
        elif what == "remover":
            # a fork of either ferry-clean: that ferry-clean dies of it, and the set with it
            removers = [p for p, d in procs if d == 2 and comm(p) == "ferry-clean"]
            if not removers:
                continue
            kill([rnd.choice(removers)])
        else:
            # ferry-clean runs twice (the queue owner's, the queue manager's own): either
            same = [p for p, d in procs if d <= 1 and comm(p) == what]
            if not same:
                continue
            kill([rnd.choice(same)])
        kills[what] = kills.get(what, 0) + 1
        if what != "worker":
            # the set goes down as a whole and s6 starts it again
            expect(eventually(lambda: log().count("ferry-schedule: starting") > starts, 30, 0.05), "killing %s: the set is started again" % what, log()[-400:])

    queue_dirs = ("todo", "local", "remote", "pid", "bounce")
    done = eventually(lambda: not home.queue_files(queue_dirs), 180, 0.1)
    spent = time.time() - t0
    mails = subjects_in(os.path.join(maildir, "new"))
    notices = [m for m in mails if b"\nSubject: Undelivered Mail Returned to Sender" in m]
    local = [re.search(rb"\nSubject: (t[0-9-]+)\n", m) for m in mails if m not in notices]
    local = [m.group(1).decode() for m in local if m]
    sunk = [re.search(rb"\nSubject: (t[0-9-]+)\r?\n", d) for d in sink.dumps()]
    sunk = [m.group(1).decode() for m in sunk if m]
    got = {"local": local, "remote": sunk,
           "flaky": open(os.path.join(flaky, "delivered")).read().split() if os.path.exists(os.path.join(flaky, "delivered")) else [],
           "fail": [m.group(1).decode() for m in (re.search(rb"\nSubject: (t[0-9-]+)\n", n.split(b"\nSubject: Undelivered", 1)[1]) for n in notices) if m]}
    lost, dups, wanted, made = [], 0, 0, 0
    for kind in kinds:
        want = [s for s, ks in ledger if kind in ks]
        wanted += len(want)
        have = {}
        for s in got[kind]:
            have[s] = have.get(s, 0) + 1
        lost += ["%s to %s" % (s, kind) for s in want if s not in have]
        made += sum(1 for s in want if s in have)
        dups += sum(n - 1 for n in have.values() if n > 1)
    nkills = sum(kills.values())
    orphans = home.queue_files(("mess",))
    print("torture (seed %d): %d rounds, %d kills (%s), %.1fs" % (seed, len(plan), nkills, ", ".join("%s %d" % kv for kv in sorted(kills.items()) if kv[1]), spent))
    print("torture: accepted %d messages, deliveries and notices wanted %d, delivered %d, lost %d, duplicates %d"
          % (len(ledger), wanted, made, len(lost), dups))
    expect(kills["set"] >= SET_KILLS, "the whole set killed %d times (%d wanted)" % (kills["set"], SET_KILLS))
    expect(done, "after %d kills every message is done: no todo, local, remote, pid or bounce file left" % nkills,
           home.queue_files(queue_dirs)[:5])
    expect(not lost, "every accepted message reached every recipient, or its sender got the notice", lost[:10])
    expect(dups <= nkills * 20, "duplicates only in the window of deliveries in flight at a kill: %d for %d kills" % (dups, nkills))
    finished = set(got["local"]) | set(got["remote"]) | set(got["flaky"]) | set(got["fail"])
    if notices:
        finished.add("Undelivered Mail Returned to Sender")
    home.left_for_sweep(nkills, lambda data: (re.findall(rb"^Subject: ([^\r\n]*)\r?\n", data, re.M) or [b""])[0].decode() in finished)
finally:
    stop_all(stops)
    home.cleanup()
