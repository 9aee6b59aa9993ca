# Private SMB1 servers for the tests: a Samba smbd or an impacket
# smbserver, each in a temporary directory of its own, on a free loopback
# port, stopped with everything it started.
#
# Source this file, then:
#   smbd_start PROFILE [nbt]   start smbd; PROFILE is signed, nosign,
#                              legacy or guest. With "nbt" the server
#                              listens on 127.0.0.1:139 instead, the port
#                              on which clients open with an RFC 1002
#                              session request. (smbd 4.17 answers a
#                              session request on any port, so tests of
#                              the framing itself can use the free port;
#                              "nbt" is for a client's port-139 default.
#                              127.0.0.2 cannot be used: Samba binds only
#                              addresses configured on an interface.)
#   smbd_stop                  stop it (the whole process group), remove
#                              its directory unless SMBD_KEEP=1
#   smbd_restart               kill smbd and start it again on the same
#                              port, users and files (reconnect tests)
#   impacket_start / impacket_stop   the same for impacket's smbserver
#   harness_cleanup [all]      stop the servers whose owner (the test
#                              that started them) is gone; "all": every one
#   harness_stop_dir / harness_kill_dir / harness_revive_dir DIR
#                              the same by server directory (the C API)
#
# After a start these are exported (and printed as KEY=VALUE on stdout):
#   SMBD_ADDR SMBD_PORT SMBD_DIR SMBD_CONF SMBD_LOG SMBD_PID
#   SMBD_SHARE (share name) SMBD_SHARE_DIR (its directory on this side)
#   SMBD_USER SMBD_PASS SMBD_DOMAIN SMBD_PROFILE
#   SMBD_PLAIN_SHARE / SMBD_PLAIN_DIR   (signed profile: a share on which
#                              the user has ordinary rights; on "share" it
#                              is an admin user, so CIFS UNIX chown works)
#   SMBD_PRINTER                (signed and nosign profiles: a printable
#                              share that prints to SMBD_DIR/printed)
# A test that needs more smb.conf lines sets SMBD_EXTRA_GLOBAL (added to
# [global]) and/or SMBD_EXTRA_SHARE (added to [share]) before the start;
# later lines override the profile's.
# impacket_start exports the same names with the IMPACKET_ prefix.
#
# Profiles (all speak only NT1, i.e. SMB1):
#   signed  server signing = mandatory, ntlm auth = ntlmv2-only, CIFS UNIX
#           extensions, EAs in user.* xattrs, a printer share
#   nosign  server signing = disabled, no UNIX extensions, ntlmv2-only,
#           a printer share (the printer: see _h_write_printer)
#   plain   server signing = disabled, CIFS UNIX extensions (Samba's
#           default), ntlmv2-only: what large unsigned POSIX reads need
#   legacy  ntlm auth = yes, lanman auth = yes (LM hash stored), signing auto
#   guest   map to guest = bad user, guest ok share, guest account nobody
#
# Failures are loud: a start that cannot bring its server up prints why
# (the server's log) and returns non-zero. Works under set -euo pipefail.

HARNESS_TMP_PREFIX=${HARNESS_TMP_PREFIX:-/tmp/smbfuse-harness}
HARNESS_SYS_PYTHON=${HARNESS_SYS_PYTHON:-/usr/bin/python3}
SMBD_BIN=${SMBD_BIN:-/usr/sbin/smbd}
SMBD_TEST_USER=${SMBD_TEST_USER:-smbtest}
# At most 14 characters: longer passwords have no LM hash (sec=lanman).
SMBD_TEST_PASS=${SMBD_TEST_PASS:-Smb1-pass-4711}

_h_log() { echo "harness: $*" >&2; }

# A free TCP port on $1 (the kernel picks it; the small window before
# the server binds it is covered by the retry in the start functions).
harness_free_port() {
    "$HARNESS_SYS_PYTHON" - "${1:-127.0.0.1}" <<'PY'
import socket, sys
s = socket.socket()
s.bind((sys.argv[1], 0))
print(s.getsockname()[1])
s.close()
PY
}

