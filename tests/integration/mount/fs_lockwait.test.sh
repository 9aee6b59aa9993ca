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

fs_log "PASS"
