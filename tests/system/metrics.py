"""ferry-metrics and the programs' snapshots, seen as Prometheus sees them (Debian's
python3-prometheus-client parses every page):
- a mixed run under s6-svscan (a local success, a remote success through MX to a scripted peer,
  a remote deferral, a remote failure and its bounce delivered locally; the messages through
  ferry-injectd, one refused): the counters of ferry-injectd, ferry-spawn-local and
  ferry-spawn-remote equal what the peer saw and what the logs say, the stop lines included;
  ferry-schedule's families equal the log's delivery lines and "end msg" lines, the messages
  loaded and left (only once the queue manager writes its snapshot: that part says it is skipped
  without one);
- the HTTP service ferry-setup made (service/ferry-metrics, down until s6-svc -u; tcpserver on
  control/metricslisten, a free loopback port): GET /metrics parses the same (a query ignored),
  HEAD, 404 (to a HEAD without a body), 405, 400 for a malformed request, 431 for a header over
  8 KiB, 500 while metrics/ cannot be read (the reason in the service's log);
- as root, a home made by ferry-setup -u: the snapshots are written by each program's own user,
  mode 0640 in group ferryl; ferry-metrics as ferryl reads every one (and over HTTP through the
  service, which runs as ferryl), another user reads none."""

import http.client
import os
import re
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import stop_all, BIN, Home, Spawner, Supervised, eventually, expect, is_root, ok, s6_log  # noqa: E402
from ferrytest import injectd_chunks, injectd_talk  # noqa: E402
from smtp_peers import Dnsmasq, RawPeer, free_port, listening  # noqa: E402

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("skipped: needs Debian's python3-prometheus-client (package/deps: test)")
    sys.exit(77)

stops = []
PROGRAMS = ("injectd", "local", "remote")     # the snapshots every run has; schedule's comes with the queue manager's


def parse(text):
    """every sample of a page: {(name, labels): value}; every family once, every sample once"""
    fams = list(text_string_to_metric_families(text))
    names = [f.name for f in fams]
    if len(names) != len(set(names)):
        raise ValueError("a family twice: %s" % sorted(n for n in names if names.count(n) > 1))
    out = {}
    for f in fams:
        for s in f.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            if key in out:
                raise ValueError("a sample twice: %s" % (key,))
            out[key] = s.value
    return out


def value(samples, name, **labels):
    """the sum of the samples of that name whose labels include these (0 when none)"""
    want = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= set(lab))


def has(samples, name):
    return any(n == name for n, _ in samples)


