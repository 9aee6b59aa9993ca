/* The state the files of the FUSE layer share: the per-mount struct
 * sfs_fs, open handles and the unlinked open files.
 * fs_ops.c has the callbacks, fs_handles.c the handle registry and the
 * keep_cache record, fs_locks.c the lock callbacks (the
 * POSIX lock algebra is the core's, src/ops/op_plock.c).
 */
#ifndef SMBFUSE_FS_OPS_INT_H
#define SMBFUSE_FS_OPS_INT_H

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fs_ops.h"

struct cache;

#define SFS_NAME_MAX     255 /* bytes of UTF-8 per component, as on Linux */
#define SFS_SPATH_MAX    8192
#define SFS_KEEP_BUCKETS 4096
#define SFS_KEEP_MAX     16384
#define SFS_BLKSIZE      (1u << 20) /* st_blksize: makes cp and friends use big buffers */

/* An open file. */
struct sfs_handle {
    struct sfs_handle *prev, *next; /* protected by fs->files_lock */
    struct smb1_file *f;
    char *path; /* protected by fs->files_lock: rename moves it */
    bool wrote; /* protected by fs->files_lock */
    /* Opened with O_CREAT|O_EXCL: the file is ours, and the attributes its
     * create returned (st, with the size our writes gave it) are the whole
     * truth about it while it stays open, within the TTL after own_ns
     * (monotonic; 0 once a change of ours makes them unsure). Protected
     * by fs->files_lock. */
    bool created;
    bool writable;
    struct smb1_stat st;
    uint64_t own_ns;
    bool st_exact; /* st.mtime too: no write since the create or a utimens */
    /* A last-write time for the CLOSE to carry (sfs_utimens); protected
     * by fs->files_lock. */
    bool mtime_pending;
    struct timespec close_mtime;
    /* Write-behind (fs_wb.c): wb_pending and refs are protected by
     * fs->files_lock, the rest by wb_lock (taken after files_lock). */
    bool keep_writes; /* created, without O_SYNC/O_DSYNC: fs_wb.c may keep */
    /* Writes return once on their way (smb1_write_behind): writable,
     * without O_SYNC/O_DSYNC, not cache=none. Set at open. */
    bool behind;
    bool went_behind; /* it did: wb_pending stays (fs->files_lock) */
    uint64_t settled; /* the wb_settle that pushed it last (fs->files_lock) */
    bool wb_pending;
    unsigned refs;
    pthread_mutex_t wb_lock;
    uint8_t *wb;
    size_t wb_len;
    uint64_t wb_off;
    int wb_err;
};

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

struct sfs_fs {
    struct smb1_conn *conn;
    struct smb1_tree *tree;
    const struct sfs_options *opts;
    struct smb1_log *log;
    struct cache *cache;
    bool unix_ext;
    pthread_mutex_t files_lock; /* protects the handle list, each handle's fields, ghosts */
    pthread_cond_t files_cond;  /* a handle's refs dropped */
    struct sfs_handle files;    /* list sentinel */
    uint64_t settle_seq;        /* wb_settle calls (files_lock) */
    struct sfs_ghost *ghosts;
    unsigned ghost_seq;        /* protected by files_lock: makes hidden names unique */
    pthread_mutex_t keep_lock; /* protects keep[] and keep_n */
    struct keep_ent *keep[SFS_KEEP_BUCKETS];
    size_t keep_n;
    pthread_mutex_t links_lock; /* protects links[], links_n, links_seq */
    struct link_ent links[SFS_LINKS_MAX];
    size_t links_n;
    uint64_t links_seq;
};

static inline struct sfs_fs *get_fs(void)
{
    return fuse_get_context()->private_data;
}

static inline struct sfs_handle *get_handle(const struct fuse_file_info *fi)
{
    return fi ? (struct sfs_handle *)(uintptr_t)fi->fh : NULL;
}

/* fs_handles.c: the keep_cache record, open handles, unlinked open files,
 * server paths. */
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

bool keep_check(struct sfs_fs *fs, const char *path, const struct smb1_stat *s);
void keep_forget(struct sfs_fs *fs, const char *path);
void keep_clear_locked(struct sfs_fs *fs);
struct sfs_handle *handle_new(struct sfs_fs *fs, const char *path, struct smb1_file *f);
void handle_free(struct sfs_handle *h);
void handle_unlink_locked(struct sfs_handle *h);
void handles_renamed(struct sfs_fs *fs, const char *from, const char *to);
bool is_fuse_hidden(const char *path);
bool path_is_open(struct sfs_fs *fs, const char *path);
bool path_has_open_below(struct sfs_fs *fs, const char *path);
bool ghost_lookup(struct sfs_fs *fs, const char *path, char *out, size_t outlen);
void ghost_free(struct sfs_ghost *g);
void ghost_forget(struct sfs_fs *fs, const char *path);

/* fs_own.c: the attributes of a file we created and hold open (see
 * struct sfs_handle). Each returns true when *s then holds all of them
 * (mtime included), fit to answer a stat. */
uint64_t own_now_ns(void);
/* The one handle open on path, when it created the file. files_lock held. */
struct sfs_handle *sole_created_locked(struct sfs_fs *fs, const char *path);
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

/* fs_wb.c: write-behind of the small files we create. wb_write returns
 * size when it kept the data, 0 when the caller is to write it (anything
 * kept went out first; with h->behind, with smb1_write_behind: h is
 * marked pending for wb_settle), or a failure of an earlier write.
 * wb_push also waits for h's writes on their way (smb1_write_wait). */
int wb_write(struct sfs_fs *fs, struct sfs_handle *h, const char *buf, size_t size, off_t off);
int wb_push(struct sfs_fs *fs, struct sfs_handle *h);
int wb_flush(struct sfs_fs *fs, struct sfs_handle *h);
/* Writes out what is kept for path (below: and for files below it). */
void wb_settle(struct sfs_fs *fs, const char *path, bool below);
/* h is off the list: writes out what is left; its failure or a kept one. */
int wb_release(struct sfs_fs *fs, struct sfs_handle *h);

/* fs_stat.c: what stat(2) shows of s (the mount's ids and modes where
 * the server has none or they are forced). */
uid_t shown_uid(const struct sfs_fs *fs, const struct smb1_stat *s);
gid_t shown_gid(const struct sfs_fs *fs, const struct smb1_stat *s);
void to_stat(const struct sfs_fs *fs, const struct smb1_stat *s, struct stat *st);

/* fs_xattr.c: statfs and extended attributes. */
int sfs_statfs(const char *path, struct statvfs *sv);
int sfs_setxattr(const char *path, const char *name, const char *value, size_t size, int flags);
int sfs_getxattr(const char *path, const char *name, char *value, size_t size);
int sfs_listxattr(const char *path, char *list, size_t size);
int sfs_removexattr(const char *path, const char *name);

/* fs_locks.c: POSIX and flock locks as SMB byte-range locks. */
int sfs_lock(const char *path, struct fuse_file_info *fi, int cmd, struct flock *fl);
int sfs_flock(const char *path, struct fuse_file_info *fi, int op);

#endif
