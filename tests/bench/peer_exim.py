"""Exim for tests/bench/mta.py: Debian 12's Exim 4.96 (exim4-daemon-light) as a private instance.

The package is never installed (it conflicts with postfix): ensure() fetches it with apt-get
download and unpacks it with dpkg -x under $FERRY_TOP/build/peers/exim/, once. The instance has
its own configuration, spool, log and Maildir in a fresh temporary directory. For mta.py it has
no listener: mail goes in through its sendmail interface (exim4 -C CONFIG), which delivers each
message at once in a process of its own (Exim's default), and a queue-runner daemon (exim4 -qf1s)
delivers what was queued while the instance was paused. For relay_bench.py (smtpd given) the
same daemon also listens on 127.0.0.1 (exim4 -bd -qf1s), and each message taken over SMTP is
delivered at once the same way, up to 10 messages a connection (smtp_accept_queue_per_connection,
Exim's default): a connection's later messages are queued for the runners.

What this needs of the machine, besides the package's libraries (libidn12 is the one Debian 12
does not have with Postfix installed):
- the user Debian-exim: the Debian build's exim user is looked up by name before the
  configuration is read, so the binary does not start without it; ensure() creates it
  (useradd --system --user-group), as exim4-base would;
- a line in /etc/exim4/trusted_configs, the build's TRUSTED_CONFIG_LIST, naming the instance's
  configuration while it runs: Exim re-executes itself as the exim user to deliver a message
  it has just received, and to send the next message down an open SMTP connection, and gives
  up root in those processes (so cannot deliver) if they name with -C a configuration that is
  not listed there. The instance adds its line when it starts and takes it off in stop(); the
  file (and /etc/exim4) is removed when no line is left.

Settings that are not Exim's defaults (the configuration written below; the page must say them):
- exim_path: the unpacked binary (Exim re-executes itself by that name);
- spool_directory, log_file_path, pid_file_path: in the instance's directory;
- primary_hostname = bench.test (no lookup of the machine's name);
- keep_environment = (empty: the environment is cleared, as by default, but without the
  warning that each process otherwise writes to the main log; Debian's configuration sets it too);
- queue_only_file: the file "paused" in the instance's directory; while it exists a message is
  only queued (pause());
- the routers: @remote.test, @r0.test, @r1.test, @r2.test by manualroute to 127.0.0.1 with
  self = send (127.0.0.1 is this host: the default, freeze, would stop every message);
  @local.test by accept to an appendfile transport; nothing else is routed;
- the smtp transport: port = the sink's port; no TLS or DNS setting (the sink offers no
  STARTTLS, the route is an address);
- the appendfile transport: maildir_format into one Maildir (directory = its path), as the user
  nobody (a local delivery needs a user; root is in the build's fixed never_users);
- the retry rule of Debian's configuration (* * F,2h,15m; G,16h,1h,1.5; F,4d,6h): without any,
  a delivery that failed for a while would bounce at once;
- the daemon runs only as a queue runner, every second (-qf1s: the first run at once, each run
  forcing delivery whatever the retry times): the queue of a paused instance is drained by the
  runners it starts, one a second up to queue_run_max.
With a listener (relay_bench.py), besides:
- daemon_smtp_ports = the port, local_interfaces = 127.0.0.1;
- smtp_accept_max = 100 (the default, 20, is the bench's number of sessions: a session's next
  connection could come before the last one's process ended, and be refused);
- tls_certificate and tls_privatekey: the bench's certificate, copied where the exim user reads
  it (STARTTLS is offered to every client: tls_advertise_hosts is * by default);
- acl_smtp_rcpt: accept from 127.0.0.1 (it relays for it), deny the rest (without an RCPT ACL
  Exim takes no recipient over SMTP).
Concurrency is Exim's default: remote_max_parallel 2, queue_run_max 5, a connection to the sink
reused for up to connection_max_messages (500) messages waiting for it (the hints database in
the spool), up to max_rcpt (100) recipients a transaction, of several domains (multi_domain).

Each message is delivered by a process that its sendmail forks before exiting (Exim's
background delivery), an orphan: so that it stays a descendant of the harness (whose checks
count every other process as another job's), the instance makes the harness a child subreaper
(prctl PR_SET_CHILD_SUBREAPER) while it runs, and reaps those processes as they end (in empty(),
which the harness polls, and in stop()), their CPU kept (reaped_cpu(): a count of the daemon's
tree misses it). In a drain every delivery is the daemon's; over SMTP, a delivery whose
connection's process ended first is such an orphan too.
Run with /usr/bin/python3, as root."""

