"""Traffic shaping across a stop of the set, and the hand tools while the queue manager is down
(one home under s6-svscan, one RawPeer for every domain through control/smtproutes):
- the set down: ferry-qctl suspend @x.test writes queue/suspend/@x.test and says that it takes
  effect when the set starts; a name that is not @domain, site:NAME or route:HOST is refused
  (100) and the others are still acted on; ferry-qctl suspended and ferry-qstat say that the
  queue manager is not running (-j: shaping_snapshot_age null, no key);
- the set started with that mark: the log says x.test is suspended from queue/suspend/; y.test's
  mail is delivered, x.test's waits, neither started nor deferred; ferry-qctl suspended counts
  its 1 recipient; resume delivers it, and then nothing is suspended;
- daily=2 for z.test: 2 delivered, the queue manager stopped (queue/shaping/counts holds them;
  ferry-qstat says it is not running once its last snapshot is 10 seconds old) and started again: of 2 more, the first contact goes (doc/ferry-schedule.html: it may exceed
  the cap by one), the other waits, not deferred, and ferry-qstat -j shows the day's 3 of 2."""

import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Home, Supervised, eventually, expect  # noqa: E402
from smtp_peers import RawPeer  # noqa: E402

SENDER = "s@example.com"


def tool(name, *args):
    return subprocess.run([os.path.join(BIN, name)] + list(args), capture_output=True, text=True)


def svc(flag):
    d = os.path.join(H, "service", "ferry")
    return eventually(lambda: subprocess.run(["s6-svc", flag, d], capture_output=True).returncode == 0, 20)


def send(rcpt, tag):
    home.inject(b"Subject: " + tag.encode() + b"\n\nshaping across a restart\n", SENDER, [rcpt], running=True)


def taken(tag):
    """the messages the peer took with that subject"""
    return [m for m in peer.messages if b"Subject: " + tag.encode() + b"\r\n" in m]


def deferrals(domain):
    d = re.escape(domain)
    return [l for l in home.log().splitlines() if re.search(r"deferral.*@%s\b" % d, l) or re.search(r"destination %s: .*backed off" % d, l)]


def qstat_key(key):
    r = tool("ferry-qstat", "-j", H)
    try:
        return {k.get("key"): k for k in json.loads(r.stdout).get("shaping") or []}.get(key) or {}
    except ValueError:
        return {}


