#!/bin/bash
# Wrong data never reaches a program, through a real FUSE mount on an
# unsigned smbd behind a loopback proxy (mitm_proxy.py):
#  1. READ_ANDX replies whose DataOffset points into the SMB header: EIO,
#     never header bytes as file data.
#  2. a server that ignores MaxCountHigh (the proxy clears it in every
#     READ_ANDX): copies are whole, never cut where a 64 KiB or 128 KiB
#     read came back empty or short.
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

fs_start_server nosign

PROXY_PORT=$(fs_free_port)
MODE=$FS_TMP/mitm.mode
EVENTS=$FS_TMP/mitm.events
: >"$EVENTS"
python3 "$FS_SRC/tests/integration/mitm_proxy.py" "$PROXY_PORT" "$PORT" "$MODE" "$EVENTS" &
FS_EXTRA_PIDS+=($!)
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$PROXY_PORT") 2>/dev/null && break; sleep 0.1; done
PORT=$PROXY_PORT
events() { grep -c "^$1\$" "$EVENTS" || true; }

fs_mount
head -c $((3 << 20)) /dev/urandom >"$SHARE_DIR/a"
head -c $((3 << 20)) /dev/urandom >"$SHARE_DIR/b"
head -c $(((2 << 20) + 12345)) /dev/urandom >"$SHARE_DIR/c"

# 1. DataOffset into the header.
echo dataoffset >"$MODE"
: >"$FS_TMP/got.a"
rc=0
dd if="$MNT/a" of="$FS_TMP/got.a" bs=1M 2>"$FS_TMP/dd.a" || rc=$?
rm -f "$MODE"
[ "$(events dataoffset)" -ge 1 ] || fail "the proxy altered no READ_ANDX reply"
got=$(stat -c %s "$FS_TMP/got.a")
cmp -n "$got" "$FS_TMP/got.a" "$SHARE_DIR/a" >/dev/null || fail "header bytes reached the reader as data"
[ $rc -ne 0 ] || fail "a read with DataOffset inside the header succeeded"
grep -q "Input/output error" "$FS_TMP/dd.a" || fail "not EIO: $(cat "$FS_TMP/dd.a")"
cmp "$MNT/a" "$SHARE_DIR/a" || fail "read after the proxy stopped"
fs_log "ok   DataOffset inside the header: EIO, nothing of the header returned"

# 2. MaxCountHigh ignored: whole copies in every read size a program uses.
echo nohigh >"$MODE"
for bs in 64K 128K 1M; do
    dd if="$MNT/b" of="$FS_TMP/got.b" bs=$bs iflag=direct 2>"$FS_TMP/dd.b" ||
        fail "bs=$bs: $(cat "$FS_TMP/dd.b")"
    cmp "$FS_TMP/got.b" "$SHARE_DIR/b" || fail "bs=$bs: copy differs (short: $(stat -c %s "$FS_TMP/got.b"))"
done
cp "$MNT/c" "$FS_TMP/got.c"
cmp "$FS_TMP/got.c" "$SHARE_DIR/c" || fail "cp: copy differs (short: $(stat -c %s "$FS_TMP/got.c"))"
rm -f "$MODE"
[ "$(events nohigh)" -ge 1 ] || fail "no READ_ANDX asked for more than 64 KiB"
fs_log "ok   MaxCountHigh ignored: whole copies ($(events nohigh) requests cut to their low 16 bits)"
fs_log "PASS"
