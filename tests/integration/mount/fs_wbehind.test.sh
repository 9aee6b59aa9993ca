#!/bin/bash
# Write-behind of large writes (src/ops/op_wbehind.c): write(2) returns
# once the data is on its way, so what the program is promised must still
# hold:
# - a WRITE_ANDX the server fails midway (its disk fills up under a
#   stream of 1 MiB writes) reaches the program: a later write(), the
#   fsync() or the close() fails, never all of them succeed; dd with
#   conv=fsync exits non-zero; the failure is logged;
# - order: a write after an fsync, and writes onto bytes still on their
#   way, land after the earlier ones (the server may run a connection's
#   requests in parallel): after hundreds of overlapping pwrite()s the file
#   is what a local model says, read back through the same descriptor,
#   through a second one and on the server; a reader with the file cached
#   sees the writes of a write-only descriptor (direct I/O) at once;
# - the data is complete for another client (smbclient) once close()
#   returns.
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
fs_setup_on_tmpfs "$PROFILE" 24m

# Order: a model of every write, checked through the mount and on the server.
python3 - "$MNT" "$SHARE_DIR" <<'PY' || fail "write order"
import os, random, sys
mnt, srv = sys.argv[1], sys.argv[2]
rnd = random.Random(15)
size = 3 << 20
model = bytearray(size)
fd = os.open(f"{mnt}/order", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, bytes(size))
# a write after an fsync lands after the one before it
a, b = os.urandom(1 << 20), os.urandom(1 << 20)
os.pwrite(fd, a, 0)
os.fsync(fd)
os.pwrite(fd, b, 0)
model[0 : 1 << 20] = b
# overlapping writes, most of them onto bytes still on their way
for i in range(300):
    n = rnd.choice([1, 4096, 65536, 200000, 1 << 20])
    off = rnd.randrange(0, size - n)
    if rnd.random() < 0.5:
        off = rnd.randrange(0, 1 << 20)
    data = os.urandom(n)
    assert os.pwrite(fd, data, off) == n
    model[off : off + n] = data
    if i % 50 == 49:
        assert os.pread(fd, size, 0) == model, f"read back through the writer after {i + 1}"
        fd2 = os.open(f"{mnt}/order", os.O_RDONLY)
        os.posix_fadvise(fd2, 0, 0, os.POSIX_FADV_DONTNEED)
        assert os.pread(fd2, size, 0) == model, f"read through another descriptor after {i + 1}"
        os.close(fd2)
        assert os.stat(f"{mnt}/order").st_size == size
os.close(fd)
with open(f"{srv}/order", "rb") as f:
    assert f.read() == model, "the server's file is not the model"
print("  ok 300 overlapping writes land in order (fsync, same and other descriptors)", file=sys.stderr)

# A write-only descriptor writes around the page cache (direct I/O): a
# reader that has the file cached sees its writes at once.
p = f"{mnt}/coherent"
with open(p, "wb") as f:
    f.write(b"A" * 300000)
r = os.open(p, os.O_RDONLY)
assert os.pread(r, 300000, 0) == b"A" * 300000
w = os.open(p, os.O_WRONLY)
os.pwrite(w, b"B" * 150000, 10000)
want = b"A" * 10000 + b"B" * 150000 + b"A" * 140000
assert os.pread(r, 300000, 0) == want, "a cached reader missed a write-only descriptor's write"
os.close(w)
w = os.open(p, os.O_WRONLY | os.O_APPEND)
os.write(w, b"C" * 5000)
os.close(w)
assert os.pread(r, 400000, 0) == want + b"C" * 5000, "a cached reader missed an append"
os.close(r)
print("  ok a cached reader sees a write-only descriptor's writes at once", file=sys.stderr)
PY
fs_log "ok   order of writes on their way"

