/* Calls that go straight to the core: statfs and extended attributes. */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "fs_ops_int.h"
#include "fs_status.h"
#include "smb1_cache.h"

int sfs_statfs(const char *path, struct statvfs *sv)
{
    struct sfs_fs *fs = get_fs();
    struct smb1_statfs sf;
    int r = smb1_statfs(fs->tree, &sf);
    if (r)
        return r;
    memset(sv, 0, sizeof(*sv));
    unsigned long bs = sf.block_size ? sf.block_size : 4096;
    sv->f_bsize = bs;
    sv->f_frsize = bs;
    sv->f_blocks = (fsblkcnt_t)(sf.total_bytes / bs);
    sv->f_bfree = (fsblkcnt_t)(sf.free_bytes / bs);
    sv->f_bavail = (fsblkcnt_t)(sf.avail_bytes / bs);
    sv->f_namemax = sf.name_max && sf.name_max < SFS_NAME_MAX ? sf.name_max : SFS_NAME_MAX;
    return 0;
}

/* The core keeps to the user. namespace and answers ENOTSUP for the rest. */
int sfs_setxattr(const char *path, const char *name, const char *value, size_t size, int flags)
{
    struct sfs_fs *fs = get_fs();
    SPATH(sp, path);
    return smb1_setxattr(fs->tree, sp, name, value, size, flags);
}

int sfs_getxattr(const char *path, const char *name, char *value, size_t size)
{
    struct sfs_fs *fs = get_fs();
    if (!strcmp(path, "/") && !strcmp(name, SFS_STATUS_XATTR)) {
        struct cache_stats cs;
        cache_get_stats(fs->cache, &cs);
        struct sfs_status_counts n = {
            .cache_hits = cs.hits + cs.negative_hits,
            .cache_misses = cs.misses,
            .fuse_writes = atomic_load_explicit(&fs->fuse_writes, memory_order_relaxed),
        };
        return sfs_status_format(fs->conn, fs->opts, &n, value, size);
    }
    SPATH(sp, path);
    ssize_t r = smb1_getxattr(fs->tree, sp, name, value, size);
    return r > INT_MAX ? -E2BIG : (int)r;
}

int sfs_listxattr(const char *path, char *list, size_t size)
{
    struct sfs_fs *fs = get_fs();
    SPATH(sp, path);
    ssize_t r = smb1_listxattr(fs->tree, sp, list, size);
    /* A server without EAs simply has none to list. */
    if (r == -ENOTSUP)
        return 0;
    return r > INT_MAX ? -E2BIG : (int)r;
}

int sfs_removexattr(const char *path, const char *name)
{
    struct sfs_fs *fs = get_fs();
    SPATH(sp, path);
    return smb1_removexattr(fs->tree, sp, name);
}
