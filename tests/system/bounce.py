"""Delivery status notifications under the real set (s6-svscan, the local Maildir channel, a
scripted SMTP peer on loopback): failures of a local and a remote recipient and an expiry each give
their sender exactly one RFC 3464 report, parsed here with Python's email package; double bounces,
RET=HDRS, NOTIFY=NEVER, NOTIFY=SUCCESS, delay warnings, a large message, a notification that
cannot be queued at first, ferry-bounce-build -n by hand, and SIGKILL of the set while notices are
being made."""

import email
import email.policy
import email.utils
import mailbox
import os
import random
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import stop_all, BIN, Home, Supervised, eventually, expect, fail, s6_log  # noqa: E402
from smtp_peers import ScriptedPeer, free_port  # noqa: E402

home = Home()
H = home.path
stops = []
svscan = None
ME = "ferry.test"
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "gina", "hank", "ivan", "judy", "postmaster", "good", "good2", "quiet", "uma"] + ["k%d" % i for i in range(30)]


def control(**kv):
    for k, v in kv.items():
        home.control(k, "%s\n" % v)
    svc("-h")


def log():
    return s6_log(os.path.join(H, "log"))


def svc(*args):
    if svscan:
        subprocess.run(["s6-svc"] + list(args) + [os.path.join(H, "service", "ferry")], check=True)


def queue_files(dirs=("todo", "intd", "local", "remote", "mess", "pid", "bounce")):
    return home.queue_files(dirs)


def box(user):
    return home.maildir(user)


def inbox(user):
    """the messages in user's Maildir, parsed"""
    out = []
    d = os.path.join(box(user), "new")
    for f in sorted(os.listdir(d)):
        with open(os.path.join(d, f), "rb") as fh:
            out.append(email.message_from_bytes(fh.read(), policy=email.policy.compat32))
    return out


def send(sender, rcpts, subject, body=b"hello\n", mext=b"", rext=None, hdrs=b""):
    """one message through ferry-inject, with message-level X records mext and per-recipient ones"""
    env_extra = b""
    msg = b"From: " + sender.encode() + b"\nSubject: " + subject.encode() + b"\nMessage-ID: <" + subject.encode() + b"@test>\n" + hdrs + b"\n" + body
    r, w = os.pipe()
    env = b"F" + sender.encode() + b"\0" + mext
    for i, rc in enumerate(rcpts):
        env += b"T" + rc.encode() + b"\0" + ((rext or {}).get(i, b""))
    env += b"\0" + env_extra
    os.write(w, env)
    os.close(w)
    p = subprocess.run([os.path.join(BIN, "ferry-inject"), H], input=msg, stdout=r, stderr=subprocess.PIPE)
    os.close(r)
    if p.returncode:
        fail("ferry-inject exited %d: %s" % (p.returncode, p.stderr.decode()))


def settled(timeout=30):
    """the queue empty: every message done, every notification sent and delivered"""
    return eventually(lambda: not queue_files(), timeout)


def report_parts(m):
    """the three parts of a multipart/report, checked for the structure RFC 6522 gives it"""
    expect(m.get_content_type() == "multipart/report" and m.get_param("report-type") == "delivery-status",
           "Content-Type: multipart/report; report-type=delivery-status", m.get("Content-Type"))
    parts = m.get_payload()
    expect(len(parts) == 3 and parts[0].get_content_type() == "text/plain" and parts[1].get_content_type() == "message/delivery-status",
           "three parts: text/plain, message/delivery-status, the returned message", [p.get_content_type() for p in parts])
    return parts


def dsn_fields(part):
    """the per-message field group and the per-recipient groups of a message/delivery-status part
    (the email package parses it into a list of header blocks)"""
    blocks = part.get_payload()
    return blocks[0], blocks[1:]


def check_date(value, what):
    expect(value is not None and email.utils.parsedate_to_datetime(value) is not None, what + " is an RFC 5322 date", value)


