#!/bin/bash
# Small files side by side: untar of a tree of BENCH_FILES files, cp -r of
# it, rm -rf of it, through smbfuse, through smbclient (NT1) on the same
# private Samba, and through the trivial FUSE passthrough of a local
# directory (bench/passthrough.c: the FUSE ceiling), per profile (signed,
# plain, nosign as in bench.sh).
#
# Requests per file are counted on the wire, not by our own counters:
# everything runs in a private network namespace (BENCH_NETNS), and tshark
# captures its loopback during a second, untimed pass of each workload.
# A request is one SMB message from the client (an AndX chain is one).
# The untar's are also split between the files and the directories (by
# the path or FID each request names): the files' figure is what the
# target of 3 per file is about, as each directory costs at least its
# mkdir on top (101 directories: 0.01 per file).
#
# usage: bench/smallfiles.sh [BUILD_DIR]   (root; smbd, smbclient, fuse3, tshark)
# env:   BENCH_FILES=10000, BENCH_PROFILES="signed plain nosign",
#        BENCH_NETNS=smbfuse-bench-PID (the namespace; deleted at exit),
#        BENCH_COUNT=1 (0: no capture pass), BENCH_BREAKDOWN=1 (the requests
#        of each workload by command), BENCH_KEEP=DIR (keep the captures),
#        BENCH_TMPFS=1 (the share and the passthrough's directory on
#        /dev/shm: creating files on the root ext4 after mass deletes is
#        ext4's inode allocation more than anything (recently_deleted),
#        and moved the passthrough's untar 3x from run to run)
#
# tar runs as root with its defaults (it chowns every file; the plain
# profile's user may not, so there tar reports errors and goes on).

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-${SMBFUSE_BINARY_DIR:-$SRC/build}}
BIN=$(cd "$BIN" && pwd)

if [ -z "${BENCH_IN_NETNS:-}" ]; then
    NS=${BENCH_NETNS:-smbfuse-bench-$$}
    ip netns add "$NS" || exit 1
    trap 'ip netns delete "$NS"' EXIT
    # nsenter, not ip netns exec: the FUSE mounts must stay visible here.
    BENCH_IN_NETNS=1 nsenter --net="/run/netns/$NS" bash -c 'ip link set lo up && exec "$@"' \
        bash "${BASH_SOURCE[0]}" "$BIN"
    exit $?
fi

export SMBFUSE_SOURCE_DIR=$SRC
export SMBFUSE_BINARY_DIR=$BIN
# shellcheck source=../tests/integration/fs_lib.sh
. "$SRC/tests/integration/fs_lib.sh"
set +e

NFILES=${BENCH_FILES:-10000}
FS_FOREGROUND=1
RESULTS=$FS_TMP/results
: >"$RESULTS"
BREAKDOWN=$FS_TMP/breakdown
: >"$BREAKDOWN"
PT=$BIN/bench/smbfuse-passthrough
[ -x "$PT" ] || fail "build $BIN first (bench/smbfuse-passthrough is missing)"
command -v tshark >/dev/null || fail "tshark is missing"

now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$(now)"; }
record() { printf '%-8s %-30s %10s %10s %10s\n' "$@" >>"$RESULTS"; }
ratio() { python3 -c "import sys; a,b=sys.argv[1:]; print(f'{float(a)/float(b):.2f}' if b not in ('', '0') and a else '')" "$1" "$2"; }

smbc_cmd() {
    SMBC=(smbclient -m NT1 --option='client min protocol=NT1' --option='client max protocol=NT1'
        -p "$PORT" -U "$SMBD_USER%$SMBD_PASS" "//127.0.0.1/$SHARE_NAME")
}
smbc() { "${SMBC[@]}" "$@" >/dev/null 2>&1; }

