#!/bin/bash
# smbfuse --explain-signing, -o pcap= and --status against real smbd:
# - signing mandatory: the walk-through numbers the messages as MS-SMB says
#   (final SESSION_SETUP reply 1, TREE_CONNECT 2/3, fragments of one reply
#   share its number), every reply verifies, exit 0; the password and the
#   NT hash never appear, the MAC key only with --show-keys (and its
#   fingerprint matches); the capture decodes with tshark, no malformed
#   frame, with the expected commands and the MACs the walk-through shows;
#   an unwritable capture file is a clean error;
# - through a proxy that breaks one reply's MAC: BAD with both MACs, exit 2;
# - --status on a live mount through such a proxy: requests, bad
#   signatures, reconnects and the last error move;
# - signing disabled: the walk-through says the connection is not signed.
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

PROXY=$FS_SRC/tests/integration/smb_proxy.py
command -v tshark >/dev/null || fail "tshark is needed (apt-get install tshark)"

explain() { # explain PORT OUTFILE [extra options] [flags...]
    local port=$1 out=$2 extra=${3:-}
    shift 3 || shift $#
    local o="port=$port,username=$SMBD_USER"
    [ -n "$extra" ] && o="$o,$extra"
    set +e
    PASSWD="$SMBD_PASS" "$SMBFUSE" --explain-signing "$@" "//127.0.0.1/$SHARE_NAME" -o "$o" \
        >"$out" 2>"$out.err"
    local rc=$?
    set -e
    return $rc
}

start_proxy() { # start_proxy ARGS...: sets PROXY_PORT
    local pf=$FS_TMP/proxy.port.$RANDOM
    python3 "$PROXY" 0 "$PORT" --port-file "$pf" "$@" >/dev/null &
    FS_EXTRA_PIDS+=($!)
    local i
    for i in $(seq 100); do [ -s "$pf" ] && break; sleep 0.05; done
    PROXY_PORT=$(cat "$pf")
}

# The NT hash of the test password, to prove it never appears.
nt_hash() {
    python3 - "$1" <<'PY'
import hashlib, sys
p = sys.argv[1].encode("utf-16-le")
try:
    print(hashlib.new("md4", p).hexdigest())
except ValueError:
    # OpenSSL 3 without the legacy provider: the worked example's value.
    known = {"Smb1-pass-4711": "671b97ec2b39c732504592acff5ab33d"}
    print(known[sys.argv[1]])
PY
}

no_secrets() { # no_secrets FILE...
    local f
    for f in "$@"; do
        if grep -qiF -- "$SMBD_PASS" "$f" || grep -qiF -- "$NTHASH" "$f"; then
            fail "a secret appears in $f"
        fi
    done
}

fs_start_server signed
NTHASH=$(nt_hash "$SMBD_PASS")
echo "hello, signing" >"$SHARE_DIR/hello.txt"
# Enough long names that the listing comes back in several TRANS2 fragments.
for i in $(seq 300); do
    : >"$SHARE_DIR/a-rather-long-file-name-to-make-the-listing-large-$(printf %04d "$i").txt"
done

# ---- signing mandatory ----
OUT=$FS_TMP/explain.txt
explain "$PORT" "$OUT" "pcap=$FS_TMP/x.pcap" || fail "explain exited $? on a signing server: $(cat "$OUT" "$OUT.err")"
grep -q "SecurityMode is 0x0f" "$OUT" || fail "no SecurityMode line"
grep -Eq '^   <-   SESSION_SETUP_ANDX +[0-9]+ +1  ([0-9a-f]{16})  \1  good' "$OUT" ||
    fail "the final SESSION_SETUP reply is not number 1, good: $(grep SESSION_SETUP "$OUT")"
grep -q '"BSRSPYL "' "$OUT" || fail "the placeholder is not shown"
grep -Eq '^   ->   TREE_CONNECT_ANDX +[0-9]+ +2  ' "$OUT" || fail "TREE_CONNECT request is not number 2"
grep -Eq '^   <-   TREE_CONNECT_ANDX +[0-9]+ +3  .*good' "$OUT" || fail "TREE_CONNECT reply is not number 3"
# Sequence numbers: requests 2, 4, 6, ... each reply one more.
awk '$1 == "->" && $4 ~ /^[0-9]+$/ { if ($4 != want) { print "request " $4 " where " want " was due"; bad = 1 } want = $4 + 2; mid[$3] = $4 }
     $1 == "<-" && $4 ~ /^[0-9]+$/ && ($3 in mid) { if ($4 != mid[$3] + 1) { print "reply MID " $3 " has " $4; bad = 1 } }
     BEGIN { want = 2 } END { exit bad }' "$OUT" || fail "sequence numbers do not run 2, 4, ... with replies +1"
