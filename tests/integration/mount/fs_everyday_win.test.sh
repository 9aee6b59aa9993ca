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

fs_log "PASS"