# True once something accepts TCP connections on $1:$2.
harness_port_open() {
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# The unix user the tests log on as; useradd is serialised because two
# tests (or two helpers' builds) may start servers at the same moment.
_h_ensure_user() {
    local u=$1
    id "$u" >/dev/null 2>&1 && return 0
    (
        flock 9
        id "$u" >/dev/null 2>&1 || useradd -M -d /nonexistent -s /usr/sbin/nologin "$u"
    ) 9>"$HARNESS_TMP_PREFIX.lock"
    id "$u" >/dev/null 2>&1 || { _h_log "cannot create unix user $u (are we root?)"; return 1; }
}

# True while a member of process group $1 runs. A member that exited but
# is not reaped yet (a zombie: smbd's children, handed to init when smbd
# exits, stay so for up to a second here) holds no port, file or lock:
# it does not count.
_h_group_runs() {
    kill -0 -- "-$1" 2>/dev/null || return 1
    ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'
}

# True while process $1 runs (not gone, not a zombie), without a fork.
_h_pid_runs() {
    local st
    read -r st 2>/dev/null <"/proc/$1/stat" || return 1
    st=${st##*) }
    [ "${st%% *}" != Z ]
}

# Kills a process group and waits until none of it is left.
_h_kill_group() {
    local pgid=$1 i
    [ -n "$pgid" ] || return 0
    kill -TERM -- "-$pgid" 2>/dev/null || return 0
    for i in $(seq 100); do
        _h_group_runs "$pgid" || return 0
        sleep 0.05
    done
    kill -KILL -- "-$pgid" 2>/dev/null || true
    for i in $(seq 100); do
        _h_group_runs "$pgid" || return 0
        sleep 0.05
    done
    _h_log "process group $pgid survived SIGKILL"
    return 1
}

# Sets HARNESS_PIDS to the pids (space-separated) whose command line
# contains the fixed string $1, this shell (and its subshell, when called
# in one) left out. One grep over every /proc/PID/cmdline: a tr and a grep
# per process cost a second on a busy machine, at every server stop. The
# string goes in a file, so that the grep does not carry it on its own
# command line.
harness_pids_naming() {
    local pat f files self=$BASHPID
    HARNESS_PIDS=
    pat=$(mktemp "$HARNESS_TMP_PREFIX-pat.XXXXXX") || return 1
    printf '%s\n' "$1" >"$pat"
    files=$(grep -lsFf "$pat" /proc/[0-9]*/cmdline) || true
    rm -f "$pat"
    for f in $files; do
        f=${f#/proc/}
        f=${f%/cmdline}
        [ "$f" = "$$" ] || [ "$f" = "$self" ] || HARNESS_PIDS="$HARNESS_PIDS $f"
    done
    HARNESS_PIDS=${HARNESS_PIDS# }
}

# Kills the processes (outside the group too: samba-dcerpcd and its rpcd_*
# helpers start in sessions of their own) whose command line names $1.
_h_kill_by_dir() {
    local dir=$1 pid pids= i
    harness_pids_naming "$dir/"
    pids=$HARNESS_PIDS
    [ -n "$pids" ] || return 0
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    for i in $(seq 60); do
        local alive=
        for pid in $pids; do _h_pid_runs "$pid" && alive="$alive $pid"; done
        [ -z "$alive" ] && return 0
        sleep 0.05
    done
    # shellcheck disable=SC2086
    kill -KILL $alive 2>/dev/null || true
}

# _h_listener_ours PID PORT: the TCP listener on PORT belongs to PID or
# to its process group. Another test's server may have taken the free
# port between harness_free_port and our bind (ours then fails to bind
# and dies a little later): its answers must not pass for ours.
# Without ss(8) or its process column, any listener counts.
_h_listener_ours() {
    local pid=$1 port=$2 out p
    out=$(ss -Hltnp "sport = :$port" 2>/dev/null) || return 0
    case $out in *pid=*) ;; *) return 0 ;; esac
    for p in $(grep -o 'pid=[0-9]*' <<<"$out" | cut -d= -f2); do
        [ "$p" = "$pid" ] && return 0
        [ "$(ps -o pgid= -p "$p" 2>/dev/null | tr -d ' ')" = "$pid" ] && return 0
    done
    return 1
}

# _h_wait_up PID ADDR PORT: waits (at most 15 s, polling every 50 ms)
# until PID listens on ADDR:PORT; fails at once when PID dies or another
# process holds the port.
_h_wait_up() {
    local pid=$1 addr=$2 port=$3 i
    for i in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || return 1
        if harness_port_open "$addr" "$port"; then
            _h_listener_ours "$pid" "$port" && return 0
            _h_log "port $port is held by another process"
            return 1
        fi
        sleep 0.05
    done
    return 1
}

# _h_give_up PID LOG WHAT: a server did not come up; say why and stop it.
_h_give_up() {
    _h_log "$3 did not come up:"
    tail -n 20 "$2" >&2 || true
    _h_kill_group "$1" || true
    wait "$1" 2>/dev/null || true
}

_h_print_env() {
    local prefix=$1 v
    for v in ADDR PORT DIR CONF LOG PID SHARE SHARE_DIR USER PASS DOMAIN PROFILE \
        PLAIN_SHARE PLAIN_DIR PRINTER; do
        local name=${prefix}_$v
        if [ -n "${!name+x}" ]; then
            export "${name?}"
            printf '%s=%s\n' "$name" "${!name}"
        fi
    done
}

_h_write_conf() {
    local profile=$1 d=$2 addr=$3 port=$4 nbt_off=yes
    [ "$port" = 139 ] && nbt_off=no
    local signing auth lanman unixext mapguest=never
    case $profile in
        signed) signing=mandatory auth=ntlmv2-only lanman=no unixext=yes ;;
        nosign) signing=disabled auth=ntlmv2-only lanman=no unixext=no ;;
        plain) signing=disabled auth=ntlmv2-only lanman=no unixext=yes ;;
        legacy) signing=auto auth=yes lanman=yes unixext=yes ;;
        guest) signing=auto auth=ntlmv2-only lanman=no unixext=yes mapguest="bad user" ;;
        *) _h_log "unknown profile '$profile' (signed, nosign, plain, legacy, guest)"; return 1 ;;
    esac
    cat >"$d/smb.conf" <<EOF
