#!/bin/bash
# The Debian package: packaging/build-deb.sh builds smbfuse_<v>_<arch>.deb
# holding /usr/bin/smbfuse, the CUPS backend /usr/lib/cups/backend/smb1,
# the man page and the examples (and nothing
# outside /usr); the man page renders without warnings; and the packaged
# binary, where mount.fuse3 looks for it, serves `mount -t fuse.smbfuse`.
# The package is unpacked with dpkg-deb -x, never installed: the system is
# left as it was.
. "$(dirname "$0")/../mount_lib.sh"

deb=$("$M_SRC/packaging/build-deb.sh" -b "$M_BIN" -o "$M_TMP/deb" | tail -n 1)
[ -f "$deb" ] || fail "build-deb.sh made no package"
version=$(sed -n 's/^project(smbfuse VERSION \([0-9][0-9.]*\).*/\1/p' "$M_SRC/CMakeLists.txt")
arch=$(dpkg --print-architecture)
[ "$(basename "$deb")" = "smbfuse_${version}_${arch}.deb" ] || fail "package named $(basename "$deb")"
pass "built $(basename "$deb")"

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = smbfuse ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version)"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture: $(field Architecture)"
deps=$(field Depends)
for d in fuse3 libfuse3 libc6; do
    grep -q "$d" <<<"$deps" || fail "Depends lacks $d: $deps"
done
pass "control: $(field Package) $(field Version) $(field Architecture); Depends: $deps"

list=$(dpkg-deb -c "$deb")
for f in ./usr/bin/smbfuse ./usr/lib/cups/backend/smb1 ./usr/share/man/man8/smbfuse.8.gz \
         ./usr/share/doc/smbfuse/copyright ./usr/share/doc/smbfuse/changelog.Debian.gz \
         ./usr/share/doc/smbfuse/examples/fstab.example \
         ./usr/share/doc/smbfuse/examples/mnt-nas.mount \
         ./usr/share/doc/smbfuse/examples/mnt-nas.automount; do
    grep -q " $f\$" <<<"$list" || fail "package lacks $f"
done
if awk '{print $6}' <<<"$list" | grep -v '^\./$' | grep -qv '^\./usr/'; then
    fail "package installs outside /usr: $(awk '{print $6}' <<<"$list" | grep -v '^\./usr/')"
fi
if awk '{print $2}' <<<"$list" | grep -qv '^root/root$'; then fail "files not owned by root"; fi
grep -E ' \./usr/bin/smbfuse$' <<<"$list" | grep -q '^-rwxr-xr-x' || fail "smbfuse not mode 755"
grep -E ' \./usr/lib/cups/backend/smb1$' <<<"$list" | grep -q '^-rwxr-xr-x' ||
    fail "the CUPS backend not mode 755"
pass "file list"

root=$M_TMP/root
dpkg-deb -x "$deb" "$root"
"$root/usr/bin/smbfuse" --version | grep -q "smbfuse $version" || fail "packaged smbfuse --version"
warn=$(MANWIDTH=80 man --warnings -l "$root/usr/share/man/man8/smbfuse.8.gz" 2>&1 >/dev/null)
[ -z "$warn" ] || fail "man page warnings: $warn"
MANWIDTH=80 man -l "$root/usr/share/man/man8/smbfuse.8.gz" 2>/dev/null | grep -q 'PACKET SIGNING' \
    || fail "man page does not render"
pass "packaged binary runs; man page renders without warnings"

# mount.fuse3 runs smbfuse through /bin/sh with no PATH of its own: the
# shell's default PATH must hold /usr/bin, where the package puts it.
sh_path=$(env -i /bin/sh -c 'echo "$PATH"')
case ":$sh_path:" in *:/usr/bin:*) ;; *) fail "default PATH '$sh_path' lacks /usr/bin" ;; esac

m_install_bin "$root/usr/bin/smbfuse"
m_start_server
mnt=$(m_mkdir deb)
cred=$(m_cred deb.cred "$SMBD_USER" "$SMBD_PASS")
m_mount -t fuse.smbfuse "$M_SOURCE" "$mnt" -o "port=$SMBD_PORT,credentials=$cred" \
    || fail "mount -t fuse.smbfuse with the packaged binary failed"
m_is_mounted "$mnt" || fail "not mounted"
echo from-deb >"$mnt/deb.txt"
[ "$(cat "$SMBD_SHARE_DIR/deb.txt")" = from-deb ] || fail "write through the packaged binary lost"
m_umount "$mnt"
m_assert_clean "$mnt"
pass "mount -t fuse.smbfuse works with the packaged binary"
