"""Writes doc/performance.md (tests/bench/run, make bench): runs the benches named (all of them when
none is), puts each one's output in its own section between generated markers, keeps the other
sections as they were, and computes the header and the targets table from the figures the
sections hold (one `<!-- figure KEY VALUE -->` line each, printed by the bench itself).

    page.py [BENCH...]      BENCH: mta tls dane shaping shapingwork relay relayload queue biglist inject local remote qread
    page.py -               the page made again from the sections it holds, no bench run

A bench that fails leaves its old section in place; page.py then exits 1 after writing the rest."""

import os
import re
import subprocess
import sys
import time

TOP = os.environ["FERRY_TOP"]
PAGE = os.path.join(TOP, "doc", "performance.md")

# in page order: name, the environment that sets its sizes (with the bench's defaults)
BENCHES = [
    ("mta", [("N", "5000"), ("RUNS", "3")]),
    ("scale", [("SIZES", "5000 20000 100000"), ("RUNS", "3"), ("BIGRUNS", "3/1")]),
    ("tls", [("N", "5000"), ("RUNS", "3")]),
    ("dane", [("N", "5000"), ("RUNS", "3")]),
    ("relay", [("N", "5000"), ("RUNS", "3"), ("SESSIONS", "20")]),
    ("relayload", [("N", "5000"), ("RUNS", "3"), ("LOADS", "10 20 40 80")]),
    ("shaping", [("N", "5000"), ("RUNS", "5")]),
    ("shapingwork", [("N", "2000"), ("RUNS", "3")]),
    ("queue", [("N", "2000"), ("RUNS", "3"), ("DEFERRED", "100000")]),
    ("biglist", [("SIZES", "1000 10000 100000 1000000")]),
    ("inject", [("N", "2000"), ("RUNS", "3")]),
    ("local", [("N", "2000"), ("RUNS", "3")]),
    ("remote", [("N", "2000"), ("RUNS", "3")]),
    ("qread", [("QUEUED", "100000"), ("RUNS", "3")]),
]
NAMES = [b for b, _ in BENCHES]
FIGURE = re.compile(r"^<!-- figure (\S+) (\S+) -->$", re.M)


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()


def machine():
    cpu = sh("sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1")
    mem = sh("awk '/MemTotal/ { printf \"%.0f GiB\", $2 / 1048576 }' /proc/meminfo")
    fs = sh("df -T %s | awk 'NR == 2 { print $2 }'" % os.path.join(TOP, "build"))
    return "%s cores, %s, %s memory, %s, file system %s%s%s" % (os.cpu_count(), cpu, mem, sh("uname -sr"), fs,
                                                               fs_details(fs), pageout())


def fs_details(fs):
    """for ext4: whether it has a journal and whether it discards freed blocks as it frees them
    (both change what removing a queue file costs)"""
    if fs != "ext4":
        return ""
    src, opts = (sh("findmnt -n -o SOURCE,OPTIONS -T %s" % os.path.join(TOP, "build")).split() + ["", ""])[:2]
    dev = os.path.basename(src)
    journal = dev and any(j.startswith(dev + "-") for j in os.listdir("/proc/fs/jbd2")) if os.path.isdir("/proc/fs/jbd2") else None
    said = [] if journal is None else ["with a journal" if journal else "no journal"]
    if "discard" in opts.split(","):
        said.append("mounted with discard: each freed block is discarded as it is freed")
    return " (%s)" % "; ".join(said) if said else ""


