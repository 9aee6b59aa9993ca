#!/bin/bash
# Never hang, never take a lie for data: through a real mount in front of
# a hostile server (tests/integration/hostile_proxy.py before smbd), the
# directory searches, the reads and the liveness probe against replies
# that lie. Each ends in a clean error within its bound (timeout=4 here),
# the search is closed or left on its own connection, and the next
# operation on a healthy reply works.
#
#   findloop       FIND_NEXT2 pages in turn, never an end
#   findstuck      FIND_NEXT2 pages that are empty, never an end
#   findgrow       FIND_NEXT2 pages of new names for ever
#   findclosefail  findloop, and the FIND_CLOSE2 is refused
#   findclosesilent  findloop, and the FIND_CLOSE2 never answered
#   finddrop       the connection drops between FIND_FIRST2 and FIND_NEXT2:
#                  the search ID is never used on the new connection
#   findreuse      the same while another listing on the new connection got
#                  the same search ID from smbd: no listing continues
#                  another's search
#   zeroread       READ_ANDX answers 0 bytes before the end of the file
#   zeroonce       ... once: read again, the data is whole
#   slowdata       a READ_ANDX reply's data trickles after its head: the
#                  read, whose data is spliced from the socket into a pipe
#                  (unsigned), is cut off within its bound as any other
#   mpx1           MaxMpxCount 1 and a reply that stalls half-way (ls): the
#                  liveness ECHO still goes out (it needs no slot), so the
#                  lie is seen in a probe interval (EIO), not waited out
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

TIMEOUT=4
BOUND_MS=$(((TIMEOUT + 2) * 1000)) # the bound, with room for a busy machine

fs_start_server plain
fs_hostile_proxy
trap 'r=$?; set +e; echo normal >"$CTL/mode"; (exit $r); fs_cleanup' EXIT

for d in loop stuck grow closefail closesilent drop; do
    mkdir -p "$SHARE_DIR/$d"
    for i in 1 2 3 4 5 6 7 8; do echo "$i" >"$SHARE_DIR/$d/g000000$i"; done
done
# Each file read once per case: the kernel keeps what it read.
for f in zero zero_once; do head -c 5000 /dev/urandom >"$SHARE_DIR/$f"; done
for f in zerobig zerobig_once; do head -c 70000 /dev/urandom >"$SHARE_DIR/$f"; done
head -c 20000 /dev/urandom >"$SHARE_DIR/slowdata"
mkdir -p "$SHARE_DIR/mpx" "$SHARE_DIR/reuse"
(cd "$SHARE_DIR/reuse" && touch h{0001..1500})
echo ok >"$SHARE_DIR/healthy"

# HOSTILE_CASES picks some of the cases (find drop zero mpx1) when debugging.
want() { case " ${HOSTILE_CASES:-find drop reuse zero slowdata mpx1} " in *" $1 "*) return 0 ;; esac; return 1; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# timed LABEL cmd...: runs cmd, prints "LABEL rc=N ms=N <its stderr>".
timed() {
    local label=$1 s e rc=0
    shift
    s=$(now_ms)
    "$@" >"$FS_TMP/out.$label" 2>"$FS_TMP/err.$label" || rc=$?
    e=$(now_ms)
    echo "$label rc=$rc ms=$((e - s)) $(head -c 160 "$FS_TMP/err.$label" | tr '\n' ' ')"
}
ms_of() {
    local ms=${1#* ms=}
    echo "${ms%% *}"
}

# expect_eio LABEL RESULT: failed with EIO within the bound.
expect_eio() {
    fs_log "     $1: $2"
    case $2 in *"Input/output error"*) ;; *) fail "$1: no EIO: $2" ;; esac
    [ "$(ms_of "$2")" -le "$BOUND_MS" ] || fail "$1: took $(ms_of "$2") ms (bound $BOUND_MS)"
}

# The searches a mode left: every FIND_CLOSE2 since the mark, and no
# search ID sent on a connection that did not give it.
mark_events() { MARK=$(wc -l <"$CTL/events"); }
events_since() { tail -n +$((MARK + 1)) "$CTL/events"; }
no_foreign_sid() {
    if grep -q foreignsid "$CTL/events"; then
        fail "$1: a search ID was sent on a connection it does not belong to: $(grep foreignsid "$CTL/events" | head -3 | tr '\n' ' ')"
    fi
}

FS_FOREGROUND=1 FS_ACTIMEO=0 fs_mount "soft,timeout=$TIMEOUT"
fs_log "mounted through the hostile proxy (soft, timeout=$TIMEOUT)"

# Healthy listings first: the search ends on its own (FIND_CLOSE2 none).
[ "$(ls "$MNT/loop" | wc -l)" = 8 ] || fail "healthy listing"