# capture_start / capture_stop: SMB requests the client sent meanwhile.
CAP_PID=
capture_start() {
    CAP_FILE=$FS_TMP/cap.pcapng
    rm -f "$CAP_FILE"
    tshark -i lo -B 64 -f "tcp dst port $PORT" -w "$CAP_FILE" -q 2>"$FS_TMP/tshark.err" &
    CAP_PID=$!
    local i
    for i in $(seq 100); do grep -q 'Capturing on' "$FS_TMP/tshark.err" 2>/dev/null && break; sleep 0.1; done
    sleep 0.5
}
capture_stop() {
    # a last small segment marks the end, then let dumpcap write it out
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT)).close()"
    sleep 1
    kill "$CAP_PID"
    wait "$CAP_PID" 2>/dev/null
    [ -n "${BENCH_KEEP:-}" ] && cp "$CAP_FILE" "$BENCH_KEEP/$(echo "$1" | tr ' ' '_').pcapng"
    # One smb.flags.response value per SMB header: an AndX chain counts once.
    tshark -r "$CAP_FILE" -d "tcp.port==$PORT,nbss" -Y 'smb.flags.response == 0' \
        -T fields -E occurrence=a -E separator=, -e smb.flags.response 2>/dev/null |
        tr ',' '\n' | grep -c .
    if [ -n "${BENCH_BREAKDOWN:-}" ]; then
        # which requests, per file: each SMB header's command chain (an
        # AndX chain as A+B) and a TRANS2's subcommand
        echo "== $1" >>"$BREAKDOWN"
        tshark -r "$CAP_FILE" -d "tcp.port==$PORT,nbss" -Y 'smb.flags.response == 0' \
            -T fields -E occurrence=a -e smb.cmd -e smb.trans2.cmd -e smb.spi_loi \
            -e smb.qpi_loi 2>/dev/null |
            python3 -c '
import collections, re, sys
n = int(sys.argv[1]); c = collections.Counter()
cmd = {0x00: "MKDIR", 0x01: "RMDIR", 0x04: "CLOSE", 0x06: "DELETE", 0x07: "RENAME",
       0x2f: "WRITE_ANDX", 0x2e: "READ_ANDX", 0x32: "TRANS2", 0x71: "TREE_DISCONNECT",
       0x73: "SESSION_SETUP", 0x75: "TREE_CONNECT", 0xa2: "NT_CREATE_ANDX", 0x2b: "ECHO",
       0x72: "NEGOTIATE", 0x09: "SET_INFORMATION2", 0x08: "SET_INFORMATION"}
lvl = {"512": "UNIX_BASIC", "513": "UNIX_LINK", "521": "POSIX_OPEN", "522": "POSIX_UNLINK",
       "1004": "BASIC_INFO", "1013": "DISPOSITION_INFO", "1": "STANDARD"}
sub = {1: "FIND_FIRST2", 2: "FIND_NEXT2", 3: "QUERY_FS_INFO", 5: "QUERY_PATH_INFO",
       6: "SET_PATH_INFO", 7: "QUERY_FILE_INFO", 8: "SET_FILE_INFO"}
for line in sys.stdin:
    f = (line.rstrip("\n").split("\t") + [""] * 4)[:4]
    # several SMB messages of one frame run together here: fine for counts
    cmds = [int(x, 16) for x in re.findall(r"0x[0-9a-fA-F]+", f[0])]
    cmds = [cmd.get(x, hex(x)) for x in cmds if x != 0xff]
    key = "+".join(cmds)
    subs = [sub.get(int(x, 16), x) for x in re.findall(r"0x[0-9a-fA-F]+", f[1])]
    levels = re.findall(r"\d+", f[2] + " " + f[3])
    if subs:
        key += " " + ",".join(subs) + "".join(" " + lvl.get(x, x) for x in levels)
    c[key] += 1
for k, v in c.most_common(12):
    print(f"   {k:50s} {v:8d} {v / n:6.2f}/file")
