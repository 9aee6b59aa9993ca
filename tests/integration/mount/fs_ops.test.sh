#!/bin/bash
# Every FUSE operation through ordinary system calls, with its error cases,
# on the signed profile (signing mandatory + CIFS UNIX extensions); a
# 5,000-entry directory; df; mount failures reported before detaching;
# counters on SIGUSR1 and at unmount.
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

fs_setup signed

fs_ops_checks ops unix

# A directory of 5,000 entries lists completely (FIND_NEXT2 continuation).
mkdir "$SHARE_DIR/many"
(cd "$SHARE_DIR/many" && seq -f 'entry-%05g' 1 5000 | xargs touch)
n=$(ls "$MNT/many" | wc -l)
[ "$n" -eq 5000 ] || fail "listing of 5000 entries gave $n"
n=$(ls -l "$MNT/many" | grep -c '^-') || true
[ "$n" -eq 5000 ] || fail "ls -l of 5000 entries gave $n"
diff <(ls "$SHARE_DIR/many") <(ls "$MNT/many") || fail "listing differs from the server's"
fs_log "ok   5000-entry directory lists completely"

# Another client deletes a file the kernel still knows (a cached dentry):
# open(O_CREAT) makes it anew, as on a local disk, and an open without
# O_CREAT says ENOENT. The server's "not found" for a name the kernel
# believed is ESTALE, on which the kernel looks the name up again once.
for round in 1 2; do
    echo old >"$MNT/gone-under-us"
    stat "$MNT/gone-under-us" >/dev/null
    rm "$SHARE_DIR/gone-under-us"
    echo new >"$MNT/gone-under-us" || fail "open(O_CREAT) of a file deleted by another client (round $round)"
    [ "$(cat "$SHARE_DIR/gone-under-us")" = new ] || fail "the file made anew holds the wrong data"
done
stat "$MNT/gone-under-us" >/dev/null
rm "$SHARE_DIR/gone-under-us"
set +e
err=$(cat "$MNT/gone-under-us" 2>&1)
set -e
[[ $err == *"No such file"* ]] || fail "open of a file deleted by another client: '$err'"
fs_log "ok   a file deleted by another client: O_CREAT makes it anew, a plain open is ENOENT"

# df shows the share's real size.
python3 - "$MNT" "$SHARE_DIR" <<'PY' || fail "df"
import os, sys
m, s = os.statvfs(sys.argv[1]), os.statvfs(sys.argv[2])
mt, st = m.f_blocks * m.f_frsize, s.f_blocks * s.f_frsize
assert st > 0 and abs(mt - st) <= st // 100, (mt, st)
ma, sa = m.f_bavail * m.f_frsize, s.f_bavail * s.f_frsize
assert abs(ma - sa) <= st // 50, (ma, sa)
PY
df -h "$MNT" >&2
fs_log "ok   df shows the real size"

# Failures are reported before detaching, with a non-zero exit and nothing
# left mounted.
M2=$FS_TMP/mnt2
mkdir -p "$M2"
set +e
out=$(PASSWD=wrong-password "$SMBFUSE" "//127.0.0.1/$SHARE_NAME" "$M2" -o "username=$SMBD_USER,port=$PORT" 2>&1)
rc=$?
set -e
[ $rc -ne 0 ] || { fusermount3 -u "$M2"; fail "a wrong password mounted"; }
[ -n "$out" ] || fail "no message for a wrong password"
mountpoint -q "$M2" && fail "left mounted after a failure"
fs_log "ok   wrong password: exit $rc, '$out'"
set +e
out=$(PASSWD="$SMBD_PASS" "$SMBFUSE" "//127.0.0.1/nosuchshare" "$M2" -o "username=$SMBD_USER,port=$PORT" 2>&1)
rc=$?
set -e
[ $rc -ne 0 ] || { fusermount3 -u "$M2"; fail "a missing share mounted"; }
mountpoint -q "$M2" && fail "left mounted after a failure"
fs_log "ok   missing share: exit $rc, '$out'"
free_port=$(fs_free_port)
set +e
out=$(PASSWD=x timeout 30 "$SMBFUSE" "//127.0.0.1/$SHARE_NAME" "$M2" -o "username=$SMBD_USER,port=$free_port" 2>&1)
rc=$?
set -e
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "connection refused: exit $rc"
mountpoint -q "$M2" && fail "left mounted after a failure"
fs_log "ok   connection refused: exit $rc, '$out'"