def pageout():
    """the kernel's own page-out of unused file pages (DAMON), when it runs: a queue's files older
    than its age are read back from disk by a drain"""
    top = "/sys/kernel/mm/damon/admin/kdamonds"
    try:
        for k in os.listdir(top):
            kd = os.path.join(top, k)
            if not os.path.isdir(kd) or open(os.path.join(kd, "state")).read().strip() != "on":
                continue
            for c in os.listdir(os.path.join(kd, "contexts")):
                ctx = os.path.join(kd, "contexts", c)
                if not os.path.isdir(ctx):
                    continue
                aggr = int(open(os.path.join(ctx, "monitoring_attrs", "intervals", "aggr_us")).read())
                for sc in os.listdir(os.path.join(ctx, "schemes")):
                    d = os.path.join(ctx, "schemes", sc)
                    if os.path.isdir(d) and open(os.path.join(d, "action")).read().strip() == "pageout":
                        age = int(open(os.path.join(d, "access_pattern", "age", "min")).read()) * aggr / 1e6
                        return "; the kernel pages out memory unused for %.0f s (DAMON pageout), the page cache included" % age
    except (OSError, ValueError):
        pass
    return ""


def software():
    pf = sh("postconf -d mail_version 2>/dev/null | sed 's/.*= //'")
    return "Debian %s, %s%s" % (sh("cat /etc/debian_version"), sh("gcc --version | head -n 1"),
                                ", Postfix %s" % pf if pf else "")


def sections(text):
    """{bench: its whole section, markers included} of a page"""
    out = {}
    for m in re.finditer(r"<!-- bench (\S+) begin -->\n.*?<!-- bench \1 end -->\n", text, re.S):
        out[m.group(1)] = m.group(0)
    return out


def minutes(secs):
    return "%.1f s" % secs if secs < 60 else "%d min" % round(secs / 60)


def run(bench, sizes):
    """the bench's new section, or None if it failed"""
    env = dict(os.environ)
    settings = []
    for var, default in sizes:
        env.setdefault(var, default)
        settings.append("%s=%s" % (var, "'%s'" % env[var] if " " in env[var] else env[var]))
    print("bench: %s (%s) ..." % (bench, " ".join(settings)), file=sys.stderr, flush=True)
    t0 = time.time()
    r = subprocess.run(["sh", os.path.join(TOP, "tests", "bench", bench + ".sh")], env=env, stdout=subprocess.PIPE, text=True)
    took = time.time() - t0
    if r.returncode:
        print("bench: %s failed (exit %d); its section is left as it was" % (bench, r.returncode), file=sys.stderr)
        return None
    print("bench: %s done in %s" % (bench, minutes(took)), file=sys.stderr, flush=True)
    body = r.stdout.strip("\n").split("\n")
    if not body or not body[0].startswith("## "):
        body = ["## %s" % bench, ""] + body
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t0))
    line = ("Measured on %s, on %s; took %s. Again: `%s sh tests/bench/run %s`."
            % (when, machine(), minutes(took), " ".join(settings), bench))
    return "\n".join(["<!-- bench %s begin -->" % bench, body[0], "", line] + body[1:] + ["<!-- bench %s end -->" % bench, ""])


def figures(secs):
    """{key: value} of every section's figures; a key that more than one section holds (the
    machine's limits, measured by the mta bench and again by the DANE bench) is taken from the
    section its first word names (mta.limit.batchedw from the mta section: the same run as the
    rows it is set against), else from the last section that holds it"""
    f, own = {}, {}
    for bench, s in secs.items():
        for k, v in FIGURE.findall(s):
            try:
                x = float(v)
            except ValueError:
                continue
            if k.split(".")[0] == bench:
                own[k] = x
            f[k] = x
    f.update(own)
    return f


def num(x, digits=0):
    return "{:,.{}f}".format(x, digits)


