/* POSIX (fcntl) and flock locks: the FUSE callbacks. The lock algebra is
 * the core's (src/ops/op_plock.c). fcntl locks belong to libfuse's lock
 * owner; flock locks to the open file, which is the handle. Owners that
 * share a handle (a descriptor inherited across fork) share its SMB locks:
 * the server cannot tell them apart. What stays Windows-like: the server
 * enforces the locks on other handles' reads and writes (sqlite's WAL
 * mode, whose lock bytes sit in the -shm file it maps, is therefore not
 * for such a mount). */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/file.h>

#include "fs_ops_int.h"

/* [start, end) of a POSIX lock of l_start and l_len (0: to the end). */
static void lock_span(const struct flock *fl, uint64_t *start, uint64_t *end)
{
    *start = (uint64_t)fl->l_start;
    uint64_t len = (uint64_t)fl->l_len;
    *end = len == 0 || len > UINT64_MAX - *start ? UINT64_MAX : *start + len;
}

/* libfuse keeps the POSIX bookkeeping of this mount's owners for F_GETLK
 * among them; the core probes the rest. */
int sfs_lock(const char *path, struct fuse_file_info *fi, int cmd, struct flock *fl)
{
    (void)path;
    struct smb1_file *h = get_handle(fi);
    if (!h)
        return -EBADF;
    if (fl->l_start < 0 || fl->l_len < 0)
        return -EINVAL;
    if (fl->l_type != F_RDLCK && fl->l_type != F_WRLCK && fl->l_type != F_UNLCK)
        return -EINVAL;
    uint64_t start, end;
    lock_span(fl, &start, &end);
    switch (cmd) {
    case F_GETLK: {
        int type = fl->l_type;
        int r = smb1_posix_getlk(h, start, end, &type);
        if (r == 0 && type != F_UNLCK)
            fl->l_pid = 0; /* the holder is on another handle or client */
        if (r == 0)
            fl->l_type = (short)type;
        return r;
    }
    case F_SETLK:
    case F_SETLKW:
        return smb1_posix_lock(h, fi->lock_owner, false, start, end, fl->l_type, cmd == F_SETLKW,
                               fuse_interrupted);
    default:
        return -EINVAL;
    }
}

int sfs_flock(const char *path, struct fuse_file_info *fi, int op)
{
    (void)path;
    struct smb1_file *h = get_handle(fi);
    if (!h)
        return -EBADF;
    int type;
    switch (op & ~LOCK_NB) {
    case LOCK_SH:
        type = F_RDLCK;
        break;
    case LOCK_EX:
        type = F_WRLCK;
        break;
    case LOCK_UN:
        type = F_UNLCK;
        break;
    default:
        return -EINVAL;
    }
    return smb1_posix_lock(h, 0, true, 0, UINT64_MAX, type, !(op & LOCK_NB), fuse_interrupted);
}
