"""OpenSMTPD as a peer of tests/bench/mta.py: a private instance of Debian 12's opensmtpd
(6.8.0p2), never installed (it conflicts with the postfix package), unpacked once under
$FERRY_TOP/build/peers/opensmtpd/ by ensure() and run from there.

Its spool (/var/spool/smtpd), control socket (/var/run/smtpd.sock), privilege-separation chroot
(/var/lib/opensmtpd/empty) and delivery agents (/usr/libexec/opensmtpd) are compiled in: the
daemon runs in a mount namespace of its own (unshare -m) where directories of the instance's temp
dir are bound over /var/spool, /run, /var/lib and /usr/libexec (the unpacked package's), and its
own resolv.conf over /etc/resolv.conf ("lookup file": /etc/hosts only, never DNS). Its sendmail
(smtpctl called as sendmail, through a symlink of that name) runs in the same namespace through
nsenter, and talks to the daemon over its socket.

Settings that are not the package's defaults (everything else, concurrency included, is):
  - for mta.py, no listener of its own: smtpd.conf has no "listen on" line (the local
    enqueuer's socket is there by default); for relay_bench.py, "listen on 127.0.0.1 port <port>
    tls pki bench" (STARTTLS offered), the pki the bench's certificate and key; a connection from
    127.0.0.1 is "from local", so the same match rules relay it; and "smtp limit max-mails 1000"
    (the default, 100 messages a session, is less than a session of the relay bench carries: the
    101st would get 452);
  - action local: maildir "<temp dir>/mail/box" virtual <mailbox> userbase <users>, where
    mailbox maps "@local.test" to nobody and users gives nobody its own uid and gid and the home
    <temp dir>/mail (one Maildir for every @local.test address, written as nobody, as the
    Postfix peer's; the home is there so that looking for a .forward finds no file instead of
    logging a warning for nobody's /nonexistent);
  - action remote: relay host smtp+notls://127.0.0.1:<sink port> for remote.test, r0.test,
    r1.test and r2.test (no MX lookup, no STARTTLS);
  - match from local for domain ... : those two rules only (no aliases table, no "for local");
  - the daemon runs in the foreground (smtpd -d), its log on standard error, kept in
    <temp dir>/smtpd.log;
  - /etc/resolv.conf in its namespace is "lookup file" (the injector's too);
  - pause is "smtpctl pause mda" and "smtpctl pause mta" (mail injected meanwhile is queued,
    not delivered), resume their "smtpctl resume";
  - in the unpacked tree, smtpctl is made setgid opensmtpq (the package's postinst does so; it
    refuses to run otherwise).

What it does, seen here (strace): its queue writes no fsync at all, only mail.maildir syncs the
delivered file (sync calls/msg 1 for local, 0 for remote and multi); every process is smtpd
re-executed (comm smtpd: the peak is the largest of them); it relays over one connection to the
sink, one message at a time, and writes the message's closing ".\r\n" apart from its text
without TCP_NODELAY, so that Nagle waits for the sink's delayed ACK (about 40 ms on Linux) on
every message: about 20 messages a second, whatever the load.
"""

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from bench_proc import any_file

PACKAGES = ("opensmtpd",)
USERS = ("opensmtpd", "opensmtpq")   # Debian's names for _smtpd and _smtpq
EMPTY = "/var/lib/opensmtpd/empty"   # the chroot its unprivileged processes enter
QUEUE_DIRS = ("incoming", "queue", "offline", "temporary")
NSENTER = shutil.which("nsenter") or "/usr/bin/nsenter"
REMOTE = ("remote.test", "r0.test", "r1.test", "r2.test")


def top():
    return os.environ["FERRY_TOP"]


def tree():
    """the unpacked package: usr/sbin/smtpd, usr/sbin/smtpctl, usr/libexec/opensmtpd/..."""
    return os.path.join(top(), "build", "peers", "opensmtpd", "root")


def fail(why):
    sys.exit("bench: opensmtpd: %s" % why)


