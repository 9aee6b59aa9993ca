#!/bin/bash
# Real programs on the mount (signed profile, UNIX extensions): untar a
# tree of thousands of files and diff it, rsync twice (the second run
# copies nothing), git init/add/commit/log.
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

fs_setup signed

# A real tree: some 2,000 headers in a few hundred directories.
SRCTREE=$FS_TMP/src
mkdir -p "$SRCTREE"
tar -C /usr/include -cf "$FS_TMP/tree.tar" linux c++ x86_64-linux-gnu X11 2>/dev/null ||
    tar -C /usr/include -cf "$FS_TMP/tree.tar" .
tar -C "$SRCTREE" -xf "$FS_TMP/tree.tar"
nfiles=$(find "$SRCTREE" -type f | wc -l)
[ "$nfiles" -ge 1000 ] || fail "source tree too small ($nfiles files)"

mkdir "$MNT/untar"
t0=$(date +%s)
tar -C "$MNT/untar" -xf "$FS_TMP/tree.tar" || fail "untar into the mount"
t1=$(date +%s)
diff -r "$SRCTREE" "$MNT/untar" || fail "diff -r after untar"
diff -r "$SRCTREE" "$SHARE_DIR/untar" || fail "diff -r of the server's copy"
fs_log "ok   untar of $nfiles files in $((t1 - t0)) s, diff -r clean"

rsync -a "$SRCTREE/" "$MNT/rs/" || fail "rsync -a"
diff -r "$SRCTREE" "$MNT/rs" || fail "diff after rsync"
changes=$(rsync -a --itemize-changes "$SRCTREE/" "$MNT/rs/") || fail "second rsync"
[ -z "$changes" ] || { echo "$changes" | head -20 >&2; fail "second rsync -a copied again ($(echo "$changes" | wc -l) items)"; }
fs_log "ok   rsync -a twice, the second copies nothing"

mkdir "$MNT/repo"
(
    cd "$MNT/repo"
    export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid
    export GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.invalid
    git init -q .
    cp -r "$SRCTREE/linux" .
    git add -A
    git commit -qm "first"
    echo change >>linux/fs.h
    git commit -qam "second"
    [ "$(git log --oneline | wc -l)" -eq 2 ]
    git fsck --no-progress
    [ -z "$(git status --porcelain)" ]
) || fail "git inside the mount"
fs_log "ok   git init/add/commit/log/fsck"

rm -rf "$MNT/untar" "$MNT/rs" "$MNT/repo" || fail "rm -rf"
fs_server_dir_empties "$SHARE_DIR" || fail "rm -rf left: $(ls -A "$SHARE_DIR" | head)"
fs_log "ok   rm -rf"
fs_log "PASS"
