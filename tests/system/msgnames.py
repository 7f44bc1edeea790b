"""Message names over inode reuse: a message's id is its message file's inode, and the next message
may get the same inode once the first is gone. Two such messages get different names in the log and
in ferry-qread's listings, and ferry-qctl given the first one's name acts on neither: it says there is
no such message, and the second keeps going."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Home, Supervised, eventually, expect, fail, s6_log, stop_all  # noqa: E402
from smtp_peers import free_port  # noqa: E402

home = Home()
H = home.path
stops = []
TRIES = 200


def log():
    return s6_log(os.path.join(H, "log"))


def tool(name, *args):
    return subprocess.run([os.path.join(BIN, name)] + list(args), capture_output=True, text=True)


def listed():
    """ferry-qread -j: inode -> name (the JSON "id")"""
    r = tool("ferry-qread", "-j", H)
    if r.returncode:
        fail("ferry-qread -j exited %d: %s" % (r.returncode, r.stderr))
    out = {}
    for line in r.stdout.splitlines():
        j = json.loads(line)
        out[j.get("inode", j["id"])] = str(j["id"])
    return out


def waiting(subject):
    """a message that waits (its host refuses connections): its inode and its listed name"""
    i = home.inject(b"Subject: " + subject.encode() + b"\n\nbody\n", "s@x.test", ["r@later.test"], running=True)
    if i is None:
        fail("the message to later.test was gone at once")
    if not eventually(lambda: i in listed(), 10):
        fail("message %d is not listed" % i)
    return i, listed()[i]


def gone(i):
    return not os.path.exists(os.path.join(H, "queue", "mess", str(i % 23), str(i)))


try:
    home.control("smtproutes", "later.test:127.0.0.1:%d\n" % free_port())
    home.control("timeoutconnect", "2\n")
    svscan = Supervised(H)
    stops.append(svscan.stop)
    expect(eventually(lambda: "ferry-schedule: starting" in log(), 20), "the set starts")

    # inject, delete, inject again until a message gets the inode of the one deleted just before
    a, aname = waiting("first")
    expect(eventually(lambda: ("deferral msg %s " % aname) in log(), 20), "the first message waits, its name in the log", log()[-400:])
    b = None
    for k in range(TRIES):
        r = tool("ferry-qctl", "-h", H, "delete", aname)
        if r.returncode or not eventually(lambda: gone(a), 20):
            fail("could not delete %s: %s" % (aname, r.stdout + r.stderr))
        i, name = waiting("next %d" % k)
        if i == a:
            b, bname = i, name
            break
        a, aname = i, name
    if b is None:
        print("skipped: no inode was reused in %d injections on this file system" % TRIES)
        sys.exit(0)
    expect(True, "a message got the inode %d of the one deleted before it (after %d tries)" % (a, k + 1))
    expect(bname != aname, "the two have different names in ferry-qread -j", (aname, bname))
    r = tool("ferry-qread", H)
    expect(bname in r.stdout and ("\n%s " % aname) not in "\n" + r.stdout, "the text listing names the second one, not the first", r.stdout)
    expect(eventually(lambda: ("new msg %s\n" % bname) in log(), 20), "the second is in the log under its own name")
    mark = log().index("new msg %s\n" % bname)
    expect(("msg %s " % aname) not in log()[mark:] and ("msg %s\n" % aname) not in log()[mark:],
           "no log line about the second one carries the first one's name", log()[mark:][-600:])

    # the first one's name, from an old listing: no such message, and the second is left alone
    for verb in ("delete", "hold", "bounce"):
        r = tool("ferry-qctl", "-h", H, verb, aname)
        expect(r.returncode == 100 and "no such message" in r.stderr,
               "ferry-qctl %s with the first one's name: exit 100, no such message" % verb, (r.returncode, r.stdout, r.stderr))
    expect(not os.listdir(os.path.join(H, "queue", "delete")) and not os.listdir(os.path.join(H, "queue", "hold")),
           "no mark was made for the second one")
    j = [x for x in json.loads("[" + ",".join(tool("ferry-qread", "-j", H).stdout.splitlines()) + "]") if str(x["id"]) == bname]
    expect(len(j) == 1 and not j[0]["held"] and not j[0]["deleting"], "the second is still queued, neither held nor being deleted", j)
    expect(("delete msg %s" % bname) not in log() and ("hold msg %s" % bname) not in log(), "and the queue manager did nothing to it", log()[-400:])

    # a ferry-qctl that looked just before the first one ended: its mark is made, its command
    # names the first one; the queue manager sees the second has another name, and removes the mark
    open(os.path.join(H, "queue", "delete", str(a)), "w").close()
    fd = os.open(os.path.join(H, "queue", "lock", "steer"), os.O_WRONLY | os.O_NONBLOCK)
    os.write(fd, ("delete %s\n" % aname).encode())
    os.close(fd)
    expect(eventually(lambda: ("delete msg %s: no such message any more: its mark removed" % aname) in log(), 10)
           and not os.listdir(os.path.join(H, "queue", "delete")),
           "a command naming the first one, its mark made: the queue manager removes the mark and says so", log()[-400:])
    expect(("delete msg %s" % bname) not in log() and not gone(b), "and leaves the second alone")

    r = tool("ferry-qctl", "-h", H, "delete", bname)
    expect(r.returncode == 0 and eventually(lambda: gone(b), 20) and ("delete msg %s: 1 recipients dropped" % bname) in log(),
           "its own name deletes it", r.stdout + r.stderr + log()[-300:])
    expect(("end msg %s\n" % aname) in log() and ("end msg %s\n" % bname) in log(), "each ended under its own name")
finally:
    stop_all(stops)
    home.cleanup()
