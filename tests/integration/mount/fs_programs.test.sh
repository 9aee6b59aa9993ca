#!/bin/bash
# Real programs on the mount, on both profiles, each compared with what a
# local disk does: sqlite3 in rollback-journal mode (its locks upgrade a
# shared range to an exclusive one in place, which SMB byte-range locks
# cannot do as such), the POSIX lock semantics it relies on, and hard
# links made by tar (the first name's link count right after the link,
# one inode number for both names), mv of a directory with an open file,
# cp -a of symlinks.
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

# POSIX lock semantics between two processes: upgrade and downgrade in
# place, a partial unlock splits a range, F_GETLK ignores our own locks,
# unlock of everything frees everything.
lock_checks() {
    /usr/bin/python3 - "$1" <<'EOF'
import errno, fcntl, os, struct, sys
os.chdir(sys.argv[1])
with open("locks", "wb") as f:
    f.write(b"x" * 4096)
fd = os.open("locks", os.O_RDWR)

def child(fn):
    """fn runs in another process with its own descriptor: True/False."""
    pid = os.fork()
    if pid == 0:
        fd2 = os.open("locks", os.O_RDWR)
        try:
            os._exit(0 if fn(fd2) else 1)
        except BaseException:
            os._exit(2)
    _, st = os.waitpid(pid, 0)
    assert os.WIFEXITED(st) and os.WEXITSTATUS(st) != 2, f"child crashed ({st})"
    return os.WEXITSTATUS(st) == 0

def can_lock(kind, length, start):
    def fn(fd2):
        try:
            fcntl.lockf(fd2, kind | fcntl.LOCK_NB, length, start)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            return False
        return True
    return child(fn)

def getlk(kind, length, start):
    fl = struct.pack("hhqqi", kind, 0, start, length, 0)
    return struct.unpack("hhqqi", fcntl.fcntl(fd, fcntl.F_GETLK, fl))[0]

# sqlite's SHARED -> EXCLUSIVE on its lock bytes at 1 GiB
fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB, 510, 1 << 30)
assert can_lock(fcntl.LOCK_SH, 510, 1 << 30), "a second shared lock refused"
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 510, 1 << 30)  # upgrade in place
assert not can_lock(fcntl.LOCK_SH, 1, (1 << 30) + 100), "exclusive range still shareable"
assert getlk(fcntl.F_WRLCK, 510, 1 << 30) == fcntl.F_UNLCK, "F_GETLK: own lock conflicts"
fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB, 510, 1 << 30)  # downgrade in place
assert can_lock(fcntl.LOCK_SH, 510, 1 << 30), "downgraded range not shareable"
assert not can_lock(fcntl.LOCK_EX, 1, 1 << 30), "downgraded range lockable exclusively"
fcntl.lockf(fd, fcntl.LOCK_UN, 510, 1 << 30)
assert can_lock(fcntl.LOCK_EX, 510, 1 << 30), "released range still held"
print("  ok upgrade / downgrade in place", file=sys.stderr)

# a hole unlocked in the middle of a range; a lock over two ranges
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 0)
fcntl.lockf(fd, fcntl.LOCK_UN, 10, 10)
assert can_lock(fcntl.LOCK_EX, 10, 10), "unlocked hole still held"
assert not can_lock(fcntl.LOCK_EX, 1, 5), "left part lost"
assert not can_lock(fcntl.LOCK_EX, 1, 50), "right part lost"
fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB, 200, 0)  # over both parts and the hole
assert can_lock(fcntl.LOCK_SH, 1, 15), "shared range refused to a reader"
assert not can_lock(fcntl.LOCK_EX, 1, 150), "shared range lockable exclusively"
fcntl.lockf(fd, fcntl.LOCK_UN, 0, 0)  # everything
assert can_lock(fcntl.LOCK_EX, 0, 0), "unlock of everything left a range"
# a refused upgrade keeps the shared lock
fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB, 10, 0)
def upgrade_refused(fd2):
    fcntl.lockf(fd2, fcntl.LOCK_SH | fcntl.LOCK_NB, 10, 0)
    pid = os.fork()
    if pid == 0:  # the parent's shared lock keeps our upgrade out
        try:
            fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
            os._exit(1)
        except OSError:
            os._exit(0)
    os.waitpid(pid, 0)
    try:
        fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
        return False
    except OSError as e:
        return e.errno in (errno.EAGAIN, errno.EACCES)