try:
    home.maildirs(USERS, ["example.org"])
    home.control("me", ME + "\n")
    home.control("bouncehost", ME + "\n")
    peer = ScriptedPeer()
    stops.append(peer.stop)
    deadport = free_port()
    home.control("smtproutes", "remote.test:127.0.0.1:%d\ndead.test:127.0.0.1:%d\n" % (peer.port, deadport))
    home.control("doublebounceto", "postmaster@example.org\n")
    home.control("timeoutconnect", "2\n")
    home.control("deadhosttime", "0\n")
    svscan = Supervised(H)
    stops.insert(0, svscan.stop)
    expect(eventually(lambda: "ferry-schedule: starting" in log(), 20), "the set starts under s6-svscan", log()[-500:])
    # what ferry-schedule starts (ferry-bounce-build) inherits no member's pipe: each of its
    # descriptors 3 to 10 is close-on-exec
    top = int(subprocess.run(["s6-svstat", "-p", os.path.join(H, "service", "ferry")], capture_output=True, text=True).stdout.strip() or 0)
    inherited = []
    for fd in range(3, 11):
        with open("/proc/%d/fdinfo/%d" % (top, fd)) as f:
            flags = int(re.search(r"flags:\s*([0-7]+)", f.read()).group(1), 8)
        if not flags & 0o2000000:
            inherited.append(fd)
    expect(top > 0 and not inherited, "ferry-schedule's pipes to the members are close-on-exec", inherited)

    # 1. an unknown local recipient (two of them, and one good one): one notice, about both
    send("alice@example.org", ["nobody@example.org", "good@example.org", "nobody2@example.org"], "to-unknown",
         mext=b"XENVID=alice+2Bid42\0", rext={0: b"XORCPT=rfc822;Nobody+40Example.org\0"})
    expect(settled(), "the queue is empty afterwards: message, bounce record and notice all done", queue_files())
    got = inbox("alice")
    expect(len(got) == 1, "the sender got exactly one notification for two failed recipients", len(got))
    m = got[0]
    expect(m["Return-Path"] == "<>", "it came with the null envelope sender (Return-Path: <>)", m["Return-Path"])
    expect(m["From"] == "Mail Delivery System <MAILER-DAEMON@%s>" % ME, "From: is control/bouncefrom at control/bouncehost", m["From"])
    expect(m["To"] == "<alice@example.org>" and m["Subject"] == "Undelivered Mail Returned to Sender" and m["Auto-Submitted"] == "auto-replied",
           "To:, Subject:, Auto-Submitted: auto-replied", (m["To"], m["Subject"], m["Auto-Submitted"]))
    parts = report_parts(m)
    human = parts[0].get_payload()
    expect("<nobody@example.org>: 5.1.1" in human and "<nobody2@example.org>: 5.1.1" in human and "good@" not in human,
           "the human-readable part names both failures and why, not the delivered recipient", human)
    permsg, rcpts = dsn_fields(parts[1])
    expect(permsg["Reporting-MTA"] == "dns; " + ME, "Reporting-MTA: dns; control/me", permsg["Reporting-MTA"])
    check_date(permsg["Arrival-Date"], "Arrival-Date")
    expect(permsg["Original-Envelope-Id"] == "alice+id42", "Original-Envelope-Id: the ENVID, xtext-decoded", permsg["Original-Envelope-Id"])
    expect(len(rcpts) == 2, "two recipient groups", len(rcpts))
    r0 = [r for r in rcpts if r["Final-Recipient"] == "rfc822; nobody@example.org"]
    expect(len(r0) == 1, "Final-Recipient: rfc822; nobody@example.org", [r["Final-Recipient"] for r in rcpts])
    r0 = r0[0]
    expect(r0["Original-Recipient"] == "rfc822; Nobody@Example.org", "Original-Recipient: the ORCPT, decoded", r0["Original-Recipient"])
    expect(r0["Action"] == "failed" and r0["Status"] == "5.1.1", "Action: failed, Status: 5.1.1", (r0["Action"], r0["Status"]))
    expect(r0["Remote-MTA"] is None and r0["Diagnostic-Code"].startswith("x-ferry; 5.1.1 no mailbox here"),
           "a local failure: no Remote-MTA, Diagnostic-Code x-ferry with ferry's own words", (r0["Remote-MTA"], r0["Diagnostic-Code"]))
    check_date(r0["Last-Attempt-Date"], "Last-Attempt-Date")
    r1 = [r for r in rcpts if r["Final-Recipient"] == "rfc822; nobody2@example.org"][0]
    expect(r1["Original-Recipient"] is None, "no Original-Recipient where no ORCPT was given")
    ret = parts[2]
    expect(ret.get_content_type() == "message/rfc822", "the third part is message/rfc822", ret.get_content_type())
    orig = ret.get_payload()[0]
    expect(orig["Subject"] == "to-unknown" and orig.get_payload() == "hello\n" and orig["Received"].startswith("(ferry"),
           "it is the whole message: ferry's Received line, the header, the body", (orig["Subject"], orig.get_payload()))
    expect(len(inbox("good")) == 1, "the good recipient got the message")
    expect(re.search(r"bounce msg [0-9A-Z]{11}\.\d+: failure notice about 2 recipients queued, to <alice@example.org>", log()), "logged: failure notice about 2 recipients queued")

    # 2. a remote peer refuses one recipient with 550: its words in the notice
    send("bob@example.org", ["rcpt-550@remote.test", "fine@remote.test"], "to-remote")
    expect(settled(), "the queue is empty afterwards", queue_files())
    got = inbox("bob")
    expect(len(got) == 1, "the sender got exactly one notification", len(got))
    permsg, rcpts = dsn_fields(report_parts(got[0])[1])
    expect(len(rcpts) == 1 and rcpts[0]["Final-Recipient"] == "rfc822; rcpt-550@remote.test", "only the refused recipient is in it",
           [r["Final-Recipient"] for r in rcpts])
    r = rcpts[0]
    expect(r["Action"] == "failed" and r["Status"] == "5.1.1", "Action: failed, Status: 5.1.1 (the peer's enhanced code)", (r["Action"], r["Status"]))
    expect(r["Remote-MTA"] == "dns; 127.0.0.1", "Remote-MTA: the host that answered", r["Remote-MTA"])
    expect(r["Diagnostic-Code"] == "smtp; 550 5.1.1 <rcpt-550@remote.test>: recipient refused by the scripted peer",
           "Diagnostic-Code: smtp; the peer's own reply", r["Diagnostic-Code"])
    check_date(r["Last-Attempt-Date"], "Last-Attempt-Date")
    expect(len([x for x in peer.handler.messages if "fine@remote.test" in x[1]]) == 1, "the accepted recipient got it once")

    # 2b. a UTF-8 recipient (the message not sent with SMTPUTF8) fails: RFC 6533's utf-8 address
    #     type and message/global-delivery-status, the address bytes intact (not j??rg)
    send("uma@example.org", ["j\u00f6rg@example.org"], "to-utf8", rext={0: b"XORCPT=utf-8;J\\x{F6}rg@example.org\0"})
    expect(settled(), "the queue is empty afterwards", queue_files())
    got = [f for f in os.listdir(os.path.join(box("uma"), "new"))]
    expect(len(got) == 1, "the sender got exactly one notification", got)
    raw = open(os.path.join(box("uma"), "new", got[0]), "rb").read()
    m = email.message_from_bytes(raw, policy=email.policy.compat32)
    types = [p.get_content_type() for p in m.get_payload()]
    expect(types[:2] == ["text/plain", "message/global-delivery-status"], "the status part is message/global-delivery-status", types)
    expect(b"\nFinal-Recipient: utf-8; j\xc3\xb6rg@example.org\n" in raw, "Final-Recipient: utf-8; j\u00f6rg@example.org, its bytes intact",
           raw[raw.find(b"Final-Recipient"):][:80])
    expect(b"\nOriginal-Recipient: utf-8; J\xc3\xb6rg@example.org\n" in raw, "Original-Recipient: utf-8; the ORCPT, its \\x{F6} decoded",
           raw[raw.find(b"Original-Recipient"):][:80])
    expect(b"<j\xc3\xb6rg@example.org>: 5.1.1" in raw and b"j??rg" not in raw, "the text part names the address intact too")

    # 2c. a message the remote channel cannot convert (a 5,000-octet line in a message/rfc822
    #     part): returned to its sender, the reason in the notice
    n0 = len(peer.handler.messages)
    send("uma@example.org", ["long@remote.test"], "to-long", hdrs=b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=zz\n",
         body=b"--zz\nContent-Type: message/rfc822\n\nSubject: in\n\n" + b"y" * 5000 + b"\n--zz--\n")
    expect(settled(), "the queue is empty afterwards", queue_files())
    got = sorted(os.listdir(os.path.join(box("uma"), "new")))
    expect(len(got) == 2, "the sender got a notification for it", got)
    raws = [open(os.path.join(box("uma"), "new", f), "rb").read() for f in got]
    raw = [r for r in raws if b"long@remote.test" in r]
    expect(len(raw) == 1 and b"\nStatus: 5.6.3\n" in raw[0] and b"Diagnostic-Code: x-ferry; 5.6.3 the message has lines longer than 998 octets" in raw[0]
           and b"cannot be converted" in raw[0], "Status: 5.6.3, the reason in Diagnostic-Code", raw and raw[0][:1500])
    expect(len(peer.handler.messages) == n0, "the peer was sent nothing")

    # 2d. a message that asks for REQUIRETLS (XREQUIRETLS), its peer reached without TLS: the
    #     queue manager passes the request on, the remote channel refuses, the sender is told 5.7.30
    send("judy@example.org", ["secure@remote.test"], "to-requiretls", mext=b"XREQUIRETLS\0")
    expect(settled(), "the queue is empty afterwards", queue_files())
    got = sorted(os.listdir(os.path.join(box("judy"), "new")))
    raw = open(os.path.join(box("judy"), "new", got[0]), "rb").read() if len(got) == 1 else fail("judy got %d notifications" % len(got))
    expect(b"\nStatus: 5.7.30\n" in raw and b"Diagnostic-Code: x-ferry; 5.7.30 no host of remote.test took the message; last: host " in raw
           and b"REQUIRETLS support required: the connection is not over TLS" in raw, "REQUIRETLS without TLS: Status: 5.7.30, the reason in Diagnostic-Code", raw[:1500])
    expect(len(peer.handler.messages) == n0 and not any("secure@remote.test" in str(x) for x in peer.handler.messages), "the peer was sent nothing")

    # 3. an expiry: deferred (connection refused), then queued longer than queuelifetime
    control(queuelifetime=2, minbackoff=1, maxbackoff=1)
    send("carol@example.org", ["x@dead.test"], "expiring")
    expect(eventually(lambda: "expired msg" in log(), 30), "the message expires", log()[-500:])
    expect(settled(), "the queue is empty afterwards", queue_files())
    got = inbox("carol")
    expect(len(got) == 1, "the sender got exactly one notification", len(got))
    parts = report_parts(got[0])
    permsg, rcpts = dsn_fields(parts[1])
    r = rcpts[0]
    expect(r["Action"] == "failed" and r["Status"] == "4.4.7", "Action: failed, Status: 4.4.7 (delivery time expired)", (r["Action"], r["Status"]))
    expect("queuelifetime" in r["Diagnostic-Code"] and "last error" in r["Diagnostic-Code"], "the diagnostic says it expired and gives the last error", r["Diagnostic-Code"])
    control(queuelifetime=604800, minbackoff=300, maxbackoff=4000)

    # 4. a bounce of a bounce goes to the postmaster once; a failure of that is dropped
    send("", ["nobody3@example.org"], "bounce-of-bounce")
    expect(settled(), "the queue is empty afterwards", queue_files())
    got = inbox("postmaster")
    expect(len(got) == 1, "control/doublebounceto got exactly one double bounce", len(got))
    expect(got[0]["Return-Path"] == "<>" and got[0]["Subject"].startswith("Postmaster copy"), "with the null sender and a Postmaster copy subject",
           (got[0]["Return-Path"], got[0]["Subject"]))
    permsg, rcpts = dsn_fields(report_parts(got[0])[1])
    expect(rcpts[0]["Final-Recipient"] == "rfc822; nobody3@example.org" and rcpts[0]["Action"] == "failed", "it reports the failed recipient")
    control(doublebounceto="nobody-pm@example.org")
    send("", ["nobody4@example.org"], "bounce-of-bounce-2")
    expect(eventually(lambda: "a failure of a double bounce" in log(), 30), "the double bounce to a failing postmaster address fails, and that is logged", log()[-800:])
    expect(settled(), "the queue is empty afterwards: dropped, no loop", queue_files())
    expect(len(inbox("postmaster")) == 1, "nothing more reaches the old postmaster box")
    # no wait: a notice is queued before the message it reports on leaves the queue (its bounce
    # record stays until then), so with the queue empty nothing more can fail or be logged
    expect(log().count("a failure of a double bounce") == 1, "logged once: no loop")
    control(doublebounceto="postmaster@example.org")

    # 5. RET=HDRS: only the header comes back
    send("dave@example.org", ["nobody@example.org"], "ret-hdrs", body=b"secret body\n", mext=b"XRET=HDRS\0")
    expect(settled(), "the queue is empty afterwards", queue_files())
    got = inbox("dave")
    parts = report_parts(got[0]) if len(got) == 1 else fail("dave got %d notifications" % len(got))
    expect(parts[2].get_content_type() == "text/rfc822-headers", "RET=HDRS: the third part is text/rfc822-headers", parts[2].get_content_type())
    expect("Subject: ret-hdrs" in parts[2].get_payload() and b"secret body" not in got[0].as_bytes(), "it has the header and not the body")

    # 6. NOTIFY=NEVER: no notice at all
    send("erin@example.org", ["nobody@example.org"], "notify-never", rext={0: b"XNOTIFY=NEVER\0"})
    expect(settled(), "the queue is empty afterwards", queue_files())
    expect(eventually(lambda: "it asked for NOTIFY=NEVER" in log(), 5), "logged: no notice, NOTIFY=NEVER")
    # no wait: a notice would have been queued before the message left, and delivered before the
    # queue was empty
    expect(len(inbox("erin")) == 0, "NOTIFY=NEVER: the sender got nothing")

    # 7. NOTIFY=SUCCESS: a report of the deliveries, delivered locally and relayed remotely
    send("frank@example.org", ["good2@example.org", "ok@remote.test", "quiet@example.org"], "notify-success",
         rext={0: b"XNOTIFY=SUCCESS,FAILURE\0", 1: b"XNOTIFY=SUCCESS\0"})
    expect(settled(), "the queue is empty afterwards", queue_files())
    got = inbox("frank")
    expect(len(got) == 1 and got[0]["Subject"] == "Successful Mail Delivery Report", "the sender got one success report",
           [g["Subject"] for g in got])
    parts = report_parts(got[0])
    permsg, rcpts = dsn_fields(parts[1])
    acts = {r["Final-Recipient"]: (r["Action"], r["Status"]) for r in rcpts}
    expect(acts == {"rfc822; good2@example.org": ("delivered", "2.0.0"), "rfc822; ok@remote.test": ("relayed", "2.0.0")},
           "Action: delivered (local) and relayed (remote), Status 2.0.0; not the recipient that did not ask", acts)
    expect(parts[2].get_content_type() == "text/rfc822-headers", "a success report returns the header only")

    # 8. a message larger than control/bouncemaxbytes comes back as its header
    control(bouncemaxbytes=1000)
    send("hank@example.org", ["nobody@example.org"], "large", body=b"x" * 70 + b"\n" * 1 + (b"y" * 99 + b"\n") * 50)
    expect(settled(), "the queue is empty afterwards", queue_files())
    got = inbox("hank")
    parts = report_parts(got[0]) if len(got) == 1 else fail("hank got %d notifications" % len(got))
    expect(parts[2].get_content_type() == "text/rfc822-headers" and "yyyy" not in got[0].as_string(), "5 KB message, 1000-byte limit: the header only")
    expect("larger than control/bouncemaxbytes" in parts[0].get_payload(), "and the text says why")
    control(bouncemaxbytes=50000)

    # 9. the delay warning: once, Action: delayed, while the message stays queued
    control(delaywarning=1, minbackoff=1, maxbackoff=2)
    send("gina@example.org", ["slow@dead.test"], "delayed")
    expect(eventually(lambda: len(inbox("gina")) == 1, 30), "a delay warning reaches the sender", log()[-800:])
    mark = len(log())
    expect(eventually(lambda: log()[mark:].count(" to slow@dead.test: next attempt in ") >= 3, 30),
           "three more attempts fail after it", log()[mark:][-800:])
    # a second warning would have been made by now: queued (a second message), being made (the
    # .delay mark not empty), or delivered
    expect(len(queue_files(("mess",))) == 1, "no other message queued", queue_files())
    got = inbox("gina")
    expect(len(got) == 1, "exactly one warning, after three more deferrals", len(got))
    expect(got[0]["Subject"] == "Delayed Mail (still being retried)", "Subject: Delayed Mail", got[0]["Subject"])
    parts = report_parts(got[0])
    permsg, rcpts = dsn_fields(parts[1])
    r = rcpts[0]
    expect(r["Action"] == "delayed" and r["Status"].startswith("4."), "Action: delayed, a 4.x.x Status", (r["Action"], r["Status"]))
    check_date(r["Will-Retry-Until"], "Will-Retry-Until")
    expect(parts[2].get_content_type() == "text/rfc822-headers", "a delay warning returns the header only")
    expect(queue_files(("remote",)), "the message is still queued")
    delayed_id = int(os.path.basename(queue_files(("remote",))[0]))
    dfile = os.path.join(H, "queue", "bounce", "%d.delay" % delayed_id)
    expect(os.path.exists(dfile) and os.path.getsize(dfile) == 0, "queue/bounce/ID.delay is left empty: the mark that it was sent")
    control(queuelifetime=1)
    expect(eventually(lambda: len(inbox("gina")) == 2, 30), "when it expires, the failure notice follows", log()[-500:])
    expect(settled(), "then the queue is empty, the .delay mark included", queue_files())

    # 9b. queuelifetime makes a temporary failure permanent; it expires no recipient never tried.
    #     A message queued while the set is down, older than the lifetime when the set starts, is
    #     delivered (it was once expired unseen, and so was a notice injected late in a second)
    svc("-d")
    expect(eventually(lambda: log().rstrip().endswith("ferry-schedule: stopped"), 20), "the set stops", log()[-300:])
    send("olga@example.org", ["gina@example.org"], "late")
    time.sleep(2.2)     # time itself: the message must be older than queuelifetime when the set starts
    svc("-u")
    expect(eventually(lambda: len(inbox("gina")) == 3, 30), "queued 2 s before the start, lifetime 1 s, never tried: delivered", log()[-500:])
    after = log().split("ferry-schedule: starting")[-1]
    expect("expired msg" not in after and settled(), "nothing expired, the queue is empty", after[-500:])
    control(delaywarning=14400, queuelifetime=604800, minbackoff=300, maxbackoff=4000)

    # 10. a notification that cannot be queued (ferry-inject refuses it: databytes too small) is kept
    #     and tried again; ferry-bounce-build -n shows it by hand meanwhile
    control(databytes=200, minbackoff=1, maxbackoff=1)
    send("ivan@example.org", ["nobody@example.org"], "kept")
    expect(eventually(lambda: re.search(r"ferry-bounce-build exited 111: trying again", log()), 30), "ferry-inject refuses the notice: the run fails, and is retried", log()[-800:])
    bounces = [f for f in queue_files(("bounce",))]
    expect(len(bounces) == 1 and queue_files(("mess",)), "the bounce record and the message are kept", queue_files())
    bid = os.path.basename(bounces[0])
    r = subprocess.run([os.path.join(BIN, "ferry-bounce-build"), "-n", bid, H], capture_output=True)
    expect(r.returncode == 0 and b"would be injected, from <> to <ivan@example.org>" in r.stdout and b"Final-Recipient: rfc822; nobody@example.org" in r.stdout,
           "ferry-bounce-build -n by hand prints the notice and exits 0", r.stdout[:300] + r.stderr)
    expect(os.path.exists(bounces[0]), "-n leaves the record alone")
    control(databytes=10240000)
    expect(eventually(lambda: len(inbox("ivan")) == 1, 30), "once it can be queued, the sender gets it", log()[-800:])
    expect(settled(), "the queue is empty afterwards", queue_files())
    control(minbackoff=300, maxbackoff=4000)

    # 11. SIGKILL of the whole set while 30 notices are being made: every sender gets one
    #     (two only if a kill fell between a commit and its record's removal), none is lost
    rnd = random.Random(int(os.environ.get("FERRY_SEED", time.time())))
    for i in range(30):
        send("k%d@example.org" % i, ["nobody@example.org"], "kill-%d" % i)
        if i % 10 == 5:
            time.sleep(rnd.random() * 0.2)
            top = subprocess.run(["s6-svstat", "-p", os.path.join(H, "service", "ferry")], capture_output=True, text=True).stdout.strip()
            if top and int(top) > 0:
                pids = [int(top)] + [int(x) for x in subprocess.run(["pgrep", "-P", top], capture_output=True, text=True).stdout.split()]
                for p in pids:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
    # a kill between the removal of a finished message's files and ferry-clean's removal of its
    # message file leaves that file alone, referred to by nothing: the documented window
    # (doc/ferry-schedule.html), swept by ferry-clean after 36 hours
    others = ("todo", "local", "remote", "pid", "bounce")
    expect(eventually(lambda: not queue_files(others), 120), "after 3 kills of the set, every message is finished", queue_files())
    counts = [len(inbox("k%d" % i)) for i in range(30)]
    # each left one is a kill-N message or its notice, and k<N> has the notice
    home.left_for_sweep(3, lambda data: bool(re.search(rb"\bk([0-9]+)@example\.org", data))
                        and counts[int(re.search(rb"\bk([0-9]+)@example\.org", data).group(1))] >= 1)
    expect(all(c >= 1 for c in counts), "all 30 senders got their notice: none lost", counts)
    # a kill can catch each of the 4 runs at once between its commit and its record's removal (a
    # killed run's ferry-inject may still commit): that many extras per kill at most
    expect(sum(counts) <= 30 + 4 * 3, "at most 4 extras per kill, the runs at once (%d in all)" % sum(counts), counts)
finally:
    stop_all(stops)
    home.cleanup()
