"""Removals per second, one at a time against several at once (by hand, never in make check;
doc/performance.md, "Removals at once, and the host's steal").

    unlink_rate.py DIR N THREADS...

For each THREADS count, in order: N files of 4 KiB are written under DIR and synced, then removed
by that many threads side by side, and the rate is printed. On a file system that discards freed
blocks as they are freed (ext4 without a journal, mounted with discard) each removal waits for
the disk; whether the disk takes several at once is what ferry-clean's removers rely on. Example:

    unlink_rate.py /var/tmp/ur 6000 1 2 4 8 16 1"""

import os
import sys
import threading
import time


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    d, n = sys.argv[1], int(sys.argv[2])
    os.makedirs(d, exist_ok=True)
    buf = b"x" * 4096
    for k in (int(x) for x in sys.argv[3:]):
        names = [os.path.join(d, "f%d" % i) for i in range(n)]
        for name in names:
            with open(name, "wb") as f:
                f.write(buf)
        os.sync()
        time.sleep(2)
        t = time.time()
        ts = [threading.Thread(target=lambda part: [os.unlink(x) for x in part], args=(names[i::k],)) for i in range(k)]
        for x in ts:
            x.start()
        for x in ts:
            x.join()
        dt = time.time() - t
        print("threads %2d: %d removals in %.2f s, %.0f a second" % (k, n, dt, n / dt), flush=True)
    os.rmdir(d)


if __name__ == "__main__":
    main()
