#!/bin/bash
# smbfuse benchmarks: smbfuse side by side with smbclient (forced to NT1) on
# the same private Samba in the same run, the two alternating: signing
# mandatory; signing disabled with Samba's default UNIX extensions
# ("plain"); signing disabled without them, as a Windows-like server
# ("nosign"). Plus a trivial FUSE passthrough of a local directory (the
# FUSE ceiling), and bench/smbread, which reads through libsmb1core alone
# (our SMB path alone). The CPU cost of each read (CPU seconds per GiB of
# the client, the server and the reader) bounds what a FUSE client on that
# SMB path can reach on this machine: the CPUs divided by the SMB path's
# cost plus the FUSE cost (the passthrough's, less its own read of the
# local file). On a 2-core machine the server, the client and the reader
# share the cores, so this bound, not the passthrough, is the ceiling.
#
# usage: bench/bench.sh [BUILD_DIR]     (root; needs smbd, smbclient, fuse3)
# env:   BENCH_MB=1024 (sequential file size), BENCH_FILES=10000 (tree size),
#        BENCH_PROFILES="signed plain nosign", BENCH_REPS=3 (runs of each
#        sequential read, alternating; the median is shown)
#
# Prints one table. Figures are MB/s (higher is better), seconds (lower is
# better), round trips (SMB requests the client sent) and peak RSS.

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SMBFUSE_SOURCE_DIR=$SRC
export SMBFUSE_BINARY_DIR=${1:-${SMBFUSE_BINARY_DIR:-$SRC/build}}
export SMBFUSE_OWN_SMBD=${SMBFUSE_OWN_SMBD:-}
# shellcheck source=../tests/integration/fs_lib.sh
. "$SRC/tests/integration/fs_lib.sh"
set +e

MB=${BENCH_MB:-1024}
NFILES=${BENCH_FILES:-10000}
FS_FOREGROUND=1
RESULTS=$FS_TMP/results
: >"$RESULTS"

