"""ferry against Postfix, the same load on each, by hand (never in make check).

    mta.py SYSTEM WORKLOAD MODE N     one run, one result row
    mta.py matrix N RUNS [WORKLOAD[:MODE]...]  every row (of those workloads, or of one mode of
                                      one), systems alternating, medians and ratios: a markdown
                                      section for doc/performance.md; each run on stderr. N may
                                      be a list ("5000 20000"): every row at each size, and
                                      ferry's rate at each against the first
    mta.py tls N RUNS [WORKLOAD...]   the drains over TLS (remote, multi; both when none is named):
                                      ferry with and without TLS, Postfix and postfix-tuned with
                                      smtp_tls_security_level = may, against tests/bench/tls-sink;
                                      a markdown section for doc/performance.md
    mta.py limits N RUNS              the machine's limits alone (commits, batched commits, spawns)
    mta.py dane N RUNS [WORKLOAD...]  the same drains (remote, multi; both when none is named),
                                      ferry over TLS alone and with DANE, alternating: each
                                      one's rate, the ratio, the TLSA queries; a markdown section
    mta.py compare BUILD_A BUILD_B N RUNS [WORKLOAD[:MODE]...]  ferry's rows only, for two builds
                                      (each a build directory holding bin/, or a bin directory),
                                      alternating A B B A; per row each one's median and min-max,
                                      and B's rate over A's

SYSTEM: ferry (a home made by ferry-setup, the set under s6-svscan), postfix (Debian's Postfix
as installed, a private instance: its own config and queue directories, no listener at all) or
postfix-tuned (the same with in_flow_delay 0 and higher process and concurrency limits).
WORKLOAD: local (1 recipient, a Maildir through a virtual mailbox), remote (1 recipient, Postfix's
smtp-sink on 127.0.0.1), multi (10 recipients over 3 remote domains); remote-tls and multi-tls
send the same to tests/bench/tls-sink offering STARTTLS (Postfix with smtp_tls_security_level =
may), remote-plain and multi-plain to the same sink without STARTTLS, remote-dane and multi-dane
(ferry only) to the STARTTLS sink with DANE: control/dnssecservers names a private validating
unbound (tests/helpers/dnssec_peers.py) that serves the TLSA record of the sink's certificate,
the routes name mx.bench.test, and the run fails unless every delivery's text says it was
verified by DANE (a single run of any of these prints the sink's counters, ferry's channel CPU
and, with DANE, the unbound's TLSA and address queries on a line of its own). MODE: e2e (4 injectors
in parallel while delivery runs: seconds from the first injection to the empty queue) or drain
(inject with delivery stopped, then start it: seconds until the queue is empty). Messages are
4 KiB and go in through each system's sendmail command (ferry-sendmail; Postfix's sendmail and
postdrop), run by tests/bench/sendmail-load.c; its children's CPU is the injection CPU. The last
column, stolen seconds, is the time the host gave this machine's cores to something else during
the timed part (/proc/stat's steal): a run with much of it was slowed by the host, not by the
system measured; the total CPU column leaves it out. In a matrix, a run with more than a tenth of
the machine stolen is made again (at most three attempts, the last kept), for every system alike,
each attempt on stderr. The machine is shared: the timed part of a run starts only once it is
idle (at most a tenth of a core busy over 2 seconds, MTA_QUIET; waited for at most 15 minutes),
and a run during which other jobs (every process that is neither the system measured, its sink
and DNS, nor the harness; kernel threads left out) took more than a twentieth of a core is made
again like one with much stolen."""

import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
import ferrytest  # noqa: E402
from ferrytest import BIN, Home, Supervised, eventually, is_root, median, s6_log, test_user  # noqa: E402
from smtp_peers import postfix_private  # noqa: E402
from dnssec_peers import DnssecWorld, missing_tools, query, tlsa_of  # noqa: E402

LOAD = os.path.join(os.environ["FERRY_TOP"], "build", "tests", "helpers", "sendmail-load")
SINK = os.path.join(os.environ["FERRY_TOP"], "build", "tests", "helpers", "tls-sink")
SIZE = 4096
INJECTORS = 4


class TlsSink:
    """tests/bench/tls-sink on 127.0.0.1: with STARTTLS (a 2048-bit RSA certificate made here with
    the openssl command, for sink.test) or without; stop() gives its counters"""

    def __init__(self, tls):
        self.dir = tempfile.mkdtemp(prefix="ferry-bench-tls-sink.")
        self.cert = None
        self.log = os.path.join(self.dir, "envelopes")
        self.envelopes = None
        args = [SINK, "-l", self.log]
        if tls:
            cert, key = os.path.join(self.dir, "cert.pem"), os.path.join(self.dir, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                            "-days", "2", "-subj", "/CN=sink.test"], check=True, capture_output=True)
            args += ["-c", cert, "-k", key]
            self.cert = cert
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        first = self.p.stdout.readline().split()
        if len(first) != 2 or first[0] != "port":
            self.p.kill()
            sys.exit("bench: tls-sink did not start")
        self.port = int(first[1])
        self.counts = None

    def stop(self):
        if self.counts is None:
            self.p.terminate()
            out, _ = self.p.communicate()
            self.counts = {k: float(v) for k, v in (line.split() for line in out.splitlines() if len(line.split()) == 2)}
            try:
                with open(self.log) as f:
                    self.envelopes = f.read().splitlines()
            except OSError:
                self.envelopes = None
            shutil.rmtree(self.dir, ignore_errors=True)
        return self.counts


def sink_for(workload):
    """remote-tls, multi-tls, remote-dane, multi-dane: tls-sink with STARTTLS; every other
    workload (remote-plain and multi-plain are remote and multi): the same sink without it"""
    return TlsSink(workload.endswith(("-tls", "-dane")))


LOAD_SUBJECT = re.compile(r"^Subject: load (\d+)$", re.M)


def delivered_once(s, sink, workload, n):
    """every recipient of the n messages injected (numbered 0 to n - 1 by sendmail-load, in their
    Subject: load N) delivered exactly once: for local, the Subject of each file in the Maildir;
    for the others, the Subject and the recipients of each message the sink took. Exits naming
    the first message and recipient missing or delivered twice."""
    want = rcpts_of(workload)
    seen = {}
    if workload.split("-")[0] == "local":
        new = os.path.join(s.maildir, "new")
        for name in os.listdir(new):
            with open(os.path.join(new, name), errors="replace") as f:
                m = LOAD_SUBJECT.search(f.read(8192))
            if not m:
                sys.exit("bench: %s delivered %s, which is no message of the load" % (s.name, name))
            k = ("load_" + m.group(1), want[0])
            seen[k] = seen.get(k, 0) + 1
    else:
        sink.stop()
        if sink.envelopes is None:
            sys.exit("bench: the sink kept no envelopes")
        for line in sink.envelopes:
            f = line.split()
            for a in f[2:]:
                k = (f[0], a)
                seen[k] = seen.get(k, 0) + 1
    for k in range(n):
        for r in want:
            a = ("load_%d" % k, r)
            got = seen.pop(a, 0)
            if got != 1:
                sys.exit("bench: %s delivered message %s to %s %d times" % (s.name, a[0], a[1], got))
    if seen:
        sys.exit("bench: %s delivered a message that was not injected: %s to %s" % ((s.name,) + sorted(seen)[0]))
    return {"verified": n * len(want)}


DANE_ZONE = "bench.test"
DANE_HOST = "mx." + DANE_ZONE
DANE_TTL = 300


