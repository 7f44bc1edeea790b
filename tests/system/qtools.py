"""The hand tools under the real set: ferry-qread (text and JSON, filters) and ferry-qstat list
and count what was injected; ferry-qctl holds, releases, deletes (with and without a notice) and
requeues while the set runs; a queue file damaged by hand is reported, not crashed on."""

import json
import mailbox
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import stop_all, BIN, NAME_RE, Home, Supervised, eventually, expect, fail, is_root, s6_log, test_user  # noqa: E402
from smtp_peers import RawPeer, ScriptedPeer, free_port  # noqa: E402

home = Home()
H = home.path
stops = []
svscan = None


def log():
    return s6_log(os.path.join(H, "log"))


def svc(*args):
    subprocess.run(["s6-svc"] + list(args) + [os.path.join(H, "service", "ferry")], check=True)


def hup():
    """control/ changed: SIGHUP, and wait until the queue manager says it read the settings again
    (the channels get a reread frame on their request pipes, which they take before any request
    that comes after it)"""
    n = log().count("SIGHUP: settings read again")
    svc("-h")
    expect(eventually(lambda: log().count("SIGHUP: settings read again") > n, 20), "the set reads its settings again")


def tool(name, *args):
    return subprocess.run([os.path.join(BIN, name)] + list(args), capture_output=True, text=True)


def qread_json(*args):
    r = tool("ferry-qread", "-j", *args, H)
    if r.returncode:
        fail("ferry-qread -j exited %d: %s" % (r.returncode, r.stderr))
    return [json.loads(line) for line in r.stdout.splitlines()]


def queue_files(dirs=("todo", "intd", "local", "remote", "mess", "pid", "bounce", "defer", "hold", "delete")):
    return home.queue_files(dirs)


def files_of(mid):
    return [f for f in queue_files() if os.path.basename(f).split(".")[0] == str(mid)]


def inject(sender, rcpts, subject):
    return home.inject(b"Subject: " + subject.encode() + b"\n\nbody\n", sender, rcpts, running=True)


def arrived(subject):
    return [m for m in peer.handler.messages if ("Subject: %s\r\n" % subject).encode() in m[2] or ("Subject: %s\n" % subject).encode() in m[2]]