import ctypes
import fcntl
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import eventually  # noqa: E402
from bench_proc import any_file, proc_stats  # noqa: E402

TREE = os.path.join(os.environ["FERRY_TOP"], "build", "peers", "exim")
ROOT = os.path.join(TREE, "root")
EXIM = os.path.join(ROOT, "usr", "sbin", "exim4")
PACKAGES = ("exim4-daemon-light",)
EXIM_USER = "Debian-exim"                    # the build's EXIM_USER (ref:Debian-exim)
TRUSTED = "/etc/exim4/trusted_configs"       # the build's TRUSTED_CONFIG_LIST
MAILBOX_USER = "nobody"
INTERVAL = "1s"                              # the queue runners' interval
REMOTE = ("remote.test", "r0.test", "r1.test", "r2.test")


def fail(why):
    sys.exit("bench: exim: " + why)


def ensure():
    """The unpacked binary (fetched and unpacked once), runnable: its user exists and its
    libraries load; the path of exim4. Ends the program with the reason when it cannot."""
    if os.geteuid() != 0:
        fail("the private Exim runs as root")
    if not os.path.exists(EXIM):
        os.makedirs(TREE, exist_ok=True)
        work = tempfile.mkdtemp(prefix="fetch.", dir=TREE)
        try:
            r = subprocess.run(["apt-get", "download"] + list(PACKAGES), cwd=work, capture_output=True, text=True)
            debs = [f for f in os.listdir(work) if f.endswith(".deb")]
            if r.returncode or len(debs) != len(PACKAGES):
                fail("apt-get download %s failed (apt-get update first?): %s" % (" ".join(PACKAGES), r.stderr.strip()))
            tree = os.path.join(work, "root")
            for deb in debs:
                r = subprocess.run(["dpkg", "-x", os.path.join(work, deb), tree], capture_output=True, text=True)
                if r.returncode:
                    fail("dpkg -x %s failed: %s" % (deb, r.stderr.strip()))
            if not os.path.exists(os.path.join(tree, "usr", "sbin", "exim4")):
                fail("%s holds no usr/sbin/exim4" % " ".join(debs))
            shutil.rmtree(ROOT, ignore_errors=True)
            os.rename(tree, ROOT)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    try:
        pwd.getpwnam(EXIM_USER)
    except KeyError:
        r = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                            "--shell", "/usr/sbin/nologin", EXIM_USER], capture_output=True, text=True)
        if r.returncode:
            fail("cannot create the user %s (the build's exim user): %s" % (EXIM_USER, r.stderr.strip()))
    r = subprocess.run([EXIM, "-C", "/dev/null", "-bV"], capture_output=True, text=True)
    if r.returncode or not r.stdout.startswith("Exim version"):
        fail("%s -bV failed (a library missing? apt-get install libidn12): %s" % (EXIM, (r.stderr or r.stdout).strip()))
    return EXIM