class DaneWorld:
    """The DNS of the DANE workloads: a DnssecWorld (tests/helpers/dnssec_peers.py, a private nsd
    and validating unbound on loopback) serving the signed zone bench.test, where mx.bench.test
    is A 127.0.0.1 and _PORT._tcp.mx.bench.test is TLSA 3 1 1 of the sink's certificate, both
    with a TTL of 300 s; .resolver is the unbound for control/dnssecservers"""

    def __init__(self, sink):
        miss = missing_tools()
        if miss:
            sys.exit("bench: the DANE workloads need %s (package/deps: nsd, unbound, ldnsutils)" % " ".join(miss))
        self.tlsa = "_%d._tcp.%s" % (sink.port, DANE_HOST)
        self.world = DnssecWorld()
        self.world.add_zone(DANE_ZONE, ["mx %d IN A 127.0.0.1" % DANE_TTL,
                                        "%s. %d IN TLSA %s" % (self.tlsa, DANE_TTL, tlsa_of(sink.cert, 3, 1, 1))], ttl=DANE_TTL)
        try:
            self.world.start()
            # what the rows take for granted, asked as the channel asks it
            r = query(self.world.resolver, self.tlsa, "TLSA")
            a = query(self.world.resolver, DANE_HOST, "A")
        except Exception as e:
            self.world.stop()
            sys.exit("bench: the DNSSEC world did not start: %s" % e)
        if not (r.rcode == 0 and r.ad and r.records("TLSA") and a.rcode == 0 and a.ad and a.records("A")):
            self.world.stop()
            sys.exit("bench: %s TLSA or %s A does not validate: %r %r" % (self.tlsa, DANE_HOST, r, a))
        self.resolver = self.world.resolver
        self.since = self.world.log_size()

    def mark(self):
        """the queries counted from now on"""
        self.since = self.world.log_size()

    def queries(self):
        """{"tlsa_queries": the TLSA queries the unbound received since mark(), "addr_queries":
        the A and AAAA queries for mx.bench.test}"""
        w = self.world
        return {"tlsa_queries": w.queries(self.tlsa, "TLSA", self.since),
                "addr_queries": w.queries(DANE_HOST, "A", self.since) + w.queries(DANE_HOST, "AAAA", self.since)}

    def stop(self):
        self.world.stop()


def channel_cpu(name, home=None):
    """the CPU seconds of the running processes whose program is name: the time they ran, user
    and kernel (/proc/PID/schedstat, in nanoseconds: /proc/PID/stat counts in ticks of 10 ms);
    with home, only those working in that directory (each member of a ferry set enters its home),
    so that another ferry home on the machine is not counted"""
    total = 0.0
    where = os.path.realpath(home) if home else None
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            argv0 = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")[0].decode(errors="replace")
            if os.path.basename(argv0) != name:
                continue
            if where and os.readlink("/proc/%s/cwd" % pid) != where:
                continue
            total += int(open("/proc/%s/schedstat" % pid).read().split()[0]) / 1e9
        except (OSError, IndexError, ValueError):
            continue
    return total


def rcpts_of(workload):
    workload = workload.split("-")[0]
    if workload == "local":
        return ["u%@local.test"]
    if workload == "remote":
        return ["r%@remote.test"]
    return ["m%d-%%@r%d.test" % (k, k % 3) for k in range(10)]


SYNCS = ("fsync", "fdatasync", "syncfs", "sync", "sync_file_range", "msync")


class SyncCount:
    """System-wide sync calls over an interval, counted by perf from the syscall tracepoints
    (nothing else runs on the machine while a row is measured); None where perf cannot.
    sync_file_range with SYNC_FILE_RANGE_WAIT_BEFORE alone (flags 1) writes nothing, it only
    reads a file's writeback error state (ferry-spawn-local's covered workers): not counted."""

    def __init__(self):
        self.out = tempfile.mktemp(prefix="ferry-bench-perf.")
        events = []
        for k in SYNCS:
            events += ["-e", "syscalls:sys_enter_" + k]
            if k == "sync_file_range":
                events += ["--filter", "flags != 1"]
        try:
            self.p = subprocess.Popen(["perf", "stat", "-a", "-x", ",", "-o", self.out] + events,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError:
            self.p = None
        time.sleep(0.3)

    def stop(self):
        if not self.p:
            return None
        self.p.send_signal(2)
        self.p.wait()
        total = 0
        try:
            for line in open(self.out):
                f = line.split(",")
                if len(f) > 2 and "sys_enter_" in f[2]:
                    if not f[0].strip().isdigit():
                        return None
                    total += int(f[0])
            os.unlink(self.out)
        except OSError:
            return None
        return total


def cpu_busy():
    """(Seconds of CPU the whole machine spent busy: every core, user and kernel, not idle, iowait
    or steal; seconds stolen: the time the host ran something else while this machine's cores
    had work, /proc/stat's steal)"""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(f[:7]) - f[3] - f[4]) / hz, f[7] / hz


PF_KTHREAD = 0x00200000


def proc_table():
    """{pid: (parent pid, start time, CPU seconds)} of every process but kernel threads; its CPU
    seconds count those of the children it waited for (/proc/PID/stat: utime, stime, cutime,
    cstime)"""
    procs = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                x = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(x[6]) & PF_KTHREAD:
            continue
        procs[int(d)] = (int(x[1]), x[19], sum(int(v) for v in x[11:15]) / os.sysconf("SC_CLK_TCK"))
    return procs


def descendants(procs, roots):
    """the pids of roots and of every process under them in procs (proc_table's)"""
    ours = set(roots)
    kids = {}
    for pid, (ppid, _, _) in procs.items():
        kids.setdefault(ppid, []).append(pid)
    todo = list(ours)
    while todo:
        for k in kids.get(todo.pop(), ()):
            if k not in ours:
                ours.add(k)
                todo.append(k)
    return ours


def others_cpu(roots=()):
    """{pid: (start time, CPU seconds)} of each process that is not part of the run: neither this
    program nor a descendant of it or of roots (a system that detaches, Postfix's master), nor a
    kernel thread; its CPU seconds count those of the children it waited for, so that a
    short-lived process of another job, gone by the second look, is still counted in an
    ancestor's"""
    procs = proc_table()
    ours = descendants(procs, {os.getpid()} | set(roots))
    return {pid: (start, cpu) for pid, (_, start, cpu) in procs.items() if pid not in ours}


def tree_cpu(roots):
    """{pid: (start time, CPU seconds)} of roots and every process under them (a system's own
    processes: its supervision tree, Postfix's master), counted as others_cpu counts; with
    cpu_since, the CPU the system's processes took over an interval, those that came and went
    in it too (each one's parent in the tree waited for it)"""
    procs = proc_table()
    ours = descendants(procs, roots)
    return {pid: (start, cpu) for pid, (_, start, cpu) in procs.items() if pid in ours}


def cpu_since(before, after):
    """the CPU seconds a set of processes took between two looks (others_cpu's or tree_cpu's):
    their growth, a new process's whole time; a process of before gone since took the rest of its
    time in the parent that waited for it, which counts it all, so what it had at before is
    taken off"""
    total = 0.0
    for pid, (start, cpu) in after.items():
        old = before.get(pid)
        total += cpu - old[1] if old and old[0] == start else cpu
    for pid, (start, cpu) in before.items():
        if pid not in after or after[pid][0] != start:
            total -= cpu
    return max(0.0, total)


def others_cpu_since(before, roots=()):
    """the CPU seconds the processes that are not part of the run (others_cpu) took since before"""
    return cpu_since(before, others_cpu(roots))


def peak_kib(comm):
    """The peak resident memory (VmHWM) of the running process named comm, in KiB; None if none."""
    best = None
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if open("/proc/%s/comm" % pid).read().strip() != comm:
                continue
            for line in open("/proc/%s/status" % pid):
                if line.startswith("VmHWM:"):
                    k = int(line.split()[1])
                    best = k if best is None else max(best, k)
        except OSError:
            continue
    return best


def count_files(d):
    return sum(len(fs) for _, _, fs in os.walk(d))


def any_file(d):
    """whether the tree under d holds a file: the walk stops at the first directory with one (the
    harness asks this every 50 ms while a system drains, on the same 2 cores)"""
    return any(fs for _, _, fs in os.walk(d))


# set by a bench that measures a variant of ferry's home (tests/bench/shaping_bench.py): an
# object whose setup(ferry, sink) changes each ferry home before its set starts, and whose
# check(ferry, workload, messages) returns more figures of a run once its queue is empty (or
# ends the bench when the run measured something else)
FERRY_VARIANT = [None]


