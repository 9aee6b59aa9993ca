#!/bin/bash
# The unmount the user asked for ends the daemon within 5 s, also while
# another mount namespace (unshare -m, a service with a private namespace
# started after the mount) holds a copy of the mount: a copy some process
# took and never uses must not keep the daemon and its connection alive
# unseen. Before that, the copy works like the mount; afterwards it
# gives ENOTCONN instead of hanging.
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

STOP_MS=5000
fs_start_server plain
echo ok >"$SHARE_DIR/healthy"
HOLDER=
trap 'r=$?; set +e; [ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null; (exit $r); fs_cleanup' EXIT

FS_FOREGROUND=1 fs_mount
[ "$(cat "$MNT/healthy")" = ok ] || fail "first read"
# A private copy of our mount table, ours included.
unshare -m --propagation private sleep 60 &
HOLDER=$!
# $! is unshare(1) from its fork on: wait until it has its namespace (its
# mountinfo shows our mount before too).
SELF_NS=$(readlink /proc/self/ns/mnt)
for i in $(seq 100); do
    [ "$(readlink "/proc/$HOLDER/ns/mnt" 2>/dev/null)" != "$SELF_NS" ] &&
        grep -q " $MNT " "/proc/$HOLDER/mountinfo" 2>/dev/null && break
    sleep 0.05
done
grep -q " $MNT " "/proc/$HOLDER/mountinfo" || fail "the new namespace has no copy of the mount"
[ "$(readlink "/proc/$HOLDER/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] || fail "no new namespace"
got=$(nsenter -t "$HOLDER" -m cat "$MNT/healthy") || fail "read through the other namespace's copy"
[ "$got" = ok ] || fail "read through the copy gave '$got'"

s=$(fs_now_ms)
fusermount3 -u "$MNT" || fail "fusermount3 -u"
FS_MOUNTED=0
for i in $(seq 120); do fs_alive "$FS_PID" || break; sleep 0.05; done
e=$(fs_now_ms)
fs_alive "$FS_PID" && fail "the daemon still runs $((e - s)) ms after fusermount3 -u (a copy elsewhere)"
wait "$FS_PID" 2>/dev/null || true
FS_PID=
[ $((e - s)) -le "$STOP_MS" ] || fail "the daemon took $((e - s)) ms to stop"
grep -q "was detached" "$FS_TMP/smbfuse.log" || fail "the log does not say the mount was detached"
rc=0
err=$(timeout 10 nsenter -t "$HOLDER" -m cat "$MNT/healthy" 2>&1) || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "the copy after the daemon ended: rc=$rc ($err)"
fs_log "ok   fusermount3 -u with a copy in process $HOLDER's namespace: daemon gone after" \
    "$((e - s)) ms; the copy then fails at once: $err"
fs_log "PASS"