def ensure():
    """The unpacked package, made once (apt-get download, dpkg -x) and reused; the users it runs
    as (opensmtpd, opensmtpq), made when missing. Returns the tree; exits with a clear message when it
    cannot."""
    root = tree()
    smtpd = os.path.join(root, "usr", "sbin", "smtpd")
    if not os.path.exists(smtpd):
        base = os.path.dirname(root)
        os.makedirs(base, exist_ok=True)
        work = tempfile.mkdtemp(prefix="unpack.", dir=base)
        try:
            os.chmod(work, 0o755)   # apt's downloader (_apt) writes there
            r = subprocess.run(["apt-get", "download"] + list(PACKAGES), cwd=work, capture_output=True, text=True)
            debs = [f for f in os.listdir(work) if f.endswith(".deb")]
            if r.returncode or len(debs) != len(PACKAGES):
                why = (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1]
                fail("apt-get download %s failed (run apt-get update first?): %s" % (" ".join(PACKAGES), why))
            unpacked = os.path.join(work, "root")
            for deb in debs:
                r = subprocess.run(["dpkg", "-x", os.path.join(work, deb), unpacked], capture_output=True, text=True)
                if r.returncode:
                    fail("dpkg -x %s failed: %s" % (deb, r.stderr.strip()))
            sendmail = os.path.join(unpacked, "usr", "sbin", "sendmail")
            if not os.path.lexists(sendmail):
                os.symlink("smtpctl", sendmail)   # the package has it: smtpctl called as sendmail
            os.rename(unpacked, root)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    missing = []
    for prog in ("smtpd", "smtpctl"):
        out = subprocess.run(["ldd", os.path.join(root, "usr", "sbin", prog)], capture_output=True, text=True).stdout
        missing += [line.split()[0] for line in out.splitlines() if "not found" in line]
    if missing:
        fail("libraries not found: %s (apt-get install libevent-2.1-7 libdb5.3 libpam0g)" % " ".join(sorted(set(missing))))
    for user in USERS:
        try:
            pwd.getpwnam(user)
        except KeyError:
            r = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", EMPTY,
                                "--shell", "/usr/sbin/nologin", user], capture_output=True, text=True)
            if r.returncode:
                fail("useradd %s failed: %s" % (user, r.stderr.strip()))
    # smtpctl refuses to run unless it is setgid to the queue's group (the package's postinst
    # sets it so); the group's id is this machine's
    smtpctl = os.path.join(root, "usr", "sbin", "smtpctl")
    gid = pwd.getpwnam(USERS[1]).pw_gid
    st = os.stat(smtpctl)
    if st.st_gid != gid or st.st_mode & 0o7777 != 0o2755:
        os.chown(smtpctl, 0, gid)
        os.chmod(smtpctl, 0o2755)
    return root


MAX_MAILS = 1000     # messages a session, with a listener (the default is 100)


