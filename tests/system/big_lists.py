"""Big recipient lists, seen by a user of the whole set (under s6-svscan):
- a message to 5,000 recipients of one domain, whose host takes at most 300 recipients per
  transaction (452 4.5.3 to the next RCPT), is delivered in batches: every recipient exactly once,
  no request over the channel's limit, no deferral, no backoff of the domain, while other mail to
  that domain and to another one goes beside it;
- a batch of 10,000 recipients deferred (the host refuses connections) writes a bounded number of
  log lines and a defer file of bounded size per attempt, and ferry-qread still counts each
  recipient's attempts and shows its last error."""

import json
import os
import re
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import stop_all, BIN, Home, Supervised, eventually, expect, s6_log  # noqa: E402
from smtp_peers import ScriptedPeer, free_port  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402

stops = []
LIMIT = 300


class LimitHandler:
    """Takes at most LIMIT recipients per transaction: 452 4.5.3 to every RCPT after that. With
    pipelining, it offers PIPELINING (aiosmtpd reads pipelined commands in order either way)."""

    def __init__(self, pipelining=False):
        self.messages = []
        self.lock = threading.Lock()
        self.pipelining = pipelining

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if len(envelope.rcpt_tos) >= LIMIT:
            return "452 4.5.3 too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 queued"


def inject(home, sender, rcpts, body=b"Subject: big\n\nx\n"):
    """ferry-inject with the envelope from a file (a pipe would hold only 64 KiB); the new id"""
    env = b"F" + sender.encode() + b"\0" + b"".join(b"T" + r.encode() + b"\0" for r in rcpts) + b"\0"
    before = home.mess_ids()
    with tempfile.TemporaryFile() as f:
        f.write(env)
        f.seek(0)
        p = subprocess.run([os.path.join(BIN, "ferry-inject"), home.path], input=body, stdout=f.fileno(), stderr=subprocess.PIPE)
    expect(p.returncode == 0, "ferry-inject takes a message to %d recipients" % len(rcpts), p.stderr)
    new = home.mess_ids() - before
    return new.pop() if len(new) == 1 else None


