"""What the benchmarks count on the machine: CPU (the whole machine's, a system's process tree,
other jobs'), sync calls (perf), a queue manager's peak memory, files in a queue."""

import os
import subprocess
import tempfile
import time


def channel_cpu(name, home=None):
    """the CPU seconds of the running processes whose program is name: the time they ran, user
    and kernel (/proc/PID/schedstat, in nanoseconds: /proc/PID/stat counts in ticks of 10 ms);
    with home, only those working in that directory (each member of a ferry set enters its home),
    so that another ferry home on the machine is not counted"""
    total = 0.0
    where = os.path.realpath(home) if home else None
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            argv0 = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")[0].decode(errors="replace")
            if os.path.basename(argv0) != name:
                continue
            if where and os.readlink("/proc/%s/cwd" % pid) != where:
                continue
            total += int(open("/proc/%s/schedstat" % pid).read().split()[0]) / 1e9
        except (OSError, IndexError, ValueError):
            continue
    return total



SYNCS = ("fsync", "fdatasync", "syncfs", "sync", "sync_file_range", "msync")


class SyncCount:
    """System-wide sync calls over an interval, counted by perf from the syscall tracepoints
    (nothing else runs on the machine while a row is measured); None where perf cannot.
    sync_file_range with SYNC_FILE_RANGE_WAIT_BEFORE alone (flags 1) writes nothing, it only
    reads a file's writeback error state (ferry-spawn-local's covered workers): not counted."""

    def __init__(self):
        self.out = tempfile.mktemp(prefix="ferry-bench-perf.")
        events = []
        for k in SYNCS:
            events += ["-e", "syscalls:sys_enter_" + k]
            if k == "sync_file_range":
                events += ["--filter", "flags != 1"]
        try:
            self.p = subprocess.Popen(["perf", "stat", "-a", "-x", ",", "-o", self.out] + events,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError:
            self.p = None
        time.sleep(0.3)

    def stop(self):
        if not self.p:
            return None
        self.p.send_signal(2)
        self.p.wait()
        total = 0
        try:
            for line in open(self.out):
                f = line.split(",")
                if len(f) > 2 and "sys_enter_" in f[2]:
                    if not f[0].strip().isdigit():
                        return None
                    total += int(f[0])
            os.unlink(self.out)
        except OSError:
            return None
        return total


def cpu_busy():
    """(Seconds of CPU the whole machine spent busy: every core, user and kernel, not idle, iowait
    or steal; seconds stolen: the time the host ran something else while this machine's cores
    had work, /proc/stat's steal)"""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(f[:7]) - f[3] - f[4]) / hz, f[7] / hz


def disk_reads():
    """(KiB read from the disks, major page faults) of the whole machine so far (/proc/vmstat's
    pgpgin and pgmajfault): over a run, what it read that was not in the page cache"""
    v = dict(line.split() for line in open("/proc/vmstat"))
    return int(v.get("pgpgin", 0)), int(v.get("pgmajfault", 0))


PF_KTHREAD = 0x00200000


def proc_stats():
    """(pid, comm, the fields after the comm) of every process of /proc/PID/stat: the state
    first, then the parent pid, ..."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                head, tail = f.read().rsplit(")", 1)
        except (OSError, ValueError):
            continue
        yield int(d), head.split("(", 1)[1], tail.split()


def proc_table():
    """{pid: (parent pid, start time, CPU seconds)} of every process but kernel threads; its CPU
    seconds count those of the children it waited for (/proc/PID/stat: utime, stime, cutime,
    cstime)"""
    procs = {}
    for pid, _, x in proc_stats():
        if len(x) < 20 or int(x[6]) & PF_KTHREAD:
            continue
        procs[pid] = (int(x[1]), x[19], sum(int(v) for v in x[11:15]) / os.sysconf("SC_CLK_TCK"))
    return procs


def descendants(procs, roots):
    """the pids of roots and of every process under them in procs (proc_table's)"""
    ours = set(roots)
    kids = {}
    for pid, (ppid, _, _) in procs.items():
        kids.setdefault(ppid, []).append(pid)
    todo = list(ours)
    while todo:
        for k in kids.get(todo.pop(), ()):
            if k not in ours:
                ours.add(k)
                todo.append(k)
    return ours


def others_cpu(roots=()):
    """{pid: (start time, CPU seconds)} of each process that is not part of the run: neither this
    program nor a descendant of it or of roots (a system that detaches, Postfix's master), nor a
    kernel thread; its CPU seconds count those of the children it waited for, so that a
    short-lived process of another job, gone by the second look, is still counted in an
    ancestor's"""
    procs = proc_table()
    ours = descendants(procs, {os.getpid()} | set(roots))
    return {pid: (start, cpu) for pid, (_, start, cpu) in procs.items() if pid not in ours}


def tree_cpu(roots):
    """{pid: (start time, CPU seconds)} of roots and every process under them (a system's own
    processes: its supervision tree, Postfix's master), counted as others_cpu counts; with
    cpu_since, the CPU the system's processes took over an interval, those that came and went
    in it too (each one's parent in the tree waited for it)"""
    procs = proc_table()
    ours = descendants(procs, roots)
    return {pid: (start, cpu) for pid, (_, start, cpu) in procs.items() if pid in ours}


def cpu_since(before, after):
    """the CPU seconds a set of processes took between two looks (others_cpu's or tree_cpu's):
    their growth, a new process's whole time; a process of before gone since took the rest of its
    time in the parent that waited for it, which counts it all, so what it had at before is
    taken off"""
    total = 0.0
    for pid, (start, cpu) in after.items():
        old = before.get(pid)
        total += cpu - old[1] if old and old[0] == start else cpu
    for pid, (start, cpu) in before.items():
        if pid not in after or after[pid][0] != start:
            total -= cpu
    return max(0.0, total)


def others_cpu_since(before, roots=()):
    """the CPU seconds the processes that are not part of the run (others_cpu) took since before"""
    return cpu_since(before, others_cpu(roots))


def peak_kib(comm):
    """The peak resident memory (VmHWM) of the running process named comm, in KiB; None if none."""
    best = None
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if open("/proc/%s/comm" % pid).read().strip() != comm:
                continue
            for line in open("/proc/%s/status" % pid):
                if line.startswith("VmHWM:"):
                    k = int(line.split()[1])
                    best = k if best is None else max(best, k)
        except OSError:
            continue
    return best


def count_files(d):
    return sum(len(fs) for _, _, fs in os.walk(d))


def any_file(d):
    """whether the tree under d holds anything but directories (a file, a link, a FIFO): the look
    stops at the first such entry, read from the directory as it is listed, not after its whole
    listing (the harness asks this every 50 ms while a system drains, on the same 2 cores: listing
    whole directories would cost it more the larger the queue, time taken from the system
    measured); a directory that cannot be read (gone) counts as empty, as os.walk's would"""
    dirs = [d]
    while dirs:
        try:
            with os.scandir(dirs.pop()) as it:
                for e in it:
                    if e.is_dir(follow_symlinks=False):
                        dirs.append(e.path)
                    else:
                        return True
        except OSError:
            pass
    return False
