#!/bin/bash
# Never hang: through a real mount in front of a hostile server (a proxy
# before smbd, tests/integration/hostile_proxy.py), every operation ends in
# a clean error within its bound, and the next one on a healthy server
# works. Bounds are short here (timeout=2, as in fs_stuck: each mode waits
# out about one bound); the man page has the defaults.
#
#   silence   a server that stops answering       stat/ls/cat/stat -f
#   stall     one that answers ECHO, nothing else  (alive but hung)
#   wrongmid  replies with MIDs never sent
#   trickle   replies a byte every 50 ms
#   lietotal  TRANS2 replies announcing more than they send
#   refuse    a server that is gone
#   findloop  FIND_NEXT2 pages in turn, never an end
#   failclose a CLOSE that fails after close(2) returned (the release in
#             the background): logged, and no data close(2) reported
#             written is lost
#   slowclose a CLOSE answered late: a rename of the name right after
#             the release goes out after that answer
#   sessdel   every session ended after the tree connect: the mount
#             command fails at once saying why; a mounted share fails
#             with EIO, with few logons
#   hard      a server that is gone is waited for, but Ctrl-C ends the
#             wait, and SIGTERM and fusermount3 -u end the daemon in 5 s
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

TIMEOUT=2
BOUND_MS=$(((TIMEOUT + 2) * 1000)) # the bound, with room for a busy machine
STOP_MS=5000

fs_start_server plain
fs_hostile_proxy

MODES=${HOSTILE_MODES:-silence stall wrongmid trickle lietotal refuse}
for m in $MODES; do
    echo "$m" >"$SHARE_DIR/f_$m"
    mkdir -p "$SHARE_DIR/d_$m"
    echo x >"$SHARE_DIR/d_$m/x"
done
mkdir -p "$SHARE_DIR/loop"
for i in 1 2 3 4 5 6 7 8; do echo "$i" >"$SHARE_DIR/loop/f$i"; done
echo ok >"$SHARE_DIR/healthy"

# A second mount point (hard, then the mount command checks).
MNT2=$FS_TMP/mnt2
mkdir -p "$MNT2"
PID2=
hostile_cleanup() {
    echo normal >"$CTL/mode" 2>/dev/null
    if mountpoint -q "$MNT2" 2>/dev/null; then
        fusermount3 -u "$MNT2" 2>/dev/null || fusermount3 -uz "$MNT2" 2>/dev/null
    fi
    [ -n "$PID2" ] && kill "$PID2" 2>/dev/null
    true
}
trap 'r=$?; set +e; hostile_cleanup; (exit $r); fs_cleanup' EXIT

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Whether a process runs (an exited child not yet reaped is a zombie: gone).
alive() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

# timed LABEL cmd...: runs cmd, prints "LABEL rc=N ms=N <its stderr>".
timed() {
    local label=$1 s e rc=0
    shift
    s=$(now_ms)
    "$@" >/dev/null 2>"$FS_TMP/err.$label" || rc=$?
    e=$(now_ms)
    echo "$label rc=$rc ms=$((e - s)) $(head -c 160 "$FS_TMP/err.$label" | tr '\n' ' ')"
}

# A healthy server again: the same mount answers within RECOVER_MS (a
# server that was away is tried again after a pause of at most 2 s;
# calls in between fail at once).
RECOVER_MS=3000
healthy() {
    echo normal >"$CTL/mode"
    local r s e
    s=$(now_ms)
    while :; do
        r=$(timed healthy cat "$1/healthy")
        case $r in *" rc=0 "*) break ;; esac
        e=$(now_ms)
        [ $((e - s)) -le "$RECOVER_MS" ] || fail "after $2 the mount does not recover: $r"
        sleep 0.2
    done
    e=$(now_ms)
    RECOVERED_MS=$((e - s))
}

FS_FOREGROUND=1 FS_ACTIMEO=0 fs_mount "soft,timeout=$TIMEOUT"
fs_log "mounted through the hostile proxy (soft, timeout=$TIMEOUT)"

