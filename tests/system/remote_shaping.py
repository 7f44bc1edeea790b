"""The remote channel's part of traffic shaping, through its protocol alone (ferry-spawn-remote on
pipes, scripted peers on loopback, dnsmasq for MX records): ferry-shaping's table and errors (and
a table that cannot be written: nothing left behind), the frames !shaping, !shape and !throttle, messages= (QUIT after N), connections= held by the channel
for a site of two domains, newconns= spreading new connections, a peer that closes after a
number of messages (no error), and a new table taken while the channel runs. The queue manager's
part (rates, daily caps, adaptive, suspension) is system/shaping's."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Home, Spawner, eventually, expect, netstring  # noqa: E402
from smtp_peers import Dnsmasq, RawPeer, free_port  # noqa: E402

home = Home()


def shaping(*lines):
    home.control("shaping", "".join(l + "\n" for l in lines))
    return subprocess.run([os.path.join(BIN, "ferry-shaping"), home.path], capture_output=True, text=True)


num = [0]


def send(sp, msgid, rcpt):
    num[0] += 1
    sp.deliver(num[0], msgid, "sender@example.com", [rcpt])
    return num[0]


def deliver(sp, msgid, rcpt, timeout=30):
    n = send(sp, msgid, rcpt)
    return n, sp.wait(n, timeout)


def controls(sp, name):
    return [(at, f) for at, f in sp.controls if f[0] == name]


def wait_control(sp, name, since, timeout=10):
    """a frame named so from the channel, after the first since of them, within timeout seconds"""
    deadline = time.time() + timeout
    while not any(f[0] == name for at, f in sp.controls[since:]):
        left = deadline - time.time()
        if left <= 0 or not sp.pump(left):
            return False
    return True


def client_lines(session):
    return [l for k, l in session if k == "C"]


try:
    home.settings(timeoutconnect=3, timeoutgreeting=3, timeoutcommand=3, timeoutdata=5, connectioncache=5)
    mid = home.inject(b"Subject: shaping\n\nhello\n", "sender@example.com", ["a@a.test"])

    # --- ferry-shaping: a good table, then each kind of mistake (nothing changed)
    r = shaping("# sites", "site:s mx=*.site.test connections=1", "Example.COM connections=5 daily=100 # ours",
                "route:[127.0.0.1] messages=2 newconns=600/m")
    expect(r.returncode == 0 and r.stdout == "ferry-shaping: 3 keys compiled into control/shaping.cdb\n", "ferry-shaping compiles three keys", (r.stdout, r.stderr))
    cdb = os.path.join(home.path, "control", "shaping.cdb")
    before = os.stat(cdb)
    for lines, what in [
        (["example.com connections=5", "example.com messages=3"], "control/shaping:2: example.com: the key is already on line 1: nothing changed"),
        (["site:a mx=*.x.test rate=1/s", "site:b mx=mx.y.test,*.X.test rate=1/s"], "control/shaping:2: *.x.test: the MX pattern is in two sites: line 1 has it in site:a: nothing changed"),
        (["a.test speed=3"], "control/shaping:1: speed=3: unknown setting"),
        (["a.test rate=3/d"], "control/shaping:1: rate=3/d: bad unit"),
        (["a.test mx=mx.a.test rate=3/s"], "control/shaping:1: mx=mx.a.test: mx= is only for site: keys"),
        (["site:x rate=3/s"], "control/shaping:1: site:x: a site: key needs mx="),
        (["site:x mx=mx.*.test rate=3/s"], "control/shaping:1: mx=mx.*.test: bad MX pattern"),
        (["a.test burst=3"], "control/shaping:1: burst=3: burst= needs rate="),
        (["", "a.test"], "control/shaping:2: a.test: no setting"),
        (["a.test connections=1001"], "control/shaping:1: connections=1001: connections= takes a number from 1 to 1000"),
    ]:
        r = shaping(*lines)
        expect(r.returncode == 100 and r.stderr.startswith("ferry-shaping: fatal: " + what) and r.stderr.rstrip().endswith(": nothing changed"),
               "refused: " + what, r.stderr)
    after = os.stat(cdb)
    expect((after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns) and not os.path.exists(cdb + ".tmp"),
           "a refused table leaves the compiled one as it was, and no temporary file")
    # a good table that cannot be written (the disk full at its sync: the fault shim of
    # tests/shim): 111, the compiled one as it was, no temporary file left in control/
    switch = os.path.join(home.tmp, "shim-on")
    open(switch, "w").close()
    home.control("shaping", "a.test connections=2\n")
    r = subprocess.run([os.path.join(BIN, "ferry-shaping"), home.path], capture_output=True, text=True,
                       env=dict(os.environ, LD_PRELOAD=os.path.join(os.environ["FERRY_TOP"], "build", "tests", "failshim.so"),
                                FAILSHIM_PROG="ferry-shaping", FAILSHIM_CALLS="fsync", FAILSHIM_ERRNO="28", FAILSHIM_SWITCH=switch))
    os.unlink(switch)
    after = os.stat(cdb)
    expect(r.returncode == 111 and "unable to write control/shaping.cdb.tmp: No space left on device" in r.stderr,
           "a table that cannot be synced: 111, and why", (r.returncode, r.stderr))
    expect((after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns) and not os.path.exists(cdb + ".tmp"),
           "and the compiled one as it was, no temporary file left", os.listdir(os.path.join(home.path, "control")))

    peer = home.started(RawPeer())
    peer2 = home.started(RawPeer())

    # --- no table: !shaping off at start, no !shape
    os.unlink(cdb)
    home.route("a.test:[127.0.0.1]:%d" % peer.port)
    sp = Spawner(home, "ferry-spawn-remote")
    n, res = deliver(sp, mid, "x@a.test")
    expect(res[0][0] == "K", "without a table: delivered", res)
    expect([f for at, f in sp.controls] == [["!shaping", "off"]], "without a table: !shaping off at start, and nothing else", sp.controls)
    sp.finish()

    # --- a table: !shaping on, !shape before the answer, messages=2 (QUIT after two)
    shaping("site:s mx=*.site.test connections=1", "b.test connections=5 daily=100",
            "route:[127.0.0.1] messages=2")
    home.route("a.test:[127.0.0.1]:%d" % peer.port, "b.test:[127.0.0.1]:%d" % peer.port, "c.test:127.0.0.1:%d" % peer2.port,
               "d.test:[127.0.0.1]:%d" % peer.port)
    sp = Spawner(home, "ferry-spawn-remote")
    conns0 = peer.connections
    nums = []
    for i in range(5):
        n, res = deliver(sp, mid, "m%d@a.test" % i)
        expect(res[0][0] == "K", "route key, message %d delivered" % i, res)
        nums.append(n)
    expect(sp.controls[0] == (0, ["!shaping", "on"]), "with a table: !shaping on first", sp.controls[:1])
    shapes = controls(sp, "!shape")
    expect([f for at, f in shapes] == [["!shape", "a.test", "route:[127.0.0.1]", "messages=2"]],
           "the route's key told once, with its settings", shapes)
    expect(shapes[0][0] == 0, "!shape came before the first answer", shapes)
    sessions = peer.sessions[conns0:]
    mails = [sum(1 for l in client_lines(s) if l.startswith("MAIL")) for s in sessions]
    expect(mails == [2, 2, 1], "messages=2: five messages over three connections, two each at most", mails)
    expect(eventually(lambda: all(client_lines(s)[-1:] == ["QUIT"] for s in sessions[:2])), "the channel ended each full connection with QUIT",
           [client_lines(s)[-2:] for s in sessions])
    n, res = deliver(sp, mid, "y@b.test")
    expect(res[0][0] == "K" and [f for at, f in controls(sp, "!shape")][-1] == ["!shape", "b.test", "b.test", "connections=5 daily=100"],
           "a domain's own line before its route's", sp.controls)
    n, res = deliver(sp, mid, "z@c.test")
    expect(res[0][0] == "K" and [f for at, f in controls(sp, "!shape")][-1] == ["!shape", "c.test", "c.test", ""],
           "no line applies (another route host): the domain alone, empty settings", sp.controls)

    # !reread: !shaping again, before the frame's own answer
    k = len(sp.controls)
    sp.send(netstring(b"!reread\0"))
    expect(wait_control(sp, "!reread", k), "!reread answered")
    new = [f for at, f in sp.controls[k:]]
    expect(new == [["!shaping", "on"], ["!reread", "settings read again"]], "at a reread: !shaping on, then the answer", new)

    # a new table while the channel runs: taken at the next destination resolved
    shaping("route:[127.0.0.1] messages=2 newconns=2/s", "d.test connections=2")
    k = len(sp.controls)
    n, res = deliver(sp, mid, "w@d.test")
    new = [f for at, f in sp.controls[k:]]
    expect(res[0][0] == "K" and new[:2] == [["!shaping", "on"], ["!shape", "d.test", "d.test", "connections=2"]],
           "a table changed under the running channel: !shaping on, then the new key", (new, res))
    expect("control/shaping.cdb changed: every destination is resolved again" in sp.logtext(), "the log says the table changed")

    # newconns=2/s, messages=2: six messages at once to one key need three connections, 0.5 s apart
    conns0 = len(peer.opened)
    nums = [send(sp, mid, "n%d@a.test" % i) for i in range(6)]
    res = sp.wait(nums, 30)
    opened = peer.opened[conns0:]
    gaps = [b - a for a, b in zip(opened, opened[1:])]
    expect(all(r[0][0] == "K" for r in res), "newconns: every message delivered", res)
    expect(len(opened) >= 3 and all(g >= 0.45 for g in gaps), "newconns=2/s: %d new connections at least 0.5 s apart (%s)" % (len(opened), " ".join("%.3f" % g for g in gaps)), gaps)
    expect("newconns" not in sp.logtext() and "wait" not in sp.logtext(), "nothing logged for the waits")
    sp.finish()

    # --- a throttling reply: !throttle before the answer, which stays H; a 4xx that is not one
    t421 = home.started(RawPeer(greeting="421 4.7.0 too many connections from your address"))
    t450 = home.started(RawPeer(greeting="450 4.3.2 not now"))
    shaping("e.test connections=1")
    home.route("e.test:[127.0.0.1]:%d" % t421.port, "f.test:[127.0.0.1]:%d" % t450.port)
    sp = Spawner(home, "ferry-spawn-remote")
    n, res = deliver(sp, mid, "t@e.test")
    th = controls(sp, "!throttle")
    expect(res[0][0] == "H" and "421 4.7.0 too many connections" in res[0][1], "the 421 greeting: H, as before", res)
    expect([f for at, f in th] == [["!throttle", str(n), "e.test", "host 127.0.0.1[127.0.0.1]:%d said: 421 4.7.0 too many connections from your address" % t421.port]],
           "!throttle with the delivery, the domain and the reply as answers show it", th)
    expect(th[0][0] == len(sp.order) - 1, "!throttle came just before the answer", (th, sp.order))
    n, res = deliver(sp, mid, "u@f.test")
    expect(res[0][0] == "H" and len(controls(sp, "!throttle")) == 1, "a 450 4.3.2: no !throttle", sp.controls)
    sp.finish()

    # --- a site: two domains whose MX hosts match one site's pattern share its connections=1
    port = free_port()
    sitepeer = home.started(RawPeer(port=port, slow_data=0.3))
    dns = None
    try:
        dns = home.started(Dnsmasq(["--mx-host=d1.test,mx1.site.test,10", "--mx-host=d2.test,mx2.site.test,10",
                                     "--host-record=mx1.site.test,127.0.0.1", "--host-record=mx2.site.test,127.0.0.1"]))
    except (OSError, RuntimeError) as e:
        print("skipped part: the site check needs dnsmasq (%s)" % e)
    if dns:
        shaping("site:s mx=*.site.test connections=1")
        home.route()
        home.settings(smtpport=port, dnsservers="127.0.0.1:%d" % dns.port)
        sp = Spawner(home, "ferry-spawn-remote")
        nums = [send(sp, mid, "s%d@d%d.test" % (i, i % 2 + 1)) for i in range(4)]
        res = sp.wait(nums, 30)
        expect(all(r[0][0] == "K" for r in res), "site: the four messages to two domains delivered", res)
        expect(sorted(f[1:] for at, f in controls(sp, "!shape")) == [["d1.test", "site:s", "connections=1"], ["d2.test", "site:s", "connections=1"]],
               "both domains told under site:s", sp.controls)
        expect(sitepeer.peak == 1 and sitepeer.connections == 1, "connections=1 for the site: one connection for both domains, reused", (sitepeer.peak, sitepeer.connections))
        sp.finish()
        home.settings(smtpport=25, dnsservers="")

    # --- a peer that closes after two messages: a fresh connection, no error, no table needed
    os.unlink(os.path.join(home.path, "control", "shaping.cdb"))
    for lazily in (False, True):
        closer = home.started(RawPeer(close_after=2, close_lazily=lazily))
        home.route("y.test:[127.0.0.1]:%d" % closer.port)
        sp = Spawner(home, "ferry-spawn-remote")
        how = "when the next transaction starts" if lazily else "right after the reply to the data"
        for i in range(6):
            n, res = deliver(sp, mid, "c%d@y.test" % i)
            expect(res[0][0] == "K" and " said: 250 " in res[0][1], "a peer closing after two messages (%s): message %d delivered" % (how, i), res)
        expect(closer.connections == 3 and len(closer.messages) == 6, "three connections, six messages, each once", (closer.connections, len(closer.messages)))
        if lazily:
            ends = [client_lines(s)[-1] for s in closer.sessions[:2]]
            expect(ends == ["RSET", "RSET"], "the cached connection was found closed at RSET, and the message went on a fresh one", ends)
        expect("warning" not in sp.logtext(), "nothing in the log", sp.logtext())
        sp.finish()
finally:
    home.cleanup()
print("%d checks passed" % __import__("ferrytest").checks)