def targets(f):
    """the rows of the targets table: (target, bench, measured, verdict)"""
    rows = []

    def missing(bench):
        return "not measured: `sh tests/bench/run %s`" % bench, "-"

    notqmail = {"local": 51, "remote": 73, "multi": 165}
    for mode in ("drain", "e2e"):
        for w in ("local", "remote", "multi"):
            unit = "rcpt/s" if w == "multi" else "msg/s"
            key = "rcpt" if w == "multi" else "msg"
            want = ("3x Postfix and 2x the faster of Exim and OpenSMTPD in the same run"
                    + (", 2x notqmail's %d %s" % (notqmail[w], unit) if mode == "e2e" else ""))
            target = "%s, %s: %s" % ("drain" if mode == "drain" else "end to end", w, want)
            k = "mta.%s.%s." % (w, mode)
            fe, pf, pt = [f.get(k + s + "." + key) for s in ("ferry", "postfix", "postfix-tuned")]
            if fe is None or pf is None:
                rows.append((target, "mta") + missing("mta"))
                continue
            if pt is None:
                text = "%s %s against %s (Postfix): %.1fx" % (num(fe), unit, num(pf), fe / pf)
                ok = fe >= 3 * pf
            else:
                text = "%s %s against %s (Postfix) and %s (tuned): %.1fx and %.1fx" % (num(fe), unit, num(pf), num(pt), fe / pf, fe / pt)
                ok = fe >= 3 * pf and fe >= 3 * pt
            peers = [(f[k + p + "." + key], p) for p in ("exim", "opensmtpd") if k + p + "." + key in f]
            if peers:
                other, who = max(peers)
                text += "; %s %s (%s): %.1fx" % (num(other), unit, {"exim": "Exim", "opensmtpd": "OpenSMTPD"}[who], fe / other)
                ok = ok and fe >= 2 * other
            else:
                text += "; Exim and OpenSMTPD not measured"
                ok = False
            if mode == "e2e":
                text += "; %.1fx notqmail" % (fe / notqmail[w])
                ok = ok and fe >= 2 * notqmail[w]
            text += " (N = %s, median of %d)" % (num(f.get("mta.n", 0)), f.get("mta.runs", 0))
            rows.append((target, "mta", text, "met" if ok else "**missed**"))

    target = "scale: ferry's rate at 20,000 and 100,000 messages at least 90% of its rate at 5,000, every workload and mode"
    # the scale bench's figures (scale.pct.W.M.nN); the mta bench's own (mta.scale.W.M.nN) when it ran several sizes
    scale = sorted((k.split(".", 2)[2], v) for k, v in f.items() if k.startswith("scale.pct."))
    bench = "scale"
    if not scale:
        scale = sorted((k.split(".", 2)[2], v) for k, v in f.items() if k.startswith("mta.scale."))
        bench = "mta"
    if scale:
        worst = min(scale, key=lambda kv: kv[1])
        sizes = sorted({int(k.rsplit(".n", 1)[1]) for k, _ in scale})
        pcts = "; ".join("%s %s %s" % (w, m, ", ".join("%.0f%%" % v for k, v in sorted(scale, key=lambda kv: int(kv[0].rsplit(".n", 1)[1]))
                                                      if k.startswith("%s.%s." % (w, m))))
                         for w, m in sorted({tuple(k.split(".")[:2]) for k, _ in scale}))
        text = "at %s messages: lowest %.0f%% (%s %s); %s" % (" and ".join(num(n) for n in sizes), worst[1],
                                                              worst[0].split(".")[0], worst[0].split(".")[1], pcts)
        ok = worst[1] >= 90 and 20000 in sizes and 100000 in sizes
        if not (20000 in sizes and 100000 in sizes):
            text += "; not measured at " + " and ".join(num(n) for n in (20000, 100000) if n not in sizes)
        rows.append((target, bench, text, "met" if ok else "**missed**"))
    else:
        rows.append((target, "scale", "not measured: `sh tests/bench/run scale`", "-"))
    target = "near the limit: the local and remote drains at least 50% of the batched commits (several writers), the end-to-end rows 50% of the spawn rate"
    if "mta.limit.batchedw" in f and "mta.limit.spawn" in f:
        parts, ok = [], True
        for w, mode, lim, name in (("local", "drain", "mta.limit.batchedw", "batched"), ("remote", "drain", "mta.limit.batchedw", "batched"),
                                   ("local", "e2e", "mta.limit.spawn", "spawns"), ("remote", "e2e", "mta.limit.spawn", "spawns"),
                                   ("multi", "e2e", "mta.limit.spawn", "spawns")):
            got = f.get("mta.%s.%s.ferry.msg" % (w, mode))
            if got is None:
                ok = False
                continue
            pct = 100 * got / f[lim]
            ok = ok and pct >= 50
            part = "%s %s %.0f%% of %s %s/s" % (w, mode, pct, num(f[lim]), name)
            notes = []
            cpu = f.get("mta.%s.%s.ferry.cpu_ms" % (w, mode))
            if mode == "drain" and cpu and "mta.cores" in f:
                # what the machine's cores allow at the CPU the drain took a message
                most = 1000 * f["mta.cores"] / cpu
                notes.append("%.2f ms of CPU a message: %d cores allow %s msg/s, the drain ran at %.0f%% of that" % (
                    cpu, f["mta.cores"], num(most), 100 * got / most))
            if (w, mode) == ("local", "drain") and "mta.limit.deliverw" in f:
                # the floor: what a delivery does at least, with no MTA around it, in the same run
                notes.append("a bare local delivery with no MTA, sync-rate -d, ran at %.0f%% of the batched commits itself" % (
                    100 * f["mta.limit.deliverw"] / f[lim]))
            sink = f.get("mta.%s.%s.ferry.sink_cpu_ms" % (w, mode))
            if (w, mode) == ("remote", "drain") and sink and "mta.cores" in f:
                # the peer on the same cores: what the sink alone needs at half the batched commits
                half = f[lim] / 2
                notes.append("the sink alone took %.3f ms of CPU a message: at %s msg/s it would take %.1f of the %d cores" % (
                    sink, num(half), half * sink / 1000, f["mta.cores"]))
            if notes:
                part += " (%s)" % "; ".join(notes)
            parts.append(part)
        text = "; ".join(parts)
        if f.get("mta.limit.drift", 0) > 10:
            text += ("; the machine's limits moved by %.0f%% between the start and the end of the run (%s and %s batched/s, %s and %s spawns/s)"
                     % (f["mta.limit.drift"], num(f.get("mta.limit.before.batchedw", 0)), num(f["mta.limit.batchedw"]),
                        num(f.get("mta.limit.before.spawn", 0)), num(f["mta.limit.spawn"])))
        rows.append((target, "mta", text, "met" if ok else "**missed**"))
    else:
        rows.append((target, "mta") + missing("mta"))

    for w in ("remote", "multi"):
        unit = "rcpt/s" if w == "multi" else "msg/s"
        key = "rcpt" if w == "multi" else "msg"
        target = "drain over TLS, %s: 3x Postfix (smtp_tls_security_level = may) in the same run" % w
        k = "tls.%s." % w
        got = [f.get(k + s + "." + key) for s in ("ferry", "postfix", "postfix-tuned")]
        hs = [f.get(k + s + ".hs_per_msg") for s in ("ferry", "postfix", "postfix-tuned")]
        if None in got or None in hs:
            rows.append((target, "tls") + missing("tls"))
            continue
        fe, pf, pt = got
        text = "%s %s against %s (Postfix) and %s (tuned): %.1fx and %.1fx (N = %s, median of %d)" % (
            num(fe), unit, num(pf), num(pt), fe / pf, fe / pt, num(f.get("tls.n", 0)), f.get("tls.runs", 0))
        notls = [name for name, h in zip(("ferry", "Postfix", "postfix-tuned"), hs) if not h]
        if notls:
            text += "; no TLS negotiated by " + ", ".join(notls)
        rows.append((target, "tls", text, "met" if fe >= 3 * pf and fe >= 3 * pt and not notls else "**missed**"))
    target = "ferry with TLS at least 70% of ferry without (drains, remote and multi)"
    got = [(f.get("tls.%s.ferry.msg" % w), f.get("tls.%s.ferry.plain.msg" % w), f.get("tls.%s.ferry.hs_per_msg" % w))
           for w in ("remote", "multi")]
    if any(None in g for g in got):
        rows.append((target, "tls") + missing("tls"))
    else:
        pct = [100 * a / b for a, b, _ in got]
        text = "remote %.0f%%, multi %.0f%%" % tuple(pct)
        if not all(h for _, _, h in got):
            text += "; ferry negotiated no TLS"
        rows.append((target, "tls", text, "met" if min(pct) >= 70 and all(h for _, _, h in got) else "**missed**"))
    target = "over TLS: handshakes per message and CPU per handshake reported"
    if "tls.remote.ferry.hs_per_msg" in f and "tls.multi.ferry.hs_per_msg" in f:
        parts = []
        for w in ("remote", "multi"):
            p = "%s: %.3f handshakes/msg" % (w, f["tls.%s.ferry.hs_per_msg" % w])
            if "tls.%s.ferry.sink_hs_cpu_us" % w in f:
                p += ", sink %.0f us/handshake" % f["tls.%s.ferry.sink_hs_cpu_us" % w]
            if "tls.%s.ferry.tls_cost_per_hs_us" % w in f:
                p += ", ferry's TLS cost %.0f us/handshake" % f["tls.%s.ferry.tls_cost_per_hs_us" % w]
            parts.append(p)
        ok = f["tls.remote.ferry.hs_per_msg"] > 0 and f["tls.multi.ferry.hs_per_msg"] > 0
        rows.append((target, "tls", "ferry " + "; ".join(parts), "reported" if ok else "**missed** (no TLS)"))
    else:
        rows.append((target, "tls") + missing("tls"))

    # the remote drain is the target; the multi drain (10 recipients over 3 domains) is held to the same bar
    for w in ("remote", "multi"):
        target = "ferry with DANE at least 90%% of ferry with TLS alone (%s drain, in the same run)" % w
        got = (f.get("dane.%s.dane.msg" % w), f.get("dane.%s.tls.msg" % w))
        if None in got:
            rows.append((target, "dane") + missing("dane"))
            continue
        pct = 100 * got[0] / got[1]
        text = "%.0f%% (%s against %s msg/s) (N = %s, median of %d)" % (
            pct, num(got[0]), num(got[1]), num(f.get("dane.n", 0)), f.get("dane.runs", 0))
        rows.append((target, "dane", text, "met" if pct >= 90 else "**missed**"))
    target = "DANE: one TLSA query per MX host per TTL (the unbound's count over a drain)"
    got = [f.get("dane.%s.tlsa_per_host_ttl" % w) for w in ("remote", "multi")]
    if None in got:
        rows.append((target, "dane") + missing("dane"))
    else:
        rows.append((target, "dane", "remote %g, multi %g (the most of any run)" % tuple(got),
                     "met" if all(g == 1 for g in got) else "**missed**"))

    target = "relay: ferry at least 3x Postfix (msg/s, same run), without TLS and with TLS"
    got = {(k, x): f.get("relay.%s.%s.msg" % (k, x)) for k in ("plain", "tls") for x in ("ferry", "postfix")}
    # every connection made its handshake: handshakes per message times messages per connection
    hs = [f.get("relay.tls.%s.hs_per_msg" % x, 0) * f.get("relay.tls.%s.per_conn" % x, 0) for x in ("ferry", "postfix")]
    if None in got.values() or not all(hs):
        rows.append((target, "relay") + missing("relay"))
    else:
        r = {k: got[(k, "ferry")] / got[(k, "postfix")] for k in ("plain", "tls")}
        text = "sessions of %d messages: without TLS %s msg/s against %s: %.1fx; with TLS %s against %s: %.1fx (N = %s, %d sessions, median of %d)" % (
            f.get("relay.tls.ferry.per_conn", 0), num(got[("plain", "ferry")]), num(got[("plain", "postfix")]), r["plain"],
            num(got[("tls", "ferry")]), num(got[("tls", "postfix")]), r["tls"], num(f.get("relay.n", 0)), f.get("relay.sessions", 0),
            f.get("relay.runs", 0))
        one = {k: (f.get("relay.%s1.ferry.msg" % k), f.get("relay.%s1.postfix.msg" % k)) for k in ("plain", "tls")}
        if all(None not in v for v in one.values()):
            text += "; a connection per message: %.1fx without TLS, %.1fx with" % tuple(v[0] / v[1] for v in (one["plain"], one["tls"]))
        ok = min(r.values()) >= 3 and min(hs) >= 0.999
        if min(hs) < 0.999:
            text += "; a TLS row made fewer handshakes than connections"
        rows.append((target, "relay", text, "met" if ok else "**missed**"))
    target = "relay: ferry at least 2x the faster of Exim and OpenSMTPD (msg/s, same run), without TLS and with TLS"
    got = {(k, x): f.get("relay.%s.%s.msg" % (k, x)) for k in ("plain", "tls") for x in ("ferry", "exim", "opensmtpd")}
    # a peer may have no TLS row (the relay section says why); each kind needs ferry and one peer
    peers = {k: [x for x in ("exim", "opensmtpd") if got[(k, x)] is not None] for k in ("plain", "tls")}
    if None in (got[("plain", "ferry")], got[("tls", "ferry")]) or len(peers["plain"]) < 2 or not peers["tls"]:
        rows.append((target, "relay", "not measured: Exim and OpenSMTPD were not in the last relay run (`sh tests/bench/run relay`)", "-"))
    else:
        parts, worst = [], []
        names = {"exim": "Exim", "opensmtpd": "OpenSMTPD"}
        for k, label in (("plain", "without TLS"), ("tls", "with TLS")):
            peer = max(peers[k], key=lambda x: got[(k, x)])
            r = got[(k, "ferry")] / got[(k, peer)]
            worst.append(r)
            alone = "" if len(peers[k]) == 2 else "; %s has no TLS row" % " and ".join(names[x] for x in names if x not in peers[k])
            parts.append("%s %s msg/s against %s (%s%s): %.1fx" % (label, num(got[(k, "ferry")]), num(got[(k, peer)]), names[peer], alone, r))
        rows.append((target, "relay", "; ".join(parts) + " (N = %s, median of %d)" % (num(f.get("relay.n", 0)), f.get("relay.runs", 0)),
                     "met" if min(worst) >= 2 else "**missed**"))
    target = "relay: at least 1,500 msg/s on this 2-core machine"
    if "relay.plain.ferry.msg" in f and "relay.tls.ferry.msg" in f:
        fe = f["relay.plain.ferry.msg"]
        rows.append((target, "relay", "ferry %s msg/s without TLS, %s with (%.2f and %.2f ms of CPU per message, the whole machine's)" % (
            num(fe), num(f["relay.tls.ferry.msg"]), f.get("relay.plain.ferry.cpu_ms", 0), f.get("relay.tls.ferry.cpu_ms", 0)),
            "met" if fe >= 1500 else "**missed**"))
    else:
        rows.append((target, "relay") + missing("relay"))
    target = "relay, each system at its fastest number of sessions: ferry at least 3x Postfix, and 1,500 msg/s"
    if "relayload.best.ferry.msg" in f and "relayload.best.postfix.msg" in f:
        fe, pf = f["relayload.best.ferry.msg"], f["relayload.best.postfix.msg"]
        rows.append((target, "relayload", "ferry %s msg/s (%d sessions) against %s (%d sessions): %.1fx (N = %s, median of %d)" % (
            num(fe), f.get("relayload.best.ferry.sessions", 0), num(pf), f.get("relayload.best.postfix.sessions", 0), fe / pf,
            num(f.get("relayload.n", 0)), f.get("relayload.runs", 0)),
            "met" if fe >= 3 * pf and fe >= 1500 else "**missed**"))
    else:
        rows.append((target, "relayload") + missing("relayload"))
    # the drains' seconds and CPU seconds spread by a quarter between runs on this shared machine:
    # the targets are judged on the work (callgrind's instructions, the same in every run to well
    # under 1%), the timed figures shown beside them
    target = ("with no shaping table, the drains as fast as before shaping: ferry-schedule's and the channel's"
              " instructions per recipient at most 105% of the build before shaping")
    got = {w: [(f.get("shapingwork.notable.%s.now.%s" % (w, c)), f.get("shapingwork.notable.%s.before.%s" % (w, c)))
               for c in ("sched", "chan")] for w in ("remote", "multi")}
    if any(None in g or not g[1] for v in got.values() for g in v):
        rows.append((target, "shapingwork") + missing("shapingwork"))
    else:
        pct = {w: 100 * sum(g[0] for g in v) / sum(g[1] for g in v) for w, v in got.items()}
        text = "; ".join("%s %.0f%% (%s against %s instructions/rcpt)" % (
            w, pct[w], num(sum(g[0] for g in got[w])), num(sum(g[1] for g in got[w]))) for w in ("remote", "multi"))
        text += " (N = %s, callgrind, median of %d)" % (num(f.get("shapingwork.n", 0)), f.get("shapingwork.runs", 1))
        rates = [(f.get("shaping.notable.%s.now.msg" % w), f.get("shaping.notable.%s.before.msg" % w)) for w in ("remote", "multi")]
        if not any(None in r for r in rates):
            text += "; the drains' rates, median of %d: remote %.0f%%, multi %.0f%% of before" % (
                f.get("shaping.runs", 0), 100 * rates[0][0] / rates[0][1], 100 * rates[1][0] / rates[1][1])
        rows.append((target, "shapingwork", text, "met" if max(pct.values()) <= 105 else "**missed**"))
    target = "with a table of 10,000 keys, ferry-schedule's and the channel's instructions per recipient within 10% of no table"
    parts, ratios = [], []
    for w in ("remote", "multi"):
        got = [(f.get("shapingwork.table.%s.10000.%s" % (w, c)), f.get("shapingwork.table.%s.0.%s" % (w, c))) for c in ("sched", "chan")]
        if any(None in g or not g[1] for g in got):
            parts = None
            break
        ratios += [a / b for a, b in got]
        parts.append("%s: ferry-schedule %s against %s (%+.1f%%), channel %s against %s (%+.1f%%)" % (
            w, num(got[0][0]), num(got[0][1]), 100 * (got[0][0] / got[0][1] - 1), num(got[1][0]), num(got[1][1]),
            100 * (got[1][0] / got[1][1] - 1)))
    if parts is None:
        rows.append((target, "shapingwork") + missing("shapingwork"))
    else:
        text = "; ".join(parts) + " (N = %s, callgrind, median of %d)" % (num(f.get("shapingwork.n", 0)), f.get("shapingwork.runs", 1))
        rows.append((target, "shapingwork", text, "met" if max(ratios) <= 1.10 else "**missed**"))

    target = "ferry-inject: at most 5 ms of CPU per message"
    parts, worst = [], []
    if "inject.cpu1" in f:
        parts.append("ferry-inject %.2f ms alone, %.2f ms with 4 injectors (N = %s, median of %d)"
                     % (f["inject.cpu1"], f["inject.cpu4"], num(f["inject.n"]), f["inject.runs"]))
        worst += [f["inject.cpu1"], f["inject.cpu4"]]
    sm = [f[k] for k in sorted(f) if re.match(r"mta\.\w+\.e2e\.ferry\.inj_cpu_ms$", k)]
    if sm:
        parts.append("ferry-sendmail %.1f to %.1f ms with 4 injectors while delivery runs (mta e2e rows)" % (min(sm), max(sm)))
        worst += sm
    if parts:
        rows.append((target, "inject, mta", "; ".join(parts), "met" if max(worst) <= 5 else "**missed**"))
    else:
        rows.append((target, "inject") + missing("inject"))

    if "queue.local.deferred_pct" in f:
        rows.append(("scale: fresh mail with %s deferred at 80%% of the empty-queue rate" % num(f["queue.deferred"]), "queue",
                     "local %.0f%%, remote %.0f%% (N = %s)" % (f["queue.local.deferred_pct"], f["queue.remote.deferred_pct"], num(f["queue.n"])),
                     "met" if min(f["queue.local.deferred_pct"], f["queue.remote.deferred_pct"]) >= 80 else "**missed**"))
        rows.append(("restart with %s queued: first delivery within 2 s" % num(f["queue.deferred"]), "queue",
                     "%.2f s" % f["queue.restart_first_s"], "met" if f["queue.restart_first_s"] <= 2 else "**missed**"))
        rows.append(("ferry-schedule: at most 200 bytes per pending recipient", "queue",
                     "%.0f bytes (%s recipients queued)" % (f["queue.bytes_per_rcpt"], num(f["queue.deferred"] + 1)),
                     "met" if f["queue.bytes_per_rcpt"] <= 200 else "**missed**"))
    else:
        for t in ("scale: fresh mail with 100,000 deferred at 80% of the empty-queue rate",
                  "restart with 100,000 queued: first delivery within 2 s",
                  "ferry-schedule: at most 200 bytes per pending recipient"):
            rows.append((t, "queue") + missing("queue"))
    return rows


