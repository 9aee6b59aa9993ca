#!/bin/sh
# Installs every Debian 12 package that building, testing, the demo and the
# benchmarks need. Idempotent; run as root (or through sudo).
set -eu
if [ "$(id -u)" -ne 0 ]; then
    exec sudo "$0" "$@"
fi
export DEBIAN_FRONTEND=noninteractive
PKGS="
build-essential cmake pkg-config clang llvm libclang-rt-14-dev clang-format
libfuse3-dev fuse3 libntlm0-dev libssl-dev libcriterion-dev
samba smbclient python3-impacket tshark cups-daemon cups-client
iproute2 procps psmisc rsync git fio sqlite3 xxd
systemd mount man-db groff-base debhelper dpkg-dev fakeroot
"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    apt-get update -qq
    # tshark asks whether non-root users may capture; answer once, quietly.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get install -y -qq --no-install-recommends $missing
fi
# A system smbd/nmbd started by the package would hold ports we do not use,
# but stop them anyway: the tests run their own private instances.
for s in smbd nmbd samba-ad-dc; do
    systemctl stop "$s" 2>/dev/null || true
done
exit 0
