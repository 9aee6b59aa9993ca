#!/bin/bash
# fstab use through the real mount(8), with a private fstab (mount -T):
# `mount MNT` mounts one entry, `mount -a` mounts every entry but the
# noauto one, and the options a real fstab line carries for mount(8) and
# systemd (_netdev, nofail, x-systemd.*) are accepted.
. "$(dirname "$0")/../mount_lib.sh"
m_install_bin
m_start_server

cred=$(m_cred nas.cred "$SMBD_USER" "$SMBD_PASS")
auto=$(m_mkdir auto)
manual=$(m_mkdir manual)
fstab=$M_TMP/fstab
cat >"$fstab" <<FSTAB
# private fstab of $0
$M_SOURCE $auto fuse.smbfuse credentials=$cred,port=$SMBD_PORT,_netdev,nofail,x-systemd.automount,x-systemd.idle-timeout=60 0 0
$M_SOURCE $manual fuse.smbfuse credentials=$cred,port=$SMBD_PORT,_netdev,noauto,ro 0 0
FSTAB

m_mount -T "$fstab" "$auto" || fail "mount -T fstab $auto failed"
m_is_mounted "$auto" || fail "$auto not mounted"
echo via-fstab >"$auto/fstab.txt"
[ "$(cat "$SMBD_SHARE_DIR/fstab.txt")" = via-fstab ] || fail "write through the fstab mount lost"
m_umount "$auto"
m_assert_clean "$auto"
pass "mount MNT from the fstab"

m_mount -a -T "$fstab" || fail "mount -a -T fstab failed"
m_is_mounted "$auto" || fail "mount -a did not mount $auto"
! m_is_mounted "$manual" || fail "mount -a mounted the noauto entry $manual"
pass "mount -a mounts the auto entry and skips noauto"

m_mount -T "$fstab" "$manual" || fail "mount of the noauto entry by name failed"
m_is_mounted "$manual" || fail "$manual not mounted"
grep " $manual " /proc/mounts | grep -qE ' ro[ ,]' || fail "ro from fstab not applied: $(m_mounts_line "$manual")"
if touch "$manual/nope" 2>/dev/null; then fail "wrote to a ro mount"; fi
[ "$(cat "$manual/fstab.txt")" = via-fstab ] || fail "read through the ro mount failed"
pass "noauto entry mounts by name, read-only"

for m in "$auto" "$manual"; do
    m_umount "$m"
    m_assert_clean "$m"
done
pass "unmounted"
