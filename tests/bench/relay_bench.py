"""The relay benchmark (tests/bench/relay.sh, make bench BENCH=relay): mail taken over SMTP on
127.0.0.1 and relayed, through the queue, to Postfix's smtp-sink, end to end, ferry against
Postfix, Exim and OpenSMTPD, without TLS and with STARTTLS on the injection side.

    relay_bench.py N RUNS [SYSTEM...]    SYSTEM: ferry, postfix, exim, opensmtpd (the four when
                                         none is named), postfix-tuned; a markdown section on
                                         stdout, each run on stderr

ferry: a home made by ferry-setup under s6-svscan, its service/ferry-smtpd as ferry-setup wrote
it (ferry-smtpd's server mode: -P 20 workers of 100 connections each, control/smtpd.cdb, whose
rules give 127.0.0.1 RELAYCLIENT, its log through s6-log; no DNS lookup of the client), but on
127.0.0.1 and a free port; control/smtproutes sends remote.test to the sink. Postfix: the private instance of
mta.py with Debian's smtpd listener on 127.0.0.1 and a free port, mynetworks 127.0.0.0/8,
smtpd_peername_lookup = no, relayhost the sink. Exim and OpenSMTPD: the private instances of
peer_exim.py and peer_opensmtpd.py, each with a listener on 127.0.0.1 and a free port, relaying
for 127.0.0.1, remote.test routed to the sink. All offer STARTTLS with the same
2048-bit RSA certificate, made for the bench. The load: SESSIONS (20) sessions in parallel, one
message of about 4 KiB to r@remote.test per connection, N in all; without TLS Postfix's
smtp-source, with TLS tests/bench/smtp-load.c (smtp-source has no STARTTLS), which makes a full
handshake on every connection. A run is timed from the first connection to the last message at
the sink with the queue empty; it fails unless the client had every message taken, the sink got
exactly N and the queue is empty. The timing conventions are mta.py's: a fresh system per run,
no file of the run before freed less than MTA_AGED seconds ago, the machine idle before the
timed part (MTA_QUIET), a run made again (at most three attempts) when the host stole more than
a tenth of the machine or other jobs took more than a twentieth of a core."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

import mta
import bench_timing as timing
from mta import Ferry, Postfix
from bench_load import SIZE
from bench_proc import cpu_busy, cpu_since, others_cpu, others_cpu_since, tree_cpu
from ferrytest import eventually, median
from smtp_peers import free_port, listening  # noqa: E402

SESSIONS = int(os.environ.get("SESSIONS", "20"))
BODY = SIZE - 128            # smtp-source's 5 header lines are about 128 bytes
SENDER, RCPT, HELO = "load@bench.test", "r@remote.test", "client.bench.test"
LOAD = os.path.join(os.environ["FERRY_TOP"], "build", "tests", "helpers", "smtp-load")
SYSTEMS = ("ferry", "postfix", "exim", "opensmtpd")
KNOWN = SYSTEMS + ("postfix-tuned",)
# plain and tls: each session keeps its connection for all its messages (smtp-source -d, as a
# relay's connection cache); plain1 and tls1: a connection for each message
KINDS = ("plain", "tls", "plain1", "tls1")


def tls_of(kind):
    return kind.startswith("tls")


def per_conn(kind, n):
    """the messages a connection carries"""
    return 1 if kind.endswith("1") else n // SESSIONS


class CountingSink:
    """Postfix's smtp-sink on 127.0.0.1, no dump, its running counters (-c) in a file:
    count() is its mesg= counter, the messages it took"""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ferry-bench-relay-sink.")
        self.file = os.path.join(self.dir, "counters")
        self.port = free_port()
        args = ["/usr/sbin/smtp-sink", "-c", "127.0.0.1:%d" % self.port, "256"]
        if os.geteuid() == 0:
            args[1:1] = ["-u", "nobody"]
        with open(self.file, "w") as out:
            self.p = subprocess.Popen(args, stdout=out, stderr=subprocess.DEVNULL)
        if not eventually(lambda: listening(self.port), 10):
            self.stop()
            sys.exit("bench: smtp-sink does not listen")

    def count(self):
        # the counters are rewritten after each session and message ("sess=S quit=Q mesg=M\r"):
        # the last one is in the file's tail
        with open(self.file, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 256))
            tail = f.read().decode(errors="replace")
        k = tail.rfind("mesg=")
        if k < 0:
            return 0
        digits = ""
        for ch in tail[k + 5:]:
            if not ch.isdigit():
                break
            digits += ch
        return int(digits or 0)

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class FerryRelay(Ferry):
    """mta.py's ferry home (the sink in control/smtproutes) with service/ferry-smtpd up on
    127.0.0.1:port, control/smtpdcert and smtpdkey the bench's certificate"""

    def __init__(self, sink, port, cert, key):
        Ferry.__init__(self, sink)
        try:
            self.home.control("smtpdcert", open(cert).read())
            self.home.control("smtpdkey", open(key).read())
            os.chmod(os.path.join(self.H, "control", "smtpdkey"), 0o640)
            svc = os.path.join(self.H, "service", "ferry-smtpd")
            text = open(os.path.join(svc, "run")).read()
            if "/bin/ferry-smtpd\" -l 0.0.0.0:25 " not in text:
                sys.exit("bench: %s/run is not ferry-smtpd -l 0.0.0.0:25 ..." % svc)
            # the server mode looks up no client name (Postfix's smtpd_peername_lookup = no alike)
            text = text.replace(" -l 0.0.0.0:25 ", " -l 127.0.0.1:%d " % port)
            open(os.path.join(svc, "run"), "w").write(text)
            os.unlink(os.path.join(svc, "down"))
            # s6-svc needs the service's supervisor, which s6-svscan may not have started yet
            if not eventually(lambda: os.path.exists(os.path.join(svc, "supervise", "control")), 20):
                sys.exit("bench: s6-svscan did not start the supervisor of %s" % svc)
            subprocess.run(["s6-svc", "-u", svc], check=True)
            inject = os.path.join(self.H, "public", "inject")
            if not eventually(lambda: listening(port) and os.path.exists(inject), 20):
                sys.exit("bench: ferry-smtpd or ferry-injectd did not start")
        except BaseException:
            self.stop()
            raise

    def tree(self):
        return [self.svscan.p.pid]


