"""As root, the install of doc/install.html into a scratch root: ferry built with its install home
there (conf-home), make install, ferry-setup -u, the set linked into an s6 scan directory; then,
as users that are not root, with ferry-injectd stopped and again running: mail through the
setuid ferry-inject, through ferry-sendmail run bare (as cron does) and through an SMTP front end
run by tcpserver as nobody with QMAILQUEUE; a forward and a virtual Maildir that did not exist;
mailq for a user; a new smtproutes used after s6-svc -h; the sendmail links and the systemd unit;
the SMTP service that ferry-setup makes, started as an administrator starts it."""

import grp
import os
import pwd
import shutil
import smtplib
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import TOP, eventually, expect, is_root, test_user  # noqa: E402
from smtp_peers import SmtpSink, free_port  # noqa: E402

if not is_root():
    print("skipped: needs root (it installs setuid programs and makes users)")
    sys.exit(77)
for tool in ("tcpserver", "setpriv", "s6-svscan"):
    if not shutil.which(tool):
        print("skipped: no %s here (package/deps lists its package)" % tool)
        sys.exit(77)

T = tempfile.mkdtemp(prefix="ferry-root.")
os.chmod(T, 0o755)
CONF = os.path.join(T, "root", "var", "ferry")
BUILD = os.path.join(T, "build")
BIN = os.path.join(CONF, "bin")
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
BARE_ENV = {"PATH": "/usr/bin:/bin"}  # as cron runs a command: no FERRY_HOME
procs = []
svscan = None
scan = os.path.join(T, "scan")


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def make(*targets):
    r = run(["make", "-C", TOP, "--no-print-directory", "-j2", "B=" + BUILD, "CONF_HOME=" + CONF] + list(targets))
    expect(r.returncode == 0, "make %s with conf-home %s" % (" ".join(targets), CONF), r.stdout[-1500:] + r.stderr[-1500:])
    return r


def log():
    try:
        return open(os.path.join(CONF, "log", "current"), errors="replace").read()
    except FileNotFoundError:
        return ""


def maildir_texts(user):
    d = os.path.join(T, "mail", user, "Maildir", "new")
    if not os.path.isdir(d):
        return []
    return [open(os.path.join(d, f), "rb").read() for f in os.listdir(d)]


def delivered(user, subject):
    return any(("Subject: " + subject + "\n").encode() in m for m in maildir_texts(user))


def inject_as_nobody(subject, rcpt):
    msg = ("From: nobody@example.org\nSubject: %s\n\nbody of %s\n" % (subject, subject)).encode()
    r, w = os.pipe()
    os.write(w, b"Fnobody@example.org\0T" + rcpt.encode() + b"\0\0")
    os.close(w)
    p = subprocess.run(NOBODY + [os.path.join(BIN, "ferry-inject")], input=msg, stdout=r, stderr=subprocess.PIPE, env=BARE_ENV)
    os.close(r)
    return p.returncode, p.stderr.decode(errors="replace")


def sendmail_as_nobody(subject, rcpt):
    msg = "To: %s\nSubject: %s\n\nbody of %s\n" % (rcpt, subject, subject)
    return run(NOBODY + [os.path.join(BIN, "ferry-sendmail"), "-t"], input=msg, env=BARE_ENV)


def connects(path):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def smtp_front(port, subject, rcpt):
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
        s.helo("client.test")
        s.sendmail("front@example.net", [rcpt], "Subject: %s\n\nbody of %s\n" % (subject, subject))


