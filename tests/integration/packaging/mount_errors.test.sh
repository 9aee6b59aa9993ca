#!/bin/bash
# Failures through the real mount(8): a wrong password, a missing share, a
# refused connection, an unknown option, a missing credentials file, a
# signing policy the server cannot meet and an unknown host each give a
# non-zero exit and a message naming the cause, and leave no mount and no
# process behind. smbfuse run directly
# exits with 32 for a failed mount and 1 for bad usage (smbfuse(8)).
. "$(dirname "$0")/../mount_lib.sh"
m_install_bin
m_start_server

mnt=$(m_mkdir mnt)
good=$(m_cred good.cred "$SMBD_USER" "$SMBD_PASS")
bad=$(m_cred bad.cred "$SMBD_USER" "not-the-password-$$")

m_expect_fail "wrong password" 'logon|password|access denied|LOGON_FAILURE' -- \
    m_mount -t fuse.smbfuse "$M_SOURCE" "$mnt" -o "port=$SMBD_PORT,credentials=$bad"
m_assert_clean "$mnt"

m_expect_fail "missing share" 'nosuchshare' 'share|no such|not found|bad network name' -- \
    m_mount -t fuse.smbfuse "//127.0.0.1/nosuchshare" "$mnt" -o "port=$SMBD_PORT,credentials=$good"
m_assert_clean "$mnt"

closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
m_expect_fail "connection refused" 'refused' -- \
    m_mount -t fuse.smbfuse "$M_SOURCE" "$mnt" -o "port=$closed,credentials=$good"
m_assert_clean "$mnt"

m_expect_fail "unknown option" "unknown option 'bogusopt'" -- \
    m_mount -t fuse.smbfuse "$M_SOURCE" "$mnt" -o "port=$SMBD_PORT,credentials=$good,bogusopt"
m_assert_clean "$mnt"

m_expect_fail "missing credentials file" "$M_TMP/missing.cred" 'no such file' -- \
    m_mount -t fuse.smbfuse "$M_SOURCE" "$mnt" -o "port=$SMBD_PORT,credentials=$M_TMP/missing.cred"
m_assert_clean "$mnt"

# No password from anywhere and no terminal: fail, do not hang.
m_expect_fail "no password, no terminal" 'no password' -- \
    m_mount -t fuse.smbfuse "$M_SOURCE" "$mnt" -o "port=$SMBD_PORT,username=$SMBD_USER"
m_assert_clean "$mnt"

# The exit statuses smbfuse(8) documents, without mount(8) in between.
m_expect_fail "smbfuse: wrong password" 'logon|password|access denied|LOGON_FAILURE' -- \
    setsid -w smbfuse "$M_SOURCE" "$mnt" -o "port=$SMBD_PORT,credentials=$bad"
[ "$M_LAST_RC" = 32 ] || fail "smbfuse exited $M_LAST_RC for a failed logon, want 32"
m_assert_clean "$mnt"
m_expect_fail "smbfuse: bad option value" 'port=99999' -- \
    setsid -w smbfuse "$M_SOURCE" "$mnt" -o "port=99999,credentials=$good"
[ "$M_LAST_RC" = 1 ] || fail "smbfuse exited $M_LAST_RC for bad usage, want 1"
m_assert_clean "$mnt"

# And the same mount point still mounts afterwards.
m_mount -t fuse.smbfuse "$M_SOURCE" "$mnt" -o "port=$SMBD_PORT,credentials=$good" \
    || fail "mount after the failures failed"
m_umount "$mnt"
m_assert_clean "$mnt"
pass "mount point usable after the failures"

# Signing policy. Samba with "server signing = disabled" advertises no
# signing but signs when the client insists: sign=required mounts it.
smbd_stop >/dev/null 2>&1
M_SERVER=0
M_PROFILE=nosign m_start_server
nosign=$(m_cred nosign.cred "$SMBD_USER" "$SMBD_PASS")
m_mount -t fuse.smbfuse "$M_SOURCE" "$mnt" -o "port=$SMBD_PORT,credentials=$nosign,sign=required" \
    || fail "sign=required against Samba with signing disabled failed"
m_umount "$mnt"
m_assert_clean "$mnt"
pass "sign=required mounts Samba whose negotiate reply offers no signing"

# impacket's SMB1 server cannot sign (its MACs do not verify): sign=required
# refuses it and says why; the same mount with sign=auto works, so signing
# was the cause.
impacket_start >/dev/null || fail "impacket did not start"
trap 'rc=$?; impacket_stop >/dev/null 2>&1; (exit $rc); m_cleanup' EXIT
imp=$(m_cred impacket.cred "$IMPACKET_USER" "$IMPACKET_PASS")
m_expect_fail "signing required, server does not sign" 'sign' -- \
    m_mount -t fuse.smbfuse "//127.0.0.1/$IMPACKET_SHARE" "$mnt" -o "port=$IMPACKET_PORT,credentials=$imp,sign=required"
m_assert_clean "$mnt"
m_mount -t fuse.smbfuse "//127.0.0.1/$IMPACKET_SHARE" "$mnt" -o "port=$IMPACKET_PORT,credentials=$imp,sign=auto" \
    || fail "the same mount with sign=auto failed"
m_umount "$mnt"
m_assert_clean "$mnt"
impacket_stop >/dev/null 2>&1 || true
pass "sign=auto mounts the server that sign=required refused"

# .invalid never resolves (RFC 6761), and host names resolve from
# /etc/hosts only in this namespace: the lookup fails without traffic.
m_expect_fail "unknown host" 'nosuchhost\.invalid' 'resolv|unknown|not known|no such host|name' -- \
    m_mount -t fuse.smbfuse //nosuchhost.invalid/share "$mnt" -o "port=$SMBD_PORT,credentials=$good"
m_assert_clean "$mnt"
