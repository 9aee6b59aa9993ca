#!/bin/bash
# Big sequential reads and writes through the mount, side by side with
# smbclient (forced to NT1) on the same private Samba in the same run:
# issue 15's table. Per run and profile (signed: signing mandatory;
# plain: signing disabled, UNIX extensions on), BENCH_REPS rounds of
#   dd bs=1M conv=fsync of a BENCH_MB file onto the mount | smbclient put
#   dd bs=1M of it off the mount (client cache dropped)   | smbclient get
# taking turns, and the median of each. The server's share is on tmpfs
# (HARNESS_TMP_PREFIX, /dev/shm by default): the FLUSH that conv=fsync
# sends then costs what it costs smbclient's put, which sends none, and
# the figures are the protocol path, not the disk. Reads find the file in
# the server's memory (read once locally) and never in the client's.
#
# usage: bench/bigio.sh [BUILD_DIR]     (root; needs smbd, smbclient, fuse3)
# env:   BENCH_MB=512, BENCH_RUNS=3, BENCH_REPS=3,
#        BENCH_PROFILES="signed plain", BENCH_MOUNT_OPTS= (extra -o options),
#        BENCH_LOAD=0: N busy loops (sh -c 'while :; do :; done', started
#          by this script, killed by pid at its end) run through every
#          run, both sides of the comparison alike: a busy box on purpose,
#          where other work's load moves from run to run. With BENCH_LOAD=2
#          on the 2-core box each of dd's and smbclient's threads waits for
#          a CPU behind them as it would at load 3 or more.
#        BENCH_SCHED=0: 1 adds, per round and side, the CPU time and the
#          time spent runnable waiting for a CPU (run-queue delay,
#          /proc/PID/task/TID/schedstat) of each party: smbfuse's threads
#          and dd, or smbclient, and smbd's connection process
#          (bench/schedstat.py); one line per round and side, reads and
#          writes, is printed after the table.
#
# Prints the table of ratios (smbfuse MB/s / smbclient MB/s, > 1 is
# smbfuse faster), one column per run, then the MB/s behind them and the
# load average at the start of each run. Not a test: nothing is asserted.

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SMBFUSE_SOURCE_DIR=$SRC
export SMBFUSE_BINARY_DIR=${1:-${SMBFUSE_BINARY_DIR:-$SRC/build}}
export HARNESS_TMP_PREFIX=${HARNESS_TMP_PREFIX:-/dev/shm/smbfuse-bigio}
# shellcheck source=../tests/integration/fs_lib.sh
. "$SRC/tests/integration/fs_lib.sh"
set +e

MB=${BENCH_MB:-512}
RUNS=${BENCH_RUNS:-3}
REPS=${BENCH_REPS:-3}
PROFILES=${BENCH_PROFILES:-signed plain}
FS_FOREGROUND=1
RESULTS=$FS_TMP/results
: >"$RESULTS"

now() { date +%s.%N; }
# MB/s of MB mebibytes since $1 (MB = 2^20 bytes, as dd and smbclient count).
rate_since() { python3 -c "import sys,time; print(f'{float(sys.argv[2]) / (time.time() - float(sys.argv[1])):.0f}')" "$1" "$MB"; }
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
drop_client() {
    python3 - "$1" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
os.close(fd)
PY
}
smbc_argv() {
    SMBC=(smbclient -m NT1 --option='client min protocol=NT1' --option='client max protocol=NT1'
        -p "$PORT" -U "$SMBD_USER%$SMBD_PASS" "//127.0.0.1/$SHARE_NAME")
}

LOAD=${BENCH_LOAD:-0}
for ((i = 0; i < LOAD; i++)); do
    sh -c 'while :; do :; done' &
    FS_EXTRA_PIDS+=($!)
done

SCHED=$FS_TMP/sched
: >"$SCHED"
# sched LABEL DAEMON_PID COMMAND...: COMMAND, with bench/schedstat.py
# counting each party's CPU and run-queue delay when BENCH_SCHED=1.
sched() {
    local label=$1 daemon=$2
    shift 2
    if [ "${BENCH_SCHED:-0}" = 1 ]; then
        local master=${SMBD_PID:-$FS_OWN_SMBD_PID}
        [ "$FS_USING_HARNESS" = 1 ] || master=$FS_OWN_SMBD_PID
        python3 "$SRC/bench/schedstat.py" "$SCHED" "$label" "$master" "$daemon" -- "$@"
    else
        "$@"
    fi
}

