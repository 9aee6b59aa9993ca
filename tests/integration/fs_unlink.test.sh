#!/bin/bash
# unlink. With the CIFS UNIX extensions (signed profile) a file goes with
# SMB_COM_DELETE, which costs smbd less than the POSIX unlink (smbd's log
# at level 3 names each message it handles, so the test sees which one
# went), and the POSIX unlink still does what DELETE refuses for DOS
# reasons (the read-only attribute). Whatever the message, unlink keeps
# its POSIX meaning: a symlink goes, not what it
# points to; a read-only file goes; '*' is a plain character; a directory
# gives EISDIR and a missing name ENOENT. A file another client holds open
# without share-delete gives EBUSY, as it did before (mount.cifs too).
# On both profiles a file with the DOS read-only attribute goes, as on a
# local disk (and with cifs.ko): the attribute is cleared for the delete.
#
# Without an argument runs both profiles, each in its own process.
if [ $# -eq 0 ]; then
    for p in signed nosign; do
        bash "${BASH_SOURCE[0]}" "$p" || exit 1
    done
    exit 0
fi
PROFILE=$1
. "$(dirname "${BASH_SOURCE[0]}")/fs_lib.sh"

export SMBD_LOG_LEVEL=3
fs_start_server "$PROFILE"
SMBLOG=$SMBD_DIR/log/stdout
messages() { grep -c "switch message $1" "$SMBLOG" || true; }

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

u0=$(messages SMBunlink)
rm "$MNT"/f1 "$MNT"/f2 "$MNT"/f3 "$MNT"/f4 "$MNT"/f5 || fail "rm of five files"
u1=$(messages SMBunlink)
[ $((u1 - u0)) -eq 5 ] || fail "five files should take five SMBunlink, smbd saw $((u1 - u0))"
for i in 1 2 3 4 5; do [ -e "$SHARE_DIR/f$i" ] && fail "f$i is still on the server"; done
fs_log "ok   five files, five SMB_COM_DELETE"

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

expect_fail "Is a directory" python3 -c "import os, sys; os.unlink(sys.argv[1])" "$MNT/dir"
expect_fail "No such file" python3 -c "import os, sys; os.unlink(sys.argv[1])" "$MNT/none"
fs_log "ok   EISDIR and ENOENT"

# smbclient's open takes no share-delete: the unlink is refused with
# EBUSY (the POSIX unlink is refused the same), and the file stays; once
# the other client closes it, it goes.
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
