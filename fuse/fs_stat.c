/* What stat(2) shows of a file: the server's attributes with the mount's
 * uid, gid and modes where the server has none (or they are forced). */
#define FUSE_USE_VERSION 314

#include "fs_ops_int.h"

#include <string.h>
#include <sys/stat.h>

uid_t shown_uid(const struct sfs_fs *fs, const struct smb1_stat *s)
{
    if (s->has_unix && !fs->opts->forceuid)
        return (uid_t)s->uid;
    return fs->opts->uid;
}

gid_t shown_gid(const struct sfs_fs *fs, const struct smb1_stat *s)
{
    if (s->has_unix && !fs->opts->forcegid)
        return (gid_t)s->gid;
    return fs->opts->gid;
}

void to_stat(const struct sfs_fs *fs, const struct smb1_stat *s, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    if (s->has_unix) {
        st->st_mode = (mode_t)s->mode;
        if ((st->st_mode & S_IFMT) == 0)
            st->st_mode |= s->is_dir ? S_IFDIR : S_IFREG;
        st->st_nlink = s->nlink ? (nlink_t)s->nlink : 1;
        st->st_rdev = (dev_t)s->rdev;
    } else if (s->is_link) {
        st->st_mode = S_IFLNK | 0777;
        st->st_nlink = 1;
    } else if (s->is_dir) {
        st->st_mode = S_IFDIR | (fs->opts->dir_mode & 07777);
        st->st_nlink = 2;
    } else {
        st->st_mode = S_IFREG | (fs->opts->file_mode & 07777);
        /* mount.cifs shows the DOS read-only attribute as missing write bits. */
        if (s->attrs & SMB1_ATTR_READONLY)
            st->st_mode &= ~(mode_t)0222;
        /* NumberOfLinks of FILE_STANDARD_INFO (1 from a listing). */
        st->st_nlink = s->nlink ? (nlink_t)s->nlink : 1;
    }
    if (s->has_unix)
        st->st_ino = (ino_t)s->ino;
    st->st_uid = shown_uid(fs, s);
    st->st_gid = shown_gid(fs, s);
    st->st_size = (off_t)s->size;
    st->st_blocks = (blkcnt_t)((s->alloc + 511) / 512);
    st->st_blksize = SFS_BLKSIZE;
    st->st_atim = s->atime;
    st->st_mtim = s->mtime;
    st->st_ctim = s->ctime;
}
