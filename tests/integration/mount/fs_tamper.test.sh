#!/bin/bash
# A reply altered on the wire never reaches a program: through a proxy
# that flips a byte in the data of READ_ANDX replies, reading a file on a
# signed mount fails with EIO and never returns altered bytes; once the
# proxy stops tampering the same mount reads the file correctly.
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

fs_start_server signed

PROXY_PORT=$(fs_free_port)
FLAG=$FS_TMP/tamper
python3 "$FS_SRC/tests/integration/smb_proxy.py" "$PROXY_PORT" "$PORT" --tamper-read "$FLAG" >/dev/null &
FS_EXTRA_PIDS+=($!)
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$PROXY_PORT") 2>/dev/null && break; sleep 0.1; done
PORT=$PROXY_PORT

# In the foreground, so that the counters (SIGUSR1) land in smbfuse.log.
FS_FOREGROUND=1
fs_mount
head -c $((4 << 20)) /dev/urandom >"$SHARE_DIR/data"
cp "$SHARE_DIR/data" "$FS_TMP/orig"

touch "$FLAG"
set +e
dd if="$MNT/data" of="$FS_TMP/got" bs=1M 2>"$FS_TMP/dd.err"
rc=$?
set -e
rm -f "$FLAG"
[ $rc -ne 0 ] || fail "a read of tampered replies succeeded"
grep -q "Input/output error" "$FS_TMP/dd.err" || fail "not EIO: $(cat "$FS_TMP/dd.err")"
got=$(stat -c %s "$FS_TMP/got")
cmp -n "$got" "$FS_TMP/got" "$FS_TMP/orig" || fail "altered bytes reached the reader"
fs_log "ok   tampered READ replies: EIO after $got good bytes, nothing altered returned"

# The mount survives: the same file reads back correctly now.
cmp "$MNT/data" "$FS_TMP/orig" || fail "read after tampering stopped"
ls "$MNT" >/dev/null || fail "mount unusable after tampering"
fs_log "ok   the mount recovers once replies are genuine"

# One altered reply among genuine ones. A large read is a pipeline whose
# replies are verified in batches: the one bad MAC in a batch is caught
# (counted) while its neighbours are good. The read that carried it fails
# as a whole, never short: FUSE takes a short read for the end of the
# file, so the program would get a truncated copy without an error. The
# kernel then reads those pages again, on a new connection, and the
# program gets the whole file, intact (or EIO; never altered bytes).
stats_bad() {
    kill -USR1 "$FS_PID"
    sleep 0.5
    grep -o 'bad_signatures=[0-9]*' "$FS_TMP/smbfuse.log" | tail -n 1 | cut -d= -f2
}
bad0=$(stats_bad)
head -c $((4 << 20)) /dev/urandom >"$SHARE_DIR/data2"
cp "$SHARE_DIR/data2" "$FS_TMP/orig2"
echo 6 >"$FLAG"
set +e
dd if="$MNT/data2" of="$FS_TMP/got2" bs=1M 2>"$FS_TMP/dd2.err"
rc=$?
set -e
rm -f "$FLAG"
bad1=$(stats_bad)
[ "${bad1:-0}" -gt "${bad0:-0}" ] || fail "the tampered reply was not caught (${bad0:-?} -> ${bad1:-?})"
got=$(stat -c %s "$FS_TMP/got2")
cmp -n "$got" "$FS_TMP/got2" "$FS_TMP/orig2" || fail "altered bytes reached the reader"
if [ $rc -eq 0 ]; then
    [ "$got" -eq $((4 << 20)) ] || fail "a read with one tampered reply ended early at $got bytes"
    fs_log "ok   one tampered reply in a pipelined read: caught, pages read again, file intact"
else
    grep -q "Input/output error" "$FS_TMP/dd2.err" || fail "not EIO: $(cat "$FS_TMP/dd2.err")"
    fs_log "ok   one tampered reply in a pipelined read: EIO after $got good bytes"
fi
cmp "$MNT/data2" "$FS_TMP/orig2" || fail "read after one tampered reply"
# With AVX2 (md5_multi's fast path) those reads were verified in batches.
batched=$(grep -o 'batched_macs=[0-9]*' "$FS_TMP/smbfuse.log" | tail -n 1 | cut -d= -f2)
if grep -qw avx2 /proc/cpuinfo; then
    [ "${batched:-0}" -gt 0 ] || fail "no reply was verified in a batch"
fi
fs_log "ok   ${batched:-0} replies verified in batches"
fs_log "PASS"