def system_of(name, sink, port, cert, key):
    if name == "ferry":
        return FerryRelay(sink, port, cert, key)
    if name in mta.PEERS:
        module, cls = mta.PEERS[name]
        s = getattr(__import__(module), cls)(sink, smtpd=(port, cert, key))
    else:
        s = Postfix(sink, name == "postfix-tuned", smtpd=(port, cert, key))
    if not eventually(lambda: listening(port), 20):
        s.stop()
        sys.exit("bench: %s does not listen on 127.0.0.1:%d" % (s.name, port))
    s.tree = s.roots
    return s


def reaped_cpu(s):
    """the CPU seconds of the system's processes that ended outside its tree, reaped by the
    harness (Exim's adopted deliveries), since the system started"""
    return s.reaped_cpu() if hasattr(s, "reaped_cpu") else 0.0


def forks():
    """the processes the machine has created since it started (/proc/stat)"""
    for line in open("/proc/stat"):
        if line.startswith("processes "):
            return int(line.split()[1])
    return 0


def client(kind, n, port):
    keep = ["-d"] if per_conn(kind, n) > 1 else []
    if not tls_of(kind):
        return ["/usr/sbin/smtp-source"] + keep + ["-s", str(SESSIONS), "-m", str(n), "-l", str(BODY), "-S", "bench",
                                                   "-f", SENDER, "-t", RCPT, "-M", HELO, "127.0.0.1:%d" % port]
    return [LOAD, "-T"] + keep + ["-s", str(SESSIONS), "-m", str(n), "-l", str(BODY), "-f", SENDER, "-t", RCPT, "-M", HELO,
                                  "127.0.0.1", str(port)]


