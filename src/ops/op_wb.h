/* Held writes and background CLOSEs (op_wb.c): the per-file state that
 * makes a small file we created cost its create and one WRITE_ANDX+CLOSE
 * chain, and a release return before its CLOSE is answered. */
#ifndef SMBFUSE_OP_WB_H
#define SMBFUSE_OP_WB_H

#include "ops/op_file.h"

/* Writes out what f holds (before a request through f that could
 * observe it: read, fstat, truncate, lock, FLUSH). 0 or the failure,
 * which f also reports at its next write, flush or close. */
int wb_push(struct smb1_file *f);
/* Marks f as having writes on their way (op_wbehind.c) or not, for the
 * settles. */
void wb_behind_busy(struct smb1_file *f, bool busy);
/* Holds a change of f's owner to (uid, gid) until the chmod that takes
 * it (op_attr.c) or a push; f holds its writes (smb1_hold_writes). */
void wb_hold_owner(struct smb1_file *f, uint64_t fuid, uint64_t fgid, uint64_t uid, uint64_t gid);
/* f holds a change (a mode: op_attr.c) that a settle must push. */
void wb_held(struct smb1_file *f);
/* Sends f's held owner change now (its failure goes where a held write's
 * would), before another change of the owner or a set-id mode. */
void wb_push_owner(struct smb1_file *f);
/* An owed unlock of a file of t got no answer (op_lock.c): the tree's
 * closer thread calls lock_owed_retry in retry_ms, and again each time it
 * asks. */
void wb_owed_retry_later(struct smb1_tree *t, int retry_ms);

#endif