# smbfuse test server, profile $profile (written by tests/integration/harness/smbd.sh)
[global]
  netbios name = SMBFUSETEST
  workgroup = TESTGROUP
  server string = smbfuse test server
  security = user
  server role = standalone server
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
  log level = ${SMBD_LOG_LEVEL:-1}
  smb ports = $port
  interfaces = $addr
  bind interfaces only = yes
  disable netbios = $nbt_off
  server min protocol = NT1
  server max protocol = NT1
  server signing = $signing
  ntlm auth = $auth
  lanman auth = $lanman
  smb1 unix extensions = $unixext
  map to guest = $mapguest
  guest account = nobody
  load printers = no
  printing = bsd
  printcap name = /dev/null
  show add printer wizard = no
  dns proxy = no
  host msdfs = no
  vfs objects =
  ea support = yes
  store dos attributes = yes
  create mask = 0777
  force create mode = 0
  directory mask = 0777
  kernel oplocks = no
${SMBD_EXTRA_GLOBAL:-}
EOF
    case $profile in
        signed)
            cat >>"$d/smb.conf" <<EOF
[share]
  path = $d/share
  read only = no
${SMBD_EXTRA_SHARE:-}
  # The user acts as root here, so CIFS UNIX chown to any uid succeeds;
  # [plain] keeps ordinary permission checks.
  admin users = $SMBD_TEST_USER