fs_log "preparing a ${MB} MiB file"
SRCFILE=$FS_TMP/big
head -c $((MB << 20)) /dev/urandom >"$SRCFILE"
sum=$(md5sum <"$SRCFILE")

for ((run = 1; run <= RUNS; run++)); do
    echo "$run load $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS"
    for profile in $PROFILES; do
        fs_log "run $run, profile $profile"
        fs_start_server "$profile"
        fs_mount "${BENCH_MOUNT_OPTS:-}"
        w=() cw=() r=() cr=()
        for ((i = 0; i < REPS; i++)); do
            rm -f "$SHARE_DIR/big"
            t=$(now)
            sched "$run $profile write smbfuse" "$FS_PID" dd if="$SRCFILE" of="$MNT/big" bs=1M conv=fsync status=none || fail "dd write failed: no figure for this round"
            w+=("$(rate_since "$t")")
            [ "$(md5sum <"$SHARE_DIR/big")" = "$sum" ] || fail "WRONG DATA written through the mount"
            rm -f "$SHARE_DIR/big"
            t=$(now)
            smbc_argv
            sched "$run $profile write smbclient" 0 "${SMBC[@]}" -c "put $SRCFILE big" >/dev/null 2>&1 || fail "smbclient put failed: no figure for this round"
            cw+=("$(rate_since "$t")")
            cat "$SHARE_DIR/big" >/dev/null # the server's copy in memory
            drop_client "$MNT/big"
            t=$(now)
            sched "$run $profile read smbfuse" "$FS_PID" dd if="$MNT/big" of=/dev/null bs=1M status=none || fail "dd read failed: no figure for this round"
            r+=("$(rate_since "$t")")
            t=$(now)
            smbc_argv
            sched "$run $profile read smbclient" 0 "${SMBC[@]}" -c "get big /dev/null" >/dev/null 2>&1 || fail "smbclient get failed: no figure for this round"
            cr+=("$(rate_since "$t")")
        done
        name=$profile
        [ "$profile" = plain ] && name=unsigned
        echo "$run $name read $(median "${r[@]}") $(median "${cr[@]}") ${r[*]} / ${cr[*]}" >>"$RESULTS"
        echo "$run $name write $(median "${w[@]}") $(median "${cw[@]}") ${w[*]} / ${cw[*]}" >>"$RESULTS"
        fs_unmount
        fs_stop_server
    done
done

python3 - "$RESULTS" "$RUNS" "$MB" "$REPS" <<'PY'
import sys
path, runs, mb, reps = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows, load = {}, {}
for line in open(path):
    f = line.split()
    if f[1] == "load":
        load[int(f[0])] = " ".join(f[2:5])
        continue
    rows.setdefault((f[1], f[2]), {})[int(f[0])] = (float(f[3]), float(f[4]), " ".join(f[5:]))
cols = range(1, runs + 1)
print(f"\n{mb} MiB, dd bs=1M (writes conv=fsync) vs smbclient get/put, median of {reps} each\n")
print("| | " + " | ".join(f"run {c}" for c in cols) + " |")
print("|---|" + "---|" * runs)
for (prof, op), by in rows.items():
    cells = [f"{by[c][0] / by[c][1]:.2f}" if c in by and by[c][1] else "-" for c in cols]
    print(f"| {prof} {op}, x smbclient | " + " | ".join(cells) + " |")
print("\nMB/s, smbfuse / smbclient (medians):\n")
print("| | " + " | ".join(f"run {c}" for c in cols) + " |")
print("|---|" + "---|" * runs)
for (prof, op), by in rows.items():
    cells = [f"{by[c][0]:.0f} / {by[c][1]:.0f}" if c in by else "-" for c in cols]
    print(f"| {prof} {op} | " + " | ".join(cells) + " |")
print("\nload average (1, 5, 15 min) at the start of each run: " +
      "; ".join(f"run {c}: {load.get(c, '?')}" for c in cols))
print("\nevery round (smbfuse / smbclient MB/s):")
for (prof, op), by in rows.items():
    for c in cols:
        if c in by:
            print(f"  run {c} {prof} {op}: {by[c][2]}")
PY
if [ -s "$SCHED" ]; then
    echo
    echo "per round and side (BENCH_SCHED): party=CPU ms/run-queue ms/slices"
    cat "$SCHED"
fi