# Four kinds of operation, one after the other (the kernel sends the
# lookups of one directory one at a time, so side by side they would
# queue behind each other), each must end within the bound; the ones a
# mode does not touch may succeed.
for m in $MODES; do
    echo "$m" >"$CTL/mode"
    timed "stat" stat "$MNT/f_$m" >"$FS_TMP/res.stat"
    timed "ls" ls "$MNT/d_$m" >"$FS_TMP/res.ls"
    timed "cat" cat "$MNT/f_$m" >"$FS_TMP/res.cat"
    timed "statfs" stat -f "$MNT" >"$FS_TMP/res.statfs"
    for op in stat ls cat statfs; do
        r=$(cat "$FS_TMP/res.$op")
        ms=${r#* ms=}
        ms=${ms%% *}
        fs_log "     $m: $r"
        [ "$ms" -le "$BOUND_MS" ] || fail "$m: $op took $ms ms (bound $BOUND_MS)"
        case "$m:$op:$r" in
            lietotal:cat:*) ;; # no TRANS2 in an open and a read
            *" rc=0 "*) fail "$m: $op succeeded against a hostile server: $r" ;;
        esac
    done
    healthy "$MNT" "$m"
    fs_log "ok   $m: every operation ended within ${BOUND_MS} ms; the mount works again after $RECOVERED_MS ms"
done

# A listing that never ends: EIO, fast.
echo findloop >"$CTL/mode"
r=$(timed ls ls "$MNT/loop")
fs_log "     findloop: $r"
case $r in *"Input/output error"*) ;; *) fail "endless FIND_NEXT2: $r" ;; esac
ms=${r#* ms=}
ms=${ms%% *}
[ "$ms" -le "$BOUND_MS" ] || fail "endless FIND_NEXT2 took $ms ms"
healthy "$MNT" findloop
[ "$(ls "$MNT/loop" | wc -l)" = 8 ] || fail "listing after findloop"
fs_log "ok   findloop: EIO after $ms ms, then the listing is whole"

# A release whose CLOSE fails in the background: close(2) had its answer
# at the flush (the data was written and acknowledged), so it succeeds;
# the failure is logged, nothing is lost, and the name is usable at once.
echo failclose >"$CTL/mode"
head -c 300000 /dev/urandom >"$FS_TMP/bgsrc"
cp "$FS_TMP/bgsrc" "$MNT/bg_fail" || fail "failclose: cp"
for i in $(seq 50); do grep -q "bg_fail failed" "$FS_TMP/smbfuse.log" && break; sleep 0.1; done
grep "bg_fail failed" "$FS_TMP/smbfuse.log" | grep -q "close" || fail "failclose: not logged"
cmp "$FS_TMP/bgsrc" "$SHARE_DIR/bg_fail" || fail "failclose: data lost"
echo normal >"$CTL/mode"
mv "$MNT/bg_fail" "$MNT/bg_moved" && cmp "$FS_TMP/bgsrc" "$MNT/bg_moved" || fail "failclose: after"
rm "$MNT/bg_moved"
fs_log "ok   failclose: a CLOSE failing in the background is logged; no data lost"

# A rename right after the release waits for the CLOSE still on its way
# (its reply held back 400 ms here, the rest flowing): on the wire it
# comes after.
echo slowclose >"$CTL/mode"
: >"$CTL/events"
cp "$FS_TMP/bgsrc" "$MNT/bg_slow" || fail "slowclose: cp"
mv "$MNT/bg_slow" "$MNT/bg_slow2" || fail "slowclose: mv"
echo normal >"$CTL/mode"
order=$(grep -E '^(closereply|rename)$' "$CTL/events" | tr '\n' ' ')
case $order in closereply*rename*) ;; *) fail "slowclose: the rename overtook the CLOSE: $order" ;; esac
cmp "$FS_TMP/bgsrc" "$MNT/bg_slow2" || fail "slowclose: data"
rm "$MNT/bg_slow2"
fs_log "ok   slowclose: a rename right after the release goes after its CLOSE ($order)"