[plain]
  path = $d/plain
  read only = no
EOF
            _h_write_printer "$d"
            ;;
        guest)
            cat >>"$d/smb.conf" <<EOF
[share]
  path = $d/share
  read only = no
${SMBD_EXTRA_SHARE:-}
  guest ok = yes
  force user = nobody
EOF
            ;;
        *)
            cat >>"$d/smb.conf" <<EOF
[share]
  path = $d/share
  read only = no
${SMBD_EXTRA_SHARE:-}
EOF
            if [ "$profile" = nosign ]; then _h_write_printer "$d"; fi
            ;;
    esac
}

# The [printer] share of the signed and nosign profiles prints to a
# directory (shared/protocol/LAB.md): print.sh copies each job's spool file
# to $d/printed/ under its spool name (smbprn.XXXXXX), then removes the
# spool file. While $d/hold exists a printed job also stays in the queue:
# print.sh adds "SYSJOB SPOOLNAME SIZE" to $d/queue and lpq.sh reports its
# lines as BSD lpq does (Samba ties its job to the line whose Files column
# is the spool name, at submission) until the test empties it. lprm.sh
# (cancel, given the SYSJOB) takes the job's line out and records it in
# $d/cancelled. While $d/refuse exists print.sh fails and prints
# nothing. SMBD_EXTRA_PRINTER adds lines to [printer].
_h_write_printer() {
    local d=$1
    mkdir -p "$d/printed"
    chmod 0777 "$d/printed"
    : >"$d/queue"
    chmod 0666 "$d/queue"
    cat >"$d/print.sh" <<EOF
#!/bin/sh
# print.sh SPOOLFILE SIZE (%s %z)
f=\$1
b=\$(basename "\$f")
if [ -e "$d/refuse" ]; then rm -f "\$f"; exit 1; fi
cp "\$f" "$d/printed/.\$b" && mv "$d/printed/.\$b" "$d/printed/\$b"
if [ -e "$d/hold" ]; then
    n=\$(( \$(cat "$d/printed/.sysjob" 2>/dev/null || echo 100) + 1 ))
    echo "\$n" >"$d/printed/.sysjob"
    echo "\$n \$b \$2" >>"$d/queue"
fi
rm -f "\$f"
exit 0
EOF
    cat >"$d/lpq.sh" <<EOF
#!/bin/sh
echo "printer is ready"
echo "Rank   Owner      Job  Files                                 Total Size"
n=1
while read -r id name size; do
    [ -n "\$name" ] || continue
    echo "\${n}st    $SMBD_TEST_USER    \$id   \$name    \$size bytes"
    n=\$((n + 1))
done <"$d/queue"
exit 0
EOF
    cat >"$d/lprm.sh" <<EOF
#!/bin/sh
echo "\$1" >>"$d/cancelled"
grep -v "^\$1 " "$d/queue" >"$d/queue.new"
cat "$d/queue.new" >"$d/queue"
exit 0
EOF
    chmod 0755 "$d/print.sh" "$d/lpq.sh" "$d/lprm.sh"
    echo "printer|Test printer:" >"$d/printcap"
    # Samba 4.17's rpcd_spoolss reads a queue for EnumJobs from the
    # database of an empty share name (cache/printing/.tdb, seen with
    # strace) while smbd and samba-bgqd keep it in printer.tdb: one file
    # for both names lets spoolss clients see the jobs.
    mkdir -p "$d/cache/printing"
    ln -sf printer.tdb "$d/cache/printing/.tdb"
    sed -i -e "s|^  printcap name = /dev/null|  printcap name = $d/printcap\\n  lpq cache time = 0|" "$d/smb.conf"
    cat >>"$d/smb.conf" <<EOF
[printer]
  path = $d/spool
  printable = yes
  print command = $d/print.sh %s %z
  lpq command = $d/lpq.sh %p
  lprm command = $d/lprm.sh %j
${SMBD_EXTRA_PRINTER:-}
EOF
}

