"""ferry-sendmail under the real set, as cron and scripts call it: -t with To:/Cc:/Bcc: delivers to
each and removes Bcc: from the delivered copy; a body with no header at all gets From:, Date: and
Message-ID:; the sender without -f (the caller's login name, from /etc/passwd or getent); -f, -F, -N, -bp, mailq; the sysexits codes for no recipients, a refused message and a
bad option."""

import email
import json
import email.policy
import email.utils
import os
import pwd
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import stop_all, BIN, Home, Supervised, eventually, expect, fail, s6_log  # noqa: E402
from smtp_peers import ScriptedPeer, free_port  # noqa: E402

home = Home()
H = home.path
stops = []
USERS = ["to1", "to2", "cc1", "bcc1", "bcc2", "root", "arg1", "big", "alice", "bob", "carol", "dave", "erin"]


def log():
    return s6_log(os.path.join(H, "log"))


def box(u):
    return home.maildir(u)


def inbox(u):
    d = os.path.join(box(u), "new")
    return [email.message_from_bytes(open(os.path.join(d, f), "rb").read(), policy=email.policy.compat32) for f in sorted(os.listdir(d))]


def sendmail(args, stdin, name="ferry-sendmail"):
    env = dict(os.environ, FERRY_HOME=H)
    exe = os.path.join(BIN, "ferry-sendmail")
    return subprocess.run([name] + args, executable=exe, input=stdin, capture_output=True, env=env)


def queue_empty():
    for d in ("todo", "intd", "local", "remote", "mess", "bounce"):
        for _, _, files in os.walk(os.path.join(H, "queue", d)):
            if files:
                return False
    return True


