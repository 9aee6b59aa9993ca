#!/bin/bash
# The smb1 CUPS backend under a real cupsd: the test starts its own cupsd
# (its own configuration, state and spool directories, listening on a free
# loopback port, the backend in its own ServerBin), adds a raw queue with
# lpadmin -p P -v smb1://user:pass@127.0.0.1:PORT/printer -E, and prints
# with lp -d P FILE; the file must arrive at smbd's printer byte for byte,
# on the signed profile (the backend signs because the server does).
set -euo pipefail

SRC=${SMBFUSE_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
BIN=${SMBFUSE_BINARY_DIR:-$SRC/build}
BACKEND=$BIN/tools/cups/smb1-cups-backend
. "$SRC/tests/integration/harness/smbd.sh"

fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in cupsd lpadmin lp lpstat; do
    command -v "$tool" >/dev/null || fail "$tool missing (scripts/install-deps.sh installs cups-daemon, cups-client)"
done
[ -x "$BACKEND" ] || fail "no $BACKEND"

T=$(mktemp -d /tmp/smbfuse-cups.XXXXXX)
chmod 755 "$T"
CUPSD_PID=
cleanup() {
    set +e
    if [ -n "$CUPSD_PID" ]; then
        kill "$CUPSD_PID" 2>/dev/null
        for i in $(seq 50); do kill -0 "$CUPSD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$CUPSD_PID" 2>/dev/null
    fi
    smbd_stop >/dev/null 2>&1
    [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

smbd_start signed >/dev/null

PORT=$(harness_free_port 127.0.0.1)
mkdir -p "$T"/{conf,state,cache,spool/tmp,log,bin/backend}
chown root:lp "$T/spool" && chmod 0710 "$T/spool"
chmod 1777 "$T/spool/tmp"
# The backend runs as root when only its owner may run it (backend(7)).
install -m 0700 "$BACKEND" "$T/bin/backend/smb1"
for d in daemon notifier filter cgi-bin monitor driver; do
    [ -d "/usr/lib/cups/$d" ] && ln -s "/usr/lib/cups/$d" "$T/bin/$d"
done
cat >"$T/conf/cups-files.conf" <<CONF
ServerRoot $T/conf
StateDir $T/state
CacheDir $T/cache
RequestRoot $T/spool
TempDir $T/spool/tmp
ServerBin $T/bin
DataDir /usr/share/cups
AccessLog $T/log/access_log
ErrorLog $T/log/error_log
PageLog $T/log/page_log
SystemGroup root
User lp
Group lp
FileDevice No
CONF
cat >"$T/conf/cupsd.conf" <<CONF
LogLevel debug
Listen 127.0.0.1:$PORT
Browsing No
BrowseLocalProtocols none
DefaultAuthType None
WebInterface No
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
CONF
cupsd -f -c "$T/conf/cupsd.conf" -s "$T/conf/cups-files.conf" >"$T/log/stdout" 2>&1 &
CUPSD_PID=$!
for i in $(seq 100); do
    harness_port_open 127.0.0.1 "$PORT" && break
    kill -0 "$CUPSD_PID" 2>/dev/null || { cat "$T/log/stdout" "$T/log/error_log" >&2; fail "cupsd died"; }
    sleep 0.1
done
harness_port_open 127.0.0.1 "$PORT" || fail "cupsd does not listen on $PORT"
export CUPS_SERVER=127.0.0.1:$PORT

URI="smb1://$SMBD_USER:$SMBD_PASS@127.0.0.1:$SMBD_PORT/$SMBD_PRINTER"
lpadmin -p smbtest -v "$URI" -E -m raw 2>"$T/lpadmin.err" ||
    lpadmin -p smbtest -v "$URI" -E 2>>"$T/lpadmin.err" ||
    { cat "$T/lpadmin.err" >&2; fail "lpadmin"; }
echo "ok: lpadmin -p smbtest -v smb1://... -E"

head -c 300000 /dev/urandom >"$T/job.bin"
lp -d smbtest -o raw "$T/job.bin" >"$T/lp.out" || fail "lp"
echo "ok: lp -d smbtest FILE ($(cat "$T/lp.out"))"

for i in $(seq 300); do
    for f in "$SMBD_DIR"/printed/smbprn.*; do
        [ -e "$f" ] && cmp -s "$f" "$T/job.bin" && { echo "ok: the job arrived byte for byte"; break 2; }
    done
    sleep 0.1
done
[ "$i" -lt 300 ] || { tail -40 "$T/log/error_log" >&2; fail "the job did not arrive at the printer"; }
for i in $(seq 100); do
    lpstat -W completed -o smbtest 2>/dev/null | grep -q smbtest && break
    sleep 0.1
done
lpstat -W completed -o smbtest | grep -q smbtest || fail "cupsd does not list the job as completed"
echo "ok: cupsd lists the job as completed"
grep -q 'INFO: Sent 300000 bytes' "$T/log/error_log" || grep -q 'Sent 300000 bytes' "$T/log/error_log" ||
    fail "the backend's INFO: lines are not in cupsd's log"
echo "ok: the backend's INFO: lines reached cupsd"
echo "4 passed, 0 failed"
