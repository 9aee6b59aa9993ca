/* The state the files of the FUSE layer share: the per-mount struct
 * sfs_fs, the FUSE handle and libfuse's names of unlinked open files.
 * fs_ops.c has the callbacks (fs_setattr.c those of times, mode and
 * owner), fs_paths.c the server paths, those names
 * and the keep_cache record, fs_locks.c the lock callbacks. The open
 * files themselves (held writes, what a create told us, background
 * CLOSEs) and the POSIX lock algebra are the core's: src/ops/op_file.c,
 * op_wb.c, op_own.c, op_plock.c.
 */
#ifndef SMBFUSE_FS_OPS_INT_H
#define SMBFUSE_FS_OPS_INT_H

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fs_ops.h"

struct cache;
struct cache_dir;

#define SFS_NAME_MAX     255 /* bytes of UTF-8 per component, as on Linux */
#define SFS_SPATH_MAX    8192
#define SFS_KEEP_BUCKETS 4096
#define SFS_KEEP_MAX     16384
#define SFS_BLKSIZE      (1u << 20) /* st_blksize: makes cp and friends use big buffers */

/* A name of a file known to have others (fs_links.c): names with the
 * same key are one file. */
struct link_ent {
    char *path;
    uint64_t key;
};
#define SFS_LINKS_MAX 256

/* A file unlinked while open: libfuse's .fuse_hidden name for it, and the
 * name it really has on the server until its last close. */
struct sfs_ghost {
    struct sfs_ghost *next;
    char *fuse_path;
    char *server_path;
};

/* Size and mtime of a path when it was last opened: the kernel keeps a
 * file's pages across opens only while these are unchanged. */
struct keep_ent {
    struct keep_ent *next;
    uint64_t size;
    struct timespec mtime;
    char path[];
};

/* An open directory (fs_dirs.c): its FUSE path, moved by renames. */
struct sfs_dir {
    struct sfs_dir *prev, *next; /* protected by the mount's dirs_lock */
    char *path;                  /* protected by dirs_lock; NULL: lost */
    /* The listing the handle's readdirs serve (sfs_readdir), one
     * reference; NULL before the first. Only readdir and releasedir use
     * it, which libfuse runs one at a time per handle (its dh->lock). */
    struct cache_dir *list;
};

struct sfs_fs {
    struct smb1_conn *conn;
    struct smb1_tree *tree;
    const struct sfs_options *opts;
    struct smb1_log *log;
    struct cache *cache;
    bool unix_ext;
    pthread_mutex_t ghosts_lock; /* protects ghosts */
    struct sfs_ghost *ghosts;
    pthread_mutex_t keep_lock; /* protects keep[] and keep_n */
    struct keep_ent *keep[SFS_KEEP_BUCKETS];
    size_t keep_n;
    pthread_mutex_t links_lock; /* protects links[], links_n, links_seq */
    struct link_ent links[SFS_LINKS_MAX];
    size_t links_n;
    uint64_t links_seq;
    pthread_mutex_t dirs_lock; /* protects dirs and every sfs_dir in it */
    struct sfs_dir *dirs;
    atomic_uint read_pages; /* the largest FUSE read (sfs_init; 0 before) */
    /* The largest read whose reply may go to FUSE in a pipe (fs_read.c;
     * 0: none, set in sfs_init) */
    atomic_size_t splice_read_max;
    /* getattr calls by path (the kernel's LOOKUPs and GETATTRs) and with
     * a handle (fstat, libfuse's stat after a create or a set), counted
     * for the stats line: what the kernel asks beyond the server's
     * requests (tests count them per file). */
    atomic_ullong getattrs, fgetattrs;
    atomic_ullong fuse_writes; /* FUSE write requests taken (sfs_write_buf) */
};

static inline struct sfs_fs *get_fs(void)
{
    return fuse_get_context()->private_data;
}

/* The FUSE handle of an open file is the core's: its registry
 * (src/ops/op_file.c) keeps everything about it. */
static inline struct smb1_file *get_handle(const struct fuse_file_info *fi)
{
    return fi ? (struct smb1_file *)(uintptr_t)fi->fh : NULL;
}

/* fs_write.c: the write callbacks, and whether an open with flags is a
 * direct-I/O one (every open under cache=none, and a write-only one). */
int sfs_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi);
int sfs_write_buf(const char *path, struct fuse_bufvec *buf, off_t off, struct fuse_file_info *fi);
bool sfs_direct_io(const struct sfs_fs *fs, int flags);
/* True when this process may make a pipe that holds bytes. */
bool sfs_pipe_holds(size_t bytes);
/* The largest FUSE write (max_write=, else SFS_MAX_WRITE). */
uint32_t sfs_max_write(const struct sfs_options *o);
/* Whether writes of at most max_write come in a pipe (FUSE_CAP_SPLICE_READ,
 * sfs_write_buf): on a connection that may splice them on to the socket,
 * and only where libfuse's pipe can hold a whole max_write and its page
 * of headers. Elsewhere the data would be read out of the pipe anyway, one
 * system call more per request than libfuse's plain read. */
bool sfs_splice_writes(struct smb1_conn *conn, uint32_t max_write);

/* fs_read.c: the read callback (a reply's data in a pipe where the core
 * can splice it there), and the largest read libfuse can splice on. */
int sfs_read_buf(const char *path, struct fuse_bufvec **bufp, size_t size, off_t off,
                 struct fuse_file_info *fi);
