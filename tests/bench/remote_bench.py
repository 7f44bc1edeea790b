"""Benchmark: ferry-spawn-remote to Postfix's smtp-sink over loopback, 4 KiB messages, 1 and 10
recipients per message, with and without connection reuse. Prints a markdown section."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ["FERRY_TOP"], "tests", "helpers"))
from ferrytest import Home, Spawner, median  # noqa: E402
from smtp_peers import SmtpSink  # noqa: E402

N = int(os.environ.get("N", "2000"))
RUNS = int(os.environ.get("RUNS", "3"))
WINDOW = 10   # concurrencydestination, below


def run(nrcpt, cache):
    home = Home()
    sink = SmtpSink(home.tmp, dump=False)
    try:
        home.control("smtproutes", "sink.test:127.0.0.1:%d\n" % sink.port)
        home.control("connectioncache", "%d\n" % cache)
        rcpts = ["r%d@sink.test" % i for i in range(nrcpt)]
        msg = b"Subject: bench\n\n" + (b"x" * 75 + b"\n") * 53
        mid = home.inject(msg[:4096], "s@example.com", rcpts)
        sp = Spawner(home, "ferry-spawn-remote")
        # the queue manager's part: at most concurrencydestination (10) deliveries out to the one
        # domain at once, the next sent as an answer comes (the channel runs every one it is given)
        t0 = time.time()
        deadline = t0 + 600
        sent = 0
        while len(sp.answers) < N:
            while sent < N and sent - len(sp.answers) < WINDOW:
                sp.deliver(sent, mid, "s@example.com", rcpts)
                sent += 1
            if time.time() > deadline or not sp.pump(deadline - time.time()):
                sys.exit("bench: the channel gave %d answers of %d" % (len(sp.answers), N))
        res = sp.wait(range(N), timeout=600)
        t = time.time() - t0
        if any(r[0] != "K" for a in res for r in a):
            sys.exit("bench: not every recipient was accepted: %r" % [a for a in res if any(r[0] != "K" for r in a)][:3])
        sp.finish()
        return N / t
    finally:
        sink.stop()
        home.cleanup()


rows = []
for nrcpt in (1, 10):
    for cache in (5, 0):
        rates = [run(nrcpt, cache) for _ in range(RUNS)]
        rows.append((nrcpt, cache, rates))
print("## Remote delivery (ferry-spawn-remote to smtp-sink)\n")
print("%d messages of 4 KiB per measurement to Postfix's smtp-sink on 127.0.0.1 (no dump), the requests" % N)
print("given as the queue manager would with concurrencydestination 10: 10 out at once, the next as one is")
print("answered (the channel runs every delivery it is given); median of %d runs" % RUNS)
print("(each run in brackets). One request per message; its recipients go in one transaction.\n")
print("| recipients per message | connection reuse | messages per second | recipients per second |")
print("|---|---|---|---|")
for nrcpt, cache, rates in rows:
    m = median(rates)
    print("| %d | %s | %.0f [%s] | %.0f |" % (nrcpt, "yes (connectioncache 5)" if cache else "no (connectioncache 0)", m,
                                            " ".join("%.0f" % r for r in rates), m * nrcpt))
print("\nWithout reuse every message pays a TCP connection, the greeting and EHLO; with it, one RSET.")
