#!/bin/bash
# Self-test of the server harness (harness/smbd.sh and its C face): each
# smbd profile comes up speaking only SMB1 with the promised security
# settings, impacket comes up, restart keeps the port, and after a stop
# (or a crashed owner plus harness_cleanup) nothing of a server is left.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=${SMBFUSE_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
# shellcheck source=harness/smbd.sh
. "$SRC/tests/integration/harness/smbd.sh"

T_TMP=$(mktemp -d /tmp/smbfuse-htest.XXXXXX)
passed=0
failed=0
cleanup() {
    local rc=$?
    set +e
    smbd_stop >/dev/null 2>&1
    impacket_stop >/dev/null 2>&1
    rm -rf "$T_TMP"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

# check NAME cmd...: the command succeeds.
check() {
    local name=$1
    shift
    [ -f "$T_TMP/out" ] && mv "$T_TMP/out" "$T_TMP/prev"
    if "$@" >"$T_TMP/out" 2>&1; then
        ok "$name"
    else
        bad "$name"
        sed 's/^/     | /' "$T_TMP/out" | tail -n 15
    fi
}

# refuse NAME cmd...: the command fails.
refuse() {
    local name=$1
    shift
    [ -f "$T_TMP/out" ] && mv "$T_TMP/out" "$T_TMP/prev"
    if "$@" >"$T_TMP/out" 2>&1; then
        bad "$name (succeeded, should have failed)"
        sed 's/^/     | /' "$T_TMP/out" | tail -n 15
    else
        ok "$name"
    fi
}

NT1=(--option='client min protocol=NT1' --option='client max protocol=NT1')

# smb PORT SHARE CMDS [smbclient options...] (user smbtest unless -N given)
smb() {
    local port=$1 share=$2 cmds=$3
    shift 3
    local cred=(-U "$SMBD_TEST_USER%$SMBD_TEST_PASS")
    case " $* " in *" -N "* | *" -U "*) cred=() ;; esac
    timeout 30 smbclient "${NT1[@]}" -p "$port" "//127.0.0.1/$share" "${cred[@]}" "$@" -c "$cmds"
}

# Nothing that names directory $1 runs any more, and $1 is gone.
server_gone() {
    local d=$1 f p files
    [ ! -e "$d" ] || { echo "$d still exists"; return 1; }
    # One grep over every command line (the string in a file, so that the
    # grep's own does not match); not harness_pids_naming, which is what
    # the stop itself uses.
    printf '%s\n' "$d/" >"$T_TMP/gone.pat"
    files=$(grep -lsFf "$T_TMP/gone.pat" /proc/[0-9]*/cmdline) || true
    for f in $files; do
        p=${f#/proc/}
        p=${p%/cmdline}
        [ "$p" = "$$" ] && continue
        echo "still running: $(tr '\0' ' ' <"$f" 2>/dev/null)"
        return 1
    done
}

# grep_out PATTERN: the output of the previous check/refuse matches.
grep_out() { grep -q -- "$1" "$T_TMP/prev"; }

# negprot PORT EXPECTED: what the server offers in its NEGOTIATE reply.
negprot() {
    local got
    got=$(/usr/bin/python3 "$SRC/tests/integration/harness/smb1_negprot.py" "$1") || return 1
    echo "$got"
    case " $got " in *" $2 "*) return 0 ;; esac
    return 1
}

# ---- signed: signing mandatory, NTLMv2 only, UNIX extensions, printer
smbd_start signed >/dev/null
echo "# signed on port $SMBD_PORT ($SMBD_DIR)"
d=$SMBD_DIR
echo "from the server side" >"$SMBD_SHARE_DIR/srv.txt"
check "signed: ls with client signing required" \
    smb "$SMBD_PORT" share 'ls' --option='client signing=required'
check "signed: the server-side file is listed" grep_out srv.txt
check "signed: put and get round-trip" \
    smb "$SMBD_PORT" share "put /etc/os-release up.txt; get up.txt $T_TMP/down.txt" \
    --option='client signing=required'
check "signed: the file arrived on the server" cmp /etc/os-release "$SMBD_SHARE_DIR/up.txt"
check "signed: and came back intact" cmp /etc/os-release "$T_TMP/down.txt"
refuse "signed: a client that will not sign is refused" \
    smb "$SMBD_PORT" share 'ls' --option='client signing=disabled'
refuse "signed: NTLMv1 is refused (ntlmv2-only)" \
    smb "$SMBD_PORT" share 'ls' --option='client ntlmv2 auth=no' --option='client use spnego=no'
refuse "signed: a wrong password is refused" \
    smb "$SMBD_PORT" share 'ls' -U "$SMBD_TEST_USER%wrong-password"
check "signed: NEGOTIATE requires signing" negprot "$SMBD_PORT" "signing=required"
check "signed: NEGOTIATE offers CAP_UNIX" negprot "$SMBD_PORT" "unix=yes"
check "signed: CIFS UNIX extensions offered" \
    smb "$SMBD_PORT" share 'posix' --option='client signing=required'
