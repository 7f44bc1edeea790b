"""A queue that is not in memory when the set starts (after a reboot, or once the kernel has paged
out a queue filled long before): its files are dropped from the page cache here, file by file
(posix_fadvise DONTNEED after a sync), with the set stopped. ferry-preprocess-todo then asks the
disk for its todo entries and message files ahead, and ferry-schedule for a prepared queue's
files, each saying so in the log; every message is delivered once all the same, and a queue in
memory is not read ahead."""

import mailbox
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import Home, Supervised, eventually, expect, s6_log, stop_all  # noqa: E402
from smtp_peers import SmtpSink, free_port  # noqa: E402

home = Home()
H = home.path
stops = []
N = 300          # local messages: the first batch of a listing (100) and the next (200)
DEFERRED = 40    # remote messages whose host is down: a prepared queue at the next start


def log():
    return s6_log(os.path.join(H, "log"))


def svc(flag):
    subprocess.run(["s6-svc", flag, os.path.join(H, "service", "ferry")], check=True)


def stop_set():
    mark = len(log())
    svc("-d")
    expect(eventually(lambda: "ferry-schedule: stopped" in log()[mark:], 30), "the set stops")


def queue_files(dirs=("todo", "intd", "local", "remote", "mess")):
    return home.queue_files(dirs)


def drop_from_memory(files):
    """every file written back, then each one's pages dropped from the page cache; None when that
    held (a read that may not wait says EAGAIN), else why it cannot be told here"""
    os.sync()
    for f in files:
        fd = os.open(f, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    fd = os.open(files[0], os.O_RDONLY)
    try:
        os.preadv(fd, [bytearray(1)], 0, os.RWF_NOWAIT)
        return "the file system keeps the files in memory (tmpfs?): %s" % files[0]
    except BlockingIOError:
        return None
    except OSError as e:
        return "no reads that may not wait here: %s" % e
    finally:
        os.close(fd)


def subjects(md):
    return sorted(m["Subject"] for m in mailbox.Maildir(md, factory=None, create=False))


try:
    md = home.catchall("example.org")
    home.route("later.test:127.0.0.1:%d" % free_port())
    home.settings(timeoutconnect=2, deadhosttime=0)
    svscan = Supervised(H)
    stops.append(svscan.stop)
    expect(eventually(lambda: "ferry-schedule: starting" in log(), 20), "the set starts")

    # mail for a host that is down: prepared, the first deferred, the others waiting for the
    # host's next try, none in flight
    for i in range(DEFERRED):
        home.inject(b"Subject: later %d\n\nbody\n" % i, "s@example.com", ["r%d@later.test" % i], running=True)
    expect(eventually(lambda: "deferral msg " in log() and re.search(r"status: local 0/\d+ remote 0/\d+ messages %d recipients %d\n" % (DEFERRED, DEFERRED),
                                                                      log().split("deferral msg ")[-1]), 60),
           "%d messages for a host that is down: waiting in the queue" % DEFERRED, log()[-400:])
    stop_set()

    # todo entries written with the set stopped, then out of memory at its start
    for i in range(N):
        home.inject(b"Subject: cold %d\n\nbody of %d\n" % (i, i), "s@example.com", ["u%d@example.org" % i])
    expect(len(queue_files(("todo",))) == N, "%d todo entries wait for the start" % N, len(queue_files(("todo",))))
    # out of the page cache (a read that may not wait says EAGAIN), or the test cannot be made here
    why = drop_from_memory(queue_files())
    if why:
        print("skipped: %s" % why)
        sys.exit(77)
    mark = len(log())
    svc("-u")
    expect(eventually(lambda: len(subjects(md)) == N and not queue_files(("todo",)), 60),
           "every one of the %d messages delivered" % N, (len(subjects(md)), log()[-600:]))
    got = subjects(md)
    expect(len(set(got)) == N, "none twice, none lost", len(set(got)))
    m = re.search(r"ferry-preprocess-todo: info: (\d+) todo entries were not in memory: read ahead from the disk", log()[mark:])
    expect(m and int(m.group(1)) == N, "ferry-preprocess-todo read the %d entries ahead, and says so" % N, log()[mark:][-800:])
    m = re.search(r"ferry-schedule: %d messages, %d recipients to deliver \(queue loaded in \d+ s; the files of (\d+) messages read ahead from the disk\)"
                  % (DEFERRED, DEFERRED), log()[mark:])
    # (at least: its listing of the recipient files may meet some that ferry-preprocess-todo has
    # just written, whose messages it then leaves to be told)
    expect(m and int(m.group(1)) >= DEFERRED, "ferry-schedule read the %d deferred messages' files ahead, and says so" % DEFERRED,
           re.findall(r"^.*(?:ferry-schedule: loading|recipients to deliver).*$", log()[mark:], re.M))

    # in memory: nothing read ahead, nothing said; the host is back meanwhile
    stop_set()
    sink = SmtpSink(home.tmp)
    stops.append(sink.stop)
    home.route("later.test:127.0.0.1:%d" % sink.port)
    for f in queue_files():
        with open(f, "rb") as fh:
            fh.read()
    mark = len(log())
    svc("-u")
    expect(eventually(lambda: re.search(r"ferry-schedule: %d messages, %d recipients to deliver \(queue loaded in \d+ s\)" % (DEFERRED, DEFERRED), log()[mark:]), 30),
           "a queue in memory: loaded without reading ahead", log()[mark:][-600:])

    # the deferred mail goes at once when told (SIGALRM)
    svc("-a")
    expect(eventually(lambda: len(sink.dumps()) == DEFERRED and not queue_files(), 60),
           "the %d deferred messages delivered at once, the queue empty" % DEFERRED, (len(sink.dumps()), queue_files()[:3]))
finally:
    stop_all(stops)
    home.cleanup()
print("%d checks passed" % __import__("ferrytest").checks)
