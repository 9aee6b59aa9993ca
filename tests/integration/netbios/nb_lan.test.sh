#!/bin/bash
# shellcheck disable=SC2015 # ok/bad always succeed: A && B || C reads as intended
# NetBIOS names, share lists, browsing and the network mount on a private
# LAN (nb_lab.sh: nmbd as WINS server and master browser with smbd in one
# namespace, a second host in the other), through the real programs, all
# cases on one lab:
#   - mount //NBSRV/share by its NetBIOS name alone (broadcast) and move
#     files; the same through WINS only (resolve=wins)
#   - an unknown name fails within about a second, exit 32, the message
#     names the name and the methods tried, nothing is mounted
#   - --lookup by broadcast and WINS; an address's names by node status
#   - --list by name with credentials and anonymously by address: the
#     disk share and the printer
#   - --browse: the workgroup, then both hosts (polled: the election
#     takes ~23 s, the second host's announcement up to a minute)
#   - the network mount: WORKGROUP/SERVER/share, a file read through it,
#     printers and IPC$ not shown, an unknown server fails fast
#   - a dead WINS server (an address nobody answers on) costs about a
#     second before broadcast finds the name
#   - --browse without a workgroup on a WINS-only network (resolve=wins)
#   - idle_timeout=: a share stays while a file is open, is released
#     (the server's connection goes) after it, and reconnects on access
#   - the network mount from an fstab line and `mount -t fuse.smbfuse //`
#     through mount(8) and mount.fuse3
#   - NBSRV moves to a new address (DHCP) while //NBSRV/share is mounted:
#     the mount reconnects there, not to the cached old address
set -uo pipefail

