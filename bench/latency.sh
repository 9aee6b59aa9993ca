#!/bin/bash
# Time per request: a sequential loop of BENCH_OPS operations, one at a
# time, through smbfuse, through libsmb1core alone (bench/smblat: our SMB
# path without FUSE), through smbclient (NT1) on the same private Samba,
# and through the trivial FUSE passthrough of a local directory (FUSE's
# own part), per profile. Microseconds per operation (lower is better).
#
#   create    open(O_CREAT|O_WRONLY) + close of a new file
#   stat      stat of a name not looked up before (the kernel asks us)
#   unlink    unlink of a name just looked up (the stat loop's)
#   echo      (smblat only) an ECHO: the bare round trip of our SMB path
#
# A second table gives the CPU time and context switches per operation of
# smbfuse (all its threads) and of smblat: they move less with the load of
# a shared machine than the times do.
#
# smbclient runs the same number of commands from one script (put of an
# empty file, allinfo is not one request, so stat is left out there; del
# of each name); its connection set-up is measured alone and taken off.
# The share and the passthrough's directory are on a tmpfs.
#
# usage: bench/latency.sh [BUILD_DIR]   (root; smbd, smbclient, fuse3)
# env:   BENCH_OPS=2000, BENCH_PROFILES="signed nosign", BENCH_REPS=3
#        (runs of each loop, alternating between the clients; the median
#        is shown)
# Figures only: nothing here is a pass/fail check.

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SMBFUSE_SOURCE_DIR=$SRC
export SMBFUSE_BINARY_DIR=${1:-${SMBFUSE_BINARY_DIR:-$SRC/build}}
export SMBFUSE_OWN_SMBD=${SMBFUSE_OWN_SMBD:-}
# shellcheck source=../tests/integration/fs_lib.sh
. "$SRC/tests/integration/fs_lib.sh"
set +e

N=${BENCH_OPS:-2000}
REPS=${BENCH_REPS:-3}
FS_FOREGROUND=1
FS_ACTIMEO=60 # the unlink loop finds the stat loop's names cached
RESULTS=$FS_TMP/results
: >"$RESULTS"
PT=$SMBFUSE_BINARY_DIR/bench/smbfuse-passthrough
SL=$SMBFUSE_BINARY_DIR/bench/smbfuse-smblat
[ -x "$PT" ] && [ -x "$SL" ] || fail "build $SMBFUSE_BINARY_DIR first (its bench/ tools are missing)"

record() { printf '%-8s %-8s %10s %10s %10s %10s\n' "$@" >>"$RESULTS"; }
RESULTS2=$FS_TMP/results2
: >"$RESULTS2"
record2() { printf '%-8s %-8s %10s %10s %10s %10s\n' "$@" >>"$RESULTS2"; }
median() { [ $# -gt 0 ] && printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }

# loop OP DIR [PID]: the operation on DIR/l00000.. one at a time; prints
# us/op, and with PID that process's CPU us/op and context switches/op
# (every thread of it: less moved by the machine's load than the time).
loop() {
    python3 - "$1" "$2" "$N" "${3:-}" <<'PY'
import glob, os, sys, time
op, d, n, pid = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
names = [os.path.join(d, f"l{i:05d}") for i in range(n)]
def usage():
    cpu = ctx = 0
    for t in glob.glob(f"/proc/{pid}/task/*"):
        try:
            cpu += int(open(t + "/schedstat").read().split()[0])
            for line in open(t + "/status"):
                if line.startswith(("voluntary_ctxt", "nonvoluntary_ctxt")):
                    ctx += int(line.split()[1])
        except OSError:
            pass
    return cpu, ctx
u0 = usage() if pid else None
t = time.monotonic()
if op == "create":
    for p in names:
        os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))
elif op == "stat":
    for p in names:
        os.stat(p)
elif op == "unlink":
    for p in names:
        os.unlink(p)
us = (time.monotonic() - t) * 1e6 / n
if pid:
    u1 = usage()
    print(f"{us:.1f} {(u1[0] - u0[0]) / 1e3 / n:.1f} {(u1[1] - u0[1]) / n:.2f}")
else:
    print(f"{us:.1f}")
PY
}
# server-side files DIR/l00000.. (the share's directory, not through us)
seed() { python3 -c "import os,sys; [open(os.path.join(sys.argv[1], f'l{i:05d}'), 'w').close() for i in range(int(sys.argv[2]))]" "$1" "$N"; }

