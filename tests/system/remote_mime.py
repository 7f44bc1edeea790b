"""The remote channel (ferry-spawn-remote) and what a strict peer takes: 8-bit data for a peer
without 8BITMIME and lines over 998 octets for any peer go as quoted-printable (the bytes the
peer saw decode back to the message), what cannot be converted is refused for good (D) with the
reason, nothing of it sent; and a peer that closes the connection in the middle of the message
data is reported as such, not as a loss after the end of the message."""

import email
import email.policy
import os
import sys

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import stop_all, Home, Spawner, expect  # noqa: E402
from smtp_peers import RawPeer  # noqa: E402

home = Home()
stoppers = []
num = [0]


def stopping(x):
    stoppers.append(x.stop)
    return x


def deliver(sp, msgid, rcpts, timeout=30):
    num[0] += 1
    sp.deliver(num[0], msgid, "sender@example.com", rcpts)
    return sp.wait(num[0], timeout)


def wire_message(data):
    """the DATA bytes a peer received: dots un-stuffed, the final dot gone, parsed"""
    lines = data.split(b"\r\n")
    assert lines[-2:] == [b".", b""], lines[-3:]
    raw = b"\r\n".join(l[1:] if l.startswith(b".") else l for l in lines[:-2]) + b"\r\n"
    return raw, email.message_from_bytes(raw, policy=email.policy.compat32)


def body_lf(m):
    return m.get_payload(decode=True).replace(b"\r\n", b"\n")


try:
    for k, v in dict(timeoutconnect=3, timeoutgreeting=3, timeoutcommand=5, timeoutdata=10, deadhosttime=0, connectioncache=0).items():
        home.control(k, "%s\n" % v)
    strict = stopping(RawPeer(ehlo=["PIPELINING"], strict=True))
    eight = stopping(RawPeer(strict=True))      # offers 8BITMIME, still refuses long lines
    closer = stopping(RawPeer(close_in_data=True))
    home.control("smtproutes", "strict.test:127.0.0.1:%d\neight.test:127.0.0.1:%d\ncloser.test:127.0.0.1:%d\n"
                 % (strict.port, eight.port, closer.port))
    sp = Spawner(home, "ferry-spawn-remote")

    # 8-bit text for a peer without 8BITMIME: quoted-printable, decoding to the original body
    body8 = "caf\u00e9 cr\u00e8me = br\u00fbl\u00e9e \n.a line with a dot\nlast\n".encode()
    m8 = home.inject(b"Subject: eight\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" + body8,
                     "sender@example.com", ["a@strict.test"])
    res = deliver(sp, m8, ["a@strict.test"])
    expect(res[0][0] == "K", "an 8-bit message to a peer without 8BITMIME is taken", res)
    raw, m = wire_message(strict.messages[-1])
    expect(all(c < 128 for c in strict.messages[-1]), "every byte the peer saw is 7-bit")
    expect("BODY=8BITMIME" not in strict.mailargs[-1], "no BODY=8BITMIME to a peer that does not offer it", strict.mailargs[-1])
    expect(m["Content-Transfer-Encoding"] == "quoted-printable" and m.get_content_charset() == "utf-8" and raw.count(b"Content-Transfer-Encoding") == 1,
           "Content-Transfer-Encoding rewritten to quoted-printable, once, the charset kept", raw[:300])
    expect(body_lf(m) == body8, "the body decodes back to the original", (body_lf(m), body8))

    # the same message to a peer that offers 8BITMIME: as it is, with BODY=8BITMIME
    res = deliver(sp, m8, ["a@eight.test"])
    expect(res[0][0] == "K" and "BODY=8BITMIME" in eight.mailargs[-1] and "caf\u00e9".encode() in eight.messages[-1],
           "to an 8BITMIME peer the 8-bit body goes as it is, with BODY=8BITMIME", (res, eight.mailargs[-1]))

    # a 5,000-octet line: converted for either peer, every line the peer saw at most 998 octets
    longbody = b"short\n" + b"".join(b"%04d:" % i + b"x" * 45 for i in range(100)) + b"\nend\n"
    ml = home.inject(b"Subject: long\n\n" + longbody, "sender@example.com", ["b@strict.test"])
    for peer, dom in ((strict, "strict.test"), (eight, "eight.test")):
        res = deliver(sp, ml, ["b@" + dom])
        expect(res[0][0] == "K", "a message with a 5,000-octet line is taken by %s" % dom, res)
        raw, m = wire_message(peer.messages[-1])
        expect(max(len(l) for l in peer.messages[-1].split(b"\r\n")) <= 998, "no line over 998 octets on the wire to %s" % dom)
        expect(m["MIME-Version"] == "1.0" and m["Content-Transfer-Encoding"] == "quoted-printable" and m.get_content_type() == "text/plain",
               "the message says MIME-Version and quoted-printable", raw[:200])
        expect(body_lf(m) == longbody, "the body decodes back to the original, the long line whole")

    # a long line where it cannot be encoded (inside a message/rfc822 part): D, nothing sent
    before = len(strict.messages), len(strict.sessions)
    bad = (b"Subject: forwarded\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\n"
           b"Content-Type: message/rfc822\n\nSubject: inner\n\n" + b"y" * 5000 + b"\n--zz--\n")
    mb = home.inject(bad, "sender@example.com", ["c@strict.test"])
    res = deliver(sp, mb, ["c@strict.test", "d@strict.test"])
    expect([r[0] for r in res] == ["D", "D"] and res[0][1].startswith("5.6.3 ") and "longer than 998 octets" in res[0][1]
           and "cannot be converted" in res[0][1], "unconvertible: D for every recipient, 5.6.3 and why", res)
    expect(len(strict.messages) == before[0], "nothing of it reached the peer")
    # 8-bit in a header for a peer without 8BITMIME: D; for one with 8BITMIME: as it is
    mh = home.inject("Subject: caf\u00e9\n\nplain\n".encode(), "sender@example.com", ["e@strict.test"])
    res = deliver(sp, mh, ["e@strict.test"])
    expect(res[0][0] == "D" and "5.6.3" in res[0][1] and "8-bit bytes in a header" in res[0][1] and "8BITMIME" in res[0][1],
           "an 8-bit header for a peer without 8BITMIME: D, saying so", res)
    res = deliver(sp, mh, ["e@eight.test"])
    expect(res[0][0] == "K", "the same to an 8BITMIME peer: taken", res)

    # a peer that closes the connection right after its 354: the message data was cut short
    small = home.inject(b"Subject: small\n\nsmall body\n", "sender@example.com", ["f@closer.test"])
    res = deliver(sp, small, ["f@closer.test"])
    # the connection failed before the message was taken, on every host: the destination's failure (H)
    expect(res[0][0] == "H" and "during the message data" in res[0][1] and "may have been delivered" not in res[0][1]
           and "not delivered" in res[0][1], "a close in the middle of a small message's data: H, said to be during the data: " + res[0][1], res)
    big = home.inject(b"Subject: big\n\n" + (b"z" * 76 + b"\n") * 100000, "sender@example.com", ["g@closer.test"])
    res = deliver(sp, big, ["g@closer.test"])
    expect(res[0][0] == "H" and "during the message data" in res[0][1] and "may have been delivered" not in res[0][1],
           "and of a large message's data too", res)
    expect(sp.finish() == 0, "ferry-spawn-remote exits 0 at the end of its input")
finally:
    stop_all(stoppers)
    home.cleanup()
print("%d checks passed" % __import__("ferrytest").checks)
