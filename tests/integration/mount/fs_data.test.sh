#!/bin/bash
# Data integrity through the mount (signed profile: every byte also goes
# through the MAC): 256 MiB written and read back with a checksum (its
# replies' data received straight into FUSE's buffers), random writes
# verified, 8 parallel writers.
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

fs_setup signed

# 256 MiB sequential, checksummed on both sides and on the server's disk.
head -c $((256 << 20)) /dev/urandom >"$FS_TMP/big"
want=$(sha256sum <"$FS_TMP/big" | cut -d' ' -f1)
t0=$(date +%s.%N)
dd if="$FS_TMP/big" of="$MNT/big" bs=1M status=none conv=fsync
t1=$(date +%s.%N)
# The read below must come from the server: this file's pages leave the
# page cache (if any stayed). Only this file's: a drop_caches would empty
# every cache of the machine, under the other tests running beside this
# one too (their request counts would grow).
python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
os.close(fd)' "$MNT/big"
got=$(sha256sum <"$MNT/big" | cut -d' ' -f1)
t2=$(date +%s.%N)
[ "$got" = "$want" ] || fail "256 MiB read back differs"
# The read's data came from the socket straight into FUSE's buffers
# (mux_reader.c, read_split): counted in the status.
direct=$(python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.smbfuse.status").decode())' \
    "$MNT" | sed -n 's/^direct_reads: //p')
[ "${direct:-0}" -ge 1000 ] || fail "256 MiB were read through receive buffers (direct_reads ${direct:-?})"
[ "$(sha256sum <"$SHARE_DIR/big" | cut -d' ' -f1)" = "$want" ] || fail "256 MiB on the server differs"
[ "$(stat -c %s "$MNT/big")" -eq $((256 << 20)) ] || fail "size"
fs_log "ok   256 MiB write+read back ($(python3 -c "print(f'write {256/($t1-$t0):.0f} MB/s, read {256/($t2-$t1):.0f} MB/s')"))"
rm -f "$MNT/big" "$FS_TMP/big"

# Random writes of random sizes at random offsets, verified against a
# model of the file kept in memory, through several descriptors.
python3 - "$MNT/random" <<'PY' || fail "random writes"
import os, random, sys
path = sys.argv[1]
rnd = random.Random(1234)
size = 24 << 20
model = bytearray(size)
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.ftruncate(fd, size)
fd2 = os.open(path, os.O_RDWR)
for i in range(1500):
    n = rnd.choice([1, 7, 512, 4095, 4096, 65537, 200000, 1 << 20])
    off = rnd.randrange(0, size - n)
    data = rnd.randbytes(n)
    os.pwrite(fd if i % 2 else fd2, data, off)
    model[off:off + n] = data
    if i % 100 == 0:
        off = rnd.randrange(0, size - 300000)
        got = os.pread(fd2 if i % 2 else fd, 300000, off)
        assert got == model[off:off + 300000], f"mismatch after {i} writes at {off}"
os.close(fd2)
os.close(fd)
with open(path, "rb") as f:
    assert f.read() == model, "final content differs"
PY
if command -v fio >/dev/null; then
    fio --name=verify --directory="$MNT" --filename=fio.dat --size=32M --rw=randwrite \
        --bs=4k-256k --bsrange=4k-256k --ioengine=psync --verify=crc32c --verify_fatal=1 \
        --do_verify=1 --output="$FS_TMP/fio.out" >/dev/null 2>&1 ||
        { cat "$FS_TMP/fio.out" >&2; fail "fio verify"; }
    rm -f "$MNT/fio.dat"
fi
fs_log "ok   random writes verified"

# 8 parallel writers to separate files.
for i in 1 2 3 4 5 6 7 8; do
    head -c $((8 << 20)) /dev/urandom >"$FS_TMP/src$i"
done
pids=()
for i in 1 2 3 4 5 6 7 8; do
    cp "$FS_TMP/src$i" "$MNT/par$i" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a parallel writer failed"; done
for i in 1 2 3 4 5 6 7 8; do
    cmp "$FS_TMP/src$i" "$MNT/par$i" || fail "parallel writer $i: content differs"
    cmp "$FS_TMP/src$i" "$SHARE_DIR/par$i" || fail "parallel writer $i: server content differs"
done
fs_log "ok   8 parallel writers"
fs_log "PASS"
