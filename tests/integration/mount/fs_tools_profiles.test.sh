#!/bin/bash
# The everyday checks of fs_tools and fs_everyday (signed) on the other
# profiles (issue 15: on every profile): plain (UNIX extensions, no
# signing) and nosign (Windows-like: no UNIX extensions), each in a
# process of its own, at the same time, with a smaller tree. The mapped
# user may not give files away, so tar and rsync run as a user's would
# (no owners kept: tar --no-same-owner, rsync -rlpt; -rlt without UNIX
# extensions, where a file has no mode of its own), and git trusts the
# repository whose files the server says belong to that user.
#   untar of some 750 files and a symlink, diff -r through the mount
#   (and, with UNIX extensions, of the server's copy); rsync twice, the
#   second copies nothing; git clone of a repository on the mount, a
#   commit, git fsck, a clone back; three sqlite writers in short
#   transactions; rm -rf leaves nothing.
# The two profiles at once (their own servers, ports and mounts).
if [ $# -eq 0 ]; then
    bash "${BASH_SOURCE[0]}" plain &
    p1=$!
    bash "${BASH_SOURCE[0]}" nosign &
    p2=$!
    rc=0
    wait $p1 || rc=1
    wait $p2 || rc=1
    exit $rc
fi
PROFILE=$1
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

fs_setup "$PROFILE"

SRCTREE=$FS_TMP/src
mkdir -p "$SRCTREE"
mkdir "$FS_TMP/stage"
cp -r /usr/include/linux "$FS_TMP/stage/"
ln -s linux/types.h "$FS_TMP/stage/types-link.h"
tar -C "$FS_TMP/stage" -cf "$FS_TMP/tree.tar" .
tar -C "$SRCTREE" -xf "$FS_TMP/tree.tar"
nfiles=$(find "$SRCTREE" -type f | wc -l)
[ "$nfiles" -ge 500 ] || fail "source tree too small ($nfiles files)"

mkdir "$MNT/untar"
tar --no-same-owner -C "$MNT/untar" -xf "$FS_TMP/tree.tar" || fail "untar into the mount"
diff -r "$SRCTREE" "$MNT/untar" || fail "diff -r after untar"
[ "$(readlink "$MNT/untar/types-link.h")" = linux/types.h ] || fail "the symlink did not stay one"
if [ "$PROFILE" = plain ]; then
    diff -r "$SRCTREE" "$SHARE_DIR/untar" || fail "diff -r of the server's copy"
fi
fs_log "ok   $PROFILE: untar of $nfiles files, diff -r clean"

# Without UNIX extensions a file has no mode of its own to keep (only the
# read-only attribute: file_mode= gives the rest), as on cifs.ko.
RSYNC_OPTS=-rlpt
[ "$PROFILE" = nosign ] && RSYNC_OPTS=-rlt
rsync $RSYNC_OPTS "$SRCTREE/" "$MNT/rs/" || fail "rsync $RSYNC_OPTS"
diff -r "$SRCTREE" "$MNT/rs" || fail "diff after rsync"
changes=$(rsync $RSYNC_OPTS --itemize-changes "$SRCTREE/" "$MNT/rs/") || fail "second rsync"
[ -z "$changes" ] || {
    echo "$changes" | head -20 >&2
    fail "second rsync copied again ($(echo "$changes" | wc -l) items)"
}
fs_log "ok   $PROFILE: rsync twice, the second copies nothing"

export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid
export GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.invalid
# git's own processes (upload-pack of a clone) read only the global file.
export HOME=$FS_TMP/home
mkdir -p "$HOME"
git config --global safe.directory '*'
(
    set -e
    git init -q "$FS_TMP/origin"
    cp -r "$SRCTREE/linux" "$FS_TMP/origin/"
    cd "$FS_TMP/origin"
    git add -A
    git commit -qm first
    git clone -q "$FS_TMP/origin" "$MNT/clone"
    cd "$MNT/clone"
    git fsck --no-progress
    echo change >>"$(git ls-files | head -1)"
    git commit -qam second
    [ "$(git log --oneline | wc -l)" -eq 2 ]
    [ -z "$(git status --porcelain)" ]
    git fsck --no-progress
    git clone -q "$MNT/clone" "$FS_TMP/back"
    [ "$(git -C "$FS_TMP/back" log --oneline | wc -l)" -eq 2 ]
) || fail "git clone/commit/fsck on the mount"
fs_log "ok   $PROFILE: git clone onto the mount, commit, fsck, clone back"

/usr/bin/python3 "$FS_SRC/tests/integration/mount/sqlite_writers.py" "$MNT" 3 ||
    fail "sqlite writers"
fs_log "ok   $PROFILE: 3 sqlite writers x 40 transactions, 3 runs, all rows, integrity ok"

rm -rf "$MNT/untar" "$MNT/rs" "$MNT/clone" || fail "rm -rf"
fs_server_dir_empties "$SHARE_DIR" || fail "rm -rf left: $(ls -A "$SHARE_DIR" | head)"
fs_log "ok   $PROFILE: rm -rf"
fs_log "PASS ($PROFILE)"
