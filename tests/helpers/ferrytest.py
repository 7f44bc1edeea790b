"""Shared by ferry's Python system tests: a temporary home, injection, and a client for the
delivery protocol of doc/protocols.html that drives a real spawner through its pipes.
Run with /usr/bin/python3 (Debian's, for the stdlib mailbox and email modules)."""

import os
import pwd
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback

TOP = os.environ["FERRY_TOP"]
BIN = os.environ.get("FERRY_BIN") or os.path.join(TOP, "build", "bin")
checks = 0


# ferry-clean starts no request's removals more than this many ahead of its oldest
# unacknowledged request (doc/ferry-clean.html, "Removals at once")
CLEAN_ACK_BATCH = 16


def fail(what):
    sys.stdout.flush()
    print("FAILED: " + what, file=sys.stderr, flush=True)
    sys.exit(1)


def ok(what):
    global checks
    checks += 1
    print("ok - " + what, flush=True)


def expect(cond, what, detail=""):
    if not cond:
        fail(what + (": " + str(detail) if detail else ""))
    ok(what)


def eventually(cond, timeout=5, interval=0.01):
    """For what another thread or process records: true as soon as cond() is, false at the deadline
    (cond is tried every interval seconds)."""
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            return False
        time.sleep(interval)
    return True


def s6_log(logdir):
    """a whole s6-log directory: the rotated archives (@...s), oldest first, then current"""
    out = ""
    try:
        names = sorted(x for x in os.listdir(logdir) if x.startswith("@")) + ["current"]
    except FileNotFoundError:
        return ""
    for f in names:
        try:
            out += open(os.path.join(logdir, f), errors="replace").read()
        except FileNotFoundError:
            pass
    return out


