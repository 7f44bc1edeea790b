"""The load of tests/bench/mta.py and the checks of what it delivered: the messages (SIZE bytes,
INJECTORS sendmail-load processes), each workload's recipients, the sink of the remote workloads
(tests/bench/tls-sink, with STARTTLS or without) and the check that every recipient of every
message was delivered exactly once."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

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

    def cpu(self):
        """the CPU seconds the sink has used so far (user and kernel, /proc/PID/schedstat), or
        None once it is stopped: its work a message does not depend on the queue sending it"""
        try:
            with open("/proc/%d/schedstat" % self.p.pid) as f:
                return int(f.read().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            return None

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



def rcpts_of(workload):
    workload = workload.split("-")[0]
    if workload == "local":
        return ["u%@local.test"]
    if workload == "remote":
        return ["r%@remote.test"]
    return ["m%d-%%@r%d.test" % (k, k % 3) for k in range(10)]
