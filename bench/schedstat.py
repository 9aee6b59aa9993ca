#!/usr/bin/env python3
"""Where the time of one bench round goes, per party (bench/bigio.sh
BENCH_SCHED=1).

usage: schedstat.py OUT LABEL SMBD_PID DAEMON_PID|0 -- COMMAND...

Runs COMMAND and, until it ends, reads every 10 ms the schedstat of each
thread of: COMMAND and its children (dd, smbclient), the daemon
(DAEMON_PID, 0 for none) and smbd's children (SMBD_PID is the master:
its connection processes). /proc/PID/task/TID/schedstat holds the time
a thread ran, the time it waited runnable for a CPU (run-queue delay)
and how many times it got one; what a thread did before the start is
taken away, a thread that began meanwhile counts from zero, and one that
ended counts up to its last reading (up to 10 ms short). Appends one line
to OUT: LABEL, then per party (smbfuse, dd, smbclient, smbd) its
CPU ms, run-queue ms and slices, and the same for each of the daemon's
threads by name. Exits with COMMAND's status.
"""
import os
import subprocess
import sys
import time


def tasks(pid):
    try:
        return os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []


def children(pid):
    out = []
    for tid in tasks(pid):
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def read_stat(pid, tid):
    try:
        with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            run, wait, slices = (int(x) for x in f.read().split())
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            comm = f.read().strip()
        return run, wait, slices, comm
    except (OSError, ValueError):
        return None


def main():
    out, label, smbd, daemon = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    cmd = sys.argv[sys.argv.index("--") + 1:]

    def parties(cmd_pid):
        ps = [(smbd_child, "smbd") for smbd_child in children(smbd)]
        if daemon:
            ps.append((daemon, "smbfuse"))
        if cmd_pid:
            todo = [cmd_pid]
            while todo:
                p = todo.pop()
                todo += children(p)
                ps.append((p, None))  # named by its comm (dd, smbclient, sh)
        return ps

    def sample(cmd_pid, into):
        for pid, party in parties(cmd_pid):
            for tid in tasks(pid):
                st = read_stat(pid, tid)
                if st:
                    into[(pid, int(tid))] = (party, st)

    before = {}
    sample(0, before)
    last = dict(before)
    p = subprocess.Popen(cmd)
    while p.poll() is None:
        sample(p.pid, last)
        time.sleep(0.01)
    sample(0, last)
    sums, threads = {}, {}
    for key, (party, (run, wait, slices, comm)) in last.items():
        b = before.get(key)
        if b:
            run, wait, slices = run - b[1][0], wait - b[1][1], slices - b[1][2]
        name = party or comm
        if name == "sh":
            continue
        s = sums.setdefault(name, [0, 0, 0])
        s[0] += run
        s[1] += wait
        s[2] += slices
        if party == "smbfuse" and (run or slices):
            t = threads.setdefault(comm, [0, 0, 0])
            t[0] += run
            t[1] += wait
            t[2] += slices
    fields = [label]
    for name, (run, wait, slices) in sorted(sums.items()):
        fields.append(f"{name}={run / 1e6:.0f}/{wait / 1e6:.0f}/{slices}")
    for name, (run, wait, slices) in sorted(threads.items()):
        fields.append(f"t:{name}={run / 1e6:.0f}/{wait / 1e6:.0f}/{slices}")
    with open(out, "a") as f:
        f.write(" ".join(fields) + "\n")
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