class Trusted:
    """/etc/exim4/trusted_configs, one line per running instance, edited under a lock"""

    LOCK = os.path.join(TREE, "trusted.lock")

    @classmethod
    def edit(cls, change):
        with open(cls.LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                lines = open(TRUSTED).read().splitlines()
            except FileNotFoundError:
                lines = []
            lines = change(lines)
            if lines:
                os.makedirs(os.path.dirname(TRUSTED), mode=0o755, exist_ok=True)
                tmp = TRUSTED + ".new"
                with open(tmp, "w") as f:
                    f.write("".join(x + "\n" for x in lines))
                os.chmod(tmp, 0o644)
                os.rename(tmp, TRUSTED)
            else:
                try:
                    os.unlink(TRUSTED)
                    os.rmdir(os.path.dirname(TRUSTED))
                except OSError:
                    pass

    @classmethod
    def add(cls, conf):
        cls.edit(lambda lines: lines + [conf] if conf not in lines else lines)

    @classmethod
    def remove(cls, conf):
        cls.edit(lambda lines: [x for x in lines if x != conf])


def wait_for(cond, timeout):
    return eventually(cond, timeout, 0.05)


CONFIG = """# a private Exim of tests/bench/peer_exim.py
exim_path = {exim}
spool_directory = {dir}/spool
log_file_path = {dir}/log/%slog
pid_file_path = {dir}/exim.pid
primary_hostname = bench.test
keep_environment =
queue_only_file = {dir}/paused
{listener}
begin routers

remote:
  driver = manualroute
  domains = {remote}
  route_list = * 127.0.0.1
  self = send
  transport = remote_smtp

local:
  driver = accept
  domains = local.test
  transport = maildir

begin transports

remote_smtp:
  driver = smtp
  port = {port}

maildir:
  driver = appendfile
  directory = {maildir}
  maildir_format
  user = {user}

begin retry

* * F,2h,15m; G,16h,1h,1.5; F,4d,6h
{acl}"""

# with smtpd: the listener, in the main section, and the ACL that lets 127.0.0.1 relay
LISTENER = """daemon_smtp_ports = {port}
local_interfaces = 127.0.0.1
smtp_accept_max = {accept_max}
tls_certificate = {dir}/tls/cert.pem
tls_privatekey = {dir}/tls/key.pem
acl_smtp_rcpt = rcpt
"""
ACL = """
begin acl

rcpt:
  accept hosts = 127.0.0.1
  deny message = relay not permitted
"""
ACCEPT_MAX = 100      # connections at once (Exim's default, 20, is the bench's number of sessions)


PR_SET_CHILD_SUBREAPER = 36


def subreaper(on):
    """this process adopts the orphans of its descendants (on) or no longer does"""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0) != 0:
        fail("prctl(PR_SET_CHILD_SUBREAPER): %s" % os.strerror(ctypes.get_errno()))


# the CPU seconds of the adopted Exim processes reap() waited for, each with the children it
# waited for (wait4's usage): the part of Exim's work that is under no Exim process once done
REAPED_CPU = [0.0]


def adopted(zombies):
    """the pids of this process's children that are Exim processes (orphans of Exim's
    background deliveries, adopted as subreaper): those that have ended (zombies) or the others"""
    me = os.getpid()
    return [pid for pid, comm, x in proc_stats() if comm == "exim4" and int(x[1]) == me and (x[0] == "Z") == zombies]