# smbd_start PROFILE [nbt]
smbd_start() {
    local profile=${1:?usage: smbd_start PROFILE [nbt]} mode=${2:-direct}
    local d addr port attempt i user=$SMBD_TEST_USER pass=$SMBD_TEST_PASS
    if [ -n "${SMBD_DIR:-}" ] && [ -d "${SMBD_DIR:-}" ]; then
        _h_log "smbd_start: a server from this shell is still running in $SMBD_DIR; smbd_stop first"
        return 1
    fi
    [ -x "$SMBD_BIN" ] || { _h_log "no smbd at $SMBD_BIN (run scripts/install-deps.sh)"; return 1; }
    harness_cleanup quiet
    [ "$(id -u)" = 0 ] || { _h_log "smbd_start needs root (smbd switches to the test user)"; return 1; }
    _h_ensure_user "$user" || return 1
    id nobody >/dev/null 2>&1 || { _h_log "no unix user 'nobody' for the guest account"; return 1; }

    d=$(mktemp -d "$HARNESS_TMP_PREFIX.XXXXXX") || return 1
    chmod 0755 "$d"
    mkdir -p "$d"/{private,lock,state,cache,pid,ncalrpc,bind-dns,log,share,plain,spool}
    chown "$user" "$d/share" "$d/plain"
    chmod 0777 "$d/share"
    chmod 0755 "$d/plain"
    chmod 1777 "$d/spool"
    echo "smbd" >"$d/kind"
    echo "${HARNESS_OWNER_PID:-$$}" >"$d/owner.pid"

    addr=127.0.0.1
    for attempt in 1 2 3; do
        if [ "$mode" = nbt ]; then
            port=139
        else
            port=$(harness_free_port "$addr") || return 1
        fi
        _h_write_conf "$profile" "$d" "$addr" "$port" || { rm -rf "$d"; return 1; }
        if [ ! -f "$d/private/passdb.tdb" ]; then
            # The LM hash is stored only while lanman auth is on, so this
            # runs against the profile's own configuration.
            if ! printf '%s\n%s\n' "$pass" "$pass" |
                smbpasswd -c "$d/smb.conf" -s -a "$user" >"$d/log/smbpasswd" 2>&1; then
                _h_log "smbpasswd -a $user failed:"
                cat "$d/log/smbpasswd" >&2
                rm -rf "$d"
                return 1
            fi
        fi
        # Without --no-process-group smbd -F calls setsid(), so its pid is
        # also the process group of every child it forks: one kill stops all.
        "$SMBD_BIN" --foreground --debug-stdout -s "$d/smb.conf" \
            </dev/null >"$d/log/stdout" 2>&1 &
        local pid=$!
        echo "$pid" >"$d/harness.pid"
        if _h_wait_up "$pid" "$addr" "$port"; then
            SMBD_ADDR=$addr SMBD_PORT=$port SMBD_DIR=$d SMBD_CONF=$d/smb.conf
            SMBD_LOG=$d/log SMBD_PID=$pid SMBD_SHARE=share SMBD_SHARE_DIR=$d/share
            SMBD_USER=$user SMBD_PASS=$pass SMBD_DOMAIN=TESTGROUP SMBD_PROFILE=$profile
            if [ "$profile" = signed ]; then
                SMBD_PLAIN_SHARE=plain SMBD_PLAIN_DIR=$d/plain SMBD_PRINTER=printer
            elif [ "$profile" = nosign ]; then
                unset SMBD_PLAIN_SHARE SMBD_PLAIN_DIR
                SMBD_PRINTER=printer
            else
                unset SMBD_PLAIN_SHARE SMBD_PLAIN_DIR SMBD_PRINTER
            fi
            if [ "$profile" = guest ]; then
                chown nobody "$d/share"
            fi
            _h_print_env SMBD
            return 0
        fi
        _h_give_up "$pid" "$d/log/stdout" "smbd (profile $profile, $addr:$port, attempt $attempt)"
        [ "$mode" = nbt ] && break
    done
    _h_kill_by_dir "$d"
    rm -rf "$d"
    return 1
}

