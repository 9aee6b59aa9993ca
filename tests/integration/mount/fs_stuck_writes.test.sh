#!/bin/bash
# A server hung on writes only (it answers everything else, so no stall
# verdict ends the waits early): every write, fsync and close(2) on one
# file ends within about one bound of its own start, however many queue
# on the file (write-behind, held writes), and the mount works afterwards.
# Through a real mount in front of tests/integration/hostile_proxy.py
# (mode nowrite: smbd writes, its WRITE_ANDX replies are dropped), timeout=2.
# And a lock request interrupted while its answer is held back (lockintr).
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

TIMEOUT=2

fs_start_server plain
fs_hostile_proxy
mkdir -p "$SHARE_DIR/d"
chmod 0777 "$SHARE_DIR/d"
echo ok >"$SHARE_DIR/healthy"
trap 'r=$?; set +e; echo normal >"$CTL/mode"; (exit $r); fs_cleanup' EXIT

FS_FOREGROUND=1 FS_ACTIMEO=0 fs_mount "soft,timeout=$TIMEOUT"

# PY MODE: N writers (threads and processes) on one file while the server
# swallows writes; each op's time from its own start.
writers() {
    /usr/bin/python3 - "$MNT/d" "$TIMEOUT" "$CTL/mode" "$1" <<'PY'
import os, sys, threading, time
os.chdir(sys.argv[1])
bound, mode, kind = int(sys.argv[2]) * 1000, sys.argv[3], sys.argv[4]
stop = False
def traffic():  # answered requests all along: no stall verdict
    while not stop:
        open("../healthy").read()
        time.sleep(0.05)
name = "w_" + kind
if kind == "held":  # a file we create: its small writes are held
    fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
else:
    open(name, "w").write("x")
    fd = os.open(name, os.O_WRONLY)
# fds: each writer has a descriptor (a handle) of its own
fds = [os.open(name, os.O_WRONLY) if kind == "fds" else fd for _ in range(6)]
open(mode, "w").write("nowrite\n")
th = threading.Thread(target=traffic)
th.start()
res = {}
def timed(key, fn):
    t = time.monotonic()
    what = "ok"
    try:
        fn()
    except OSError as e:
        what = os.strerror(e.errno)
    res[key] = (what, (time.monotonic() - t) * 1000)
def one(i):
    if kind == "held":
        timed(f"write{i}", lambda: os.pwrite(fd, b"y" * 100, i * 100))
    else:
        timed(f"write{i}", lambda: os.pwrite(fds[i], bytes([65 + i]) * (1 << 20), i << 20))
    timed(f"fsync{i}", lambda: os.fsync(fds[i]))
ts = [threading.Thread(target=one, args=(i,)) for i in range(6)]
for t in ts:
    t.start()
    time.sleep(0.02)
for t in ts:
    t.join()
timed("close", lambda: [os.close(x) for x in set(fds + [fd])])
stop = True
th.join()
open(mode, "w").write("normal\n")
for i in res:
    print(f"  {kind} {i}: {res[i][0]} after {res[i][1]:.0f} ms", file=sys.stderr)
worst = max(ms for _, ms in res.values())
assert worst <= bound + 1500, f"an op waited {worst:.0f} ms (bound {bound} ms)"
assert any(r != "ok" for r, _ in res.values()), "nothing failed: were the writes swallowed?"
PY
}

# The mount works again once the server does (the write verdict holds a
# probe interval, at least 1 s).
recovered() {
    local s=$(($(date +%s%N) / 1000000)) i=0
    until echo ok >"$MNT/d/after"; do
        [ $(($(date +%s%N) / 1000000 - s)) -le 4000 ] || fail "$1: the mount does not recover"
        sleep 0.2
    done
    [ "$(cat "$SHARE_DIR/d/after")" = ok ] || fail "$1: the write after did not reach the server"
    fs_log "ok   $1: writes work again after $(($(date +%s%N) / 1000000 - s)) ms"
}
check "behind: 6 writes+fsyncs of 1 MiB on one descriptor end within the bound" writers behind
recovered behind
check "fds: 6 writes+fsyncs of 1 MiB through 6 descriptors end within the bound" writers fds
recovered fds
check "held: 6 small writes+fsyncs of a new file end within the bound" writers held
recovered held

# lockintr: a lock request the program interrupts (NT_CANCEL) while smbd
# has granted it and the proxy holds the answer back (mode nolock) may be
# granted on the server: it is unlocked (op_lock.c), so another handle gets
# the range at once (without: EAGAIN until the first handle closes).
lockintr() {
    /usr/bin/python3 - "$MNT/d" "$TIMEOUT" "$CTL/mode" <<'PY'
import fcntl, os, signal, sys, time
os.chdir(sys.argv[1])
bound, mode = int(sys.argv[2]) * 1000, sys.argv[3]
open("li", "w").write("x")
fd = os.open("li", os.O_RDWR)  # the handle stays open after the child
open(mode, "w").write("nolock\n")
class Intr(Exception):
    pass
def on_usr1(sig, frame):
    raise Intr()
pid = os.fork()
if pid == 0:
    signal.signal(signal.SIGUSR1, on_usr1)
    t = time.monotonic()
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os._exit(3)
    except Intr:
        ms = (time.monotonic() - t) * 1000
        print(f"  the lock request was interrupted after {ms:.0f} ms", file=sys.stderr)
        os._exit(0 if ms < bound else 4)
    except OSError as e:
        print(f"  the lock request failed: {e}", file=sys.stderr)
        os._exit(5)
time.sleep(0.5)
os.kill(pid, signal.SIGUSR1)
_, st = os.waitpid(pid, 0)
open(mode, "w").write("normal\n")
assert os.WEXITSTATUS(st) == 0, f"lock request: exit {os.WEXITSTATUS(st)}"
fd2 = os.open("li", os.O_RDWR)
try:
    fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError as e:
    raise AssertionError(f"the range of the interrupted lock is still held: {e}")
os.close(fd2)
os.close(fd)
PY
}
check "lockintr: an interrupted lock request leaves nothing locked on the server" lockintr
fs_log "PASS"