try:
    home.maildirs(USERS, ["example.org", "host.example.org"])
    home.control("me", "host.example.org\n")
    svscan = Supervised(H)
    stops.append(svscan.stop)
    expect(eventually(lambda: "ferry-schedule: starting" in log(), 20), "the set starts under s6-svscan", log()[-500:])

    # the cron case: -t, recipients from To:, Cc:, Bcc: (two lines, a group, a display name)
    msg = (b"To: First <to1@example.org>, to2@example.org\n"
           b"Cc: \"Carl, C.\" <cc1@example.org>\n"
           b"Bcc: bcc1@example.org,\n  bcc2@example.org\n"
           b"Subject: nightly report\n\nall is well\n")
    r = sendmail(["-t", "-oi"], msg)
    expect(r.returncode == 0, "echo ... | ferry-sendmail -t -oi exits 0", r.stderr)
    expect(eventually(lambda: all(len(inbox(u)) == 1 for u in ("to1", "to2", "cc1", "bcc1", "bcc2")) and queue_empty(), 20),
           "To:, Cc: and both Bcc: recipients (a folded Bcc: line) each got it once", [len(inbox(u)) for u in ("to1", "to2", "cc1", "bcc1", "bcc2")])
    for u in ("to1", "bcc2"):
        m = inbox(u)[0]
        others = [b for b in (b"bcc1@", b"bcc2@") if not b.startswith(u.encode())]
        expect(m["Bcc"] is None and not any(b in m.as_bytes() for b in others), "%s's copy has no Bcc: and names no other Bcc: recipient" % u)
        expect(m["Subject"] == "nightly report" and m.get_payload() == "all is well\n", "%s's copy: subject and body intact" % u)
    m = inbox("to1")[0]
    expect(m["Date"] and email.utils.parsedate_to_datetime(m["Date"]) and m["Message-ID"].endswith("@host.example.org>"),
           "Date: and Message-ID: added", (m["Date"], m["Message-ID"]))
    me = pwd.getpwuid(os.getuid()).pw_name
    expect(m["Return-Path"] == "<%s@host.example.org>" % me, "without -f, the sender is the caller's login name (%s) at control/me" % me, m["Return-Path"])

    # header addresses without a domain get control/me's, as the envelope's do; display names,
    # comments, groups, quoted strings, folding and qualified addresses are kept byte for byte
    msg = (b"From: root\n"
           b"To: alice, \"Bob B\" <bob>, carol@example.org\n"
           b"Cc: team: dave (Dave, D.),\n  erin@example.org;\n"
           b"Reply-To: <root>\n"
           b"X-Not-An-Address: root\n"
           b"Subject: qualified\n\nbody\n")
    r = sendmail(["-t", "-oi"], msg)
    expect(r.returncode == 0 and eventually(lambda: all(len(inbox(u)) == 1 for u in ("alice", "bob", "carol", "dave", "erin")) and queue_empty(), 20),
           "-t with bare local parts in To: and Cc:: delivered to each, once, at control/me", r.stderr)
    raw = open(os.path.join(box("alice"), "new", os.listdir(os.path.join(box("alice"), "new"))[0]), "rb").read()
    head = raw.split(b"\n\n", 1)[0] + b"\n"
    want = (b"From: root@host.example.org\n"
            b"To: alice@host.example.org, \"Bob B\" <bob@host.example.org>, carol@example.org\n"
            b"Cc: team: dave@host.example.org (Dave, D.),\n  erin@example.org;\n"
            b"Reply-To: <root@host.example.org>\n"
            b"X-Not-An-Address: root\n"
            b"Subject: qualified\n")
    expect(want in head, "From:, To:, Cc:, Reply-To: qualified in the delivered copy, everything else byte for byte", head)

    # a caller whose uid is not in /etc/passwd (an LDAP or sssd account): the name comes from
    # getent passwd UID (here a stand-in on PATH, as root only: another uid is needed)
    if os.getuid() == 0:
        uid = 54321
        while uid in [u.pw_uid for u in pwd.getpwall()]:
            uid += 1
        fake = os.path.join(home.tmp, "getent-bin")
        os.makedirs(fake)
        with open(os.path.join(fake, "getent"), "w") as f:
            f.write('#!/bin/sh\n[ "$1 $2" = "passwd %d" ] && [ -e "$0.knows" ] && echo "ldapuser:*:%d:%d:LDAP:/nonexistent:/bin/sh" && exit 0\nexit 2\n' % (uid, uid, uid))
        os.chmod(os.path.join(fake, "getent"), 0o755)
        open(os.path.join(fake, "getent.knows"), "w").close()
        os.chmod(home.tmp, 0o755)

        def as_uid(args, stdin):
            env = dict(os.environ, FERRY_HOME=H, PATH=fake + ":" + os.environ["PATH"])
            # the job in the caller's own process: a worker of ferry-sendmaild has the server's PATH
            return subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups", os.path.join(BIN, "ferry-sendmail-run")] + args,
                                  input=stdin, capture_output=True, env=env)
        r = as_uid(["to2"], b"Subject: from ldap\n\nx\n")
        expect(r.returncode == 0, "uid %d, not in /etc/passwd, known to getent: ferry-sendmail exits 0" % uid, r.stderr)
        expect(eventually(lambda: any(m["Subject"] == "from ldap" for m in inbox("to2")), 20), "delivered")
        m = [m for m in inbox("to2") if m["Subject"] == "from ldap"][0]
        expect(m["Return-Path"] == "<ldapuser@host.example.org>", "the sender is getent's name for the uid", m["Return-Path"])
        os.unlink(os.path.join(fake, "getent.knows"))
        n = len(inbox("to2"))
        r = as_uid(["to2"], b"Subject: nobody knows\n\nx\n")
        expect(r.returncode == 75 and b"uid %d is not in /etc/passwd and getent passwd does not know it (use -f)" % uid in r.stderr,
               "a uid that nothing knows: exit 75 (temporary), and why", (r.returncode, r.stderr))
        r = as_uid(["-f", "someone@example.org", "to2"], b"Subject: with -f\n\nx\n")
        expect(r.returncode == 0 and eventually(lambda: len(inbox("to2")) == n + 1 and queue_empty(), 20),
               "the same uid with -f: queued and delivered, and the message without a sender was not queued", r.stderr)
    else:
        print("note: not root: a caller that is not in /etc/passwd is not tried")

    # a bare body, recipients as arguments, -f and -F; a line with a single dot ends it (no -i)
    r = sendmail(["-f", "root", "-F", "Cron Daemon <x>", "arg1"], b"disk 91% full\n.\nnot this\n")
    expect(r.returncode == 0, "ferry-sendmail -f root -F ... arg1 exits 0", r.stderr)
    expect(eventually(lambda: len(inbox("arg1")) == 1, 20), "an unqualified recipient is at control/me: delivered")
    m = inbox("arg1")[0]
    expect(m["From"] == "\"Cron Daemon <x>\" <root@host.example.org>", "From: built from -F (quoted) and -f (qualified)", m["From"])
    expect(m["Return-Path"] == "<root@host.example.org>", "the envelope sender is -f's, qualified", m["Return-Path"])
    expect(m.get_payload() == "disk 91% full\n", "without -i, the lone dot ended the message", m.get_payload())

    # with -i the dot is just a line
    r = sendmail(["-i", "-f", "root", "arg1"], b"Subject: dots\n\n.\nstill here\n")
    expect(r.returncode == 0 and eventually(lambda: len(inbox("arg1")) == 2, 20), "with -i: delivered")
    expect([m for m in inbox("arg1") if m["Subject"] == "dots"][0].get_payload() == ".\nstill here\n", "with -i, a lone dot is kept")

    # -N and -bp / mailq while a message is held
    subprocess.run(["s6-svc", "-d", os.path.join(H, "service", "ferry")], check=True)
    expect(eventually(lambda: "ferry-schedule: stopped" in log(), 20), "the set stops")
    r = sendmail(["-N", "never", "-f", "x@example.org", "to1@example.org"], b"Subject: listed\n\nx\n")
    expect(r.returncode == 0, "-N never accepted", r.stderr)
    r = sendmail(["-bp"], b"")
    expect(r.returncode == 0 and b"<x@example.org>" in r.stdout and b"to1@example.org" in r.stdout, "-bp lists the queue", r.stdout + r.stderr)
    r = sendmail([], b"", name="mailq")
    expect(r.returncode == 0 and b"to1@example.org" in r.stdout, "called as mailq, it lists the queue", r.stdout + r.stderr)
    info = [os.path.join(root, f) for root, _, files in os.walk(os.path.join(H, "queue", "todo")) for f in files]
    expect(len(info) == 1 and b"XNOTIFY=never\0" in open(info[0], "rb").read(), "-N becomes the recipient's NOTIFY in the envelope")
    subprocess.run(["s6-svc", "-u", os.path.join(H, "service", "ferry")], check=True)
    expect(eventually(lambda: len(inbox("to1")) == 2 and queue_empty(), 20), "and it goes when the set is back")

    # exit codes
    r = sendmail(["-t"], b"Subject: nobody\n\nx\n")
    expect(r.returncode == 65 and b"no recipients" in r.stderr, "no recipient: EX_DATAERR (65) and why", (r.returncode, r.stderr))
    # a null byte inside a To: address cut it short: "big\0x@example.org" became the recipient
    # "big", qualified to big@host.example.org, a local user who was never named. Now the message
    # is refused whole, and a control byte in an address the same.
    before = len(inbox("to2"))
    r = sendmail(["-t"], b"To: to2@example.org, big\0x@example.org\nSubject: nul\n\nx\n")
    expect(r.returncode == 65 and b"null byte or a control character" in r.stderr, "-t with a null byte in an address: EX_DATAERR (65) and why", (r.returncode, r.stderr))
    r = sendmail(["-t"], b"Cc: to2@example.org, \"a\x01b\"@example.org\nSubject: ctl\n\nx\n")
    expect(r.returncode == 65, "-t with a control byte in an address: EX_DATAERR (65)", (r.returncode, r.stderr))
    r = sendmail(["-t"], b"To: to2@example.org\nSubject: after\n\nx\n")
    expect(r.returncode == 0 and eventually(lambda: len(inbox("to2")) == before + 1 and queue_empty(), 20), "the next message goes")
    expect(len(inbox("to2")) == before + 1 and len(inbox("big")) == 0, "nothing of the refused two was queued, for anyone", [m["Subject"] for m in inbox("to2")])
    home.control("databytes", "100\n")
    r = sendmail(["big"], b"Subject: big\n\n" + b"x" * 500 + b"\n")
    expect(r.returncode == 69 and b"larger than control/databytes" in r.stderr, "too large: EX_UNAVAILABLE (69) and why", (r.returncode, r.stderr))
    home.control("databytes", "10240000\n")
    r = sendmail(["-Q", "x"], b"")
    expect(r.returncode == 64 and b"unknown option" in r.stderr, "an unknown option: EX_USAGE (64)", (r.returncode, r.stderr))
    r = sendmail(["-bs"], b"")
    expect(r.returncode == 64 and b"not supported" in r.stderr, "-bs (SMTP on stdin) is refused clearly", (r.returncode, r.stderr))
    expect(len(inbox("big")) == 0, "nothing was queued for the refused message")
    bare = os.path.join(home.tmp, "nobin")
    os.makedirs(os.path.join(bare, "control"))
    open(os.path.join(bare, "control", "me"), "w").write("x.example\n")
    r = subprocess.run([os.path.join(BIN, "ferry-sendmail"), "a@b.example"], input=b"x\n", capture_output=True, env=dict(os.environ, FERRY_HOME=bare))
    expect(r.returncode == 71 and b"unable to run %s/bin/ferry-sendmail-run" % bare.encode() in r.stderr,
           "a home without bin/ (no server there): EX_OSERR (71) and why", (r.returncode, r.stderr))
    os.makedirs(os.path.join(bare, "bin"))
    os.symlink(os.path.join(BIN, "ferry-sendmail-run"), os.path.join(bare, "bin", "ferry-sendmail-run"))
    r = subprocess.run([os.path.join(BIN, "ferry-sendmail"), "a@b.example"], input=b"x\n", capture_output=True, env=dict(os.environ, FERRY_HOME=bare))
    expect(r.returncode == 71 and b"could not be run" in r.stderr, "a home without bin/ferry-inject: EX_OSERR (71) and why", (r.returncode, r.stderr))

    # -q flushes the queue: a message deferred for an hour (its peer was down) goes as soon as
    # the peer is up and -q is run; -q reads nothing (stdin is a pipe nobody closes)
    def flush(args=("-q",), uid=None):
        rd, wr = os.pipe()
        cmd = [os.path.join(BIN, "ferry-sendmail")] + list(args)
        if uid is not None:
            cmd = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups"] + cmd
        try:
            return subprocess.run(cmd, stdin=rd, capture_output=True, env=dict(os.environ, FERRY_HOME=H), timeout=10)
        except subprocess.TimeoutExpired:
            fail("ferry-sendmail %s did not return within 10 seconds (it read its stdin?)" % " ".join(args))
        finally:
            os.close(rd)
            os.close(wr)
    home.control("minbackoff", "3600\n")
    home.control("maxbackoff", "7200\n")
    peerport = free_port()
    home.control("smtproutes", "later.test:127.0.0.1:%d\n" % peerport)
    hups = log().count("SIGHUP: settings read again")
    subprocess.run(["s6-svc", "-h", os.path.join(H, "service", "ferry")], check=True)
    expect(eventually(lambda: log().count("SIGHUP: settings read again") > hups, 20), "the set rereads its settings")
    r = sendmail(["-f", "x@example.org", "someone@later.test"], b"Subject: flushed\n\nx\n")
    expect(r.returncode == 0 and eventually(lambda: "deferral msg" in log() and "someone@later.test" in log(), 20),
           "a message to a peer that is down is deferred", (r.stderr, log()[-400:]))
    peer = ScriptedPeer(port=peerport)
    stops.insert(0, peer.stop)
    for args in (["-q"], ["-qf"], ["-q1h"], ["-qRlater.test"]):
        r = flush(args)
        expect(r.returncode == 0 and not r.stdout and not r.stderr,
               "ferry-sendmail %s returns at once, stdin a pipe left open, exits 0 and says nothing (cron mails output)" % args[0], (r.returncode, r.stderr))
        if args == ["-q"]:
            expect(eventually(lambda: len(peer.handler.messages) == 1, 20), "the deferred message is retried at once and delivered", log()[-600:])
            expect(eventually(queue_empty, 20), "and leaves the queue")
    if os.getuid() == 0:
        r = flush(uid=65534)
        expect(r.returncode == 77 and b"permission denied" in r.stderr, "-q by a user who may not signal the set: EX_NOPERM (77) and why", (r.returncode, r.stderr))
    r = flush(["-q", "someone"])
    expect(r.returncode == 64, "-q with recipients: EX_USAGE (64)", (r.returncode, r.stderr))

    # 6,000 recipients: an envelope far larger than a pipe's buffer goes through
    subprocess.run(["s6-svc", "-d", os.path.join(H, "service", "ferry")], check=True)
    r = subprocess.run([os.path.join(BIN, "ferry-sendmail"), "-f", "x@example.org"] + ["r%d@far.example" % i for i in range(6000)],
                       input=b"Subject: many\n\nx\n", capture_output=True, env=dict(os.environ, FERRY_HOME=H), timeout=60)
    js = subprocess.run([os.path.join(BIN, "ferry-qread"), "-j", "-s", "x@example.org", H], capture_output=True, text=True).stdout.splitlines()
    expect(r.returncode == 0 and len(js) == 1 and len(json.loads(js[0])["recipients"]) == 6000, "6,000 recipients queued at once (no deadlock on a large envelope)", (r.returncode, r.stderr[:200]))
    r = flush()
    expect(r.returncode == 69 and b"the set is not running" in r.stderr, "-q while the set is down: EX_UNAVAILABLE (69) and why", (r.returncode, r.stderr))
finally:
    stop_all(stops)
    home.cleanup()
