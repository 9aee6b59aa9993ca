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

# Three sqlite writers in short BEGIN IMMEDIATE transactions, 20 runs:
# never "database is locked" (sqlite_writers.py says why it could be).
sqlite_writers() {
    /usr/bin/python3 "$FS_SRC/tests/integration/mount/sqlite_writers.py" "$W" 20
}
check "3 sqlite writers x 40 short transactions, 20 runs, never 'database is locked'" sqlite_writers

# A lock wait is no request the server holds: a waiter that is
# interrupted stops at once, and the holder's unlock goes through.
lock_wait() {
    /usr/bin/python3 - "$W" <<'PY'
import fcntl, os, signal, sys, time
os.chdir(sys.argv[1])
open("lk", "w").write("x")
fd = os.open("lk", os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    fd2 = os.open("lk", os.O_RDWR)
    class Sig(Exception):
        pass
    def handler(*a):
        raise Sig()
    signal.signal(signal.SIGUSR1, handler)
    os.write(w, b"1")
    try:
        fcntl.lockf(fd2, fcntl.LOCK_EX)  # waits
        os._exit(3)
    except Sig:
        os._exit(0)
    except OSError as e:
        print("  waiter:", e, file=sys.stderr)
        os._exit(4)
def reap(pid, limit):
    end = time.time() + limit
    while time.time() < end:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.WEXITSTATUS(st)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError(f"process {pid} still waiting after {limit} s")
os.read(r, 1)
time.sleep(0.3)
os.kill(pid, signal.SIGUSR1)
assert reap(pid, 2) == 0, "interrupted waiter failed"
# 32 waiters at once: the mount keeps answering others meanwhile
open("other", "w").write("y")
waiters = []
for _ in range(32):
    p = os.fork()
    if p == 0:
        fd2 = os.open("lk", os.O_RDWR)
        try:
            fcntl.lockf(fd2, fcntl.LOCK_EX)
        except OSError:
            pass
        os._exit(0)
    waiters.append(p)
time.sleep(0.5)
t = time.time()
for _ in range(5):
    assert open("other").read() == "y"
    os.stat("other")
    os.listdir(".")
assert time.time() - t < 2, f"the mount stalled behind lock waiters ({time.time() - t:.1f} s)"
fcntl.lockf(fd, fcntl.LOCK_UN)
for p in waiters:
    reap(p, 20)
fcntl.lockf(fd, fcntl.LOCK_EX)
# a waiter gets the lock as soon as the holder lets go
pid = os.fork()
if pid == 0:
    fd2 = os.open("lk", os.O_RDWR)
    fcntl.lockf(fd2, fcntl.LOCK_EX)
    os._exit(0)
time.sleep(0.3)
fcntl.lockf(fd, fcntl.LOCK_UN)
assert reap(pid, 3) == 0
os.close(fd)
os.unlink("lk")
PY
}
check "lock waits: interrupted at once, 32 at once leave the mount usable, granted at the unlock" lock_wait

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

# mkfifo, mknod and a bound UNIX socket make files of those types on the
# server (SET_FILE_UNIX_BASIC with the type), shown so by stat; the FIFO
# works as one, locally, as on any network file system.
special_files() {
    mkfifo ff && mknod nd c 1 3 || return 1
    /usr/bin/python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind("so")' || return 1
    [ "$(stat -c %F ff)" = fifo ] && [ "$(stat -c %F so)" = socket ] || return 1
    [ "$(stat -c '%F %t:%T' nd)" = "character special file 1:3" ] || return 1
    [ -p "$SHARE_DIR/everyday/ff" ] && [ -c "$SHARE_DIR/everyday/nd" ] && [ -S "$SHARE_DIR/everyday/so" ] || return 1
    mkfifo ff 2>/dev/null && return 1
    (echo through >ff &)
    [ "$(timeout 5 cat ff)" = through ] || return 1
    rm ff nd so
}
check "mkfifo, mknod, UNIX socket: the types in stat and on the server" special_files

fs_log "PASS"
