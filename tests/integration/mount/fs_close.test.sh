#!/bin/bash
# What close(2) promises while the writes of a small file we create are
# held for its close (src/ops/op_wb.c) and go out as one WRITE_ANDX +
# CLOSE, and while the release of a file goes out in the background:
# - a file written and closed through the mount is complete on the
#   server, with the mtime set before the close, and another client
#   (smbclient) reads it at once after close() returns;
# - a listing or a stat while the file is open shows the data (it goes
#   out first), and a second descriptor (dup) keeps working after the
#   first one's close (the server handle is opened again); O_SYNC writes
#   are on the server when write() returns;
# - a larger file (its writes not held, its CLOSE sent in the background
#   after close() returned) is complete for smbclient at once, and can be
#   renamed, read back and unlinked at once (ordered after that CLOSE);
# - a write that fails at the close (a full disk) is what close() returns,
#   and is logged; nothing close() reported as written is lost.
# Signed (UNIX extensions) and nosign (NT_CREATE_ANDX) each in a process.
if [ $# -eq 0 ]; then
    for p in signed nosign; do
        bash "${BASH_SOURCE[0]}" "$p" || exit 1
    done
    exit 0
fi
PROFILE=$1
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

# The share on a small tmpfs, so that it can be filled.
fs_setup_on_tmpfs "$PROFILE" 2m
mkdir "$MNT/d"

python3 - "$MNT/d" "$SHARE_DIR/d" <<'PY' || fail "close semantics"
import os, sys
mnt, srv = sys.argv[1], sys.argv[2]
for i in range(50):
    data = os.urandom(100 + 97 * i)
    p = f"{mnt}/f{i}"
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    assert os.write(fd, data) == len(data)
    os.utime(fd, ns=(1_500_000_000_000_000_000 + i * 10**9,) * 2)
    os.close(fd)
    with open(f"{srv}/f{i}", "rb") as f:
        assert f.read() == data, f"f{i} incomplete on the server after close()"
    assert os.stat(f"{srv}/f{i}").st_mtime_ns == 1_500_000_000_000_000_000 + i * 10**9, f"f{i} mtime"
print("  ok 50 files complete with their mtime on the server at close()", file=sys.stderr)

# open, written, not closed: a listing and a stat see the data, which the
# server has by then
data = os.urandom(5000)
fd = os.open(f"{mnt}/open", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, data)
assert "open" in os.listdir(mnt)
assert os.path.getsize(f"{srv}/open") == 5000, "a listing did not see the kept write"
os.write(fd, data)
assert os.stat(f"{mnt}/open").st_size == 10000
os.close(fd)
assert open(f"{srv}/open", "rb").read() == data + data
print("  ok a listing and a stat while open see the data", file=sys.stderr)

# O_SYNC: the data is on the server when write() returns
fd = os.open(f"{mnt}/sync", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_SYNC, 0o600)
os.write(fd, b"durable")
assert open(f"{srv}/sync", "rb").read() == b"durable", "O_SYNC write kept"
os.close(fd)
print("  ok O_SYNC writes are not kept", file=sys.stderr)

# two descriptors of one open file: the first close sends the CLOSE, the
# second goes on
fd = os.open(f"{mnt}/dup", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
fd2 = os.dup(fd)
os.write(fd, b"one")
os.close(fd)
assert open(f"{srv}/dup", "rb").read() == b"one"
os.write(fd2, b"two")
os.lseek(fd2, 0, os.SEEK_SET)
assert os.read(fd2, 10) == b"onetwo"
os.close(fd2)
assert open(f"{srv}/dup", "rb").read() == b"onetwo"
print("  ok a dup'ed descriptor works after the first close", file=sys.stderr)
PY

# another client reads each file at once after our close
SMBC=(smbclient -m NT1 --option='client min protocol=NT1' --option='client max protocol=NT1'
    -p "$PORT" -U "$SMBD_USER%$SMBD_PASS" "//127.0.0.1/$SHARE_NAME")
for i in 1 2 3; do
    head -c $((3000 * i)) /dev/urandom >"$FS_TMP/src$i"
    python3 -c "
import os, sys
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
os.write(fd, open(sys.argv[1], 'rb').read())
os.close(fd)" "$FS_TMP/src$i" "$MNT/d/c$i"
    "${SMBC[@]}" -c "get d/c$i $FS_TMP/got$i" >/dev/null 2>&1 || fail "smbclient get d/c$i"
    cmp "$FS_TMP/src$i" "$FS_TMP/got$i" || fail "smbclient read c$i incomplete right after close()"
done
fs_log "ok   smbclient reads each file complete right after close()"

# larger files: written as they come, released in the background
for i in 1 2 3; do
    head -c $((150000 * i)) /dev/urandom >"$FS_TMP/big$i"
    cp "$FS_TMP/big$i" "$MNT/d/b$i" || fail "cp b$i"
    "${SMBC[@]}" -c "get d/b$i $FS_TMP/gotb$i" >/dev/null 2>&1 || fail "smbclient get d/b$i"
    cmp "$FS_TMP/big$i" "$FS_TMP/gotb$i" || fail "smbclient read b$i incomplete right after close()"
    mv "$MNT/d/b$i" "$MNT/d/m$i" || fail "rename b$i right after close()"
    cmp "$FS_TMP/big$i" "$MNT/d/m$i" || fail "m$i read back"
    rm "$MNT/d/m$i" || fail "unlink m$i"
    [ ! -e "$SHARE_DIR/d/m$i" ] || fail "m$i still on the server"
done
fs_log "ok   a file released in the background: complete for smbclient at once; rename, read, unlink after it"

# a full disk: the write kept for the close fails there, and close() says so
head -c $((2048 * 1024 - 8192)) /dev/zero >"$SHARE_DIR/filler" 2>/dev/null || true
python3 - "$MNT/d" <<'PY' || fail "a failed write at close() was not reported"
import errno, os, sys
mnt = sys.argv[1]
fd = os.open(f"{mnt}/full", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
os.write(fd, os.urandom(12000))
try:
    os.close(fd)
except OSError as e:
    assert e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO), e
else:
    raise AssertionError("close() succeeded on a full disk")
print("  ok close() reports the failed write", file=sys.stderr)
PY
grep -q 'full failed' "$FS_TMP/smbfuse.log" || fail "the failed write is not logged"
rm -f "$SHARE_DIR/filler" "$SHARE_DIR/d/full"
for i in $(seq 0 49); do [ -s "$SHARE_DIR/d/f$i" ] || fail "f$i lost"; done
echo after >"$MNT/d/after"
[ "$(cat "$SHARE_DIR/d/after")" = after ] || fail "the mount does not go on after the failure"
fs_log "ok   a failed write at close() is logged and reported; nothing else lost"
fs_log "PASS ($PROFILE)"