def one(system, kind, n, cert, key):
    """one run on a fresh system: {secs, total, stolen, mta_cpu, client_cpu, procs, handshakes,
    others_cpu}, every figure from the first connection to the last message at the sink"""
    sink = CountingSink()
    port = free_port()
    s = None
    try:
        s = system_of(system, sink, port, cert, key)
    finally:
        if s is None:
            sink.stop()
    out = tempfile.TemporaryFile("w+")
    err = tempfile.TemporaryFile("w+")
    p = None
    try:
        # as mta.py: the removal of the run before written back and aged, the machine idle
        timing.sync_settle(True)
        timing.wait_quiet()
        others, mine = others_cpu(s.roots()), tree_cpu(s.tree())
        reaped = reaped_cpu(s)
        f0 = forks()
        t0, (c0, st0) = time.time(), cpu_busy()
        p = subprocess.Popen(client(kind, n, port), stdout=out, stderr=err)
        rusage = None
        deadline = t0 + 1800
        while True:
            if rusage is None:
                pid, status, ru = os.wait4(p.pid, os.WNOHANG)
                if pid:
                    p.returncode, rusage = os.waitstatus_to_exitcode(status), ru
                    if p.returncode:
                        err.seek(0)
                        sys.exit("bench: the client failed on %s (exit %d): %s" % (s.name, p.returncode, err.read()[-2000:]))
            # polled every 50 ms, as mta.py: a tighter loop would take CPU from the system measured
            if rusage is not None and sink.count() >= n and s.empty():
                break
            if time.time() > deadline:
                sys.exit("bench: %s did not relay %d messages in 1800 s (the sink has %d)" % (s.name, n, sink.count()))
            time.sleep(0.05)
        c1, st1 = cpu_busy()
        secs = time.time() - t0
        procs = forks() - f0
        r = {"secs": secs, "total": c1 - c0, "stolen": st1 - st0, "mta_cpu": cpu_since(mine, tree_cpu(s.tree())) + reaped_cpu(s) - reaped,
             "client_cpu": rusage.ru_utime + rusage.ru_stime, "others_cpu": others_cpu_since(others, s.roots())}
        out.seek(0)
        said = out.read().split()
        # smtp-load's own workers are no part of the system's processes
        r["handshakes"] = int(said[said.index("handshakes") + 1]) if "handshakes" in said else 0
        r["procs"] = procs - (int(said[said.index("workers") + 1]) if "workers" in said else 0)
        got = sink.count()
        if got != n or not s.empty():
            sys.exit("bench: the sink got %d messages of %d from %s%s" % (got, n, s.name, "" if s.empty() else ", its queue not empty"))
        if tls_of(kind) and r["handshakes"] != n // per_conn(kind, n):
            sys.exit("bench: %d handshakes with %s for %d messages, %d per connection" % (r["handshakes"], s.name, n, per_conn(kind, n)))
        return r
    finally:
        if p is not None and p.returncode is None:
            p.kill()        # interrupted: the client must not outlive the run
            p.wait()
        out.close()
        err.close()
        s.stop()
        sink.stop()
        timing.last_teardown[0] = time.time()


def attempts(system, kind, n, cert, key):
    """one run, made again while the host stole much of the machine or other jobs ran (at most
    timing.ATTEMPTS times, the last kept whatever it is); each attempt on stderr"""
    for attempt in range(1, timing.ATTEMPTS + 1):
        r = one(system, kind, n, cert, key)
        why = ""
        if r["stolen"] > timing.MAX_STOLEN * os.cpu_count() * r["secs"]:
            why = " stolen"
        elif r["others_cpu"] > timing.MAX_OTHERS * r["secs"]:
            why = " other jobs' CPU"
        again = why and attempt < timing.ATTEMPTS
        print("<!-- run: %s %s %s%s -->" % (system, kind, " ".join("%s=%.3f" % kv for kv in sorted(r.items())),
                                             why + ": made again" if again else why), file=sys.stderr, flush=True)
        if not again:
            return r


