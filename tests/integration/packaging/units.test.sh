#!/bin/bash
# The systemd side of smbfuse: the example units in packaging/systemd pass
# `systemd-analyze verify`; systemd's own fstab generator, fed our example
# fstab line, makes a .mount and an .automount that verify too and carry
# our What/Type/Options; and a misnamed unit is caught (so the check bites).
set -euo pipefail

src=${SMBFUSE_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

command -v systemd-analyze >/dev/null || fail "systemd-analyze not installed (apt-get install systemd)"
gen=
for g in /lib/systemd/system-generators/systemd-fstab-generator \
         /usr/lib/systemd/system-generators/systemd-fstab-generator; do
    [ -x "$g" ] && gen=$g && break
done
[ -n "$gen" ] || fail "systemd-fstab-generator not found"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# verify checks that Documentation=man:smbfuse(8) resolves: point man at
# the page in the source tree (the trailing ':' keeps the system pages).
mkdir -p "$tmp/man/man8"
cp "$src/packaging/smbfuse.8" "$tmp/man/man8/"
export MANPATH="$tmp/man:"

# Runs systemd-analyze verify in dir on the named units; any complaint
# about them (even one that does not change the exit status) fails.
verify() {
    local dir=$1 out rc=0
    shift
    out=$(cd "$dir" && systemd-analyze verify "$@" 2>&1) || rc=$?
    if [ "$rc" -ne 0 ] || grep -qE "$(printf '%s|' "$@" | sed 's/|$//; s/\./\\./g')" <<<"$out"; then
        echo "$out" >&2
        return 1
    fi
    return 0
}

# Prints the value of Key= in a unit file (last one wins, as systemd reads it).
unit_get() { sed -n "s/^$2=//p" "$1" | tail -n 1; }

# ---- the shipped example units ----
ex="$tmp/examples"
mkdir -p "$ex"
cp "$src/packaging/systemd/mnt-nas.mount" "$src/packaging/systemd/mnt-nas.automount" "$ex/"
verify "$ex" mnt-nas.mount mnt-nas.automount || fail "example units do not verify"
pass "packaging/systemd units verify"

m="$ex/mnt-nas.mount"
[ "$(unit_get "$m" What)" = "//nas/share" ] || fail "example mount: What"
[ "$(unit_get "$m" Where)" = "/mnt/nas" ] || fail "example mount: Where"
[ "$(unit_get "$m" Type)" = "fuse.smbfuse" ] || fail "example mount: Type"
[ "$(unit_get "$m" Options)" = "credentials=/etc/smbfuse/nas.cred,_netdev" ] || fail "example mount: Options"
[ "$(unit_get "$ex/mnt-nas.automount" Where)" = "/mnt/nas" ] || fail "example automount: Where"
pass "example units mount //nas/share on /mnt/nas as fuse.smbfuse"

# ---- negative control: verify must reject a unit whose name does not
# match its mount point, or this whole test proves nothing ----
bad="$tmp/bad"
mkdir -p "$bad"
cp "$src/packaging/systemd/mnt-nas.mount" "$bad/mnt-elsewhere.mount"
if verify "$bad" mnt-elsewhere.mount 2>/dev/null; then
    fail "systemd-analyze verify accepted a misnamed mount unit"
fi
pass "a misnamed unit is rejected"

# ---- the fstab generator on our example fstab ----
fstab="$src/packaging/fstab.example"
[ -f "$fstab" ] || fail "$fstab missing"
grep -qE '^//nas/share[[:space:]]+/mnt/nas[[:space:]]+fuse\.smbfuse[[:space:]]+credentials=/etc/smbfuse/nas\.cred,_netdev,x-systemd\.automount,x-systemd\.idle-timeout=60[[:space:]]+0[[:space:]]+0$' "$fstab" \
    || fail "fstab.example does not hold the documented line"
{ findmnt --verify --tab-file "$fstab" 2>&1 || true; } | grep -q "^0 parse errors" || fail "findmnt cannot parse $fstab"

out="$tmp/gen"
mkdir -p "$out"
SYSTEMD_FSTAB="$fstab" SYSTEMD_LOG_LEVEL=warning "$gen" "$out" "$out" "$out" \
    || fail "systemd-fstab-generator failed on $fstab"
gm="$out/mnt-nas.mount"
ga="$out/mnt-nas.automount"
[ -f "$gm" ] || fail "generator made no mnt-nas.mount: $(ls "$out")"
[ -f "$ga" ] || fail "generator made no mnt-nas.automount (x-systemd.automount ignored?)"

[ "$(unit_get "$gm" What)" = "//nas/share" ] || fail "generated mount: What=$(unit_get "$gm" What)"
[ "$(unit_get "$gm" Where)" = "/mnt/nas" ] || fail "generated mount: Where"
[ "$(unit_get "$gm" Type)" = "fuse.smbfuse" ] || fail "generated mount: Type=$(unit_get "$gm" Type)"
opts=$(unit_get "$gm" Options)
case ",$opts," in
*,credentials=/etc/smbfuse/nas.cred,*) ;;
*) fail "generated mount: Options=$opts lacks the credentials file" ;;
esac
case ",$opts," in
*,_netdev,*) ;;
*) fail "generated mount: Options=$opts lacks _netdev" ;;
esac
# _netdev (and the fuse.* type) make it a remote file system: ordered
# before remote-fs.target, not local-fs.target.
grep -q '^Before=remote-fs.target' "$gm" || fail "generated mount is not a remote-fs mount"
[ "$(unit_get "$ga" Where)" = "/mnt/nas" ] || fail "generated automount: Where"
idle=$(unit_get "$ga" TimeoutIdleSec)
[ "$idle" = "1min" ] || [ "$idle" = "60" ] || [ "$idle" = "60s" ] \
    || fail "generated automount: TimeoutIdleSec=$idle, want 60 s"
# At boot the automount is pulled in, never the mount itself.
[ -e "$out/remote-fs.target.requires/mnt-nas.automount" ] \
    || fail "remote-fs.target does not require the automount"
[ ! -e "$out/remote-fs.target.requires/mnt-nas.mount" ] \
    || fail "remote-fs.target requires the mount itself: it would mount at boot"
pass "fstab generator: What/Where/Type/Options and the automount are right"

# Every option the generator hands to mount(8) is one smbfuse accepts or
# one mount.fuse3 drops; the smbfuse binary, when built, must take them.
bin=${SMBFUSE_BINARY_DIR:-$src/build}/fuse/smbfuse
if [ -x "$bin" ]; then
    # Parsing stops at the first bad option with exit status 1, before any
    # network traffic; past it, a closed port on 127.0.0.1 makes it fail
    # with 32.
    printf 'username=u\npassword=p\n' >"$tmp/nas.cred"
    chmod 600 "$tmp/nas.cred"
    closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$tmp/mnt"
    set +e
    msg=$(setsid -w "$bin" //127.0.0.1/share "$tmp/mnt" -f \
        -o "${opts//\/etc\/smbfuse\/nas.cred/$tmp/nas.cred},port=$closed" 2>&1 </dev/null)
    rc=$?
    set -e
    [ "$rc" -ne 1 ] || fail "smbfuse rejects the generated options '$opts': $msg"
    pass "smbfuse accepts the generated Options= (exit $rc: $msg)"
fi

verify "$out" mnt-nas.mount mnt-nas.automount || fail "generated units do not verify"
pass "generated units verify"
