"""Benchmark: local Maildir deliveries through ferry-spawn-local (long-lived workers) beside one
fork+exec of ferry-local per delivery, 4 KiB messages. Prints a markdown section."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import BIN, Home, Spawner, is_root, median, test_user  # noqa: E402

N = int(os.environ.get("N", "2000"))
RUNS = int(os.environ.get("RUNS", "3"))


def setup():
    home = Home()
    mail = os.path.join(home.tmp, "mail")
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(mail, "Maildir", sub))
    home.control("virtualdomains", "example.org\n")
    home.control("mailboxes", "bench@example.org: %s/Maildir/\n" % mail)
    if is_root():
        test_user()
        home.control("mailboxowner", "ferrytest\n")
        subprocess.run(["chown", "-R", "ferrytest", mail], check=True)
    subprocess.run([os.path.join(BIN, "ferry-mailboxes"), home.path], check=True, capture_output=True)
    msg = b"Subject: bench\n\n" + (b"x" * 75 + b"\n") * 53
    mid = home.inject(msg[:4096], "s@example.com", ["bench@example.org"])
    return home, mail, mid


def channel():
    home, mail, mid = setup()
    try:
        sp = Spawner(home, "ferry-spawn-local")
        t0 = time.time()
        for i in range(N):
            sp.deliver(i, mid, "s@example.com", ["bench@example.org"])
        res = sp.wait(range(N), timeout=600)
        t = time.time() - t0
        if any(r[0][0] != "K" for r in res) or len(os.listdir(os.path.join(mail, "Maildir", "new"))) != N:
            sys.exit("bench: not every delivery succeeded")
        sp.finish()
        return N / t
    finally:
        home.cleanup()


def by_process():
    home, mail, mid = setup()
    try:
        split = int(open(os.path.join(home.path, "control", "queuesplit")).read())
        path = os.path.join(home.path, "queue", "mess", str(mid % split), str(mid))
        t0 = time.time()
        for i in range(N):
            with open(path, "rb") as f:
                subprocess.run([os.path.join(BIN, "ferry-local"), "-d", home.path, "s@example.com", "bench@example.org"],
                               stdin=f, stdout=subprocess.DEVNULL, check=True)
        t = time.time() - t0
        return N / t
    finally:
        home.cleanup()


a, b = [], []
for _ in range(RUNS):
    a.append(channel())
    b.append(by_process())
print("## Local delivery (ferry-spawn-local)\n")
print("%d Maildir deliveries of one 4 KiB message per measurement, median of %d runs (each run in brackets);" % (N, RUNS))
print("every delivery durable (file fsync, new/ fsync), %s.\n" % ("as the mailbox owner (root install)" if is_root() else "as the user running it"))
print("| measurement | deliveries per second |")
print("|---|---|")
print("| ferry-spawn-local, concurrencylocal 20 (the default), workers | %.0f [%s] |" % (median(a), " ".join("%.0f" % x for x in a)))
print("| ferry-local, one fork+exec per delivery, one at a time | %.0f [%s] |" % (median(b), " ".join("%.0f" % x for x in b)))
print("\nEach Maildir delivery makes two sync calls (the file, then new/). In the channel up to 10 run at")
print("once in workers that were forked once; the second row pays a fork and an exec per delivery, the")
print("cost the workers exist to avoid (compare the fork+exec row of the injection table).")
