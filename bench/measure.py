#!/usr/bin/python3
"""Runs a command and prints its wall time and the CPU time it and some
other processes used meanwhile: "<seconds> <cpu-seconds>".

usage: measure.py PATTERN [PID ...] -- COMMAND [ARG ...]

PATTERN picks server processes by a substring of their command line (""
for none): those alive at either end, with the children they reaped in
between (a connection's smbd that exits is counted in its parent). The
PIDs are other processes to count (a FUSE daemon). The command's own time
comes from its rusage. System-wide counters would also count whatever
else runs on the machine.
"""
import os
import resource
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def ticks(pid, with_children):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime, stime, cutime, cstime are fields 14-17 of stat(5); after the
    # ")" that ends the name, field 3 is at index 0.
    own = int(fields[11]) + int(fields[12])
    return own + (int(fields[13]) + int(fields[14]) if with_children else 0)


def matching(pattern):
    if not pattern:
        return set()
    pids = set()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if pattern.encode() in f.read():
                    pids.add(int(d))
        except OSError:
            pass
    return pids


def snapshot(pattern, extra):
    snap = {}
    for pid in matching(pattern):
        t = ticks(pid, True)
        if t is not None:
            snap[pid] = t
    for pid in extra:
        t = ticks(pid, False)
        if t is not None:
            snap[pid] = t
    return snap


def main():
    args = sys.argv[1:]
    if "--" not in args or len(args) < 3:
        sys.exit(__doc__)
    cut = args.index("--")
    pattern, extra, cmd = args[0], [int(p) for p in args[1:cut]], args[cut + 1:]
    before = snapshot(pattern, extra)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    rc = subprocess.call(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    after = snapshot(pattern, extra)
    # A process gone by the end was reaped by a counted parent, whose
    # children's time now holds its whole life: take off what it had used
    # before. One born meanwhile counts whole.
    used = sum(after[p] - before.get(p, 0) for p in after)
    used -= sum(t for p, t in before.items() if p not in after)
    used /= TICK
    used += (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    print(f"{wall:.3f} {used:.3f}")
    sys.exit(rc)


if __name__ == "__main__":
    main()
