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


def run(nrcpt, cache):
    home = Home()
    sink = SmtpSink(home.tmp, dump=False)
    try:
        home.control("smtproutes", "sink.test:127.0.0.1:%d\n" % sink.port)
        home.control("connectioncache", "%d\n" % cache)
        home.control("concurrencyremote", "20\n")          # as when doc/performance.md's figures were
        home.control("concurrencydestination", "10\n")     # measured (the defaults then)
        rcpts = ["r%d@sink.test" % i for i in range(nrcpt)]
        msg = b"Subject: bench\n\n" + (b"x" * 75 + b"\n") * 53
        mid = home.inject(msg[:4096], "s@example.com", rcpts)
        sp = Spawner(home, "ferry-spawn-remote")
        t0 = time.time()
        for i in range(N):
            sp.deliver(i, mid, "s@example.com", rcpts)
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
print("%d messages of 4 KiB per measurement to Postfix's smtp-sink on 127.0.0.1 (no dump), all requests" % N)
print("given at once, concurrencyremote 20 and concurrencydestination 10; median of %d runs" % RUNS)
print("(each run in brackets). One request per message; its recipients go in one transaction.\n")
print("| recipients per message | connection reuse | messages per second | recipients per second |")
print("|---|---|---|---|")
for nrcpt, cache, rates in rows:
    m = median(rates)
    print("| %d | %s | %.0f [%s] | %.0f |" % (nrcpt, "yes (connectioncache 5)" if cache else "no (connectioncache 0)", m,
                                            " ".join("%.0f" % r for r in rates), m * nrcpt))
print("\nWithout reuse every message pays a TCP connection, the greeting and EHLO; with it, one RSET.")