class OpenSmtpd:
    """a private OpenSMTPD in its own mount namespace: @local.test to one Maildir, the remote
    domains to the sink; injected through its sendmail"""
    name = "opensmtpd"
    # every process of the instance is smtpd re-executed ("smtpd -x queue" and so on): their comm
    # is smtpd alike, and mta.py's peak is the largest of them
    qmgr = "smtpd"

    def __init__(self, sink, smtpd=None):
        self.root = ensure()
        self.p = None
        self.dir = tempfile.mkdtemp(prefix="ferry-bench-opensmtpd.")
        try:
            self.setup(sink, smtpd)
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        try:
            self.resume()
        except BaseException:
            self.stop()
            raise

    def setup(self, sink, smtpd):
        """the instance's directories and smtpd.conf; with smtpd (port, cert, key), a listener on
        127.0.0.1:port offering STARTTLS with cert and key"""
        os.chmod(self.dir, 0o755)
        ns = os.path.join(self.dir, "ns")
        self.spool = os.path.join(ns, "spool")           # /var/spool: smtpd makes smtpd/ in it
        self.queue = os.path.join(self.spool, "smtpd")
        self.run = os.path.join(ns, "run")               # /run: smtpd.sock
        varlib = os.path.join(ns, "varlib")              # /var/lib: opensmtpd/empty
        for d in (self.spool, self.run, os.path.join(varlib, "opensmtpd", "empty")):
            os.makedirs(d)
        for d in (ns, self.spool, self.run, varlib, os.path.join(varlib, "opensmtpd")):
            os.chmod(d, 0o755)
        self.resolv = os.path.join(ns, "resolv.conf")
        open(self.resolv, "w").write("lookup file\n")
        self.maildir = os.path.join(self.dir, "mail", "box")
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(self.maildir, sub))
        subprocess.run(["chown", "-R", "nobody", os.path.join(self.dir, "mail")], check=True)
        self.binds = [(self.spool, "/var/spool"), (self.run, "/run"), (varlib, "/var/lib"),
                      (os.path.join(self.root, "usr", "libexec"), "/usr/libexec"), (self.resolv, "/etc/resolv.conf")]
        self.conf = os.path.join(self.dir, "smtpd.conf")
        nobody = pwd.getpwnam("nobody")
        open(self.conf, "w").write(
            "# ferry's benchmark: a private instance (tests/bench/peer_opensmtpd.py)\n"
            'table mailbox { "@local.test" = "nobody" }\n'
            'table users { "nobody" = "%d:%d:%s" }\n'
            'action "local" maildir "%s" virtual <mailbox> userbase <users>\n'
            'action "remote" relay host "smtp+notls://127.0.0.1:%d"\n'
            'match from local for domain "local.test" action "local"\n'
            'match from local for domain { %s } action "remote"\n'
            % (nobody.pw_uid, nobody.pw_gid, os.path.dirname(self.maildir), self.maildir, sink.port, ", ".join('"%s"' % d for d in REMOTE)))
        if smtpd:
            # the key read by the parent (root) at its start, and by no one else
            tls = os.path.join(self.dir, "tls")
            os.makedirs(tls, mode=0o700)
            for src, dst in ((smtpd[1], "cert.pem"), (smtpd[2], "key.pem")):
                shutil.copyfile(src, os.path.join(tls, dst))
                os.chmod(os.path.join(tls, dst), 0o600)
            rules = open(self.conf).read()
            open(self.conf, "w").write(
                'pki bench cert "%s/cert.pem"\n'
                'pki bench key "%s/key.pem"\n'
                'listen on 127.0.0.1 port %d tls pki bench\n'
                'smtp limit max-mails %d\n' % (tls, tls, smtpd[0], MAX_MAILS) + rules)
        self.log = os.path.join(self.dir, "smtpd.log")

    def ns_argv(self):
        """the prefix that runs a command in the instance's mount namespace (a full path:
        sendmail-load runs its argv without a PATH search)"""
        return [NSENTER, "-t", str(self.p.pid), "-m", "--"]

    def smtpctl(self, *args):
        r = subprocess.run(self.ns_argv() + [os.path.join(self.root, "usr", "sbin", "smtpctl")] + list(args),
                           capture_output=True, text=True)
        if r.returncode:
            fail("smtpctl %s: %s%s" % (" ".join(args), r.stdout.strip(), r.stderr.strip()))
        return r.stdout

    def running(self):
        return self.p is not None and self.p.poll() is None

    def start(self):
        mounts = "".join("mount --bind '%s' '%s' && " % b for b in self.binds)
        script = "%sexec '%s' -d -f '%s'" % (mounts, os.path.join(self.root, "usr", "sbin", "smtpd"), self.conf)
        with open(self.log, "ab") as log:
            self.p = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                                      stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        sock = os.path.join(self.run, "smtpd.sock")
        deadline = time.time() + 20
        while True:
            if not self.running():
                fail("smtpd exited with %s at its start; its log: %s" % (self.p.returncode, self.tail()))
            if os.path.exists(sock):
                try:
                    self.smtpctl("show", "status")
                    return
                except SystemExit:
                    pass
            if time.time() > deadline:
                self.kill()
                fail("smtpd did not answer on its socket within 20 s; its log: %s" % self.tail())
            time.sleep(0.05)

    def tail(self):
        try:
            return " | ".join(open(self.log, errors="replace").read().strip().splitlines()[-5:])
        except OSError:
            return "(none)"

    def sendmail(self):
        return self.ns_argv() + [os.path.join(self.root, "usr", "sbin", "sendmail"), "-f", "load%@bench.test"], dict(os.environ)

    def pause(self):
        self.smtpctl("pause", "mda")
        self.smtpctl("pause", "mta")

    def resume(self):
        if not self.running():
            self.start()
        else:
            self.smtpctl("resume", "mda")
            self.smtpctl("resume", "mta")

    def empty(self):
        # a message is in incoming/ while it is received, in queue/ until its last envelope is
        # done (then moved to purge/ and removed); offline/ and temporary/ hold what the
        # enqueuer wrote without the daemon
        return not any(any_file(os.path.join(self.queue, d)) for d in QUEUE_DIRS)

    def roots(self):
        """the smtpd parent (in the foreground: the process started here); every other process
        of the instance is under it"""
        return [self.p.pid] if self.running() else []

    def tree_pids(self):
        kids = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                ppid = int(open("/proc/%s/stat" % d).read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d))
        ours, todo = set(), [self.p.pid]
        while todo:
            pid = todo.pop()
            if pid not in ours:
                ours.add(pid)
                todo += kids.get(pid, [])
        return ours

    def kill(self):
        """SIGTERM to the parent (smtpd stops its children), then SIGKILL to whatever of its tree
        is left after 10 s"""
        if self.p is None:
            return
        pids = self.tree_pids() if self.running() else set()
        if self.running():
            self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.time() + 10
        while True:
            left = [pid for pid in pids if os.path.exists("/proc/%d" % pid) and pid != self.p.pid]
            if self.p.poll() is None:
                left.append(self.p.pid)
            if not left:
                break
            if time.time() > deadline:
                for pid in left:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                self.p.poll()
                break
            time.sleep(0.05)
        if self.p.returncode is None:
            self.p.wait(10)

    def stop(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
