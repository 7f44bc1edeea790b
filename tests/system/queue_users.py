"""As root, on a home made with ferry-setup -u: each member of the set runs as its dedicated user
(doc/ferry-start.html), and mail still flows locally and remotely."""

import os
import subprocess
import time
import sys

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Home, Supervised, eventually, expect, skip_unless_root, test_user  # noqa: E402
from smtp_peers import SmtpSink  # noqa: E402

skip_unless_root()

home = Home()
svscan = None
sink = None
# the groups of ferryr and ferryl as they were: put back at the end (other homes on this machine)
import grp  # noqa: E402
import pwd  # noqa: E402
saved = {}
for u in ("ferryr", "ferryl"):
    try:
        saved[u] = pwd.getpwnam(u).pw_gid
    except KeyError:
        pass
try:
    # an install made before: ferryr and ferryl in group ferry, which reads the queue
    have_ferry = True
    try:
        grp.getgrnam("ferry")
    except KeyError:
        have_ferry = False
    if have_ferry:
        for u in saved:
            subprocess.run(["usermod", "--gid", "ferry", u], check=True)
    r = home.make_with_dedicated_users()
    H = home.path
    if have_ferry and saved:
        expect(all(("moved user %s from group ferry to its own group" % u) in r.stdout for u in saved),
               "ferry-setup -u moves ferryr and ferryl of an older install out of group ferry, and says so", r.stdout)
    ferry_gid = grp.getgrnam("ferry").gr_gid
    expect(all(pwd.getpwnam(u).pw_gid != ferry_gid and grp.getgrgid(pwd.getpwnam(u).pw_gid).gr_name == u for u in ("ferryr", "ferryl")),
           "ferryr and ferryl each have a group of their own, not ferry")
    chk = subprocess.run([os.path.join(BIN, "ferry-setup"), "-u", "-c", H], capture_output=True, text=True)
    expect(chk.returncode == 0, "ferry-setup -u -c: the home and the users are as they should be", chk.stdout + chk.stderr)
    mail = os.path.join(home.tmp, "mail")
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(mail, "Maildir", sub))
    test_user()
    subprocess.run(["chown", "-R", "ferrytest", mail], check=True)
    home.control("mailboxowner", "ferrytest\n")
    home.control("virtualdomains", "example.org\n")
    home.control("mailboxes", "@example.org: %s/Maildir/\n" % mail)
    subprocess.run([os.path.join(BIN, "ferry-mailboxes"), H], check=True, capture_output=True)
    sink = SmtpSink(home.tmp)
    home.control("smtproutes", "sink.test:127.0.0.1:%d\nlater.test:127.0.0.1:1\n" % sink.port)
    svscan = Supervised(H)
    logf = os.path.join(H, "log", "current")
    expect(eventually(lambda: os.path.exists(logf) and "status:" in open(logf).read(), 20), "the set starts")
    home.inject(b"Subject: u1\n\nx\n", "s@example.com", ["a@example.org", "b@sink.test"], running=True)
    expect(eventually(lambda: len(os.listdir(os.path.join(mail, "Maildir", "new"))) == 1 and len(sink.dumps()) == 1, 20),
           "delivered locally and remotely", open(logf).read()[-600:])
    top = subprocess.run(["s6-svstat", "-p", os.path.join(H, "service", "ferry")], capture_output=True, text=True).stdout.strip()
    users = {}
    for line in subprocess.run(["ps", "-o", "user=,args=", "--ppid", top, "-p", top], capture_output=True, text=True).stdout.splitlines():
        user, args = line.split(None, 1)
        users.setdefault(args.split()[0].split("/")[-1], []).append(user)
    # two ferry-clean: the queue owner's (todo, intd, mess) and the queue manager's own (its files);
    # two ferry-schedule: the queue manager and its syncer
    expect(users.get("ferry-schedule") == ["ferrys", "ferrys"] and users.get("ferry-preprocess-todo") == ["ferrys"]
           and sorted(users.get("ferry-clean", [])) == ["ferryq", "ferrys"]
           and users.get("ferry-spawn-remote") == ["ferryr"] and users.get("ferry-spawn-local") == ["root"],
           "each member runs as its documented user", users)
    def svc_user(name):
        pid = subprocess.run(["s6-svstat", "-p", os.path.join(H, "service", name)], capture_output=True, text=True).stdout.strip()
        return subprocess.run(["ps", "-o", "user=", "-p", pid], capture_output=True, text=True).stdout.strip()
    expect(svc_user("ferry-injectd") == "ferryq", "ferry-injectd runs as ferryq (doc/security.html)", svc_user("ferry-injectd"))
    expect(svc_user("ferry/log") == "ferryl" and svc_user("ferry-injectd/log") == "ferryl", "both loggers run as ferryl",
           (svc_user("ferry/log"), svc_user("ferry-injectd/log")))

    # the remote channel's user against the queue: a message deferred, so its files stay
    home.inject(b"Subject: u2\n\nx\n", "s@example.com", ["c@later.test"], running=True)
    expect(eventually(lambda: len(home.queue_files(("mess", "intd", "remote"))) >= 3, 20), "a deferred message stays queued")
    files = [os.path.join(H, p) if not p.startswith("/") else p for p in home.queue_files(("mess", "intd", "todo", "remote"))]
    dirs = sorted(set(os.path.dirname(f) for f in files)) + [os.path.join(H, "queue", d) for d in ("pid", "bounce", "corrupt", "lock", "hold", "delete")]
    probe = ("import os, sys\n"
             "bad = []\n"
             "for f in sys.argv[1].split('\\n'):\n"
             "    try:\n"
             "        os.close(os.open(f, os.O_WRONLY)); bad.append('wrote ' + f)\n"
             "    except OSError: pass\n"
             "for f in sys.argv[3].split('\\n'):\n"
             "    try:\n"
             "        os.close(os.open(f, os.O_RDONLY | os.O_NONBLOCK)); bad.append('read ' + f)\n"
             "    except OSError: pass\n"
             "for d in sys.argv[2].split('\\n'):\n"
             "    try:\n"
             "        os.close(os.open(os.path.join(d, 'x'), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)); bad.append('created in ' + d)\n"
             "    except OSError: pass\n"
             "print('\\n'.join(bad))\n")
    every = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(H, "queue")) for f in fs]
    r = subprocess.run(["s6-setuidgid", "ferryr", "/usr/bin/python3", "-c", probe, "\n".join(files), "\n".join(dirs), "\n".join(every)], capture_output=True, text=True)
    expect(r.returncode == 0 and not r.stdout.strip() and len(files) >= 3 and len(every) >= len(files),
           "as ferryr, none of %d queue files opens for reading or writing and none of %d queue directories takes a new file" % (len(files), len(dirs)),
           r.stdout + r.stderr)
    f = os.listdir(os.path.join(mail, "Maildir", "new"))[0]
    expect(os.stat(os.path.join(mail, "Maildir", "new", f)).st_uid == test_user().pw_uid, "the local delivery ran as the mailbox owner")

    # the sweep, as the queue's owner (its cron line in doc/ferry-clean.html), sees through group
    # ferry that the deferred message is prepared (its recipient file in remote/, the queue
    # manager's) and keeps its envelope and message file, however old; a real leftover goes
    mess = home.queue_files(("mess",))
    envs = home.queue_files(("intd",))
    expect(len(mess) == 1 and len(envs) == 1, "the deferred message has one message file and one envelope", (mess, envs))
    stale = os.path.join(os.path.dirname(mess[0]), "999999999")
    with open(stale, "w") as fh:
        fh.write("left by a crash\n")
    subprocess.run(["chown", "ferryq:ferry", stale], check=True)
    old = time.time() - 40 * 3600
    for p in mess + envs + [stale]:
        os.utime(p, (old, old))
    r = subprocess.run(["s6-setuidgid", "ferryq", os.path.join(BIN, "ferry-clean"), "sweep", H], capture_output=True, text=True)
    expect(r.returncode == 0 and os.path.exists(mess[0]) and os.path.exists(envs[0]) and not os.path.exists(stale)
           and "swept 1 stale files" in r.stdout,
           "ferry-clean sweep as ferryq keeps the deferred message's 40-hour-old files and removes the leftover", r.stdout + r.stderr)

    # a queue made before the envelopes were read in intd/ (intd/ 0700, the queue owner's): the
    # queue manager says so at its start and names the directory, and starts once it is fixed
    svc = lambda *a: subprocess.run(["s6-svc"] + list(a) + [os.path.join(H, "service", "ferry")], check=True)
    starts = open(logf).read().count("ferry-schedule: starting")
    svc("-d")
    expect(eventually(lambda: open(logf).read().count("ferry-schedule: stopped") >= 1, 20), "the set stops")
    os.chmod(os.path.join(H, "queue", "intd", "0"), 0o700)
    svc("-u")
    expect(eventually(lambda: "ferry-schedule: fatal: unable to read queue/intd/0 (the envelopes are read there: ferry-setup -c says what to change" in open(logf).read(), 20),
           "with queue/intd/0 at 0700, ferry-schedule (ferrys) refuses to start and names it", open(logf).read()[-400:])
    chk = subprocess.run([os.path.join(BIN, "ferry-setup"), "-u", "-c", H], capture_output=True, text=True)
    expect(chk.returncode == 1 and "wrong mode: queue/intd/0 (want 0750)" in chk.stdout, "ferry-setup -c names the mode to give it", chk.stdout + chk.stderr)
    os.chmod(os.path.join(H, "queue", "intd", "0"), 0o750)
    expect(eventually(lambda: open(logf).read().count("ferry-schedule: starting") > starts + 1 and "ferry-schedule: 1 messages, 1 recipients to deliver" in open(logf).read().rsplit("ferry-schedule: starting", 1)[1], 20),
           "once it is 0750 the set starts and loads the deferred message", open(logf).read()[-400:])
finally:
    for u, g in saved.items():
        subprocess.run(["usermod", "--gid", str(g), u], capture_output=True)
    if svscan:
        svscan.stop()
    if sink:
        sink.stop()
    home.cleanup()
print("%d checks passed" % __import__("ferrytest").checks)
