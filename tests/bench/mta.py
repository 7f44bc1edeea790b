"""ferry against Postfix, Exim and OpenSMTPD, the same load on each, by hand (never in make
check; tests/bench/mta.sh).

    mta.py SYSTEM WORKLOAD MODE N     one run, one result row
    mta.py matrix N RUNS [WORKLOAD[:MODE]...]  every row (of those workloads, or of one mode of
                                      one), systems alternating, medians and ratios: a markdown
                                      section for doc/performance.md; each run on stderr. N may
                                      be a list ("5000 20000"): every row at each size, and
                                      ferry's rate at each against the first
    mta.py compare BUILD_A BUILD_B N RUNS [WORKLOAD[:MODE]...]  ferry's rows only, for two builds
                                      (each a build directory holding bin/, or a bin directory),
                                      alternating A B B A; per row each one's median and min-max,
                                      and B's rate over A's

The other benchmarks of these systems use what is here (one(), attempts()): scale_bench.py (ferry
at several queue sizes), tls_bench.py (the drains over TLS), dane_bench.py (with DANE),
limits_bench.py (the machine's own limits). The load and its check are in bench_load.py, the
DANE workloads' DNS in bench_dane.py, what a run counts in bench_proc.py, the timing conventions
in bench_timing.py.

SYSTEM: ferry (a home made by ferry-setup, the set under s6-svscan), ferry-inject (the same, fed
through ferry-inject), postfix (Debian's Postfix as installed, a private instance: its own config
and queue directories, no listener at all), postfix-tuned (the same with in_flow_delay 0 and
higher process and concurrency limits), exim or opensmtpd (private instances: peer_exim.py,
peer_opensmtpd.py).
WORKLOAD: local (1 recipient, a Maildir through a virtual mailbox), remote (1 recipient, Postfix's
smtp-sink on 127.0.0.1), multi (10 recipients over 3 remote domains); remote-tls and multi-tls
send the same to tests/bench/tls-sink offering STARTTLS (Postfix with smtp_tls_security_level =
may), remote-plain and multi-plain to the same sink without STARTTLS, remote-dane and multi-dane
(ferry only) to the STARTTLS sink with DANE: control/dnssecservers names a private validating
unbound (tests/helpers/dnssec_peers.py) that serves the TLSA record of the sink's certificate,
the routes name mx.bench.test, and the run fails unless every delivery's text says it was
verified by DANE (a single run of any of these prints the sink's counters and CPU seconds, ferry's channel CPU
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
again like one with much stolen. MTA_COLD=1 (as root) drops the page cache before each drain's
timed part (3: the dentries and inodes too), so that the drain reads its queue from the disk, as
after a reboot; each run's figures on stderr then say what it read (read_kib, majflt)."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
import ferrytest  # noqa: E402
from ferrytest import BIN, Home, Supervised, eventually, is_root, median, s6_log, test_user  # noqa: E402
from smtp_peers import postfix_private  # noqa: E402
from bench_load import INJECTORS, LOAD, SIZE, delivered_once, rcpts_of, sink_for  # noqa: E402
from bench_dane import DANE_HOST, DaneWorld, dane_checked  # noqa: E402
from bench_proc import SyncCount, any_file, channel_cpu, cpu_busy, disk_reads, others_cpu, others_cpu_since, peak_kib  # noqa: E402
from bench_timing import ATTEMPTS, MAX_OTHERS, MAX_STOLEN, Profile, cold_cache, last_teardown, sync_settle, wait_quiet  # noqa: E402
from limits_bench import limits, limits_section  # noqa: E402


# set by a bench that measures a variant of ferry's home (tests/bench/shaping_bench.py): an
# object whose setup(ferry, sink) changes each ferry home before its set starts, and whose
# check(ferry, workload, messages) returns more figures of a run once its queue is empty (or
# ends the bench when the run measured something else)
FERRY_VARIANT = [None]

# set by dane_matrix: every ferry home keeps up to 400 log archives of 1 MB instead of 20
BIG_LOG = [False]


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
        prof = Profile("%s-%s-%s" % (system, workload, mode)) if mode == "e2e" else prof
        if dane:
            dane.mark()
        others = others_cpu(s.roots())
        t0, (c0, st0), rd0 = time.time(), cpu_busy(), disk_reads()
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
            cold_cache()
            wait_quiet()
            syncs = SyncCount()
            prof = Profile("%s-%s-%s" % (system, workload, mode))
            if dane:
                dane.mark()
            others = others_cpu(s.roots())
            t0, (c0, st0), rd0 = time.time(), cpu_busy(), disk_reads()
            s.resume()
        # polled every 50 ms: a tighter loop would take CPU from the system measured
        if not eventually(s.empty, 1800, 0.05):
            sys.exit("bench: %s did not empty its queue" % s.name)
        c1, st1 = cpu_busy()
        secs, total, stolen = time.time() - t0, c1 - c0, st1 - st0
        sink_cpu = sink.cpu() if workload.split("-")[0] != "local" else None
        rd1 = disk_reads()
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
        if sink_cpu is not None:
            extra["sink_cpu"] = sink_cpu
        # what the run read from the disk: a queue filled over minutes may be out of the page
        # cache by its drain (the machine line says where the kernel pages out unused memory)
        extra["read_kib"], extra["majflt"] = rd1[0] - rd0[0], rd1[1] - rd0[1]
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
OpenSMTPD relays over one connection to a destination, one message at a time, and writes each
message's closing `.` line apart from its text on a socket without TCP_NODELAY: the kernel holds
that line until the sink acknowledges the text, which Linux delays by about 40 ms, so that it
relays about 20 messages a second at most, whatever the load (strace of the instance: the sink's
250 comes 44 ms after the `.`); any receiving MTA would see the same.

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
    first) and the machine's limits, measured after the rows and once before them"""
    systems = systems_measured()
    print(METHOD % (" and ".join("{:,}".format(n) for n in ns), SIZE, INJECTORS, runs, ", ".join(systems)))
    print(COLS + " ferry / Postfix | ferry / best other |")
    print("|---" * 14 + "|", flush=True)
    figures = ["<!-- figure mta.n %d -->" % ns[0], "<!-- figure mta.runs %d -->" % runs,
               "<!-- figure mta.ns %s -->" % ",".join(str(n) for n in ns),
               "<!-- figure mta.systems %s -->" % ",".join(systems), "<!-- figure mta.cores %d -->" % os.cpu_count()]
    # the machine's limits before the rows too: a machine that changes during the run shows
    # as the distance between these and the limits measured after them
    before = limits(ns[0])
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
                                "<!-- figure %s.inj_cpu_ms %.2f -->" % (k, 1000 * meds[system][1] / n),
                                "<!-- figure %s.cpu_ms %.3f -->" % (k, 1000 * meds[system][2] / n)]
                    sink = [x[6]["sink_cpu"] for x in res[system] if "sink_cpu" in x[6]]
                    if sink:
                        # the sink's own CPU: what the sending side's peer took a message
                        figures.append("<!-- figure %s.sink_cpu_ms %.3f -->" % (k, 1000 * median(sink) / n))
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
    figures += limits_section(ns[0], runs, before)
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
    if len(sys.argv) == 5 and sys.argv[1] not in ("matrix", "compare"):
        system, workload, mode, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
        print(HEAD)
        r = one(system, workload, mode, n)
        print(row(system, workload, mode, n, *r[:6]))
        if r[6]:
            print(" ".join("%s %g" % kv for kv in sorted(r[6].items())))
    elif len(sys.argv) >= 4 and sys.argv[1] == "matrix":
        matrix([int(x) for x in sys.argv[2].replace(",", " ").split()], int(sys.argv[3]), sys.argv[4:])
    elif len(sys.argv) >= 6 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6:])
    else:
        sys.exit(__doc__)
