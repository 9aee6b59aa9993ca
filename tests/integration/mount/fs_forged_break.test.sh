#!/bin/bash
# Forged oplock breaks on a mandatory-signing connection, through a real
# FUSE mount: a man in the middle (mitm_proxy.py, on loopback in front of
# smbd with "server signing = mandatory") injects breaks, which are never
# signed, for FIDs the client never holds an oplock on (it asks for none).
# They change nothing: no reconnect, no bad signature, every read intact.
# (Acknowledging them moved the signing counter by 1 where smbd counts 2,
# and the connection fell apart at the next request.)
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

fs_start_server signed

PROXY_PORT=$(fs_free_port)
MODE=$FS_TMP/mitm.mode
EVENTS=$FS_TMP/mitm.events
: >"$EVENTS"
python3 "$FS_SRC/tests/integration/mitm_proxy.py" "$PROXY_PORT" "$PORT" "$MODE" "$EVENTS" &
FS_EXTRA_PIDS+=($!)
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$PROXY_PORT") 2>/dev/null && break; sleep 0.1; done
PORT=$PROXY_PORT

# In the foreground, so that the counters (SIGUSR1) land in smbfuse.log.
FS_FOREGROUND=1
fs_mount "sign"
for f in b d e; do head -c $((1 << 20)) /dev/urandom >"$SHARE_DIR/$f"; done
events() { grep -c "^$1\$" "$EVENTS" || true; }

stat_of() {
    local i n0 n
    n0=$(grep -c "$1=" "$FS_TMP/smbfuse.log" || true)
    kill -USR1 "$FS_PID"
    for i in $(seq 50); do
        n=$(grep -c "$1=" "$FS_TMP/smbfuse.log" || true)
        [ "$n" -gt "$n0" ] && break
        sleep 0.1
    done
    grep -o "$1=[0-9]*" "$FS_TMP/smbfuse.log" | tail -n 1 | cut -d= -f2
}

rec0=$(stat_of reconnects)
bad0=$(stat_of bad_signatures)
echo "break 0x4242" >"$MODE"
cmp "$MNT/b" "$SHARE_DIR/b" || fail "read after a forged break"
[ "$(events inject)" -eq 1 ] || fail "the proxy injected $(events inject) breaks"
echo "break 0x1" >"$MODE"
ls "$MNT" >/dev/null
cmp "$MNT/d" "$SHARE_DIR/d" || fail "read after a second forged break"
rm -f "$MODE"
cat "$MNT/e" >/dev/null
rec1=$(stat_of reconnects)
bad1=$(stat_of bad_signatures)
[ "$rec1" = "$rec0" ] || fail "a forged oplock break caused reconnects ($rec0 -> $rec1)"
[ "$bad1" = "$bad0" ] || fail "a forged oplock break caused bad signatures ($bad0 -> $bad1)"
fs_log "ok   forged oplock breaks: no reconnect, no bad signature"
fs_log "PASS"
