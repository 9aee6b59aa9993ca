#!/bin/bash
# unlink keeps its POSIX meaning on both profiles: a file with the DOS
# read-only attribute goes, as on a local disk (and with cifs.ko: the
# attribute is cleared for the delete); so does a mode-0444 file. A
# directory gives EISDIR and a missing name ENOENT. A file a client holds
# open without share-delete gives EBUSY (mount.cifs too), and goes once
# closed. With the UNIX extensions (signed): a symlink goes, not what it
# points to; '*' is a plain character; a file another Linux client holds
# open goes at once (the POSIX unlink), while that client keeps reading.
#
# Without an argument runs both profiles, each in its own process.
if [ $# -eq 0 ]; then
    for p in signed nosign; do
        bash "${BASH_SOURCE[0]}" "$p" || exit 1
    done
    exit 0
fi
PROFILE=$1
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

fs_start_server "$PROFILE"

for i in 1 2 3 4 5; do echo "file $i" >"$SHARE_DIR/f$i"; done
mkdir "$SHARE_DIR/dir"
echo inside >"$SHARE_DIR/dir/keep"
if [ "$PROFILE" = signed ]; then
    echo target >"$SHARE_DIR/tgt"
    ln -s tgt "$SHARE_DIR/lnk"
    ln -s nowhere "$SHARE_DIR/dangling"
    ln -s dir "$SHARE_DIR/dirlink"
    echo ro >"$SHARE_DIR/ro"
    chmod 0444 "$SHARE_DIR/ro"
    echo star >"$SHARE_DIR/st*r"
    echo a >"$SHARE_DIR/a"
    echo ab >"$SHARE_DIR/ab"
fi
echo held >"$SHARE_DIR/held"
echo dosro >"$SHARE_DIR/dosro"
[ "$PROFILE" = signed ] && chmod 0444 "$SHARE_DIR/ro"
chmod a+rwx "$SHARE_DIR"
chmod -R a+rwX "$SHARE_DIR/dir" "$SHARE_DIR"/f* "$SHARE_DIR/held" "$SHARE_DIR/dosro"
smbclient -m NT1 --option='client min protocol=NT1' --option='client max protocol=NT1' \
    -p "$PORT" -U "$SMBD_USER%$SMBD_PASS" "//127.0.0.1/$SHARE_NAME" -c "setmode dosro +r" >/dev/null 2>&1 ||
    fail "cannot set the DOS read-only attribute"
fs_mount

rm "$MNT"/f1 "$MNT"/f2 "$MNT"/f3 "$MNT"/f4 "$MNT"/f5 || fail "rm of five files"
for i in 1 2 3 4 5; do [ -e "$SHARE_DIR/f$i" ] && fail "f$i is still on the server"; done
fs_log "ok   five files"

if [ "$PROFILE" = signed ]; then
rm "$MNT/lnk" "$MNT/dangling" "$MNT/dirlink" || fail "rm of symlinks"
[ "$(cat "$SHARE_DIR/tgt")" = target ] || fail "the symlink's target went too"
[ -e "$SHARE_DIR/dir/keep" ] || fail "the directory symlink's target lost its contents"
for n in lnk dangling dirlink; do [ -L "$SHARE_DIR/$n" ] && fail "symlink $n is still there"; done
fs_log "ok   symlinks go, their targets stay"

rm -f "$MNT/ro" || fail "rm -f of a read-only file"
[ -e "$SHARE_DIR/ro" ] && fail "the read-only file is still there"
rm "$MNT/st*r" "$MNT/a" || fail "rm of st*r and a"
[ -e "$SHARE_DIR/ab" ] || fail "a wildcard took ab with a"
[ -e "$SHARE_DIR/st*r" ] && fail "st*r is still there"
fi
out=$(rm -f "$MNT/dosro" 2>&1) || fail "rm of a file with the DOS read-only attribute: $out"
[ -e "$SHARE_DIR/dosro" ] && fail "the DOS read-only file is still there"
if [ "$PROFILE" = nosign ]; then
    # Without UNIX extensions chmod sets the attribute: the same way back.
    echo again >"$MNT/ro2"
    chmod 0444 "$MNT/ro2"
    mode=$(stat -c %a "$MNT/ro2")
    [ $((0$mode & 0222)) -eq 0 ] || fail "chmod 0444 left write bits: $mode"
    rm -f "$MNT/ro2" || fail "rm -f of a file made read-only through the mount"
    [ -e "$SHARE_DIR/ro2" ] && fail "ro2 is still there"
fi
fs_log "ok   read-only files; '*' is a plain character"

# A file unlinked right after its close (cat f; rm f): libfuse may still
# count it open, its release under way (it takes no lock on the name for
# one), and hide it as .fuse_hidden; nothing of it may be left on the
# server. A program's own rename to such a name (rsync copying libfuse's
# leftovers), of a closed or an open file, is a rename like any other.
python3 - "$MNT" "$SHARE_DIR" <<'PY' || fail "unlink right after close; renames to .fuse_hidden names"
import os, sys, time
mnt, srv = sys.argv[1], sys.argv[2]
os.chdir(mnt)
for i in range(40):
    with open(f"race{i}", "wb") as f:
        f.write(b"x" * 100)
    with open(f"race{i}", "rb") as f:
        assert f.read() == b"x" * 100
    os.unlink(f"race{i}")
def left():
    return [n for n in os.listdir(srv) if n.startswith((".fuse_hidden", ".smbfuse-deleted", "race"))]
for _ in range(50):  # the kernel sends RELEASE after close(2) returns
    if not left():
        break
    time.sleep(0.1)
assert not left(), left()
closed, opened = ".fuse_hidden00000abc00000001", ".fuse_hidden00000abc00000002"
with open("keep1", "wb") as f:
    f.write(b"one")
os.rename("keep1", closed)
with open("keep2", "wb") as f:
    f.write(b"two")
fd = os.open("keep2", os.O_RDONLY)
os.rename("keep2", opened)
assert os.pread(fd, 3, 0) == b"two"
os.close(fd)
time.sleep(0.3)
for n, data in ((closed, b"one"), (opened, b"two")):
    assert open(n, "rb").read() == data, n
    assert open(os.path.join(srv, n), "rb").read() == data, n
    os.unlink(n)
PY
fs_log "ok   unlink right after close leaves nothing; renames to .fuse_hidden names are renames"

expect_fail "Is a directory" python3 -c "import os, sys; os.unlink(sys.argv[1])" "$MNT/dir"
expect_fail "No such file" python3 -c "import os, sys; os.unlink(sys.argv[1])" "$MNT/none"
fs_log "ok   EISDIR and ENOENT"

if [ "$PROFILE" = signed ]; then
    # Another Linux client holds the file open (with share-delete): the
    # name goes at once, the holder keeps reading, and a new file of the
    # same name can be made.
    echo old >"$SHARE_DIR/shared"
    chmod a+rw "$SHARE_DIR/shared"
    M2=$FS_TMP/m2
    mkdir -p "$M2"
    PASSWD="$SMBD_PASS" "$SMBFUSE" "//127.0.0.1/$SHARE_NAME" "$M2" -f \
        -o "username=$SMBD_USER,port=$PORT" 2>>"$FS_TMP/m2.log" &
    FS_EXTRA_PIDS+=($!)
    for _ in $(seq 100); do mountpoint -q "$M2" && break; sleep 0.1; done
    fail2() { fusermount3 -u "$M2"; fail "$@"; }
    mountpoint -q "$M2" || fail2 "second mount"
    exec 8<"$M2/shared"
    rm "$MNT/shared" || fail2 "rm of a file another Linux client holds open"
    [ -e "$SHARE_DIR/shared" ] && fail2 "the name stayed on the server"
    echo new >"$MNT/shared" || fail2 "a new file with the unlinked name"
    [ "$(cat <&8)" = old ] || fail2 "the holder lost the data"
    exec 8<&-
    [ "$(cat "$SHARE_DIR/shared")" = new ] || fail2 "the new file's content"
    fusermount3 -u "$M2"
    fs_log "ok   a file another Linux client holds open goes at once"
fi

# smbclient's open takes no share-delete: the unlink is refused with
# EBUSY, and the file stays; once the other client closes it, it goes.
fifo=$FS_TMP/smbc.in
mkfifo "$fifo"
stdbuf -oL smbclient -m NT1 --option='client min protocol=NT1' --option='client max protocol=NT1' \
    -p "$PORT" -U "$SMBD_USER%$SMBD_PASS" "//127.0.0.1/$SHARE_NAME" <"$fifo" >"$FS_TMP/smbc.out" 2>&1 &
smbc_pid=$!
exec 9>"$fifo"
echo "open held" >&9
for _ in $(seq 50); do grep -q 'fnum' "$FS_TMP/smbc.out" && break; sleep 0.1; done
grep -q 'fnum' "$FS_TMP/smbc.out" || fail "smbclient did not open the file: $(cat "$FS_TMP/smbc.out")"
expect_fail "Device or resource busy" rm "$MNT/held"
[ "$(cat "$SHARE_DIR/held")" = held ] || fail "a refused unlink changed the file"
echo quit >&9
exec 9>&-
wait "$smbc_pid"
rm "$MNT/held" || fail "rm once the other client closed the file"
[ -e "$SHARE_DIR/held" ] && fail "held is still on the server"
fs_log "ok   a file another client holds open: EBUSY, then gone once closed"

fs_log "PASS"
