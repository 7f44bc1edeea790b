"""Traffic shaping per receiving site, seen by a user of the whole set (under s6-svscan), with
scripted peers (tests/helpers/shaping_peer.py) that record when each connection opens and closes
and when each message arrives, one peer per case, all in one home and one table:
- ferry-shaping compiles control/shaping, and refuses a bad line with its number, changing nothing;
- connections=3: never more than 3 connections open at the peer while 40 messages drain, with
  concurrencydestination 20;
- rate=10/s: 60 messages arrive at 10 a second, first to last, within 5%;
- messages=5: no connection carries more than 5 messages, and the channel ends those with QUIT;
- a site (site:s mx=*.site.test connections=2): two domains whose MX hosts (dnsmasq) match it
  never have more than 2 connections open together;
- a 421 storm (the peer refuses a third connection with 421 4.7.0 too many connections, the key
  allows 8, shapingrecovery 1): the log says the key was lowered, the connections fall to 2 or
  fewer, and once the storm ends the log says raised, then back to its limits;
- ferry-qctl suspend @a.test: nothing reaches the peer for a.test while b.test mail is delivered;
  ferry-qstat and ferry-qctl suspended show it; resume delivers it;
- daily=3 with shapingday 10: 3 delivered in the day, the rest after the next day starts;
- a peer that closes the connection after 2 messages: every message delivered, no deferral;
- no limit defers anything: no deferral line, no backoff, except for the storm's 421s."""

import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import stop_all, BIN, Home, Supervised, eventually, expect, fail, s6_log  # noqa: E402
from smtp_peers import Dnsmasq  # noqa: E402
from shaping_peer import ShapingPeer  # noqa: E402

stops = []
SENDER = "s@example.com"


def tool(name, *args):
    return subprocess.run([os.path.join(BIN, name)] + list(args), capture_output=True, text=True)


def inject_all(home, mail, parallel=8):
    """mail: (recipient, subject) pairs, each a message of its own, injected by ferry-inject with
    up to parallel at once (so a drain is not paced by the injection); returns when all are in"""
    running = []

    def reap(p):
        p.wait()
        if p.returncode:
            fail("ferry-inject exited %d: %s" % (p.returncode, p.stderr.read().decode()))
    for rcpt, subject in mail:
        if len(running) >= parallel:
            reap(running.pop(0))
        env = b"F" + SENDER.encode() + b"\0T" + rcpt.encode() + b"\0\0"
        r, w = os.pipe()
        os.write(w, env)
        os.close(w)
        p = subprocess.Popen([os.path.join(BIN, "ferry-inject"), home.path], stdin=subprocess.PIPE, stdout=r, stderr=subprocess.PIPE)
        os.close(r)
        p.stdin.write(b"Subject: " + subject.encode() + b"\n\nshaping test\n")
        p.stdin.close()
        running.append(p)
    for p in running:
        reap(p)


def batch(domain, n, tag):
    return [("r%d@%s" % (i, domain), "%s-%d" % (tag, i)) for i in range(n)]


def deferral_lines(log, domain):
    """the log lines that defer a recipient of domain, or back the domain off"""
    d = re.escape(domain)
    return [l for l in log.splitlines() if re.search(r"deferral.*@%s\b" % d, l) or re.search(r"destination %s: .*backed off" % d, l)]


def qstat_keys():
    """ferry-qstat -j's shaping array, by key"""
    r = tool("ferry-qstat", "-j", H)
    try:
        return {k.get("key"): k for k in json.loads(r.stdout).get("shaping") or []}
    except ValueError:
        return {}


def qstat_key(key):
    """the key's entry in ferry-qstat -j's shaping array (a domain's key written @domain or not), or None"""
    ks = qstat_keys()
    return ks.get(key) or ks.get("@" + key)


def qstat_shows(key, **want):
    """whether ferry-qstat -j shows key with those values (from one snapshot)"""
    k = qstat_key(key) or {}
    return all(k.get(f) == v for f, v in want.items())


def qctl_suspended():
    return tool("ferry-qctl", "-h", H, "suspended")


def describe(peer):
    """the peer's connections, for a failure's detail"""
    t0 = peer.connections()[0].opened if peer.connections() else 0
    return ["#%d %.3f-%s %s%s%d msgs" % (c.num, c.opened - t0, "%.3f" % (c.closed - t0) if c.closed else "open",
                                         "421 " if c.refused else "", "QUIT " if c.quit else "", len(c.messages)) for c in peer.connections()]