try:
    mail = os.path.join(home.tmp, "mail")
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(mail, "Maildir", sub))
    if is_root():
        test_user()
        home.control("mailboxowner", "ferrytest\n")
        subprocess.run(["chown", "-R", "ferrytest", mail], check=True)
    home.control("virtualdomains", "example.org\n")
    home.control("mailboxes", "@example.org: %s/Maildir/\n" % mail)
    subprocess.run([os.path.join(BIN, "ferry-mailboxes"), H], check=True, capture_output=True)
    peer = ScriptedPeer()
    stops.append(peer.stop)
    deadport = free_port()
    routes = lambda port: "".join("d%d.test:127.0.0.1:%d\n" % (i, port) for i in range(6))
    home.control("smtproutes", routes(deadport))
    home.control("timeoutconnect", "2\n")
    home.control("deadhosttime", "0\n")
    svscan = Supervised(H)
    stops.insert(0, svscan.stop)
    expect(eventually(lambda: "ferry-schedule: starting" in log(), 20), "the set starts under s6-svscan", log()[-500:])

    # six messages that wait (their host refuses connections), from two senders, to six domains
    ids = [inject("a%d@example.org" % (i % 2), ["r%d@d%d.test" % (i, i), "s%d@d%d.test" % (i, i)] if i == 0 else ["r%d@d%d.test" % (i, i)], "wait-%d" % i) for i in range(6)]
    expect(all(ids), "six messages injected", ids)
    nm = [home.name(i) for i in ids]    # their names, as the log and the tools give them
    # one deferral line per batch: the two recipients of d0.test share one
    expect(eventually(lambda: len(re.findall(r"deferral msg", log())) >= 6, 30), "all seven recipients deferred", log()[-800:])

    # ferry-qread, text
    r = tool("ferry-qread", H)
    expect(r.returncode == 0, "ferry-qread exits 0", r.stderr)
    listed = re.findall(r"^(%s)  \d+ bytes" % NAME_RE, r.stdout, re.M)
    expect(sorted(listed) == sorted(nm), "the text listing has exactly the six names", (listed, nm))
    expect("-- 6 messages, " in r.stdout and " 7 recipients to deliver" in r.stdout, "and the summary line counts 6 messages, 7 recipients", r.stdout[-200:])
    expect(len(re.findall(r"remote  deferred \(next attempt in \d+[smh]", r.stdout)) == 7, "each recipient: remote, deferred, next attempt", r.stdout[:600])
    expect(len(re.findall(r"last error: .*Connection refused", r.stdout)) == 7, "each with its last error", r.stdout[:600])

    # ferry-qread -j: one JSON object per message
    js = qread_json()
    expect(len(js) == 6 and sorted(j["id"] for j in js) == sorted(nm) and sorted(j["inode"] for j in js) == sorted(ids),
           "ferry-qread -j: six JSON lines that parse, the same names and inodes")
    j0 = [j for j in js if j["id"] == nm[0]][0]
    expect(j0["sender"] == "a0@example.org" and [x["address"] for x in j0["recipients"]] == ["r0@d0.test", "s0@d0.test"],
           "sender and recipients as injected", j0)
    x = j0["recipients"][0]
    expect(x["channel"] == "remote" and x["state"] == "deferred" and x["next_attempt"] > time.time() and "refused" in x["last_error"],
           "channel remote, state deferred, next_attempt in the future, last_error", x)
    expect(j0["size"] > 0 and 0 <= j0["age"] < 120 and j0["held"] is False, "size, age, held", j0)
    expect(all(x["attempts"] == 1 for j in js for x in j["recipients"]), "each recipient: attempts 1 (its one deferral)",
           [(x["address"], x["attempts"]) for j in js for x in j["recipients"]])

    # retry everything (SIGALRM): each recipient is deferred a second time, and counted
    svc("-a")
    expect(eventually(lambda: len(re.findall(r"deferral msg", log())) >= 12, 30), "all seven recipients deferred again", log()[-800:])
    js = qread_json()
    expect(all(x["attempts"] == 2 for j in js for x in j["recipients"]), "ferry-qread -j: attempts 2 for each",
           [(x["address"], x["attempts"]) for j in js for x in j["recipients"]])
    r = tool("ferry-qread", H)
    expect(len(re.findall(r"remote  deferred \(next attempt in \w+\) \[2 attempts\]  r?s?\d@d\d\.test", r.stdout)) == 7,
           "the text listing says [2 attempts] for each", r.stdout[:800])

    # filters
    expect(len(qread_json("-s", "a1@example.org")) == 3, "-s: the three messages of one sender")
    expect([j["id"] for j in qread_json("-r", "r4@d4.test")] == [nm[4]], "-r: the one message to a recipient")
    expect([j["id"] for j in qread_json("-d", "d3.test")] == [nm[3]] and len(qread_json("-d", "live.test")) == 0, "-d: by recipient domain")
    expect(len(qread_json("-S", "deferred")) == 6 and len(qread_json("-S", "held")) == 0, "-S: by state")
    expect(len(qread_json("-o", "3600")) == 0 and len(qread_json("-y", "3600")) == 6, "-o / -y: by age")

    # ferry-qstat
    r = tool("ferry-qstat", "-j", H)
    st = json.loads(r.stdout)
    expect(r.returncode == 0 and st["messages"] == 6 and st["remote"]["deferred"] == 7 and st["local"]["pending"] == 0,
           "ferry-qstat -j: 6 messages, 7 remote recipients deferred", r.stdout[:300])
    expect(st["domains"]["d0.test"]["total"] == 2 and st["domains"]["d0.test"]["ages"]["5"] == 2 and st["all"]["total"] == 7 and len(st["domains"]) == 6,
           "the age histogram: 2 at d0.test, 7 in all, all under 5 minutes", st["domains"])
    r = tool("ferry-qstat", H)
    expect(re.search(r"^d0\.test\s+2\s+2\s", r.stdout, re.M) and re.search(r"^TOTAL\s+7\s+7\s", r.stdout, re.M), "ferry-qstat text: qshape-like rows", r.stdout)

    # hold two, then the host comes back: requeue delivers the others at once, not the held ones
    r = tool("ferry-qctl", "-h", H, "hold", nm[1], nm[2])
    expect(r.returncode == 0 and "held msg %s" % nm[1] in r.stdout, "ferry-qctl hold", r.stdout + r.stderr)
    expect(eventually(lambda: ("hold msg %s: held" % nm[2]) in log(), 10), "the queue manager learns of it at once", log()[-400:])
    expect(len(qread_json("-S", "held")) == 2, "ferry-qread shows them held")
    home.control("smtproutes", routes(peer.port))
    hup()
    for i in (0, 1, 2, 3, 4, 5):
        r = tool("ferry-qctl", "-h", H, "requeue", "@d%d.test" % i)
        expect(r.returncode == 0, "ferry-qctl requeue @d%d.test" % i, r.stderr)
    expect(eventually(lambda: all(len(arrived("wait-%d" % i)) == 1 for i in (0, 3, 4, 5)), 20), "requeue @domain: the four not held are delivered at once", log()[-600:])
    expect(eventually(lambda: all(("requeue @d%d.test: 0 deferred recipients" % i) in log() for i in (1, 2)), 10) and not arrived("wait-1") and not arrived("wait-2"),
           "the held ones are not: requeue @domain found nothing to try there", log()[-600:])
    mark = len(log())
    svc("-a")
    expect(eventually(lambda: "SIGALRM: retrying every deferred recipient now" in log()[mark:], 10), "SIGALRM: the queue manager retries everything")
    # a release sent after the SIGALRM is taken after it: once the released one is delivered,
    # whatever the SIGALRM was to start has started
    r = tool("ferry-qctl", "-h", H, "release", nm[1])
    expect(r.returncode == 0 and eventually(lambda: len(arrived("wait-1")) == 1, 20), "release: delivered at once", r.stdout + log()[-400:])
    expect(not arrived("wait-2") and not re.search(r"starting delivery \d+: msg %s " % re.escape(nm[2]), log()[mark:]),
           "the other held one was not tried, not even after SIGALRM (retry everything)", log()[mark:][-600:])
    expect(eventually(lambda: not files_of(ids[1]), 10), "and its files are gone, the hold mark included", files_of(ids[1]))

    # delete the other held one: never delivered, no files left
    r = tool("ferry-qctl", "-h", H, "delete", nm[2])
    expect(r.returncode == 0, "ferry-qctl delete", r.stderr)
    expect(eventually(lambda: not files_of(ids[2]), 10), "the deleted message is gone from the queue", files_of(ids[2]))
    expect(re.search(r"delete msg %s: 1 recipients dropped, without notice" % re.escape(nm[2]), log()), "logged: dropped without notice")
    expect(not arrived("wait-2"), "and it never arrived (with its files gone, it cannot any more)")

    # delete with a notice (bounce): the sender (a local mailbox) is told
    home.control("smtproutes", routes(deadport) + "dead.test:127.0.0.1:%d\nd7.test:127.0.0.1:%d\n" % (deadport, deadport))
    hup()
    mark = len(log())   # ids are inodes, reused: only this message's lines count
    bid = inject("c@example.org", ["gone@dead.test"], "to-bounce")
    bname = home.name(bid)
    expect(eventually(lambda: ("deferral msg %s" % bname) in log()[mark:], 20), "a new message waits")
    r = tool("ferry-qctl", "-h", H, "bounce", bname)
    expect(r.returncode == 0, "ferry-qctl bounce", r.stderr)
    md = mailbox.Maildir(os.path.join(mail, "Maildir"), factory=None, create=False)
    expect(eventually(lambda: any("returned to the sender by the administrator with ferry-qctl bounce" in m.as_string() for m in md), 20) and eventually(lambda: not files_of(bid), 10),
           "the sender gets a failure notice saying the administrator returned it with ferry-qctl bounce, and the queue is clean", log()[-500:])
    expect(not any("ferry-qctl delete" in m.as_string() for m in md), "and the notice does not name ferry-qctl delete")

    # delete deferred messages (their recipients wait in the deferred heap), then keep using the
    # queue: the others are delivered exactly once, the deleted never
    home.control("smtproutes", routes(deadport) + "dead.test:127.0.0.1:%d\nd7.test:127.0.0.1:%d\nd8.test:127.0.0.1:%d\n" % (deadport, deadport, deadport))
    hup()
    mark = len(log())
    many = [inject("c@example.org", ["m%d@d8.test" % i, "n%d@d8.test" % i], "heap-%d" % i) for i in range(10)]
    manynames = [home.name(x) for x in many]
    expect(eventually(lambda: len(qread_json("-d", "d8.test")) == 10 and ("deferral msg %s" % manynames[0]) in log()[mark:], 20), "ten messages wait at d8.test")
    r = tool("ferry-qctl", "-h", H, "delete", *manynames[::2])
    expect(r.returncode == 0 and eventually(lambda: len(qread_json("-d", "d8.test")) == 5, 10), "five of them deleted", r.stdout + r.stderr)
    more = [inject("c@example.org", ["o%d@d8.test" % i], "heap-more-%d" % i) for i in range(5)]
    home.control("smtproutes", routes(peer.port) + "dead.test:127.0.0.1:%d\nd7.test:127.0.0.1:%d\nd8.test:127.0.0.1:%d\n" % (deadport, deadport, peer.port))
    hup()
    tool("ferry-qctl", "-h", H, "requeue", "@d8.test")
    expect(eventually(lambda: all(len(arrived("heap-%d" % i)) == 1 for i in range(1, 10, 2)) and all(len(arrived("heap-more-%d" % i)) == 1 for i in range(5)), 20),
           "the five kept and five new ones are delivered", log()[-600:])
    expect(eventually(lambda: not queue_files(), 10), "the queue is clean: nothing more can arrive", queue_files())
    expect(all(not arrived("heap-%d" % i) for i in range(0, 10, 2)), "the deleted ones never")
    expect(all(len(arrived("heap-%d" % i)) == 1 for i in range(1, 10, 2)) and all(len(arrived("heap-more-%d" % i)) == 1 for i in range(5)), "each exactly once")

    # requeue one deferred message by id
    mark = len(log())   # ids are inodes, reused: only this message's lines count
    rid = home.name(inject("c@example.org", ["later@d7.test"], "requeue-one"))
    expect(eventually(lambda: ("deferral msg %s" % rid) in log()[mark:], 20), "a message waits")
    home.control("smtproutes", routes(peer.port) + "dead.test:127.0.0.1:%d\nd7.test:127.0.0.1:%d\n" % (peer.port, peer.port))
    hup()
    r = tool("ferry-qctl", "-h", H, "requeue", rid)
    expect(r.returncode == 0 and eventually(lambda: len(arrived("requeue-one")) == 1, 20), "ferry-qctl requeue ID: delivered at once", r.stdout + r.stderr + log()[-400:])

    # the remote channel's memory of dead hosts: shown, then forgotten for one host
    silent = RawPeer(silent=True)
    stops.append(silent.stop)
    home.control("smtproutes", routes(peer.port) + "quiet.test:127.0.0.1:%d\n" % silent.port)
    home.control("deadhosttime", "300\n")
    home.control("timeoutgreeting", "1\n")
    hup()
    mark = len(log())
    r = tool("ferry-qctl", "-h", H, "deadhosts")
    expect(r.returncode == 0 and "no dead hosts" in r.stdout, "ferry-qctl deadhosts: none at first", r.stdout + r.stderr)
    # the dead hosts are ferry-spawn-remote's: ferry-qctl asks it on remote/ask, the queue manager is not involved
    expect(eventually(lambda: "ferry-spawn-remote: info: ferry-qctl: deadhosts: answered" in log()[mark:], 5)
           and "asked of ferry-spawn-remote" not in log()[mark:],
           "ferry-qctl deadhosts: answered by ferry-spawn-remote itself, not through ferry-schedule", log()[mark:])
    mark = len(log())   # ids are inodes, reused: only this message's lines count
    qid = home.name(inject("c@example.org", ["x@quiet.test"], "to-quiet"))
    expect(eventually(lambda: ("deferral msg %s" % qid) in log()[mark:], 20), "a host that never greets: deferral", log()[-400:])
    dead = lambda: tool("ferry-qctl", "-h", H, "deadhosts")
    expect(eventually(lambda: re.search(r"^127\.0\.0\.1:%d skipped for \d+ more seconds$" % silent.port, dead().stdout, re.M), 5),
           "ferry-qctl deadhosts: the host that timed out, and for how long", dead().stdout + log()[-1500:])
    r = tool("ferry-qctl", "-h", H, "undead", "127.0.0.1:%d" % silent.port)
    expect(r.returncode == 0 and "1 host forgotten" in r.stdout, "ferry-qctl undead ip:port forgets it", r.stdout + r.stderr)
    r = tool("ferry-qctl", "-h", H, "deadhosts")
    expect("no dead hosts" in r.stdout, "then there is none", r.stdout)
    r = tool("ferry-qctl", "-h", H, "undead", "not-an-ip")
    expect("not an address" in r.stdout, "undead with garbage says so", r.stdout + r.stderr)
    expect(os.listdir(os.path.join(H, "remote")) == ["ask"], "the answer FIFOs are gone", os.listdir(os.path.join(H, "remote")))
    tool("ferry-qctl", "-h", H, "delete", qid)
    home.control("deadhosttime", "0\n")
    hup()

    # bad targets
    r = tool("ferry-qctl", "-h", H, "hold", "1KQ3ZJ8VX4M.999999999")
    expect(r.returncode == 100 and "no such message" in r.stderr, "a name not in the queue: exit 100 and why", r.returncode)
    r = tool("ferry-qctl", "-h", H, "hold", "999999999")
    expect(r.returncode == 100 and "a bare number is not a message name" in r.stderr, "a bare inode number: exit 100 and why", r.stderr)

    # hostile: a queue file damaged by hand (set stopped): reported, not crashed on
    expect(eventually(lambda: not queue_files(), 20), "the queue is empty", queue_files())
    # marks of messages that are gone (a crash at the wrong moment): removed at the next start, so
    # that a later message with the same id (an inode, reused) is neither held nor deleted
    for d, i in (("hold", 123456789), ("delete", 123456788)):
        open(os.path.join(H, "queue", d, str(i)), "w").close()
    svc("-t")
    expect(eventually(lambda: "hold msg 00000000000.123456789: no such message any more: its mark removed" in log()
                      and "delete msg 00000000000.123456788: no such message any more: its mark removed" in log(), 20),
           "stale hold and delete marks are removed at start, and logged", log()[-600:])
    expect(not os.listdir(os.path.join(H, "queue", "hold")) and not os.listdir(os.path.join(H, "queue", "delete")), "the mark directories are empty")
    svc("-d")
    expect(eventually(lambda: "ferry-schedule: stopped" in log(), 20), "the set stops")
    a = inject("d@example.org", ["x@dead.test"], "damaged-a")
    b = inject("d@example.org", ["y@dead.test"], "damaged-b")
    r = tool("ferry-qread", H)
    expect(r.returncode == 0 and "[new: not prepared yet]" in r.stdout and r.stdout.count("[new") == 2, "messages not prepared yet are listed as new", r.stdout)
    todo_a = os.path.join(H, "queue", "todo", str(a % 23), str(a))
    with open(todo_a, "r+b") as f:
        f.truncate(10)
    r = tool("ferry-qread", H)
    expect(r.returncode == 0 and "DAMAGED" in r.stdout and ("msg %s:" % home.name(a)) in r.stderr and home.name(b) in r.stdout,
           "a truncated envelope: reported (stdout and stderr), the other message still listed", r.stdout + r.stderr)
    js = qread_json()
    expect([bool(j.get("damage")) for j in js if j["inode"] == a] == [True], "JSON carries the damage", js)
    with open(todo_a, "wb") as f:
        f.write(b"\xff\xfe garbage \x00")
    r = tool("ferry-qread", "-j", H)
    expect(r.returncode == 0 and all(json.loads(x) for x in r.stdout.splitlines()), "garbage bytes: still valid JSON", r.stdout)
    r = tool("ferry-qstat", "-j", H)
    expect(r.returncode == 0 and json.loads(r.stdout)["stages"]["damaged"] == 1, "ferry-qstat counts it as damaged", r.stdout)
finally:
    stop_all(stops)
    home.cleanup()