# A search that never ends: EIO within the bound, the search is closed
# (one FIND_CLOSE2, refused or not), and the listing is whole afterwards.
want find && for m in ${FIND_MODES:-loop stuck grow closefail closesilent}; do
    mark_events
    echo "find$m" >"$CTL/mode"
    r=$(timed ls ls "$MNT/$m")
    echo normal >"$CTL/mode"
    expect_eio "find$m" "$r"
    # A clean-up after the failure waits a probe interval, not a bound.
    [ $m != closesilent ] || [ "$(ms_of "$r")" -lt $((TIMEOUT * 750)) ] ||
        fail "find$m: the unanswered FIND_CLOSE2 was waited for a whole bound: $r"
    closes=$(events_since | grep -c '^findclose' || true)
    [ "$closes" = 1 ] || fail "find$m: $closes FIND_CLOSE2 for the abandoned search"
    no_foreign_sid "find$m"
    n=$(ls "$MNT/$m" | wc -l)
    [ "$n" = 8 ] || fail "find$m: the next listing has $n names"
    fs_log "ok   find$m: EIO after $(ms_of "$r") ms, the search closed, the next listing whole"
done

# The connection drops between FIND_FIRST2 and FIND_NEXT2: the listing
# starts again on the new connection (whole, no name twice), and the old
# search ID is never sent there.
want drop && {
mark_events
echo finddrop >"$CTL/mode"
r=$(timed ls ls "$MNT/drop")
echo normal >"$CTL/mode"
fs_log "     finddrop: $r ($(events_since | tr '\n' ' '))"
case $r in *" rc=0 "*) ;; *) fail "finddrop: the listing failed: $r" ;; esac
events_since | grep -q '^conn' || fail "finddrop: no reconnect happened"
n=$(wc -l <"$FS_TMP/out.ls")
u=$(sort -u "$FS_TMP/out.ls" | wc -l)
[ "$n" = 8 ] && [ "$u" = 8 ] || fail "finddrop: $n names ($u different) after the restart"
no_foreign_sid finddrop
fs_log "ok   finddrop: the listing restarted on the new connection, 8 names, no stale search ID"
}

# A listing whose search the server gives the same ID as one of the old
# connection's. On a mount without UNIX extensions (mfsymlinks), listing
# msym reads its 1067-byte file between FIND_FIRST2 and FIND_NEXT2: the
# proxy drops the connection at that read (findreuse), which is made
# again on a new connection, and holds its reply back 400 ms, while a
# second listing (reuse, 1,500 names: several FIND_NEXT2) starts on the
# new connection, where smbd gives search IDs the old connection gave too
# (it numbers each connection's searches alike, "sidreuse"; a search it
# already ended, as msym's, is 65535). msym's listing must start again
# instead of sending
# its FIND_NEXT2 with that ID: the proxy checks every FIND_NEXT2's resume
# name against what that search gave on that connection ("foreignsid").
want reuse && {
MNT2=$FS_TMP/mnt2
mkdir -p "$MNT2" "$SHARE_DIR/msym"
for i in 1 2 3 4 5 6 7 8; do echo "$i" >"$SHARE_DIR/msym/g000000$i"; done
head -c 1067 /dev/zero >"$SHARE_DIR/msym/g0000000"
PASSWD="$SMBD_PASS" "$SMBFUSE" "//127.0.0.1/$SHARE_NAME" "$MNT2" -o \
    "username=$SMBD_USER,port=$PORT,actimeo=0,soft,timeout=$TIMEOUT,nounix" 2>>"$FS_TMP/smbfuse2.log" ||
    fail "findreuse: the second mount"
trap 'r=$?; set +e; echo normal >"$CTL/mode"; mountpoint -q "$MNT2" && fusermount3 -u "$MNT2"; (exit $r); fs_cleanup' EXIT
ls "$MNT2/reuse" >/dev/null
mark_events
echo findreuse >"$CTL/mode"
ls "$MNT2/msym" >"$FS_TMP/out.ra" 2>&1 &
pa=$!
for i in $(seq 100); do grep -q '^slowread' "$CTL/events" && break; sleep 0.01; done
ls "$MNT2/reuse" >"$FS_TMP/out.rb" 2>&1 &
pb=$!
ra=0 rb=0
wait $pa || ra=$?
wait $pb || rb=$?
echo normal >"$CTL/mode"
fusermount3 -u "$MNT2"
fs_log "     findreuse: rc $ra $rb ($(events_since | grep -v '^findclose' | sort | uniq -c | tr '\n' ' '))"
[ $ra = 0 ] && [ $rb = 0 ] || fail "findreuse: a listing failed: $(tail -c 300 "$FS_TMP/out.ra" "$FS_TMP/out.rb")"
events_since | grep -q "^slowread" || fail "findreuse: the listing read no file between its pages"
events_since | grep -q '^sidreuse' || fail "findreuse: no search ID was given again"
[ "$(sort -u "$FS_TMP/out.ra" | wc -l)" = 9 ] && [ "$(wc -l <"$FS_TMP/out.ra")" = 9 ] ||
    fail "findreuse: the first listing has $(wc -l <"$FS_TMP/out.ra") names"
[ "$(sort -u "$FS_TMP/out.rb" | wc -l)" = 1500 ] && [ "$(wc -l <"$FS_TMP/out.rb")" = 1500 ] ||
    fail "findreuse: the second listing has $(wc -l <"$FS_TMP/out.rb") names"
no_foreign_sid findreuse
fs_log "ok   findreuse: both listings whole across the reconnect, the search ID given again, never sent stale"
}

