#!/bin/bash
# A man in the middle on loopback (mitm_proxy.py) in front of a real smbd
# with "server signing = auto", through a real FUSE mount:
#  1. signing cannot be switched off: it alters a read on the first (signed)
#     connection, so the client fails closed and reconnects; it then clears
#     the signing bits of the next NEGOTIATE reply (and of the client's
#     SESSION_SETUP, so the server does not sign) and alters every read.
#     No altered byte may reach a program; the mount comes back, signed,
#     once the proxy stops.
#  2. the same with only the NEGOTIATE reply altered (the server signs when
#     asked): every altered read is caught.
# Whatever caught it (a bad MAC, a reconnect refused because its replies
# come unsigned), the program sees EIO, as for any integrity failure:
# never EPERM or EACCES, which speak of permissions.
# (Forged oplock breaks: fs_forged_break.test.sh.)
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

SMBD_EXTRA_GLOBAL="server signing = auto"
export SMBD_EXTRA_GLOBAL
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
fs_mount
grep -q "connected to 127.0.0.1 .*signed" "$FS_TMP/smbfuse.log" ||
    fail "the first connection is not signed: $(grep 'connected to' "$FS_TMP/smbfuse.log")"

for f in a b c d e; do head -c $((1 << 20)) /dev/urandom >"$SHARE_DIR/$f"; done

events() { grep -c "^$1\$" "$EVENTS" || true; }

# read_never_altered NAME: reads $MNT/NAME with dd; whatever it returns
# must be the file's own bytes. Prints dd's exit status.
read_never_altered() {
    local rc=0 got
    : >"$FS_TMP/got.$1"
    dd if="$MNT/$1" of="$FS_TMP/got.$1" bs=1M 2>"$FS_TMP/dd.$1" || rc=$?
    got=$(stat -c %s "$FS_TMP/got.$1")
    cmp -n "$got" "$FS_TMP/got.$1" "$SHARE_DIR/$1" >/dev/null ||
        fail "altered bytes of $1 reached the reader ($(cat "$FS_TMP/dd.$1"))"
    if [ "$rc" -ne 0 ]; then
        grep -q "Input/output error" "$FS_TMP/dd.$1" ||
            fail "reading $1 through a man in the middle: not EIO: $(tr '\n' ' ' <"$FS_TMP/dd.$1")"
    fi
    echo "$rc"
}

# recovers NAME: once the proxy stops altering, reads of $MNT/NAME come
# back intact. A refused reconnect is backed off (up to 2 s): calls made
# in the pause fail at once, the next attempt after it succeeds. Polls.
recovers() {
    local i
    for i in $(seq 75); do
        cmp -s "$MNT/$1" "$SHARE_DIR/$1" && return 0
        sleep 0.2
    done
    cmp "$MNT/$1" "$SHARE_DIR/$1"
}

# 1. Flip on the signed connection, then strip signing from the next ones.
echo downgrade >"$MODE"
rc=$(read_never_altered a)
[ "$rc" -ne 0 ] || fail "a read with an altered reply on the signed connection succeeded"
[ "$(events flip)" -ge 1 ] || fail "the proxy altered nothing"
for f in b c; do
    rc=$(read_never_altered $f)
    [ "$rc" -ne 0 ] || fail "$f: read through a man in the middle succeeded"
done
[ "$(events strip_nego)" -ge 1 ] || fail "no NEGOTIATE reply went through the proxy after the flip"
grep -q "signed before on this mount" "$FS_TMP/smbfuse.log" ||
    fail "the refusal is not logged: $(tail -n 5 "$FS_TMP/smbfuse.log")"
fs_log "ok   signing stripped after a forced reconnect: refused, nothing altered returned" \
    "($(events strip_nego) NEGOTIATE, $(events strip_setup) SESSION_SETUP altered)"

rm -f "$MODE"
recovers c || fail "the mount does not recover once the proxy stops"
fs_log "ok   the mount recovers, signed, once the proxy stops"

# 2. Only the NEGOTIATE reply altered: the server signs when asked, and
# every altered read is caught.
flips0=$(events flip)
echo downgrade-nego >"$MODE"
for f in d e; do read_never_altered $f >/dev/null; done
rm -f "$MODE"
[ "$(events flip)" -gt "$flips0" ] || fail "the proxy altered no read in phase 2"
recovers e || fail "read after phase 2"
fs_log "ok   signing bits cleared in NEGOTIATE only: every altered read caught"

fs_log "PASS"