assert child(upgrade_refused), "an upgrade against another reader succeeded"
assert not can_lock(fcntl.LOCK_EX, 10, 0), "a refused upgrade of another process dropped our lock"
fcntl.lockf(fd, fcntl.LOCK_UN, 0, 0)
os.close(fd)
os.unlink("locks")
print("  ok split, merge, refused upgrade", file=sys.stderr)
EOF
}

sqlite_checks() {
    local d=$1
    mkdir -p "$d"
    (
        cd "$d"
        sqlite3 t.db "PRAGMA journal_mode=delete; CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);" >/dev/null ||
            fail "sqlite3: create (database is locked?)"
        /usr/bin/python3 - <<'EOF' || fail "sqlite3: 2,000 rows in transactions"
import sqlite3
c = sqlite3.connect("t.db", timeout=20)
for _ in range(4):
    with c:
        c.executemany("INSERT INTO t(b) VALUES (?)", [("x" * 100,)] * 500)
assert c.execute("SELECT count(*) FROM t").fetchone()[0] == 2000
EOF
        # readers while a writer writes, then writers one after another.
        # Not two writers at once: Samba 4.17 maps our locks onto OFD
        # locks of the one smbd process of the connection, and a shared
        # lock given up while another of our handles shares the range
        # stays on the server until its handle is closed (A shares, B
        # shares, A unlocks: B's upgrade is refused), so two writers that
        # both stay open can stall each other until the busy timeout.
        /usr/bin/python3 - <<'EOF' &
import sqlite3
c = sqlite3.connect("t.db", timeout=20)
for _ in range(10):
    with c:
        c.executemany("INSERT INTO t(b) VALUES (?)", [("y" * 100,)] * 50)
EOF
        local wp=$! i
        for i in 1 2 3 4 5 6; do
            sqlite3 -cmd ".timeout 20000" t.db "SELECT count(*) FROM t" >/dev/null ||
                fail "sqlite3: reader during a write"
        done
        wait "$wp" || fail "sqlite3: writer beside a reader"
        local w
        for w in 1 2 1 2; do
            /usr/bin/python3 - "$w" <<'EOF' || fail "sqlite3: writer $w after the other"
import sqlite3, sys
c = sqlite3.connect("t.db", timeout=20)
for _ in range(10):
    with c:
        c.execute("INSERT INTO t(b) VALUES (?)", ("w" + sys.argv[1],))
EOF
        done
        [ "$(sqlite3 t.db 'PRAGMA integrity_check; SELECT count(*) FROM t;' | tr '\n' ' ')" = "ok 2540 " ] ||
            fail "sqlite3: $(sqlite3 t.db 'PRAGMA integrity_check; SELECT count(*) FROM t;' | tr '\n' ' ')"
    )
}

# tar writes the second name first, then links the first to it: both
# show two links at once, as on a local disk.
hardlink_checks() {
    local d=$1 src=$FS_TMP/hl-src
    mkdir -p "$src" "$d"
    echo data >"$src/a"
    ln "$src/a" "$src/b"
    tar -C "$src" -cf "$FS_TMP/hl.tar" b a
    tar -C "$d" -xf "$FS_TMP/hl.tar" || fail "tar x of hard links"
    [ "$(stat -c %h "$d/a") $(stat -c %h "$d/b")" = "2 2" ] ||
        fail "link counts after tar x: $(stat -c '%n %h' "$d/a" "$d/b" | tr '\n' ' ')"
    echo x >"$d/c"
    ln "$d/c" "$d/e"
    [ "$(stat -c %h "$d/c")" = 2 ] || fail "link count of the first name after ln: $(stat -c %h "$d/c")"
    # one inode number for both names (the server's), so tar c archives a
    # link and du counts the data once
    [ "$(stat -c %i "$d/a")" = "$(stat -c %i "$d/b")" ] ||
        fail "hard links with two inode numbers: $(stat -c '%n %i' "$d/a" "$d/b" | tr '\n' ' ')"
    [ "$(stat -c %i "$d/a")" = "$(stat -c %i "$SHARE_DIR/hl/a")" ] || fail "inode number is not the server's"
    tar -C "$d" -cf - a b | tar -tvf - | grep -q '^h.* b link to a$' ||
        fail "tar c stored the hard link as a second copy: $(tar -C "$d" -cf - a b | tar -tvf -)"
}

