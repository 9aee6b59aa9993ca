#!/bin/bash
# Extended attributes larger than one SMB message through the FUSE mount,
# on the signed profile (signing mandatory): values of 16 KiB, 40 KiB and
# the largest an EA list of 65535 bytes holds go out as a TRANSACTION2
# primary plus secondaries and read back byte for byte; 65536 bytes is
# E2BIG (Linux's own limit) and leaves the mount working; many in a row
# with ordinary requests between them keep the connection clean (no bad
# signature, no reconnect in the client's counters).
#
# The share lives on tmpfs: the ext4 under /tmp holds about 4 KiB of
# xattrs per file, tmpfs holds 64 KiB values.
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

XDIR=$(mktemp -d /dev/shm/smbfuse-fsx.XXXXXX)
chmod 1777 "$XDIR"
trap 'rc=$?; rm -rf "$XDIR"; (exit $rc); fs_cleanup' EXIT
export SMBD_EXTRA_SHARE="path = $XDIR"
FS_FOREGROUND=1 fs_setup signed
SHARE_DIR=$XDIR

touch "$MNT/f"
[ -e "$XDIR/f" ] || fail "the share is not on $XDIR"

# xattr N SEED: sets user.big to N pattern bytes through the mount, reads
# it back through the mount and on the server's side.
xattr_round_trip() {
    python3 - "$MNT/f" "$XDIR/f" "$1" "$2" <<'PY'
import os, random, sys
mnt, srv, n, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
v = random.Random(seed).randbytes(n)
os.setxattr(mnt, "user.big", v)
back = os.getxattr(mnt, "user.big")
assert back == v, ("through the mount", len(back), n)
assert os.getxattr(srv, "user.big") == v, "on the server"
assert "user.big" in os.listxattr(mnt), os.listxattr(mnt)
PY
}

for n in 16384 40960 65523; do
    xattr_round_trip $n $n || fail "round trip of $n bytes"
    fs_log "ok   $n-byte value round trip"
done

python3 - "$MNT/f" <<'PY' || fail "oversized values"
import errno, os, sys
p = sys.argv[1]
for n in (65524, 65535, 65536):
    try:
        os.setxattr(p, "user.big", b"x" * n)
    except OSError as e:
        assert e.errno == errno.E2BIG, (n, e)
    else:
        raise AssertionError("%d bytes accepted" % n)
assert len(os.getxattr(p, "user.big")) == 65523
PY
echo still-works >"$MNT/after"
[ "$(cat "$XDIR/after")" = still-works ] || fail "mount unusable after E2BIG"
fs_log "ok   65524, 65535 and 65536 bytes: E2BIG, the mount goes on"

for i in $(seq 20); do
    xattr_round_trip $((16385 + i * 2011)) "$i" || fail "round trip $i"
    ls -l "$MNT" >/dev/null
    echo "$i" >"$MNT/n"
    [ "$(cat "$MNT/n")" = "$i" ] || fail "ordinary write $i"
done
fs_log "ok   20 large values with ordinary requests between them"

kill -USR1 "$FS_PID"
for i in $(seq 50); do grep -q 'requests=' "$FS_TMP/smbfuse.log" && break; sleep 0.1; done
line=$(grep -o 'requests=.*' "$FS_TMP/smbfuse.log" | tail -1)
[ -n "$line" ] || fail "no counters on SIGUSR1"
fs_log "counters: $line"
for c in bad_signatures unknown_mids reconnects; do
    v=$(echo "$line" | grep -o "$c=[0-9]*" | cut -d= -f2)
    [ "$v" = 0 ] || fail "$c=$v"
done
fs_log "ok   no bad signature, unknown MID or reconnect"

# A clean exit at unmount (under ASan, a leak or error would show here).
fusermount3 -u "$MNT" || fail "unmount"
FS_MOUNTED=0
rc=0
wait "$FS_PID" || rc=$?
FS_PID=
[ $rc -eq 0 ] || fail "smbfuse exited with $rc"
if grep -q Sanitizer "$FS_TMP/smbfuse.log"; then
    grep -A20 Sanitizer "$FS_TMP/smbfuse.log" >&2
    fail "sanitizer report"
fi
fs_log "ok   smbfuse exited cleanly"
