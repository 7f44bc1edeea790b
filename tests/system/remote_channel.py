"""The remote channel through its protocol: ferry-spawn-remote against real SMTP servers on
loopback (Postfix's smtp-sink, an aiosmtpd scripted peer, a raw recording peer) and dnsmasq for
MX records. Each check looks at the answer per recipient and at what the peer received."""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import Home, Spawner, body_facts, eventually, expect, fail, netstring, request  # noqa: E402
from smtp_peers import Dnsmasq, RawPeer, ScriptedPeer, SmtpSink, free_port, ipv6_ok  # noqa: E402

home = Home()
num = [0]


def deliver(sp, msgid, sender, rcpts, timeout=30):
    num[0] += 1
    n = num[0]
    sp.deliver(n, msgid, sender, rcpts)
    return sp.wait(n, timeout)


try:
    home.settings(timeoutconnect=3, timeoutgreeting=2, timeoutcommand=3, timeoutdata=5, deadhosttime=60, connectioncache=5)
    body = b"Subject: remote\n\nline one\n.starts with a dot\n..two dots\ncrlf line\r\n.\nlast line without newline"
    mid = home.inject(body, "sender@example.com", ["a@sink.test"])
    stored = home.mess(mid)

    # --- smtp-sink: three recipients in one transaction
    sink = home.started(SmtpSink(home.tmp))
    home.route("sink.test:127.0.0.1:%d" % sink.port)
    sp = Spawner(home, "ferry-spawn-remote")
    res = deliver(sp, mid, "sender@example.com", ["a@sink.test", "b@sink.test", "c@sink.test"])
    expect([r[0] for r in res] == ["K", "K", "K"], "smtp-sink: three recipients accepted", res)
    expect("127.0.0.1" in res[0][1] and "250" in res[0][1], "the answer names the host and quotes its reply", res[0][1])
    dumps = sink.dumps()
    expect(len(dumps) == 1, "one transaction for the three recipients", len(dumps))
    d = dumps[0].decode(errors="replace")
    expect(d.count("X-Rcpt-Args: <") == 3 and "X-Rcpt-Args: <b@sink.test>" in d and "X-Mail-Args: <sender@example.com>" in d,
           "smtp-sink saw the sender and the three recipients", d[:400])
    expect(b"\nline one\n.starts with a dot\n..two dots\ncrlf line\n.\nlast line without newline\n" in dumps[0],
           "smtp-sink un-stuffed the dots back to the message's own lines")
    sp.finish()

    # --- the raw peer: byte for byte on the wire, PIPELINING, SIZE=, BODY=8BITMIME, reuse
    raw = home.started(RawPeer())
    home.route("raw.test:127.0.0.1:%d" % raw.port)
    sp = Spawner(home, "ferry-spawn-remote")
    res = deliver(sp, mid, "sender@example.com", ["x@raw.test"])
    expect(res[0][0] == "K", "raw peer: accepted", res)
    lines = stored.split(b"\n")
    exp = b""
    for i, l in enumerate(lines):
        last = i == len(lines) - 1
        if l.endswith(b"\r"):
            l = l[:-1]
        if last and not l:
            break
        exp += (b"." if l.startswith(b".") else b"") + l + b"\r\n"
    exp += b".\r\n"
    got = raw.messages[-1]
    expect(got == exp, "on the wire: CRLF everywhere, leading dots doubled, a final CRLF added, then the dot",
           (got[-80:], exp[-80:]))
    s0 = [l for k, l in raw.sessions[0] if k == "C"]
    expect(s0[0].startswith("EHLO "), "EHLO first", s0)
    expect(raw.mailargs[-1].startswith("MAIL FROM:<sender@example.com>") and "BODY=8BITMIME" not in raw.mailargs[-1],
           "7-bit message: no BODY=8BITMIME", raw.mailargs[-1])
    # pipelining: MAIL, RCPT and DATA all arrived before the reply to MAIL
    log = raw.sessions[0]
    pipelined = [l for k, l in log if k == "P"]
    expect(pipelined and pipelined[0] >= len("RCPT TO:<x@raw.test>\r\nDATA\r\n"), "with PIPELINING, RCPT and DATA went out before the reply to MAIL", log)

    # reuse: a second message to the same host goes over the same connection, after RSET
    mid8 = home.inject("Subject: 8bit\n\ncaf\u00e9\n".encode(), "sender@example.com", ["y@raw.test"])
    res = deliver(sp, mid8, "sender@example.com", ["y@raw.test"])
    expect(res[0][0] == "K" and raw.connections == 1, "the next message reuses the idle connection", raw.connections)
    cl = [l for k, l in raw.sessions[0] if k == "C"]
    expect("RSET" in cl and cl.index("RSET") < len(cl) - 1, "RSET between the two messages", cl)
    expect("BODY=8BITMIME" in raw.mailargs[-1] and "SIZE=" not in raw.mailargs[-1], "8-bit message: BODY=8BITMIME; no SIZE= to a peer without SIZE", raw.mailargs[-1])
    sp.finish()
    expect(eventually(lambda: any(l == "QUIT" for k, l in raw.sessions[0] if k == "C")), "the cached connection ends with QUIT")

    # no reuse when connectioncache is 0
    home.settings(connectioncache=0)
    raw2 = home.started(RawPeer())
    home.route("raw2.test:127.0.0.1:%d" % raw2.port)
    sp = Spawner(home, "ferry-spawn-remote")
    for _ in range(3):
        res = deliver(sp, mid, "sender@example.com", ["z@raw2.test"])
        expect(res[0][0] == "K", "delivered without a connection cache", res)
    expect(raw2.connections == 3, "connectioncache 0: one connection per message", raw2.connections)
    sp.finish()
    home.settings(connectioncache=5)

    # no PIPELINING: one command at a time; SIZE announced: SIZE= sent, and a limit refuses big mail
    raw3 = home.started(RawPeer(ehlo=["8BITMIME"], size=200))
    home.route("raw3.test:127.0.0.1:%d" % raw3.port)
    sp = Spawner(home, "ferry-spawn-remote")
    small = home.inject(b"Subject: s\n\nsmall\n", "sender@example.com", ["s@raw3.test"])
    res = deliver(sp, small, "sender@example.com", ["s@raw3.test", "t@raw3.test"])
    expect([r[0] for r in res] == ["K", "K"], "without PIPELINING", res)
    log = raw3.sessions[0]
    expect([l for k, l in log if k == "P"] == [0], "without PIPELINING, nothing follows MAIL before its reply", log)
    expect("SIZE=" in raw3.mailargs[-1], "SIZE= given to a peer that announces SIZE", raw3.mailargs[-1])
    bigid = home.inject(b"Subject: big\n\n" + b"z" * 1000 + b"\n", "sender@example.com", ["s@raw3.test"])
    res = deliver(sp, bigid, "sender@example.com", ["s@raw3.test"])
    expect(res[0][0] == "D" and "5.3.4" in res[0][1] and "SIZE 200" in res[0][1], "a message over the peer's SIZE is refused before MAIL", res)
    expect(len(raw3.messages) == 1, "and nothing of it was sent")
    sp.finish()

    # EHLO refused: HELO
    raw4 = home.started(RawPeer(ehlo=502))
    home.route("raw4.test:127.0.0.1:%d" % raw4.port, "raw.test:127.0.0.1:%d" % raw.port)
    sp = Spawner(home, "ferry-spawn-remote")
    res = deliver(sp, mid, "sender@example.com", ["h@raw4.test"])
    cl = [l for k, l in raw4.sessions[0] if k == "C"]
    expect(res[0][0] == "K" and cl[0].startswith("EHLO") and cl[1].startswith("HELO"), "EHLO refused with 502: HELO, then delivered", (res, cl[:3]))
    # SMTPUTF8 needed and not offered (this peer offers nothing): D
    res = deliver(sp, mid, "sender@example.com", ["\u00fc@raw4.test"])
    expect(res[0][0] == "D" and "SMTPUTF8" in res[0][1], "an address that needs SMTPUTF8, not offered: D", res)
    # REQUIRETLS asked (T after the request's b field), the peer reached without TLS: D 5.7.30, no MAIL
    mails = len(raw4.mailargs)
    num[0] += 1
    w, b = body_facts(home.mess(mid))
    sp.send(request(num[0], mid, "sender@example.com", ["q@raw4.test", "r@raw4.test"], (w, b + b"T")))
    res = sp.wait(num[0], 30)
    expect([r[0] for r in res] == ["D", "D"] and all(r[1].startswith("5.7.30 ") and "REQUIRETLS support required: the connection is not over TLS" in r[1] for r in res),
           "REQUIRETLS asked, no TLS at the only host: D 5.7.30 for every recipient", res)
    expect(len(raw4.mailargs) == mails, "and no MAIL for it", raw4.mailargs[mails:])
    sp.finish()
    # and offered: the MAIL command says SMTPUTF8
    res_sp = Spawner(home, "ferry-spawn-remote")
    res = deliver(res_sp, mid, "s\u00e9nder@example.com", ["u@raw.test"])
    expect(res[0][0] == "K" and "SMTPUTF8" in raw.mailargs[-1], "SMTPUTF8 offered: MAIL FROM carries SMTPUTF8", (res, raw.mailargs[-1]))
    res_sp.finish()

    # --- the aiosmtpd scripted peer: 4xx is Z (H at MAIL: the destination's), 5xx is D, per recipient, at MAIL, at DATA
    peer = home.started(ScriptedPeer())
    home.route("scripted.test:127.0.0.1:%d" % peer.port)
    sp = Spawner(home, "ferry-spawn-remote")
    res = deliver(sp, mid, "sender@example.com", ["ok@scripted.test", "rcpt-450@scripted.test", "rcpt-550@scripted.test", "ok2@scripted.test"])
    expect([r[0] for r in res] == ["K", "Z", "D", "K"], "per recipient: 250 K, 450 Z, 550 D, 250 K", res)
    expect("450 4.1.1 <rcpt-450@scripted.test>" in res[1][1] and "in reply to RCPT TO:<rcpt-450@scripted.test>" in res[1][1] and "127.0.0.1" in res[1][1],
           "a refusal quotes the peer, the host and the command", res[1][1])
    expect(len(peer.handler.messages) == 1 and sorted(peer.handler.messages[0][1]) == ["ok2@scripted.test", "ok@scripted.test"],
           "the peer took the message once, for the two accepted recipients", peer.handler.messages)
    expect(peer.handler.messages[0][2] == stored.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + (b"" if stored.endswith(b"\n") else b"\r\n"),
           "the peer's copy is the queued message with CRLF line ends")
    res = deliver(sp, mid, "mail-451@example.com", ["a@scripted.test", "b@scripted.test"])
    expect([r[0] for r in res] == ["H", "H"] and "451" in res[0][1], "MAIL refused with 451: every recipient H, the destination's failure", res)
    res = deliver(sp, mid, "mail-553@example.com", ["a@scripted.test"])
    expect(res[0][0] == "D" and "553" in res[0][1], "MAIL refused with 553: D", res)
    res = deliver(sp, mid, "sender@example.com", ["data-554@scripted.test", "rcpt-550@scripted.test"])
    expect([r[0] for r in res] == ["D", "D"] and "554" in res[0][1] and "550" in res[1][1], "DATA refused with 554: the accepted recipient D", res)
    res = deliver(sp, mid, "sender@example.com", ["data-452@scripted.test"])
    expect(res[0][0] == "Z" and "452" in res[0][1], "end of data refused with 452: Z", res)
    res = deliver(sp, mid, "sender@example.com", ["rcpt-550@scripted.test", "rcpt-551@scripted.test"])
    expect([r[0] for r in res] == ["D", "D"], "every recipient refused: D each, no DATA", res)
    sp.finish()

    # --- DNS: MX order, next host of the same preference and the next preference, fallbacks
    ports = free_port()
    good = home.started(RawPeer(host="127.0.0.4", port=ports))
    greet421 = home.started(RawPeer(host="127.0.0.3", port=ports, greeting="421 4.3.2 too busy"))
    silent = home.started(RawPeer(host="127.0.0.5", port=ports, silent=True))
    plain = home.started(RawPeer(host="127.0.0.6", port=ports))
    dropper = home.started(RawPeer(host="127.0.0.7", port=ports, drop_after="MAIL"))
    dns = home.started(Dnsmasq([
        "--mx-host=multi.test,h-refused.test,10", "--mx-host=multi.test,h-421.test,10", "--mx-host=multi.test,h-drop.test,15",
        "--mx-host=multi.test,h-good.test,20", "--host-record=h-drop.test,127.0.0.7",
        "--host-record=h-refused.test,127.0.0.2", "--host-record=h-421.test,127.0.0.3", "--host-record=h-good.test,127.0.0.4",
        "--dns-rr=nullmx.test,15,000000",
        "--host-record=nomx.test,127.0.0.6",
        "--txt-record=empty.test,nothing here",
        "--mx-host=deadmx.test,h-silent.test,10", "--host-record=h-silent.test,127.0.0.5",
        "--mx-host=unresolvable.test,h-nowhere.test,10",
    ]))
    home.route()
    home.settings(smtpport=ports, dnsservers="127.0.0.1:%d" % dns.port)
    sp = Spawner(home, "ferry-spawn-remote")
    res = deliver(sp, mid, "sender@example.com", ["m@multi.test"])
    expect(res[0][0] == "K" and "h-good.test[127.0.0.4]" in res[0][1], "refused and 421 hosts of preference 10, a dropping host of 15 skipped; preference 20 took it", res)
    expect(greet421.connections == 1 and dropper.connections == 1 and len(good.messages) == 1, "the 421 and dropping hosts were tried once each, the good one delivered")
    res = deliver(sp, mid, "sender@example.com", ["n@nullmx.test"])
    expect(res[0][0] == "D" and "null MX" in res[0][1], "null MX: D", res)
    res = deliver(sp, mid, "sender@example.com", ["p@nomx.test"])
    expect(res[0][0] == "K" and len(plain.messages) == 1, "no MX: the domain's own address record", res)
    res = deliver(sp, mid, "sender@example.com", ["q@empty.test"])
    expect(res[0][0] == "D" and "no route" in res[0][1], "no MX and no address: D, no route", res)
    res = deliver(sp, mid, "sender@example.com", ["r@nxdomain.test"])
    expect(res[0][0] == "D" and "does not exist" in res[0][1], "a domain that does not exist: D", res)
    res = deliver(sp, mid, "sender@example.com", ["r@unresolvable.test"])
    expect(res[0][0] == "D" and "no MX host" in res[0][1], "MX hosts without addresses: D", res)
    t0 = time.time()
    res = deliver(sp, mid, "sender@example.com", ["s@deadmx.test"])
    expect(res[0][0] == "H" and "timed out waiting for the greeting" in res[0][1], "a host that accepts and says nothing: H after the greeting timeout", res)
    t1 = time.time()
    res = deliver(sp, mid, "sender@example.com", ["t@deadmx.test"])
    t2 = time.time()
    expect(res[0][0] == "H" and "skipped" in res[0][1] and t2 - t1 < 1.0 and t1 - t0 >= 1.9,
           "the dead host is remembered: the next delivery is deferred at once, not after another timeout (%.1fs then %.2fs)" % (t1 - t0, t2 - t1), res)
    sp.finish()
    dns.stop()
    home.settings(dnsservers="127.0.0.1:%d" % free_port())
    sp = Spawner(home, "ferry-spawn-remote")
    res = deliver(sp, mid, "sender@example.com", ["u@multi.test"], timeout=30)
    expect(res[0][0] == "H" and "DNS" in res[0][1], "no DNS server answers: H", res)
    sp.finish()
    home.settings(dnsservers="", smtpport=25)

    # --- hostile peers: the channel neither hangs nor crashes, and goes on delivering
    hostile = {
        "endless": home.started(RawPeer(endless=True)),
        "neverending": home.started(RawPeer(neverending=True)),
        "garbage": home.started(RawPeer(garbage=True)),
        "drop": home.started(RawPeer(drop_after="RCPT")),
        "dropdot": home.started(RawPeer(drop_after="DOT")),
    }
    home.route(*["%s.test:127.0.0.1:%d" % (k, v.port) for k, v in hostile.items()] + ["raw.test:127.0.0.1:%d" % raw.port])
    sp = Spawner(home, "ferry-spawn-remote")
    for k, why in [("endless", "too many lines"), ("neverending", "too long"), ("garbage", "not SMTP"), ("drop", "closed")]:
        t0 = time.time()
        res = deliver(sp, mid, "sender@example.com", ["v@%s.test" % k], timeout=20)
        expect(res[0][0] == "H" and why in res[0][1], "hostile peer (%s): H, %s, in %.1fs" % (k, why, time.time() - t0), res)
    res = deliver(sp, mid, "sender@example.com", ["w@dropdot.test"])
    expect(res[0][0] == "Z" and "may have been delivered" in res[0][1], "a drop after the end of data: Z, saying the message may have arrived", res)
    res = deliver(sp, mid, "sender@example.com", ["x@raw.test"])
    expect(res[0][0] == "K", "after the hostile peers, the channel still delivers", res)
    expect(sp.p.poll() is None, "ferry-spawn-remote is still running")
    # malformed requests
    sp.send(netstring(b"90\x00notanid\x00"))
    sp.send(b"xyz,")
    sp.send(netstring(b"91\x00123\x00w1\x00b7\x00s\x00"))
    a90, a91 = sp.wait([90, 91])
    expect(a90[0][0] == "Z" and a91[0][0] == "Z", "malformed requests: Z answers", (a90, a91))
    rc = sp.finish()
    expect(rc == 0, "ferry-spawn-remote exits 0 at end of input", rc)

    # --- IPv6
    if ipv6_ok():
        raw6 = home.started(RawPeer(host="::1"))
        home.route("six.test:[::1]:%d" % raw6.port)
        sp = Spawner(home, "ferry-spawn-remote")
        res = deliver(sp, mid, "sender@example.com", ["x@six.test"])
        expect(res[0][0] == "K" and "::1" in res[0][1] and len(raw6.messages) == 1, "delivery over IPv6 to [::1]", res)
        sp.finish()

    # --- SIGHUP rereads control/smtproutes and forgets resolved destinations
    other = home.started(RawPeer())
    home.route("hup.test:127.0.0.1:%d" % raw.port)
    sp = Spawner(home, "ferry-spawn-remote")
    before = len(raw.messages)
    res = deliver(sp, mid, "sender@example.com", ["a@hup.test"])
    expect(res[0][0] == "K" and len(raw.messages) == before + 1, "hup.test goes to the first peer", res)
    home.route("hup.test:127.0.0.1:%d" % other.port)
    sp.p.send_signal(signal.SIGHUP)
    expect(eventually(lambda: deliver(sp, mid, "sender@example.com", ["b@hup.test"])[0][0] == "K" and len(other.messages) >= 1, 10),
           "after SIGHUP, hup.test goes to the new route")
    sp.finish()

    # --- a slow peer does not stall the others: a fast delivery sent after a slow one answers first
    slowpeer = home.started(RawPeer(slow_data=2))
    home.route("slowpeer.test:127.0.0.1:%d" % slowpeer.port, "raw.test:127.0.0.1:%d" % raw.port)
    sp = Spawner(home, "ferry-spawn-remote")
    num[0] += 2
    sp.deliver(num[0] - 1, mid, "sender@example.com", ["a@slowpeer.test"])
    sp.deliver(num[0], mid, "sender@example.com", ["b@raw.test"])
    sp.wait([num[0] - 1, num[0]], timeout=30)
    expect(sp.order.index(num[0]) < sp.order.index(num[0] - 1), "a peer slow to take the message does not hold back another delivery")
    sp.finish()

    # --- concurrency: the queue manager's (system/queue-set checks it keeps to the limits); the
    # channel starts every delivery it is given, whatever control/concurrency* say
    slow = home.started(RawPeer(slow_data=0.5))
    home.route("slow1.test:127.0.0.1:%d" % slow.port, "slow2.test:127.0.0.1:%d" % slow.port, "slow3.test:127.0.0.1:%d" % slow.port)
    home.settings(concurrencyremote=4, concurrencydestination=2, connectioncache=0)
    sp = Spawner(home, "ferry-spawn-remote")
    nums = []
    for i in range(12):
        num[0] += 1
        nums.append(num[0])
        sp.deliver(num[0], mid, "sender@example.com", ["c%d@slow%d.test" % (i, i % 3 + 1)])
    res = sp.wait(nums, timeout=60)
    expect(all(r[0][0] == "K" for r in res), "12 slow deliveries over 3 domains: all K", res)
    expect(slow.peak == 12, "concurrencyremote 4 is not the channel's: the 12 deliveries it was given went at once", slow.peak)
    sp.finish()
    slow1 = home.started(RawPeer(slow_data=0.5))
    home.route("one.test:127.0.0.1:%d" % slow1.port)
    sp = Spawner(home, "ferry-spawn-remote")
    nums = []
    for i in range(6):
        num[0] += 1
        nums.append(num[0])
        sp.deliver(num[0], mid, "sender@example.com", ["c%d@one.test" % i])
    sp.wait(nums, timeout=60)
    expect(slow1.peak == 6, "concurrencydestination 2 is not the channel's: 6 at once to one domain", slow1.peak)
    sp.finish()
finally:
    home.cleanup()
print("%d checks passed" % __import__("ferrytest").checks)
