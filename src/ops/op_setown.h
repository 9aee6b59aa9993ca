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
/* f's held owner change and mode (f->chown_held, f->mode_held) go out
 * now, in one set; f->wb_lock held. 0 (also when nothing was held) or
 * the failure (logged). */
int setown_push_locked(struct smb1_file *f);

/* What f holds for one SET_FILE_UNIX_BASIC, taken off f. */
struct setown_held {
    bool chown, mode;
    uint64_t uid, gid, fuid, fgid;
    unsigned mode_val;
};
/* Takes f's held changes (f->wb_lock held); false: none. */
bool setown_take_locked(struct smb1_file *f, struct setown_held *h);
/* Sends h's one set now (and its parts, as setown_settle). */
int setown_push_held(struct smb1_file *f, const struct setown_held *h);
/* The record of h's one set. */
void setown_encode(const struct setown_held *h, uint8_t *rec);
/* h's one set of path was answered r (a caller that sent it with other
 * requests): a failure is sent again as its parts, the mode's then the
 * owner's, whose outcome is learnt. Logs; returns the first failure. */
int setown_settle(struct smb1_file *f, const char *path, const struct setown_held *h, int r);

#endif