class Ferry:
    """a ferry home under s6-svscan; with dane (a DaneWorld), control/dnssecservers names its
    unbound and the routes name mx.bench.test instead of the sink's address"""
    name = "ferry"
    qmgr = "ferry-schedule"

    def __init__(self, sink, dane=None):
        self.home = Home()
        self.H = self.home.path
        self.maildir = os.path.join(self.home.tmp, "mail", "Maildir")
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(self.maildir, sub))
        if is_root():
            test_user()
            self.home.control("mailboxowner", "ferrytest\n")
            subprocess.run(["chown", "-R", "ferrytest", os.path.join(self.home.tmp, "mail")], check=True)
        self.home.control("virtualdomains", "local.test\n")
        self.home.control("mailboxes", "@local.test: %s/\n" % self.maildir)
        subprocess.run([os.path.join(BIN, "ferry-mailboxes"), self.H], check=True, capture_output=True)
        host = DANE_HOST if dane else "127.0.0.1"
        self.home.control("smtproutes", "".join("%s:%s:%d\n" % (d, host, sink.port) for d in ("remote.test", "r0.test", "r1.test", "r2.test")))
        if dane:
            self.home.control("dnssecservers", dane.resolver + "\n")
        if FERRY_VARIANT[0]:
            FERRY_VARIANT[0].setup(self, sink)
        if BIG_LOG[0]:
            # the DANE row's check reads every delivery line of the drain (dane_checked): the
            # log keeps enough archives for the largest drain (s6-log's n20 of the home as made
            # keeps 20 MB, less than 20,000 messages of multi log); both rows of the DANE
            # section alike
            run = os.path.join(self.H, "service", "ferry", "log", "run")
            text = open(run).read()
            if " n20 " not in text:
                sys.exit("bench: %s has no n20: the DANE check could not read the whole log" % run)
            open(run, "w").write(text.replace(" n20 ", " n400 "))
        self.svscan = Supervised(self.H)
        if not eventually(lambda: "ferry-schedule: starting" in s6_log(os.path.join(self.H, "log")), 20):
            sys.exit("bench: ferry did not start")

    def sendmail(self):
        return [os.path.join(BIN, "ferry-sendmail"), "-f", "load%@bench.test"], dict(os.environ, FERRY_HOME=self.H)

    def pause(self):
        subprocess.run(["s6-svc", "-d", os.path.join(self.H, "service", "ferry")], check=True)
        eventually(lambda: s6_log(os.path.join(self.H, "log")).rstrip().endswith("ferry-schedule: stopped"), 30)

    def resume(self):
        subprocess.run(["s6-svc", "-u", os.path.join(self.H, "service", "ferry")], check=True)

    def roots(self):
        return []

    def empty(self):
        # the message file goes last (doc/queue.html), and no workload here bounces: an empty
        # mess/ is an empty queue
        return not any(any_file(os.path.join(self.H, "queue", d)) for d in ("mess", "todo"))

    def stop(self):
        self.svscan.stop()
        self.home.cleanup()


class FerryInject(Ferry):
    """ferry fed through ferry-inject, the qmail-queue program that front ends run (message on fd
    0, envelope on fd 1: sendmail-load's SENDMAIL_LOAD_QQ), not through ferry-sendmail"""
    name = "ferry-inject"

    def sendmail(self):
        return [os.path.join(BIN, "ferry-inject"), "-f", "load%@bench.test"], dict(os.environ, FERRY_HOME=self.H, SENDMAIL_LOAD_QQ="1")


class Postfix:
    """a private instance of Debian's Postfix, relayhost to the sink; with smtpd (port, cert, key),
    Debian's smtpd listener on 127.0.0.1:port (else no listener at all), mynetworks 127.0.0.0/8
    (it relays for them), no DNS lookup of the client's name (smtpd_peername_lookup = no) and
    STARTTLS offered with cert and key (smtpd_tls_security_level = may, the server session cache
    of Debian's main.cf)"""

    def __init__(self, sink, tuned, tls=False, smtpd=None):
        self.name = "postfix-tuned" if tuned else "postfix"
        self.qmgr = "qmgr"
        self.dir = tempfile.mkdtemp(prefix="ferry-bench-postfix.")
        os.chmod(self.dir, 0o755)
        self.conf, self.queue, self.maildir, main = postfix_private(self.dir, "bench.test", "local.test", "loopback-only")
        with open("/etc/postfix/master.cf") as f:
            if smtpd:
                # Debian's smtpd line, its service name the address to listen on
                master = "".join(line.replace("smtp      inet", "127.0.0.1:%d inet" % smtpd[0], 1) if line.startswith("smtp      inet") else line
                                 for line in f)
            else:
                master = "".join("#" + line if line.startswith("smtp      inet") else line for line in f)
        if tls and tuned:
            # smtp_tls_connection_reuse (below) goes through tlsproxy
            master = master.replace("#tlsproxy  unix", "tlsproxy  unix")
        open(os.path.join(self.conf, "master.cf"), "w").write(master)
        main += ["relayhost = [127.0.0.1]:%d" % sink.port]
        if smtpd:
            main += ["mynetworks = 127.0.0.0/8", "smtpd_peername_lookup = no",
                     "smtpd_tls_cert_file = " + smtpd[1], "smtpd_tls_key_file = " + smtpd[2],
                     "smtpd_tls_security_level = may", "smtpd_tls_session_cache_database = btree:${data_directory}/smtpd_scache"]
        if tls:
            # the client side of Debian's main.cf as installed: STARTTLS when offered, the
            # sessions cached (tlsmgr) so that a new connection resumes
            main += ["smtp_tls_security_level = may", "smtp_tls_loglevel = 1",
                     "smtp_tls_session_cache_database = btree:${data_directory}/smtp_scache"]
            if tuned:
                main += ["smtp_tls_connection_reuse = yes"]
        if tuned:
            main += ["in_flow_delay = 0", "default_process_limit = 200", "virtual_destination_concurrency_limit = 20",
                     "smtp_destination_concurrency_limit = 20", "default_destination_concurrency_limit = 20"]
        open(os.path.join(self.conf, "main.cf"), "w").write("\n".join(main) + "\n")
        subprocess.run(["postfix", "-c", self.conf, "set-permissions"], check=True, capture_output=True)
        self.resume()

    def sendmail(self):
        return ["/usr/sbin/sendmail", "-C", self.conf, "-f", "load%@bench.test"], dict(os.environ)

    def pause(self):
        subprocess.run(["postfix", "-c", self.conf, "stop"], capture_output=True)
        eventually(lambda: subprocess.run(["postfix", "-c", self.conf, "status"], capture_output=True).returncode != 0, 30)

    def resume(self):
        subprocess.run(["postfix", "-c", self.conf, "start"], check=True, capture_output=True)

    def empty(self):
        return not any(any_file(os.path.join(self.queue, d)) for d in ("maildrop", "incoming", "active", "deferred", "hold"))

    def roots(self):
        """its master, which detaches (its processes are the run's)"""
        try:
            return [int(open(os.path.join(self.queue, "pid", "master.pid")).read().split()[0])]
        except (OSError, ValueError, IndexError):
            return []

    def stop(self):
        self.pause()
        shutil.rmtree(self.dir, ignore_errors=True)


PEERS = {"exim": ("peer_exim", "Exim"), "opensmtpd": ("peer_opensmtpd", "OpenSmtpd")}


def system_of(system, sink, dane, workload):
    """the system measured, started: ferry, postfix, postfix-tuned, or a peer of PEERS (a class of
    its own module in tests/bench/, made with the sink, with Postfix's interface: name, qmgr,
    sendmail, pause, resume, empty, roots, stop, maildir)"""
    if system == "ferry":
        return Ferry(sink, dane)
    if system == "ferry-inject":
        return FerryInject(sink)
    if system in ("postfix", "postfix-tuned"):
        return Postfix(sink, system == "postfix-tuned", workload.endswith("-tls"))
    if system in PEERS:
        module, cls = PEERS[system]
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        return getattr(__import__(module), cls)(sink)
    sys.exit("bench: no system %s (ferry, postfix, postfix-tuned, %s)" % (system, ", ".join(PEERS)))


