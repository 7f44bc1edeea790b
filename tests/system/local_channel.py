"""The local channel through its protocol: ferry-spawn-local with real messages from ferry-inject,
results read back with independent readers (Python's mailbox module)."""

import mailbox
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Home, Spawner, eventually, expect, fail, is_root, netstring, ok, test_user  # noqa: E402

home = Home()
try:
    H = home.path
    mail = os.path.join(home.tmp, "mail")
    os.mkdir(mail)
    uid = os.getuid()
    if is_root():
        u = test_user()
        uid = u.pw_uid
        home.control("mailboxowner", "ferrytest\n")
    for box in ("alice", "dave"):
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(mail, box, "Maildir", sub))
    prog_out = os.path.join(mail, "prog")
    os.mkdir(prog_out)
    concurrency_log = os.path.join(mail, "concurrency")
    home.control("virtualdomains", "example.org\n")
    home.control("mailboxes", "\n".join([
        "# the test table",
        "alice@example.org: %s/alice/Maildir/" % mail,
        "bob@example.org: %s/bob.mbox" % mail,
        "exit0@example.org: |cat > %s/exit0" % prog_out,
        "exit99@example.org: |exit 99",
        "exit99@example.org: |touch %s/after99" % prog_out,
        "exit100@example.org: |echo no such mailbox, sorry; exit 100",
        "exit111@example.org: |echo try later; exit 111",
        "exit1@example.org: |exit 1",
        "killed@example.org: |kill -9 $$",
        "env@example.org: |printf '%s|%s|%s|%s|%s' \"$SENDER\" \"$RECIPIENT\" \"$LOCAL\" \"$HOST\" \"$EXT\" > " + prog_out + "/env",
        "slow@example.org: |echo s >> %s; sleep 1; echo e >> %s" % (concurrency_log, concurrency_log),
        "sleepy@example.org: |sleep 2",
        "fwd@example.org: &carol@example.net",
        "fwd@example.org: &dan@example.net",
        "loop@example.org: &loop@example.org",
        "both@example.org: %s/dave/Maildir/" % mail,
        "both@example.org: %s/both.mbox" % mail,
        ""]))
    r = subprocess.run([os.path.join(BIN, "ferry-mailboxes"), H], capture_output=True, text=True)
    expect(r.returncode == 0, "ferry-mailboxes compiles the table", r.stderr)
    if is_root():
        subprocess.run(["chown", "-R", "ferrytest", mail, os.path.join(H, "queue")], check=True)

    msg = b"From: sender@example.com\nSubject: test one\n\nFrom the start of a line\n>From quoted\nlast line\n"
    mid = home.inject(msg, "sender@example.com", ["alice@example.org"])
    stored = home.mess(mid)

    sp = Spawner(home, "ferry-spawn-local")

    # Maildir: the exact bytes, read back by Python's mailbox.Maildir
    sp.deliver(1, mid, "sender@example.com", ["alice@example.org"])
    (st, text), = sp.wait(1)
    expect(st == "K" and "Maildir" in text, "Maildir delivery answers K", (st, text))
    md = mailbox.Maildir(os.path.join(mail, "alice", "Maildir"), factory=None, create=False)
    keys = md.keys()
    expect(len(keys) == 1, "one message in alice's Maildir/new")
    raw = open(os.path.join(mail, "alice", "Maildir", "new", keys[0]), "rb").read()
    want_alice = b"Return-Path: <sender@example.com>\nDelivered-To: alice@example.org\n" + stored
    expect(raw == want_alice, "Maildir file is Return-Path, Delivered-To, then the queued message byte for byte")
    expect(md[keys[0]]["Subject"] == "test one", "mailbox.Maildir parses it")
    expect(os.listdir(os.path.join(mail, "alice", "Maildir", "tmp")) == [], "nothing left in tmp/")
    st_ = os.stat(os.path.join(mail, "alice", "Maildir", "new", keys[0]))
    expect(st_.st_uid == uid, "the Maildir file belongs to the mailbox owner (uid %d)" % uid, st_.st_uid)

    # an extension falls back to the address without it; a catch-all is not needed for that
    sp.deliver(2, mid, "sender@example.com", ["alice-news@example.org"])
    (st, text), = sp.wait(2)
    expect(st == "K" and len(os.listdir(os.path.join(mail, "alice", "Maildir", "new"))) == 2, "alice-news@ falls back to alice@", text)

    # 20 concurrent deliveries to one mbox: all intact and separated
    ids = []
    for i in range(20):
        body = b"".join(b"From line %d.%d of message %d\n" % (i, k, i) for k in range(50))
        ids.append(home.inject(b"Subject: mbox %d\n\n" % i + body + b"end of %d" % i, "s%d@example.com" % i, ["bob@example.org"]))
    for i, m in enumerate(ids):
        sp.deliver(100 + i, m, "s%d@example.com" % i, ["bob@example.org"])
    res = sp.wait(range(100, 120))
    expect(all(r[0][0] == "K" for r in res), "20 concurrent mbox deliveries answer K", res)
    box = mailbox.mbox(os.path.join(mail, "bob.mbox"), create=False)
    msgs = list(box)
    expect(len(msgs) == 20, "mailbox.mbox reads 20 messages", len(msgs))
    subjects = sorted(int(m["Subject"].split()[1]) for m in msgs)
    expect(subjects == list(range(20)), "each message once", subjects)
    for m in msgs:
        i = int(m["Subject"].split()[1])
        body = m.get_payload(decode=False)
        lines = body.split("\n")
        want = [">From line %d.%d of message %d" % (i, k, i) for k in range(50)] + ["end of %d" % i, ""]
        if lines != want:
            fail("message %d in the mbox is not intact: %r" % (i, lines[:3] + lines[-3:]))
        if m.get_from().split()[0] != "s%d@example.com" % i:
            fail("From_ line of message %d: %r" % (i, m.get_from()))
    ok("every mbox message intact: From_ line, mboxrd quoting, final newline added, blank line between")
    expect(not os.path.exists(os.path.join(mail, "bob.mbox.lock")), "no dotlock left")

    # program deliveries: each exit code maps right
    def one(num, rcpt, msgid=mid):
        sp.deliver(num, msgid, "sender@example.com", [rcpt])
        (s, t), = sp.wait(num)
        return s, t
    s, t = one(10, "exit0@example.org")
    expect(s == "K", "program exit 0: K", t)
    expect(open(os.path.join(prog_out, "exit0"), "rb").read() == want_alice.replace(b"alice@", b"exit0@", 1), "the program reads Return-Path, Delivered-To and the message on stdin")
    s, t = one(11, "exit99@example.org")
    expect(s == "K" and not os.path.exists(os.path.join(prog_out, "after99")), "program exit 99: K, and the next line is not run", t)
    s, t = one(12, "exit100@example.org")
    expect(s == "D" and "no such mailbox, sorry" in t, "program exit 100: D with its output", t)
    s, t = one(13, "exit111@example.org")
    expect(s == "Z" and "try later" in t, "program exit 111: Z with its output", t)
    s, t = one(14, "exit1@example.org")
    expect(s == "Z", "program exit 1: Z", t)
    s, t = one(15, "killed@example.org")
    expect(s == "Z" and "signal 9" in t, "program killed by a signal: Z", t)
    s, t = one(16, "env+x@example.org".replace("+", "-"))
    env = open(os.path.join(prog_out, "env")).read()
    expect(s == "K" and env == "sender@example.com|env-x@example.org|env-x|example.org|x", "program environment: SENDER RECIPIENT LOCAL HOST EXT", env)

    # two lines for one address: both delivered
    s, t = one(17, "both@example.org")
    expect(s == "K" and len(os.listdir(os.path.join(mail, "dave", "Maildir", "new"))) == 1 and os.path.exists(os.path.join(mail, "both.mbox")), "every line of an entry is delivered", t)

    # forward: a new message in the queue with the same sender and the forward recipients
    before = set(home.todo_ids())
    s, t = one(20, "fwd@example.org")
    new = set(home.todo_ids()) - before
    expect(s == "K" and len(new) == 1, "forward answers K and queues one new message", (s, t))
    fid = new.pop()
    env = home.todo(fid).split(b"\0")
    expect(b"Fsender@example.com" in env and b"Tcarol@example.net" in env and b"Tdan@example.net" in env, "the forward keeps the sender and has both recipients", env)
    fmess = home.mess(fid)
    expect(b"\nDelivered-To: fwd@example.org\n" + stored in fmess, "the forwarded message carries Delivered-To: fwd@example.org")

    # a loop: a forward back to itself comes back with Delivered-To and is refused
    s, t = one(21, "loop@example.org")
    expect(s == "K", "first pass of the looping forward", t)
    lid = home.newest_id()
    s, t = one(22, "loop@example.org", lid)
    expect(s == "D" and "mail loop" in t, "the second pass is refused as a mail loop", t)

    # unknown address and a foreign domain: permanent failures with a clear text
    s, t = one(23, "nobody-here@example.org")
    expect(s == "D" and "no mailbox" in t, "unknown address: D", t)
    s, t = one(24, "someone@elsewhere.net")
    expect(s == "D" and "not a local domain" in t, "foreign domain: D", t)

    # completion order: a slow program does not hold back a fast Maildir delivery sent after it
    sp.deliver(30, mid, "sender@example.com", ["sleepy@example.org"])
    sp.deliver(31, mid, "sender@example.com", ["alice@example.org"])
    sp.wait([30, 31])
    expect(sp.order.index(31) < sp.order.index(30), "answers come in completion order, not request order")

    # malformed requests: a clear log line, a Z where a delivery number can be read, no harm
    sp.send(netstring(b"abc\x00\x00"))
    sp.send(netstring(b"40\x00notanid\x00"))
    sp.send(b"xyz,")
    sp.send(netstring(b"42\x00123\x00w1\x00b7\x00s\x00"))
    sp.send(netstring(b"43\x00123\x00w1\x00b7\x00s\x00\x00r@x\x00"))
    sp.send(netstring(b"44\x00123s"))
    sp.send(netstring(b"80\x00123\x00s\x00r@x\x00"))
    sp.send(netstring(b"81\x00123\x00w1\x00b9\x00s\x00r@x\x00"))
    a40, a42, a43, a44, a46, a47 = sp.wait([40, 42, 43, 44, 80, 81])
    expect(a40[0][0] == "Z" and "message id" in a40[0][1], "bad message id: Z", a40)
    expect(a42[0][0] == "Z" and "no recipient" in a42[0][1], "no recipient: Z", a42)
    expect(a43[0][0] == "Z" and "empty recipient" in a43[0][1], "empty recipient: Z", a43)
    expect(a44[0][0] == "Z" and "null byte" in a44[0][1], "payload without a final null byte: Z", a44)
    expect(a46[0][0] == "Z" and "wire size" in a46[0][1], "no body facts after the id: Z", a46)
    expect(a47[0][0] == "Z" and "b7 or b8" in a47[0][1], "a bad b field: Z", a47)
    s, t = one(45, "alice@example.org")
    expect(s == "K", "after malformed requests, a good one is delivered", t)
    log = sp.logtext()
    expect("malformed request" in log and "broken request frame" in log, "malformed requests are logged", log)

    # a Maildir on a full disk, through the channel: Z, and nothing in new/ or tmp/
    if is_root():
        full = os.path.join(home.tmp, "full")
        os.mkdir(full)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", full]).returncode == 0:
            try:
                for sub in ("tmp", "new", "cur"):
                    os.makedirs(os.path.join(full, "Maildir", sub))
                subprocess.run(["chown", "-R", "ferrytest", full], check=True)
                with open(os.path.join(H, "control", "mailboxes"), "a") as f:
                    f.write("full@example.org: %s/Maildir/\n" % full)
                subprocess.run([os.path.join(BIN, "ferry-mailboxes"), H], check=True, capture_output=True)
                bigid = home.inject(b"Subject: big\n\n" + b"y" * 300000 + b"\n", "sender@example.com", ["full@example.org"])
                s, t = one(48, "full@example.org", bigid)
                expect(s == "Z" and "disk full" in t, "a Maildir on a full disk: Z through the channel", t)
                expect(os.listdir(os.path.join(full, "Maildir", "new")) == [] and os.listdir(os.path.join(full, "Maildir", "tmp")) == [],
                       "nothing in new/ or tmp/ of the full Maildir")
            finally:
                subprocess.run(["umount", full])

    # a recompiled table is used from the next request on, without a restart or a signal
    s, t = one(46, "newcomer@example.org")
    expect(s == "D", "newcomer@ is not in the table yet", t)
    with open(os.path.join(H, "control", "mailboxes"), "a") as f:
        f.write("newcomer@example.org: %s/alice/Maildir/\n" % mail)
    subprocess.run([os.path.join(BIN, "ferry-mailboxes"), H], check=True, capture_output=True)
    s, t = one(47, "newcomer@example.org")
    expect(s == "K", "after ferry-mailboxes, the running channel delivers to newcomer@", t)

    # SIGHUP rereads the settings: another extension separator
    s, t = one(60, "alice+news@example.org")
    expect(s == "D", "alice+news@ is unknown while the separator is -", t)
    home.control("extseparator", "+\n")
    sp.p.send_signal(signal.SIGHUP)
    hupnums = iter(range(300, 400))
    expect(eventually(lambda: one(next(hupnums), "alice+news@example.org")[0] == "K", 10), "after SIGHUP, + separates the extension: alice+news@ is delivered")
    home.control("extseparator", "-\n")
    sp.p.send_signal(signal.SIGHUP)

    # a worker killed during a delivery: that delivery gets Z, the next one a fresh worker
    sp.deliver(70, mid, "sender@example.com", ["sleepy@example.org"])
    def sleeping_worker():
        """the worker of the spawner that has a child: the one running the program line"""
        for pid in subprocess.run(["pgrep", "-P", str(sp.p.pid)], capture_output=True, text=True).stdout.split():
            if subprocess.run(["pgrep", "-P", pid], capture_output=True).returncode == 0:
                return int(pid)
        return None
    expect(eventually(lambda: sleeping_worker() is not None, 10), "the slow delivery runs in a worker")
    os.kill(sleeping_worker(), signal.SIGKILL)
    (s, t), = sp.wait(70)
    expect(s == "Z" and "died" in t, "its delivery answers Z: the delivery process died", t)
    s, t = one(71, "alice@example.org")
    expect(s == "K", "the next delivery gets a fresh worker", t)
    expect("killed by signal 9" in sp.logtext(), "the death is logged")

    # end of input: running deliveries are finished and answered, then exit 0
    sp.deliver(50, mid, "sender@example.com", ["sleepy@example.org"])
    rc = sp.finish()
    expect(50 in sp.answers and sp.answers[50][0][0] == "K", "after end of input the running delivery is answered", sp.answers.get(50))
    expect(rc == 0, "ferry-spawn-local exits 0 at end of input", rc)

    # shared syncs (doc/ferry-spawn-local.html): 40 Maildir deliveries at once ask two syncs each,
    # made in fewer rounds than that; every message is there once
    before = len(os.listdir(os.path.join(mail, "alice", "Maildir", "new")))
    sp = Spawner(home, "ferry-spawn-local")
    for i in range(40):
        sp.deliver(100 + i, mid, "sender@example.com", ["alice@example.org"])
    sp.wait(range(100, 140), timeout=60)
    expect(all(sp.answers[100 + i][0][0] == "K" for i in range(40)), "40 concurrent Maildir deliveries answer K")
    sp.finish()
    m = list(re.finditer(r"stopped: (\d+) syncs asked by delivery workers, made in (\d+) rounds", sp.logtext()))
    m = m[-1] if m else None
    expect(m and int(m.group(1)) == 80 and 1 <= int(m.group(2)) < 80,
           "the exit line: 80 syncs asked (file and new/ for each), made in fewer rounds (%s)" % (m.group(2) if m else "?"), sp.logtext()[-300:])
    expect(len(os.listdir(os.path.join(mail, "alice", "Maildir", "new"))) == before + 40, "40 more messages in alice's new/")

    # the concurrency limit: 3 at once, never more, with slow program deliveries
    home.control("concurrencylocal", "3\n")
    sp = Spawner(home, "ferry-spawn-local")
    for i in range(9):
        sp.deliver(200 + i, mid, "sender@example.com", ["slow@example.org"])
    sp.wait(range(200, 209), timeout=60)
    running = peak = 0
    for line in open(concurrency_log).read().split():
        running += 1 if line == "s" else -1
        peak = max(peak, running)
    expect(peak == 3, "9 slow deliveries with concurrencylocal 3: at most 3 at once, and 3 reached", peak)
    sp.finish()
finally:
    home.cleanup()
print("%d checks passed" % __import__("ferrytest").checks)
