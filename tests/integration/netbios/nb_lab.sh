# shellcheck shell=bash
# A private LAN for the NetBIOS tests (sourced): two network namespaces
# joined by one veth pair, 10.231.0.0/24, nothing else on it.
#
#   server namespace  10.231.0.2  nmbd as WINS server, local and domain
#                                 master browser of TESTGRP, and smbd
#                                 (NBSRV: [share] disk, [lp] printer)
#   client namespace  10.231.0.3  a second host (NBCLI, aliases NBCLI2 and
#                                 NBCLI3 for a longer browse list: nmbd
#                                 registered with WINS, smbd with [pub]); smbfuse runs
#                                 here through `nsenter --net`, so its
#                                 mounts are seen by the test
#
# Names carry the tag "netbios" and the shell's pid. lab_start exports
# LAB_NS_S LAB_NS_C LAB_DIR LAB_USER LAB_PASS (LAB_PASS_C on the second
# host) and LAB_IP_S / LAB_IP_C;
# lab_stop (call it from the EXIT trap) kills what lab_start started, by
# pid, and deletes the namespaces. lab_wait_* poll; nothing sleeps for a
# guess.
#
# Samba 4.17 starts samba-dcerpcd / rpcd_* / samba-bgqd on demand; they
# outlive smbd, so lab_stop kills them from the pid directories too.