# a run during which the host took more than this share of the machine's cores (steal) is
# made again, at most ATTEMPTS times in all, whichever system it measured
MAX_STOLEN = 0.10
# nor while other jobs on the machine (not the system measured, its sink, the harness) took more
# than this share of one core
MAX_OTHERS = 0.05
ATTEMPTS = 3
AGED = int(os.environ.get("MTA_AGED", "65"))   # seconds after a removal before its inodes count as old
                                                # (see below; lower only for a quick check of the harness)
last_teardown = [0.0]


def sync_settle(timed):
    """Everything dirty written back (sync(2)), and no file of the previous run freed less than
    AGED seconds ago. On ext4 without a journal (this project's test machine) a new inode skips
    every inode freed in the last 60 seconds (recently_deleted in fs/ext4/ialloc.c), so the run
    that follows the removal of another run's 15,000 to 25,000 files pays for them in each file
    it creates. Postfix's injection lasts over two minutes, ferry's 20 seconds: without this,
    only ferry's drain started inside that window."""
    os.sync()
    wait = AGED - (time.time() - last_teardown[0])
    if timed and wait > 0:
        time.sleep(wait)


QUIET = float(os.environ.get("MTA_QUIET", "0.1"))   # of one core: the most an idle machine may be busy
QUIET_WAIT = 900                                     # seconds: the longest wait for it


def wait_quiet():
    """Waits until the machine is idle before a timed part: over 2 seconds, with the system
    measured idle (drain: stopped; e2e: nothing injected yet), at most QUIET of one core busy
    (this machine is shared: another job's build or tests would be timed with the system); at
    most QUIET_WAIT seconds, then the run goes on all the same. Says on stderr when it waited.
    MTA_QUIET=0 turns it off (a quick check of the harness)."""
    if QUIET <= 0:
        return
    start = time.time()
    said = False
    while True:
        b0 = cpu_busy()[0]
        time.sleep(2)
        busy = (cpu_busy()[0] - b0) / 2
        if busy <= QUIET:
            break
        if not said and time.time() - start > 10:
            print("bench: waiting for the machine to be idle (%.2f of a core busy; at most %d s)" % (busy, QUIET_WAIT),
                  file=sys.stderr, flush=True)
            said = True
        if time.time() - start > QUIET_WAIT:
            print("bench: the machine is still busy (%.2f of a core) after %d s: timed all the same" % (busy, QUIET_WAIT),
                  file=sys.stderr, flush=True)
            return
    if time.time() - start > 3:
        print("bench: waited %.0f s for the machine to be idle" % (time.time() - start), file=sys.stderr, flush=True)


class Profile:
    """perf record -a over the timed part when MTA_PERF holds its options (say "-g -e
    sched:sched_switch" for where processes wait); the data file is named on stderr"""

    def __init__(self, tag):
        self.p = None
        if not os.environ.get("MTA_PERF"):
            return
        self.out = tempfile.mktemp(prefix="ferry-bench-%s." % tag, suffix=".data")
        self.p = subprocess.Popen(["perf", "record", "-a", "-q", "-o", self.out] + os.environ["MTA_PERF"].split(),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)

    def stop(self):
        if self.p:
            self.p.send_signal(2)
            self.p.wait()
            print("bench: profile in %s" % self.out, file=sys.stderr, flush=True)
            self.p = None


def one(system, workload, mode, n):
    """(seconds, injection CPU seconds, total CPU seconds, sync calls, queue manager's peak KiB)
    of one run on a fresh system; every figure from the first injection (e2e) or the start of
    delivery (drain) to the empty queue"""
    sink = sink_for(workload)
    dane = s = None
    try:
        if workload.endswith("-dane"):
            if system != "ferry":
                sys.exit("bench: the DANE workloads are ferry's only")
            dane = DaneWorld(sink)
        s = system_of(system, sink, dane, workload)
    finally:
        if s is None:
            if dane:
                dane.stop()
            sink.stop()
    syncs = prof = None
    try:
        argv, env = s.sendmail()
        argv += rcpts_of(workload)
        if mode == "drain":
            s.pause()
        # the previous run's removal of its whole directory (thousands of files, each freed
        # block discarded on this disk) must not be written back inside this run's timing: a
        # system that syncs the file system (syncfs) would pay for it, one that syncs files not
        sync_settle(mode == "e2e")
        per = n // INJECTORS
        if mode == "e2e":
            wait_quiet()
        syncs = SyncCount() if mode == "e2e" else syncs
        if dane:
            dane.mark()
        others = others_cpu(s.roots())
        t0, (c0, st0) = time.time(), cpu_busy()
        ps = [subprocess.Popen([LOAD, str(per), str(SIZE), str(k * per)] + argv, env=env, stdout=subprocess.PIPE, text=True) for k in range(INJECTORS)]
        cpu = 0.0
        for p in ps:
            out, _ = p.communicate()
            if p.returncode:
                sys.exit("bench: an injection failed on %s" % s.name)
            cpu += float(out.split()[1])
        if mode == "drain":
            # every injected message is on disk already (each system synced it before its
            # sendmail returned); what is still dirty is not the drain's work
            sync_settle(True)
            wait_quiet()
            syncs = SyncCount()
            prof = Profile("%s-%s-%s" % (system, workload, mode))
            if dane:
                dane.mark()
            others = others_cpu(s.roots())
            t0, (c0, st0) = time.time(), cpu_busy()
            s.resume()
        # polled every 50 ms: a tighter loop would take CPU from the system measured
        if not eventually(s.empty, 1800, 0.05):
            sys.exit("bench: %s did not empty its queue" % s.name)
        c1, st1 = cpu_busy()
        secs, total, stolen = time.time() - t0, c1 - c0, st1 - st0
        foreign = others_cpu_since(others, s.roots())
        nsync = syncs.stop()
        if prof:
            prof.stop()
        peak = peak_kib(s.qmgr)
        extra = {}
        if system == "ferry":
            # both started with the drain (the set is stopped while mail is injected): their
            # whole time, the queue manager's load of the queue included
            extra = {"channel_cpu": channel_cpu("ferry-spawn-remote", s.H), "qmgr_cpu": channel_cpu("ferry-schedule", s.H)}
        extra["others_cpu"] = foreign
        if system == "ferry" and FERRY_VARIANT[0]:
            extra.update(FERRY_VARIANT[0].check(s, workload, per * INJECTORS))
        extra.update(delivered_once(s, sink, workload, per * INJECTORS))
        if workload.split("-")[0] != "local":
            extra.update(sink.stop())
        if dane:
            extra.update(dane_checked(s, dane, per * INJECTORS * len(rcpts_of(workload))))
        return secs, cpu, total, nsync, peak, stolen, extra
    finally:
        if prof:
            prof.stop()
        if syncs and syncs.p and syncs.p.poll() is None:
            syncs.p.kill()     # interrupted: perf must not outlive the run
            syncs.p.wait()
        s.stop()
        sink.stop()
        if dane:
            dane.stop()
        last_teardown[0] = time.time()


DELIVERY = re.compile(r"delivery \d+: msg \S+ to (.*?): (success|failure|deferral): (.*)$", re.M)


def log_rcpts(addrs):
    """the number of recipients a delivery line names: "a b c" or "a b c and N more"."""
    w = addrs.split()
    if len(w) > 3 and w[-3] == "and" and w[-1] == "more" and w[-2].isdigit():
        return len(w) - 3 + int(w[-2])
    return len(w)