now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$(now)"; }
mbps() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.0f}')" "$1" "$2"; }
# Reads measure the path from the server's memory to the reader, not the
# disk: the server's copy is read once, and only the client's cached pages
# of the file are dropped.
cold_client() {
    local f
    for f in "$@"; do cat "${f%%:*}" >/dev/null; done
    python3 - "$@" <<'PY'
import os, sys
for arg in sys.argv[1:]:
    fd = os.open(arg.split(":", 1)[1], os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
PY
}
# Busy share of all CPUs (percent) between two readings of /proc/stat.
cpu_mark() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat; }
cpu_busy() { python3 -c "import sys; b0,t0,b1,t1=map(float,sys.argv[1:]); print(f'{100*(b1-b0)/(t1-t0):.0f}%')" $1 $2; }
# measure PATTERN [PID...] -- COMMAND: runs it, sets M_WALL (seconds) and
# M_CPU (CPU seconds of the command, of the server processes whose command
# line holds PATTERN, and of the PIDs), see bench/measure.py.
measure() { read -r M_WALL M_CPU < <(/usr/bin/python3 "$SRC/bench/measure.py" "$@"); }
# The middle one, by wall time, of runs given as "WALL CPU" strings: sets
# M_WALL and M_CPU. Reads are repeated (BENCH_REPS, default 3), because a
# single run on a shared machine can be far off.
REPS=${BENCH_REPS:-3}
median_run() { read -r M_WALL M_CPU < <(printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"); }
# CPU seconds per GiB: per_gib MIB CPU_SECONDS.
per_gib() { python3 -c "import sys; print(f'{float(sys.argv[2]) * 1024 / float(sys.argv[1]):.2f}')" "$1" "$2"; }
NCPU=$(nproc)
record() { printf '%-8s %-34s %12s %12s %12s\n' "$@" >>"$RESULTS"; }

smbc_cmd() {
    SMBC=(smbclient -m NT1 --option='client min protocol=NT1' --option='client max protocol=NT1'
        -p "$PORT" -U "$SMBD_USER%$SMBD_PASS" "//127.0.0.1/$SHARE_NAME")
}
smbc() { "${SMBC[@]}" "$@" >/dev/null 2>&1; }
smbc_get() { smbc -c "get $1 /dev/null"; }

requests() {
    kill -USR1 "$FS_PID"
    sleep 0.3
    grep -o 'requests=[0-9]*' "$FS_TMP/smbfuse.log" | tail -1 | cut -d= -f2
}

make_tree() {
    local dir=$1
    python3 - "$dir" "$NFILES" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
per = 100
for i in range(n):
    d = os.path.join(root, f"d{i // per:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05d}.txt"), "wb") as f:
        f.write(rnd.randbytes(rnd.randint(100, 8000)))
PY
}

fs_log "preparing ${MB} MiB file and a ${NFILES}-file tree"
head -c $((MB << 20)) /dev/urandom >"$FS_TMP/big"
for i in 1 2 3 4; do head -c $((MB << 18)) /dev/urandom >"$FS_TMP/part$i"; done
make_tree "$FS_TMP/tree"
tar -C "$FS_TMP" -cf "$FS_TMP/tree.tar" tree

# ---- the FUSE ceiling ----
PT=$SMBFUSE_BINARY_DIR/bench/smbfuse-passthrough
SR=$SMBFUSE_BINARY_DIR/bench/smbfuse-smbread
[ -x "$PT" ] && [ -x "$SR" ] || fail "build $SMBFUSE_BINARY_DIR first (its bench/ tools are missing)"
PTDIR=$FS_TMP/ptdir
PTMNT=$FS_TMP/ptmnt
mkdir -p "$PTDIR" "$PTMNT"
"$PT" "$PTDIR" "$PTMNT" || fail "passthrough mount"
t=$(now); dd if="$FS_TMP/big" of="$PTMNT/big" bs=1M status=none; pt_w=$(mbps "$MB" "$(since "$t")")
pt_pid=$(pgrep -f "^$PT ")
# With the passthrough's own read of the local file, which a network
# client does not make: a cached local read.
runs=() lruns=()
for ((i = 0; i < REPS; i++)); do
    cold_client "$PTDIR/big:$PTMNT/big"
    measure "" $pt_pid -- cat "$PTMNT/big"
    runs+=("$M_WALL $M_CPU")
    measure "" -- cat "$PTDIR/big"
    lruns+=("$M_WALL $M_CPU")
done
median_run "${runs[@]}"
pt_r=$(mbps "$MB" "$M_WALL")
pt_cost=$(per_gib "$MB" "$M_CPU")
median_run "${lruns[@]}"
local_cost=$(per_gib "$MB" "$M_CPU")
fuse_cost=$(python3 -c "print(f'{max($pt_cost - $local_cost, 0):.2f}')")
# How far parallel readers can go on this machine without a network.
for i in 1 2 3 4; do cp "$FS_TMP/part$i" "$PTDIR/part$i"; done
sync # no writeback of the copies during the reads
cold_client "$PTDIR/part1:$PTMNT/part1"
t=$(now); cat "$PTMNT/part1" >/dev/null; pt_one=$(mbps $((MB / 4)) "$(since "$t")")
cold_client "$PTDIR/part1:$PTMNT/part1" "$PTDIR/part2:$PTMNT/part2" \
    "$PTDIR/part3:$PTMNT/part3" "$PTDIR/part4:$PTMNT/part4"
t=$(now)
pids=()
for i in 1 2 3 4; do cat "$PTMNT/part$i" >/dev/null & pids+=($!); done
wait "${pids[@]}"
pt_four=$(mbps "$MB" "$(since "$t")")
fusermount3 -u "$PTMNT"
pt_ratio=$(python3 -c "print(f'{$pt_four/$pt_one:.2f}')")
record local "CPU s/GiB of a cached local read" "" "" "$local_cost"

# signed: signing mandatory, UNIX extensions. plain: signing disabled,
# otherwise Samba's defaults (UNIX extensions on). nosign: signing
# disabled and no UNIX extensions, as a Windows-like server.
for profile in ${BENCH_PROFILES:-signed plain nosign}; do
    fs_log "profile $profile"
    fs_start_server "$profile"
    smbc_cmd
    fs_mount
    [ -n "$FS_PID" ] || fail "no client pid"

    # sequential write / read, alternating with smbclient put / get
    t=$(now); dd if="$FS_TMP/big" of="$MNT/big" bs=1M status=none; w=$(mbps "$MB" "$(since "$t")")
    rm -f "$SHARE_DIR/big"
    t=$(now); smbc -c "put $FS_TMP/big big"; cw=$(mbps "$MB" "$(since "$t")")
    record "$profile" "seq write ${MB} MiB (MB/s)" "$w" "$cw" "$pt_w"
    sync # the writes' data is not written back during the reads
    # smbfuse, smbclient's get and the SMB path alone (bench/smbread with
    # two readers, as the kernel's readahead keeps two FUSE reads in
    # flight), taking turns.
    rruns=() cruns=() sruns=()
    for ((i = 0; i < REPS; i++)); do
        cold_client "$SHARE_DIR/big:$MNT/big"
        measure "$SMBD_DIR" "$FS_PID" -- cat "$MNT/big"
        rruns+=("$M_WALL $M_CPU")
        measure "$SMBD_DIR" -- "${SMBC[@]}" -c "get big /dev/null"
        cruns+=("$M_WALL $M_CPU")
        PASSWD="$SMBD_PASS" measure "$SMBD_DIR" -- "$SR" 127.0.0.1 "$PORT" "$SMBD_USER" \
            "$SHARE_NAME" big 2 || fs_log "smbread failed"
        sruns+=("$M_WALL $M_CPU")
    done
    median_run "${rruns[@]}"
    r=$(mbps "$MB" "$M_WALL")
    r_cost=$(per_gib "$MB" "$M_CPU")
    median_run "${cruns[@]}"
    cr=$(mbps "$MB" "$M_WALL")
    cr_cost=$(per_gib "$MB" "$M_CPU")
    record "$profile" "seq read ${MB} MiB (MB/s)" "$r" "$cr" "$pt_r"
    record "$profile" "  CPU s/GiB (client + server)" "$r_cost" "$cr_cost" "$pt_cost"
    # The SMB ceiling, and the bound it sets with the FUSE cost.
    median_run "${sruns[@]}"
    sr=$(mbps "$MB" "$M_WALL")
    sr_cost=$(per_gib "$MB" "$M_CPU")
    record "$profile" "read through libsmb1core, no FUSE" "$sr" "" ""
    record "$profile" "  CPU s/GiB (client + server)" "$sr_cost" "" ""
    record "$profile" "  bound: CPUs / (this + FUSE cost)" \
        "$(python3 -c "print(f'{$NCPU * 1024 / ($sr_cost + $fuse_cost):.0f}')")" "" ""

    # 4 parallel readers of separate files vs one reader
    for i in 1 2 3 4; do cp "$FS_TMP/part$i" "$SHARE_DIR/part$i"; done
    sync # no writeback of the copies during the reads
    cold_client "$SHARE_DIR/part1:$MNT/part1"
    c0=$(cpu_mark)
    t=$(now); cat "$MNT/part1" >/dev/null; one=$(mbps $((MB / 4)) "$(since "$t")")
    one_cpu=$(cpu_busy "$c0" "$(cpu_mark)")
    cold_client "$SHARE_DIR/part1:$MNT/part1" "$SHARE_DIR/part2:$MNT/part2" \
        "$SHARE_DIR/part3:$MNT/part3" "$SHARE_DIR/part4:$MNT/part4"
    c0=$(cpu_mark)
    t=$(now)
    pids=()
    for i in 1 2 3 4; do cat "$MNT/part$i" >/dev/null & pids+=($!); done
    wait "${pids[@]}"
    four=$(mbps "$MB" "$(since "$t")")
    four_cpu=$(cpu_busy "$c0" "$(cpu_mark)")
    t=$(now); smbc_get part1; cone=$(mbps $((MB / 4)) "$(since "$t")")
    t=$(now)
    pids=()
    for i in 1 2 3 4; do smbc -c "get part$i /dev/null" & pids+=($!); done
    wait "${pids[@]}"
    cfour=$(mbps "$MB" "$(since "$t")")
    record "$profile" "1 reader (MB/s)" "$one" "$cone" "$pt_one"
    record "$profile" "  CPU busy, 1 reader (all cores)" "$one_cpu" "" ""
    record "$profile" "4 parallel readers (MB/s)" "$four" "$cfour" "$pt_four"
    record "$profile" "  CPU busy, 4 readers (all cores)" "$four_cpu" "" ""
    record "$profile" "  ratio 4 readers / 1 reader" "$(python3 -c "print(f'{$four/$one:.2f}')")" \
        "$(python3 -c "print(f'{$cfour/$cone:.2f}')")" "$pt_ratio"
    rm -f "$SHARE_DIR"/part* "$SHARE_DIR/big"

    # untar, listing, du, rm -rf of the tree
    t=$(now); tar -C "$MNT" -xf "$FS_TMP/tree.tar"; ut=$(since "$t")
    rm -rf "$SHARE_DIR/tree"
    t=$(now); smbc -c "tar x $FS_TMP/tree.tar"; cut=$(since "$t")
    [ -d "$SHARE_DIR/tree" ] || cut=failed
    record "$profile" "untar ${NFILES} files (s)" "$ut" "$cut" ""
    sleep 2.2 # let the attribute cache expire: cold listings
    r0=$(requests)
    t=$(now); ls -lR "$MNT/tree" >/dev/null; lr=$(since "$t")
    r1=$(requests)
    t=$(now); smbc -c "recurse; ls tree/*"; clr=$(since "$t")
    record "$profile" "ls -lR ${NFILES} files (s)" "$lr" "$clr" ""
    ndirs=$(find "$SHARE_DIR/tree" -type d | wc -l)
    record "$profile" "  requests per directory (ls -lR)" "$(python3 -c "print(f'{($r1-$r0)/$ndirs:.1f}')")" "" ""
    sleep 2.2
    t=$(now); find "$MNT/tree" >/dev/null; fd_=$(since "$t")
    record "$profile" "find ${NFILES} files (s)" "$fd_" "" ""
    sleep 2.2
    t=$(now); du -s "$MNT/tree" >/dev/null; du_=$(since "$t")
    record "$profile" "du ${NFILES} files (s)" "$du_" "" ""
    sleep 2.2
    r0=$(requests)
    ls -l "$MNT/tree/d000" >/dev/null
    r1=$(requests)
    record "$profile" "round trips per ls -l of 100 files" "$((r1 - r0))" "" ""
    t=$(now); rm -rf "$MNT/tree"; rr=$(since "$t")
    [ -e "$SHARE_DIR/tree" ] && rr=failed
    # Writable for the share's user: without UNIX extensions a file it
    # cannot write is read-only, and smbclient's deltree stops there.
    tar -C "$SHARE_DIR" -xf "$FS_TMP/tree.tar" && chmod -R a+rwX "$SHARE_DIR/tree"
    t=$(now); smbc -c "deltree tree"; crr=$(since "$t")
    [ -e "$SHARE_DIR/tree" ] && crr=failed
    record "$profile" "rm -rf ${NFILES} files (s)" "$rr" "$crr" ""
    rss=$(awk '/VmHWM/ {print $2 " kB"}' "/proc/$FS_PID/status")
    record "$profile" "smbfuse peak RSS" "$rss" "" ""

    fs_unmount
    fs_stop_server
done

printf '\n%-8s %-34s %12s %12s %12s\n' profile metric smbfuse smbclient passthrough
cat "$RESULTS"
