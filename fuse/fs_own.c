/* Files we created and still hold open, the only handle on them: the
 * attributes their create returned, followed through our own changes, are
 * all there is to know about them within the TTL. untar and cp -r ask
 * about little else: the stat after each set, the chmod and chown that
 * change nothing, and the utimens of each extracted file are answered
 * here, or ride on the CLOSE (fs_ops.c puts what these return into the
 * cache). Another client that changes such a file within the TTL of its
 * creation is not seen until the TTL has passed, as for any cached
 * attribute; the ctime shown is the create's until then.
 */
#define FUSE_USE_VERSION 314

#include <string.h>

#include "fs_ops_int.h"

uint64_t own_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The one handle open on path when it created the file (O_CREAT|O_EXCL),
 * else NULL. fs->files_lock held. */
struct sfs_handle *sole_created_locked(struct sfs_fs *fs, const char *path)
{
    struct sfs_handle *found = NULL;
    for (struct sfs_handle *o = fs->files.next; o != &fs->files; o = o->next) {
        if (strcmp(o->path, path) != 0)
            continue;
        if (found || !o->created)
            return NULL;
        found = o;
    }
    return found;
}

/* That handle while its attributes are to be trusted. fs->files_lock held. */
static struct sfs_handle *own_handle_locked(struct sfs_fs *fs, const char *path)
{
    struct sfs_handle *o = sole_created_locked(fs, path);
    if (!o || !o->own_ns || own_now_ns() - o->own_ns >= (uint64_t)(fs->opts->actimeo * 1e9))
        return NULL;
    return o;
}

bool own_attr(struct sfs_fs *fs, const char *path, struct smb1_stat *s, bool *exact)
{
    pthread_mutex_lock(&fs->files_lock);
    struct sfs_handle *o = own_handle_locked(fs, path);
    if (o) {
        *s = o->st;
        *exact = o->st_exact;
    }
    pthread_mutex_unlock(&fs->files_lock);
    return o != NULL;
}

bool own_changed(struct sfs_fs *fs, const char *path, int64_t uid, int64_t gid, int mode,
                 struct smb1_stat *s)
{
    bool exact = false;
    pthread_mutex_lock(&fs->files_lock);
    struct sfs_handle *o = own_handle_locked(fs, path);
    if (o) {
        if (uid >= 0)
            o->st.uid = (uint64_t)uid;
        if (gid >= 0)
            o->st.gid = (uint64_t)gid;
        if (mode >= 0)
            o->st.mode = (o->st.mode & ~07777u) | ((unsigned)mode & 07777u);
        *s = o->st;
        exact = o->st_exact;
    }
    pthread_mutex_unlock(&fs->files_lock);
    return exact;
}

bool own_times(struct sfs_fs *fs, const char *path, const struct timespec *at,
               const struct timespec *mt, struct smb1_stat *s)
{
    bool exact = false;
    pthread_mutex_lock(&fs->files_lock);
    struct sfs_handle *o = own_handle_locked(fs, path);
    if (o) {
        /* What the server stores: FILETIME counts 100 ns steps. */
        if (at) {
            o->st.atime = *at;
            o->st.atime.tv_nsec -= o->st.atime.tv_nsec % 100;
        }
        if (mt) {
            o->st.mtime = *mt;
            o->st.mtime.tv_nsec -= o->st.mtime.tv_nsec % 100;
            o->st_exact = true;
        }
        *s = o->st;
        exact = o->st_exact;
    }
    pthread_mutex_unlock(&fs->files_lock);
    return exact;
}

bool own_defer_mtime(struct sfs_fs *fs, const char *path, const struct timespec *mt,
                     struct smb1_stat *s)
{
    pthread_mutex_lock(&fs->files_lock);
    struct sfs_handle *o = own_handle_locked(fs, path);
    bool defer = o && o->writable && smb1_close_sets_mtime(o->f);
    if (defer) {
        o->mtime_pending = true;
        o->close_mtime = *mt;
        o->st.mtime = *mt;
        o->st_exact = true;
        *s = o->st;
    }
    pthread_mutex_unlock(&fs->files_lock);
    return defer;
}

void own_forget(struct sfs_fs *fs, const char *path)
{
    pthread_mutex_lock(&fs->files_lock);
    for (struct sfs_handle *o = fs->files.next; o != &fs->files; o = o->next)
        if (strcmp(o->path, path) == 0)
            o->own_ns = 0;
    pthread_mutex_unlock(&fs->files_lock);
}
