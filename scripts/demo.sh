#!/bin/bash
# A two-minute tour of smbfuse on a fresh Debian 12 machine, as root:
# installs the dependencies, builds, starts a throwaway private Samba that
# speaks only SMB1 (NT1, signing mandatory) on a free loopback port, mounts
# its share with ./build/fuse/smbfuse, moves files in and out, unmounts
# with fusermount3 -u and removes everything again, also on failure.
#
# Environment: SMBFUSE_NO_DEPS=1 skips the package installation;
# SMBFUSE_DEMO_PROFILE picks the server (signed, nosign, legacy).
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${SMBFUSE_BUILD_DIR:-$SRC/build}
SMBFUSE=$BUILD/fuse/smbfuse
PROFILE=${SMBFUSE_DEMO_PROFILE:-signed}

if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B= N=; fi
step() { printf '\n%s==> %s%s\n' "$B" "$*" "$N"; }
show() { printf '$ %s\n' "$*"; "$@"; }
die() { echo "demo: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts a private smbd): sudo $0"

if [ "${SMBFUSE_NO_DEPS:-0}" != 1 ]; then
    step "Installing the Debian packages (scripts/install-deps.sh)"
    "$SRC/scripts/install-deps.sh"
fi

step "Building smbfuse in $BUILD"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$BUILD" -j2 --target smbfuse
[ -x "$SMBFUSE" ] || die "no binary at $SMBFUSE after the build"

DEMO=$(mktemp -d /tmp/smbfuse-demo.XXXXXX)
MNT=$DEMO/mnt
MOUNTED=0
SERVER=0
cleanup() {
    local rc=$?
    set +e
    cd /
    if [ "$MOUNTED" = 1 ]; then
        step "Unmounting"
        show fusermount3 -u "$MNT" || fusermount3 -uz "$MNT"
    fi
    if [ "$SERVER" = 1 ]; then
        smbd_stop >/dev/null 2>&1 && echo "private smbd stopped"
    fi
    rm -rf "$DEMO"
    if [ $rc -eq 0 ]; then
        printf '\n%sDemo finished: everything unmounted and removed.%s\n' "$B" "$N"
    else
        printf '\n%sDemo FAILED (exit %d); everything unmounted and removed.%s\n' "$B" "$rc" "$N" >&2
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "Starting a private Samba smbd that speaks only SMB1 (profile: $PROFILE)"
# shellcheck source=../tests/integration/harness/smbd.sh
. "$SRC/tests/integration/harness/smbd.sh"
smbd_start "$PROFILE" >/dev/null
SERVER=1
echo "smbd pid $SMBD_PID on 127.0.0.1:$SMBD_PORT, share '$SMBD_SHARE' = $SMBD_SHARE_DIR"
grep -E 'server (min|max) protocol|server signing|ntlm auth' "$SMBD_CONF" | sed 's/^ */    /'

step "Mounting //127.0.0.1/$SMBD_SHARE on $MNT"
mkdir -p "$MNT"
CRED=$DEMO/credentials
umask 077
printf 'username=%s\npassword=%s\n' "$SMBD_USER" "$SMBD_PASS" >"$CRED"
umask 022
echo "credentials file $CRED (mode $(stat -c %a "$CRED")): username=$SMBD_USER, password=..."
show "$SMBFUSE" "//127.0.0.1/$SMBD_SHARE" "$MNT" -o "port=$SMBD_PORT,username=$SMBD_USER,credentials=$CRED"
MOUNTED=1
show grep " $MNT " /proc/mounts
show df -h "$MNT"

step "Files going in: written through the mount, read on the server"
show sh -c "echo 'hello from smbfuse' > '$MNT/hello.txt'"
show mkdir -p "$MNT/photos/2003"
head -c 3000000 /dev/urandom >"$DEMO/random.bin"
show cp "$DEMO/random.bin" "$MNT/photos/2003/random.bin"
show ls -l "$SMBD_SHARE_DIR" "$SMBD_SHARE_DIR/photos/2003"
show cat "$SMBD_SHARE_DIR/hello.txt"
show cmp "$DEMO/random.bin" "$SMBD_SHARE_DIR/photos/2003/random.bin"
echo "3 MB copied in, identical on the server"

step "Files coming out: written on the server, read through the mount"
echo "written on the server side at $(date +%T)" >"$SMBD_SHARE_DIR/from-server.txt"
chmod 0644 "$SMBD_SHARE_DIR/from-server.txt"
sleep 1.2 # the attribute/listing cache lives actimeo=1 s
show ls -la "$MNT"
show cat "$MNT/from-server.txt"
show sha256sum "$MNT/photos/2003/random.bin" "$DEMO/random.bin"

step "Rename, delete, rmdir through the mount"
show mv "$MNT/hello.txt" "$MNT/hello-renamed.txt"
show rm -r "$MNT/photos"
show ls -la "$MNT"
show ls -la "$SMBD_SHARE_DIR"
[ ! -e "$SMBD_SHARE_DIR/photos" ] || die "photos/ still on the server"
[ -f "$SMBD_SHARE_DIR/hello-renamed.txt" ] || die "rename did not reach the server"
