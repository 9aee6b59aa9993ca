#!/bin/bash
# The mount survives a server restart: after smbd is killed and started
# again, the files that were open keep working (the core reconnects and
# reopens them), a copy in progress completes intact, and new operations
# succeed. Needs the infra harness (smbd_restart).
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

[ -f "$FS_SRC/tests/integration/harness/smbd.sh" ] || fail "harness/smbd.sh is missing"
fs_setup signed
[ "$FS_USING_HARNESS" = 1 ] || fail "the harness did not start the server"

head -c $((64 << 20)) /dev/urandom >"$FS_TMP/src"
cp "$FS_TMP/src" "$SHARE_DIR/in"
sync

python3 - "$MNT" "$FS_TMP/src" "$FS_TMP/go" "$FS_TMP/restarted" <<'PY' &
import os, sys, time
mnt, src, go, restarted = sys.argv[1:5]
data = open(src, "rb").read()
half = len(data) // 2
rfd = os.open(os.path.join(mnt, "in"), os.O_RDONLY)
wfd = os.open(os.path.join(mnt, "out"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
assert os.pread(rfd, half, 0) == data[:half]
os.write(wfd, data[:half])
open(go, "w").close()
while not os.path.exists(restarted):
    time.sleep(0.05)
# through the same descriptors, after the restart
assert os.pread(rfd, len(data) - half, half) == data[half:], "read after restart"
os.write(wfd, data[half:])
os.close(wfd)
os.close(rfd)
PY
py=$!
for i in $(seq 300); do [ -e "$FS_TMP/go" ] && break; sleep 0.1; done
[ -e "$FS_TMP/go" ] || fail "the copy did not start"
smbd_restart >/dev/null || fail "smbd_restart"
touch "$FS_TMP/restarted"
wait $py || fail "open files did not survive the restart"
cmp "$FS_TMP/src" "$MNT/out" || fail "copy across the restart differs (mount)"
cmp "$FS_TMP/src" "$SHARE_DIR/out" || fail "copy across the restart differs (server)"
fs_log "ok   open files and a copy survive a server restart"

echo after >"$MNT/new" && [ "$(cat "$MNT/new")" = after ] || fail "new file after the restart"
ls "$MNT" >/dev/null || fail "listing after the restart"
fs_log "PASS"