size_t sfs_splice_read_max(void);

/* fs_paths.c: server paths, the keep_cache record, unlinked open files. */
int sfs_spath(struct sfs_fs *fs, const char *path, char *out, size_t outlen);
/* A server path for path in var, or return its error. */
#define SPATH(var, path)                                                                           \
    char var[SFS_SPATH_MAX];                                                                       \
    do {                                                                                           \
        int sp_err_ = sfs_spath(fs, (path), var, sizeof(var));                                     \
        if (sp_err_)                                                                               \
            return sp_err_;                                                                        \
    } while (0)

/* fs_links.c: the names of hard-linked files, so that a change through
 * one drops what is cached about the others. */
void links_note(struct sfs_fs *fs, const char *path, const struct smb1_stat *s);
void links_linked(struct sfs_fs *fs, const char *from, const char *to);
void links_forget(struct sfs_fs *fs, const char *path);
void links_renamed(struct sfs_fs *fs, const char *from, const char *to);
void links_changed(struct sfs_fs *fs, const char *path);
void links_clear(struct sfs_fs *fs);

/* The FUSE path of the open file h as it is now, into buf: what a
 * callback uses that libfuse gives a handle and no path (nullpath_ok,
 * sfs_init). NULL when h is NULL or its path is not the mount's. */
const char *sfs_handle_path(struct sfs_fs *fs, struct smb1_file *h, char *buf, size_t size);
/* path, or when libfuse gave none, that of the open file h (above), in
 * var; NULL when neither is known. */
#define HPATH(var, path, h)                                                                        \
    char var##_buf_[SFS_SPATH_MAX];                                                                \
    const char *var = (path) ? (path) : sfs_handle_path(fs, (h), var##_buf_, sizeof(var##_buf_))

bool keep_check(struct sfs_fs *fs, const char *path, const struct smb1_stat *s);
void keep_forget(struct sfs_fs *fs, const char *path);
void keep_clear_locked(struct sfs_fs *fs);
bool is_fuse_hidden(const char *path);
/* Whether one of our files is open on path (below: on path or below it). */
bool path_is_open(struct sfs_fs *fs, const char *path, bool below);
bool ghost_lookup(struct sfs_fs *fs, const char *path, char *out, size_t outlen);
void ghost_free(struct sfs_ghost *g);
void ghost_forget(struct sfs_fs *fs, const char *path);

/* fs_own.c: the core's record of a file we created and hold open
 * (smb1_own_* in smb1.h), by FUSE path. Each returns true when *s then
 * holds all of its attributes (mtime included), fit to answer a stat. */
bool own_attr(struct sfs_fs *fs, const char *path, struct smb1_stat *s, bool *exact);
/* A chown/chmod of ours succeeded (-1: unchanged). */
bool own_changed(struct sfs_fs *fs, const char *path, int64_t uid, int64_t gid, int mode,
                 struct smb1_stat *s);
/* A utimens of ours succeeded (NULL: unchanged). */
bool own_times(struct sfs_fs *fs, const char *path, const struct timespec *at,
               const struct timespec *mt, struct smb1_stat *s);
/* Whether the CLOSE of our handle will carry mt instead of a set now. */
bool own_defer_mtime(struct sfs_fs *fs, const char *path, const struct timespec *mt,
                     struct smb1_stat *s);
/* A change of ours whose result the handle does not know. */
void own_forget(struct sfs_fs *fs, const char *path);

/* fs_ops.c: attributes of path (or of the open file h), from the cache
 * when fresh; the owner shown; whether a failed set changed nothing. */
int get_attr(struct sfs_fs *fs, const char *path, struct smb1_file *h, struct smb1_stat *s);
uid_t shown_uid(const struct sfs_fs *fs, const struct smb1_stat *s);
gid_t shown_gid(const struct sfs_fs *fs, const struct smb1_stat *s);
bool set_refused(int r);

/* fs_setattr.c: times, mode, owner. */
int sfs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi);
int sfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi);
int sfs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi);

/* fs_xattr.c: statfs and extended attributes. */
int sfs_statfs(const char *path, struct statvfs *sv);
int sfs_setxattr(const char *path, const char *name, const char *value, size_t size, int flags);
int sfs_getxattr(const char *path, const char *name, char *value, size_t size);
int sfs_listxattr(const char *path, char *list, size_t size);
int sfs_removexattr(const char *path, const char *name);

/* fs_dirs.c: open directories, whose handle keeps their path. */
int sfs_opendir(const char *path, struct fuse_file_info *fi);
int sfs_releasedir(const char *path, struct fuse_file_info *fi);
/* The path of the directory open as fi, into buf; NULL when not known. */
const char *dir_path(struct sfs_fs *fs, const struct fuse_file_info *fi, char *buf, size_t size);
void dirs_renamed(struct sfs_fs *fs, const char *from, const char *to);
/* Where the handle fi keeps the listing its readdirs serve; NULL for a
 * handle that is not ours (a listing through the network root). */
struct cache_dir **dir_listing(const struct fuse_file_info *fi);
/* Frees what is still open (a lazy unmount); dirs_lock not needed. */
void dirs_clear(struct sfs_fs *fs);

/* fs_locks.c: POSIX and flock locks as SMB byte-range locks. */
int sfs_lock(const char *path, struct fuse_file_info *fi, int cmd, struct flock *fl);
int sfs_flock(const char *path, struct fuse_file_info *fi, int op);

#endif