# Counters on SIGUSR1 and at unmount (foreground, so stderr is ours).
PASSWD="$SMBD_PASS" "$SMBFUSE" "//127.0.0.1/$SHARE_NAME" "$M2" -f \
    -o "username=$SMBD_USER,port=$PORT" 2>"$FS_TMP/fg.log" &
fgpid=$!
for i in $(seq 100); do mountpoint -q "$M2" && break; sleep 0.1; done
mountpoint -q "$M2" || { kill $fgpid; fail "foreground mount"; }
ls "$M2" >/dev/null
kill -USR1 $fgpid
for i in $(seq 50); do grep -q 'requests=' "$FS_TMP/fg.log" && break; sleep 0.1; done
grep -q 'requests=' "$FS_TMP/fg.log" || { fusermount3 -u "$M2"; fail "no counters on SIGUSR1"; }

# `ls -l` of a directory is one FIND_FIRST2/NEXT2 sequence, not a query
# per file: count the requests around it (cold caches: 300 files).
mkdir "$SHARE_DIR/count"
(cd "$SHARE_DIR/count" && seq -f 'f%03g' 1 300 | xargs touch)
count_requests() {
    local before
    before=$(grep -c 'requests=' "$FS_TMP/fg.log")
    kill -USR1 $fgpid
    for i in $(seq 50); do
        [ "$(grep -c 'requests=' "$FS_TMP/fg.log")" -gt "$before" ] && break
        sleep 0.1
    done
    grep -o 'requests=[0-9]*' "$FS_TMP/fg.log" | tail -1 | cut -d= -f2
}
sleep 2.2
r0=$(count_requests)
n=$(ls -l "$M2/count" | grep -c '^-') || true
stat "$M2"/count/* >/dev/null
r1=$(count_requests)
[ "$n" -eq 300 ] || { fusermount3 -u "$M2"; fail "ls -l of 300 files gave $n"; }
[ $((r1 - r0)) -le 8 ] || { fusermount3 -u "$M2"; fail "ls -l + stat of 300 files cost $((r1 - r0)) requests"; }
fs_log "ok   ls -l + stat of 300 files: $((r1 - r0)) requests"
# rm -rf: the kernel already knows each name is a file, so an unlink is
# one request (no stat before the POSIX unlink); 300 files, 1 directory.
r0=$(count_requests)
rm -rf "$M2/count"
r1=$(count_requests)
[ -e "$SHARE_DIR/count" ] && { fusermount3 -u "$M2"; fail "rm -rf left the directory"; }
[ $((r1 - r0)) -le 310 ] || { fusermount3 -u "$M2"; fail "rm -rf of 300 files cost $((r1 - r0)) requests"; }
fs_log "ok   rm -rf of 300 files: $((r1 - r0)) requests"
fusermount3 -u "$M2"
wait $fgpid || fail "foreground smbfuse exited with $?"
[ "$(grep -c 'requests=' "$FS_TMP/fg.log")" -ge 2 ] || fail "no counters at unmount"
fs_log "ok   counters on SIGUSR1 and at unmount"

# SIGTERM unmounts cleanly (detached daemon this time).
PASSWD="$SMBD_PASS" "$SMBFUSE" "//127.0.0.1/$SHARE_NAME" "$M2" -o "username=$SMBD_USER,port=$PORT" ||
    fail "second mount"
mountpoint -q "$M2" || fail "second mount not there"
dpid=$(pgrep -n -f "smbfuse //127.0.0.1/$SHARE_NAME $M2") || { fusermount3 -u "$M2"; fail "daemon pid"; }
kill -TERM "$dpid"
for i in $(seq 100); do mountpoint -q "$M2" || break; sleep 0.1; done
mountpoint -q "$M2" && { fusermount3 -u "$M2"; fail "still mounted after SIGTERM"; }
for i in $(seq 100); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$dpid" 2>/dev/null && fail "daemon still running after SIGTERM"
fs_log "ok   SIGTERM unmounts and exits"
fs_log "PASS"
