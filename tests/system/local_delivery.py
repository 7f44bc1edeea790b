"""ferry-local by hand and the who-gets-the-mail rules: system users and their .ferry files, the
mailboxes table compiler, a full Maildir, and never delivering as root."""

import mailbox
import os
import pwd
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Home, expect, fail, is_root, test_user  # noqa: E402

home = Home()
mounted = None


def local(sender, rcpt, message, stdin_pipe=False):
    cmd = [os.path.join(BIN, "ferry-local"), "-d", home.path, sender, rcpt]
    if stdin_pipe:
        p = subprocess.run(cmd, input=message, capture_output=True)
    else:
        path = os.path.join(home.tmp, "msg")
        with open(path, "wb") as f:
            f.write(message)
        with open(path, "rb") as f:
            p = subprocess.run(cmd, stdin=f, capture_output=True)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


try:
    H = home.path
    msg = b"Subject: by hand\n\nhello\nFrom me\n"

    # the mailboxes table compiler: errors name the line, and the old table stays
    home.control("virtualdomains", "example.org\n")
    mail = os.path.join(home.tmp, "mail")
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(mail, "alice", "Maildir", sub))
    home.control("mailboxes", "alice@example.org:%s/alice/Maildir/\n" % mail)
    r = subprocess.run([os.path.join(BIN, "ferry-mailboxes"), H], capture_output=True, text=True)
    expect(r.returncode == 0 and "1 lines compiled" in r.stdout, "ferry-mailboxes reports what it compiled", r.stdout + r.stderr)
    cdb = open(os.path.join(H, "control", "mailboxes.cdb"), "rb").read()
    for bad, why in [("alice@example.org /x/", "no colon"),
                     ("alice:/x/Maildir/", "bad address"),
                     ("alice@example.org:Maildir/", "must start with"),
                     ("alice@example.org:nosuchuser42:/x/", "the owner is not a user"),
                     ("alice@example.org:root:relative/", "must start with"),
                     ("a b@example.org:/x/", "bad address"),
                     ("@example.org:|", "empty instruction")]:
        home.control("mailboxes", "# comment\n\nbob@example.org:/x/\n" + bad + "\n")
        r = subprocess.run([os.path.join(BIN, "ferry-mailboxes"), H], capture_output=True, text=True)
        if r.returncode != 100 or "control/mailboxes:4:" not in r.stderr or why not in r.stderr:
            fail("ferry-mailboxes on %r: exit %d, %r" % (bad, r.returncode, r.stderr))
        if open(os.path.join(H, "control", "mailboxes.cdb"), "rb").read() != cdb:
            fail("ferry-mailboxes changed the table after an error in %r" % bad)
        if os.path.exists(os.path.join(H, "control", "mailboxes.cdb.tmp")):
            fail("a temporary table was left behind")
    expect(True, "bad table lines: exit 100, control/mailboxes:LINE and the reason, the old table kept")

    owner = None
    if is_root():
        fthome = os.path.join(home.tmp, "fthome")
        os.mkdir(fthome)
        u = test_user("ferrytest", fthome)
        owner = u.pw_uid
        os.chown(fthome, u.pw_uid, u.pw_gid)
        subprocess.run(["chown", "-R", "ferrytest", mail], check=True)
        home.control("mailboxowner", "ferrytest\n")

    # ferry-local by hand: K with exit 0, from a file or a pipe
    rc, out, err = local("s@example.com", "alice@example.org", msg)
    expect(rc == 0 and out.startswith("K delivered: Maildir ") and out.endswith("\n") and out.count("\n") == 1, "ferry-local: exit 0 and a one-line report", (rc, out, err))
    rc, out, err = local("s@example.com", "alice@example.org", msg, stdin_pipe=True)
    expect(rc == 0, "ferry-local with the message on a pipe", (rc, out, err))
    md = mailbox.Maildir(os.path.join(mail, "alice", "Maildir"), factory=None, create=False)
    expect(len(md) == 2 and all(m.get_payload() == "hello\nFrom me\n" for m in md), "both copies read back intact")
    rc, out, err = local("s@example.com", "zed@example.org", msg)
    expect(rc == 100 and out.startswith("D 5.1.1 no mailbox"), "ferry-local: unknown address exits 100 with D", (rc, out))
    rc, out, err = local("s@example.com", "alice@example.org", b"Delivered-To: alice@example.org\n\nx\n")
    expect(rc == 100 and "mail loop" in out, "ferry-local: a loop exits 100", (rc, out))
    r = subprocess.run([os.path.join(BIN, "ferry-local"), "-d", H, "only-one-arg"], capture_output=True, text=True)
    expect(r.returncode == 100 and "usage" in r.stderr, "ferry-local: wrong usage exits 100", r.stderr)

    # a full disk: a Maildir on a small tmpfs answers Z and leaves nothing in new/ or tmp/
    if is_root():
        full = os.path.join(home.tmp, "full")
        os.mkdir(full)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", full]).returncode == 0:
            mounted = full
            for sub in ("tmp", "new", "cur"):
                os.makedirs(os.path.join(full, "Maildir", sub))
            subprocess.run(["chown", "-R", "ferrytest", full], check=True)
            home.control("mailboxes", "alice@example.org:%s/alice/Maildir/\nfull@example.org:%s/Maildir/\nfullbox@example.org:%s/mbox\n" % (mail, full, full))
            subprocess.run([os.path.join(BIN, "ferry-mailboxes"), H], check=True, capture_output=True)
            big = b"Subject: big\n\n" + b"x" * 400000 + b"\n"
            rc, out, err = local("s@example.com", "full@example.org", big)
            expect(rc == 111 and out.startswith("Z ") and "disk full" in out, "Maildir on a full disk: Z, says disk full", (rc, out))
            expect(os.listdir(os.path.join(full, "Maildir", "new")) == [] and os.listdir(os.path.join(full, "Maildir", "tmp")) == [],
                   "nothing left in new/ or tmp/")
            rc, out, err = local("s@example.com", "fullbox@example.org", msg)
            expect(rc == 0, "a small message into an mbox on that tmpfs", (rc, out))
            size = os.path.getsize(os.path.join(full, "mbox"))
            rc, out, err = local("s@example.com", "fullbox@example.org", big)
            expect(rc == 111 and "truncated back" in out, "mbox on a full disk: Z", (rc, out))
            expect(os.path.getsize(os.path.join(full, "mbox")) == size, "the mbox is truncated back to its old size")
            expect(len(mailbox.mbox(os.path.join(full, "mbox"))) == 1, "and still holds exactly its one message")
            rc, out, err = local("s@example.com", "full@example.org", msg)
            expect(rc == 0, "a message that fits is delivered afterwards", (rc, out))
        else:
            print("note: no tmpfs mount here; the full-disk part is skipped")

    # system users in control/locals: .ferry-EXT, .ferry, control/defaultdelivery; refusals
    if is_root():
        home.control("locals", "example.com\n")
        home.control("mailboxes", "root@example.com:%s/alice/Maildir/\n" % mail)
        subprocess.run([os.path.join(BIN, "ferry-mailboxes"), H], check=True, capture_output=True)

        def ft(path, text, mode=0o644):
            p = os.path.join(fthome, path)
            with open(p, "w") as f:
                f.write(text)
            os.chmod(p, mode)
            os.chown(p, u.pw_uid, u.pw_gid)

        def maildir(name):
            for sub in ("tmp", "new", "cur"):
                os.makedirs(os.path.join(fthome, name, sub), exist_ok=True)
            subprocess.run(["chown", "-R", "ferrytest", os.path.join(fthome, name)], check=True)
            return os.path.join(fthome, name)

        def count(d):
            return len(os.listdir(os.path.join(d, "new")))

        inbox, lists, default = maildir("Inbox"), maildir("Lists"), maildir("Maildir")
        ft(".ferry", "# my mail\n./Inbox/\n")
        ft(".ferry-lists", "./Lists/\n")
        rc, out, err = local("s@example.com", "ferrytest@example.com", msg)
        expect(rc == 0 and count(inbox) == 1, "a system user's .ferry", (rc, out))
        f = os.path.join(inbox, "new", os.listdir(os.path.join(inbox, "new"))[0])
        expect(os.stat(f).st_uid == owner, "delivered as the user, not root")
        rc, out, err = local("s@example.com", "ferrytest-lists@example.com", msg)
        expect(rc == 0 and count(lists) == 1, ".ferry-lists for ferrytest-lists@", (rc, out))
        rc, out, err = local("s@example.com", "FerryTest-Other@Example.COM", msg)
        expect(rc == 0 and count(inbox) == 2, "an extension without its file falls back to .ferry (case-insensitive)", (rc, out))
        os.chmod(os.path.join(fthome, ".ferry"), 0o664)
        rc, out, err = local("s@example.com", "ferrytest@example.com", msg)
        expect(rc == 111 and "writable by others" in out and count(inbox) == 2, "a group-writable .ferry is refused with Z", (rc, out))
        os.unlink(os.path.join(fthome, ".ferry"))
        rc, out, err = local("s@example.com", "ferrytest@example.com", msg)
        expect(rc == 0 and count(default) == 1, "no .ferry: control/defaultdelivery (./Maildir/)", (rc, out))
        ft(".ferry", "# nothing but a comment\n")
        rc, out, err = local("s@example.com", "ferrytest@example.com", msg)
        expect(rc == 111 and "no delivery line" in out, "a .ferry with no delivery line is deferred, never dropped", (rc, out))
        ft(".ferry", "Inbox\n")
        rc, out, err = local("s@example.com", "ferrytest@example.com", msg)
        expect(rc == 111 and "bad delivery line" in out, "a bad line in .ferry: Z naming it", (rc, out))
        rc, out, err = local("s@example.com", "nosuchuser@example.com", msg)
        expect(rc == 100 and "no mailbox" in out, "an unknown user: D", (rc, out))
        rc, out, err = local("s@example.com", "root@example.com", msg)
        expect(rc == 0 and "alice/Maildir" in out, "root@ goes through its alias in control/mailboxes", (rc, out))
        home.control("mailboxes", "")
        subprocess.run([os.path.join(BIN, "ferry-mailboxes"), H], check=True, capture_output=True)
        rc, out, err = local("s@example.com", "root@example.com", msg)
        expect(rc == 100 and "never delivers as root" in out, "without an alias, root@ is refused: ferry never delivers as root", (rc, out))
        home.control("mailboxowner", "root\n")
        home.control("mailboxes", "x@example.org:%s/alice/Maildir/\n" % mail)
        subprocess.run([os.path.join(BIN, "ferry-mailboxes"), H], check=True, capture_output=True)
        rc, out, err = local("s@example.com", "x@example.org", msg)
        expect(rc == 111 and "as root" in out, "a table owner of root is refused", (rc, out))
    else:
        print("note: system users and ownership need root; only the table part ran")
finally:
    if mounted:
        subprocess.run(["umount", mounted])
    home.cleanup()
print("%d checks passed" % __import__("ferrytest").checks)
