"""What the remote channel and the queue manager decide, seen by a user of the whole set (under
s6-svscan) and of ferry-spawn-remote alone:
- a recipient's own 4xx (452 to RCPT) defers that recipient, never its destination: the next mail
  to another address of the domain goes at once;
- a cached connection is reused only to a host of the preference that would be tried first, and
  the answer names the host as the delivery's own domain calls it;
- SIGALRM (s6-svc -a) forgets the dead hosts too: a host that timed out and is back takes the mail;
- SIGHUP (s6-svc -h) makes the channels read their settings again (a new route is used for the
  next message, a bad one is refused and the old kept), also in a root install with the
  dedicated users, where the queue manager cannot signal the channels."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import stop_all, BIN, Home, Spawner, Supervised, eventually, expect, is_root, s6_log  # noqa: E402
from smtp_peers import Dnsmasq, RawPeer, ScriptedPeer, free_port, ipv6_ok  # noqa: E402

stops = []


def remote_record(home, mid):
    split = int(open(os.path.join(home.path, "control", "queuesplit")).read())
    return open(os.path.join(home.path, "queue", "remote", str(mid % split), str(mid)), "rb").read()


class SetRun:
    """The set of a home under s6-svscan, its log, s6-svc."""

    def __init__(self, home):
        self.home = home
        self.svscan = Supervised(home.path)
        stops.append(self.svscan.stop)
        expect(eventually(lambda: "status:" in self.log(), 20), "the set starts", self.log()[-500:])

    def log(self):
        return s6_log(os.path.join(self.home.path, "log"))

    def svc(self, flag):
        subprocess.run(["s6-svc", flag, os.path.join(self.home.path, "service", "ferry")], check=True)


def reread_check(home, run, label):
    """a route changed on a running set, then s6-svc -h: the next message takes the new route; a
    bad smtproutes then is refused, said in the log, and the route in use stays"""
    first = RawPeer()
    second = RawPeer()
    stops.extend([first.stop, second.stop])
    home.control("smtproutes", "hup.test:127.0.0.1:%d\n" % first.port)
    run.svc("-h")
    expect(eventually(lambda: run.log().count("ferry-spawn-remote: info: settings read again") >= 1, 10),
           "%s: s6-svc -h: ferry-spawn-remote says it read its settings again" % label, run.log()[-800:])
    home.inject(b"Subject: hup 1\n\nx\n", "s@example.com", ["a@hup.test"], running=True)
    expect(eventually(lambda: len(first.messages) == 1, 20), "%s: hup.test goes to the first peer" % label, run.log()[-800:])
    mark = len(run.log())
    home.control("smtproutes", "hup.test:127.0.0.1:%d\n" % second.port)
    run.svc("-h")
    expect(eventually(lambda: "ferry-schedule: ferry-spawn-remote: reread: settings read again" in run.log()[mark:]
                      and "ferry-schedule: ferry-spawn-local: reread: settings read again" in run.log()[mark:], 10),
           "%s: both channels answer that they read their settings again" % label, run.log()[mark:])
    home.inject(b"Subject: hup 2\n\nx\n", "s@example.com", ["b@hup.test"], running=True)
    expect(eventually(lambda: len(second.messages) == 1, 20) and len(first.messages) == 1,
           "%s: after s6-svc -h the next message takes the new route" % label, run.log()[mark:][-1500:])
    # a bad route: the old settings stay, and the log says so (no success claimed)
    mark = len(run.log())
    home.control("smtproutes", "hup.test:127.0.0.1:%d\nthis is no route\n" % first.port)
    run.svc("-h")
    expect(eventually(lambda: "ferry-schedule: ferry-spawn-remote: reread: kept the old settings: control/smtproutes:2: bad route" in run.log()[mark:], 10),
           "%s: a bad smtproutes: the channel keeps the old settings and says why" % label, run.log()[mark:])
    expect("ferry-spawn-remote: warning: keeping the old settings: control/smtproutes:2: bad route" in run.log()[mark:]
           and "ferry-spawn-remote: info: settings read again" not in run.log()[mark:],
           "%s: and its own log line says so, with no success line" % label, run.log()[mark:])
    home.inject(b"Subject: hup 3\n\nx\n", "s@example.com", ["c@hup.test"], running=True)
    expect(eventually(lambda: len(second.messages) == 2, 20) and len(first.messages) == 1,
           "%s: the route in use stays the last good one" % label, run.log()[mark:][-1500:])
    home.control("smtproutes", "hup.test:127.0.0.1:%d\n" % second.port)


try:
    # ---- the whole set, in a home without dedicated users
    home = Home()
    H = home.path
    for k, v in dict(minbackoff=60, maxbackoff=60, timeoutconnect=2, timeoutgreeting=1, deadhosttime=600).items():
        home.control(k, "%s\n" % v)
    peer = ScriptedPeer()
    stops.append(peer.stop)
    deadport = free_port()
    home.control("smtproutes", "full.test:127.0.0.1:%d\ndead.test:127.0.0.1:%d\n" % (peer.port, deadport))
    run = SetRun(home)

    # 1. a 452 to one recipient's RCPT defers that recipient only
    bad = home.inject(b"Subject: to a full mailbox\n\nx\n", "s@example.com", ["rcpt-452@full.test"], running=True)
    badname = home.name(bad)
    expect(eventually(lambda: ("deferral msg %s to rcpt-452@full.test" % badname) in run.log(), 20),
           "a 452 to RCPT: the recipient is deferred", run.log()[-800:])
    good = home.inject(b"Subject: to a good mailbox\n\nx\n", "s@example.com", ["ok@full.test"], running=True)
    expect(eventually(lambda: any(m[1] == ["ok@full.test"] for m in peer.handler.messages), 10),
           "mail to another address of the domain, injected after the 452, is delivered at once (the backoff is 60 s)",
           run.log()[-1500:])
    expect(not re.search(r"destination full\.test: .* backed off", run.log()), "the destination was never backed off", run.log()[-1500:])
    expect(remote_record(home, bad)[0:1] == b"T" and not any("rcpt-452@full.test" in m[1] for m in peer.handler.messages),
           "the 452 recipient stays deferred in the queue")

    # a 452 with another enhanced code than 4.5.3 (here 4.1.1) among others of one message is that
    # recipient's own failure, not "too many recipients": the others of the message are delivered
    mixed = home.inject(b"Subject: mixed\n\nx\n", "s@example.com", ["rcpt-452@full.test", "ok2@full.test"], running=True)
    mname = home.name(mixed)
    expect(eventually(lambda: any(m[1] == ["ok2@full.test"] for m in peer.handler.messages), 10)
           and eventually(lambda: ("deferral msg %s to rcpt-452@full.test" % mname) in run.log(), 10),
           "452 4.1.1 to one recipient of a message: the other is delivered, that one deferred", run.log()[-1500:])

    # 4. SIGALRM forgets the dead hosts: a host that timed out, then came back, takes the mail at once
    silent = RawPeer(port=deadport, silent=True)
    stops.append(silent.stop)
    dmid = home.inject(b"Subject: to a dead host\n\nx\n", "s@example.com", ["x@dead.test"], running=True)
    dname = home.name(dmid)
    expect(eventually(lambda: ("deferral msg %s to x@dead.test" % dname) in run.log() and "timed out: skipped for 600 seconds" in run.log(), 20),
           "a host that says nothing: deferred, and marked dead", run.log()[-800:])
    silent.stop()
    back = RawPeer(port=deadport)
    stops.append(back.stop)
    mark = len(run.log())
    run.svc("-a")
    expect(eventually(lambda: len(back.messages) == 1, 10), "s6-svc -a: the host is back and takes the mail at once, not skipped as dead",
           run.log()[mark:])
    expect("ferry-schedule: ferry-spawn-remote: undead: 1 host forgotten" in run.log()[mark:], "the log says the dead host was forgotten",
           run.log()[mark:])

    # 3. SIGHUP: the channels read their settings again
    reread_check(home, run, "own user")
    run.svscan.stop()
    home.cleanup()

    # 2. reuse of cached connections follows the MX order (ferry-spawn-remote alone, in a home of its own)
    home = Home()
    if not ipv6_ok():
        print("skipped: the connection reuse check needs IPv6 on ::1")
    else:
        port = free_port()
        p4 = RawPeer(host="127.0.0.1", port=port)
        p6 = RawPeer(host="::1", port=port)
        stops.extend([p4.stop, p6.stop])
        dns = Dnsmasq([
            "--mx-host=pref.test,mx1.pref.test,10", "--mx-host=pref.test,mx2.pref.test,20",
            "--host-record=mx1.pref.test,127.0.0.1", "--host-record=mx2.pref.test,::1",
            "--mx-host=other.test,mxo.other.test,10", "--host-record=mxo.other.test,::1",
            "--mx-host=alias.test,mxa.alias.test,10", "--host-record=mxa.alias.test,::1",
        ])
        stops.append(dns.stop)
        home.control("smtproutes", "")
        for k, v in dict(smtpport=port, dnsservers="127.0.0.1:%d" % dns.port, connectioncache=30).items():
            home.control(k, "%s\n" % v)
        mid = home.inject(b"Subject: reuse\n\nx\n", "s@example.com", ["x@other.test"])
        sp = Spawner(home, "ferry-spawn-remote")
        sp.deliver(1, mid, "s@example.com", ["x@other.test"])
        res = sp.wait(1)
        expect(res[0][0] == "K" and "mxo.other.test[::1]" in res[0][1] and p6.connections == 1,
               "other.test through its MX on ::1, the connection then kept", res)
        sp.deliver(2, mid, "s@example.com", ["y@pref.test"])
        res = sp.wait(2)
        expect(res[0][0] == "K" and "mx1.pref.test[127.0.0.1]" in res[0][1] and len(p4.messages) == 1 and len(p6.messages) == 1,
               "pref.test goes to its preference-10 host, not over the idle connection to its preference-20 one", res)
        sp.deliver(3, mid, "s@example.com", ["z@alias.test"])
        res = sp.wait(3)
        expect(res[0][0] == "K" and p6.connections == 1 and len(p6.messages) == 2,
               "alias.test, whose best MX is that same address, reuses the idle connection", (res, p6.connections))
        expect("mxa.alias.test[::1]" in res[0][1], "and the answer names alias.test's own MX host, not other.test's", res)
        sp.finish()
    home.cleanup()

    # 3 again, as root with the dedicated users: the queue manager (ferrys) cannot signal the
    # channels (root, ferryr); the control frames reach them
    if not is_root():
        print("skipped: the dedicated users' SIGHUP check needs root")
    else:
        uhome = Home()
        U = os.path.join(uhome.tmp, "uhome")
        r = subprocess.run([os.path.join(BIN, "ferry-setup"), "-u", "-b", BIN, U], capture_output=True, text=True)
        expect(r.returncode == 0, "ferry-setup -u", r.stderr)
        uhome.path = U
        os.chmod(uhome.tmp, 0o755)
        urun = SetRun(uhome)
        reread_check(uhome, urun, "dedicated users")
        urun.svscan.stop()
        uhome.cleanup()
finally:
    stop_all(stops)
print("%d checks passed" % __import__("ferrytest").checks)
