#!/bin/bash
# A user mount: an fstab line with the `user` option lets an ordinary user
# (nobody) run `mount MNT`; mount(8) runs mount.fuse3 and smbfuse as that
# user and fusermount3 mounts; the user reads and writes, and unmounts
# with fusermount3 -u. On a mount point the user may not write to, the
# same user is refused (so the test tells the two apart). /etc/fstab is
# replaced only inside this test's mount namespace.
. "$(dirname "$0")/../mount_lib.sh"
m_install_bin
m_start_server

u=nobody
id "$u" >/dev/null 2>&1 || fail "no user '$u' to run the user mount as"
uid=$(id -u "$u")
as_user() { setsid -w runuser -u "$u" -- "$@" </dev/null; }

# Debian's udev rule makes /dev/fuse mode 0666, which unprivileged FUSE
# needs (libfuse opens it before it asks fusermount3 to mount). Containers
# often keep it 0600: give this namespace a 0666 node for the same device.
if ! runuser -u "$u" -- sh -c 'exec 3<>/dev/fuse' 2>/dev/null; then
    mkdir -p "$M_TMP/dev"
    mount -t tmpfs -o mode=0755 smbfuse-dev "$M_TMP/dev"
    mknod -m 0666 "$M_TMP/dev/fuse" c "$((0x$(stat -c %t /dev/fuse)))" "$((0x$(stat -c %T /dev/fuse)))"
    mount --bind "$M_TMP/dev/fuse" /dev/fuse
    runuser -u "$u" -- sh -c 'exec 3<>/dev/fuse' || fail "/dev/fuse cannot be opened by $u"
fi

mnt=$(m_mkdir user)
denied=$(m_mkdir denied)
chown "$u" "$mnt" # $denied stays root's, mode 755
cred=$(m_cred user.cred "$SMBD_USER" "$SMBD_PASS")
chown "$u" "$cred"

cat >"$M_TMP/fstab" <<FSTAB
$M_SOURCE $mnt fuse.smbfuse credentials=$cred,port=$SMBD_PORT,user,noauto,_netdev 0 0
$M_SOURCE $denied fuse.smbfuse credentials=$cred,port=$SMBD_PORT,user,noauto 0 0
FSTAB
chmod 644 "$M_TMP/fstab"
mount --bind "$M_TMP/fstab" /etc/fstab

as_user mount "$mnt" || fail "user $u could not mount $mnt"
m_is_mounted "$mnt" || fail "$mnt not mounted"
grep " $mnt " /proc/mounts | grep -q "user_id=$uid" || fail "not a mount of $u: $(m_mounts_line "$mnt")"
pgrep -u "$u" -x smbfuse >/dev/null || fail "no smbfuse process running as $u"
pass "user $u mounted: $(m_mounts_line "$mnt")"

# The daemon holds the password hashes and the signing key: not dumpable,
# so its own user can neither ptrace it nor read its memory through /proc
# (the kernel then gives its /proc files to root).
pid=$(pgrep -u "$u" -x smbfuse | head -n 1)
[ "$(stat -c %u "/proc/$pid/environ")" = 0 ] || fail "the daemon is dumpable (/proc/$pid owned by $u)"
if as_user cat "/proc/$pid/environ" >/dev/null 2>&1; then
    fail "user $u can read the daemon's /proc/$pid/environ"
fi
pass "the daemon is not dumpable"

as_user sh -c "echo from-user >'$mnt/user.txt'" || fail "user cannot write through the mount"
[ "$(as_user cat "$mnt/user.txt")" = from-user ] || fail "user cannot read back"
[ "$(cat "$SMBD_SHARE_DIR/user.txt")" = from-user ] || fail "user's file not on the share"
pass "user reads and writes"

as_user fusermount3 -u "$mnt" || fail "user could not unmount with fusermount3 -u"
m_assert_clean "$mnt"
pass "user unmounted"

m_expect_fail "user mount on a mount point the user cannot write" 'permission|denied|access' -- \
    as_user mount "$denied"
m_assert_clean "$denied"
