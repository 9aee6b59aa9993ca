#!/bin/bash
# Writes that FUSE hands over in a pipe (fuse/fs_write.c, smb1_write_pipe):
# on an unsigned connection a direct-I/O write's data goes from the pipe to
# the socket by splice(2), behind its WRITE_ANDX header, and a tee(2) copy
# of its pages is kept until the server answered (src/ops/op_wbehind.c);
# everywhere else the data is read out of the pipe into the requests.
# Checked against smbclient's view of the files, signed (nothing spliced,
# UNIX extensions) and plain (unsigned, UNIX extensions: spliced):
# - dd bs=1M of 12 MiB through a write-only descriptor (write-behind);
# - writes of odd sizes at odd offsets, onto bytes still on their way,
#   through a write-only descriptor, and big writes through a read-write
#   one (page cache: copied, never spliced);
# - a small write to a new file (held for its close);
# - the connection killed under a stream of spliced writes: the pieces
#   lost on the way go again from the kept copy, and the file is whole;
# - whole 1 MiB writes (plain, where they are read, not spliced) sent from
#   the buffer FUSE read them into (fuse/fs_loop.c: lent_writes), four dd
#   at once; never on the signed connection;
# - an unmount right after writes: a clean exit (ASan: no leak).
# The counter smb1_stats.spliced_writes (the status xattr) tells which
# path was taken, fuse_writes how many writes the kernel sent. Writes are
# spliced only where libfuse's pipe holds a whole write and a page: where
# a pipe holds 1 MiB at most (no CAP_SYS_RESOURCE), the plain profile
# mounts with max_write=1044480 for the checks above, and at the end
# without it: whole 1 MiB writes, read, not spliced (fuse/fs_write.c).
if [ $# -eq 0 ]; then
    for p in plain signed; do
        bash "${BASH_SOURCE[0]}" "$p" || exit 1
    done
    exit 0
fi
PROFILE=$1
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

# Whether a pipe of 1 MiB and a page can be made here (CAP_SYS_RESOURCE,
# or a pipe-max-size above 1 MiB).
big_pipes() {
    python3 -c 'import fcntl, os
r, w = os.pipe()
fcntl.fcntl(r, 1031, (1 << 20) + 4096)' 2>/dev/null
}
FS_FOREGROUND=1
MOUNT_OPTS=
if [ "$PROFILE" = plain ] && ! big_pipes; then
    MOUNT_OPTS=max_write=1044480
fi
fs_setup "$PROFILE" "$MOUNT_OPTS"
SMBC=(smbclient -m NT1 --option='client min protocol=NT1' --option='client max protocol=NT1'
    -p "$PORT" -U "$SMBD_USER%$SMBD_PASS" "//127.0.0.1/$SHARE_NAME")
status_of() {
    python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.smbfuse.status").decode())' \
        "$MNT" | sed -n "s/^$1: //p"
}
spliced() { status_of spliced_writes; }
lent() { status_of lent_writes; }
# smbclient's copy of $1 must be $2.
same_for_smbclient() {
    rm -f "$FS_TMP/got"
    "${SMBC[@]}" -c "get $1 $FS_TMP/got" >/dev/null 2>&1 || fail "smbclient get $1"
    cmp -s "$2" "$FS_TMP/got" || fail "$1: smbclient reads other data than was written ($PROFILE)"
}

s0=$(spliced)
w0=$(status_of fuse_writes)
l0=$(lent)
head -c $((12 << 20)) /dev/urandom >"$FS_TMP/big"
dd if="$FS_TMP/big" of="$MNT/big" bs=1M status=none || fail "dd"
same_for_smbclient big "$FS_TMP/big"
s1=$(spliced)
w1=$(status_of fuse_writes)
# A signed connection's pieces keep their bytes in one place for the MAC:
# never sent from the FUSE buffer (fuse/fs_loop.c, src/ops/op_wblent.c).
if [ "$PROFILE" = signed ] && [ "$(lent)" != "$l0" ]; then
    fail "a signed connection sent from the FUSE buffer ($l0 -> $(lent))"
fi
# Each MiB of dd is one FUSE write, or two (1020 + 4 KiB) at max_write=1044480.
want_w=12
[ -n "$MOUNT_OPTS" ] && want_w=24
[ "$((w1 - w0))" = "$want_w" ] || fail "12 MiB of dd came as $((w1 - w0)) FUSE writes, not $want_w"
if [ "$PROFILE" = signed ]; then
    [ "$s1" = "$s0" ] || fail "a signed connection spliced ($s0 -> $s1)"
else
    [ "$s1" -ge $((s0 + 60)) ] || fail "12 MiB of direct-I/O writes were not spliced ($s0 -> $s1)"
fi
fs_log "ok   dd of 12 MiB is whole for smbclient ($want_w FUSE writes; spliced writes $s0 -> $s1)"

# The readahead window is whole reads (fuse/fs_readahead.c): reads are as
# large as max_write, which is 1020 KiB where writes are spliced and no
# pipe of 1 MiB + 4 KiB can be made; 4096 KiB was four reads and a 16 KiB
# one there. Where reads are spliced (unsigned) and libfuse's pipe cannot
# hold a read of 1 MiB and its header (1 MiB + 12 KiB + 16 bytes), reads
# are 1008 KiB (max_read, fuse/main.c), and the window 4032 KiB. The
# daemon sets it once INIT is done (root only).
ra_file=/sys/class/bdi/$(mountpoint -d "$MNT")/read_ahead_kb
if [ -w "$ra_file" ]; then
    want=4096
    if [ "$PROFILE" = plain ] && ! python3 -c 'import fcntl, os
r, w = os.pipe()
fcntl.fcntl(r, 1031, (1 << 20) + 12 * 1024 + 16)' 2>/dev/null; then
        want=4032
    fi
    for _ in $(seq 50); do [ "$(cat "$ra_file")" = "$want" ] && break; sleep 0.1; done
    [ "$(cat "$ra_file")" = "$want" ] || fail "readahead $(cat "$ra_file") KiB, not $want ($PROFILE)"
    fs_log "ok   readahead $want KiB, whole reads"
fi

# Reads (fuse/fs_read.c, src/ops/op_rsplice.c): unsigned, a READ_ANDX
# reply's data goes from the socket into a pipe and from there into
# /dev/fuse, never through user space (smb1_stats.spliced_reads); signed,
# never. Byte for byte against the server's file: a cold sequential read,
# reads of odd sizes at odd offsets (the file's pages dropped first, so
# each goes to the server), O_DIRECT reads, and reads at and across the
# end of the file.
reads() {
    python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.smbfuse.status").decode())' \
        "$MNT" | sed -n 's/^spliced_reads: //p'
}
r0=$(reads)
python3 -c 'import sys
n = (6 << 20) + 12345
sys.stdout.buffer.write(bytes((i * 131 + (i >> 12) * 7) & 0xFF for i in range(n)))' >"$SHARE_DIR/pat"
[ "$(sha256sum <"$MNT/pat" | cut -d' ' -f1)" = "$(sha256sum <"$SHARE_DIR/pat" | cut -d' ' -f1)" ] ||
    fail "a cold read of 6 MiB differs from the server's file ($PROFILE)"
python3 - "$MNT/pat" "$SHARE_DIR/pat" <<'PY' || fail "odd reads ($PROFILE)"
import mmap, os, random, sys
data = open(sys.argv[2], "rb").read()
size = len(data)
rnd = random.Random(7)
fd = os.open(sys.argv[1], os.O_RDONLY)
dfd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECT)
for i in range(60):
    n = rnd.choice([1, 4095, 16384, 65536, 65537, 131072, 200000, 1032192, 1044480, 1 << 20, 3 << 20])
    off = rnd.choice([rnd.randrange(0, size), size - rnd.randrange(0, 70000), size, size + 1])
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    got = os.pread(fd, n, off)
    assert got == data[off : off + n], f"read {i}: {n} bytes at {off}: {len(got)} bytes, differing"
    # O_DIRECT: page-aligned offset, size and buffer.
    n = (n + 4095) & ~4095
    off &= ~4095
    buf = mmap.mmap(-1, n)
    k = os.preadv(dfd, [buf], off)
    assert buf[:k] == data[off : off + n], f"direct read {i}: {n} bytes at {off}"
