/* The core's record of a file we created and hold open (smb1_own_* in
 * smb1.h, src/ops/op_own.c), asked by FUSE path. What it is and why
 * untar needs it: op_own.c.
 */
#define FUSE_USE_VERSION 314

#include "fs_ops_int.h"

#define OWN_SPATH(sp)                                                                              \
    char sp[SFS_SPATH_MAX];                                                                        \
    if (sfs_spath(fs, path, sp, sizeof(sp)))                                                       \
    return false

bool own_attr(struct sfs_fs *fs, const char *path, struct smb1_stat *s, bool *exact)
{
    OWN_SPATH(sp);
    return smb1_own_attr(fs->tree, sp, s, exact);
}

bool own_changed(struct sfs_fs *fs, const char *path, int64_t uid, int64_t gid, int mode,
                 struct smb1_stat *s)
{
    OWN_SPATH(sp);
    return smb1_own_changed(fs->tree, sp, uid, gid, mode, s);
}

bool own_times(struct sfs_fs *fs, const char *path, const struct timespec *at,
               const struct timespec *mt, struct smb1_stat *s)
{
    OWN_SPATH(sp);
    return smb1_own_times(fs->tree, sp, at, mt, s);
}

bool own_defer_mtime(struct sfs_fs *fs, const char *path, const struct timespec *mt,
                     struct smb1_stat *s)
{
    OWN_SPATH(sp);
    return smb1_own_defer_mtime(fs->tree, sp, mt, s);
}

void own_forget(struct sfs_fs *fs, const char *path)
{
    char sp[SFS_SPATH_MAX];
    if (sfs_spath(fs, path, sp, sizeof(sp)) == 0)
        smb1_own_forget(fs->tree, sp);
}
