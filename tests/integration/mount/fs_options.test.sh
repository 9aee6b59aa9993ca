#!/bin/bash
# Mount options that change the FUSE layer's behaviour: ro, actimeo=0,
# cache=none, max_read, nobrl, uid/gid with forceuid/forcegid (UNIX extensions).
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

fs_start_server signed
echo original >"$SHARE_DIR/f"
chmod 0666 "$SHARE_DIR/f"

remount() {
    fs_unmount
    fs_mount "$1"
}

fs_mount ro
[ "$(cat "$MNT/f")" = original ] || fail "ro: read"
expect_fail "Read-only file system" sh -c "echo x >'$MNT/f'"
expect_fail "Read-only file system" mkdir "$MNT/d"
fs_log "ok   ro"

FS_ACTIMEO=0 remount ""
cat "$MNT/f" >/dev/null
echo changed-on-server >"$SHARE_DIR/f"
[ "$(cat "$MNT/f")" = changed-on-server ] || fail "actimeo=0: a server-side change is not visible at once"
touch "$SHARE_DIR/new"
[ -e "$MNT/new" ] || fail "actimeo=0: a server-side create is not visible at once"
fs_log "ok   actimeo=0"

remount cache=none
head -c 3000000 /dev/urandom >"$FS_TMP/x"
cp "$FS_TMP/x" "$MNT/x"
cmp "$FS_TMP/x" "$MNT/x" || fail "cache=none: content"
cmp "$FS_TMP/x" "$SHARE_DIR/x" || fail "cache=none: server content"
fs_log "ok   cache=none"

# max_read= reaches the kernel at mount time and libfuse's init must
# ask for the same figure, or the FUSE loop ends at once.
remount max_read=65536
cmp "$FS_TMP/x" "$MNT/x" || fail "max_read: content"
fs_log "ok   max_read"

remount nobrl
python3 - "$MNT/f" <<'PY' || fail "nobrl: local locks"
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
pid = os.fork()
if pid == 0:
    fd2 = os.open(sys.argv[1], os.O_RDWR)
    try:
        fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os._exit(1)
    except OSError:
        os._exit(0)
_, ws = os.waitpid(pid, 0)
assert ws == 0, "a local lock did not conflict"
PY
fs_log "ok   nobrl"

remount uid=4242,gid=4343,forceuid,forcegid
[ "$(stat -c '%u %g' "$MNT/f")" = "4242 4343" ] || fail "forceuid/forcegid: $(stat -c '%u %g' "$MNT/f")"
remount uid=4242,gid=4343
[ "$(stat -c '%u' "$MNT/f")" = "$(stat -c '%u' "$SHARE_DIR/f")" ] ||
    fail "without forceuid the server's owner shows: $(stat -c '%u' "$MNT/f")"
fs_log "ok   uid/gid with and without forceuid/forcegid"

# //server/share/sub/dir mounts that directory.
mkdir -p "$SHARE_DIR/sub/dir"
echo inner >"$SHARE_DIR/sub/dir/file"
fs_unmount
SHARE_NAME_SAVED=$SHARE_NAME
SHARE_NAME="$SHARE_NAME/sub/dir"
fs_mount
SHARE_NAME=$SHARE_NAME_SAVED
[ "$(cat "$MNT/file")" = inner ] || fail "prefix: $(ls "$MNT")"
mkdir "$MNT/made"
[ -d "$SHARE_DIR/sub/dir/made" ] || fail "prefix: mkdir landed elsewhere"
fs_log "ok   a path below the share"
fs_log "PASS"