# Kills the server of harness directory $1 but keeps its directory and
# configuration, to bring it back with harness_revive_dir (a server
# restart under a connected client).
harness_kill_dir() {
    local d=$1 pid
    [ -f "$d/harness.pid" ] || return 0
    pid=$(cat "$d/harness.pid")
    _h_kill_group "$pid" || return 1
    wait "$pid" 2>/dev/null || true
    _h_kill_by_dir "$d"
}

# Starts smbd again from harness directory $1, on the port it had.
# Prints the new SMBD_PID=.
harness_revive_dir() {
    local d=$1 port addr i pid
    [ "$(cat "$d/kind" 2>/dev/null)" = smbd ] || { _h_log "$d holds no smbd"; return 1; }
    port=$(sed -n 's/^  smb ports = //p' "$d/smb.conf")
    addr=$(sed -n 's/^  interfaces = //p' "$d/smb.conf")
    "$SMBD_BIN" --foreground --debug-stdout -s "$d/smb.conf" \
        </dev/null >>"$d/log/stdout" 2>&1 &
    pid=$!
    echo "$pid" >"$d/harness.pid"
    # The old connections may linger in TIME_WAIT; smbd sets SO_REUSEADDR,
    # so a fresh bind succeeds at once.
    if _h_wait_up "$pid" "$addr" "$port"; then
        echo "SMBD_PID=$pid"
        return 0
    fi
    _h_give_up "$pid" "$d/log/stdout" "smbd (again on $addr:$port)"
    return 1
}