try:
    home = Home()
    H = home.path

    def log():
        return s6_log(os.path.join(H, "log"))

    peers = {}
    for name, opts in dict(conn=dict(data_delay=0.05), rate={}, msgs=dict(data_delay=0.02), site=dict(data_delay=0.05),
                           storm=dict(max_open=2, data_delay=0.1), ab={}, daily={}, close=dict(close_after=2)).items():
        peers[name] = ShapingPeer(**opts)
        stops.append(peers[name].stop)
    dns = Dnsmasq(["--mx-host=s1.test,mx1.site.test,10", "--mx-host=s2.test,mx2.site.test,10",
                   "--host-record=mx1.site.test,127.0.0.1", "--host-record=mx2.site.test,127.0.0.1"])
    stops.append(dns.stop)
    routes = dict(conn="conn.test", rate="rate.test", msgs="msgs.test", storm="storm.test", daily="daily.test", close="close.test")
    home.control("smtproutes", "".join("%s:127.0.0.1:%d\n" % (d, peers[p].port) for p, d in routes.items())
                  + "a.test:127.0.0.1:%d\nb.test:127.0.0.1:%d\n" % (peers["ab"].port, peers["ab"].port))
    for k, v in dict(smtpport=peers["site"].port, dnsservers="127.0.0.1:%d" % dns.port, concurrencydestination=20,
                     shapingday=10, shapingrecovery=1, minbackoff=1, maxbackoff=2).items():
        home.control(k, "%s\n" % v)

    # ---- the table, compiled: a bad line first (nothing changes), then the good one
    cdb = os.path.join(H, "control", "shaping.cdb")
    home.control("shaping", "conn.test connections=3\nrate.test rate=10/s burst=5 burst=6\n")
    r = tool("ferry-shaping", H)
    expect(r.returncode == 100 and r.stderr.startswith("ferry-shaping: fatal: control/shaping:2: ") and "nothing changed" in r.stderr
           and not os.path.exists(cdb), "ferry-shaping: a repeated setting: exit 100, the line named, no table made", (r.returncode, r.stderr))
    home.control("shaping", """# the test's table: one key per case
conn.test   connections=3
rate.test   rate=10/s
msgs.test   connections=2 messages=5
site:s      mx=*.site.test connections=2
storm.test  connections=8
daily.test  daily=3
close.test  connections=1
""")
    r = tool("ferry-shaping", H)
    expect(r.returncode == 0 and "ferry-shaping: 7 keys compiled into control/shaping.cdb" in r.stdout + r.stderr and os.path.exists(cdb),
           "ferry-shaping compiles the table: 7 keys", (r.returncode, r.stdout, r.stderr))
    before = os.stat(cdb)
    with open(os.path.join(H, "control", "shaping"), "a") as f:
        f.write("site:t mx=mx1.site.test\n")
    r = tool("ferry-shaping", H)
    expect(r.returncode == 100 and "control/shaping:9: " in r.stderr and os.stat(cdb).st_ino == before.st_ino,
           "a site line with no setting: exit 100, line 9 named, the compiled table kept", (r.returncode, r.stderr))
    home.control("shaping", open(os.path.join(H, "control", "shaping")).read().replace("site:t mx=mx1.site.test\n", ""))

    svscan = Supervised(H)
    stops.insert(0, svscan.stop)
    expect(eventually(lambda: "status:" in log(), 20), "the set starts", log()[-500:])

    # ---- daily=3, shapingday=10: injected early in a day (not in its last 4 seconds), so that
    # the 3 of the day arrive before it ends; checked at the end, once the next day has come
    expect(eventually(lambda: time.time() % 10 < 6, 11, 0.05), "a shaping day with 4 seconds left at least")
    day_end = (int(time.time()) // 10 + 1) * 10
    inject_all(home, batch("daily.test", 5, "daily"))
    expect(eventually(lambda: len(peers["daily"].messages()) == 3 and qstat_shows("daily.test", waiting=2, daily_sent=3, daily_cap=3), 5),
           "daily=3: 3 delivered at once; ferry-qstat -j: daily.test sent 3 of 3 today, 2 waiting",
           "%d delivered; %s; %s" % (len(peers["daily"].messages()), qstat_key("daily.test"), log()[-1500:]))

    # ---- connections=3, concurrencydestination 20
    pc = peers["conn"]
    inject_all(home, batch("conn.test", 40, "conn"))
    expect(eventually(lambda: len(pc.messages()) == 40, 30), "connections=3: the 40 messages delivered", log()[-800:])
    expect(pc.peak() <= 3, "connections=3: never more than 3 connections open at the peer (%d at most)" % pc.peak(), describe(pc))
    expect(pc.peak() == 3, "and 3 are used", describe(pc))

    # ---- messages=5 (and connections=2, so each connection has more to carry)
    pm = peers["msgs"]
    inject_all(home, batch("msgs.test", 23, "msgs"))
    expect(eventually(lambda: len(pm.messages()) == 23, 30), "messages=5: the 23 messages delivered", log()[-800:])
    most = max(len(c.messages) for c in pm.connections())
    expect(most <= 5, "messages=5: no connection carries more than 5 messages (%d at most)" % most, describe(pm))
    full = [c for c in pm.connections() if len(c.messages) == 5]
    expect(full and eventually(lambda: all(c.closed and c.quit for c in full), 5),
           "the channel ends a connection that carried 5 with QUIT (%d such)" % len(full), describe(pm))

    # ---- a site: two domains whose MX hosts match *.site.test count together
    ps = peers["site"]
    inject_all(home, [x for pair in zip(batch("s1.test", 12, "s1"), batch("s2.test", 12, "s2")) for x in pair])
    expect(eventually(lambda: len(ps.messages()) == 24, 30) and len(ps.messages("s1.test")) == 12 and len(ps.messages("s2.test")) == 12,
           "site:s: the 24 messages to s1.test and s2.test delivered", log()[-800:])
    expect(ps.peak() <= 2, "site:s connections=2: never more than 2 connections open for both domains together (%d at most)" % ps.peak(),
           describe(ps))
    site_only = lambda ks: (ks.get("site:s") or {}).get("connections_configured") == 2 and "s1.test" not in ks and "s2.test" not in ks
    expect(eventually(lambda: site_only(qstat_keys()), 5),
           "ferry-qstat -j: one key site:s with 2 connections, none for s1.test or s2.test alone", tool("ferry-qstat", H).stdout)

    # ---- a peer that closes the connection after 2 messages, without a word
    pk = peers["close"]
    inject_all(home, batch("close.test", 7, "close"))
    expect(eventually(lambda: len(pk.messages()) == 7, 30), "a peer that closes after 2 messages: all 7 delivered", log()[-800:])
    expect(len(pk.connections()) >= 4 and all(len(c.messages) <= 2 for c in pk.connections()),
           "over %d connections, 2 messages each at most" % len(pk.connections()), describe(pk))
    expect(not deferral_lines(log(), "close.test"), "and no deferral: a closed idle connection is a reconnection, not a failure",
           deferral_lines(log(), "close.test"))

    # ---- suspend and resume
    pab = peers["ab"]
    r = tool("ferry-qctl", "-h", H, "suspend", "@a.test")
    expect(r.returncode == 0 and "suspended @a.test: nothing starts there until it is resumed" in r.stdout,
           "ferry-qctl suspend @a.test: exit 0, and it says so", (r.returncode, r.stdout, r.stderr))
    expect(eventually(lambda: "suspend @a.test: nothing starts there until it is resumed (0 recipients waiting)" in log(), 10),
           "the log says a.test is suspended", log()[-800:])
    inject_all(home, batch("a.test", 3, "a"))
    inject_all(home, batch("b.test", 3, "b"))
    expect(eventually(lambda: len(pab.messages("b.test")) == 3, 20), "b.test's mail, injected after a.test's, is delivered", log()[-800:])
    expect(not pab.messages("a.test") and not re.search(r"starting delivery \d+: msg \S+ to remote .*@a\.test", log()),
           "nothing reaches the peer for a.test, nothing starts there", [m.rcpts for m in pab.messages()])

    expect(eventually(lambda: re.search(r"^@a\.test: suspended, 3 recipients waiting$", qctl_suspended().stdout, re.M), 5),
           "ferry-qctl suspended: @a.test, 3 recipients waiting", qctl_suspended().stdout + qctl_suspended().stderr)

    expect(eventually(lambda: qstat_shows("a.test", suspended=True, waiting=3), 5),
           "ferry-qstat -j: a.test suspended, 3 waiting", qstat_key("a.test"))
    r = tool("ferry-qstat", H)
    expect(re.search(r"^\s*@?a\.test\b.*suspended", r.stdout, re.M), "ferry-qstat: a.test suspended", r.stdout)
    r = tool("ferry-qctl", "-h", H, "resume", "@a.test")
    expect(r.returncode == 0, "ferry-qctl resume @a.test", (r.returncode, r.stdout, r.stderr))
    expect(eventually(lambda: "resume @a.test: 3 recipients to be tried now" in log(), 10), "the log says 3 recipients are tried now", log()[-800:])
    expect(eventually(lambda: len(pab.messages("a.test")) == 3, 20), "resume: a.test's 3 messages delivered", log()[-800:])
    expect(eventually(lambda: "@a.test" not in qctl_suspended().stdout, 5), "and ferry-qctl suspended no longer lists it", qctl_suspended().stdout)

    # ---- rate=10/s over 60 messages (with the default burst of 1)
    pr = peers["rate"]
    t_inject = time.time()
    inject_all(home, batch("rate.test", 60, "rate"))
    t_injected = time.time()
    rate_waiting = []
    expect(eventually(lambda: rate_waiting.append(qstat_key("rate.test")) or (rate_waiting[-1] or {}).get("waiting", 0) > 0, 5),
           "ferry-qstat -j: rate.test has recipients waiting for the rate", rate_waiting[-3:])
    r = tool("ferry-qstat", "-j", H)
    expect(json.loads(r.stdout)["remote"]["deferred"] == 0, "none of them deferred", r.stdout[:300])
    expect(eventually(lambda: len(pr.messages()) == 60, 20), "rate=10/s: the 60 messages delivered", log()[-800:])
    times = pr.times()
    expect(t_injected - t_inject < 3, "the injection (%.2f s) did not pace the drain" % (t_injected - t_inject))
    speed = (len(times) - 1) / (times[-1] - times[0])
    expect(9.5 <= speed <= 10.5, "rate=10/s: %.2f messages a second, first to last (%.2f s)" % (speed, times[-1] - times[0]),
           ["%.3f" % (t - times[0]) for t in times])

    # ---- a 421 storm: the peer refuses a third connection; the key allows 8
    pst = peers["storm"]
    mark = len(log())
    inject_all(home, batch("storm.test", 40, "storm"))
    expect(eventually(lambda: re.search(r"shaping storm\.test: lowered: connections 8 -> 4: host \S+ .*421 4\.7\.0 too many connections",
                                        log()[mark:]), 20),
           "the storm: the log says storm.test was lowered, 8 -> 4 connections, and which reply did it", log()[mark:][-1500:])
    expect(len(pst.refused()) > 0 and pst.peak() > 2, "the peer refused connections (%d) when %d were open" % (len(pst.refused()), pst.peak()))
    # a lowering to 2 or fewer, then (before the next raise) the connections at the peer stay at 2
    # or fewer while mail goes on
    lowered = re.compile(r"shaping storm\.test: lowered: connections \d+ -> [12]\b")
    raised = re.compile(r"shaping storm\.test: raised")
    deadline, pos, held = time.time() + 20, mark, None
    while held is None and time.time() < deadline:
        if not eventually(lambda: lowered.search(log(), pos), max(0.1, deadline - time.time()), 0.02):
            break
        m = lowered.search(log(), pos)
        seen = time.time()
        pos = m.end()
        n = len(pst.messages())
        if not eventually(lambda: len(pst.messages()) >= n + 6, 3, 0.02):
            continue
        end = time.time()
        if raised.search(log(), pos):
            continue       # raised before the window ended: not a window at 2
        held = (seen, end, pst.peak(seen + 0.05, end), len(pst.messages()) - n)
    expect(held is not None, "the log says the connections were lowered to 2 or fewer", log()[mark:][-2000:])
    expect(held[2] <= 2, "then at most 2 connections open at the peer (%d) over %.2f s, %d messages delivered"
           % (held[2], held[1] - held[0], held[3]), describe(pst)[-20:])
    pst.max_open = None
    mark2 = len(log())
    inject_all(home, batch("storm.test", 20, "storm-after"))
    expect(eventually(lambda: re.search(r"shaping storm\.test: raised: connections \d+ -> \d+", log()[mark2:])
                      and "shaping storm.test: back to its limits" in log()[mark2:], 30),
           "the storm over: the log says raised, then back to its limits", log()[mark2:][-1500:])
    expect(eventually(lambda: len(pst.messages()) == 60, 30), "and all 60 messages to storm.test delivered",
           "%d delivered; %s" % (len(pst.messages()), log()[-800:]))
    expect(not re.search(r"destination storm\.test: .*backed off", log()[mark:]), "the throttling replies never backed the destination off",
           re.findall(r".*backed off.*", log()[mark:])[:3])

    # ---- daily=3: the 3 of the first day, the rest after the next day starts, not before
    pd = peers["daily"]
    expect(eventually(lambda: len(pd.messages()) == 5, max(5, day_end + 5 - time.time())), "daily=3: all 5 delivered in the end",
           "%d delivered; %s" % (len(pd.messages()), log()[-800:]))
    times = pd.times()
    expect(len([t for t in times if t < day_end]) == 3 and all(day_end <= t < day_end + 10 for t in times[3:]),
           "daily=3, shapingday=10: 3 delivered in the day, the other 2 after the next day starts",
           ["%.3f" % (t - day_end) for t in times])

    # ---- no limit deferred anything
    text = log()
    for d in ("conn.test", "rate.test", "msgs.test", "s1.test", "s2.test", "a.test", "b.test", "daily.test", "close.test"):
        expect(not deferral_lines(text, d), "no deferral and no backoff at %s" % d, deferral_lines(text, d)[:5])
    expect(eventually(lambda: not home.queue_files(), 20), "the queue is empty", home.queue_files()[:5])
finally:
    stop_all(stops)
    try:
        home.cleanup()
    except NameError:
        pass
print("%d checks passed" % __import__("ferrytest").checks)