home = Home()
try:
    H = home.path
    log = lambda: s6_log(os.path.join(H, "log"))  # noqa: E731
    for k, v in dict(minbackoff=300, maxbackoff=300, timeoutconnect=2).items():
        home.control(k, "%s\n" % v)
    big = Controller(LimitHandler(), hostname="127.0.0.1", port=free_port())
    big.start()
    stops.append(big.stop)
    pipe = Controller(LimitHandler(pipelining=True), hostname="127.0.0.1", port=free_port())
    pipe.start()
    stops.append(pipe.stop)
    other = ScriptedPeer()
    stops.append(other.stop)
    deadport = free_port()
    home.control("smtproutes", "big.test:127.0.0.1:%d\nother.test:127.0.0.1:%d\nshut.test:127.0.0.1:%d\npipe.test:127.0.0.1:%d\n"
                 % (big.port, other.port, deadport, pipe.port))
    svscan = Supervised(H)
    stops.insert(0, svscan.stop)
    expect(eventually(lambda: "status:" in log(), 20), "the set starts", log()[-500:])

    # 1. 5,000 recipients of one domain, with other mail beside them
    rcpts = ["u%d@big.test" % i for i in range(5000)]
    bid = inject(home, "s@example.com", rcpts)
    bname = home.name(bid)
    small = [inject(home, "s@example.com", ["small%d@%s" % (i, "big.test" if i % 2 else "other.test")], b"Subject: small\n\nx\n")
             for i in range(20)]
    got = lambda: [r for m in big.handler.messages for r in m[1]]  # noqa: E731
    expect(eventually(lambda: ("end msg %s\n" % bname) in log(), 120), "the 5,000-recipient message is delivered and ends", log()[-1500:])
    seen = [r for r in got() if r.startswith("u")]
    expect(sorted(seen) == sorted(rcpts), "every recipient reached the host exactly once",
           (len(seen), len(set(seen))))
    expect(max(len(m[1]) for m in big.handler.messages) <= LIMIT, "no transaction had more than the host takes")
    sizes = [int(x) + 3 for x in re.findall(r"starting delivery \d+: msg %s to remote \S+ \S+ \S+ and (\d+) more" % re.escape(bname), log())]
    expect(sizes and max(sizes) <= 1000 and sum(sizes) <= 5000, "the queue manager sent requests of at most 1,000 recipients", sizes)
    expect(not re.search(r"deferral msg %s" % re.escape(bname), log()) and "malformed request" not in log(),
           "no recipient was deferred", log()[-1500:])
    expect(not re.search(r"destination big\.test: .* backed off", log()), "the domain was never backed off")
    expect(eventually(lambda: len([r for r in got() if r.startswith("small")]) == 10 and len(other.handler.messages) == 10, 30),
           "the other mail, to that domain and another, was delivered too", log()[-1500:])

    # the same past a host that offers PIPELINING: the RCPTs after the limit are already out
    prcpts = ["p%d@pipe.test" % i for i in range(3000)]
    pname = home.name(inject(home, "s@example.com", prcpts))
    expect(eventually(lambda: ("end msg %s\n" % pname) in log(), 120), "with PIPELINING: the 3,000-recipient message ends", log()[-1500:])
    pseen = [r for m in pipe.handler.messages for r in m[1]]
    expect(sorted(pseen) == sorted(prcpts) and max(len(m[1]) for m in pipe.handler.messages) <= LIMIT,
           "with PIPELINING: every recipient exactly once, no transaction over the limit", (len(pseen), len(set(pseen))))
    expect(not re.search(r"deferral msg %s" % re.escape(pname), log()), "with PIPELINING: no recipient was deferred")

    # 2. a deferred batch of 10,000 recipients: bounded log and defer file per attempt
    drcpts = ["d%d@shut.test" % i for i in range(10000)]
    did = inject(home, "s@example.com", drcpts)
    dname = home.name(did)
    split = int(open(os.path.join(H, "control", "queuesplit")).read())
    deferfile = os.path.join(H, "queue", "defer", str(did % split), str(did))
    # the deferral lines name the first few and count the others
    counted = lambda: sum(int(n) + 3 for n in re.findall(r"deferral msg %s to \S+ \S+ \S+ and (\d+) more" % re.escape(dname), log()))  # noqa: E731
    expect(eventually(lambda: counted() == 10000, 60), "all 10,000 recipients deferred", log()[-1500:])
    lines = [x for x in log().splitlines() if dname in x]
    size1 = os.path.getsize(deferfile)
    expect(len(lines) <= 100, "a bounded number of log lines for the batch (%d)" % len(lines), "\n".join(lines[:20]))
    expect(size1 <= 20000, "a defer file of bounded size for the attempt (%d bytes)" % size1)
    r = subprocess.run([os.path.join(BIN, "ferry-qread"), "-j", H], capture_output=True, text=True)
    js = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    mine = [j for j in js if j["id"] == dname]
    expect(len(mine) == 1 and len(mine[0]["recipients"]) == 10000
           and all(x["attempts"] == 1 and "refused" in x["last_error"] for x in mine[0]["recipients"]),
           "ferry-qread: each of the 10,000 has attempts 1 and its last error", r.stderr[-300:])
    # one more attempt of each: the file grows by one attempt's records, not per recipient
    mark = len(log())
    subprocess.run(["s6-svc", "-a", os.path.join(H, "service", "ferry")], check=True)
    counted2 = lambda: sum(int(n) + 3 for n in re.findall(r"deferral msg %s to \S+ \S+ \S+ and (\d+) more" % re.escape(dname), log()[mark:]))  # noqa: E731
    expect(eventually(lambda: counted2() == 10000, 60), "all 10,000 deferred again", log()[-1500:])
    size2 = os.path.getsize(deferfile)
    expect(size2 <= 2 * size1 + 1000, "the second attempt adds about as much again (%d bytes)" % size2)
    r = subprocess.run([os.path.join(BIN, "ferry-qread"), "-j", H], capture_output=True, text=True)
    mine = [j for j in (json.loads(x) for x in r.stdout.splitlines() if x.strip()) if j["id"] == dname]
    expect(len(mine) == 1 and all(x["attempts"] == 2 for x in mine[0]["recipients"]), "ferry-qread: attempts 2 for each")
finally:
    stop_all(stops)
    home.cleanup()