LAB_SRC=${SMBFUSE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
# shellcheck source=../harness/smbd.sh
. "$LAB_SRC/tests/integration/harness/smbd.sh"

LAB_IP_S=10.231.0.2
LAB_IP_C=10.231.0.3
LAB_PIDS=()

_lab_conf() {
    local d=$1 name=$2 ip=$3 role=$4
    mkdir -p "$d"/{private,lock,state,cache,pid,ncalrpc,log,share,spool}
    chmod 1777 "$d/spool"
    cat >"$d/smb.conf" <<CONF
[global]
  netbios name = $name
  workgroup = TESTGRP
  server string = smbfuse lab $name
  server role = standalone server
  security = user
  interfaces = $ip/24
  bind interfaces only = yes
  disable netbios = no
  smb ports = 445 139
  server min protocol = NT1
  server max protocol = NT1
  passdb backend = tdbsam:$d/private/passdb.tdb
  private dir = $d/private
  lock directory = $d/lock
  state directory = $d/state
  cache directory = $d/cache
  pid directory = $d/pid
  ncalrpc dir = $d/ncalrpc
  binddns dir = $d/bind-dns
  log file = $d/log/log.%m
  max log size = 0
  dns proxy = no
  load printers = no
  printcap name = $d/printcap
  printing = bsd
  lpq cache time = 0
  show add printer wizard = no
$role
CONF
    echo "lp|Lab printer:" >"$d/printcap"
}

_lab_daemon() {
    local ns=$1 prog=$2 d=$3
    # Each daemon leads a process group of its own: smbd and nmbd signal
    # their whole group when they stop, which must not be the test's.
    # nmbd at debug level 2: its registrations and elections, for
    # lab_diag (a few KB per run).
    local dbg=()
    [ "${prog##*/}" = nmbd ] && dbg=(-d 2)
    ip netns exec "$ns" "$prog" -F "${dbg[@]}" -s "$d/smb.conf" \
        </dev/null >"$d/log/$(basename "$prog").out" 2>&1 &
    LAB_PIDS+=($!)
}

lab_start() {
    [ "$(id -u)" = 0 ] || { echo "lab: needs root (network namespaces)" >&2; return 1; }
    local id=$$
    LAB_NS_S=netbios-s-$id
    LAB_NS_C=netbios-c-$id
    local vs=nbios${id}s vc=nbios${id}c
    vs=${vs:0:15}
    vc=${vc:0:15}
    LAB_VETH_S=$vs
    LAB_DIR=$(mktemp -d /tmp/smbfuse-netbios-lab.XXXXXX)
    chmod 755 "$LAB_DIR"
    export LAB_NS_S LAB_NS_C LAB_DIR LAB_IP_S LAB_IP_C
    ip netns add "$LAB_NS_S"
    ip netns add "$LAB_NS_C"
    ip link add "$vc" netns "$LAB_NS_C" type veth peer name "$vs" netns "$LAB_NS_S"
    ip -n "$LAB_NS_S" addr add "$LAB_IP_S/24" broadcast 10.231.0.255 dev "$vs"
    ip -n "$LAB_NS_C" addr add "$LAB_IP_C/24" broadcast 10.231.0.255 dev "$vc"
    ip -n "$LAB_NS_S" link set lo up
    ip -n "$LAB_NS_C" link set lo up
    ip -n "$LAB_NS_S" link set "$vs" up
    ip -n "$LAB_NS_C" link set "$vc" up

    _lab_conf "$LAB_DIR/s" NBSRV "$LAB_IP_S" "  wins support = yes
  local master = yes
  preferred master = yes
  domain master = yes
  os level = 65
[share]
  path = $LAB_DIR/s/share
  read only = no
  comment = Lab disk share
[lp]
  path = $LAB_DIR/s/spool
  printable = yes
  comment = Lab printer
  print command = rm -f %s
  lpq command = /bin/true"
    _lab_conf "$LAB_DIR/c" NBCLI "$LAB_IP_C" "  wins server = $LAB_IP_S
  netbios aliases = NBCLI2 NBCLI3
  local master = no
  os level = 0
[pub]
  path = $LAB_DIR/c/share
  read only = yes
  comment = Second host"

    LAB_USER=$SMBD_TEST_USER
    LAB_PASS=$SMBD_TEST_PASS
    export LAB_USER LAB_PASS
    _h_ensure_user "$LAB_USER"
    chown "$LAB_USER" "$LAB_DIR/s/share"
    printf '%s\n%s\n' "$LAB_PASS" "$LAB_PASS" |
        smbpasswd -c "$LAB_DIR/s/smb.conf" -s -a "$LAB_USER" >"$LAB_DIR/s/log/smbpasswd" 2>&1
    # The second host knows the same user with another password.
    LAB_PASS_C=Other-pass-42
    export LAB_PASS_C
    printf '%s\n%s\n' "$LAB_PASS_C" "$LAB_PASS_C" |
        smbpasswd -c "$LAB_DIR/c/smb.conf" -s -a "$LAB_USER" >"$LAB_DIR/c/log/smbpasswd" 2>&1
    echo "second host" >"$LAB_DIR/c/share/c.txt"

    _lab_daemon "$LAB_NS_S" /usr/sbin/nmbd "$LAB_DIR/s"
    _lab_daemon "$LAB_NS_S" /usr/sbin/smbd "$LAB_DIR/s"
    _lab_daemon "$LAB_NS_C" /usr/sbin/nmbd "$LAB_DIR/c"
    _lab_daemon "$LAB_NS_C" /usr/sbin/smbd "$LAB_DIR/c"
}

# Polls CMD... every 0.2 s, at most $1 * 5 times (a failing nmblookup
# itself takes ~0.3 s, so the wait is longer than $1 seconds).
lab_poll() {
    local secs=$1 i
    shift
    for ((i = 0; i < secs * 5; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}

lab_in_c() { nsenter --net="/run/netns/$LAB_NS_C" "$@"; }

_lab_smbd_up() { ip netns exec "$LAB_NS_S" bash -c "exec 3<>/dev/tcp/$LAB_IP_S/445"; }
_lab_wins_has() { lab_in_c nmblookup -U "$LAB_IP_S" --recursion "$1" | grep -q "^$2 "; }
_lab_bcast_has() { lab_in_c nmblookup -B 10.231.0.255 "$1" | grep -q "^$2 "; }
_lab_master_up() { lab_in_c nmblookup -B 10.231.0.255 'TESTGRP#1d' | grep -q "^$LAB_IP_S "; }

# What the daemons said, for a lab that did not come up: a failure seen
# once in CI must be explainable from its log alone.
lab_diag() {
    local p h f
    for p in "${LAB_PIDS[@]}"; do
        if kill -0 "$p" 2>/dev/null; then echo "lab: pid $p running" >&2; else echo "lab: pid $p gone" >&2; fi
    done
    for h in s c; do
        for f in "$LAB_DIR/$h"/log/nmbd.out "$LAB_DIR/$h"/log/log.nmbd "$LAB_DIR/$h"/log/smbd.out; do
            [ -s "$f" ] || continue
            echo "lab: ---- $h/${f##*/} (last lines)" >&2
            tail -n 25 "$f" >&2
        done
    done
    ip -n "$LAB_NS_S" -br addr >&2
    ip -n "$LAB_NS_C" -br addr >&2
    ip netns exec "$LAB_NS_S" ss -Huan >&2
}

# Restarts the nmbd that is LAB_PIDS[$1] (lab_start's order: 0 is the
# server's, 2 the second host's) in namespace $2 with the config dir $3.
_lab_restart_nmbd() {
    local k=$1 ns=$2 d=$3 p=${LAB_PIDS[$1]} i
    kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
    for ((i = 0; i < 15; i++)); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.2
    done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    rm -f "$d/pid/nmbd.pid"
    mv "$d/log/log.nmbd" "$d/log/log.nmbd.first" 2>/dev/null
    ip netns exec "$ns" /usr/sbin/nmbd -F -d 2 -s "$d/smb.conf" </dev/null >"$d/log/nmbd.out" 2>&1 &
    LAB_PIDS[k]=$!
}

# The server's names by broadcast (about 4 s after nmbd starts), the
# second host's registration with WINS, and smbd.
lab_wait_names() {
    lab_poll 30 _lab_smbd_up || { echo "lab: smbd did not come up" >&2; lab_diag; return 1; }
    if ! lab_poll 12 _lab_bcast_has NBSRV "$LAB_IP_S"; then
        # Seen once in CI and once here in ~30 runs (no log was kept
        # then): NBSRV never answered. Say what nmbd said, give it one
        # fresh start, and fail only if that does not answer either.
        echo "lab: NBSRV does not answer after 12 polling seconds; restarting the server's nmbd" >&2
        lab_diag
        # The second host's registration with WINS failed meanwhile, and
        # nmbd retries it only minutes later: it starts afresh too.
        _lab_restart_nmbd 0 "$LAB_NS_S" "$LAB_DIR/s"
        _lab_restart_nmbd 2 "$LAB_NS_C" "$LAB_DIR/c"
        lab_poll 30 _lab_bcast_has NBSRV "$LAB_IP_S" ||
            { echo "lab: NBSRV does not answer" >&2; lab_diag; return 1; }
    fi
    lab_poll 30 _lab_wins_has NBCLI "$LAB_IP_C" ||
        { echo "lab: NBCLI not registered with WINS" >&2; lab_diag; return 1; }
}

# The local master browser: TESTGRP<1d> answers after the election (~23 s).
lab_wait_master() {
    lab_poll 60 _lab_master_up || { echo "lab: no master browser for TESTGRP" >&2; return 1; }
}

# Moves NBSRV (the server namespace's nmbd and smbd) to the address $1,
# as DHCP would: the address is added beside the old one, which stays
# with nobody listening on it, and both daemons restart bound to the new
# one only (so its name answers, and WINS is, at the new address).
lab_move_server() {
    local ip=$1 p
    for p in "${LAB_PIDS[0]}" "${LAB_PIDS[1]}"; do
        kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    ip -n "$LAB_NS_S" addr add "$ip/24" broadcast 10.231.0.255 dev "$LAB_VETH_S"
    sed -i "s|^  interfaces = .*|  interfaces = $ip/24|" "$LAB_DIR/s/smb.conf"
    LAB_PIDS=("${LAB_PIDS[@]:2}")
    _lab_daemon "$LAB_NS_S" /usr/sbin/nmbd "$LAB_DIR/s"
    _lab_daemon "$LAB_NS_S" /usr/sbin/smbd "$LAB_DIR/s"
    lab_poll 30 _lab_bcast_has NBSRV "$ip" || { echo "lab: NBSRV does not answer at $ip" >&2; return 1; }
}

lab_stop() {
    local p f
    for p in "${LAB_PIDS[@]}"; do
        kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
    done
    for p in "${LAB_PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    if [ -n "${LAB_DIR:-}" ]; then
        for f in "$LAB_DIR"/{s,c}/pid/*.pid; do
            [ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null
        done
    fi
    [ -n "${LAB_NS_S:-}" ] && ip netns del "$LAB_NS_S" 2>/dev/null
    [ -n "${LAB_NS_C:-}" ] && ip netns del "$LAB_NS_C" 2>/dev/null
    [ -n "${LAB_DIR:-}" ] && [ -z "${LAB_KEEP:-}" ] && rm -rf "$LAB_DIR"
    return 0
}