try:
    # 1. ferry-setup -u before make install: refused, nothing made
    make("progs")
    users_before = any(p.pw_name == "ferryq" for p in pwd.getpwall())
    r = run([os.path.join(BUILD, "bin", "ferry-setup"), "-u", CONF])
    expect(r.returncode == 100 and "install them first (make install" in r.stderr and not os.path.exists(CONF),
           "ferry-setup -u before make install exits 100, says to install first, and makes nothing", (r.returncode, r.stdout, r.stderr))

    # 2. make install, as if the users did not exist yet (set-id bits off, owner root), then
    #    ferry-setup -u makes the users and gives each program its owner and mode
    make("install")
    unit = open(os.path.join(CONF, "share", "ferry.service")).read()
    expect("ExecStart=/usr/bin/s6-svscan %s/service\n" % CONF in unit and "@HOME@" not in unit,
           "make install writes the systemd unit for the install home", unit)
    if shutil.which("systemd-analyze"):
        r = run(["systemd-analyze", "verify", os.path.join(CONF, "share", "ferry.service")])
        expect(r.returncode == 0 and not r.stderr.strip(), "systemd-analyze verify finds nothing wrong with the unit", r.stdout + r.stderr)
    else:
        print("note: no systemd-analyze here; the unit is not verified")
    for p in ("ferry-inject", "ferry-qread"):
        os.chown(os.path.join(BIN, p), 0, 0)
        os.chmod(os.path.join(BIN, p), 0o711 if p == "ferry-inject" else 0o755)
    r = run([os.path.join(BIN, "ferry-setup"), "-u", CONF])
    expect(r.returncode == 0 and "set bin/ferry-inject to 04711 ferryq:ferry" in r.stdout and "set bin/ferry-qread to 06711 ferrys:ferry" in r.stdout,
           "ferry-setup -u after make install sets ferry-inject 4711 ferryq and ferry-qread 6711 ferrys:ferry", r.stdout + r.stderr)
    st = os.stat(os.path.join(BIN, "ferry-inject"))
    expect(stat.S_IMODE(st.st_mode) == 0o4711 and st.st_uid == pwd.getpwnam("ferryq").pw_uid, "bin/ferry-inject is setuid ferryq")
    if not users_before:
        expect(pwd.getpwnam("ferryq").pw_dir == CONF, "the users made have the install home as theirs", pwd.getpwnam("ferryq").pw_dir)
    else:
        print("note: the dedicated users existed already; their home is %s" % pwd.getpwnam("ferryq").pw_dir)
    expect(not pwd.getpwnam("ferryq").pw_dir.startswith(tempfile.gettempdir() + "/ferry-test."),
           "the dedicated users' home is not a test's scratch home", pwd.getpwnam("ferryq").pw_dir)
    r = run([os.path.join(BIN, "ferry-setup"), "-c", CONF])
    expect(r.returncode == 0 and "is a complete ferry home" in r.stdout, "ferry-setup -c (without -u) passes the root install", r.stdout + r.stderr)
    os.chmod(os.path.join(BIN, "ferry-inject"), 0o755)
    r = run([os.path.join(BIN, "ferry-setup"), "-c", CONF])
    expect(r.returncode == 1 and "wrong mode: bin/ferry-inject (want 04711)" in r.stdout,
           "ferry-setup -c reports a ferry-inject that is not setuid", r.stdout + r.stderr)
    os.chmod(os.path.join(BIN, "ferry-inject"), 0o4711)

    # 3. the settings: example.org delivered to Maildirs of the test user (alice's Maildir does
    #    not exist yet), fwd@ forwarded to bob, sink.test over SMTP, later.test to a closed port
    tu = test_user()
    mail = os.path.join(T, "mail")
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(mail, "bob", "Maildir", sub))
    subprocess.run(["chown", "-R", "ferrytest", mail], check=True)
    ctl = lambda name, value: open(os.path.join(CONF, "control", name), "w").write(value)
    ctl("me", "example.org\n")
    ctl("mailboxowner", "ferrytest\n")
    ctl("virtualdomains", "example.org\n")
    ctl("mailboxes", "alice@example.org: %s/alice/Maildir/\nbob@example.org: %s/bob/Maildir/\nfwd@example.org: &bob@example.org\n" % (mail, mail))
    r = run([os.path.join(BIN, "ferry-mailboxes"), CONF])
    expect(r.returncode == 0, "ferry-mailboxes", r.stderr)
    sink_a = SmtpSink(T)
    sink_b = SmtpSink(T)
    procs += [sink_a, sink_b]
    ctl("smtproutes", "sink.test:127.0.0.1:%d\nlater.test:127.0.0.1:1\n" % sink_a.port)

    # 4. the s6 way: the home's two services linked into a scan directory of the system's
    os.makedirs(scan)
    for s in ("ferry", "ferry-injectd"):
        os.symlink(os.path.join(CONF, "service", s), os.path.join(scan, s))
    svscan = subprocess.Popen(["s6-svscan", scan], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    expect(eventually(lambda: "status:" in log(), 20), "the set starts from the scan directory", log()[-500:])
    svc = lambda flags, s: run(["s6-svc", flags, os.path.join(CONF, "service", s)])
    wait = lambda flag, s: run(["s6-svwait", flag, "-t", "20000", os.path.join(CONF, "service", s)])

    # 5. the front end: tcpserver as nobody, QMAILQUEUE the setuid ferry-inject
    port = free_port()
    front = subprocess.Popen(["tcpserver", "-u", str(pwd.getpwnam("nobody").pw_uid), "-g", str(pwd.getpwnam("nobody").pw_gid),
                              "127.0.0.1", str(port), "env", "QMAILQUEUE=" + os.path.join(BIN, "ferry-inject"),
                              "/usr/bin/python3", os.path.join(TOP, "tests", "helpers", "qq_front.py")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(front)
    expect(eventually(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 10), "tcpserver listens")

    sock = os.path.join(CONF, "public", "inject")
    for state in ("stopped", "running"):
        if state == "stopped":
            svc("-d", "ferry-injectd")
            expect(wait("-D", "ferry-injectd").returncode == 0, "ferry-injectd is down")
        else:
            svc("-u", "ferry-injectd")
            expect(wait("-u", "ferry-injectd").returncode == 0 and eventually(lambda: connects(sock), 10), "ferry-injectd is up and listens")
        rc, err = inject_as_nobody("inject " + state, "alice@example.org")
        expect(rc == 0, "as nobody, ferry-injectd %s: the setuid ferry-inject takes a message" % state, (rc, err))
        r = sendmail_as_nobody("sendmail " + state, "bob")
        expect(r.returncode == 0, "as nobody, ferry-injectd %s: ferry-sendmail -t run bare (no FERRY_HOME) takes a message" % state,
               (r.returncode, r.stderr))
        try:
            smtp_front(port, "front " + state, "bob@example.org")
            err = ""
        except smtplib.SMTPException as e:
            err = str(e)
        expect(not err, "as nobody, ferry-injectd %s: the front end under tcpserver answers 250 through QMAILQUEUE" % state, err)
        expect(eventually(lambda: delivered("alice", "inject " + state) and delivered("bob", "sendmail " + state)
                          and delivered("bob", "front " + state), 30),
               "the three messages (ferry-injectd %s) are in the Maildirs, alice's Maildir made for it" % state, log()[-1500:])
    st = os.stat(os.path.join(mail, "alice", "Maildir", "new"))
    expect(st.st_uid == tu.pw_uid, "the Maildir made for alice belongs to the mailbox owner")
    sm = [m for m in maildir_texts("bob") if b"Subject: sendmail stopped\n" in m][0]
    expect(b"To: bob@example.org\n" in sm, "ferry-sendmail qualified To: bob with control/me", sm[:400])

    rc, err = inject_as_nobody("forwarded", "fwd@example.org")
    expect(rc == 0 and eventually(lambda: delivered("bob", "forwarded"), 30), "mail to fwd@ is forwarded to bob's Maildir", (err, log()[-1500:]))

    # 6. mailq for a user: the listing, never a body
    rc, err = inject_as_nobody("deferred for mailq", "carol@later.test")
    expect(rc == 0 and eventually(lambda: "carol@later.test" in log() and "deferral" in log(), 30), "a message to later.test is deferred", log()[-800:])
    sroot = os.path.join(T, "sroot")
    r = run(["sh", os.path.join(TOP, "package", "sendmail-link"), sroot, CONF])
    expect(r.returncode == 0 and all(os.readlink(os.path.join(sroot, p.lstrip("/"))) == os.path.join(BIN, "ferry-sendmail")
                                     for p in ("/usr/sbin/sendmail", "/usr/lib/sendmail", "/usr/bin/mailq", "/usr/bin/newaliases")),
           "make install-sendmail's script links sendmail, mailq and newaliases where nothing was", r.stdout + r.stderr)
    r = run(NOBODY + [os.path.join(sroot, "usr", "bin", "mailq")], env=BARE_ENV)
    expect(r.returncode == 0 and "carol@later.test" in r.stdout and "body of" not in r.stdout,
           "mailq as nobody lists the deferred message (its recipient), and no body", (r.returncode, r.stdout, r.stderr))
    r = run([os.path.join(BIN, "ferry-qctl"), "-h", CONF, "hold", "@later.test"])
    expect(r.returncode == 0 and "held msg" in r.stdout, "root holds the deferred message (ferry-qctl hold @later.test)", r.stdout + r.stderr)
    r = run(NOBODY + [os.path.join(sroot, "usr", "bin", "mailq")], env=BARE_ENV)
    expect(r.returncode == 0 and "[held]" in r.stdout and "carol@later.test" in r.stdout,
           "mailq as nobody shows it held (the hold mark is read with ferry-qread's own rights, not the caller's)", (r.returncode, r.stdout, r.stderr))
    sroot2 = os.path.join(T, "sroot2")
    os.makedirs(os.path.join(sroot2, "usr", "sbin"))
    open(os.path.join(sroot2, "usr", "sbin", "sendmail"), "w").write("#!/bin/sh\n# another MTA's\n")
    r = run(["sh", os.path.join(TOP, "package", "sendmail-link"), sroot2, CONF])
    owner = run(["dpkg-query", "-S", "/usr/sbin/sendmail"]).stdout.split(":")[0]
    said = ("belongs to the Debian package %s" % owner) if owner else "no Debian package owns it"
    expect(r.returncode == 1 and said in r.stderr and open(os.path.join(sroot2, "usr", "sbin", "sendmail")).read().endswith("another MTA's\n"),
           "an existing /usr/sbin/sendmail is left as it is, and the script says whose it is and what to do", r.stdout + r.stderr)

    # 7. a new route, read again after s6-svc -h (the set's members run as three users)
    ctl("smtproutes", "sink.test:127.0.0.1:%d\nlater.test:127.0.0.1:1\n" % sink_b.port)
    mark = len(log())
    svc("-h", "ferry")
    expect(eventually(lambda: "ferry-spawn-remote" in log()[mark:] and "settings" in log()[mark:], 20),
           "ferry-spawn-remote says it read its settings again", log()[mark:])
    rc, err = inject_as_nobody("after the new route", "dave@sink.test")
    expect(rc == 0 and eventually(lambda: any(b"after the new route" in d for d in sink_b.dumps()), 30)
           and not any(b"after the new route" in d for d in sink_a.dumps()),
           "after s6-svc -h the new smtproutes sends sink.test to the second sink", log()[mark:])

    # 8. dead hosts asked of the remote channel (ferryr) by root, on remote/ask: root answers there,
    #    and ferryr can neither put a link in its place nor make a name in remote/
    r = run([os.path.join(BIN, "ferry-qctl"), "-h", CONF, "deadhosts"])
    expect(r.returncode == 0 and ("no dead hosts" in r.stdout or "skipped for" in r.stdout),
           "root asks ferry-spawn-remote (ferryr) for its dead hosts and gets the answer", r.stdout + r.stderr)
    st = os.stat(os.path.join(CONF, "remote"))
    expect(st.st_uid == 0 and grp.getgrgid(st.st_gid).gr_name == "ferryr" and (st.st_mode & 0o777) == 0o750,
           "remote/ is root's, group ferryr, 0750", oct(st.st_mode))
    r = run(["setpriv", "--reuid=ferryr", "--regid=ferryr", "--clear-groups", "ln", "-sf", "/etc/passwd", os.path.join(CONF, "remote", "ask")])
    expect(r.returncode != 0 and stat.S_ISFIFO(os.lstat(os.path.join(CONF, "remote", "ask")).st_mode),
           "ferryr cannot replace remote/ask with a link", r.stderr)
    ask = os.path.join(CONF, "remote", "ask")
    os.rename(ask, ask + ".fifo")
    open(ask, "w").write("a regular file\n")
    r = run([os.path.join(BIN, "ferry-qctl"), "-h", CONF, "deadhosts"])
    expect(r.returncode == 111 and "remote/ask is not a FIFO" in r.stderr and open(ask).read() == "a regular file\n",
           "ferry-qctl writes nothing to a remote/ask that is not a FIFO (111)", (r.returncode, r.stderr))
    os.unlink(ask)
    os.symlink(os.path.join(T, "victim"), ask)
    open(os.path.join(T, "victim"), "w").write("root's file\n")
    r = run([os.path.join(BIN, "ferry-qctl"), "-h", CONF, "deadhosts"])
    expect(r.returncode == 111 and open(os.path.join(T, "victim")).read() == "root's file\n",
           "nor through a symbolic link", (r.returncode, r.stderr))
    os.unlink(ask)
    os.rename(ask + ".fifo", ask)
    rdir = os.path.join(CONF, "remote")
    os.chown(rdir, pwd.getpwnam("ferryr").pw_uid, -1)
    r = run([os.path.join(BIN, "ferry-qctl"), "-h", CONF, "deadhosts"])
    expect(r.returncode == 111 and "remote/ must be a directory of ferry-qctl's user" in r.stderr and os.listdir(rdir) == ["ask"],
           "ferry-qctl makes no answer FIFO in a remote/ that the channel's user owns (111)", (r.returncode, r.stderr, os.listdir(rdir)))
    os.chown(rdir, 0, -1)

    # 9. the SMTP service as an administrator starts it: made down (with the submission and
    #    smtps services), its address changed in its run script, linked into the scan directory
    #    and started with s6-svc -u; it serves as ferryd, takes mail for the local domain and, from
    #    127.0.0.1 (control/smtpd.rules: RELAYCLIENT), for other hosts, refuses an unknown local
    #    user at RCPT, and logs each message in log/smtpd
    for svcname in ("ferry-smtpd", "ferry-submission", "ferry-smtps"):
        sd = os.path.join(CONF, "service", svcname)
        expect(os.path.exists(os.path.join(sd, "down")) and os.path.exists(os.path.join(sd, "log", "run")),
               "ferry-setup -u made service/%s, down until started, with its log service" % svcname, sorted(os.listdir(sd)))
    runfile = os.path.join(CONF, "service", "ferry-smtpd", "run")
    text = open(runfile).read()
    expect("-l 0.0.0.0:25" in text, "service/ferry-smtpd/run runs ferry-smtpd's server mode on port 25", text)
    sport = free_port()
    open(runfile, "w").write(text.replace("0.0.0.0:25", "127.0.0.1:%d" % sport))
    # the certificate and key an administrator puts in the files ferry-setup made (the key
    # stays root's, group ferryd, 0640)
    crt, key = os.path.join(CONF, "control", "smtpdcert"), os.path.join(CONF, "control", "smtpdkey")
    r = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key + ".new", "-out", crt, "-days", "2", "-subj", "/CN=mx.example.org"])
    expect(r.returncode == 0, "openssl made a certificate for the SMTP service", r.stderr)
    open(key, "w").write(open(key + ".new").read())
    os.unlink(key + ".new")
    os.symlink(os.path.join(CONF, "service", "ferry-smtpd"), os.path.join(scan, "ferry-smtpd"))
    run(["s6-svscanctl", "-a", scan])
    expect(eventually(lambda: os.path.exists(os.path.join(CONF, "service", "ferry-smtpd", "supervise", "status")), 20),
           "s6-svscan supervises the linked SMTP service (down)")
    svc("-u", "ferry-smtpd")
    expect(eventually(lambda: socket.socket().connect_ex(("127.0.0.1", sport)) == 0, 20), "after s6-svc -u, ferry-smtpd listens on its port")
    r = run(["s6-svstat", "-o", "pid", os.path.join(CONF, "service", "ferry-smtpd")])
    spid = r.stdout.strip()
    uid = [ln.split()[1] for ln in open("/proc/%s/status" % spid) if ln.startswith("Uid:")][0] if spid.isdigit() else "?"
    expect(uid == str(pwd.getpwnam("ferryd").pw_uid), "the SMTP service runs as ferryd once it listens", (spid, uid))
    with smtplib.SMTP("127.0.0.1", sport, timeout=20) as c:
        c.ehlo("client.example.net")
        expect("starttls" in c.esmtp_features and "pipelining" in c.esmtp_features and "auth" not in c.esmtp_features,
               "the port 25 service offers STARTTLS and PIPELINING, no AUTH", c.esmtp_features)
        c.starttls()
        c.ehlo("client.example.net")
        c.sendmail("outside@example.net", ["bob@example.org"], "Subject: through the smtp service\n\nhello\n")
        code = c.rcpt("nobody-here@example.org")[0] if c.mail("outside@example.net")[0] == 250 else None
        expect(code == 550, "an unknown user of the local domain is refused at RCPT (550)", code)
        c.rset()
        c.sendmail("outside@example.net", ["erin@sink.test"], "Subject: relayed by the smtp service\n\nhello\n")
    expect(eventually(lambda: delivered("bob", "through the smtp service"), 30), "the message through the SMTP service is in bob's Maildir", log()[-1500:])
    got = [m for m in maildir_texts("bob") if b"Subject: through the smtp service\n" in m][0]
    expect(b"from client.example.net" in got and b"(ferry-smtpd) with ESMTPS" in got,
           "its Received: line names the client's HELO and the protocol (ESMTPS: after STARTTLS)", got[:600])
    expect(eventually(lambda: any(b"relayed by the smtp service" in d for d in sink_b.dumps()), 30),
           "127.0.0.1 relays through the SMTP service (RELAYCLIENT from control/smtpd.rules) to sink.test", log()[-1500:])
    slog = lambda: (open(os.path.join(CONF, "log", "smtpd", "current"), errors="replace").read()
                    if os.path.exists(os.path.join(CONF, "log", "smtpd", "current")) else "")
    expect(eventually(lambda: slog().count("queued id") >= 2 and "to <bob@example.org>" in slog(), 20),
           "log/smtpd has a line for each message queued", slog()[-1500:])
    svc("-d", "ferry-smtpd")
finally:
    if svscan:
        subprocess.run(["s6-svscanctl", "-t", scan], capture_output=True)
        try:
            svscan.wait(30)
        except Exception:
            pass
    for p in procs:
        try:
            if hasattr(p, "stop"):
                p.stop()
            else:
                p.kill()
                p.wait()
        except Exception:
            pass
    if os.environ.get("FERRY_KEEP"):
        print("kept", T)
    else:
        shutil.rmtree(T, ignore_errors=True)