check "signed: posix reports the extensions" grep_out 'CIFS extensions'
check "signed: printer share accepts a print job" \
    smb "$SMBD_PORT" printer 'print /etc/hostname' --option='client signing=required'
check "signed: plain share works" \
    smb "$SMBD_PORT" plain 'mkdir x; ls' --option='client signing=required'
check "signed: share list has share, plain, printer, IPC\$" \
    bash -c "timeout 30 smbclient ${NT1[*]@Q} -p $SMBD_PORT -L 127.0.0.1 -U '$SMBD_TEST_USER%$SMBD_TEST_PASS' 2>&1 | grep -q 'printer *Printer'"
check "signed: only NT1 is spoken (SMB2 client refused)" \
    bash -c "! timeout 30 smbclient --option='client min protocol=SMB2' -p $SMBD_PORT //127.0.0.1/share -U '$SMBD_TEST_USER%$SMBD_TEST_PASS' -c ls"
check "signed: user.* xattrs work in the share (EAs need them)" \
    /usr/bin/python3 -c "import os,sys; p=sys.argv[1]; os.setxattr(p,'user.t',b'1'); assert os.getxattr(p,'user.t')==b'1'" \
    "$SMBD_SHARE_DIR/srv.txt"
# NetBIOS session service framing: a session request is answered with a
# positive response (0x82) even off port 139.
check "signed: NBT session request answered positively" \
    /usr/bin/python3 - "$SMBD_PORT" <<'PY'
import socket, sys
def enc(name, suffix):
    n = name.upper().ljust(15)[:15].encode() + bytes([suffix])
    out = bytearray([32])
    for c in n:
        out += bytes([0x41 + (c >> 4), 0x41 + (c & 15)])
    return bytes(out) + b"\0"
body = enc("*SMBSERVER", 0x20) + enc("HTEST", 0)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(bytes([0x81, 0, 0, len(body)]) + body)
r = s.recv(4)
assert r[:1] == b"\x82", r.hex()
PY
old_port=$SMBD_PORT
old_pid=$SMBD_PID
check "signed: smbd_restart" smbd_restart
[ "$SMBD_PID" != "$old_pid" ] && ok "signed: restart made a new process" || bad "signed: restart kept pid $old_pid"
check "signed: works again on the same port after restart" \
    smb "$old_port" share 'ls' --option='client signing=required'
check "signed: files survive the restart" grep_out up.txt
check "signed: smbd_stop" smbd_stop
check "signed: nothing left after stop" server_gone "$d"

# ---- nosign: signing disabled, no UNIX extensions
smbd_start nosign >/dev/null
echo "# nosign on port $SMBD_PORT"
d=$SMBD_DIR
check "nosign: ls unsigned" smb "$SMBD_PORT" share 'ls' --option='client signing=disabled'
check "nosign: NEGOTIATE offers no signing" negprot "$SMBD_PORT" "signing=off"
check "nosign: NEGOTIATE offers no CAP_UNIX" negprot "$SMBD_PORT" "unix=no"
refuse "nosign: no CIFS UNIX extensions" smb "$SMBD_PORT" share 'posix'
refuse "nosign: NTLMv1 refused" \
    smb "$SMBD_PORT" share 'ls' --option='client ntlmv2 auth=no' --option='client use spnego=no'
check "nosign: smbd_stop" smbd_stop
check "nosign: nothing left after stop" server_gone "$d"

# ---- legacy: NTLMv1 and LANMAN
smbd_start legacy >/dev/null
echo "# legacy on port $SMBD_PORT"
d=$SMBD_DIR
check "legacy: NEGOTIATE offers optional signing" negprot "$SMBD_PORT" "signing=enabled"
check "legacy: NTLMv1 logon" \
    smb "$SMBD_PORT" share 'ls' --option='client ntlmv2 auth=no' --option='client use spnego=no'
check "legacy: NTLMv2 logon" smb "$SMBD_PORT" share 'ls'
check "legacy: the LM hash is stored" \
    bash -c "pdbedit -s '$SMBD_CONF' -L -w | grep '^$SMBD_TEST_USER:' | cut -d: -f3 | grep -qv '^X*\$'"
check "legacy: logon with LM responses enabled" \
    smb "$SMBD_PORT" share 'ls' --option='client ntlmv2 auth=no' --option='client use spnego=no' \
    --option='client lanman auth=yes'
check "legacy: smbd_stop" smbd_stop
check "legacy: nothing left after stop" server_gone "$d"

# ---- guest
smbd_start guest >/dev/null
echo "# guest on port $SMBD_PORT"
d=$SMBD_DIR
check "guest: NEGOTIATE offers optional signing" negprot "$SMBD_PORT" "signing=enabled"
check "guest: anonymous ls" smb "$SMBD_PORT" share 'ls' -N
check "guest: anonymous put" smb "$SMBD_PORT" share "put /etc/hostname g.txt" -N
check "guest: the file landed" test -s "$SMBD_SHARE_DIR/g.txt"
check "guest: an unknown user becomes guest" \
    smb "$SMBD_PORT" share 'ls' -U "nosuchuser%whatever"
check "guest: smbd_stop" smbd_stop
check "guest: nothing left after stop" server_gone "$d"

