#!/bin/bash
# The server disconnects the tree under open files (smbcontrol
# close-share; requests then get NETWORK_NAME_DELETED): the files open on
# the mount are reopened as after a reconnect and go on working, never
# EBADF for ever.
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

fs_setup signed
[ -n "${SMBD_CONF:-}" ] || fail "no smb.conf of the test server (the harness exports SMBD_CONF)"
head -c $((256 << 10)) /dev/urandom >"$SHARE_DIR/kept"

python3 - "$MNT/kept" "$SHARE_DIR/kept" "$SMBD_CONF" <<'PY'
import os, subprocess, sys, time
path, server_copy, conf = sys.argv[1:4]
want = open(server_copy, "rb").read()
fd = os.open(path, os.O_RDWR)
assert os.pread(fd, 4096, 0) == want[:4096]
subprocess.run(["smbcontrol", "-s", conf, "smbd", "close-share", "share"], check=True)
# Reads of pages not cached yet, and a write, through the same descriptor.
deadline = time.time() + 20
while True:
    try:
        got = os.pread(fd, 65536, 128 << 10)
        break
    except OSError as e:
        if time.time() > deadline:
            raise SystemExit(f"read after close-share keeps failing: {e}")
        time.sleep(0.2)
assert got == want[128 << 10:(128 << 10) + 65536], "wrong data after close-share"
os.pwrite(fd, b"after", 0)
os.fsync(fd)
os.close(fd)
assert open(server_copy, "rb").read(5) == b"after", "write after close-share did not arrive"
PY
grep -q "disconnected by the server" "$FS_TMP/smbfuse.log" 2>/dev/null ||
    fs_log "(the client log is not kept in background mode)"
fs_log "ok   files open when the server closed the share are reopened and work"
fs_log "PASS"
