/* POSIX locks (fcntl and flock) over SMB byte-range locks: the lock
 * algebra of an open file, kept once, in the core (op_plock.c).
 *
 * POSIX locks of one owner merge, split, upgrade and downgrade in place.
 * SMB byte-range locks stack instead, an exclusive one conflicts even with
 * a shared one of the same handle, and an unlock must name a range exactly
 * as it was locked. So each open file keeps the ranges each owner holds
 * (the POSIX view, each range one SMB lock) and turns a change into SMB
 * calls: first the new shared pieces (they may stack on what the owner
 * holds), then the unlocks of the ranges that change, last the new
 * exclusive pieces. A refusal undoes what was done, so a failed F_SETLK
 * leaves the owner's locks as they were: sqlite upgrades its shared lock
 * to an exclusive one in place, and retries while readers hold theirs.
 *
 * Samba (4.17, with OFD locks under its byte-range locks) leaves the
 * server-side lock of a shared range behind when one of our handles
 * unlocks it while another handle of the same connection still holds an
 * overlapping range: the Windows lock is gone, but the POSIX lock on the
 * first handle's descriptor stays, and every later exclusive lock there
 * fails although nobody holds the range. Such an unlocked range is
 * remembered as "stale" on its handle; as soon as none of our handles of
 * that file holds anything overlapping it, it is locked shared and
 * unlocked again through the same handle, which Samba then releases for
 * good.
 */
#ifndef SMBFUSE_OP_PLOCK_H
#define SMBFUSE_OP_PLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "smb1.h"

/* A byte range one owner holds through an open file: one owner's ranges
 * never overlap, and each is exactly one SMB lock on the server. */
struct plock_range {
    struct plock_range *next;
    uint64_t owner;
    uint64_t start, end; /* [start, end); UINT64_MAX: to the end of any file */
    bool flock;          /* an flock lock: owner is unused, the handle owns it */
    bool shared;
    bool gone; /* unlocked on the server in the change under way */
};

#endif