# ---- impacket
impacket_start >/dev/null
echo "# impacket on port $IMPACKET_PORT"
d=$IMPACKET_DIR
echo hello >"$IMPACKET_SHARE_DIR/i.txt"
check "impacket: ls and get unsigned" \
    smb "$IMPACKET_PORT" SHARE "ls; get i.txt $T_TMP/i.txt" --option='client signing=disabled'
check "impacket: content" grep -qx hello "$T_TMP/i.txt"
refuse "impacket: a wrong password is refused" \
    smb "$IMPACKET_PORT" SHARE 'ls' -U "$SMBD_TEST_USER%wrong-password"
check "impacket: impacket_stop" impacket_stop
check "impacket: nothing left after stop" server_gone "$d"

# ---- extra smb.conf lines
SMBD_EXTRA_GLOBAL="max xmit = 8192" smbd_start nosign >/dev/null
check "extra: SMBD_EXTRA_GLOBAL reaches smb.conf (max xmit 8192 on the wire)" \
    negprot "$SMBD_PORT" "maxbuf=8192"
check "extra: smbd_stop" smbd_stop

# ---- a crashed owner: the server is reaped by harness_cleanup
orphan=$(bash -c ". '$SRC/tests/integration/harness/smbd.sh'; smbd_start nosign | sed -n 's/^SMBD_DIR=//p'")
check "cleanup: an orphaned server is running" test -d "$orphan"
check "cleanup: harness_cleanup" harness_cleanup
check "cleanup: the orphan is gone" server_gone "$orphan"

# ---- the NetBIOS port: smbd on 127.0.0.1:139
if harness_port_open 127.0.0.1 139; then
    # A system smbd (started by the samba package on some machines) holds
    # the NetBIOS port; that is the machine's business, not a harness fault.
    echo "skip nbt: port 139 is held by: $(ss -Hltnp 'sport = :139' 2>/dev/null | sed 's/.*users://' | head -n 1)"
else
    smbd_start nosign nbt >/dev/null
    d=$SMBD_DIR
    check "nbt: smbd on 127.0.0.1:139" \
        bash -c "timeout 30 smbclient ${NT1[*]@Q} -p 139 -I 127.0.0.1 //SMBFUSETEST/share -U '$SMBD_TEST_USER%$SMBD_TEST_PASS' -c ls"
    check "nbt: smbd_stop" smbd_stop
    check "nbt: nothing left after stop" server_gone "$d"
fi

# ---- the C API (harness.h) compiled from source and run
cc=$(command -v cc || command -v gcc || command -v clang)
cat >"$T_TMP/capi.c" <<'EOF'
#include "harness.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fails;
#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "capi: %s:%d: %s\n", __FILE__, __LINE__, #c); fails++; } } while (0)

int main(void)
{
    struct harness_server s, i;
    char dir[sizeof(s.dir)];

    EXPECT(harness_smbd_start("nosuchprofile", &s) == -22);
    EXPECT(harness_smbd_start("signed", &s) == 0);
    EXPECT(s.port > 0 && s.pid > 0);
    EXPECT(!strcmp(s.share, "share") && !strcmp(s.printer, "printer"));
    EXPECT(access(s.share_dir, W_OK) == 0 && access(s.conf, R_OK) == 0);
    EXPECT(s.user[0] && s.pass[0]);
    EXPECT(!harness_server_gone(&s));
    pid_t old = s.pid;
    EXPECT(harness_server_restart(&s) == 0);
    EXPECT(s.pid != old && s.port > 0);
    memcpy(dir, s.dir, sizeof(dir));
    harness_server_stop(&s);
    EXPECT(harness_server_gone(&s));
    EXPECT(access(dir, F_OK) != 0);
    harness_server_stop(&s);

    EXPECT(harness_smbd_start_ex("nosign", "max xmit = 8192", "comment = extra-share-line", &s) == 0);
    char grep[2 * PATH_MAX + 100];
    snprintf(grep, sizeof(grep), "grep -q 'max xmit = 8192' %s && grep -q extra-share-line %s", s.conf, s.conf);
    EXPECT(system(grep) == 0);
    harness_server_stop(&s);
    EXPECT(harness_server_gone(&s));

    EXPECT(harness_impacket_start(&i) == 0);
    EXPECT(i.port > 0 && !strcmp(i.share, "SHARE"));
    harness_server_stop(&i);
    EXPECT(harness_server_gone(&i));
    printf("capi: %s\n", fails ? "FAILED" : "all passed");
    return fails != 0;
}
EOF
if "$cc" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow \
    -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
    -DSMBFUSE_SOURCE_DIR="\"$SRC\"" -I"$SRC/tests/integration/harness" \
    "$T_TMP/capi.c" "$SRC/tests/integration/harness/harness.c" -o "$T_TMP/capi" >"$T_TMP/out" 2>&1; then
    ok "capi: harness.c compiles with the project's warnings"
    check "capi: start/restart/stop/gone through harness.h" "$T_TMP/capi"
else
    bad "capi: harness.c does not compile"
    cat "$T_TMP/out"
fi

echo "harness: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