' "$NFILES" >>"$BREAKDOWN"
    fi
}
per_file() { python3 -c "import sys; print(f'{int(sys.argv[1]) / int(sys.argv[2]):.2f}')" "$1" "$NFILES"; }
# split_last: the requests of the last capture on the tree's directories
# (a path whose last name is "tree" or dNNN) and on its files (any other
# path, or a FID: only files are opened), as "FILES_PER_FILE DIR_PER_DIR".
# A directory costs at least its mkdir, so the whole untar costs at least
# 3 + NDIRS / NFILES per file where each file costs 3.
split_last() {
    # One line per frame; a frame may carry several requests (one
    # smb.flags.response value each), a chain one request with its
    # paths and FIDs repeated.
    tshark -r "$CAP_FILE" -d "tcp.port==$PORT,nbss" -Y 'smb.flags.response == 0' \
        -T fields -E occurrence=a -E separator=/t -e smb.flags.response -e smb.file \
        -e smb.dir_name 2>/dev/null |
        python3 -c '
import re, sys
nf, nd = int(sys.argv[1]), int(sys.argv[2])
f = d = 0
for line in sys.stdin:
    resp, files, dirs = (line.rstrip("\n").split("\t") + [""] * 3)[:3]
    n = len([v for v in resp.split(",") if v])
    names = [re.split(r"[/\\]", p)[-1] for p in (files + "," + dirs).split(",") if p]
    k = min(n, sum(1 for x in names if re.fullmatch(r"tree|d[0-9]+", x)))
    d += k
    f += n - k
print(f"{f / nf:.2f} {d / nd:.2f}")
' "$NFILES" "$NDIRS"
}

