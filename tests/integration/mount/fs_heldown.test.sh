#!/bin/bash
# A change of owner held on a file we created (src/ops/op_setown.c: tar's
# chown, whose outcome another file's same change told) that the server
# refuses after all, when it goes out: with the WRITE+CLOSE at close(2),
# at an fsync, or with the chmod that followed it. The error reaches the
# program (close(2) or fsync, once), is logged, and no data is lost. The
# same for the mode (tar's chmod), held for close(2) too, where it goes
# with the owner back to back with the chain (proxy mode failmode).
# The server: plain (unsigned, UNIX extensions) whose user may give files
# away (admin users), behind hostile_proxy.py, whose mode failowner
# refuses every owner change (a server whose rights changed meanwhile).
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

export SMBD_EXTRA_SHARE="admin users = ${SMBD_TEST_USER:-smbtest}"
fs_start_server plain
fs_hostile_proxy
FS_FOREGROUND=1 fs_mount
fs_log "mounted through the proxy"

python3 - "$MNT" "$SHARE_DIR" "$CTL" <<'PY' || fail "held owner changes refused later"
import errno, os, sys
m, s, ctl = sys.argv[1:]

def mode(w):
    with open(os.path.join(ctl, "mode"), "w") as f:
        f.write(w + "\n")

def create(name, data):
    fd = os.open(os.path.join(m, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    assert os.write(fd, data) == len(data)
    return fd

def refused(fn, *a):
    try:
        fn(*a)
    except OSError as e:
        assert e.errno in (errno.EACCES, errno.EPERM), (fn.__name__, e)
        return
    raise AssertionError(f"{fn.__name__} succeeded")

def learn(name, uid):
    """The change to uid succeeds once (sent, answered): the next such is
    held. Each case its own uid: a refusal is learnt too."""
    mode("normal")
    fd = create(name, b"x")
    os.fchown(fd, uid, 2345)
    os.close(fd)
    st = os.stat(os.path.join(s, name))
    assert (st.st_uid, st.st_gid) == (uid, 2345), (name, st.st_uid, st.st_gid)
    mode("failowner")

def on_server(name, data, perm):
    st = os.stat(os.path.join(s, name))
    assert st.st_gid != 2345, (name, "owner changed")
    assert st.st_mode & 0o7777 == perm, (name, oct(st.st_mode))
    with open(os.path.join(s, name), "rb") as f:
        assert f.read() == data, (name, "data")

data = os.urandom(5000)
# held until the WRITE+CLOSE of close(2): close(2) fails, the data is there
learn("learn1", 1231)
fd = create("a", data)
os.fchown(fd, 1231, 2345)  # held: answered without a request
refused(os.close, fd)
on_server("a", data, 0o600)
# pushed by an fsync: the fsync fails, once; the close then succeeds
learn("learn2", 1232)
fd = create("b", data)
os.fchown(fd, 1232, 2345)
refused(os.fsync, fd)
os.write(fd, b"more")
os.close(fd)
on_server("b", data + b"more", 0o600)
# sent with the chmod that followed: the chmod's own part is the chmod's
# (it succeeds), the owner's is close(2)'s
learn("learn3", 1233)
fd = create("c", data)
os.fchown(fd, 1233, 2345)
os.fchmod(fd, 0o640)
refused(os.close, fd)
on_server("c", data, 0o640)
# and once known refused, the next such chown is refused at once
fd = create("d", data)
refused(os.fchown, fd, 1233, 2345)
os.close(fd)
on_server("d", data, 0o600)
# the mode is held for close(2) too: a refusal is close(2)'s, data kept
mode("failmode")
fd = create("e", data)
os.fchmod(fd, 0o640)  # held: answered without a request
refused(os.close, fd)
on_server("e", data, 0o600)
# held, it is on the server once close(2) returned, with the owner
learn("learn4", 1234)
mode("normal")
for i in range(10):
    fd = create(f"f{i}", data)
    os.fchown(fd, 1234, 2345)
    os.fchmod(fd, 0o604)
    os.close(fd)
    st = os.stat(os.path.join(s, f"f{i}"))
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1234, 2345, 0o604), (i, st)
PY
n=$(grep -c "change of the owner of .* (held for its chmod) failed" "$FS_TMP/smbfuse.log" || true)
[ "$n" -ge 3 ] || fail "held owner changes that failed: $n logged, 3 expected"
for f in a b c; do
    grep -q "change of the owner of $f (held for its chmod) failed" "$FS_TMP/smbfuse.log" ||
        fail "the failure of $f is not logged"
done
grep -q "change of the mode of e (held for its close) failed" "$FS_TMP/smbfuse.log" ||
    fail "the failure of e's mode is not logged"
[ "$(grep -c failowner "$CTL/events")" -ge 3 ] || fail "the proxy refused $(grep -c failowner "$CTL/events") changes"
fs_log "ok   a held owner change refused later: close(2) or fsync fails once, logged, data kept"
fs_log "PASS"