def metrics(home, user=None):
    """ferry-metrics' page (as user, with s6-setuidgid): (exit code, text, stderr)"""
    argv = ([] if user is None else ["s6-setuidgid", user]) + [os.path.join(BIN, "ferry-metrics"), home.path]
    r = subprocess.run(argv, capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def settle(home, wants, timeout=20):
    """polls ferry-metrics until every (what, name, labels, want) holds, then checks each; the last samples"""
    last = {}

    def good():
        nonlocal last
        rc, text, _ = metrics(home)
        if rc:
            return False
        last = parse(text)
        return all(value(last, n, **lab) == w for _, n, lab, w in wants)
    eventually(good, timeout, 0.2)
    for what, n, lab, w in wants:
        got = value(last, n, **lab)
        expect(got == w, "%s: %s%s is %s" % (what, n, "{%s}" % ",".join("%s=%s" % kv for kv in lab.items()) if lab else "", w), got)
    return last


def addr_count(s):
    """the addresses of a log line (doc/ferry-schedule.html): "a b c", or "a b and 7 more" """
    m = re.match(r"(.*) and (\d+) more$", s)
    return len(m.group(1).split()) + int(m.group(2)) if m else len(s.split())


def log_counts(log):
    """from the queue manager's lines: deliveries started per channel, and recipients per channel and
    result (each result line belongs to the last delivery started with its number)"""
    chan, started, results = {}, {}, {}
    for line in log.splitlines():
        m = re.search(r"starting delivery (\d+): msg \S+ to (local|remote) ", line)
        if m:
            chan[m.group(1)] = m.group(2)
            started[m.group(2)] = started.get(m.group(2), 0) + 1
            continue
        m = re.search(r"(?<!starting )\bdelivery (\d+): msg \S+ to (.*?): (success|deferral|failure): ", line)
        if m:
            key = (chan[m.group(1)], m.group(3))
            results[key] = results.get(key, 0) + addr_count(m.group(2))
    return started, results


def svc(home, flag, name):
    d = os.path.join(home.path, "service", name)
    return eventually(lambda: subprocess.run(["s6-svc", flag, d], capture_output=True).returncode == 0, 20)


def http_get(port, method="GET", path="/metrics"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    c.request(method, path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r, body


def http_raw(port, data):
    s = socket.create_connection(("127.0.0.1", port), 15)
    s.sendall(data)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    return out


def serve(home):
    """the home's service/ferry-metrics on a free loopback port, started by s6-svc -u; the port"""
    port = free_port()
    home.control("metricslisten", "127.0.0.1:%d\n" % port)
    expect(os.path.exists(os.path.join(home.path, "service", "ferry-metrics", "down")), "ferry-setup made service/ferry-metrics down")
    expect(svc(home, "-u", "ferry-metrics"), "s6-svc -u service/ferry-metrics")
    expect(eventually(lambda: listening(port), 20), "the service listens on control/metricslisten's port",
           s6_log(os.path.join(home.path, "log", "metrics"))[-500:])
    expect("ferry-metrics: info: listening on 127.0.0.1 port %d" % port in s6_log(os.path.join(home.path, "log", "metrics")),
           "its log (log/metrics) says where it listens")
    return port


def http_checks(home, port):
    r, body = http_get(port)
    expect(r.status == 200 and r.getheader("Content-Type") == "text/plain; version=0.0.4; charset=utf-8"
           and int(r.getheader("Content-Length")) == len(body) and r.getheader("Connection") == "close",
           "HTTP GET /metrics: 200, the text format 0.0.4, its length, Connection: close", (r.status, r.getheaders()))
    s = parse(body.decode())
    expect(all(value(s, "ferry_up", program=p) == 1 for p in PROGRAMS), "the page parses, every program up", body[-400:])
    r, body = http_get(port, "HEAD")
    expect(r.status == 200 and body == b"" and int(r.getheader("Content-Length")) > 0, "HEAD /metrics: 200, its length, no body",
           (r.status, r.getheaders()))
    r, body = http_get(port, path="/")
    expect(r.status == 200 and b"ferry_up{" in body, "GET /: the same page")
    r, body = http_get(port, path="/nothing")
    expect(r.status == 404, "GET /nothing: 404", (r.status, body))
    r, body = http_get(port, "POST")
    expect(r.status == 405 and r.getheader("Allow") == "GET, HEAD", "POST /metrics: 405 with Allow: GET, HEAD", (r.status, r.getheaders()))
    out = http_raw(port, b"hello there\r\n\r\n")
    expect(out.startswith(b"HTTP/1.1 400 "), "a malformed request: 400", out[:200])
    out = http_raw(port, b"GET /metrics HTTP/1.1\r\n\r\n")
    expect(out.startswith(b"HTTP/1.1 400 ") and b"without a Host" in out, "HTTP/1.1 without Host: 400", out[:200])
    out = http_raw(port, b"GET /metrics HTTP/1.0\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    expect(head.startswith(b"HTTP/1.0 200 OK") and parse(body.decode()), "HTTP/1.0: 200, the page", head)
    # http.client reads no body after a HEAD: the bytes themselves say whether one came
    out = http_raw(port, b"HEAD /nothing HTTP/1.0\r\n\r\n")
    expect(out.startswith(b"HTTP/1.0 404 ") and b"\r\nContent-Length: " in out and out.endswith(b"\r\n\r\n"),
           "HEAD /nothing: 404, its header, no body", out[-200:])
    r, body = http_get(port, path="/metrics?name%5B%5D=ferry_up")
    expect(r.status == 200 and b"ferry_up{" in body, "GET /metrics?...: the query ignored, the page", (r.status, body[:200]))
    out = http_raw(port, b"GET /metrics HTTP/1.0\r\nX-Filler: " + b"x" * 9000 + b"\r\n\r\n")
    expect(out.startswith(b"HTTP/1.1 431 "), "a header over 8 KiB: 431", out[:200])
    # snapshots that cannot be read (metrics/ moved away for a moment; the programs' snapshots
    # meanwhile fail, said once, and are written again after): 500, the reason in the service's log
    mdir = os.path.join(home.path, "metrics")
    os.rename(mdir, mdir + ".away")
    try:
        r, body = http_get(port)
        out = http_raw(port, b"HEAD /metrics HTTP/1.0\r\n\r\n")
    finally:
        os.rename(mdir + ".away", mdir)
    expect(r.status == 500 and b"cannot be read" in body, "metrics/ unreadable: 500", (r.status, body))
    expect(out.startswith(b"HTTP/1.0 500 ") and out.endswith(b"\r\n\r\n"), "and to a HEAD, a 500 without a body", out[-200:])
    mlog = lambda: s6_log(os.path.join(home.path, "log", "metrics"))  # noqa: E731
    expect(eventually(lambda: "ferry-metrics: warning: unable to read metrics/" in mlog(), 10), "the reason in the service's log", mlog()[-500:])


def mixed_run():
    home = Home()
    stops.append(home.cleanup)
    box = home.catchall("example.org")
    for k, v in dict(minbackoff=3600, maxbackoff=3600, connectioncache=30).items():
        home.control(k, "%s\n" % v)
    peer = RawPeer(scripted=True)
    stops.append(peer.stop)
    dns = Dnsmasq(["--mx-host=mx.test,mx1.mx.test,10", "--host-record=mx1.mx.test,127.0.0.1"])
    stops.append(dns.stop)
    home.control("dnsservers", "127.0.0.1:%d\n" % dns.port)
    home.control("smtpport", "%d\n" % peer.port)
    home.control("smtproutes", "route.test:127.0.0.1:%d\n" % peer.port)
    # the set down at first: ferry-injectd alone takes the messages
    open(os.path.join(home.path, "service", "ferry", "down"), "w").close()
    run = Supervised(home.path)
    stops.append(run.stop)
    expect(eventually(lambda: os.path.exists(os.path.join(home.path, "public", "inject")), 20), "ferry-injectd listens")

    sent = []
    for rcpt in ("u@example.org", "ok@mx.test", "rcpt-451@route.test", "rcpt-550@route.test"):
        msg = b"Subject: to %s\n\nhello %s\n" % (rcpt.encode(), rcpt.encode())
        r = injectd_talk(home, injectd_chunks(msg) + b"Fs@example.org\0T" + rcpt.encode() + b"\0\0")
        expect(r.startswith("0 queued id "), "injected through ferry-injectd: to " + rcpt, r)
        sent.append(msg)
    r = injectd_talk(home, b"12x:")
    expect(r.startswith("54 "), "a broken injection is refused", r)
    settle(home, [
        ("ferry-injectd", "ferry_injectd_messages_total", {}, 4),
        ("ferry-injectd", "ferry_injectd_bytes_total", {}, sum(len(m) for m in sent)),
        ("ferry-injectd", "ferry_injectd_refused_total", {}, 1),
    ])
    _, text, _ = metrics(home)
    s = parse(text)
    expect(1 <= value(s, "ferry_injectd_commits_total") <= 4, "ferry-injectd: 1 to 4 batches for 4 messages", value(s, "ferry_injectd_commits_total"))

    # the set starts: every delivery, and the bounce of the failure, delivered to the catch-all
    os.remove(os.path.join(home.path, "service", "ferry", "down"))
    expect(svc(home, "-u", "ferry"), "s6-svc -u service/ferry")
    log = home.log
    expect(eventually(lambda: len(os.listdir(os.path.join(box, "new"))) == 2 and len(peer.messages) == 1
                      and re.search(r"to rcpt-451@route\.test: deferral: ", log()) and re.search(r"to rcpt-550@route\.test: failure: ", log()), 60),
           "the local success, the remote success, the deferral, the failure and its bounce", log()[-2000:])
    expect(eventually(lambda: re.search(r"to s@example\.org: success: ", log()), 30), "the bounce is delivered locally", log()[-1500:])
    # one more through MX once the others are done: it takes an idle cached connection
    msg = b"Subject: again\n\nhello again\n"
    r = injectd_talk(home, injectd_chunks(msg) + b"Fs@example.org\0Tagain@mx.test\0\0")
    # the peer has the message before the queue manager logs its success: the log line is waited for
    expect(r.startswith("0 queued id ") and eventually(lambda: len(peer.messages) == 2 and re.search(r"to again@mx\.test: success: ", log()), 30),
           "a second remote success", log()[-800:])

    started, results = log_counts(log())
    expect(started.get("remote") == 4 and results.get(("remote", "success")) == 2 and results.get(("remote", "deferral")) == 1
           and results.get(("remote", "failure")) == 1 and results.get(("local", "success")) == 2,
           "the log: 4 remote deliveries (2 successes, a deferral, a failure), 2 local successes", (started, results))
    # the channels' counters against the log and the peer
    s = settle(home, [
        ("ferry-spawn-local", "ferry_local_deliveries_total", {"result": r}, results.get(("local", r), 0)) for r in ("success", "deferral", "failure")
    ] + [
        ("ferry-spawn-remote", "ferry_remote_connections_opened_total", {}, peer.connections),
        ("ferry-spawn-remote: each remote delivery took a new or a cached connection", "ferry_remote_connections_reused_total", {},
         started["remote"] - peer.connections),
        ("ferry-spawn-remote: every connection's policy", "ferry_remote_tls_policy_total", {}, peer.connections),
        ("ferry-spawn-remote: no STARTTLS offered", "ferry_remote_tls_handshakes_total", {}, 0),
        ("ferry-spawn-remote: the bytes the peer took in DATA", "ferry_remote_bytes_sent_total", {}, sum(len(m) for m in peer.messages)),
        ("ferry-injectd: the bounce and the last message too", "ferry_injectd_messages_total", {}, 6),
    ])
    expect(value(s, "ferry_remote_connections_reused_total") >= 1, "ferry-spawn-remote: the last message took a cached connection",
           value(s, "ferry_remote_connections_reused_total"))
    expect(value(s, "ferry_remote_tls_policy_total", policy="opportunistic") == peer.connections,
           "ferry-spawn-remote: without control/tlspolicy, each connection's policy is opportunistic", s)
    expect(value(s, "ferry_remote_dns_queries_total") >= 3, "ferry-spawn-remote: the MX and address queries of mx.test are counted",
           value(s, "ferry_remote_dns_queries_total"))
    expect(has(s, "ferry_remote_connections_open") and has(s, "ferry_remote_tls_resumed_total") and has(s, "ferry_local_syncs_total")
           and has(s, "ferry_local_sync_rounds_total"), "every family of the channels is there")
    expect(all(value(s, "ferry_up", program=p) == 1 for p in PROGRAMS) and all(0 <= value(s, "ferry_snapshot_age_seconds", program=p) < 10 for p in PROGRAMS),
           "ferry_up is 1 and the snapshots are young for every running program", {p: value(s, "ferry_snapshot_age_seconds", program=p) for p in PROGRAMS})

    schedule_checks(home, log(), started, results)

    port = serve(home)
    http_checks(home, port)
    svc(home, "-d", "ferry-metrics")

    # stopped: the snapshots written at exit equal the stop lines of the logs
    expect(svc(home, "-d", "ferry"), "s6-svc -d service/ferry")
    m = None
    expect(eventually(lambda: re.search(r"ferry-spawn-local: info: stopped: (\d+) syncs asked by delivery workers, made in (\d+) rounds", log()), 30),
           "ferry-spawn-local stops", log()[-800:])
    m = re.search(r"ferry-spawn-local: info: stopped: (\d+) syncs asked by delivery workers, made in (\d+) rounds", log())
    expect(svc(home, "-d", "ferry-injectd"), "s6-svc -d service/ferry-injectd")
    ilog = lambda: s6_log(os.path.join(home.path, "log", "injectd"))  # noqa: E731
    expect(eventually(lambda: "ferry-injectd: info: stopped:" in ilog(), 30), "ferry-injectd stops", ilog()[-500:])
    i = re.search(r"stopped: (\d+) messages committed in (\d+) batches, (\d+) refused", ilog())
    expect(eventually(lambda: value(parse(metrics(home)[1]), "ferry_remote_connections_open") == 0, 20),
           "ferry-spawn-remote at exit: no connection open")
    settle(home, [
        ("ferry-spawn-local's stop line", "ferry_local_syncs_total", {}, int(m.group(1))),
        ("ferry-spawn-local's stop line", "ferry_local_sync_rounds_total", {}, int(m.group(2))),
        ("ferry-injectd's stop line", "ferry_injectd_messages_total", {}, int(i.group(1))),
        ("ferry-injectd's stop line", "ferry_injectd_commits_total", {}, int(i.group(2))),
        ("ferry-injectd's stop line", "ferry_injectd_refused_total", {}, int(i.group(3))),
    ], 5)
    rc, text, err = metrics(home)
    s = parse(text)
    expect(rc == 0 and not err, "ferry-metrics still reads the snapshots of programs that stopped", err)
    ok("snapshots of stopped programs: ages %s" % {p: round(value(s, "ferry_snapshot_age_seconds", program=p), 1) for p in PROGRAMS})
    run.stop()


def schedule_checks(home, log, started, results):
    """ferry-schedule's families (its snapshot is the queue manager's own) against its log"""
    if not os.path.exists(os.path.join(home.path, "metrics", "schedule", "metrics.prom")):
        print("skipped part: ferry-schedule's families: metrics/schedule/metrics.prom does not exist "
              "(this ferry-schedule writes no snapshot yet)")
        return
    wants = []
    for ch in ("local", "remote"):
        wants.append(("ferry-schedule: the \"starting delivery\" lines", "ferry_deliveries_started_total", {"channel": ch}, started.get(ch, 0)))
        for r in ("success", "deferral", "failure"):
            wants.append(("ferry-schedule: the addresses of the delivery lines", "ferry_recipient_results_total",
                          {"channel": ch, "result": r}, results.get((ch, r), 0)))
    wants.append(("ferry-schedule: the deferred recipient", "ferry_queue_recipients", {"channel": "remote", "state": "deferred"}, 1))
    # six messages (five through ferry-injectd, the bounce), all finished but the deferred one's
    wants.append(("ferry-schedule: the messages taken on", "ferry_messages_loaded_total", {}, 6))
    wants.append(("ferry-schedule: the log's \"end msg\" lines", "ferry_messages_finished_total", {}, 5))
    wants.append(("ferry-schedule: the deferred one's message is left", "ferry_queue_messages", {}, 1))
    s = settle(home, wants)
    ends = len(re.findall(r"\bend msg \S+$", home.log(), re.M))
    expect(ends == 5, "ferry-schedule: 5 \"end msg\" lines in the log, as ferry_messages_finished_total says", ends)
    for ch in ("local", "remote"):
        inf = value(s, "ferry_delivery_delay_seconds_bucket", channel=ch, le="+Inf")
        expect(inf == value(s, "ferry_delivery_delay_seconds_count", channel=ch), "ferry-schedule: the delay histogram of %s: +Inf bucket = count" % ch)
    expect(value(s, "ferry_up", program="schedule") == 1, "ferry-schedule is up")


def tls_run():
    """ferry-spawn-remote alone, over STARTTLS: its TLS counters against what the peers saw (three
    connections to one peer, connectioncache 0, so the last two resume the first's session; a
    peer that breaks the handshake, and the retry without TLS)"""
    from tls_peers import TestCA, TlsPeer
    home = Home()
    stops.append(home.cleanup)
    ca = TestCA(os.path.join(home.tmp, "ca"))
    peer = TlsPeer("starttls", *ca.cert("good"))
    stops.append(peer.stop)
    broken = TlsPeer("broken")
    stops.append(broken.stop)
    home.control("smtproutes", "tls.test:127.0.0.1:%d\nbroken.test:127.0.0.1:%d\n" % (peer.port, broken.port))
    home.control("connectioncache", "0\n")
    mid = home.inject(b"Subject: over TLS\n\nx\n", "s@example.org", ["a@tls.test"])
    sp = Spawner(home, "ferry-spawn-remote")
    rcpts = ["a@tls.test", "b@tls.test", "c@tls.test", "d@broken.test"]
    for i, r in enumerate(rcpts):
        sp.deliver(i + 1, mid, "s@example.org", [r])
        res = sp.wait(i + 1)
        expect(res[0][0] == "K", "TLS: delivered to " + r, res)
    expect(sp.finish() == 0, "TLS: ferry-spawn-remote exits at the end of its input")
    rc, text, err = metrics(home)
    s = parse(text)
    tls = [c for c in peer.conns if c.tls]
    expect(value(s, "ferry_remote_tls_handshakes_total", result="ok") == len(tls) == 3,
           "TLS: ferry_remote_tls_handshakes_total{result=ok} is the handshakes the peer made", (value(s, "ferry_remote_tls_handshakes_total", result="ok"), peer.conns))
    expect(value(s, "ferry_remote_tls_resumed_total") == sum(1 for c in tls if c.reused) == 2,
           "TLS: ferry_remote_tls_resumed_total is the sessions the peer resumed", value(s, "ferry_remote_tls_resumed_total"))
    expect(value(s, "ferry_remote_tls_handshakes_total", result="failed") == 1 and broken.connections == 2,
           "TLS: the broken handshake counts as failed, the retry without TLS as a connection",
           (value(s, "ferry_remote_tls_handshakes_total", result="failed"), broken.connections))
    expect(value(s, "ferry_remote_connections_opened_total") == peer.connections + broken.connections
           == value(s, "ferry_remote_tls_policy_total", policy="opportunistic"),
           "TLS: every connection counted, each under the policy opportunistic", (value(s, "ferry_remote_connections_opened_total"), peer.connections, broken.connections))


def root_install():
    if not is_root():
        print("skipped part: the root install (ferry-setup -u) needs root")
        return
    import grp
    import pwd
    home = Home()
    stops.append(home.cleanup)
    home.make_with_dedicated_users()
    run = Supervised(home.path)
    stops.append(run.stop)
    want = {"remote": "ferryr", "local": "root", "injectd": "ferryq", "schedule": "ferrys"}
    snap = lambda p: os.path.join(home.path, "metrics", p, "metrics.prom")  # noqa: E731
    expect(eventually(lambda: all(os.path.exists(snap(p)) for p in PROGRAMS), 30), "root install: every program writes its snapshot",
           home.log()[-800:])
    for p, user in want.items():
        if not os.path.exists(snap(p)):
            print("skipped part: no snapshot of %s yet (its program writes none)" % p)
            continue
        st = os.stat(snap(p))
        expect(pwd.getpwuid(st.st_uid).pw_name == user and grp.getgrgid(st.st_gid).gr_name == "ferryl" and st.st_mode & 0o777 == 0o640,
               "root install: metrics/%s/metrics.prom is %s's, group ferryl, mode 0640" % (p, user),
               (pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name, oct(st.st_mode)))
    rc, text, err = metrics(home, "ferryl")
    s = parse(text) if rc == 0 else {}
    expect(rc == 0 and not err and all(value(s, "ferry_up", program=p) == 1 for p in PROGRAMS)
           and has(s, "ferry_injectd_messages_total") and has(s, "ferry_local_syncs_total") and has(s, "ferry_remote_connections_opened_total"),
           "root install: ferry-metrics as ferryl reads every snapshot", (rc, err, text[-300:]))
    rc, text, err = metrics(home, "nobody")
    expect(rc == 111 and "metrics" in err, "root install: another user reads none (111)", (rc, err))
    r = subprocess.run([os.path.join(BIN, "ferry-setup"), "-c", home.path], capture_output=True, text=True)
    expect(r.returncode == 0, "root install: ferry-setup -c finds the metrics directories and service as they should be", r.stdout + r.stderr)
    run_script = open(os.path.join(home.path, "service", "ferry-metrics", "run")).read()
    expect("s6-setuidgid ferryl\n" in run_script and " -L " in run_script, "root install: the service runs ferry-metrics -L as ferryl", run_script)
    port = serve(home)
    r, body = http_get(port)
    s = parse(body.decode())
    expect(r.status == 200 and all(value(s, "ferry_up", program=p) == 1 for p in PROGRAMS),
           "root install: over HTTP through the service (as ferryl), every snapshot", body[-300:])
    svc(home, "-d", "ferry-metrics")
    run.stop()


try:
    mixed_run()
    tls_run()
    root_install()
finally:
    stop_all(list(reversed(stops)))
print("all checks passed")