home = Home()
H = home.path
try:
    peer = home.started(RawPeer())
    home.route(*["%s.test:127.0.0.1:%d" % (d, peer.port) for d in ("x", "y", "z")])
    home.control("shaping", "z.test daily=2\n")
    r = tool("ferry-shaping", H)
    expect(r.returncode == 0, "ferry-shaping: z.test daily=2", r.stderr)

    # ---- the set down
    r = tool("ferry-qctl", "-h", H, "suspend", "@X.test", "x.test/y", "site:big")
    expect(r.returncode == 100 and "not @domain, site:NAME or route:HOST: x.test/y" in r.stderr,
           "ferry-qctl suspend of a name that is none: exit 100, the name said", (r.returncode, r.stderr))
    expect("suspended @x.test (the set is not running: it takes effect when it starts)\n" in r.stdout
           and "suspended site:big (the set is not running" in r.stdout, "and the good names suspended, in lower case, for when the set starts", r.stdout)
    expect(sorted(os.listdir(os.path.join(H, "queue", "suspend"))) == ["@x.test", "site:big"], "their marks in queue/suspend/",
           os.listdir(os.path.join(H, "queue", "suspend")))
    r = tool("ferry-qctl", "-h", H, "resume", "site:big")
    expect(r.returncode == 0 and "resumed site:big (the set is not running" in r.stdout
           and not os.path.exists(os.path.join(H, "queue", "suspend", "site:big")), "ferry-qctl resume site:big: its mark gone", (r.stdout, r.stderr))
    r = tool("ferry-qctl", "-h", H, "suspended")
    expect(r.returncode == 0 and r.stdout == "@x.test: suspended (the queue manager is not running)\n",
           "ferry-qctl suspended, the queue manager down: the name, and that it is not running", (r.stdout, r.stderr))
    r = tool("ferry-qstat", H)
    expect(r.returncode == 0 and "shaping: the queue manager is not running (no metrics/schedule/metrics.prom)" in r.stdout,
           "ferry-qstat, the queue manager down: it says so", r.stdout)
    r = tool("ferry-qstat", "-j", H)
    j = json.loads(r.stdout)
    expect(j["shaping_snapshot_age"] is None and j["shaping"] == [], "ferry-qstat -j: shaping_snapshot_age null, no key",
           (j.get("shaping_snapshot_age"), j.get("shaping")))

    # ---- the set started with the mark
    send("a@x.test", "to-x")
    send("b@y.test", "to-y")
    svscan = home.started(Supervised(H))
    expect(eventually(lambda: "suspend @x.test: nothing starts there until it is resumed (queue/suspend/@x.test)" in home.log(), 20),
           "the queue manager starts with x.test suspended, from its mark", home.log()[-800:])
    expect(eventually(lambda: taken("to-y"), 30), "y.test's mail delivered", home.log()[-800:])
    expect(eventually(lambda: tool("ferry-qctl", "-h", H, "suspended").stdout == "@x.test: suspended, 1 recipient waiting\n", 10),
           "ferry-qctl suspended: @x.test, 1 recipient waiting", tool("ferry-qctl", "-h", H, "suspended").stdout)
    expect(not taken("to-x") and not re.search(r"starting delivery \d+: msg \S+ to remote .*@x\.test", home.log()) and not deferrals("x.test"),
           "x.test's mail waits: nothing started there, nothing deferred", home.log()[-800:])
    r = tool("ferry-qctl", "-h", H, "resume", "@x.test")
    expect(r.returncode == 0 and r.stdout == "resumed @x.test: its recipients are tried now\n", "ferry-qctl resume @x.test", (r.stdout, r.stderr))
    expect(eventually(lambda: taken("to-x"), 30), "x.test's mail delivered once resumed", home.log()[-800:])
    expect(tool("ferry-qctl", "-h", H, "suspended").stdout == "nothing is suspended\n", "ferry-qctl suspended: nothing is suspended")

    # ---- the day's counts across a stop
    left = 86400 - time.time() % 86400
    if left < 300:
        print("skipped part: the day's counts: %d seconds to the next shaping day (UTC midnight)" % left)
    else:
        send("c@z.test", "z-1")
        send("d@z.test", "z-2")
        expect(eventually(lambda: taken("z-1") and taken("z-2"), 30), "daily=2: z.test's 2 delivered", home.log()[-800:])
        starts = home.log().count("ferry-schedule: starting")
        expect(svc("-d"), "s6-svc -d service/ferry")
        counts = os.path.join(H, "queue", "shaping", "counts")
        today = "day %d\n" % (time.time() // 86400)
        expect(eventually(lambda: os.path.exists(counts) and open(counts).read().startswith(today)
                          and re.search(r"^z\.test 2$", open(counts).read(), re.M), 30),
               "the queue manager stopped: queue/shaping/counts holds z.test's 2 of the day",
               open(counts).read() if os.path.exists(counts) else "no file")
        stale = re.compile(r"^shaping: the queue manager is not running \(its last snapshot is (\d+) seconds old\)$", re.M)
        expect(eventually(lambda: stale.search(tool("ferry-qstat", H).stdout), 20)
               and int(stale.search(tool("ferry-qstat", H).stdout).group(1)) >= 10 and qstat_key("z.test") == {},
               "ferry-qstat, the queue manager stopped: once its snapshot is 10 seconds old, it says so, and shows no key",
               tool("ferry-qstat", H).stdout)
        send("e@z.test", "z-3")
        send("f@z.test", "z-4")
        expect(svc("-u"), "s6-svc -u service/ferry")
        expect(eventually(lambda: home.log().count("ferry-schedule: starting") > starts, 20), "the set starts again")
        expect(eventually(lambda: qstat_key("z.test").get("waiting") == 1 and qstat_key("z.test").get("daily_sent") == 3, 30),
               "after the restart: the first contact went, the other waits; ferry-qstat -j: z.test sent 3 of 2 today, 1 waiting",
               (qstat_key("z.test"), home.log()[-800:]))
        expect(len(taken("z-3")) + len(taken("z-4")) == 1 and qstat_key("z.test").get("daily_cap") == 2 and not deferrals("z.test"),
               "one of the 2 delivered, nothing deferred: the day's 2 from before the stop still count",
               (len(taken("z-3")), len(taken("z-4")), deferrals("z.test")))
finally:
    home.cleanup()
print("%d checks passed" % __import__("ferrytest").checks)
