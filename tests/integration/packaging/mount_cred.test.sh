#!/bin/bash
# mount(8) -t fuse.smbfuse with a credentials file, through mount.fuse3:
# the share shows in /proc/mounts as //127.0.0.1/share MNT fuse.smbfuse,
# files go in and come out, a world-readable credentials file draws a
# warning, and the password shows nowhere (command lines, ps, smbfuse's
# environment, /proc/mounts) whether it came from a credentials file,
# from password= on the command line or from $PASSWD.
. "$(dirname "$0")/../mount_lib.sh"
m_install_bin
m_start_server

mnt=$(m_mkdir cred)
cred=$(m_cred nas.cred "$SMBD_USER" "$SMBD_PASS")
m_mount -t fuse.smbfuse "$M_SOURCE" "$mnt" -o "port=$SMBD_PORT,credentials=$cred" \
    || fail "mount -t fuse.smbfuse with credentials=$cred failed"
line=$(m_mounts_line "$mnt")
[[ $line == "$M_SOURCE $mnt fuse.smbfuse "* ]] || fail "/proc/mounts shows '$line'"
pass "mounted: $line"

echo "written through the mount" >"$mnt/from_client.txt"
[ "$(cat "$SMBD_SHARE_DIR/from_client.txt")" = "written through the mount" ] \
    || fail "a file written through the mount did not reach the share"
echo "written on the server" >"$SMBD_SHARE_DIR/from_server.txt"
chmod 0666 "$SMBD_SHARE_DIR/from_server.txt"
[ "$(cat "$mnt/from_server.txt")" = "written on the server" ] \
    || fail "a file written on the server does not read back through the mount"
pass "files go in and come out"

m_assert_secret_hidden "$SMBD_PASS"
pass "password hidden (credentials file)"

# password= on mount's command line: mount(8) and mount.fuse3 show it only
# while they run; once mount returns, the daemon has scrubbed its argv.
mnt2=$(m_mkdir opt)
m_mount -t fuse.smbfuse "$M_SOURCE" "$mnt2" \
    -o "port=$SMBD_PORT,username=$SMBD_USER,password=$SMBD_PASS" \
    || fail "mount with password= failed"
m_is_mounted "$mnt2" || fail "$mnt2 not mounted"
m_assert_secret_hidden "$SMBD_PASS"
pass "password hidden (password= option)"

mnt3=$(m_mkdir env)
PASSWD=$SMBD_PASS m_mount -t fuse.smbfuse "$M_SOURCE" "$mnt3" -o "port=$SMBD_PORT,username=$SMBD_USER" \
    || fail "mount with \$PASSWD failed"
m_is_mounted "$mnt3" || fail "$mnt3 not mounted"
m_assert_secret_hidden "$SMBD_PASS"
pass "password hidden (PASSWD environment variable)"

for m in "$mnt" "$mnt2" "$mnt3"; do
    m_umount "$m"
    m_assert_clean "$m"
done
pass "unmounted with fusermount3 -u, nothing left"

# A credentials file others can read still works, with a warning.
loose=$(m_cred loose.cred "$SMBD_USER" "$SMBD_PASS" 644)
mnt4=$(m_mkdir loose)
out=$(m_mount -t fuse.smbfuse "$M_SOURCE" "$mnt4" -o "port=$SMBD_PORT,credentials=$loose" 2>&1) \
    || fail "mount with a mode-644 credentials file failed: $out"
grep -q "warning: credentials file $loose is readable by group and others" <<<"$out" \
    || fail "no warning about the readable credentials file: '$out'"
m_umount "$mnt4"
pass "readable credentials file: warned ($out)"
