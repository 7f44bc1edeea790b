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
                     ("alice@example.org:root:/x/Maildir/", "the owner is root: ferry never delivers as root"),
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
    try:
        pwd.getpwnam("ferryr")
        home.control("mailboxes", "# comment\n\nbob@example.org:/x/\nalice@example.org:ferryr:/x/Maildir/\n")
        r = subprocess.run([os.path.join(BIN, "ferry-mailboxes"), H], capture_output=True, text=True)
        expect(r.returncode == 100 and "control/mailboxes:4: the owner is one of ferry's own users" in r.stderr
               and open(os.path.join(H, "control", "mailboxes.cdb"), "rb").read() == cdb,
               "an owner that is one of ferry's users (ferryr) is refused, naming the line", r.stderr)
    except KeyError:
        print("note: no ferryr user here (ferry-setup -u makes it); that check is skipped")

    owner = None
    if is_root():
        fthome = os.path.join(home.tmp, "fthome")
        os.mkdir(fthome)
        u = test_user("ferryuser", fthome, system=False)
        owner = u.pw_uid
        os.chown(fthome, u.pw_uid, u.pw_gid)
        subprocess.run(["chown", "-R", "ferryuser", mail], check=True)
        home.control("mailboxowner", "ferryuser\n")

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
            subprocess.run(["chown", "-R", "ferryuser", full], check=True)
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
            subprocess.run(["chown", "-R", "ferryuser", os.path.join(fthome, name)], check=True)
            return os.path.join(fthome, name)

        def count(d):
            return len(os.listdir(os.path.join(d, "new")))

        inbox, lists, default = maildir("Inbox"), maildir("Lists"), maildir("Maildir")
        ft(".ferry", "# my mail\n./Inbox/\n")
        ft(".ferry-lists", "./Lists/\n")
        rc, out, err = local("s@example.com", "ferryuser@example.com", msg)
        expect(rc == 0 and count(inbox) == 1, "a system user's .ferry", (rc, out))
        f = os.path.join(inbox, "new", os.listdir(os.path.join(inbox, "new"))[0])
        expect(os.stat(f).st_uid == owner, "delivered as the user, not root")
        rc, out, err = local("s@example.com", "ferryuser-lists@example.com", msg)
        expect(rc == 0 and count(lists) == 1, ".ferry-lists for ferryuser-lists@", (rc, out))
        rc, out, err = local("s@example.com", "FerryUser-Other@Example.COM", msg)
        expect(rc == 0 and count(inbox) == 2, "an extension without its file falls back to .ferry (case-insensitive)", (rc, out))
        os.chmod(os.path.join(fthome, ".ferry"), 0o664)
        rc, out, err = local("s@example.com", "ferryuser@example.com", msg)
        expect(rc == 111 and "writable by others" in out and count(inbox) == 2, "a group-writable .ferry is refused with Z", (rc, out))
        os.unlink(os.path.join(fthome, ".ferry"))
        rc, out, err = local("s@example.com", "ferryuser@example.com", msg)
        expect(rc == 0 and count(default) == 1, "no .ferry: control/defaultdelivery (./Maildir/)", (rc, out))
        ft(".ferry", "# nothing but a comment\n")
        rc, out, err = local("s@example.com", "ferryuser@example.com", msg)
        expect(rc == 111 and "no delivery line" in out, "a .ferry with no delivery line is deferred, never dropped", (rc, out))
        ft(".ferry", "Inbox\n")
        rc, out, err = local("s@example.com", "ferryuser@example.com", msg)
        expect(rc == 111 and "bad delivery line" in out, "a bad line in .ferry: Z naming it", (rc, out))
        rc, out, err = local("s@example.com", "nosuchuser@example.com", msg)
        expect(rc == 100 and "no mailbox" in out, "an unknown user: D", (rc, out))
        rc, out, err = local("s@example.com", "root@example.com", msg)
        expect(rc == 0 and "alice/Maildir" in out, "root@ goes through its alias in control/mailboxes", (rc, out))
        home.control("mailboxes", "")
        subprocess.run([os.path.join(BIN, "ferry-mailboxes"), H], check=True, capture_output=True)
        rc, out, err = local("s@example.com", "root@example.com", msg)
        expect(rc == 100 and "never delivers as root" in out, "without an alias, root@ is refused: ferry never delivers as root", (rc, out))
        # system accounts through the passwd database: refused at once (D), no worker runs as them
        for acct in ["daemon", "bin", "nobody"] + [x for x in ("ferryq", "ferrys", "ferryr", "ferryl") if x in [p.pw_name for p in pwd.getpwall()]]:
            rc, out, err = local("s@example.com", acct + "@example.com", msg)
            expect(rc == 100 and ("5.1.1 %s@example.com is a system account: no mail is delivered as it" % acct) in out,
                   "%s@ (a system account) is refused with D, 5.1.1, naming it" % acct, (rc, out))
        # a virtual mailbox with a system account as its explicit owner still works
        nob = os.path.join(mail, "nob", "Maildir")
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(nob, sub))
        subprocess.run(["chown", "-R", "nobody", os.path.join(mail, "nob")], check=True)
        home.control("virtualdomains", "example.org\n")
        home.control("mailboxes", "nob@example.org:nobody:%s/\n" % nob)
        subprocess.run([os.path.join(BIN, "ferry-mailboxes"), H], check=True, capture_output=True)
        rc, out, err = local("s@example.com", "nob@example.org", msg)
        f = os.listdir(os.path.join(nob, "new"))
        expect(rc == 0 and len(f) == 1 and os.stat(os.path.join(nob, "new", f[0])).st_uid == 65534,
               "a virtual mailbox whose owner is named nobody is delivered, as nobody", (rc, out))
        if "ferryq" in [p.pw_name for p in pwd.getpwall()]:
            home.control("mailboxowner", "ferryq\n")
            home.control("mailboxes", "x@example.org:%s/\n" % nob)
            subprocess.run([os.path.join(BIN, "ferry-mailboxes"), H], check=True, capture_output=True)
            rc, out, err = local("s@example.com", "x@example.org", msg)
            expect(rc == 111 and "refusing to deliver as ferryq, one of ferry's own users, for x@example.org" in out,
                   "control/mailboxowner ferryq (one of ferry's users) is refused with Z, naming it", (rc, out))
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