SRC=${SMBFUSE_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
BIN=${SMBFUSE_BINARY_DIR:-$SRC/build}
SMBFUSE=${SMBFUSE:-$BIN/fuse/smbfuse}
# shellcheck source=nb_lab.sh
. "$SRC/tests/integration/netbios/nb_lab.sh"

MNT=$(mktemp -d /tmp/smbfuse-netbios-mnt.XXXXXX)
MNT2=$(mktemp -d /tmp/smbfuse-netbios-mnt2.XXXXXX)
SBIN=$(mktemp -d /tmp/smbfuse-netbios-sbin.XXXXXX)
NET=$(mktemp -d /tmp/smbfuse-netbios-net.XXXXXX)
OUT=$(mktemp /tmp/smbfuse-netbios-out.XXXXXX)
failures=0

cleanup() {
    local m
    exec 7<&-
    for m in "$MNT" "$NET" "$MNT2"; do
        grep -q " $m fuse" /proc/mounts && { fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m"; }
    done
    lab_stop
    rmdir "$MNT" "$NET" "$MNT2" 2>/dev/null
    rm -rf "$SBIN"
    rm -f "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { echo "ok: $*"; }
bad() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
mounted() { grep -q " $1 fuse" /proc/mounts; }
sfs() { lab_in_c "$SMBFUSE" "$@"; }
sfs_user() { lab_in_c env PASSWD="$LAB_PASS" "$SMBFUSE" "$@"; }
now_ms() { date +%s%3N; }
# The server's SMB connections from the client host (its side of them).
srv_conns() {
    ip netns exec "$LAB_NS_S" ss -Htn state established '( sport = :445 or sport = :139 )' |
        grep -c "$LAB_IP_C:"
}
srv_conns_is() { [ "$(srv_conns)" = "$1" ]; }
# The client's SMB connections to $1.
cli_conn_to() { lab_in_c ss -Htn state established "( dport = :445 or dport = :139 )" | grep -q " $1:"; }

lab_start || { echo "FAIL: cannot start the lab" >&2; exit 1; }
lab_wait_names || exit 1

# ---- mount by NetBIOS name ----
if sfs_user //NBSRV/share "$MNT" -o "username=$LAB_USER"; then
    echo hello >"$MNT/a.txt" && mv "$MNT/a.txt" "$MNT/b.txt" && mkdir "$MNT/d" &&
        mv "$MNT/b.txt" "$MNT/d/c.txt"
    if [ "$(cat "$LAB_DIR/s/share/d/c.txt" 2>/dev/null)" = hello ] && [ ! -e "$LAB_DIR/s/share/a.txt" ]; then
        ok "mount //NBSRV/share by broadcast; files moved"
    else
        bad "files did not arrive on the server as moved"
    fi
    fusermount3 -u "$MNT"
else
    bad "mount //NBSRV/share by name failed"
fi
if sfs_user //NBSRV/share "$MNT" -o "username=$LAB_USER,resolve=wins,wins=$LAB_IP_S"; then
    [ -f "$MNT/d/c.txt" ] && ok "mount by name through WINS only" || bad "WINS mount shows no file"
    fusermount3 -u "$MNT"
else
    bad "mount //NBSRV/share with resolve=wins failed"
fi

# ---- an unknown name ----
t0=$(now_ms)
sfs_user //NOSUCHBOX/share "$MNT" -o "username=$LAB_USER,wins=$LAB_IP_S" >"$OUT" 2>&1
rc=$?
dt=$(($(now_ms) - t0))
if [ $rc = 32 ] && [ $dt -lt 2500 ] && ! mounted "$MNT" && grep -q 'NOSUCHBOX' "$OUT" &&
    grep -q "wins $LAB_IP_S" "$OUT" && grep -q 'bcast' "$OUT"; then
    ok "unknown name: exit 32 after ${dt} ms: $(head -1 "$OUT")"
else
    bad "unknown name: rc=$rc after ${dt} ms, output: $(cat "$OUT")"
fi

# ---- lookups ----
sfs --lookup NBSRV >"$OUT" 2>&1 && grep -q "^$LAB_IP_S NBSRV<20> via bcast" "$OUT" &&
    ok "--lookup NBSRV by broadcast" || bad "--lookup NBSRV: $(cat "$OUT")"
sfs --lookup NBCLI -o "wins=$LAB_IP_S,resolve=wins" >"$OUT" 2>&1 &&
    grep -q "^$LAB_IP_C NBCLI<20> via wins $LAB_IP_S" "$OUT" &&
    ok "--lookup NBCLI through WINS" || bad "--lookup NBCLI: $(cat "$OUT")"
sfs --list "//$LAB_IP_S" -o port=139,debug >"$OUT" 2>&1 && grep -q "calls itself NBSRV" "$OUT" &&
    ok "port 139 by address: the called name from node status" ||
    bad "port 139 by address: $(grep -i 'calls\|session' "$OUT" | head -3)"
sfs --lookup NBCLI -o "resolve=wins,bcast,wins=$LAB_IP_S" >"$OUT" 2>&1 && grep -q "via wins" "$OUT" &&
    ok "-o resolve=wins,bcast as one list" || bad "resolve=wins,bcast: $(cat "$OUT")"
sfs --lookup "$LAB_IP_S" >"$OUT" 2>&1 && grep -q "NBSRV .*<20> unique" "$OUT" &&
    grep -q "TESTGRP .*<00> group" "$OUT" &&
    ok "--lookup of an address: its names" || bad "--lookup $LAB_IP_S: $(cat "$OUT")"
sfs --lookup NOSUCHBOX >"$OUT" 2>&1
rc=$?
[ $rc = 2 ] && grep -q NOSUCHBOX "$OUT" && ok "--lookup of an unknown name: exit 2" ||
    bad "--lookup NOSUCHBOX: rc=$rc $(cat "$OUT")"

# ---- a dead WINS server ----
# 10.231.0.9 is on the lab's LAN and nobody has it: queries go unanswered.
t0=$(now_ms)
sfs --lookup NBSRV -o wins=10.231.0.9 >"$OUT" 2>&1
rc=$?
dt=$(($(now_ms) - t0))
[ $rc = 0 ] && grep -q "^$LAB_IP_S NBSRV<20> via bcast" "$OUT" && [ $dt -lt 2500 ] &&
    ok "a dead WINS server costs ${dt} ms before broadcast finds NBSRV" ||
    bad "dead WINS: rc=$rc after ${dt} ms: $(cat "$OUT")"
t0=$(now_ms)
sfs --lookup NBSRV -o wins=10.231.0.9,wins_timeout=300,resolve=wins >"$OUT" 2>&1
rc=$?
dt=$(($(now_ms) - t0))
[ $rc = 2 ] && grep -q "wins 10.231.0.9 (no answer)" "$OUT" && [ $dt -lt 1000 ] &&
    ok "wins_timeout=300: no answer after ${dt} ms" ||
    bad "wins_timeout=300: rc=$rc after ${dt} ms: $(cat "$OUT")"

# ---- share lists ----
check_list() {
    grep -Eq '^share +disk +Lab disk share' "$OUT" && grep -Eq '^lp +printer +Lab printer' "$OUT" &&
        grep -Eq '^IPC\$ +ipc,hidden' "$OUT"
}
sfs_user --list //NBSRV -o "username=$LAB_USER" >"$OUT" 2>&1 && check_list &&
    ok "--list //NBSRV with credentials" || bad "--list //NBSRV: $(cat "$OUT")"
sfs --list "//$LAB_IP_S" >"$OUT" 2>&1 && check_list &&
    ok "--list //$LAB_IP_S anonymously" || bad "--list //$LAB_IP_S: $(cat "$OUT")"

# ---- browsing ----
lab_wait_master || exit 1
sfs --browse >"$OUT" 2>&1 && grep -Eq '^TESTGRP +NBSRV' "$OUT" &&
    ok "--browse: the workgroup and its master" || bad "--browse: $(cat "$OUT")"
both_hosts() {
    sfs --browse TESTGRP >"$OUT" 2>&1 && grep -q '^NBSRV ' "$OUT" && grep -q '^NBCLI ' "$OUT"
}
t0=$(now_ms)
if lab_poll 90 both_hosts; then
    ok "--browse TESTGRP lists NBSRV and NBCLI ($(($(now_ms) - t0)) ms after the election)"
else
    bad "--browse TESTGRP: $(cat "$OUT")"
fi

# NetServerEnum3: a buffer for two entries (44 bytes each, with the
# comment) splits NBCLI NBCLI2 NBCLI3 NBSRV into three rounds.
four_hosts() {
    sfs --browse TESTGRP -o browse_bufsize=100,debug >"$OUT" 2>&1 &&
        [ "$(grep -Ec '^(NBCLI|NBCLI2|NBCLI3|NBSRV) ' "$OUT")" = 4 ]
}
if lab_poll 60 four_hosts && [ "$(grep -c 'NetServerEnum3 from' "$OUT")" = 2 ]; then
    ok "browse_bufsize=100: four servers in three rounds ($(grep -o 'NetServerEnum3 from [A-Z0-9]*' "$OUT" | tr '\n' ' '))"
else
    bad "browse_bufsize=100: $(cat "$OUT")"
fi
sfs --browse -o "resolve=wins,wins=$LAB_IP_S" >"$OUT" 2>&1 && grep -Eq '^TESTGRP +NBSRV' "$OUT" &&
    ok "--browse on a WINS-only network (resolve=wins)" || bad "--browse with WINS only: $(cat "$OUT")"

# ---- the network mount ----
if [ -x "$SMBFUSE" ]; then
    echo "from the net" >"$LAB_DIR/s/share/net.txt"
    if sfs_user // "$NET" -o "username=$LAB_USER"; then
        ls "$NET" >"$OUT" 2>&1 && grep -qx TESTGRP "$OUT" && ok "network mount: TESTGRP" ||
            bad "ls $NET: $(cat "$OUT")"
        lab_poll 30 bash -c "ls '$NET/TESTGRP' | grep -qx NBCLI" || true
        ls "$NET/TESTGRP" >"$OUT" 2>&1 && grep -qx NBSRV "$OUT" && grep -qx NBCLI "$OUT" &&
            ok "network mount: TESTGRP/NBSRV and NBCLI" || bad "ls TESTGRP: $(cat "$OUT")"
        ls "$NET/TESTGRP/NBSRV" >"$OUT" 2>&1 && grep -qx share "$OUT" && ! grep -q 'lp\|IPC' "$OUT" &&
            ok "network mount: NBSRV shows share, no printer, no IPC\$" ||
            bad "ls TESTGRP/NBSRV: $(cat "$OUT")"
        [ "$(cat "$NET/TESTGRP/NBSRV/share/net.txt" 2>&1)" = "from the net" ] &&
            ok "network mount: a file read through TESTGRP/NBSRV/share" ||
            bad "reading through the network mount failed"
        echo written >"$NET/TESTGRP/NBSRV/share/w.txt" &&
            mv "$NET/TESTGRP/NBSRV/share/w.txt" "$NET/TESTGRP/NBSRV/share/d/w2.txt" &&
            [ "$(cat "$LAB_DIR/s/share/d/w2.txt")" = written ] &&
            ok "network mount: a file written and moved" || bad "writing through the network mount"
        # NBCLI knows no such user: its own directory says so, at once,
        # and NBSRV's tree goes on working.
        t0=$(now_ms)
        ls "$NET/TESTGRP/NBCLI" >"$OUT" 2>&1
        rc=$?
        dt=$(($(now_ms) - t0))
        [ $rc != 0 ] && grep -q "Permission denied" "$OUT" && [ $dt -lt 3000 ] &&
            [ -f "$NET/TESTGRP/NBSRV/share/net.txt" ] &&
            ok "network mount: a refusing server fails in ${dt} ms: $(head -1 "$OUT")" ||
            bad "refusing server: rc=$rc ${dt} ms $(cat "$OUT")"
        t0=$(now_ms)
        ls "$NET/TESTGRP/NOSUCHBOX" >"$OUT" 2>&1
        rc=$?
        dt=$(($(now_ms) - t0))
        [ $rc != 0 ] && [ $dt -lt 3000 ] && ok "network mount: unknown server fails in ${dt} ms" ||
            bad "unknown server in the network mount: rc=$rc ${dt} ms"
        # Probes of missing names (a shell's, a file manager's) are cached.
        t0=$(now_ms)
        for _ in 1 2 3 4 5; do
            stat "$NET/TESTGRP/NOSUCHBOX" "$NET/TESTGRP/.hidden" "$NET/.Trash" >/dev/null 2>&1
        done
        dt=$(($(now_ms) - t0))
        [ $dt -lt 1000 ] && ok "network mount: 15 probes of missing names in ${dt} ms" ||
            bad "probes of missing names took ${dt} ms"
        fusermount3 -u "$NET"
    else
        bad "network mount failed to start"
    fi
    # servercreds=DIR: DIR/NBCLI logs on to NBCLI with its own password.
    mkdir -m 700 "$LAB_DIR/creds"
    printf 'username=%s\npassword=%s\n' "$LAB_USER" "$LAB_PASS_C" >"$LAB_DIR/creds/NBCLI"
    chmod 600 "$LAB_DIR/creds/NBCLI"
    if sfs_user // "$NET" -o "username=$LAB_USER,servercreds=$LAB_DIR/creds"; then
        [ "$(cat "$NET/TESTGRP/NBCLI/pub/c.txt" 2>&1)" = "second host" ] &&
            [ -f "$NET/TESTGRP/NBSRV/share/net.txt" ] &&
            ok "network mount: servercreds= logs on to NBCLI with its own password" ||
            bad "servercreds: $(ls "$NET/TESTGRP/NBCLI" 2>&1)"
        fusermount3 -u "$NET"
    else
        bad "network mount with servercreds= failed to start"
    fi
fi

# ---- idle_timeout=: release and reconnect ----
f=$NET/TESTGRP/NBSRV/share/net.txt
if lab_poll 10 srv_conns_is 0 && sfs_user // "$NET" -o "username=$LAB_USER,idle_timeout=2"; then
    if [ "$(cat "$f" 2>&1)" = "from the net" ] && exec 7<"$f"; then
        # Open: it stays past the idle time (2 s, and the reaper's round).
        sleep 4
        n_open=$(srv_conns)
        exec 7<&-
        t0=$(now_ms)
        lab_poll 10 srv_conns_is 0
        n_idle=$(srv_conns)
        dt=$(($(now_ms) - t0))
        [ "$n_open" = 1 ] && [ "$n_idle" = 0 ] &&
            ok "idle_timeout=2: the share stayed while open, released ${dt} ms after close" ||
            bad "idle_timeout: $n_open connection(s) while open, $n_idle after ${dt} ms"
        [ "$(cat "$f" 2>&1)" = "from the net" ] && [ "$(srv_conns)" = 1 ] &&
            ok "idle_timeout: the released share reconnects on access" ||
            bad "after release: $(cat "$f" 2>&1), $(srv_conns) connection(s)"
    else
        bad "idle_timeout: cannot read $f"
    fi
    exec 7<&-
    fusermount3 -u "$NET"
else
    bad "network mount with idle_timeout=2 failed to start (or $(srv_conns) connections left)"
fi

# ---- the network mount through mount(8) and mount.fuse3 ----
# mount.fuse3's shell looks for smbfuse on a PATH of its own, beginning
# with /usr/local/sbin: the program under test is bound there in a mount
# namespace of the case's own, which also holds the mounts (unmounted
# before it ends, so their daemons exit).
install -m 0755 "$SMBFUSE" "$SBIN/smbfuse"
printf 'username=%s\npassword=%s\n' "$LAB_USER" "$LAB_PASS" >"$LAB_DIR/creds/net"
chmod 600 "$LAB_DIR/creds/net"
printf '# private fstab\n// %s fuse.smbfuse credentials=%s,servercreds=%s,_netdev,nofail 0 0\n' \
    "$NET" "$LAB_DIR/creds/net" "$LAB_DIR/creds" >"$LAB_DIR/fstab"
# shellcheck disable=SC2016 # expanded by the inner shell
lab_in_c unshare --mount --propagation private env NET="$NET" SBIN="$SBIN" CRED="$LAB_DIR/creds/net" \
    FSTAB="$LAB_DIR/fstab" bash -c '
    f=$NET/TESTGRP/NBSRV/share/net.txt
    mount --bind "$SBIN" /usr/local/sbin || exit 1
    um() { umount "$NET" 2>/dev/null || umount -l "$NET"; }
    if setsid -w mount -T "$FSTAB" "$NET" </dev/null; then
        grep -q "^// $NET fuse.smbfuse " /proc/mounts && [ "$(cat "$f" 2>&1)" = "from the net" ] &&
            [ "$(cat "$NET/TESTGRP/NBCLI/pub/c.txt" 2>&1)" = "second host" ] &&
            echo "ok: fstab: // MNT fuse.smbfuse credentials=,servercreds= reads both hosts" ||
            echo "FAIL: fstab network mount: $(grep " $NET " /proc/mounts) $(ls "$NET" 2>&1)"
        um
    else
        echo "FAIL: mount -T fstab MNT"
    fi
    if setsid -w mount -t fuse.smbfuse // "$NET" -o "credentials=$CRED,ro" </dev/null; then
        [ "$(cat "$f" 2>&1)" = "from the net" ] && ! touch "$NET/TESTGRP/NBSRV/share/ro.txt" 2>/dev/null &&
            echo "ok: mount -t fuse.smbfuse // MNT -o credentials=,ro" ||
            echo "FAIL: mount -t fuse.smbfuse //: $(cat "$f" 2>&1)"
        um
    else
        echo "FAIL: mount -t fuse.smbfuse // MNT"
    fi' >"$OUT" 2>&1
cat "$OUT"
n=$(grep -c '^ok: ' "$OUT")
[ "$n" = 2 ] || bad "the network mount through mount(8): $n of 2 cases passed"

# ---- NBSRV moves (last: WINS and the browser move with it) ----
NEW_IP=10.231.0.5
if sfs_user //NBSRV/share "$MNT2" -o "username=$LAB_USER" && [ -f "$MNT2/net.txt" ] &&
    cli_conn_to "$LAB_IP_S"; then
    if lab_move_server "$NEW_IP"; then
        # A hard mount retries until it reaches NBSRV: with the old
        # address kept from the cache (TTL up to 300 s), for minutes.
        t0=$(now_ms)
        got=$(timeout -s KILL 30 cat "$MNT2/net.txt" 2>&1)
        dt=$(($(now_ms) - t0))
        [ "$got" = "from the net" ] && [ $dt -lt 30000 ] && cli_conn_to "$NEW_IP" &&
            ok "//NBSRV/share reconnected to NBSRV's new address $NEW_IP (${dt} ms)" ||
            bad "after the move (${dt} ms): $got; $(lab_in_c ss -Htn state established)"
    else
        bad "cannot move NBSRV to $NEW_IP"
    fi
    fusermount3 -u "$MNT2" || fusermount3 -uz "$MNT2"
else
    bad "mount //NBSRV/share before the move failed"
fi

[ $failures = 0 ] || { echo "$failures failure(s)" >&2; exit 1; }
echo "all NetBIOS LAN cases passed"
