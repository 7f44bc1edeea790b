"""Local delivery in a root install, the set running on a home made with ferry-setup -u (the
dedicated users, queue/ closed to everyone else): a forward from a mailbox owned by an ordinary
user reaches its target through ferry-injectd's socket; a system user's delivery is logged with
the absolute path of the file; a virtual mailbox's missing Maildir (or mbox directory) is made,
as its owner; a directory the owner cannot make defers with a reason that names it."""

import os
import re
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Home, Supervised, eventually, expect, skip_unless_root, s6_log, test_user  # noqa: E402

skip_unless_root("the dedicated users of ferry-setup -u")

home = Home()
svscan = None
try:
    home.make_with_dedicated_users()
    H = home.path
    fthome = os.path.join(home.tmp, "fthome")
    os.mkdir(fthome)
    # a user of its own: usermod -d fails while another test's processes run as ferrytest
    u = test_user("ferryhuman", fthome, system=False)
    os.chown(fthome, u.pw_uid, u.pw_gid)
    mail = os.path.join(home.tmp, "mail")
    target = os.path.join(mail, "target", "Maildir")
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(target, sub))
        os.makedirs(os.path.join(fthome, "Maildir", sub))
    subprocess.run(["chown", "-R", "ferryhuman", mail, os.path.join(fthome, "Maildir")], check=True)
    locked = os.path.join(home.tmp, "locked")   # root's: the owner cannot make anything in it
    os.mkdir(locked, 0o755)
    fresh = os.path.join(mail, "fresh", "deeper", "Maildir")
    freshbox = os.path.join(mail, "boxes", "fresh.mbox")
    home.control("mailboxowner", "ferryhuman\n")
    home.control("virtualdomains", "example.org\n")
    home.control("locals", "example.com\n")
    home.control("mailboxes", "".join([
        "target@example.org: %s/\n" % target,
        "fwd@example.org: &target@example.org\n",
        "fresh@example.org: %s/\n" % fresh,
        "freshbox@example.org: %s\n" % freshbox,
        "nope@example.org: %s/sub/Maildir/\n" % locked]))
    subprocess.run([os.path.join(BIN, "ferry-mailboxes"), H], check=True, capture_output=True)
    expect(stat.S_IMODE(os.stat(os.path.join(H, "queue")).st_mode) == 0o750 and os.stat(os.path.join(H, "queue")).st_uid != u.pw_uid,
           "queue/ is closed to the mailbox owner (ferryq's, 0750)")

    svscan = Supervised(H)
    logdir = os.path.join(H, "log")
    log = lambda: s6_log(logdir)
    expect(eventually(lambda: "status:" in log() and "listening on" in s6_log(os.path.join(logdir, "injectd")), 20),
           "the set and ferry-injectd start", log()[-400:])

    # 1. a forward, run by a worker as ferryhuman: through public/inject to ferry-injectd
    home.inject(b"Subject: forward me\n\nbody\n", "s@example.net", ["fwd@example.org"], running=True)
    expect(eventually(lambda: len(os.listdir(os.path.join(target, "new"))) == 1, 20),
           "the forward from a mailbox owned by ferryhuman reaches the target Maildir", log()[-800:])
    got = open(os.path.join(target, "new", os.listdir(os.path.join(target, "new"))[0]), "rb").read()
    expect(b"Delivered-To: fwd@example.org\n" in got and b"Delivered-To: target@example.org\n" in got and got.endswith(b"\nbody\n"),
           "it carries both Delivered-To: lines and the body", got[:400])
    expect(re.search(r"to fwd@example\.org: success: delivered: forwarded to target@example\.org", log()),
           "the forward is logged as a success", log()[-800:])

    # 2. a system user's delivery (control/defaultdelivery ./Maildir/): the log names the absolute path
    home.inject(b"Subject: system user\n\nx\n", "s@example.net", ["ferryhuman@example.com"], running=True)
    expect(eventually(lambda: re.search(r"to ferryhuman@example\.com: success: ", log()), 20), "the system user's delivery is logged", log()[-800:])
    m = re.search(r"to ferryhuman@example\.com: success: delivered: Maildir (\S+)", log())
    expect(m and m.group(1).startswith("/") and os.path.isfile(m.group(1))
           and os.path.dirname(m.group(1)) == os.path.join(fthome, "Maildir", "new"),
           "its log line names the absolute path of the file delivered, which exists", m and m.group(0))

    # 3. virtual mailboxes whose Maildir or mbox directory does not exist yet
    home.inject(b"Subject: fresh\n\nx\n", "s@example.net", ["fresh@example.org", "freshbox@example.org"], running=True)
    expect(eventually(lambda: os.path.isdir(os.path.join(fresh, "new")) and len(os.listdir(os.path.join(fresh, "new"))) == 1
                      and os.path.exists(freshbox), 20),
           "a virtual mailbox's missing Maildir, and an mbox in a missing directory, are made and get the message", log()[-800:])
    made = [os.path.join(mail, "fresh"), os.path.join(mail, "fresh", "deeper"), fresh] + [os.path.join(fresh, s) for s in ("tmp", "new", "cur")] + [os.path.dirname(freshbox)]
    bad = [(p, os.stat(p).st_uid, oct(stat.S_IMODE(os.stat(p).st_mode))) for p in made
           if os.stat(p).st_uid != u.pw_uid or os.stat(p).st_gid != u.pw_gid or stat.S_IMODE(os.stat(p).st_mode) != 0o700]
    expect(not bad, "the directories made belong to the mailbox owner, mode 0700", bad)
    st = os.stat(freshbox)
    expect(st.st_uid == u.pw_uid and stat.S_IMODE(st.st_mode) == 0o600 and open(freshbox, "rb").read().startswith(b"From s@example.net "),
           "the mbox belongs to the owner, mode 0600, and holds the message", (st.st_uid, oct(st.st_mode)))
    expect(os.listdir(os.path.join(fresh, "tmp")) == [], "nothing left in the new Maildir's tmp/")

    home.inject(b"Subject: nope\n\nx\n", "s@example.net", ["nope@example.org"], running=True)
    want = "to nope@example.org: deferral: Maildir %s/sub/Maildir/: unable to create the directory %s/sub: Permission denied" % (locked, locked)
    expect(eventually(lambda: want in log(), 20), "a Maildir whose parent the owner cannot make defers, naming the directory", log()[-800:])
    expect(not os.path.exists(os.path.join(locked, "sub")), "and nothing was made there")
finally:
    if svscan:
        svscan.stop()
    home.cleanup()
print("%d checks passed" % __import__("ferrytest").checks)