# mv of a directory while a file in it is open (an editor, a log): POSIX
# servers do it; a Windows-like one refuses, which must read as "in use"
# (EBUSY), not as a permission problem, and work once the file is closed.
dir_move_checks() {
    /usr/bin/python3 - "$1" "$2" <<'EOF'
import errno, os, sys
os.chdir(sys.argv[1])
os.makedirs("mvd/sub")
with open("mvd/sub/f", "w") as f:
    f.write("x")
fd = os.open("mvd/sub/f", os.O_RDWR)
try:
    os.rename("mvd", "mvd2")
    moved = True
except OSError as e:
    assert sys.argv[2] == "nounix", f"rename refused on a POSIX server: {e}"
    assert e.errno == errno.EBUSY, f"rename of a directory in use: {e}"
    moved = False
os.pwrite(fd, b"y", 0)
os.close(fd)
if not moved:
    os.rename("mvd", "mvd2")
with open("mvd2/sub/f") as f:
    assert f.read() == "y"
EOF
}

# cp -a of a tree with symlinks (one dangling). Samba cannot set a
# symlink's own times, and SMB1 sets times through a link on its target:
# the lutimes fails (ENOSYS, which rsync takes as "not supported"), so cp
# copies everything and complains only of the symlinks' times, and the
# file a link points to keeps its own times.
symlink_copy_checks() {
    local src=$FS_TMP/cpa-src d=$1 err=$FS_TMP/cpa.err
    rm -rf "$src"
    mkdir -p "$src/sub"
    echo data >"$src/sub/f"
    touch -d '2001-02-03 04:05:06' "$src/sub/f"
    ln -s f "$src/sub/l"
    ln -s nowhere "$src/sub/dangling"
    cp -a "$src" "$d" 2>"$err"
    if grep -v -E "^cp: preserving times for '$d/sub/(l|dangling)': Function not implemented\$" "$err"; then
        fail "cp -a: an error other than a symlink's times"
    fi
    [ "$(readlink "$d/sub/l")" = f ] || fail "cp -a: symlink target $(readlink "$d/sub/l")"
    [ "$(readlink "$d/sub/dangling")" = nowhere ] || fail "cp -a: dangling symlink"
    [ "$(cat "$d/sub/f")" = data ] || fail "cp -a: file content"
    [ "$(stat -c %Y "$SHARE_DIR/cpa/sub/f")" = "$(stat -c %Y "$src/sub/f")" ] ||
        fail "cp -a: the file's mtime on the server $(stat -c %y "$SHARE_DIR/cpa/sub/f") (a symlink's times reached it?)"
}

for profile in signed nosign; do
    fs_setup "$profile"
    check "$profile: POSIX lock semantics" lock_checks "$MNT"
    check "$profile: sqlite3 rollback journal, readers and writers" sqlite_checks "$MNT/sq"
    check "$profile: mv of a directory with an open file" dir_move_checks "$MNT" \
        "$([ "$profile" = signed ] && echo unix || echo nounix)"
    if [ "$profile" = signed ]; then
        check "$profile: hard links" hardlink_checks "$MNT/hl"
        check "$profile: cp -a of symlinks" symlink_copy_checks "$MNT/cpa"
    fi
    fs_unmount
    fs_stop_server
done
fs_log "PASS"