def dane_checked(s, dane, want):
    """After a DANE row, from the set's log: every delivery a success whose text says the sink's
    certificate was verified by DANE, want recipients in all (else the row measured something
    else: the run fails); from the unbound's log, the queries the drain made"""
    log = os.path.join(s.H, "log")
    lines = []

    def all_logged():
        lines[:] = DELIVERY.findall(s6_log(log))
        return sum(log_rcpts(a) for a, _, _ in lines) >= want
    eventually(all_logged, 30, 0.2)
    bad = [l for l in lines if l[1] != "success" or "dane: verified by DANE" not in l[2]]
    got = sum(log_rcpts(a) for a, _, _ in lines)
    if bad or got != want:
        sys.exit("bench: the DANE row is invalid: %d of %d recipients logged, %d deliveries not verified by DANE, the first: %r"
                 % (got, want, len(bad), bad[:1]))
    eventually(lambda: dane.queries()["tlsa_queries"] > 0, 10, 0.1)
    return dict(dane.queries(), dane_lines=len(lines))


def row(system, workload, mode, n, secs, cpu, total, nsync, peak, stolen):
    rc = len(rcpts_of(workload))
    return "| %s | %s | %s | %d | %.1f | %.0f | %.0f | %.1f | %.1f | %s | %s | %.1f |" % (
        system, workload, mode, n, secs, n / secs, n * rc / secs, 1000 * cpu / n, 1000 * total / n,
        "-" if nsync is None else "%.2f" % (nsync / n), "-" if peak is None else "%d" % peak, stolen)


COLS = "| system | workload | mode | messages | seconds | msg/s | rcpt/s | injection CPU ms/msg | total CPU ms/msg | sync calls/msg | queue manager peak KiB | stolen s |"
HEAD = COLS + "\n" + "|---" * 12 + "|"
SYSTEMS = ("ferry", "postfix", "postfix-tuned")

METHOD = """## ferry against Postfix, Exim and OpenSMTPD (tests/bench/mta.py)

%s messages of %d bytes per run, each through the system's own sendmail command (ferry-sendmail,
which hands the message to ferry-injectd; Postfix's sendmail and postdrop; Exim's exim4 as
sendmail; OpenSMTPD's smtpctl as sendmail, entered into the instance's mount namespace with
nsenter), %d injectors in parallel (tests/bench/sendmail-load.c, a posix_spawn per message). Median of %d runs, the systems alternating within each run: %s.
The rows of ferry-inject are ferry fed through ferry-inject, the qmail-queue program that front
ends run (the message on fd 0, the envelope on fd 1), where the rows of ferry go through
ferry-sendmail and ferry-injectd's group commit.

Every system is a private instance on this machine, with its own configuration, queue and
users, delivering local mail to one Maildir and remote mail to the same sink on 127.0.0.1
(tests/bench/tls-sink, without STARTTLS). Postfix is Debian's as installed, no listener, local
mail to a virtual Maildir, remote mail through relayhost; postfix-tuned adds `in_flow_delay = 0`,
a process limit of 200 and destination concurrency 20. Exim (Debian's exim4-daemon-light) and
OpenSMTPD (Debian's opensmtpd) conflict with the postfix package: the benchmark fetches them
with `apt-get download` and unpacks them with `dpkg -x` into build/peers/; their configurations,
and every setting that is not the package's default, are in tests/bench/peer_exim.py and
tests/bench/peer_opensmtpd.py.

Every run is checked exactly once: each message carries its number in its Subject (load N), and
the run fails unless every recipient of every message was delivered once, no more, no less (the
Maildir's files; for remote mail, each message the sink took, with its recipients, logged by the
sink), and the queue is empty.

Workloads: local (1 recipient, a Maildir), remote (1 recipient, the sink), multi (10 recipients
over 3 remote domains). Modes: e2e (the injectors run while delivery runs: seconds from the first
injection to the empty queue) and drain (injected with delivery stopped, then started: seconds
until the queue is empty). Columns: injection CPU is the injectors' children; total CPU is the
whole machine's busy time over the row per message; sync calls are every fsync, fdatasync,
syncfs, sync, sync_file_range and msync on the machine during the row (perf, syscall
tracepoints), per message; the queue manager's peak is its VmHWM (ferry-schedule, qmgr, Exim's
queue runner, OpenSMTPD's queue process); stolen is the time the host gave this machine's cores
to something else (a run with more than a tenth of the machine stolen is made again, at most
three attempts). The ratio columns are ferry's rate over the faster Postfix's, and over the
faster of Exim and OpenSMTPD (which one in brackets).
"""


SYNCRATE = os.path.join(os.environ["FERRY_TOP"], "build", "tests", "helpers", "sync-rate")
SPAWNLOAD = os.path.join(os.environ["FERRY_TOP"], "build", "tests", "helpers", "inject-load")
LIMIT_WRITERS = 4