def reap():
    """waits for the adopted Exim processes that have ended, their CPU added to REAPED_CPU; never
    for another child"""
    for pid in adopted(True):
        try:
            got, _, ru = os.wait4(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        if got:
            REAPED_CPU[0] += ru.ru_utime + ru.ru_stime


class Exim:
    """a private Exim 4 (Debian 12's exim4-daemon-light, unpacked by ensure()): @local.test to
    one Maildir, @remote.test and @r0..2.test to the sink on 127.0.0.1; mail in through its
    sendmail, delivered at once by Exim's background delivery, and by a queue-runner daemon"""

    name = "exim"
    qmgr = "exim4"      # every Exim process has this comm: the daemon, its runners, deliveries

    def __init__(self, sink, smtpd=None):
        self.exim = ensure()
        self.dir = tempfile.mkdtemp(prefix="ferry-bench-exim.")
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "exim.conf")
        self.spool = os.path.join(self.dir, "spool")
        self.paused = os.path.join(self.dir, "paused")
        self.pidfile = os.path.join(self.dir, "daemon.pid")
        self.maildir = os.path.join(self.dir, "mail", "Maildir")
        self.daemon = None
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(self.maildir, sub))
        subprocess.run(["chown", "-R", MAILBOX_USER, os.path.join(self.dir, "mail")], check=True)
        for d in (self.spool, os.path.join(self.dir, "log")):
            os.makedirs(d)
            subprocess.run(["chown", EXIM_USER, d], check=True)
        listener = acl = ""
        if smtpd:
            # the certificate and key where the exim user reads them: Exim reads them in the
            # process that takes the connection, which runs as that user
            tls = os.path.join(self.dir, "tls")
            os.makedirs(tls)
            for src, dst in ((smtpd[1], "cert.pem"), (smtpd[2], "key.pem")):
                shutil.copyfile(src, os.path.join(tls, dst))
                os.chmod(os.path.join(tls, dst), 0o600)
            subprocess.run(["chown", "-R", EXIM_USER, tls], check=True)
            listener = LISTENER.format(port=smtpd[0], accept_max=ACCEPT_MAX, dir=self.dir)
            acl = ACL
        with open(self.conf, "w") as f:
            f.write(CONFIG.format(exim=self.exim, dir=self.dir, remote=" : ".join(REMOTE), port=sink.port,
                                  maildir=self.maildir, user=MAILBOX_USER, listener=listener, acl=acl))
        self.listen = bool(smtpd)
        os.chmod(self.conf, 0o644)
        Trusted.add(self.conf)
        subreaper(True)
        try:
            r = subprocess.run([self.exim, "-C", self.conf, "-bV"], capture_output=True, text=True)
            if r.returncode:
                fail("the configuration %s is refused: %s" % (self.conf, (r.stderr or r.stdout).strip()))
            self.resume()
        except BaseException:
            self.stop()
            raise

    def sendmail(self):
        return [self.exim, "-C", self.conf, "-f", "load%@bench.test"], dict(os.environ)

    def processes(self):
        """the PIDs of the live processes of this instance: every one names its configuration
        (the daemon's runners are forks of it, the others run exim4 -C CONFIG)"""
        want = self.conf.encode()
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                argv = open("/proc/%s/cmdline" % d, "rb").read().split(b"\0")
            except OSError:
                continue
            if want in argv:
                pids.append(int(d))
        return pids

    def end(self, pids, timeout):
        """SIGTERM to pids, then SIGKILL to those of this instance still there after timeout"""
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if not wait_for(lambda: not set(pids) & set(self.processes()), timeout):
            for pid in set(pids) & set(self.processes()):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            wait_for(lambda: not set(pids) & set(self.processes()), 10)

    def pause(self):
        """no delivery from now on: what is injected stays queued (queue_only_file); the daemon
        stopped and whatever delivery was under way finished"""
        open(self.paused, "w").close()
        if self.daemon:
            self.end([self.daemon], 30)
            self.daemon = None
        if not wait_for(lambda: not self.processes(), 30):
            fail("deliveries still running 30 s after the pause: %s" % self.processes())

    def resume(self):
        """delivery again: a message is delivered as it comes, and a queue-runner daemon
        (a run at once, then every second) delivers what is queued"""
        if os.path.exists(self.paused):
            os.unlink(self.paused)
        if self.daemon:
            self.end([self.daemon], 30)
            self.daemon = None
        if os.path.exists(self.pidfile):
            os.unlink(self.pidfile)
        # the command forks the daemon and exits; -oP: a daemon with no listener writes its PID
        # only when told where
        r = subprocess.run([self.exim, "-C", self.conf, "-oP", self.pidfile] + (["-bd"] if self.listen else []) + ["-qf" + INTERVAL],
                           capture_output=True, text=True)
        if r.returncode:
            fail("the queue runner did not start: %s" % r.stderr.strip())

        def pid():
            try:
                self.daemon = int(open(self.pidfile).read().split()[0])
            except (OSError, ValueError, IndexError):
                return False
            return True
        if not wait_for(pid, 10):
            fail("the queue runner wrote no PID in %s" % self.pidfile)

    def empty(self):
        # a message is its -H and -D files in spool/input (no split spool): removed once every
        # recipient is delivered
        reap()
        return not any_file(os.path.join(self.spool, "input"))

    def roots(self):
        """the queue-runner daemon (it detaches): its runners and their deliveries are under it,
        and the adopted orphans of its background deliveries still running"""
        return ([self.daemon] if self.daemon else []) + adopted(False)

    def reaped_cpu(self):
        """the CPU seconds of the Exim processes that ended under no Exim process (adopted, then
        reaped): what a count of its process tree misses"""
        return REAPED_CPU[0]

    def stop(self):
        if self.daemon:
            self.end([self.daemon], 10)
            self.daemon = None
        left = self.processes()
        if left:
            self.end(left, 10)
        reap()
        subreaper(False)
        Trusted.remove(self.conf)
        shutil.rmtree(self.dir, ignore_errors=True)
