/* Owner changes of a file we created, held for the mode that follows
 * (op_setown.c). */
#ifndef SMBFUSE_OP_SETOWN_H
#define SMBFUSE_OP_SETOWN_H

#include <stdbool.h>
#include <stdint.h>

#include "ops/op_file.h"

/* One SET_PATH_INFORMATION SMB_SET_FILE_UNIX_BASIC of path setting uid,
 * gid and mode (each -1: unchanged; mode's low 12 bits). 0 or -errno, the
 * reply's status in *status when one came. */
int setown_send(struct smb1_tree *t, const char *path, int64_t uid, int64_t gid, int mode,
                uint32_t *status);
/* Whether the change of the owner of a file we created from (fuid, fgid)
 * to (uid, gid) was answered within the tree's own TTL: *r its result. */
bool setown_known(struct smb1_tree *t, uint64_t fuid, uint64_t fgid, uint64_t uid, uint64_t gid,
                  int *r);
/* Such a change was answered r. */
void setown_learn(struct smb1_tree *t, uint64_t fuid, uint64_t fgid, uint64_t uid, uint64_t gid,
                  int r);
/* f's held owner change (f->chown_held) goes out now; f->wb_lock held.
 * 0 (also when nothing was held) or its failure (logged). */
int setown_push_locked(struct smb1_file *f);

#endif