METHOD = """## Relay over SMTP (tests/bench/relay_bench.py)

%d messages per run, each of about %d bytes (smtp-source's 5 header lines and a body of %d
bytes) to one remote recipient, taken over SMTP on 127.0.0.1 by each system's SMTP server,
%d sessions in parallel, and relayed through its queue to the same
Postfix smtp-sink on 127.0.0.1 (no dump); end to end: seconds from the first connection to the
last message at the sink with the queue empty. Median of %d runs, the systems alternating within
each run (in the table's order in odd runs, the reverse in even ones); a fresh system for each run.

ferry: a home as ferry-setup makes it, under s6-svscan, its service/ferry-smtpd as written
(ferry-smtpd's server mode: 20 preforked workers of 100 connections each, control/smtpd.cdb,
whose rules set RELAYCLIENT for 127.0.0.1, the log through s6-log) but on 127.0.0.1 and a free
port; control/smtproutes sends remote.test to the sink. Postfix: Debian's Postfix as installed,
a private instance (its own configuration and queue), Debian's smtpd line of master.cf on
127.0.0.1 and a free port, `mynetworks = 127.0.0.0/8`, `smtpd_peername_lookup = no`, relayhost
the sink.%s None looks the client's name up in the DNS (ferry-smtpd's server mode never does;
`smtpd_peername_lookup = no`%s): the bench measures the MTAs, not the resolvers. Each offers
STARTTLS in every row with the same 2048-bit RSA certificate made for the bench (control/smtpdcert
and smtpdkey; `smtpd_tls_security_level = may` and the server session cache of Debian's
main.cf%s): without TLS is the client's choice, as on a real MX.

The load: without TLS, Postfix's smtp-source (`-s %d -m N -l %d`; one command at a time, no
pipelining); with TLS, tests/bench/smtp-load.c, which does the same with STARTTLS (smtp-source
has none, and posttls-finger is no load tool): %d processes, a full TLS handshake on every
connection (no session resumed: as many clients, each new), the certificate not verified. Two
shapes of the load, each with and without TLS: in the first rows each session keeps its
connection for all its messages, N / %d of them (`smtp-source -d`, `smtp-load -d`: a relay whose
connection cache feeds the MX); in the rows marked 1, every message has a connection (and with
TLS a handshake) of its own, as many single clients would. A run fails unless the client had
every message taken with 250, the sink counted exactly N messages (its own counter, `smtp-sink
-c`) and the queue is empty; with TLS, unless every connection made its handshake.

Columns: total CPU is the whole machine's busy time over the run per message (client and sink
included); MTA CPU is the system's own processes (ferry: everything under its s6-svscan, the SMTP
service and its log included; Postfix: everything under its master%s), those that came
and went too; client CPU is smtp-source's or smtp-load's; processes per message are the
processes created on the whole machine during the run (/proc/stat), the client's own workers
taken off, over N; stolen is the time the host gave this machine's cores to something else, other
jobs' CPU that of every process that is not part of the run. As in the sections above, the timed
part starts once the machine is idle, and a run with more than a tenth of the machine stolen or
more than a twentieth of a core taken by other jobs is made again (at most three attempts);
stolen and other jobs' CPU are the medians of the runs kept. msg/s per run is in run order; each
ratio is ferry's median rate over that system's.
"""

COLS = ("| system | TLS | msgs/connection | seconds | msg/s | msg/s per run | total CPU ms/msg | MTA CPU ms/msg | client CPU ms/msg"
        " | processes/msg | handshakes/msg | stolen s | other jobs' CPU s | ferry / %s |")


