# Shared setup of the mount(8) tests (sourced by mount_*.test.sh).
#
# Each test runs as root in a private mount namespace of its own, so that
# nothing it does shows outside it and a mount it leaves behind vanishes
# with it. Inside the namespace:
#   - a directory holding the smbfuse under test is bind-mounted over
#     /usr/local/sbin, the first directory of the PATH that mount.fuse3's
#     shell searches (mount(8) runs helpers with no PATH of its own);
#   - /etc/nsswitch.conf looks host names up in /etc/hosts only, so a
#     name that does not resolve fails without a packet leaving the host.
# The server is the infra harness's smbd (harness/smbd.sh: smbd_start
# PROFILE / smbd_stop; SMBD_PORT, SMBD_USER, SMBD_PASS, SMBD_SHARE_DIR).
# The EXIT trap always unmounts with `fusermount3 -u` and stops smbd.

set -euo pipefail

M_SRC=${SMBFUSE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
M_BIN=${SMBFUSE_BINARY_DIR:-$M_SRC/build}
M_SMBFUSE=${SMBFUSE:-$M_BIN/fuse/smbfuse}
M_HARNESS=${SMBFUSE_SMBD_HARNESS:-$M_SRC/tests/integration/harness/smbd.sh}
M_PROFILE=${SMBFUSE_SMBD_PROFILE:-signed}

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

[ "$(id -u)" = 0 ] || fail "the mount(8) tests need root (mount(8), mount namespaces)"
if [ -z "${SMBFUSE_MOUNT_NS:-}" ]; then
    exec unshare --mount --propagation private env SMBFUSE_MOUNT_NS=1 bash "$0" "$@"
fi

M_TMP=$(mktemp -d /tmp/smbfuse-mount.XXXXXX)
chmod 755 "$M_TMP" # the user-mount test runs programs from here as another user
M_MOUNTS=()
M_SERVER=0

m_cleanup() {
    local rc=$? m i
    set +e
    cd /
    for m in "${M_MOUNTS[@]}"; do
        for i in 1 2 3 4 5 6 7 8 9 10; do
            grep -q " $m fuse" /proc/mounts || break
            fusermount3 -u "$m" 2>/dev/null && break
            sleep 0.5
        done
        grep -q " $m fuse" /proc/mounts && fusermount3 -uz "$m"
    done
    [ "$M_SERVER" = 1 ] && smbd_stop >/dev/null 2>&1
    # Bind mounts and tmpfs a test made under M_TMP, innermost first.
    findmnt -rn -o TARGET | grep "^$M_TMP/" | sort -r | while read -r m; do umount -l "$m"; done
    rm -rf "$M_TMP"
    exit $rc
}
trap m_cleanup EXIT
trap 'exit 130' INT TERM

# Puts the program under test where mount.fuse3 finds it. A copy, not a
# link, so another user can run it whatever the build tree's permissions.
m_install_bin() {
    local bin=${1:-$M_SMBFUSE}
    [ -x "$bin" ] || fail "smbfuse binary not found at $bin (build it first)"
    mkdir -p "$M_TMP/sbin"
    install -m 0755 "$bin" "$M_TMP/sbin/smbfuse"
    mount --bind "$M_TMP/sbin" /usr/local/sbin
    [ "$(command -v smbfuse)" = /usr/local/sbin/smbfuse ] || PATH=/usr/local/sbin:$PATH
    sed 's/^hosts:.*/hosts: files/' /etc/nsswitch.conf >"$M_TMP/nsswitch.conf"
    mount --bind "$M_TMP/nsswitch.conf" /etc/nsswitch.conf
}

m_start_server() {
    [ -f "$M_HARNESS" ] || fail "smbd harness $M_HARNESS is missing"
    # shellcheck source=/dev/null
    . "$M_HARNESS"
    smbd_start "$M_PROFILE" >&2
    M_SERVER=1
    : "${SMBD_PORT:?harness exported no SMBD_PORT}" "${SMBD_USER:?}" "${SMBD_PASS:?}"
    : "${SMBD_SHARE_DIR:?}"
    # Children (mount, smbfuse) must not inherit the password through the
    # environment, or the checks below would find it there.
    export -n SMBD_PASS SMBD_USER
    M_SHARE=${SMBD_SHARE:-share}
    M_SOURCE=//127.0.0.1/$M_SHARE
}

# m_mkdir NAME: a fresh mount point, unmounted by the trap.
m_mkdir() {
    local d=$M_TMP/$1
    mkdir -p "$d"
    M_MOUNTS+=("$d")
    echo "$d"
}

# m_cred NAME USER PASS [MODE]: a credentials file.
m_cred() {
    local f=$M_TMP/$1
    printf 'username=%s\npassword=%s\n' "$2" "$3" >"$f"
    chmod "${4:-600}" "$f"
    echo "$f"
}

m_is_mounted() { grep -q " $1 fuse.smbfuse " /proc/mounts; }

# The /proc/mounts line of a mount point, or nothing.
m_mounts_line() { grep " $1 " /proc/mounts || true; }

m_umount() {
    # A moment of EBUSY right after a mount is some other process (a
    # directory walker, a shell's cwd) passing through; a few tries.
    local i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        fusermount3 -u "$1" 2>/dev/null && break
        sleep 0.5
    done
    m_is_mounted "$1" && { fusermount3 -u "$1" || fail "fusermount3 -u $1 failed"; }
    ! m_is_mounted "$1" || fail "$1 still mounted after fusermount3 -u"
}

# PIDs whose command line contains the fixed string in file $1. The
# string is read from a file so that no grep here carries it in its own
# command line. One grep over every /proc/PID/cmdline (a tr and a grep per
# process took a second on a busy machine); this shell and its subshell
# left out.
m_pids_matching() {
    local f files self=$BASHPID
    files=$(grep -lsFf "$1" /proc/[0-9]*/cmdline) || true
    for f in $files; do
        f=${f#/proc/}
        f=${f%/cmdline}
        [ "$f" = "$$" ] || [ "$f" = "$self" ] || echo "$f"
    done
}

# No mount on $1, and no process left serving it.
m_assert_clean() {
    local m=$1 p i needle=$M_TMP/needle.clean
    ! grep -q " $m " /proc/mounts || fail "stale mount on $m: $(m_mounts_line "$m")"
    printf '%s\n' "$m" >"$needle"
    for i in $(seq 50); do
        p=$(m_pids_matching "$needle")
        [ -z "$p" ] && return 0
        sleep 0.1
    done
    fail "processes still hold $m: $(for x in $p; do tr '\0' ' ' </proc/"$x"/cmdline; echo; done)"
}

# The secret shows nowhere for this test's mounts: not in the command line
# or the environment of the smbfuse processes serving them, not in their
# ps lines, not in their mount table lines. (Only this test's processes
# are looked at: other tests on the machine may legitimately hold the same
# harness password in their environment.)
m_assert_secret_hidden() {
    local needle=$M_TMP/needle.secret mine=$M_TMP/needle.mine bad= pid n=0
    printf '%s\n' "$1" >"$needle"
    printf '%s\n' "$M_TMP/" >"$mine"
    for pid in $(m_pids_matching "$mine"); do
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = smbfuse ] && n=$((n + 1))
        if { tr '\0' '\n' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qFf "$needle"; then
            bad="$bad cmdline of $pid ($(cat "/proc/$pid/comm" 2>/dev/null))"
        fi
        if { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | grep -qFf "$needle"; then
            bad="$bad environment of $pid ($(cat "/proc/$pid/comm" 2>/dev/null))"
        fi
    done
    [ "$n" -gt 0 ] || fail "no smbfuse process serves a mount of this test: nothing to check"
    if grep -F -f "$mine" /proc/mounts /proc/self/mountinfo | grep -qFf "$needle"; then
        bad="$bad mount table"
    fi
    if ps -eww -o args | grep -F -f "$mine" | grep -qFf "$needle"; then bad="$bad ps"; fi
    rm -f "$needle" "$mine"
    [ -z "$bad" ] || fail "password visible in:$bad"
}

# mount(8) without a controlling terminal, as at boot: a missing password
# must fail, never wait at a prompt.
m_mount() { setsid -w mount "$@" </dev/null; }

# m_expect_fail WHAT PATTERN... -- cmd...: cmd exits non-zero and its
# output matches every extended regex PATTERN (case-insensitive).
m_expect_fail() {
    local what=$1 out rc=0 pats=() p
    shift
    while [ "$1" != "--" ]; do pats+=("$1"); shift; done
    shift
    out=$("$@" 2>&1) || rc=$?
    [ "$rc" -ne 0 ] || fail "$what: '$*' succeeded"
    for p in "${pats[@]}"; do
        grep -qiE -- "$p" <<<"$out" || fail "$what: exit $rc but the message does not say /$p/: $out"
    done
    M_LAST_RC=$rc
    pass "$what: exit $rc, \"$(tr '\n' ' ' <<<"$out" | cut -c1-200)\""
}
