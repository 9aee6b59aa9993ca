#!/bin/bash
# A Windows-like server: signing disabled, no UNIX extensions, mapposix.
# Modes come from file_mode/dir_mode, owners from uid/gid, the read-only
# attribute shows as missing write bits, reserved characters round-trip.
. "$(dirname "${BASH_SOURCE[0]}")/../fs_lib.sh"

fs_setup nosign "file_mode=0640,dir_mode=0750,uid=4321,gid=5432"

fs_ops_checks ops nounix

touch "$MNT/plain"
mkdir "$MNT/dir"
[ "$(stat -c '%a %u %g' "$MNT/plain")" = "640 4321 5432" ] || fail "file mode/owner: $(stat -c '%a %u %g' "$MNT/plain")"
[ "$(stat -c '%a %u %g' "$MNT/dir")" = "750 4321 5432" ] || fail "dir mode/owner: $(stat -c '%a %u %g' "$MNT/dir")"
chmod a-w "$MNT/plain"
[ "$(stat -c '%a' "$MNT/plain")" = "440" ] || fail "read-only attribute: $(stat -c '%a' "$MNT/plain")"
chmod u+w "$MNT/plain"
[ "$(stat -c '%a' "$MNT/plain")" = "640" ] || fail "read-only attribute cleared: $(stat -c '%a' "$MNT/plain")"
fs_log "ok   file_mode/dir_mode/uid/gid and the read-only attribute"

# Reserved characters are stored under their mapped names on the server
# and come back as typed.
touch "$MNT/a:b"
[ -e "$MNT/a:b" ] || fail "a:b"
ls "$SHARE_DIR" | grep -q '^a:b$' && fail "a ':' reached the server unmapped"
fs_log "PASS"
