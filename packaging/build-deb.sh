#!/bin/bash
# Builds smbfuse_<version>_<arch>.deb: `cmake --install` into a staging
# directory, Debian's doc files added, dependencies from dpkg-shlibdeps,
# then dpkg-deb. No root needed (dpkg-deb --root-owner-group).
#
# usage: packaging/build-deb.sh [-b BUILD_DIR] [-o OUT_DIR]
#   -b  an existing CMake build directory to use (default: a fresh Release
#       build in build-deb/ under the source tree, tests off)
#   -o  where to write the .deb (default: build-deb/ under the source tree)
# Prints the path of the .deb on its last line.
#
# mount -t fuse.smbfuse needs nothing beyond /usr/bin/smbfuse:
# mount.fuse3 (package fuse3, a dependency) runs `smbfuse` from its
# default PATH.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=
out="$src/build-deb"
while getopts "b:o:h" opt; do
    case $opt in
    b) build=$OPTARG ;;
    o) out=$OPTARG ;;
    *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done

for tool in cmake dpkg-deb dpkg-shlibdeps dpkg-architecture gzip; do
    command -v "$tool" >/dev/null || { echo "build-deb: $tool is missing (apt-get install dpkg-dev cmake)" >&2; exit 1; }
done

if [ -z "$build" ]; then
    build="$src/build-deb"
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMBFUSE_TESTS=OFF >/dev/null
fi
[ -f "$build/CMakeCache.txt" ] || { echo "build-deb: $build is not a CMake build directory" >&2; exit 1; }
cmake --build "$build" --target smbfuse smb1-cups-backend -j2 >/dev/null

version=$(sed -n 's/^project(smbfuse VERSION \([0-9][0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ -n "$version" ] || { echo "build-deb: no version in CMakeLists.txt" >&2; exit 1; }
arch=$(dpkg-architecture -qDEB_HOST_ARCH)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage="$work/stage"

# Installs only what the install() rules name: the program, the CUPS
# backend (usr/lib/cups/backend/smb1), the man page, the examples. --strip drops debug symbols as a Debian binary package does.
DESTDIR="$stage" cmake --install "$build" --prefix /usr --strip >/dev/null
[ -x "$stage/usr/bin/smbfuse" ] || { echo "build-deb: cmake --install put no usr/bin/smbfuse" >&2; exit 1; }
[ -x "$stage/usr/lib/cups/backend/smb1" ] || { echo "build-deb: cmake --install put no CUPS backend" >&2; exit 1; }

doc="$stage/usr/share/doc/smbfuse"
mkdir -p "$doc"
install -m 0644 "$src/packaging/debian/copyright" "$doc/copyright"
date=$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git -C "$src" log -1 --format=%ct 2>/dev/null || date +%s)}")
sed -e "s/@VERSION@/$version/" -e "s/@DATE@/$date/" "$src/packaging/debian/changelog" \
    | gzip -9n >"$doc/changelog.Debian.gz"
# Debian policy 12.1: man pages are installed compressed.
find "$stage/usr/share/man" -type f ! -name '*.gz' -exec gzip -9n {} +
chmod -R u=rwX,go=rX "$stage"

# Dependencies of the binary, as dpkg-shlibdeps reads them; it wants a
# debian/control in its working directory.
mkdir -p "$work/src/debian"
printf 'Source: smbfuse\n\nPackage: smbfuse\nArchitecture: any\n' >"$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O "$stage/usr/bin/smbfuse" "$stage/usr/lib/cups/backend/smb1" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
depends="$shlibs, fuse3"

size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
mkdir -p "$stage/DEBIAN"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$size/" \
    -e "s/@DEPENDS@/$depends/" "$src/packaging/debian/control.in" >"$stage/DEBIAN/control"
(cd "$stage" && find usr -type f -exec md5sum {} + | sort -k2) >"$stage/DEBIAN/md5sums"

mkdir -p "$out"
deb="$out/smbfuse_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
