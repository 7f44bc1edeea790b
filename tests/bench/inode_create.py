"""The kernel's cost of creating a file, against how many files were removed in the last minutes
(by hand, never in make check; doc/performance.md, "The drains at night").

    inode_create.py DIR STEP...

Each STEP, in order: a number N creates N empty files in a new directory under DIR, prints the
seconds and the system CPU they took, then removes them (so each step also frees N inodes);
freeN creates and removes N files, untimed; sleepS waits S seconds. On ext4 without a journal,
the inode allocator passes over inodes freed in the last 60 seconds (360 while their inode-table
block is not written back), so creating a file costs more after a burst of removals, as a
ferry drain (and the one before it) makes. Example, run on the benchmark's machine:

    inode_create.py /var/tmp/ic 5000 free25000 5000 sleep70 5000 sleep200 5000"""

import os
import sys
import time


def make(d, n):
    os.mkdir(d)
    for i in range(n):
        os.close(os.open(os.path.join(d, str(i)), os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))


def remove(d, n):
    for i in range(n):
        os.unlink(os.path.join(d, str(i)))
    os.rmdir(d)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    base = sys.argv[1]
    os.makedirs(base, exist_ok=True)
    for step in sys.argv[2:]:
        d = os.path.join(base, "d%d" % time.time_ns())
        if step.startswith("sleep"):
            time.sleep(float(step[5:]))
            print(step, flush=True)
        elif step.startswith("free"):
            n = int(step[4:])
            make(d, n)
            remove(d, n)
            print("created and removed %d files" % n, flush=True)
        else:
            n = int(step)
            t0, c0 = time.time(), os.times()
            make(d, n)
            t1, c1 = time.time(), os.times()
            remove(d, n)
            print("created %d files: %.3f s, %.3f s of system CPU, %.0f us each" % (n, t1 - t0, c1.system - c0.system, 1e6 * (t1 - t0) / n), flush=True)


main()