def make_cert():
    """the bench's certificate, 2048-bit RSA, self-signed: (its directory, readable by the
    servers' users, to remove after; the certificate's file; the key's)"""
    cert_dir = tempfile.mkdtemp(prefix="ferry-bench-relay-cert.")
    cert, key = os.path.join(cert_dir, "cert.pem"), os.path.join(cert_dir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=mx.bench.test"], check=True, capture_output=True)
    os.chmod(cert_dir, 0o755)
    return cert_dir, cert, key


PEERS_METHOD = """ Exim (Debian's exim4-daemon-light 4.96) and OpenSMTPD (Debian's opensmtpd
6.8.0p2): the private instances of the section ferry against Postfix, Exim and OpenSMTPD, each
with a listener on 127.0.0.1 and a free port that relays for 127.0.0.1 and routes remote.test to
the sink, its other settings as there (tests/bench/peer_exim.py and peer_opensmtpd.py say each
one that is not the package's default; for the listener: Exim's `daemon_smtp_ports`,
`local_interfaces = 127.0.0.1`, `smtp_accept_max = 100`, its certificate and key (STARTTLS
offered to every client, as by default), and an RCPT ACL that accepts from 127.0.0.1; OpenSMTPD's `listen on
127.0.0.1 port P tls pki bench`, whose connections match its `from local` rules, and `smtp limit
max-mails 1000`: its default, 100 messages a session, is fewer than a session here carries)."""
PEERS_DNS = "; Exim's `host_lookup` is unset, OpenSMTPD reads /etc/hosts only"
PEERS_TLS = "; Exim's and OpenSMTPD's own TLS settings otherwise"
# what the table of a peer needs said (under the table)
PEER_NOTES = {"opensmtpd": "OpenSMTPD relays over one connection to a destination, one message at a time, and writes each message's closing `.` line apart from its text on a socket without TCP_NODELAY: the kernel holds that line until the sink acknowledges the text, which Linux delays by about 40 ms, so that it relays about 20 messages a second at most, whatever the load (strace of the instance: the sink's 250 comes 44 ms after the `.`); any receiving MTA would see the same."}
# the systems that cannot be measured with TLS, and why (said under the table)
NO_TLS = {"opensmtpd": "OpenSMTPD has no TLS rows: as a server, Debian 12's OpenSMTPD 6.8.0p2 fails every STARTTLS "
                       "handshake under OpenSSL 3 (the client gets the alert internal error, its log says `SSL routines::EVP "
                       "lib` with TLS 1.3 and `SSL routines::internal error` with TLS 1.2; a known incompatibility of that release with OpenSSL 3), so it "
                       "is measured without TLS only."}
PEERS_CPU = ("; Exim: everything under its daemon, and the delivery processes whose parent ended first (adopted by the"
             " harness, their CPU as wait4 gives it); OpenSMTPD: everything under its parent")


def matrix(n, runs, systems):
    peers = any(x in mta.PEERS for x in systems)
    print(METHOD % (n, SIZE, BODY, SESSIONS, runs, PEERS_METHOD if peers else "", PEERS_DNS if peers else "",
                    PEERS_TLS if peers else "", SESSIONS, BODY, SESSIONS, SESSIONS, PEERS_CPU if peers else ""))
    if "postfix-tuned" in systems:
        print("postfix-tuned is the same Postfix with `in_flow_delay = 0`, a process limit of 200 and destination\n"
              "concurrency 20 (as in the section ferry against Postfix).\n")
    other = [x for x in systems if x != "ferry"]
    cols = COLS % (" | ferry / ".join(other) if other else "-")
    print(cols)
    print("|---" * cols.count(" | ") + "|---|", flush=True)
    figures = ["<!-- figure relay.n %d -->" % n, "<!-- figure relay.runs %d -->" % runs,
               "<!-- figure relay.sessions %d -->" % SESSIONS]
    cert_dir, cert, key = make_cert()
    try:
        for kind in KINDS:
            here = [x for x in systems if not (tls_of(kind) and x in NO_TLS)]
            res = {x: [] for x in here}
            for k in range(runs):
                for system in (here if k % 2 == 0 else here[::-1]):
                    res[system].append(attempts(system, kind, n, cert, key))
            rate = {x: n / median([r["secs"] for r in v]) for x, v in res.items()}
            for system in systems:
                if system not in here:
                    print("| %s | yes | %d%s |%s" % (system, per_conn(kind, n), " | -" * 10, " |" * len(other)), flush=True)
                    continue
                v = res[system]

                def m(key):
                    return median([r[key] for r in v])
                ratios = " |" * len(other)
                if system == "ferry" and other:
                    ratios = "".join(" %.1f |" % (rate["ferry"] / rate[x]) if x in rate else " - |" for x in other)
                print("| %s | %s | %d | %.1f | %.0f | %s | %.2f | %.2f | %.2f | %.2f | %.3f | %.1f | %.2f |%s" % (
                    system, "yes" if tls_of(kind) else "no", per_conn(kind, n), m("secs"), rate[system], " ".join("%.0f" % (n / r["secs"]) for r in v),
                    1000 * m("total") / n, 1000 * m("mta_cpu") / n, 1000 * m("client_cpu") / n, m("procs") / n,
                    m("handshakes") / n, m("stolen"), m("others_cpu"), ratios), flush=True)
                fig = "relay.%s.%s" % (kind, system)
                figures += ["<!-- figure %s.msg %.1f -->" % (fig, rate[system]),
                            "<!-- figure %s.cpu_ms %.3f -->" % (fig, 1000 * m("total") / n),
                            "<!-- figure %s.mta_cpu_ms %.3f -->" % (fig, 1000 * m("mta_cpu") / n),
                            "<!-- figure %s.procs_per_msg %.3f -->" % (fig, m("procs") / n),
                            "<!-- figure %s.hs_per_msg %.4f -->" % (fig, m("handshakes") / n),
                            "<!-- figure %s.per_conn %d -->" % (fig, per_conn(kind, n))]
    finally:
        shutil.rmtree(cert_dir, ignore_errors=True)
    print()
    cannot = [NO_TLS[x] for x in systems if x in NO_TLS] + [PEER_NOTES[x] for x in systems if x in PEER_NOTES]
    if cannot:
        print(" ".join(cannot))
        print()
    print("Each run's figures are on tests/bench/relay_bench.py's standard error.")
    print()
    print("\n".join(figures))


if __name__ == "__main__":
    if len(sys.argv) < 3 or not all(x in KNOWN for x in sys.argv[3:]):
        sys.exit(__doc__)
    matrix(int(sys.argv[1]), int(sys.argv[2]), tuple(sys.argv[3:]) or SYSTEMS)