smbc_cmd() {
    SMBC=(smbclient -m NT1 --option='client min protocol=NT1' --option='client max protocol=NT1'
        -p "$PORT" -U "$SMBD_USER%$SMBD_PASS" "//127.0.0.1/$SHARE_NAME")
}
# smbc_loop OP DIR: us per command, the session's set-up taken off
smbc_loop() {
    local script=$FS_TMP/smbc.cmds t0 t1 t2
    : >"$FS_TMP/empty"
    python3 - "$1" "$2" "$N" "$FS_TMP/empty" >"$script" <<'PY'
import sys
op, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    print(f"put {sys.argv[4]} {d}/l{i:05d}" if op == "create" else f"del {d}/l{i:05d}")
PY
    t0=$(date +%s.%N)
    "${SMBC[@]}" -c "" >/dev/null 2>&1
    t1=$(date +%s.%N)
    "${SMBC[@]}" <"$script" >/dev/null 2>&1
    t2=$(date +%s.%N)
    python3 -c "import sys; a,b,c,n=map(float,sys.argv[1:]); print(f'{((c-b)-(b-a))*1e6/n:.1f}')" "$t0" "$t1" "$t2" "$N"
}

# The share and the passthrough's directory on a tmpfs: the figures are
# the clients' and the server's handling of a request, not this machine's
# disk (whose create took 0.5-2 ms here, from run to run).
XDIR=$(mktemp -d /tmp/smbfuse-lat.XXXXXX)
mount -t tmpfs -o size=256m,mode=1777 tmpfs "$XDIR" || fail "tmpfs"
PTMNT=$FS_TMP/ptmnt
trap 'rc=$?; fs_cleanup_quiet; fusermount3 -u "$PTMNT" 2>/dev/null; umount "$XDIR"; rmdir "$XDIR"; (exit $rc); fs_cleanup' EXIT
mkdir -p "$XDIR/share" "$XDIR/ptdir" "$PTMNT"
chmod 0777 "$XDIR/share"
export SMBD_EXTRA_SHARE="path = $XDIR/share"
PTDIR=$XDIR/ptdir

for profile in ${BENCH_PROFILES:-signed nosign}; do
    fs_log "profile $profile"
    fs_start_server "$profile"
    SHARE_DIR=$XDIR/share
    smbc_cmd
    fs_mount
    "$PT" "$PTDIR" "$PTMNT" || fail "passthrough mount"
    declare -A F=()
    for rep in $(seq "$REPS"); do
        d=lat$rep
        # smbfuse: create, then stat and unlink of server-side names
        mkdir -p -m 0777 "$SHARE_DIR/$d" "$SHARE_DIR/${d}s"
        seed "$SHARE_DIR/${d}s"
        chmod 0666 "$SHARE_DIR/${d}s"/*
        for op in create stat unlink; do
            dir=$MNT/${d}s
            [ $op = create ] && dir=$MNT/$d
            read -r us cpu ctx < <(loop $op "$dir" "$FS_PID")
            F[fuse_$op]+=" $us"
            F[cpu_$op]+=" $cpu"
            F[ctx_$op]+=" $ctx"
        done
        # the passthrough, the same
        mkdir -p "$PTDIR/$d" "$PTDIR/${d}s"
        F[pt_create]+=" $(loop create "$PTMNT/$d")"
        seed "$PTDIR/${d}s"
        F[pt_stat]+=" $(loop stat "$PTMNT/${d}s")"
        F[pt_unlink]+=" $(loop unlink "$PTMNT/${d}s")"
        # libsmb1core alone
        mkdir -p -m 0777 "$SHARE_DIR/${d}c"
        while read -r op us cpu ctx; do
            F[core_$op]+=" $us"
            F[ccpu_$op]+=" $cpu"
            F[cctx_$op]+=" $ctx"
        done < <(PASSWD=$SMBD_PASS "$SL" \
            127.0.0.1 "$PORT" "$SMBD_USER" "$SHARE_NAME" "${d}c" "$N")
        # smbclient
        mkdir -p -m 0777 "$SHARE_DIR/${d}k"
        F[smbc_create]+=" $(smbc_loop create "${d}k")"
        F[smbc_unlink]+=" $(smbc_loop unlink "${d}k")"
        rm -rf "${SHARE_DIR:?}/$d" "$SHARE_DIR/${d}s" "$SHARE_DIR/${d}c" "$SHARE_DIR/${d}k" "$PTDIR/$d"
    done
    # shellcheck disable=SC2086
    for op in echo create stat unlink; do
        record "$profile" "$op" "$(median ${F[fuse_$op]:-})" "$(median ${F[core_$op]:-})" \
            "$(median ${F[smbc_$op]:-})" "$(median ${F[pt_$op]:-})"
        record2 "$profile" "$op" "$(median ${F[cpu_$op]:-})" "$(median ${F[ctx_$op]:-})" \
            "$(median ${F[ccpu_$op]:-})" "$(median ${F[cctx_$op]:-})"
    done
    unset F
    fusermount3 -u "$PTMNT"
    fs_unmount
    fs_stop_server
done

printf '\nmicroseconds per operation, %s operations in a row, median of %s runs\n' "$N" "$REPS"
printf '%-8s %-8s %10s %10s %10s %10s\n' profile op smbfuse smblat smbclient passthru
cat "$RESULTS"
printf '\nCPU microseconds and context switches per operation of the client process\n'
printf '%-8s %-8s %10s %10s %10s %10s\n' profile op fuse-cpu fuse-csw smblat-cpu smblat-csw
cat "$RESULTS2"