# A read answered with 0 bytes before the end of the file is not the end
# of the file: read again once, then EIO, never a short file.
want zero && for f in zero zerobig; do
    echo zeroread >"$CTL/mode"
    r=$(timed cat cat "$MNT/$f")
    echo normal >"$CTL/mode"
    expect_eio "zeroread $f" "$r"
    cmp -s "$MNT/$f" "$SHARE_DIR/$f" || fail "zeroread $f: the next read is not whole"
    fs_log "ok   zeroread $f: EIO after $(ms_of "$r") ms, then the data is whole"
    echo zeroonce >"$CTL/mode"
    cmp "$MNT/${f}_once" "$SHARE_DIR/${f}_once" || fail "zeroonce $f: one empty reply made a short file"
    [ "$(cat "$CTL/mode")" = normal ] || fail "zeroonce $f: no read was answered empty"
    fs_log "ok   zeroonce $f: read again, the data is whole"
done

# The data of a READ_ANDX reply trickles after its head: on this unsigned
# mount the read (20000 bytes) is spliced from the socket into a pipe
# (src/ops/op_rsplice.c), and the splice is bound by the frame's deadline
# (pace_ms plus its length at 16 KiB/s) as a read into a buffer is: the
# read fails within its bound, and the next one is whole. O_DIRECT: one
# FUSE read of the whole file (the page cache would read again page by
# page after a failed readahead, in frames too small to be spliced).
want slowdata && {
    echo slowdata >"$CTL/mode"
    r=$(timed dd dd if="$MNT/slowdata" of=/dev/null bs=20480 count=1 iflag=direct status=none)
    echo normal >"$CTL/mode"
    fs_log "     slowdata: $r"
    grep -q slowdata "$CTL/events" || fail "slowdata: no READ_ANDX reply trickled"
    case $r in *" rc=0 "*) fail "slowdata: a read whose data trickled succeeded: $r" ;; esac
    [ "$(ms_of "$r")" -le "$BOUND_MS" ] || fail "slowdata: the read took $(ms_of "$r") ms"
    cmp -s "$MNT/slowdata" "$SHARE_DIR/slowdata" || fail "slowdata: the next read is not whole"
    spliced=$(python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.smbfuse.status").decode())' \
        "$MNT" | sed -n 's/^spliced_reads: //p')
    [ "${spliced:-0}" -ge 1 ] || fail "slowdata: the read was not spliced (spliced_reads ${spliced:-?})"
    fs_log "ok   slowdata: failed after $(ms_of "$r") ms, then the data is whole (spliced reads $spliced)"
}

# MaxMpxCount 1: the request that waits holds the only slot, and the
# liveness ECHO must still go out (cifs.ko does not count echoes). A TRANS2
# reply that stops half-way is then known for a lie at the first probe
# (EIO, as with more slots) instead of being waited out to the bound.
want mpx1 && {
fs_unmount
echo 1 >"$CTL/maxmpx"
FS_FOREGROUND=1 FS_ACTIMEO=0 fs_mount "soft,timeout=$TIMEOUT"
rm -f "$CTL/maxmpx"
echo lietotal >"$CTL/mode"
r=$(timed ls ls "$MNT/mpx")
echo normal >"$CTL/mode"
# EIO says the ECHO went out and was answered; an ECHO that finds no
# slot takes the server for gone, and the retries wait out the bound
# (ETIMEDOUT).
expect_eio "mpx1" "$r"
cat "$MNT/healthy" >/dev/null || fail "mpx1: the next read fails"
fs_log "ok   mpx1: the stalled reply gives EIO after $(ms_of "$r") ms"
grep -q "max mpx 1," "$FS_TMP/smbfuse.log" || fail "mpx1: the mount did not see MaxMpxCount 1"
}
fs_log "PASS"
