#!/bin/bash
# A printer share mounted with smbfuse (fs_print.c) against smbd's printer
# that prints to a directory (harness/smbd.sh), on the signed and the
# unsigned profile: a text file, a 3 MiB binary and a file with spaces and
# UTF-8 in its name arrive byte for byte, every close() returns 0 (cp and
# a redirection report it), the forced OPEN_PRINT_FILE path prints too, a
# refused job reaches the program, mkdir/rename/chmod/truncate/reading
# back fail cleanly, ls lists held jobs with their names and sizes and rm
# cancels one, df works. Then the CUPS backend prints a file and standard
# input, and exits with CUPS's codes.
set -euo pipefail

SRC=${SMBFUSE_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
BIN=${SMBFUSE_BINARY_DIR:-$SRC/build}
SMBFUSE=$BIN/fuse/smbfuse
BACKEND=$BIN/tools/cups/smb1-cups-backend
. "$SRC/tests/integration/harness/smbd.sh"

T=$(mktemp -d /tmp/smbfuse-print.XXXXXX)
MNT=$T/mnt
mkdir -p "$MNT"
FAILS=0
PASSES=0
cleanup() {
    set +e
    if mountpoint -q "$MNT"; then
        for i in 1 2 3 4 5 6 7 8 9 10; do fusermount3 -u "$MNT" 2>/dev/null && break; sleep 0.3; done
        mountpoint -q "$MNT" && fusermount3 -uz "$MNT"
    fi
    smbd_stop >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT

ok() { PASSES=$((PASSES + 1)); echo "ok: $*"; }
bad() { FAILS=$((FAILS + 1)); echo "FAIL: $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

[ -x "$SMBFUSE" ] || { echo "FAIL: no $SMBFUSE"; exit 1; }
[ -x "$BACKEND" ] || { echo "FAIL: no $BACKEND"; exit 1; }

printf 'Hello, printer.\nA second line.\n' >"$T/hello.txt"
head -c 3145728 /dev/urandom >"$T/big.bin"
printf 'spaces and UTF-8 \xc3\xa4\xc3\xb6\xc3\xbc\n' >"$T/name test.txt"
UTF_NAME=$'A file \xc3\xa4\xc3\xb6\xc3\xbc \xe2\x82\xac.txt'

# printed_match FILE: waits (10 s) for a printed job with FILE's bytes and
# removes it.
printed_match() {
    local want=$1 i f
    for i in $(seq 100); do
        for f in "$SMBD_DIR"/printed/smbprn.*; do
            [ -e "$f" ] || continue
            if cmp -s "$f" "$want"; then rm -f "$f"; return 0; fi
        done
        sleep 0.1
    done
    return 1
}

printed_none() {
    sleep 1
    ! ls "$SMBD_DIR"/printed/smbprn.* >/dev/null 2>&1
}

do_mount() {
    PASSWD="$SMBD_PASS" "$SMBFUSE" "//127.0.0.1/$SMBD_PRINTER" "$MNT" \
        -o "username=$SMBD_USER,port=$SMBD_PORT" 2>>"$T/smbfuse.log" ||
        { cat "$T/smbfuse.log" >&2; return 1; }
    mountpoint -q "$MNT"
}

do_umount() {
    local i
    for i in 1 2 3 4 5 6 7 8 9 10; do fusermount3 -u "$MNT" 2>/dev/null && return 0; sleep 0.3; done
    return 1
}

# Samba keeps a held job's record, document name included, in its queue
# database: "Remote Downlevel Document NAME".
job_named() {
    grep -qaF "Remote Downlevel Document $1" "$SMBD_DIR/cache/printing/$SMBD_PRINTER.tdb"
}

for profile in signed nosign; do
    smbd_start "$profile" >/dev/null
    touch "$SMBD_DIR/hold"
    check "$profile: smbfuse --list marks the printer" bash -c \
        "PASSWD='$SMBD_PASS' '$SMBFUSE' --list //127.0.0.1 -o 'username=$SMBD_USER,port=$SMBD_PORT' |
         grep -Eq '^$SMBD_PRINTER +printer'"
    check "$profile: mount of the printer share" do_mount
    check "$profile: cp of a text file returns 0" cp "$T/hello.txt" "$MNT/"
    check "$profile: the text file printed byte for byte" printed_match "$T/hello.txt"
    check "$profile: cp of a 3 MiB binary returns 0" cp "$T/big.bin" "$MNT/"
    check "$profile: the binary printed byte for byte" printed_match "$T/big.bin"
    check "$profile: a redirection into a job name with spaces and UTF-8" \
        bash -c "cat '$T/name test.txt' >'$MNT/$UTF_NAME'"
    check "$profile: that job printed byte for byte" printed_match "$T/name test.txt"
    check "$profile: the jobs carry the file names" job_named big.bin
    check "$profile: ... spaces and UTF-8 too" job_named "$UTF_NAME"
    # The jobs stay queued (hold): ls lists them as ID-NAME, rm cancels.
    check "$profile: ls lists the held job" bash -c "ls '$MNT' | grep -q -- '^[0-9]*-hello.txt\$'"
    entry=$(ls "$MNT" | grep -- '^[0-9]*-hello.txt$' | head -1 || true)
    check "$profile: ls -l shows its size" bash -c \
        "test \"\$(stat -c %s '$MNT/$entry')\" = $(stat -c %s "$T/hello.txt")"
    check "$profile: its status is an xattr" python3 -c \
        "import os,sys; v=os.getxattr(sys.argv[1], 'user.print.status'); sys.exit(v not in (b'queued', b'printing', b'spooling', b'paused'))" \
        "$MNT/$entry"
    check "$profile: the UTF-8 job is listed too" bash -c "ls '$MNT' | grep -qF -- '-$UTF_NAME'"
    check "$profile: rm cancels the job" rm "$MNT/$entry"
    check "$profile: ... and it is gone from the queue" bash -c "! ls '$MNT' | grep -qxF -- '$entry'"
    rm -f "$SMBD_DIR/hold"
    : >"$SMBD_DIR/queue"
    check "$profile: df of the printer" bash -c "df -P '$MNT' | tail -1 | grep -q ."
    check "$profile: mkdir fails with EPERM" bash -c "! mkdir '$MNT/d' 2>'$T/err' && grep -q 'not permitted' '$T/err'"
    check "$profile: reading a name back fails" bash -c "! cat '$MNT/hello.txt' >/dev/null 2>&1"
    check "$profile: rename fails" bash -c "! mv '$MNT/x' '$MNT/y' 2>/dev/null"
    check "$profile: chmod fails" bash -c "! chmod 600 '$MNT/x' 2>/dev/null"
    echo abc >"$T/abc.txt"
    check "$profile: truncate of a job being written fails" bash -c \
        "exec 3>'$MNT/t.txt'; echo abc >&3; ! truncate -s 1 '$MNT/t.txt' 2>/dev/null"
    check "$profile: that job still printed whole" printed_match "$T/abc.txt"
    # The server cannot create the spool file: the job is refused.
    chmod 000 "$SMBD_DIR/spool"
    check "$profile: a refused job fails the copy" bash -c "! cp '$T/hello.txt' '$MNT/' 2>'$T/err'"
    chmod 1777 "$SMBD_DIR/spool"
    check "$profile: nothing of it printed" printed_none
    check "$profile: unmount" do_umount
    if [ "$profile" = nosign ]; then
        SMBFUSE_TEST_OPEN_PRINT_FILE=1 do_mount || bad "mount with OPEN_PRINT_FILE"
        check "$profile: cp through SMB_COM_OPEN_PRINT_FILE returns 0" cp "$T/big.bin" "$MNT/old.bin"
        check "$profile: it printed byte for byte" printed_match "$T/big.bin"
        check "$profile: unmount" do_umount
    fi

    # The CUPS backend, run as CUPS would run it.
    export DEVICE_URI="smb1://$SMBD_USER:$SMBD_PASS@127.0.0.1:$SMBD_PORT/$SMBD_PRINTER"
    check "$profile: backend prints a file" "$BACKEND" 7 user "hello" 1 "" "$T/hello.txt"
    check "$profile: its job printed" printed_match "$T/hello.txt"
    check "$profile: backend prints standard input" bash -c "'$BACKEND' 8 user title 1 '' <'$T/big.bin'"
    check "$profile: its job printed" printed_match "$T/big.bin"
    check "$profile: backend with CUPS's AUTH_USERNAME/AUTH_PASSWORD" env \
        DEVICE_URI="smb1://127.0.0.1:$SMBD_PORT/$SMBD_PRINTER" AUTH_USERNAME="$SMBD_USER" \
        AUTH_PASSWORD="$SMBD_PASS" "$BACKEND" 10 user t 1 "" "$T/abc.txt"
    check "$profile: its job printed" printed_match "$T/abc.txt"
    printf 'username=%s\npassword=%s\n' "$SMBD_USER" "$SMBD_PASS" >"$T/cred"
    chmod 600 "$T/cred"
    check "$profile: backend with a credentials file (creds=)" env \
        DEVICE_URI="smb1://127.0.0.1:$SMBD_PORT/$SMBD_PRINTER?creds=$T/cred" \
        "$BACKEND" 11 user t 2 "" "$T/hello.txt"
    check "$profile: ... two copies printed" bash -c \
        "$(declare -f printed_match); SMBD_DIR='$SMBD_DIR'; printed_match '$T/hello.txt' && printed_match '$T/hello.txt'"
    set +e
    DEVICE_URI="smb1://$SMBD_USER:wrong@127.0.0.1:$SMBD_PORT/$SMBD_PRINTER" \
        "$BACKEND" 9 user t 1 "" "$T/hello.txt" 2>"$T/err"
    rc=$?
    set -e
    check "$profile: bad credentials exit 2 (auth required)" test "$rc" = 2
    unset DEVICE_URI
    smbd_stop >/dev/null
done

set +e
"$BACKEND" >"$T/dev"
rc=$?
set -e
check "backend without arguments prints its device line" bash -c "test $rc = 0 && grep -q '^network smb1 ' '$T/dev'"
set +e
DEVICE_URI="smb1://u:p@127.0.0.1:1/lp" "$BACKEND" 1 u t 1 "" "$T/hello.txt" 2>"$T/err"
rc=$?
set -e
check "a server that is down: exit 6 (retry later)" test "$rc" = 6
check "... with ERROR: on stderr" grep -q '^ERROR: ' "$T/err"

echo "$PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
