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

fs_log "PASS"
