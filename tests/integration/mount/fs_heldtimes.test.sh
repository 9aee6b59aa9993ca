#!/bin/bash
# tar's set of the mtime of a file it created and still writes, held for
# close(2) where the CLOSE cannot carry it (no POSIX open: the nosign
# profile), and sent on the handle in the same wait as the WRITE+CLOSE
# chain (src/ops/op_wb.c, op_wclose.c). Another client sees the time once
# close(2) returned; a set the server refuses (hostile_proxy.py failtimes)
# is close(2)'s error, logged, with the data complete; an fsync, or a stat
# that goes to the server, sends it before.
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

fs_start_server nosign
fs_hostile_proxy
FS_FOREGROUND=1 fs_mount
fs_log "mounted through the proxy"

python3 - "$MNT" "$SHARE_DIR" "$CTL" <<'PY' || fail "held times"
import ctypes, errno, os, sys
m, s, ctl = sys.argv[1:]
libc = ctypes.CDLL(None, use_errno=True)
UTIME_OMIT = (1 << 30) - 2

class Timespec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]

def set_mtime(fd, sec):
    """tar's futimens: the mtime alone, whole seconds."""
    ts = (Timespec * 2)(Timespec(0, UTIME_OMIT), Timespec(sec, 0))
    if libc.futimens(fd, ts) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))

def mode(w):
    with open(os.path.join(ctl, "mode"), "w") as f:
        f.write(w + "\n")

def create(name, data):
    fd = os.open(os.path.join(m, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    assert os.write(fd, data) == len(data)
    return fd

def on_server(name, data, mtime=None):
    st = os.stat(os.path.join(s, name))
    with open(os.path.join(s, name), "rb") as f:
        assert f.read() == data, (name, "data")
    if mtime is not None:
        assert int(st.st_mtime) == mtime, (name, st.st_mtime, mtime)

data = os.urandom(5000)
t0 = 1500000000
# held, then sent with the chain: the server has data and time at close(2)
for i in range(20):
    fd = create(f"ok{i}", data)
    set_mtime(fd, t0 + i)
    assert int(os.fstat(fd).st_mtime) == t0 + i
    os.close(fd)
    on_server(f"ok{i}", data, t0 + i)
# refused: close(2) fails with it, the data is complete
mode("failtimes")
fd = create("a", data)
set_mtime(fd, t0)  # held: answered without a request
try:
    os.close(fd)
    raise AssertionError("close succeeded")
except OSError as e:
    assert e.errno in (errno.EACCES, errno.EPERM), e
on_server("a", data)
# pushed by an fsync: the fsync fails, once; the close then succeeds
fd = create("b", data)
set_mtime(fd, t0)
try:
    os.fsync(fd)
    raise AssertionError("fsync succeeded")
except OSError as e:
    assert e.errno in (errno.EACCES, errno.EPERM), e
os.close(fd)
on_server("b", data)
mode("normal")
# a stat by path that goes to the server (another handle's open) sends it
fd = create("c", data)
set_mtime(fd, t0 + 7)
with open(os.path.join(m, "c"), "rb") as f2:
    assert f2.read() == data
on_server("c", data, t0 + 7)
os.close(fd)
on_server("c", data, t0 + 7)
PY
for f in a b; do
    grep -q "set of the times (held for the close) of $f failed" "$FS_TMP/smbfuse.log" ||
        fail "the failure of $f is not logged"
done
[ "$(grep -c failtimes "$CTL/events")" -ge 2 ] || fail "the proxy refused $(grep -c failtimes "$CTL/events") sets"
# another client sees the time at once (smbclient's allinfo)
smbclient -m NT1 --option='client min protocol=NT1' -p "$SMBD_PORT_REAL" \
    -U "$SMBD_USER%$SMBD_PASS" "//127.0.0.1/$SHARE_NAME" -c "allinfo ok19" 2>/dev/null |
    grep -q "write_time:.*2017" || fail "smbclient does not see ok19's mtime"
fs_log "ok   held times: on the server at close(2); a refusal is close(2)'s or fsync's, logged, data kept"
fs_log "PASS"
