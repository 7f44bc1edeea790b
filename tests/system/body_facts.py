"""The body facts of doc/queue.html. A 7-bit message, an 8-bit one, one with a 999-octet line and
one with 998-octet CRLF lines, injected through ferry-inject and through ferry-injectd: the stored
envelope holds u, p, t, then w (the message file's octets plus one per LF) and b (b7, b8, with L
for a line over 998 octets, its CR LF not counted), then the client's envelope. ferry-spawn-remote
takes them from the request: a 300 KB message goes out with SIZE= the w value and BODY=8BITMIME
as b says, and the channel reads the message file once (strace counts the bytes it reads from it:
no more than the file holds). Without strace, that last part is skipped."""

import os
import re
import shutil
import sys

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import stop_all, Home, Spawner, body_facts, expect, injectd_chunks, injectd_serve, injectd_talk  # noqa: E402
from smtp_peers import RawPeer  # noqa: E402

home = Home()
stoppers = [home.cleanup]

MESSAGES = [
    ("a 7-bit message", b"Subject: seven\n\nplain text\nlast line without LF", b"b7"),
    ("an 8-bit message", "Subject: eight\n\ncaf\u00e9\n".encode(), b"b8"),
    ("a 999-octet line", b"Subject: long\n\n" + b"x" * 999 + b"\n", b"b7L"),
    ("998-octet lines ending in CRLF", b"Subject: crlf\r\n\r\n" + b"y" * 998 + b"\r\n" + b"z" * 998, b"b7"),
    ("8-bit and a long last line", b"Subject: both\n\n" + b"\xff" * 1000, b"b8L"),
]


def records(env):
    return env.split(b"\0")


def check(how, mid, what, want_b):
    mess = home.mess(mid)
    rec = records(home.todo(mid))
    w, b = body_facts(mess)
    expect(rec[3] == b"w%d" % (len(mess) + mess.count(b"\n")) and rec[3] == w,
           "%s, %s: w is the message file's size plus one per LF" % (how, what), (rec[:5], len(mess)))
    expect(rec[4] == want_b and b == want_b, "%s, %s: %s" % (how, what, want_b.decode()), rec[:5])
    expect(rec[5].startswith(b"F"), "%s, %s: then the client's envelope" % (how, what), rec[:6])


try:
    for what, msg, want in MESSAGES:
        check("ferry-inject", home.inject(msg, "s@example.com", ["r@example.net"]), what, want)

    p, err = injectd_serve(home)
    for what, msg, want in MESSAGES:
        # in chunks that cut a CR LF and the long line
        r = injectd_talk(home, injectd_chunks(msg, 7) + b"Fs@example.com\0Tr@example.net\0\0")
        expect(r.startswith("0 queued id "), "ferry-injectd takes %s" % what, r)
        check("ferry-injectd", int(r.split()[3]), what, want)
    p.terminate()
    p.wait()

    # the remote channel: the facts from the request, the message read once
    if not shutil.which("strace"):
        print("skipped: strace is not installed (the read count of ferry-spawn-remote)")
        stop_all(stoppers)
        sys.exit(77)
    peer = RawPeer(ehlo=["PIPELINING", "8BITMIME", "SIZE 100000000"])
    stoppers.append(peer.stop)
    home.control("smtproutes", "peer.test:127.0.0.1:%d\n" % peer.port)
    for k, v in dict(timeoutconnect=3, timeoutgreeting=3, timeoutcommand=5, timeoutdata=10, deadhosttime=0).items():
        home.control(k, "%s\n" % v)
    trace = os.path.join(home.tmp, "strace")
    os.environ["FERRY_WRAP"] = "strace -f -y -qq -e signal=none -e trace=read,pread64,readv,preadv,preadv2 -o " + trace
    # LeakSanitizer cannot run under ptrace (make sanitize): no leak check for this traced process
    lsan = os.environ.get("LSAN_OPTIONS")
    if lsan is not None:
        os.environ["LSAN_OPTIONS"] = lsan + ":detect_leaks=0"
    asan = os.environ.get("ASAN_OPTIONS")
    if asan is not None:
        os.environ["ASAN_OPTIONS"] = asan.replace("detect_leaks=1", "detect_leaks=0")
    sp = Spawner(home, "ferry-spawn-remote")
    del os.environ["FERRY_WRAP"]
    if lsan is not None:
        os.environ["LSAN_OPTIONS"] = lsan
    if asan is not None:
        os.environ["ASAN_OPTIONS"] = asan
    big = [("a 300 KB 7-bit message", b"Subject: big\n\n" + b"line of seven bit text\n" * 14000, b"b7"),
           ("a 300 KB 8-bit message", b"Subject: big8\n\n" + "ligne \u00e9crite en huit bits\n".encode() * 11000, b"b8")]
    sent = []
    for n, (what, msg, want) in enumerate(big, 1):
        mid = home.inject(msg, "s@example.com", ["r%d@peer.test" % n])
        mess = home.mess(mid)
        w, b = body_facts(mess)
        expect(b == want, "%s: %s" % (what, want.decode()))
        sp.deliver(n, mid, "s@example.com", ["r%d@peer.test" % n])
        res = sp.wait(n, 60)
        expect(res[0][0] == "K", "%s is delivered" % what, res)
        args = peer.mailargs[-1]
        expect(" SIZE=%s" % w[1:].decode() in args, "%s: SIZE= is the w of its request" % what, (args, w))
        expect(("BODY=8BITMIME" in args) == (want == b"b8"), "%s: BODY=8BITMIME as its b field says" % what, args)
        sent.append((what, mid, len(mess)))
    expect(sp.finish() == 0, "ferry-spawn-remote exits 0 at end of input")
    trace_text = open(trace, errors="replace").read().splitlines()
    for what, mid, size in sent:
        pat = re.compile(r"^\d+\s+\w+\((\d+)<[^>]*/queue/mess/\d+/%d>.*= (\d+)$" % mid)
        got = sum(int(m.group(2)) for m in map(pat.match, trace_text) if m)
        expect(0 < got <= size, "%s: ferry-spawn-remote reads the message file once (%d bytes read, the file has %d)" % (what, got, size))
finally:
    stop_all(stoppers)