def page(secs):
    f = figures(secs)
    out = ["# ferry performance", "",
           "<!-- Written entirely by make bench (tests/bench/run, tests/bench/page.py): edits by hand are lost. -->", "",
           "Written by `make bench` on %s." % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "Machine: %s; %s." % (machine(), software()), "",
           "`make bench` runs every bench below and writes this page; `make bench BENCH=inject` (or",
           "`sh tests/bench/run inject`) runs one again and rewrites only its section and the targets table.",
           "Each section gives its date, its machine, how long it took, its sizes (N, RUNS and the like,",
           "from the environment, each bench's defaults otherwise) and the exact command that measured it.",
           "", "## The targets", "",
           "Computed from the figures of the sections below.", "",
           "| target | bench | measured | verdict |", "|---|---|---|---|"]
    out += ["| %s | %s | %s | %s |" % r for r in targets(f)]
    out.append("")
    for b in NAMES:
        if b in secs:
            out.append(secs[b])
        else:
            out += ["<!-- bench %s begin -->" % b, "## %s" % b, "",
                    "Not measured yet: `sh tests/bench/run %s`." % b, "<!-- bench %s end -->" % b, ""]
    return "\n".join(out)


def main():
    want = sys.argv[1:] or NAMES
    if want == ["-"]:
        want = []
    for b in want:
        if b not in NAMES:
            sys.exit("usage: tests/bench/run [%s]..." % " ".join(NAMES))
    try:
        secs = sections(open(PAGE).read())
    except FileNotFoundError:
        secs = {}
    failed = False
    if not want:
        with open(PAGE + ".tmp", "w") as fp:
            fp.write(page(secs))
        os.rename(PAGE + ".tmp", PAGE)
    for b, sizes in BENCHES:
        if b in want:
            s = run(b, sizes)
            if s is None:
                failed = True
            else:
                secs[b] = s
                # written after each bench: a long run stopped halfway keeps what it measured
                with open(PAGE + ".tmp", "w") as fp:
                    fp.write(page(secs))
                os.rename(PAGE + ".tmp", PAGE)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