class Supervised:
    """s6-svscan on a home's service directory, stopped (s6-svscanctl -t) by stop()"""

    def __init__(self, home_path, env=None):
        """env: more environment for every service (a fault-injection shim, say)"""
        self.service = os.path.join(home_path, "service")
        self.p = subprocess.Popen(["s6-svscan", self.service], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env=dict(os.environ, **env) if env else None)

    def stop(self):
        if self.p is None:
            return
        subprocess.run(["s6-svscanctl", "-t", self.service])
        try:
            self.p.wait(30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.p = None


def stop_all(stoppers):
    """calls every stop function, whatever the others do"""
    for stop in stoppers:
        try:
            stop()
        except Exception:
            pass


class Cases:
    """A test made of cases, each a group of checks: a failed check is reported (FAILED: ...) and
    the test goes on; a case that stops (fail exits) or raises ends only itself, counted as failed,
    and the processes it left in home.procs are killed. end() prints "N checks passed", or after
    any failure "N checks passed, M failed:" and what failed, one a line, and exits 1."""

    def __init__(self, home):
        self.home = home
        self.failures = []

    def check(self, cond, what, detail=""):
        """ok(what) if cond holds, else a FAILED line with detail's repr (cut at 800 characters); returns cond"""
        if cond:
            ok(what)
        else:
            print("FAILED: %s%s" % (what, (": " + repr(detail)[:800]) if detail != "" else ""), flush=True)
            self.failures.append(what)
        return cond

    def case(self, title, fn):
        """runs fn() under the heading "# title" """
        print("# " + title, flush=True)
        try:
            fn()
        except SystemExit:
            print("FAILED: %s: the case stopped (see above)" % title, flush=True)
            self.failures.append(title)
        except Exception:
            print("FAILED: %s: %s" % (title, traceback.format_exc()), flush=True)
            self.failures.append(title)
        for p in self.home.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.home.procs[:] = []

    def finish(self, sp):
        """ends a Spawner's input and checks that it exits 0; returns its log"""
        rc = sp.finish()
        self.check(rc == 0, "%s exits 0 at end of input" % sp.program, (rc, sp.logtext()[-600:]))
        return sp.logtext()

    def end(self):
        """the summary; exits 1 if a check or a case failed"""
        if self.failures:
            print("%d checks passed, %d failed:" % (checks, len(self.failures)), flush=True)
            for f in self.failures:
                print("  " + f)
            sys.exit(1)
        print("%d checks passed" % checks)


def median(v):
    v = sorted(v)
    return v[(len(v) - 1) // 2]


NAME_DIGITS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NAME_RE = r"[0-9A-Z]{11}\.[0-9]+"      # any message's name, in a regular expression


def msgname(msgid, stamp):
    """A message's name (doc/queue.html): the stamp (microseconds) in 11 base-32 digits, a dot, the id."""
    return "".join(NAME_DIGITS[(stamp >> (5 * (10 - k))) & 31] for k in range(11)) + "." + str(msgid)


def sendmail_as(user, home_path, rcpt, msg, sender="sender@example.org"):
    """ferry-sendmail -f SENDER RCPT, msg (text) on its input, run as user (a passwd entry, not
    root) with only PATH and FERRY_HOME=home_path in its environment: it must take the message"""
    r = subprocess.run(["setpriv", "--reuid=%d" % user.pw_uid, "--regid=%d" % user.pw_gid, "--clear-groups",
                        os.path.join(BIN, "ferry-sendmail"), "-f", sender, rcpt], input=msg.encode(),
                       capture_output=True, env={"PATH": "/usr/bin:/bin", "FERRY_HOME": home_path})
    expect(r.returncode == 0, "as %s (not root), ferry-sendmail takes the message to %s" % (user.pw_name, rcpt), (r.returncode, r.stderr))


def is_root():
    return os.geteuid() == 0


def skip_unless_root(why=""):
    """a test that needs root ends here as skipped (exit 77) when it is not root"""
    if not is_root():
        print("skipped: needs root" + (" (%s)" % why if why else ""))
        sys.exit(77)


def test_user(name="ferrytest", home=None, system=True):
    """As root: a user for deliveries (created once), with its home set to home. A system user
    (uid below UID_MIN) owns virtual mailboxes; mail to a user's own account through the passwd
    database needs an ordinary user (system=False): ferry delivers none as a system account."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd"] + (["--system"] if system else []) + ["--no-create-home", "--shell", "/bin/sh", name], check=True)
    if home:
        subprocess.run(["usermod", "-d", home, name], check=True)
    return pwd.getpwnam(name)


class Home:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="ferry-test.")
        os.chmod(self.tmp, 0o755)
        self.path = os.path.join(self.tmp, "home")
        r = subprocess.run([os.path.join(BIN, "ferry-setup"), "-b", BIN, self.path], capture_output=True, text=True)
        if r.returncode:
            fail("ferry-setup: " + r.stdout + r.stderr)
        self.procs = []
        self.stoppers = []      # the stop functions of what started() was given

    def make_with_dedicated_users(self):
        """this home becomes a new one that ferry-setup -u makes (the dedicated users, queue/
        closed to everyone else), in a folder the users can reach; ferry-setup's run is returned"""
        path = os.path.join(self.tmp, "uhome")
        r = subprocess.run([os.path.join(BIN, "ferry-setup"), "-u", "-b", BIN, path], capture_output=True, text=True)
        expect(r.returncode == 0, "ferry-setup -u", r.stderr)
        self.path = path
        os.chmod(self.tmp, 0o755)
        return r

    def log(self):
        """the set's log (log/current) as text"""
        return s6_log(os.path.join(self.path, "log"))

    def delivery_line(self, rcpt, what):
        """the set's last log line for a delivery to rcpt ending in what (a regular expression:
        success, deferral, failure), or None"""
        m = re.findall(r"^.*delivery \d+: msg \S+ to %s: %s: .*$" % (re.escape(rcpt), what), self.log(), re.M)
        return m[-1] if m else None

    def control(self, name, value):
        with open(os.path.join(self.path, "control", name), "w") as f:
            f.write(value)

    def settings(self, **kv):
        """control/NAME holding the one line VALUE, for each NAME=VALUE"""
        for k, v in kv.items():
            self.control(k, "%s\n" % v)

    def route(self, *lines):
        """control/smtproutes holding these lines"""
        self.control("smtproutes", "".join(l + "\n" for l in lines))

    def started(self, x):
        """x (a peer, a server: anything with a stop()), stopped by cleanup() before anything
        else, the last one given first; returns x"""
        self.stoppers.append(x.stop)
        return x

    def maildir(self, user):
        return os.path.join(self.tmp, "mail", user, "Maildir")

    def maildirs(self, users, domains):
        """a Maildir per user under tmp/mail, each user@domain a virtual mailbox delivering there
        (as the test user, when root), the table compiled"""
        for u in users:
            for sub in ("tmp", "new", "cur"):
                os.makedirs(os.path.join(self.maildir(u), sub), exist_ok=True)
        if is_root():
            test_user()
            self.control("mailboxowner", "ferrytest\n")
            subprocess.run(["chown", "-R", "ferrytest", os.path.join(self.tmp, "mail")], check=True)
        self.control("virtualdomains", "".join(d + "\n" for d in domains))
        self.control("mailboxes", "".join("%s@%s: %s/\n" % (u, d, self.maildir(u)) for u in users for d in domains))
        subprocess.run([os.path.join(BIN, "ferry-mailboxes"), self.path], check=True, capture_output=True)

    def catchall(self, domain="example.org", extra="", owned=()):
        """one Maildir, tmp/mail/Maildir, taking all mail for @domain (as the test user, when root,
        who also owns the directories in owned); extra: more lines for control/mailboxes. The
        table is compiled; returns the Maildir's path."""
        md = os.path.join(self.tmp, "mail", "Maildir")
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(md, sub), exist_ok=True)
        if is_root():
            test_user()
            self.control("mailboxowner", "ferrytest\n")
            subprocess.run(["chown", "-R", "ferrytest", os.path.join(self.tmp, "mail")] + list(owned), check=True)
            os.chmod(self.tmp, 0o755)
        self.control("virtualdomains", domain + "\n")
        self.control("mailboxes", "@%s: %s/\n%s" % (domain, md, extra))
        subprocess.run([os.path.join(BIN, "ferry-mailboxes"), self.path], check=True, capture_output=True)
        return md

    def queue_files(self, dirs=("todo", "intd", "local", "remote", "mess", "pid", "bounce", "defer", "hold", "delete")):
        """every file under those queue directories: none left means the queue is clean"""
        out = []
        for d in dirs:
            for root, _, files in os.walk(os.path.join(self.path, "queue", d)):
                out += [os.path.join(root, f) for f in files]
        return out

    def left_for_sweep(self, kills, delivered):
        """After kills of the whole set: the message files left that nothing refers to, checked
        against doc/ferry-schedule.html. Such a file is a finished message whose other files
        ferry-clean had acknowledged removing (at most CLEAN_ACK_BATCH done, not acknowledged)
        while its own removal was still to come: so at most a batch of them per kill, and each
        one's mail already delivered (delivered(bytes) says so). Counted once the removals still
        under way have ended (the count steady for a second). Returns the files."""
        last, since, deadline = None, time.time(), time.time() + 20
        while time.time() < deadline:
            n = len(self.queue_files(("mess",)))
            if n != last:
                last, since = n, time.time()
            elif time.time() - since >= 1:
                break
            time.sleep(0.05)
        files = self.queue_files(("mess",))
        expect(len(files) <= kills * CLEAN_ACK_BATCH, "at most %d message files a kill left for ferry-clean's sweep (%d for %d kills)"
               % (CLEAN_ACK_BATCH, len(files), kills), files[:5])
        undelivered = []
        for f in files:
            with open(f, "rb") as fh:
                data = fh.read()
            if not delivered(data):
                undelivered.append(f)
        expect(not undelivered, "each of them a finished message, its mail delivered", undelivered[:5])
        # the envelope goes just before the message file: one left has its message file left too
        envelopes = self.queue_files(("intd",))
        ids = {os.path.basename(f) for f in files}
        expect(all(os.path.basename(f) in ids for f in envelopes), "an envelope (intd) left only with its message file (%d)" % len(envelopes),
               [f for f in envelopes if os.path.basename(f) not in ids][:5])
        return files + envelopes

    def mess_ids(self):
        out = set()
        base = os.path.join(self.path, "queue", "mess")
        for d in os.listdir(base):
            out |= {int(x) for x in os.listdir(os.path.join(base, d))}
        return out

    def inject(self, message, sender, rcpts, extra=b"", running=False):
        """With running (the set runs and may take the message at once): the id if its message
        file is still there afterwards, else None."""
        env = b"F" + sender.encode() + b"\0" + b"".join(b"T" + r.encode() + b"\0" for r in rcpts) + extra + b"\0"
        before = self.mess_ids() if running else None
        r, w = os.pipe()
        os.write(w, env)
        os.close(w)
        p = subprocess.run([os.path.join(BIN, "ferry-inject"), self.path], input=message, stdout=r, stderr=subprocess.PIPE)
        os.close(r)
        if p.returncode:
            fail("ferry-inject exited %d: %s" % (p.returncode, p.stderr.decode()))
        if running:
            new = self.mess_ids() - before
            return new.pop() if len(new) == 1 else None
        return self.newest_id()

    def todo_ids(self):
        out = []
        for d in os.listdir(os.path.join(self.path, "queue", "todo")):
            out += [int(x) for x in os.listdir(os.path.join(self.path, "queue", "todo", d))]
        return out

    def newest_id(self):
        best = None
        for d in os.listdir(os.path.join(self.path, "queue", "todo")):
            for x in os.listdir(os.path.join(self.path, "queue", "todo", d)):
                p = os.path.join(self.path, "queue", "todo", d, x)
                if best is None or os.stat(p).st_mtime_ns > best[0]:
                    best = (os.stat(p).st_mtime_ns, int(x))
        return best[1]

    def mess(self, msgid):
        split = int(open(os.path.join(self.path, "control", "queuesplit")).read())
        return open(os.path.join(self.path, "queue", "mess", str(msgid % split), str(msgid)), "rb").read()

    def name(self, msgid):
        """The message's name, as the log and the hand tools give it: from its message file,
        which must still be there (ferry/msgname.h)."""
        split = int(open(os.path.join(self.path, "control", "queuesplit")).read())
        st = os.stat(os.path.join(self.path, "queue", "mess", str(msgid % split), str(msgid)))
        return msgname(msgid, st.st_mtime_ns // 1000)

    def todo(self, msgid):
        split = int(open(os.path.join(self.path, "control", "queuesplit")).read())
        return open(os.path.join(self.path, "queue", "todo", str(msgid % split), str(msgid)), "rb").read()

    def cleanup(self):
        stop_all(reversed(self.stoppers))
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if os.environ.get("FERRY_KEEP"):
            print("kept", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def syncfs_starts(trace):
    """the times (seconds) at which a process traced by strace -ttt entered syncfs (none when the
    trace is missing)"""
    out = []
    if os.path.exists(trace):
        for line in open(trace):
            f = line.split()
            if len(f) >= 2 and f[1].startswith("syncfs("):
                out.append(float(f[0]))
    return out


def netstring(payload):
    return str(len(payload)).encode() + b":" + payload + b","


def body_facts(data):
    """A message file's body facts as its injector records them (src/libferry/body_scan.c): the
    w and b records, (b"w<octets on the wire>", b"b7" or b"b8", then b"L" for a line over 998
    octets). A line's length does not count the LF that ends it nor a CR just before it; the
    last line, without an LF, is judged the same way."""
    wire = len(data) + data.count(b"\n")
    eightbit = bool(data.translate(None, bytes(range(128))))
    longline = any(len(line) - line.endswith(b"\r") > 998 for line in data.split(b"\n"))
    return (b"w%d" % wire, (b"b8" if eightbit else b"b7") + (b"L" if longline else b""))


def request(delivery, msgid, sender, rcpts, facts=(b"w0", b"b7")):
    """A delivery request (doc/protocols.html); facts: the message's w and b fields (body_facts)"""
    fields = [str(delivery).encode(), str(msgid).encode()] + list(facts) + [sender.encode()] + [r.encode() for r in rcpts]
    return netstring(b"".join(f + b"\0" for f in fields))


class Spawner:
    """A real spawner with its fd 0 and fd 1 on pipes; answers parsed as they arrive."""

    def __init__(self, home, program):
        self.log = open(os.path.join(home.tmp, program + ".log"), "ab+")
        self.logstart = os.fstat(self.log.fileno()).st_size    # logtext()[logstart:]: this spawner's part
        wrap = os.environ.get("FERRY_WRAP", "").split()   # e.g. FERRY_WRAP="valgrind -q --leak-check=full"
        self.home = home
        self.program = program
        self.p = subprocess.Popen(wrap + [os.path.join(BIN, program), home.path], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.log)
        home.procs.append(self.p)
        self.buf = b""
        self.answers = {}
        self.order = []
        self.controls = []      # the frames starting with "!": (answers before it, [fields])
        self.logpath = self.log.name

    def send(self, raw):
        self.p.stdin.write(raw)
        self.p.stdin.flush()

    def deliver(self, delivery, msgid, sender, rcpts):
        """The request with the body facts of the message file in the home, as ferry-schedule
        sends them from its envelope (none there: w0 b7)."""
        try:
            facts = body_facts(self.home.mess(msgid))
        except OSError:
            facts = (b"w0", b"b7")
        self.send(request(delivery, msgid, sender, rcpts, facts))

    def try_deliver(self, delivery, msgid, sender, rcpts, timeout=15):
        """For a spawner that may refuse to start: the request sent (its input already closed is no
        error), then a wait of up to timeout seconds until it exits, closes its output or answers.
        Returns (whether one of those came, the answer or None)."""
        try:
            self.deliver(delivery, msgid, sender, rcpts)
        except BrokenPipeError:
            pass
        ended = eventually(lambda: self.p.poll() is not None or not self.pump(0.05) or delivery in self.answers, timeout)
        return ended, self.answers.get(delivery)

    def close(self):
        self.p.stdin.close()

    def _parse(self):
        while True:
            c = self.buf.find(b":")
            if c < 0:
                return
            n = int(self.buf[:c])
            if len(self.buf) < c + 1 + n + 1:
                return
            payload = self.buf[c + 1:c + 1 + n]
            if self.buf[c + 1 + n:c + 2 + n] != b",":
                fail("answer frame does not end with a comma: %r" % self.buf[:200])
            self.buf = self.buf[c + 2 + n:]
            fields = payload.split(b"\0")
            if fields[-1] != b"":
                fail("answer payload does not end with a null byte: %r" % payload)
            fields = [f.decode(errors="replace") for f in fields[:-1]]
            if fields and fields[0].startswith("!"):
                self.controls.append((len(self.order), fields))
                continue
            num = int(fields[0])
            self.answers[num] = [(f[0], f[1:]) for f in fields[1:]]
            self.order.append(num)

    def pump(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if r:
            data = os.read(self.p.stdout.fileno(), 65536)
            if not data:
                return False
            self.buf += data
            self._parse()
        return True

    def wait(self, nums, timeout=30):
        deadline = time.time() + timeout
        nums = [nums] if isinstance(nums, int) else list(nums)
        while any(n not in self.answers for n in nums):
            left = deadline - time.time()
            if left <= 0:
                fail("no answer for deliveries %s within %ss; log: %s" % (
                    [n for n in nums if n not in self.answers], timeout, self.logtext()))
            if not self.pump(left):
                if any(n not in self.answers for n in nums):
                    fail("the spawner closed its output; log: " + self.logtext())
        return [self.answers[n] for n in nums] if len(nums) > 1 else self.answers[nums[0]]

    def logtext(self):
        self.log.flush()
        return open(self.logpath, "rb").read().decode(errors="replace")

    def finish(self, timeout=30):
        self.close()
        deadline = time.time() + timeout
        while self.pump(max(0.01, deadline - time.time())):
            if time.time() > deadline:
                fail("the spawner did not exit after end of input")
        try:
            return self.p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            fail("the spawner did not exit after end of input")


def injectd_chunks(msg, size=None):
    """the message as ferry-injectd takes it: chunks of size bytes (all in one without size), then
    the empty chunk"""
    if not size:
        return b"%d:" % len(msg) + msg + b",0:,"
    out = b""
    for i in range(0, len(msg), size):
        part = msg[i:i + size]
        out += b"%d:" % len(part) + part + b","
    return out + b"0:,"


def injectd_talk(home, data, close_early=False):
    """sends data on the home's public/inject and returns the answer line (None with close_early:
    the client hangs up once it has sent)"""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.path.join(home.path, "public", "inject"))
    s.sendall(data)
    if close_early:
        s.close()
        return None
    s.settimeout(30)
    out = b""
    while not out.endswith(b"\n"):
        b = s.recv(200)
        if not b:
            break
        out += b
    s.close()
    return out.decode()


def injectd_serve(home, *opts):
    """starts ferry-injectd by hand on the home (its stderr to a file) and waits for its socket;
    returns the process and the open stderr file"""
    err = open(os.path.join(home.tmp, "injectd.err"), "w+")
    p = subprocess.Popen([os.path.join(BIN, "ferry-injectd")] + list(opts) + [home.path], stderr=err)
    home.procs.append(p)
    expect(eventually(lambda: os.path.exists(os.path.join(home.path, "public", "inject")), 10), "ferry-injectd makes its socket public/inject")
    return p, err