# smbd_restart: stop the running smbd and start it again on the same port
# with the same users and files.
smbd_restart() {
    local out
    [ -n "${SMBD_DIR:-}" ] || { _h_log "smbd_restart: no server"; return 1; }
    harness_kill_dir "$SMBD_DIR" || return 1
    out=$(harness_revive_dir "$SMBD_DIR") || return 1
    SMBD_PID=${out#SMBD_PID=}
    export SMBD_PID
}

# Stops the server that $1 (a harness directory) holds and removes it.
harness_stop_dir() {
    local d=$1 pid rc=0
    [ -n "$d" ] && [ -d "$d" ] || return 0
    if [ -f "$d/harness.pid" ]; then
        pid=$(cat "$d/harness.pid")
        _h_kill_group "$pid" || rc=1
        wait "$pid" 2>/dev/null || true
    fi
    _h_kill_by_dir "$d"
    if [ "${SMBD_KEEP:-0}" = 1 ]; then
        touch "$d/kept"
        _h_log "kept $d"
    else
        rm -rf "$d"
    fi
    return $rc
}

smbd_stop() {
    local d=${SMBD_DIR:-} rc=0
    [ -n "$d" ] || return 0
    harness_stop_dir "$d" || rc=1
    unset SMBD_ADDR SMBD_PORT SMBD_DIR SMBD_CONF SMBD_LOG SMBD_PID SMBD_SHARE \
        SMBD_SHARE_DIR SMBD_PROFILE SMBD_PLAIN_SHARE SMBD_PLAIN_DIR SMBD_PRINTER
    return $rc
}

# impacket's smbserver: SMB1 only (no -smb2support). Its SMB1 signatures
# do not verify, so clients must test it unsigned.
impacket_start() {
    local d port attempt i user=${IMPACKET_TEST_USER:-$SMBD_TEST_USER} pass=$SMBD_TEST_PASS
    local script=/usr/share/doc/python3-impacket/examples/smbserver.py
    if [ -n "${IMPACKET_DIR:-}" ] && [ -d "${IMPACKET_DIR:-}" ]; then
        _h_log "impacket_start: a server from this shell is still running; impacket_stop first"
        return 1
    fi
    [ -f "$script" ] || { _h_log "impacket smbserver.py missing (install python3-impacket)"; return 1; }
    harness_cleanup quiet
    d=$(mktemp -d "$HARNESS_TMP_PREFIX.XXXXXX") || return 1
    chmod 0755 "$d"
    mkdir -p "$d/share" "$d/log"
    echo "impacket" >"$d/kind"
    echo "${HARNESS_OWNER_PID:-$$}" >"$d/owner.pid"
    for attempt in 1 2 3; do
        port=$(harness_free_port 127.0.0.1) || return 1
        # setsid: its own process group, stopped as one. The script path
        # is copied into $d so that _h_kill_by_dir finds it by directory.
        cp "$script" "$d/smbserver.py"
        local launcher=setsid
        # Under job control a background job leads a group of its own
        # already, and setsid would fork away from $!.
        case $- in *m*) launcher= ;; esac
        $launcher "$HARNESS_SYS_PYTHON" "$d/smbserver.py" -ip 127.0.0.1 -port "$port" \
            -username "$user" -password "$pass" -comment "smbfuse test" \
            SHARE "$d/share" </dev/null >"$d/log/stdout" 2>&1 &
        local pid=$!
        echo "$pid" >"$d/harness.pid"
        if _h_wait_up "$pid" 127.0.0.1 "$port"; then
            IMPACKET_ADDR=127.0.0.1 IMPACKET_PORT=$port IMPACKET_DIR=$d
            IMPACKET_LOG=$d/log IMPACKET_PID=$pid IMPACKET_SHARE=SHARE
            IMPACKET_SHARE_DIR=$d/share IMPACKET_USER=$user IMPACKET_PASS=$pass
            IMPACKET_DOMAIN=WORKGROUP IMPACKET_PROFILE=impacket
            _h_print_env IMPACKET
            return 0
        fi
        _h_give_up "$pid" "$d/log/stdout" "impacket smbserver (port $port, attempt $attempt)"
    done
    rm -rf "$d"
    return 1
}

impacket_stop() {
    local d=${IMPACKET_DIR:-} rc=0
    [ -n "$d" ] || return 0
    harness_stop_dir "$d" || rc=1
    unset IMPACKET_ADDR IMPACKET_PORT IMPACKET_DIR IMPACKET_LOG IMPACKET_PID \
        IMPACKET_SHARE IMPACKET_SHARE_DIR IMPACKET_PROFILE
    return $rc
}

# Stops every server a harness started and left behind: those whose
# owner (the shell or test process that started it) is gone, or with
# "all" every one ("quiet": dead owners, no report; every start does
# this first, so a crashed test's server does not outlive the next one). Only processes recorded in harness pid files or naming
# a harness directory on their command line are touched.
harness_cleanup() {
    local d n=0 owner
    for d in "$HARNESS_TMP_PREFIX".*; do
        [ -d "$d" ] || continue
        [ -e "$d/kept" ] && continue
        owner=$(cat "$d/owner.pid" 2>/dev/null || true)
        if [ "${1:-}" != all ]; then
            # No owner yet: another start is filling this directory in right
            # now (or died doing so long ago).
            if [ -z "$owner" ]; then
                [ -n "$(find "$d" -maxdepth 0 -mmin +10 2>/dev/null)" ] || continue
            elif kill -0 "$owner" 2>/dev/null; then
                continue
            fi
        fi
        harness_stop_dir "$d" || true
        n=$((n + 1))
    done
    [ "${1:-}" = quiet ] && return 0
    _h_log "cleaned $n harness director$([ $n = 1 ] && echo y || echo ies)"
}
