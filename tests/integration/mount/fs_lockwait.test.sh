#!/bin/bash
# Lock waits against a server that allows one request in flight
# (max mux = 1, MaxMpxCount 1; issue 11): a waiter must not hold the one
# slot, so the holder's unlock, and everything else on the mount, goes
# through while it waits.
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

export SMBD_EXTRA_GLOBAL="max mux = 1"
fs_setup signed
cd "$MNT"
grep -q "max mpx 1," "$FS_TMP/smbfuse.log" || fail "the server did not limit us to one request"

mpx1_wait() {
    /usr/bin/python3 - "$MNT" <<'PY'
import fcntl, os, signal, sys, time
os.chdir(sys.argv[1])
open("lk", "w").write("x")
open("other", "w").write("y")
fd = os.open("lk", os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX)
waiters = []
for _ in range(3):
    p = os.fork()
    if p == 0:
        fd2 = os.open("lk", os.O_RDWR)
        fcntl.lockf(fd2, fcntl.LOCK_EX)  # waits; closing at exit unlocks
        time.sleep(0.05)
        os._exit(0)
    waiters.append(p)
time.sleep(0.5)
t = time.time()
for _ in range(5):
    assert open("other").read() == "y"
    os.listdir(".")
assert time.time() - t < 2, f"the mount stalled behind a lock waiter ({time.time() - t:.1f} s)"
fcntl.lockf(fd, fcntl.LOCK_UN)
end = time.time() + 15
for p in waiters:
    while True:
        done, st = os.waitpid(p, os.WNOHANG)
        if done:
            assert os.WEXITSTATUS(st) == 0
            break
        if time.time() > end:
            for q in waiters:
                os.kill(q, signal.SIGKILL)
            raise AssertionError("waiters still waiting after the unlock")
        time.sleep(0.02)
os.close(fd)
PY
}
check "MaxMpxCount 1: waiters keep no slot; the unlock and other requests go through" mpx1_wait

# A rename of a file that a process waits to lock (F_SETLKW, then flock)
# finishes at once: libfuse gives the callbacks that carry a handle no
# path (nullpath_ok), so the wait holds no lock on the file's name that
# the rename would need (before, the rename waited until the lock wait
# ended: the holder's unlock, or the timeout). Then the holder unlocks
# and the waiter, on the file under its new name, gets the lock.
rename_during_wait() {
    /usr/bin/python3 - "$MNT" <<'PY'
import fcntl, os, signal, sys, threading, time
os.chdir(sys.argv[1])

def in_fcntl_or_flock(pid):
    # x86_64 system call numbers: fcntl 72, flock 73.
    try:
        nr = open(f"/proc/{pid}/syscall").read().split()[0]
    except (OSError, IndexError):
        return False
    return nr in ("72", "73")

for kind in ("fcntl", "flock"):
    a, b = f"mv_{kind}_a", f"mv_{kind}_b"
    open(a, "w").write(kind)
    fd = os.open(a, os.O_RDWR)
    take = (lambda f: fcntl.lockf(f, fcntl.LOCK_EX)) if kind == "fcntl" else (
        lambda f: fcntl.flock(f, fcntl.LOCK_EX))
    drop = (lambda f: fcntl.lockf(f, fcntl.LOCK_UN)) if kind == "fcntl" else (
        lambda f: fcntl.flock(f, fcntl.LOCK_UN))
    take(fd)
    r, w = os.pipe()
    p = os.fork()
    if p == 0:
        os.close(r)
        fd2 = os.open(a, os.O_RDWR)
        take(fd2)  # waits for the holder
        os.write(w, b"g")
        os._exit(0)
    os.close(w)
    end = time.time() + 10
    while not in_fcntl_or_flock(p):
        assert time.time() < end, f"{kind}: the waiter never began to wait"
        time.sleep(0.01)
    time.sleep(0.3)  # its request reaches smbfuse's retry loop
    done = []
    t0 = time.time()
    th = threading.Thread(target=lambda: (os.rename(a, b), done.append(time.time() - t0)))
    th.start()
    th.join(3)
    if not done:
        drop(fd)  # ends the wait, so that the rename and the test end
        th.join(60)
        os.waitpid(p, 0)
        raise AssertionError(f"{kind}: the rename waited for the lock wait "
                             f"({time.time() - t0:.1f} s)")
    print(f"{kind}: rename during the lock wait took {done[0]:.3f} s", file=sys.stderr)
    assert done[0] < 1.5, f"{kind}: rename took {done[0]:.1f} s"
    assert not os.path.exists(a) and os.path.exists(b)
    # The waiter still waits: the holder has the lock.
    assert not os.waitpid(p, os.WNOHANG)[0], f"{kind}: the waiter stopped waiting"
    drop(fd)
    import select
    ready, _, _ = select.select([r], [], [], 15)
    assert ready and os.read(r, 1) == b"g", f"{kind}: the waiter did not get the lock"
    _, st = os.waitpid(p, 0)
    assert os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0
    os.close(r)
    os.close(fd)
    # (SMB locks are enforced: the bytes can be read once nobody holds them)
    assert open(b).read() == kind
    os.unlink(b)
PY
}
check "a rename during a lock wait on the file finishes at once" rename_during_wait

fs_log "PASS"