grep -q "TRANSACTION2 #2 .*good, same number as the first fragment" "$OUT" ||
    fail "no multi-fragment reply shown"
grep -q "every signed reply verified" "$OUT" || fail "no verdict line"
grep -q "fingerprint MD5(key)\[0..3\] = [0-9a-f]\{8\}" "$OUT" || fail "no key fingerprint"
grep -q "WARNING" "$OUT" && fail "the key is shown without --show-keys"
no_secrets "$OUT" "$OUT.err"
fs_log "ok   signed: numbers 1, 2/3, ..., fragments, every reply good, exit 0, no secret"

# The capture: tshark decodes it, nothing malformed, the commands are there,
# and its signatures are the walk-through's.
tshark -r "$FS_TMP/x.pcap" -Y _ws.malformed 2>/dev/null >"$FS_TMP/malformed.txt"
[ ! -s "$FS_TMP/malformed.txt" ] || fail "tshark finds malformed frames: $(head "$FS_TMP/malformed.txt")"
tshark -r "$FS_TMP/x.pcap" 2>/dev/null >"$FS_TMP/decoded.txt"
for c in "Negotiate Protocol Request" "Session Setup AndX Response" "Tree Connect AndX Request" \
    "Trans2 Response, FIND_FIRST2" "Read AndX Response" "Logoff AndX Response"; do
    grep -q "$c" "$FS_TMP/decoded.txt" || fail "the capture lacks '$c'"
done
mac=$(awk '$1 == "<-" && $2 == "TREE_CONNECT_ANDX" { print $5; exit }' "$OUT")
tshark -r "$FS_TMP/x.pcap" -T fields -e smb.signature 2>/dev/null | tr -d ':' | grep -q "$mac" ||
    fail "the capture does not hold the TREE_CONNECT reply's MAC $mac"
no_secrets "$FS_TMP/decoded.txt"
fs_log "ok   capture: $(wc -l <"$FS_TMP/decoded.txt") packets, 0 malformed, MACs match"

# --show-keys: the key, with a warning, and the fingerprint is MD5(key)[0..3].
explain "$PORT" "$OUT" "" --show-keys || fail "explain --show-keys exited $?"
grep -q "WARNING: --show-keys" "$OUT" || fail "no warning with --show-keys"
key=$(grep -A1 "WARNING: --show-keys" "$OUT" | tail -n 1 | tr -d ' ')
fp=$(grep -o "fingerprint MD5(key)\[0..3\] = [0-9a-f]*" "$OUT" | awk '{print $NF}')
[ "$(printf '%s' "$key" | xxd -r -p | md5sum | cut -c1-8)" = "$fp" ] ||
    fail "fingerprint $fp is not MD5 of the key shown"
no_secrets "$OUT"
fs_log "ok   --show-keys prints the key ($((${#key} / 2)) bytes) with a warning"

# pcap_max bounds the capture; what is in it still decodes.
explain "$PORT" "$OUT" "pcap=$FS_TMP/small.pcap,pcap_max=4096" || fail "explain with pcap_max exited $?"
[ "$(stat -c %s "$FS_TMP/small.pcap")" -le 4096 ] || fail "pcap_max=4096 exceeded"
grep -q "reached pcap_max" "$OUT.err" || fail "no warning when the capture is full"
[ -z "$(tshark -r "$FS_TMP/small.pcap" -Y _ws.malformed 2>/dev/null)" ] || fail "a bounded capture has malformed frames"
fs_log "ok   pcap_max=4096: $(stat -c %s "$FS_TMP/small.pcap") bytes, still decodes"

# A capture file that cannot be written: a clean message, no connection.
explain "$PORT" "$OUT" "pcap=$FS_TMP/no/such/dir/x.pcap" && fail "an unwritable capture was accepted"
grep -q "cannot write the capture $FS_TMP/no/such/dir/x.pcap: No such file or directory" \
    "$OUT" || fail "unclear message for an unwritable capture: $(cat "$OUT")"
fs_log "ok   unwritable capture: clean error"

# ---- one reply's MAC broken on the way ----
start_proxy --break-mac 3
explain "$PROXY_PORT" "$OUT" && fail "explain exited 0 with a broken MAC"
rc=$?
[ $rc -eq 2 ] || fail "exit $rc with a broken MAC (2 expected)"
line=$(grep "BAD: not made with our key" "$OUT" | head -n 1)
[ -n "$line" ] || fail "no BAD line: $(cat "$OUT")"
w=$(echo "$line" | awk '{print $5}')
c=$(echo "$line" | awk '{print $6}')
[ "$w" != "$c" ] || fail "the BAD line shows the same MAC twice: $line"
grep -q "did NOT verify" "$OUT" || fail "no failure verdict"
no_secrets "$OUT" "$OUT.err"
fs_log "ok   broken MAC: BAD with $w on the wire, $c computed, exit 2"

