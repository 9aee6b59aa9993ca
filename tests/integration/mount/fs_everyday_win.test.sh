#!/bin/bash
# Everyday programs on the Windows-like profile (no UNIX extensions), as a
# new user would run them (issue 16): names Windows forbids and names with
# a trailing space or dot, with the default options. One server and one
# mount for all of it.
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

fs_setup nosign
W=$MNT/everyday
mkdir "$W"
cd "$W"

# mapposix is the default (as in cifs.ko): every name a Linux program can
# make round-trips, and rm -rf of them works.
reserved_names() {
    mkdir odd
    local n names=('trailing space ' 'trailing dot.' 'co:lon' 'st*ar' 'qu?est' 'quo"te' 'lt<gt>' 'pi|pe' 'back\slash' 'both. ')
    for n in "${names[@]}"; do
        printf '%s' "$n" >"odd/$n" || return 1
        mkdir "odd/d-$n" || return 1
    done
    local listed
    listed=$(ls odd | sort)
    for n in "${names[@]}"; do
        grep -qxF -- "$n" <<<"$listed" || { echo "missing: '$n'" >&2; return 1; }
        [ "$(cat "odd/$n")" = "$n" ] || return 1
        [ -d "odd/d-$n" ] || return 1
    done
    if ls odd | grep -q '~'; then ls odd >&2; return 1; fi
    rm -rf odd && [ ! -e odd ]
}
check "reserved characters and trailing space/dot round-trip; rm -rf of them" reserved_names

# A name the server itself shows 8.3-mangled (made on the server with a
# trailing space): unlink says EACCES, never EIO.
server_mangled() {
    mkdir mg
    : >"$SHARE_DIR/everyday/mg/made on the server "
    local m out
    m=$(ls mg)
    case $m in *'~'*) ;; *) echo "not mangled: $m" >&2; return 1 ;; esac
    out=$(rm -f "mg/$m" 2>&1) && return 1
    case $out in *"Permission denied"*) ;; *) echo "$out" >&2; return 1 ;; esac
    rm -f "$SHARE_DIR/everyday/mg/made on the server "
    rmdir mg
}
check "unlink of a name the server mangles: EACCES, not EIO" server_mangled

# A write through one hard link is seen through the other at once, and
# both names show two links.
hard_link_write() {
    echo one >hl-a && ln hl-a hl-b || return 1
    [ "$(stat -c %h hl-a)" = 2 ] && [ "$(stat -c %h hl-b)" = 2 ] || { stat -c '%n %h' hl-a hl-b >&2; return 1; }
    echo two >>hl-a
    [ "$(cat hl-b)" = "$(printf 'one\ntwo')" ] || { cat hl-b >&2; return 1; }
    echo three >>hl-b
    [ "$(cat hl-a)" = "$(printf 'one\ntwo\nthree')" ] || { cat hl-a >&2; return 1; }
    [ "$(stat -c %s hl-a)" = 14 ] && [ "$(stat -c %s hl-b)" = 14 ] || return 1
    rm hl-b
    [ "$(stat -c %h hl-a)" = 1 ] || { stat -c '%n %h' hl-a >&2; return 1; }
    rm hl-a
}
check "hard links: a write through one name is seen through the other; link counts" hard_link_write

# rsync -a twice of a tree with read-only files: the second run sends no
# file and finds no time changed (the mode bits beyond the owner's write
# bit are the mount's file_mode, so rsync may still say "p").
rsync_twice() {
    local src=$FS_TMP/rsync-src i out
    mkdir -p "$src/sub"
    for i in $(seq 30); do
        echo "ro $i" >"$src/ro$i.h"
        echo "rw $i" >"$src/sub/rw$i.h"
    done
    chmod 0444 "$src"/ro*.h
    touch -d '2021-03-04 05:06:07' "$src"/ro1*.h
    rsync -a "$src/" rs/ || return 1
    out=$(rsync -ai "$src/" rs/) || return 1
    if grep -E '^>f|^\.[fd]\.\.t' <<<"$out"; then return 1; fi
    rm -rf rs
}
check "rsync -a twice of a tree with read-only files: nothing sent the second time" rsync_twice

# Without UNIX extensions SMB has no FIFOs: a clean EPERM, not ENOSYS.
no_fifo() {
    local out
    out=$(mkfifo ff 2>&1) && return 1
    case $out in *"not permitted"*) ;; *) echo "$out" >&2; return 1 ;; esac
}
check "mkfifo without UNIX extensions: EPERM" no_fifo

# Symlinks as cifs.ko's mfsymlinks files (on by default here): relative,
# absolute, dangling, to a directory; read back here and by a second
# mount; the file on the server is cifs.ko's format.
M2=$FS_TMP/mnt2
# (set +e first: under set -e a failing command would end the trap before
# fs_cleanup unmounts the first mount.)
trap 'rc=$?; set +e; mountpoint -q "$M2" && fusermount3 -uz "$M2"; (exit $rc); fs_cleanup' EXIT
symlinks() {
    echo data >tgt && mkdir sdir && echo x >sdir/f || return 1
    ln -s tgt rel && ln -s /etc/hostname abs && ln -s nowhere dang && ln -s sdir dl || return 1
    check_links() {
        local d=$1
        [ "$(readlink "$d/rel")" = tgt ] && [ "$(readlink "$d/abs")" = /etc/hostname ] &&
            [ "$(readlink "$d/dang")" = nowhere ] && [ "$(readlink "$d/dl")" = sdir ] &&
            [ -L "$d/rel" ] && [ -L "$d/dang" ] && [ -L "$d/dl" ] &&
            [ "$(cat "$d/rel")" = data ] && [ "$(ls "$d/dl/")" = f ] && [ ! -e "$d/dang" ] &&
            [ "$(stat -c %s "$d/rel")" = 3 ] &&
            [ "$(find "$d" -maxdepth 1 -type l | wc -l)" = 4 ]
    }
    check_links . || { ls -l >&2; return 1; }
    local f=$SHARE_DIR/everyday/rel
    [ "$(stat -c %s "$f")" = 1067 ] || return 1
    [ "$(head -c 43 "$f")" = "$(printf 'XSym\n0003\n%s' "$(printf tgt | md5sum | cut -c1-32)")" ] || return 1
    mkdir -p "$M2"
    PASSWD="$SMBD_PASS" "$SMBFUSE" "//127.0.0.1/$SHARE_NAME" "$M2" \
        -o "username=$SMBD_USER,port=$PORT" 2>>"$FS_TMP/smbfuse.log" || return 1
    check_links "$M2/everyday" || { ls -l "$M2/everyday" >&2; fusermount3 -u "$M2"; return 1; }
    fusermount3 -u "$M2" || return 1
    ln -s tgt rel 2>/dev/null && return 1
    rm rel abs dang dl tgt sdir/f && rmdir sdir
}
check "symlinks (relative, absolute, dangling, to a directory), also through a second mount" symlinks

fs_log "PASS"