# Another client sees all of a big file once close() returns.
head -c $((6 << 20)) /dev/urandom >"$FS_TMP/big"
dd if="$FS_TMP/big" of="$MNT/big" bs=1M status=none || fail "dd"
SMBC=(smbclient -m NT1 --option='client min protocol=NT1' --option='client max protocol=NT1'
    -p "$PORT" -U "$SMBD_USER%$SMBD_PASS" "//127.0.0.1/$SHARE_NAME")
"${SMBC[@]}" -c "get big $FS_TMP/got" >/dev/null 2>&1 || fail "smbclient get big"
cmp "$FS_TMP/big" "$FS_TMP/got" || fail "smbclient read big incomplete right after close()"
fs_log "ok   smbclient reads 6 MiB complete right after close()"
rm -f "$SHARE_DIR/big" "$SHARE_DIR/order"

# A full disk midway through a stream of writes: the program hears of it.
fill() { head -c $(((24 << 20) - (2 << 20))) /dev/zero >"$SHARE_DIR/filler" 2>/dev/null || true; }
fill
# full.py MNT behind|held: writes onto a full disk; one of the writes,
# the fsync or the close must fail, with a "no room" errno.
cat >"$FS_TMP/full.py" <<'PY'
import errno, os, sys
mnt, kind = sys.argv[1:]
ok = (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG)

def attempt(name, flags, pieces, fsync, what):
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | flags, 0o644)
    failed = None
    try:
        for piece in pieces:
            # as a program does: a short count, then the rest (the kernel
            # returns one when a write(2) it cut in two fails in its
            # second part, and drops that part's error)
            done = 0
            while done < len(piece):
                done += os.write(fd, piece[done:])
        if fsync:
            os.fsync(fd)
    except OSError as e:
        failed = e
    try:
        os.close(fd)
    except OSError as e:
        failed = failed or e
    assert failed is not None, f"{what}: every write, fsync and close succeeded"
    assert failed.errno in ok, failed
    os.unlink(name)

if kind == "behind":
    chunk = os.urandom(1 << 20)
    for fsync in (False, True):
        attempt(f"{mnt}/full{int(fsync)}", os.O_TRUNC, [chunk] * 8, fsync,
                f"8 MiB onto 2 MiB of room{', fsync' if fsync else ''}")
    print("  ok write()/fsync()/close() report a failed write on its way", file=sys.stderr)
else:
    # a file we created, in tar's 10 KiB writes: held, then written
    for size in (40000, 100000):
        data = os.urandom(size)
        attempt(f"{mnt}/held{size}", os.O_EXCL, [data[o:o + 10240] for o in range(0, size, 10240)],
                False, f"{size} bytes held onto a full disk")
    print("  ok write()/close() report a held write that failed", file=sys.stderr)
PY
python3 "$FS_TMP/full.py" "$MNT" behind || fail "a failed write on its way was not reported"
grep -q 'write-behind of .* failed' "$FS_TMP/smbfuse.log" || fail "the failed write is not logged"
if dd if=/dev/zero of="$MNT/fulldd" bs=1M count=8 conv=fsync status=none 2>/dev/null; then
    fail "dd conv=fsync of 8 MiB onto 2 MiB of room succeeded"
fi
# Held writes (op_wb.c: a file we created keeps up to 64 KiB of them for
# its close): with no room left, the write of what the WRITE+CLOSE chain
# cannot carry, at close(2) or when more comes than is held, fails, and
# a write() or the close() says so.
head -c $((8 << 20)) /dev/zero >"$SHARE_DIR/filler2" 2>/dev/null || true
python3 "$FS_TMP/full.py" "$MNT" held || fail "a held write that failed was not reported"
grep -q 'held write of .* failed' "$FS_TMP/smbfuse.log" || fail "the failed held write is not logged"
rm -f "$SHARE_DIR/filler" "$SHARE_DIR/filler2" "$SHARE_DIR/fulldd"
echo after >"$MNT/after"
[ "$(cat "$SHARE_DIR/after")" = after ] || fail "the mount does not go on after the failure"
fs_log "ok   a write failed on its way is reported, logged, and the mount goes on"
fs_log "PASS ($PROFILE)"