def limits(n):
    """the machine's own limits, where the queues live (the temporary directory's file system):
    {name: per second} for commits (create, write 4 KiB, fsync, link, directory fsync) by one
    writer and by LIMIT_WRITERS, the same batched 100 per syncfs, and spawns of /bin/true by
    INJECTORS processes at once (what one sendmail process a message costs, at best)"""
    out = {}
    sync_settle(True)
    d = tempfile.mkdtemp(prefix="ferry-bench-limits.")
    try:
        # every measurement in a directory of its own, none removed before the last: a removal's
        # inodes would be skipped by the next one's creations for a minute (see sync_settle)
        for key, args in (("commit1", []), ("commitw", ["-w", str(LIMIT_WRITERS)]),
                          ("batched1", ["-b"]), ("batchedw", ["-b", "-w", str(LIMIT_WRITERS)])):
            sub = os.path.join(d, key)
            os.mkdir(sub)
            r = subprocess.run([SYNCRATE, "-k"] + args + [sub, str(n), str(SIZE)], check=True, capture_output=True, text=True)
            out[key] = float(r.stdout.split()[-3])
    finally:
        shutil.rmtree(d, ignore_errors=True)
        last_teardown[0] = time.time()
    wait_quiet()
    t0 = time.time()
    ps = [subprocess.Popen([SPAWNLOAD, "spawn", str(n // INJECTORS)], stdout=subprocess.PIPE, text=True) for _ in range(INJECTORS)]
    for p in ps:
        p.communicate()
        if p.returncode:
            sys.exit("bench: inject-load spawn failed")
    out["spawn"] = (n // INJECTORS) * INJECTORS / (time.time() - t0)
    return out


LIMITS = """The machine's own limits, measured in the same run (%d operations each, median of %d rounds), on the
file system of the queues: a commit is what a queue must do at least for one message made durable
alone (create, write %d bytes, fsync, link into a second directory, fsync that directory;
tests/bench/sync-rate.c), by one writer and by %d writers at once; batched is the same writes with
one syncfs per 100 (what group commit can reach); spawn is /bin/true started by %d processes at
once (tests/helpers/inject-load spawn), the most messages a second that one sendmail process a
message allows.

| limit | per second |
|---|---|
| commits, 1 writer | %.0f |
| commits, %d writers | %.0f |
| batched commits, 1 writer | %.0f |
| batched commits, %d writers | %.0f |
| spawns of /bin/true, %d at once | %.0f |
"""


LIMIT_ROUNDS = 3   # at most: each round starts with a wait of AGED seconds


def limits_section(n, runs):
    """the limits table and its figures (medians of min(runs, LIMIT_ROUNDS) rounds)"""
    rounds = min(runs, LIMIT_ROUNDS)
    got = [limits(n) for _ in range(rounds)]
    m = {k: median([g[k] for g in got]) for k in got[0]}
    print(LIMITS % (n, rounds, SIZE, LIMIT_WRITERS, INJECTORS, m["commit1"], LIMIT_WRITERS, m["commitw"], m["batched1"],
                    LIMIT_WRITERS, m["batchedw"], INJECTORS, m["spawn"]))
    return ["<!-- figure mta.limit.%s %.0f -->" % (k, v) for k, v in sorted(m.items())]


def attempts(system, workload, mode, n, tag=None):
    """one run, made again while the host took much of the machine (at most ATTEMPTS times, the
    last kept whatever it is, for every system alike); each attempt on stderr"""
    for attempt in range(1, ATTEMPTS + 1):
        r = one(system, workload, mode, n)
        why = ""
        if r[5] > MAX_STOLEN * os.cpu_count() * r[0]:
            why = " stolen"
        elif r[6].get("others_cpu", 0) > MAX_OTHERS * r[0]:
            why = " other jobs' CPU"
        again = why and attempt < ATTEMPTS
        print("<!-- run: %s %s %s %s%s -->" % (tag or system, workload, mode, r, why + ": made again" if again else why),
              file=sys.stderr, flush=True)
        if not again:
            return r


def med(v, k):
    xs = [x[k] for x in v if x[k] is not None]
    return median(xs) if xs else None


def rows_of(args):
    # a workload may name one mode: local:drain
    workloads = [w.split(":") for w in args] or [["local"], ["remote"], ["multi"]]
    return [(w, mode) for w, *only in workloads for mode in (only or ("e2e", "drain"))]


PEER_SYSTEMS = ("exim", "opensmtpd")


def systems_measured():
    """ferry, the two Postfix, and the peers (MTA_SYSTEMS: the names, space-separated, to measure
    fewer)"""
    every = ("ferry", "ferry-inject", "postfix", "postfix-tuned") + PEER_SYSTEMS
    names = os.environ.get("MTA_SYSTEMS", " ".join(every)).split()
    if "ferry" not in names:
        sys.exit("bench: MTA_SYSTEMS must name ferry")
    return [x for x in every if x in names]


def best(meds, names):
    """the fastest of the systems named that were measured: (name, seconds), or None"""
    got = [(meds[x][0], x) for x in names if x in meds]
    return (min(got)[1], min(got)[0]) if got else None


def matrix(ns, runs, args):
    """every row at each N of ns, the systems alternating; then ferry's scale (each N against the
    first) and the machine's limits"""
    systems = systems_measured()
    print(METHOD % (" and ".join("{:,}".format(n) for n in ns), SIZE, INJECTORS, runs, ", ".join(systems)))
    print(COLS + " ferry / Postfix | ferry / best other |")
    print("|---" * 14 + "|", flush=True)
    figures = ["<!-- figure mta.n %d -->" % ns[0], "<!-- figure mta.runs %d -->" % runs,
               "<!-- figure mta.ns %s -->" % ",".join(str(n) for n in ns),
               "<!-- figure mta.systems %s -->" % ",".join(systems)]
    rate = {}
    for n in ns:
        for workload, mode in rows_of(args):
            res = {k: [] for k in systems}
            for _ in range(runs):
                for system in res:
                    res[system].append(attempts(system, workload, mode, n))
            meds = {k: [med(v, i) for i in range(6)] for k, v in res.items()}
            rc = len(rcpts_of(workload))
            for system in res:
                extra = " | |"
                if system == "ferry":
                    cells = []
                    for group in (("postfix", "postfix-tuned"), PEER_SYSTEMS):
                        b = best(meds, group)
                        cells.append("%.1f (%s)" % (b[1] / meds["ferry"][0], b[0]) if b else "-")
                    extra = " %s | %s |" % tuple(cells)
                print(row(system, workload, mode, n, *meds[system]) + extra, flush=True)
                rate[(n, workload, mode, system)] = n / meds[system][0]
                for k in (["mta.%s.%s.%s" % (workload, mode, system)] if n == ns[0] else []) + ["mta.n%d.%s.%s.%s" % (n, workload, mode, system)]:
                    figures += ["<!-- figure %s.msg %.1f -->" % (k, n / meds[system][0]),
                                "<!-- figure %s.rcpt %.1f -->" % (k, n * rc / meds[system][0]),
                                "<!-- figure %s.inj_cpu_ms %.2f -->" % (k, 1000 * meds[system][1] / n)]
    print()
    if len(ns) > 1:
        print("ferry's rate at each size against its rate at %s messages (the same workload and mode):\n" % "{:,}".format(ns[0]))
        print("| workload | mode | " + " | ".join("{:,}".format(n) for n in ns[1:]) + " |")
        print("|---|---|" + "---|" * (len(ns) - 1))
        for workload, mode in rows_of(args):
            pct = [100 * rate[(n, workload, mode, "ferry")] / rate[(ns[0], workload, mode, "ferry")] for n in ns[1:]]
            print("| %s | %s | %s |" % (workload, mode, " | ".join("%.0f%%" % p for p in pct)))
            figures += ["<!-- figure mta.scale.%s.%s.n%d %.1f -->" % (workload, mode, n, p) for n, p in zip(ns[1:], pct)]
        print()
    figures += limits_section(ns[0], runs)
    print("Each run's figures are on tests/bench/mta.py's standard error.")
    print()
    print("\n".join(figures))


SCALE_METHOD = """## ferry at scale (tests/bench/mta.py scale)

ferry alone, each workload and mode of the section above (the same messages, injectors, sink and
checks) with %s messages; at %s messages the median of %d runs (the reference: its runs are short, so
a run's hiccup weighs most there), at each larger size the median of %d. The last column is the
rate against the rate at %s messages, for the scale target. A drain of a large queue frees the
blocks of most files it removes, as any MTA does: the pools (queue.html) hold at most 2,048 files
each, which a drain of 5,000 messages fills early on. Where the machine's kernel pages out unused
page cache (the machine line says so), the files of a queue filled over minutes are read back from
disk by its drain, as any MTA's would be; 100,000 messages take minutes to inject.
"""


def scale_matrix(ns, runs, bigruns, args):
    """ferry's rate at each size of ns against its rate at the first, every workload and mode"""
    print(SCALE_METHOD % (" and ".join("{:,}".format(n) for n in ns), "{:,}".format(ns[0]), runs, bigruns, "{:,}".format(ns[0])))
    print("| workload | mode | messages | runs | seconds | msg/s | rcpt/s | total CPU ms/msg | sync calls/msg | queue manager peak KiB | against %s |" % "{:,}".format(ns[0]))
    print("|---" * 11 + "|", flush=True)
    figures = ["<!-- figure scale.ns %s -->" % ",".join(str(n) for n in ns)]
    for workload, mode in rows_of(args):
        base = None
        for n in ns:
            k = runs if n == ns[0] else bigruns
            v = [attempts("ferry", workload, mode, n) for _ in range(k)]
            secs, total, nsync, peak = med(v, 0), med(v, 2), med(v, 3), med(v, 4)
            rate = n / secs
            base = base or rate
            rc = len(rcpts_of(workload))
            print("| %s | %s | %s | %d | %.1f | %.0f | %.0f | %.2f | %s | %s | %.0f%% |" % (
                workload, mode, "{:,}".format(n), k, secs, rate, rate * rc, 1000 * total / n,
                "-" if nsync is None else "%.2f" % (nsync / n), "-" if peak is None else "%d" % peak, 100 * rate / base), flush=True)
            figures.append("<!-- figure scale.%s.%s.n%d.msg %.1f -->" % (workload, mode, n, rate))
            if n != ns[0]:
                figures.append("<!-- figure scale.pct.%s.%s.n%d %.1f -->" % (workload, mode, n, 100 * rate / base))
    print()
    print("Each run's figures are on tests/bench/mta.py's standard error.")
    print()
    print("\n".join(figures))


TLS_SYSTEMS = (("ferry", "tls"), ("ferry", "plain"), ("postfix", "tls"), ("postfix-tuned", "tls"))

TLS_METHOD = """## Remote over TLS (tests/bench/mta.py tls)

%d messages of %d bytes per run, injected as in the section above with delivery stopped, then
delivered (drain: seconds until the queue is empty); median of %d runs, the systems alternating
within each run (ferry with TLS first in odd runs, without in even ones). The peer is tests/bench/tls-sink on 127.0.0.1 (one process, OpenSSL 3, a
2048-bit RSA certificate made for the run, session tickets and a session cache so that clients
can resume); it offers STARTTLS, except to ferry (no TLS), where the same sink leaves it out.
ferry runs with its default settings (control/tlspolicy absent: `may`, STARTTLS when offered).
Postfix is the private instance of the section above, relayhost to the sink, with
`smtp_tls_security_level = may` and a TLS session cache (`smtp_tls_session_cache_database`,
as Debian's main.cf has it); postfix-tuned adds, besides its tuning above,
`smtp_tls_connection_reuse = yes` (TLS connections kept open through tlsproxy).

Workloads: remote (1 recipient), multi (10 recipients over 3 domains, all routed to the sink).
Columns: connections, handshakes (full and resumed) and recipients are the sink's counts; the run
fails unless the sink took every recipient. Handshakes per message are over the messages
injected. Sink handshake CPU is the server side: the sink's own CPU inside SSL_do_handshake,
per handshake (the certificate's RSA signature is most of a full one). Channel CPU is
ferry-spawn-remote's time on a CPU, user and kernel (/proc/PID/schedstat), per message; TLS cost per handshake is
ferry's channel CPU with TLS minus without, over the handshakes of the TLS row: the client side
of the handshakes and the encryption of the data both, so an upper bound of a handshake's cost.
The ratio columns are ferry's rate over each Postfix's (TLS rows) and over its own rate without
TLS.
"""

TLS_COLS = ("| system | workload | TLS | seconds | msg/s | rcpt/s | total CPU ms/msg | channel CPU ms/msg | connections"
            " | handshakes/msg | resumed % | sink handshake CPU us | TLS cost per handshake us | stolen s"
            " | ferry / postfix | ferry / postfix-tuned | ferry TLS / no TLS |")


def tls_matrix(n, runs, args):
    """the TLS rows: remote and multi drains, ferry with and without TLS, Postfix with"""
    print(TLS_METHOD % (n, SIZE, runs))
    print(TLS_COLS)
    print("|---" * TLS_COLS.count(" | ") + "|---|", flush=True)
    figures = ["<!-- figure tls.n %d -->" % n, "<!-- figure tls.runs %d -->" % runs]
    for workload in args or ("remote", "multi"):
        res = {k: [] for k in TLS_SYSTEMS}
        for k in range(runs):
            # ferry with and without TLS take turns at going first (a run's first row has
            # measured slower than the second with nothing else different)
            order = TLS_SYSTEMS if k % 2 == 0 else (TLS_SYSTEMS[1], TLS_SYSTEMS[0]) + TLS_SYSTEMS[2:]
            for system, tls in order:
                res[(system, tls)].append(attempts(system, "%s-%s" % (workload, tls), "drain", n))
        rc = len(rcpts_of(workload))
        meds = {}
        for k, v in res.items():
            m = [med(v, i) for i in range(6)]
            x = {}
            for key in ("channel_cpu", "connections", "handshakes", "resumed", "handshake_cpu_us"):
                got = [r[6][key] for r in v if key in r[6]]
                x[key] = median(got) if got else None
            meds[k] = (m, x)
        rate = {k: n / meds[k][0][0] for k in meds}
        ferry_tls, ferry_plain = meds[("ferry", "tls")][1], meds[("ferry", "plain")][1]
        for system, tls in TLS_SYSTEMS:
            (secs, _, total, _, _, stolen), x = meds[(system, tls)]
            hs = x["handshakes"] or 0
            cost = "-"
            if (system, tls) == ("ferry", "tls") and hs:
                cost = "%.0f" % (1e6 * (ferry_tls["channel_cpu"] - ferry_plain["channel_cpu"]) / hs)
            ratios = " | | |"
            if tls == "tls" and not hs:
                print("bench: %s negotiated no TLS with the sink (%s, STARTTLS offered)" % (system, workload), file=sys.stderr, flush=True)
            if (system, tls) == ("ferry", "tls"):
                ratios = " %.1f | %.1f | %.2f |" % (rate[("ferry", "tls")] / rate[("postfix", "tls")],
                                                  rate[("ferry", "tls")] / rate[("postfix-tuned", "tls")],
                                                  rate[("ferry", "tls")] / rate[("ferry", "plain")])
            print("| %s | %s | %s | %.1f | %.0f | %.0f | %.2f | %s | %d | %.3f | %s | %s | %s | %.1f |%s" % (
                system, workload, "yes" if tls == "tls" else "no", secs, rate[(system, tls)], rate[(system, tls)] * rc,
                1000 * total / n, "-" if x["channel_cpu"] is None else "%.3f" % (1000 * x["channel_cpu"] / n),
                x["connections"] or 0, hs / n, "%.0f" % (100 * x["resumed"] / hs) if hs else "-",
                "%.0f" % (x["handshake_cpu_us"] / hs) if hs else "-", cost, stolen, ratios), flush=True)
            k = "tls.%s.%s%s" % (workload, system, "" if tls == "tls" else ".plain")
            figures += ["<!-- figure %s.msg %.1f -->" % (k, rate[(system, tls)]),
                        "<!-- figure %s.rcpt %.1f -->" % (k, rate[(system, tls)] * rc)]
            if tls == "tls":
                figures += ["<!-- figure %s.hs_per_msg %.4f -->" % (k, hs / n)]
                if hs:
                    figures += ["<!-- figure %s.sink_hs_cpu_us %.0f -->" % (k, x["handshake_cpu_us"] / hs)]
                if cost != "-":
                    figures += ["<!-- figure %s.tls_cost_per_hs_us %s -->" % (k, cost)]
    print()
    figures += limits_section(n, runs)
    print("Each run's figures are on tests/bench/mta.py's standard error.")
    print()
    print("\n".join(figures))


DANE_METHOD = """## Remote with DANE (tests/bench/mta.py dane)

%d messages of %d bytes per run, the drains of the section above (ferry only), each workload
twice: over TLS alone, and with DANE. Median of %d runs, the two alternating within each run
(TLS alone first in odd runs, DANE first in even ones). The peer is the same tests/bench/tls-sink
with STARTTLS and its own 2048-bit RSA certificate for each run. TLS alone: the home of the
section above (no control/dnssecservers, the routes to 127.0.0.1:PORT: no DNS at all, the level
`may`). DANE: control/dnssecservers names a private validating unbound in front of a private nsd
(tests/helpers/dnssec_peers.py, both on 127.0.0.1) serving the zone %s signed with ECDSA
P-256 keys (ldns-signzone), the unbound trusting only its key; in it %s A 127.0.0.1 and, at
`_PORT._tcp.%s`, TLSA 3 1 1 of the sink's certificate, both with a TTL of %d s. The
routes name `%s:PORT`, so DANE applies (its address validates; no line in control/tlspolicy:
the level `dane`) and the DANE row also pays for the address lookups DANE needs (A and AAAA with
the AD bit asked); everything else is the same. Before the home starts, the harness asks the
unbound for both records and requires them validated, so its cache is warm, as a resolver in
front of busy mail usually is.

A run fails unless the sink took every recipient and the queue is empty, and, in the DANE rows,
unless every delivery in the set's log is a success whose text says `dane: verified by DANE`
(so that the check sees every line, the homes of both rows keep 400 log archives of 1 MB, not 20).
It starts once the machine is idle, and is made again (at most three attempts) if the host
stole more than a tenth of the machine or other jobs took more than a twentieth of a core:
stolen and other jobs' CPU are the medians of the runs kept.
The set is stopped during the injection, so ferry-spawn-remote starts with the drain, its TLSA
cache empty. TLSA queries are the unbound's own count (its log-queries lines) of the queries for
`_PORT._tcp.%s` TLSA from the start of delivery to the end of the run, over the number
of MX hosts (1) and over the TTLs the drain spans (1: it lasts seconds); each run's figure in
brackets. Address queries are the A and AAAA queries for %s (each domain resolves
its route). msg/s per run and DANE / TLS per run are in run order (each run's DANE row over its
own TLS row); DANE / TLS is the ratio of the medians.
"""

DANE_COLS = ("| workload | ferry with | seconds | msg/s | msg/s per run | rcpt/s | total CPU ms/msg | channel CPU ms/msg"
             " | connections | handshakes/msg | resumed % | TLSA queries per MX host per TTL | address queries | stolen s | other jobs' CPU s"
             " | DANE / TLS | DANE / TLS per run |")
DANE_HOSTS = (DANE_HOST,)     # the MX hosts of the DANE rows: TLSA queries are counted over them


def tlsa_per_host_ttl(r):
    """a DANE run's TLSA queries per MX host and per TTL the drain spanned"""
    return r[6]["tlsa_queries"] / (len(DANE_HOSTS) * max(1, math.ceil(r[0] / DANE_TTL)))


# set by dane_matrix: every ferry home keeps up to 400 log archives of 1 MB instead of 20
BIG_LOG = [False]


def dane_matrix(n, runs, args):
    """the DANE rows: remote and multi drains, ferry over TLS alone and with DANE, side by side"""
    BIG_LOG[0] = True
    print(DANE_METHOD % (n, SIZE, runs, DANE_ZONE, DANE_HOST, DANE_HOST, DANE_TTL, DANE_HOST, DANE_HOST, DANE_HOST))
    print(DANE_COLS)
    print("|---" * DANE_COLS.count(" | ") + "|---|", flush=True)
    figures = ["<!-- figure dane.n %d -->" % n, "<!-- figure dane.runs %d -->" % runs]
    kinds = ("tls", "dane")
    for workload in args or ("remote", "multi"):
        res = {k: [] for k in kinds}
        for k in range(runs):
            for kind in (kinds if k % 2 == 0 else kinds[::-1]):
                res[kind].append(attempts("ferry", "%s-%s" % (workload, kind), "drain", n))
        rc = len(rcpts_of(workload))
        rate = {k: n / med(v, 0) for k, v in res.items()}
        pairs = [n / d[0] / (n / t[0]) for t, d in zip(res["tls"], res["dane"])]
        ratio = rate["dane"] / rate["tls"]
        for kind in kinds:
            v = res[kind]
            x = {key: median([r[6][key] for r in v]) for key in ("channel_cpu", "connections", "handshakes", "resumed")}
            hs = x["handshakes"]
            queries = addrs = "-"
            if kind == "dane":
                per = [tlsa_per_host_ttl(r) for r in v]
                queries = "%g [%s]" % (median(per), " ".join("%g" % q for q in per))
                addrs = "%g" % median([r[6]["addr_queries"] for r in v])
                figures += ["<!-- figure dane.%s.tlsa_per_host_ttl %g -->" % (workload, max(per))]
            if not hs:
                print("bench: ferry negotiated no TLS with the sink (%s-%s)" % (workload, kind), file=sys.stderr, flush=True)
            print("| %s | %s | %.1f | %.0f | %s | %.0f | %.2f | %.3f | %d | %.3f | %s | %s | %s | %.1f | %.2f | %s | %s |" % (
                workload, "TLS alone" if kind == "tls" else "DANE", med(v, 0), rate[kind],
                " ".join("%.0f" % (n / r[0]) for r in v), rate[kind] * rc, 1000 * med(v, 2) / n,
                1000 * x["channel_cpu"] / n, x["connections"], hs / n, "%.0f" % (100 * x["resumed"] / hs) if hs else "-",
                queries, addrs, med(v, 5), median([r[6]["others_cpu"] for r in v]), "%.3f" % ratio if kind == "dane" else "-",
                " ".join("%.3f" % q for q in pairs) if kind == "dane" else "-"), flush=True)
            figures += ["<!-- figure dane.%s.%s.msg %.1f -->" % (workload, kind, rate[kind]),
                        "<!-- figure dane.%s.%s.rcpt %.1f -->" % (workload, kind, rate[kind] * rc),
                        "<!-- figure dane.%s.%s.hs_per_msg %.4f -->" % (workload, kind, hs / n)]
        figures += ["<!-- figure dane.%s.ratio %.4f -->" % (workload, ratio)]
    print()
    figures += limits_section(n, runs)
    print("Each run's figures are on tests/bench/mta.py's standard error.")
    print()
    print("\n".join(figures))


def bindir(d):
    d = os.path.abspath(d)
    b = os.path.join(d, "bin")
    if os.path.exists(os.path.join(b, "ferry-setup")):
        return b
    if os.path.exists(os.path.join(d, "ferry-setup")):
        return d
    sys.exit("bench: no ferry-setup in %s or %s" % (d, b))


def use_build(b):
    """the ferry programs of the runs that follow: every home set up, every command run from b"""
    global BIN
    BIN = ferrytest.BIN = b


def alternate(builds, workload, mode, n, runs):
    """ferry's runs of one row for each build, the builds alternating within each run (in their
    order in odd runs, the reverse in even ones: a run's first row has measured slower than the
    second with nothing else different): {tag: [each run's result]}; builds: (tag, bin directory)
    pairs"""
    res = {tag: [] for tag, _ in builds}
    for k in range(runs):
        for tag, d in (builds if k % 2 == 0 else builds[::-1]):
            use_build(d)
            res[tag].append(attempts("ferry", workload, mode, n, "ferry-" + tag))
    return res


def compare(a, b, n, runs, args):
    """ferry's rows for two builds, alternating A B B A ...: whether B differs from A by more
    than the runs' own spread"""
    builds = (("A", bindir(a)), ("B", bindir(b)))
    print("A: %s\nB: %s\n%d messages of %d bytes per run, %d injectors; %d runs of each, alternating (A first in odd runs, B in even ones)."
          % (builds[0][1], builds[1][1], n, SIZE, INJECTORS, runs))
    print("Seconds and msg/s: median [min-max]. B / A: B's median rate over A's; within spread: whether"
          " A's and B's min-max of the rate overlap (else B is faster or slower than A's runs spread).\n")
    print("| workload | mode | A seconds | B seconds | A msg/s | B msg/s | A total CPU ms/msg | B total CPU ms/msg | B / A | within spread |")
    print("|---" * 10 + "|", flush=True)
    for workload, mode in rows_of(args):
        res = alternate(builds, workload, mode, n, runs)
        cells = []
        rates = {}
        for tag in ("A", "B"):
            secs = [r[0] for r in res[tag]]
            rates[tag] = [n / x for x in secs]
            cells.append((secs, rates[tag], [1000 * r[2] / n for r in res[tag]]))

        def spread(v, fmt):
            return (fmt + " [" + fmt + "-" + fmt + "]") % (median(v), min(v), max(v))
        ratio = median(rates["B"]) / median(rates["A"])
        inside = min(rates["A"]) <= max(rates["B"]) and min(rates["B"]) <= max(rates["A"])
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %.3f | %s |" % (
            workload, mode, spread(cells[0][0], "%.2f"), spread(cells[1][0], "%.2f"),
            spread(cells[0][1], "%.0f"), spread(cells[1][1], "%.0f"),
            spread(cells[0][2], "%.2f"), spread(cells[1][2], "%.2f"), ratio,
            "yes" if inside else ("faster" if ratio > 1 else "slower")), flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] not in ("matrix", "compare", "tls", "dane", "scale"):
        system, workload, mode, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
        print(HEAD)
        r = one(system, workload, mode, n)
        print(row(system, workload, mode, n, *r[:6]))
        if r[6]:
            print(" ".join("%s %g" % kv for kv in sorted(r[6].items())))
    elif len(sys.argv) >= 4 and sys.argv[1] == "tls":
        tls_matrix(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
    elif len(sys.argv) >= 4 and sys.argv[1] == "dane":
        dane_matrix(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
    elif len(sys.argv) == 4 and sys.argv[1] == "limits":
        print("\n".join(limits_section(int(sys.argv[2]), int(sys.argv[3]))))
    elif len(sys.argv) >= 5 and sys.argv[1] == "scale":
        scale_matrix([int(x) for x in sys.argv[2].replace(",", " ").split()], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:])
    elif len(sys.argv) >= 4 and sys.argv[1] == "matrix":
        matrix([int(x) for x in sys.argv[2].replace(",", " ").split()], int(sys.argv[3]), sys.argv[4:])
    elif len(sys.argv) >= 6 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6:])
    else:
        sys.exit(__doc__)