# ---- --status on a live mount, through a proxy that breaks reply 40 ----
start_proxy --break-mac 40
PORT_SAVED=$PORT
PORT=$PROXY_PORT
FS_FOREGROUND=1
fs_mount "pcap=$FS_TMP/mount.pcap"
PORT=$PORT_SAVED
"$SMBFUSE" --status "$MNT" >"$FS_TMP/st1.txt" || fail "--status failed on a live mount"
for k in "server: 127.0.0.1" "share: $SHARE_NAME" "transport: direct TCP, port $PROXY_PORT" \
    "logon: NTLMSSP (NTLMv2) as $SMBD_USER" "signing: active" "state: connected" "epoch: 1" \
    "bad_signatures: 0" "last_error: none" "in_flight: 0"; do
    grep -qF "$k" "$FS_TMP/st1.txt" || fail "--status lacks '$k': $(cat "$FS_TMP/st1.txt")"
done
val() { grep "^$1: " "$2" | awk '{print $2}'; }
for i in $(seq 30); do
    ls "$MNT" >/dev/null 2>&1 || true
    cat "$MNT/hello.txt" >/dev/null 2>&1 || true
    stat "$MNT/hello.txt" >/dev/null 2>&1 || true
    "$SMBFUSE" --status "$MNT" >"$FS_TMP/st2.txt"
    [ "$(val bad_signatures "$FS_TMP/st2.txt")" -ge 1 ] && break
done
[ "$(val requests "$FS_TMP/st2.txt")" -gt "$(val requests "$FS_TMP/st1.txt")" ] ||
    fail "requests did not move: $(cat "$FS_TMP/st2.txt")"
[ "$(val bad_signatures "$FS_TMP/st2.txt")" -ge 1 ] || fail "the broken MAC was not counted"
grep -q "^last_error: Input/output error (" "$FS_TMP/st2.txt" ||
    fail "no last error: $(cat "$FS_TMP/st2.txt")"
cat "$MNT/hello.txt" >/dev/null # the next request reconnects
"$SMBFUSE" --status "$MNT" >"$FS_TMP/st3.txt"
[ "$(val reconnects "$FS_TMP/st3.txt")" -ge 1 ] || fail "no reconnect counted: $(cat "$FS_TMP/st3.txt")"
[ "$(val epoch "$FS_TMP/st3.txt")" -ge 2 ] || fail "epoch did not move"
[ "$(val cache_hits "$FS_TMP/st3.txt")" -gt 0 ] || fail "no cache hit counted"
"$SMBFUSE" --status "$FS_TMP" >/dev/null 2>&1 && fail "--status on a directory that is no mount"
fs_log "ok   --status: requests $(val requests "$FS_TMP/st1.txt") -> $(val requests "$FS_TMP/st3.txt"), bad signature and reconnect counted"
fs_unmount
# The mount's own capture, across the reconnect.
[ -z "$(tshark -r "$FS_TMP/mount.pcap" -Y _ws.malformed 2>/dev/null)" ] || fail "the mount's capture has malformed frames"
tshark -r "$FS_TMP/mount.pcap" 2>/dev/null >"$FS_TMP/mount.txt"
[ "$(grep -c "Negotiate Protocol Request" "$FS_TMP/mount.txt")" -ge 2 ] || fail "the reconnect is not in the mount's capture"
[ "$(tshark -r "$FS_TMP/mount.pcap" -T fields -e tcp.stream 2>/dev/null | sort -u | wc -l)" -ge 2 ] ||
    fail "the reconnect is not a TCP stream of its own in the capture"
grep -q "Read AndX Response" "$FS_TMP/mount.txt" || fail "no read in the mount's capture"
no_secrets "$FS_TMP/mount.txt"
fs_log "ok   mount capture: $(wc -l <"$FS_TMP/mount.txt") packets, 0 malformed"

# ---- signing disabled ----
fs_stop_server
fs_start_server nosign
echo "hello, unsigned" >"$SHARE_DIR/hello.txt"
explain "$PORT" "$OUT" || fail "explain exited $? on a server without signing: $(cat "$OUT")"
grep -q "signing NOT enabled (0x04)" "$OUT" || fail "the SecurityMode line does not say signing is off"
grep -q "this connection was NOT signed" "$OUT" || fail "no warning that nothing was signed"
grep -Eq '^   <-   READ_ANDX .* not signed, not checked' "$OUT" || fail "replies are not shown unsigned"
no_secrets "$OUT" "$OUT.err"
fs_log "ok   no signing: said so, exit 0"
fs_log "PASS"