make_tree() {
    python3 - "$1" "$NFILES" <<'PY'
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

fs_log "preparing a ${NFILES}-file tree"
mkdir -p "$FS_TMP/local"
make_tree "$FS_TMP/local/tree"
tar -C "$FS_TMP/local" -cf "$FS_TMP/tree.tar" tree
NDIRS=$(find "$FS_TMP/local/tree" -type d | wc -l)
sync

# ---- the FUSE ceiling: the passthrough of a local directory, measured
# in each profile's turn (this machine's load moves from minute to minute)
PTDIR=$FS_TMP/ptdir
PTMNT=$FS_TMP/ptmnt
SHMD=
if [ -n "${BENCH_TMPFS:-}" ]; then
    SHMD=$(mktemp -d /dev/shm/smbfuse-bench.XXXXXX)
    chmod 0755 "$SHMD"
    mkdir -p "$SHMD/share" "$SHMD/pt"
    chmod 0777 "$SHMD/share"
    export SMBD_EXTRA_SHARE="path = $SHMD/share"
    PTDIR=$SHMD/pt
fi
mkdir -p "$PTDIR" "$PTMNT"
passthrough() {
    "$PT" "$PTDIR" "$PTMNT" || fail "passthrough mount"
    t=$(now); tar -C "$PTMNT" -xf "$FS_TMP/tree.tar"; pt_untar=$(since "$t")
    t=$(now); cp -r "$FS_TMP/local/tree" "$PTMNT/copy"; pt_cp=$(since "$t")
    t=$(now); rm -rf "$PTMNT/tree" "$PTMNT/copy"; pt_rm=$(since "$t")
    pt_rm=$(python3 -c "print(f'{$pt_rm / 2:.2f}')") # two trees
    fusermount3 -u "$PTMNT"
}

for profile in ${BENCH_PROFILES:-signed plain nosign}; do
    fs_log "profile $profile"
    fs_start_server "$profile"
    [ -n "$SHMD" ] && SHARE_DIR=$SHMD/share
    smbc_cmd
    fs_mount
    [ -n "$FS_PID" ] || fail "no client pid"

    # timed: the passthrough, smbfuse and smbclient taking turns
    passthrough
    t=$(now); tar -C "$MNT" -xf "$FS_TMP/tree.tar" 2>/dev/null; ut=$(since "$t")
    diff -r "$FS_TMP/local/tree" "$SHARE_DIR/tree" >/dev/null || ut="$ut(bad)"
    t=$(now); smbc -c "mkdir ctree; cd ctree; tar x $FS_TMP/tree.tar"; cut=$(since "$t")
    diff -r "$FS_TMP/local/tree" "$SHARE_DIR/ctree/tree" >/dev/null || cut="$cut(bad)"
    t=$(now); cp -r "$FS_TMP/local/tree" "$MNT/copy"; ct=$(since "$t")
    diff -r "$FS_TMP/local/tree" "$SHARE_DIR/copy" >/dev/null || ct="$ct(bad)"
    t=$(now); smbc -c "prompt off; recurse on; lcd $FS_TMP/local; mkdir ccopy; cd ccopy; lcd tree; mput *"; cct=$(since "$t")
    diff -r "$FS_TMP/local/tree" "$SHARE_DIR/ccopy" >/dev/null || cct="$cct(bad)"
    # smbclient's deltree stops at read-only files (no UNIX extensions)
    chmod -R u+w "$SHARE_DIR"
    t=$(now); rm -rf "$MNT/tree"; rt=$(since "$t")
    [ -e "$SHARE_DIR/tree" ] && rt="$rt(left)"
    t=$(now); smbc -c "deltree ccopy"; crt=$(since "$t")
    [ -e "$SHARE_DIR/ccopy" ] && crt="$crt(left)"
    rm -rf "$SHARE_DIR/copy" "$SHARE_DIR/tree" "$SHARE_DIR/ctree"

    record "$profile" "untar ${NFILES} files (s)" "$ut" "$cut" "$pt_untar"
    record "$profile" "  x passthrough" "$(ratio "$ut" "$pt_untar")" "$(ratio "$cut" "$pt_untar")" ""
    record "$profile" "cp -r (s)" "$ct" "$cct" "$pt_cp"
    record "$profile" "  x passthrough" "$(ratio "$ct" "$pt_cp")" "$(ratio "$cct" "$pt_cp")" ""
    record "$profile" "rm -rf (s)" "$rt" "$crt" "$pt_rm"
    record "$profile" "  x passthrough" "$(ratio "$rt" "$pt_rm")" "$(ratio "$crt" "$pt_rm")" ""

    if [ "${BENCH_COUNT:-1}" = 1 ]; then
        # counted on the wire, the same workloads again (untimed)
        sleep 1.2 # our caches from the timed pass have expired
        capture_start; tar -C "$MNT" -xf "$FS_TMP/tree.tar" 2>/dev/null; n_ut=$(capture_stop "$profile smbfuse untar")
        read -r f_ut d_ut <<<"$(split_last)"
        capture_start; smbc -c "mkdir ctree; cd ctree; tar x $FS_TMP/tree.tar"; n_cut=$(capture_stop "$profile smbclient tar x")
        read -r f_cut d_cut <<<"$(split_last)"
        capture_start; cp -r "$FS_TMP/local/tree" "$MNT/copy"; n_ct=$(capture_stop "$profile smbfuse cp -r")
        capture_start; smbc -c "prompt off; recurse on; lcd $FS_TMP/local; mkdir ccopy; cd ccopy; lcd tree; mput *"; n_cct=$(capture_stop "$profile smbclient mput")
        chmod -R u+w "$SHARE_DIR"
        sleep 1.2
        capture_start; rm -rf "$MNT/tree"; n_rt=$(capture_stop "$profile smbfuse rm -rf")
        capture_start; smbc -c "deltree ccopy"; n_crt=$(capture_stop "$profile smbclient deltree")
        record "$profile" "  requests/file untar" "$(per_file "$n_ut")" "$(per_file "$n_cut")" ""
        record "$profile" "    of the files, per file" "$f_ut" "$f_cut" ""
        record "$profile" "    of the $NDIRS dirs, per dir" "$d_ut" "$d_cut" ""
        record "$profile" "  requests/file cp -r" "$(per_file "$n_ct")" "$(per_file "$n_cct")" ""
        record "$profile" "  requests/file rm -rf" "$(per_file "$n_rt")" "$(per_file "$n_crt")" ""
        rm -rf "$SHARE_DIR"/*
    fi

    fs_unmount
    fs_stop_server
done

[ -n "$SHMD" ] && rm -rf "$SHMD"
printf '\n%-8s %-30s %10s %10s %10s\n' profile metric smbfuse smbclient passthrough
cat "$RESULTS"
if [ -n "${BENCH_BREAKDOWN:-}" ]; then
    printf '\nrequests by command (the first of a chain; TRANS2 by subcommand)\n'
    cat "$BREAKDOWN"
fi