os.close(dfd)
os.close(fd)
PY
r1=$(reads)
if [ "$PROFILE" = signed ]; then
    [ "$r1" = "$r0" ] || fail "a signed connection spliced reads ($r0 -> $r1)"
else
    [ "$r1" -ge $((r0 + 20)) ] || fail "the reads were not spliced ($r0 -> $r1)"
fi
fs_log "ok   cold, odd, direct and end-of-file reads are byte-exact (spliced reads $r0 -> $r1)"

# Odd sizes and offsets, many onto bytes still on their way; then big
# writes through a descriptor that reads too (its pages are the page
# cache's: never spliced); then a small held write to a new file.
python3 - "$MNT" "$FS_TMP" <<'PY' || fail "odd writes"
import os, random, sys
mnt, tmp = sys.argv[1], sys.argv[2]
rnd = random.Random(15)
size = 4 << 20
model = bytearray(os.urandom(size))
fd = os.open(f"{mnt}/odd", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
assert os.write(fd, model) == size
for i in range(80):
    n = rnd.choice([1, 4095, 4097, 65536, 123457, 1000003, (1 << 20) - 4095, 1 << 20])
    off = rnd.randrange(0, size - n)
    if rnd.random() < 0.5:
        off = rnd.randrange(0, 1 << 20)
    data = os.urandom(n)
    assert os.pwrite(fd, data, off) == n
    model[off : off + n] = data
os.close(fd)
open(f"{tmp}/odd.model", "wb").write(model)
rw = bytearray(os.urandom(3 << 20))
fd = os.open(f"{mnt}/rw", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
for off in range(0, len(rw), 1 << 20):
    assert os.pwrite(fd, rw[off : off + (1 << 20)], off) == 1 << 20
data = os.urandom(777777)
os.pwrite(fd, data, 12345)
rw[12345 : 12345 + len(data)] = data
assert os.pread(fd, len(rw), 0) == rw, "read back through the read-write descriptor"
os.close(fd)
open(f"{tmp}/rw.model", "wb").write(rw)
small = os.urandom(10000)
with open(f"{mnt}/small", "wb") as f:
    f.write(small)
open(f"{tmp}/small.model", "wb").write(small)
PY
same_for_smbclient odd "$FS_TMP/odd.model"
same_for_smbclient rw "$FS_TMP/rw.model"
same_for_smbclient small "$FS_TMP/small.model"
fs_log "ok   odd, overlapping, read-write and held writes are whole for smbclient"

# Whole writes are sent from the buffer FUSE read them into, which the
# write-behind holds until the server answered while the FUSE workers
# read the next writes into other buffers (fuse/fs_loop.c): four dd at
# once, each of its own pattern, every byte where it was written.
lent_parallel() {
    local l0 l1 k p pids=()
    l0=$(lent)
    python3 - "$FS_TMP" <<'PY'
import sys
for k in range(4):
    with open(f"{sys.argv[1]}/pat{k}", "wb") as f:
        for mib in range(16):
            f.write(bytes([(k * 61 + mib * 7 + 1) & 0xFF]) * 4096 + bytes(range(256)) * 4080)
PY
    for k in 0 1 2 3; do
        dd if="$FS_TMP/pat$k" of="$MNT/pat$k" bs=1M status=none &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || fail "a parallel dd failed"; done
    for k in 0 1 2 3; do same_for_smbclient "pat$k" "$FS_TMP/pat$k"; done
    l1=$(lent)
    [ "$l1" -ge $((l0 + 400)) ] || fail "64 MiB of whole writes were not sent from FUSE's buffers ($l0 -> $l1)"
    fs_log "ok   four dd at once, sent from the FUSE buffers, are whole for smbclient (lent writes $l0 -> $l1)"
}

# The connection dies under a stream of writes (its smbd is stopped, then
# killed once pieces wait for their replies): the
# pieces lost on the way are written again, from their kept copy when
# they were spliced, and dd goes on after the reconnect.
smbd_child() {
    ss -tnpH state established "( sport = :$PORT )" | grep -o 'smbd",pid=[0-9]*' |
        head -n 1 | grep -o '[0-9]*$'
}
child=$(smbd_child)
[ -n "$child" ] || fail "no smbd serves the mount"
# A writer streams 1 MiB writes until the kill is done, then 8 MiB more.
python3 - "$MNT" "$FS_TMP" <<'PY' &
import os, sys, time
mnt, tmp = sys.argv[1], sys.argv[2]
fd = os.open(f"{mnt}/big2", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
model = open(f"{tmp}/big2", "wb")
n, after = 0, None
while after is None or n < after + 8:
    b = os.urandom(1 << 20)
    assert os.write(fd, b) == len(b)
    model.write(b)
    n += 1
    if n == 8:
        open(f"{tmp}/go", "w").close()
    if after is None and os.path.exists(f"{tmp}/killed"):
        after = n
    assert n < 4096, "the kill never came"
os.fsync(fd)
os.close(fd)
model.close()
PY
writer=$!
for i in $(seq 300); do [ -e "$FS_TMP/go" ] && break; sleep 0.02; done
[ -e "$FS_TMP/go" ] || fail "the writer did not start"
# Stopped first, so that pieces pile up unanswered: then they are lost.
kill -STOP "$child" || fail "smbd $child could not be stopped"
for i in $(seq 250); do
    python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.smbfuse.status").decode())' \
        "$MNT" | grep -qE '^in_flight: ([4-9]|[1-9][0-9])' && break
    sleep 0.02
done
kill -9 "$child" 2>/dev/null || fail "smbd $child could not be killed"
touch "$FS_TMP/killed"
wait "$writer" || fail "writes across the lost connection failed"
same_for_smbclient big2 "$FS_TMP/big2"
if [ "$PROFILE" != signed ]; then
    grep -q 'sent again from its kept copy' "$FS_TMP/smbfuse.log" ||
        fail "no spliced piece was sent again after the connection died"
fi
fs_log "ok   writes lost with the connection go again (kept copies: $(grep -c 'sent again from its kept copy' "$FS_TMP/smbfuse.log"))"

# Without max_write= where a pipe holds 1 MiB at most: each MiB of dd is
# one FUSE write, read out of /dev/fuse and copied, not two spliced ones.
if [ -n "$MOUNT_OPTS" ]; then
    fs_unmount
    fs_mount
    s0=$(spliced)
    w0=$(status_of fuse_writes)
    dd if="$FS_TMP/big" of="$MNT/big3" bs=1M status=none || fail "dd (whole writes)"
    same_for_smbclient big3 "$FS_TMP/big"
    s1=$(spliced)
    w1=$(status_of fuse_writes)
    [ "$((w1 - w0))" = 12 ] || fail "12 MiB of dd came as $((w1 - w0)) FUSE writes, not 12"
    [ "$s1" = "$s0" ] || fail "writes were spliced at max_write 1 MiB ($s0 -> $s1)"
    fs_log "ok   whole writes by default: 12 MiB of dd in 12 FUSE writes, none spliced"
    # Pieces lent from the FUSE buffer that the connection let down go
    # again from there: test_wbehind_fake, lent_pieces_go_again_after_a_reconnect.
    lent_parallel
fi
# The loop's end with buffers lent a moment ago (under ASan: a leak or a
# use after free would show here).
dd if="$FS_TMP/big" of="$MNT/big5" bs=1M status=none || fail "dd before the unmount"
fs_unmount
if grep -q Sanitizer "$FS_TMP/smbfuse.log"; then
    grep -A20 Sanitizer "$FS_TMP/smbfuse.log" >&2
    fail "sanitizer report"
fi
same_for_smbclient big5 "$FS_TMP/big"
fs_log "ok   unmounted right after writes: exited cleanly, data whole"
fs_log "PASS ($PROFILE)"