# Every session ended at once, on a mounted share: EIO quickly, said once,
# and the logons stay few however often it is tried.
: >"$CTL/events"
echo sessdel >"$CTL/mode"
for i in 1 2 3 4 5 6; do
    r=$(timed stat stat "$MNT/f_stall")
    fs_log "     sessdel #$i: $r"
    case $r in *" rc=0 "*) fail "sessdel: stat succeeded" ;; esac
    ms=${r#* ms=}
    ms=${ms%% *}
    [ "$ms" -le 2000 ] || fail "sessdel: stat took $ms ms"
done
logons=$(grep -c logon "$CTL/events" || true)
[ "$logons" -le 4 ] || fail "sessdel: $logons logons for 6 operations"
said=$(grep -c "ends every session" "$FS_TMP/smbfuse.log" || true)
[ "$said" = 1 ] || fail "sessdel: said $said times"
healthy "$MNT" sessdel
fs_log "ok   sessdel: EIO at once, $logons logons for 6 operations, said once"

# The mount command against such a server fails at once, saying why.
echo sessdel >"$CTL/mode"
s=$(now_ms)
rc=0
PASSWD="$SMBD_PASS" timeout 30 "$SMBFUSE" "//127.0.0.1/$SHARE_NAME" "$MNT2" \
    -o "username=$SMBD_USER,port=$PORT,timeout=$TIMEOUT" 2>"$FS_TMP/mount2.err" || rc=$?
e=$(now_ms)
echo normal >"$CTL/mode"
fs_log "     mount against sessdel: rc=$rc in $((e - s)) ms: $(tail -n 2 "$FS_TMP/mount2.err" | tr '\n' ' ')"
[ $rc -ne 0 ] || fail "the mount succeeded against a server that ends every session"
mountpoint -q "$MNT2" && fail "mounted anyway"
[ $((e - s)) -le 3000 ] || fail "the failing mount took $((e - s)) ms"
grep -q "share's path" "$FS_TMP/mount2.err" || fail "the mount does not say why"
fs_log "ok   mount command against sessdel fails in $((e - s)) ms, saying why"

# fusermount3 -u ends the daemon within 5 s, here with the server silent.
echo silence >"$CTL/mode"
s=$(now_ms)
fusermount3 -u "$MNT" || fail "fusermount3 -u"
FS_MOUNTED=0
for i in $(seq 100); do alive "$FS_PID" || break; sleep 0.1; done
e=$(now_ms)
alive "$FS_PID" && fail "the daemon still runs $((e - s)) ms after the unmount"
wait "$FS_PID" 2>/dev/null || true
FS_PID=
[ $((e - s)) -le "$STOP_MS" ] || fail "the daemon took $((e - s)) ms to stop"
fs_log "ok   fusermount3 -u with a silent server: the daemon is gone after $((e - s)) ms"
echo normal >"$CTL/mode"

# hard: a server that is gone is waited for beyond the bound, Ctrl-C ends
# the wait, and SIGTERM ends the daemon within 5 s with a request stuck.
PASSWD="$SMBD_PASS" "$SMBFUSE" "//127.0.0.1/$SHARE_NAME" "$MNT2" -f \
    -o "username=$SMBD_USER,port=$PORT,actimeo=0,hard,timeout=$TIMEOUT" 2>>"$FS_TMP/smbfuse2.log" &
PID2=$!
for i in $(seq 100); do mountpoint -q "$MNT2" && break; sleep 0.1; done
mountpoint -q "$MNT2" || fail "hard mount"
cat "$MNT2/healthy" >/dev/null || fail "hard mount: first read"
echo refuse >"$CTL/mode"
# As from a terminal: a background job of a script ignores SIGINT, so the
# stat gets its default action back first.
python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' stat "$MNT2/f_refuse" >/dev/null 2>&1 &
sp=$!
sleep $((TIMEOUT + 2))
kill -0 $sp 2>/dev/null || fail "hard: the stat gave up on a server that is gone"
s=$(now_ms)
kill -INT $sp
for i in $(seq 50); do kill -0 $sp 2>/dev/null || break; sleep 0.1; done
e=$(now_ms)
kill -0 $sp 2>/dev/null && fail "hard: Ctrl-C did not end the wait in $((e - s)) ms"
wait $sp 2>/dev/null || true
fs_log "ok   hard: a stat waited past the bound; Ctrl-C ended it after $((e - s)) ms"
# The server comes back: the hard mount works again.
healthy "$MNT2" "hard"
fs_log "ok   hard: the server is back, the mount works"
echo refuse >"$CTL/mode"
stat "$MNT2/d_refuse" >/dev/null 2>"$FS_TMP/stuck.err" &
sp=$!
sleep 1
s=$(now_ms)
kill -TERM "$PID2"
for i in $(seq 100); do alive "$PID2" || break; sleep 0.1; done
e=$(now_ms)
alive "$PID2" && fail "hard: the daemon still runs $((e - s)) ms after SIGTERM"
wait "$PID2" 2>/dev/null || true
PID2=
[ $((e - s)) -le "$STOP_MS" ] || fail "hard: SIGTERM took $((e - s)) ms"
for i in $(seq 50); do kill -0 $sp 2>/dev/null || break; sleep 0.1; done
kill -0 $sp 2>/dev/null && fail "hard: the stuck stat outlives the daemon"
wait $sp 2>/dev/null || true
mountpoint -q "$MNT2" && fail "hard: still mounted after SIGTERM"
fs_log "ok   hard: SIGTERM with a stuck request: the daemon is gone after $((e - s)) ms"
echo normal >"$CTL/mode"
fs_log "PASS"
