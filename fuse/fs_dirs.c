/* Open directories. libfuse gives readdir no path (nullpath_ok, set in
 * sfs_init so that a call with a handle takes no lock on its name), so
 * opendir keeps the directory's FUSE path in the handle (fi->fh), and a
 * rename of the directory or of one above it moves that path along, as
 * the core does for its open files (file_renamed). No request goes to the
 * server: opendir succeeded without one before it existed too.
 */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_ops_int.h"
#include "smb1_cache.h"

static struct sfs_dir *dir_of(const struct fuse_file_info *fi)
{
    return fi ? (struct sfs_dir *)(uintptr_t)fi->fh : NULL;
}

int sfs_opendir(const char *path, struct fuse_file_info *fi)
{
    struct sfs_fs *fs = get_fs();
    struct sfs_dir *d = calloc(1, sizeof(*d));
    if (!d || !(d->path = strdup(path))) {
        free(d);
        return -ENOMEM;
    }
    pthread_mutex_lock(&fs->dirs_lock);
    d->next = fs->dirs;
    if (d->next)
        d->next->prev = d;
    fs->dirs = d;
    pthread_mutex_unlock(&fs->dirs_lock);
    fi->fh = (uint64_t)(uintptr_t)d;
    return 0;
}

static void dir_unlist_locked(struct sfs_fs *fs, struct sfs_dir *d)
{
    if (d->prev)
        d->prev->next = d->next;
    else
        fs->dirs = d->next;
    if (d->next)
        d->next->prev = d->prev;
}

int sfs_releasedir(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    struct sfs_fs *fs = get_fs();
    struct sfs_dir *d = dir_of(fi);
    if (!d)
        return 0;
    pthread_mutex_lock(&fs->dirs_lock);
    dir_unlist_locked(fs, d);
    pthread_mutex_unlock(&fs->dirs_lock);
    if (d->list)
        cache_dir_put(d->list);
    free(d->path);
    free(d);
    return 0;
}

struct cache_dir **dir_listing(const struct fuse_file_info *fi)
{
    struct sfs_dir *d = dir_of(fi);
    return d ? &d->list : NULL;
}

const char *dir_path(struct sfs_fs *fs, const struct fuse_file_info *fi, char *buf, size_t size)
{
    struct sfs_dir *d = dir_of(fi);
    if (!d)
        return NULL;
    pthread_mutex_lock(&fs->dirs_lock);
    int n = d->path ? snprintf(buf, size, "%s", d->path) : -1;
    pthread_mutex_unlock(&fs->dirs_lock);
    return n >= 0 && (size_t)n < size ? buf : NULL;
}

/* Whether path is from or lies below it; from is never "/" (rename(2)
 * refuses to move the root). */
static bool below_or_at(const char *path, const char *from, size_t fl)
{
    return strncmp(path, from, fl) == 0 && (path[fl] == '\0' || path[fl] == '/');
}

void dirs_renamed(struct sfs_fs *fs, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to);
    pthread_mutex_lock(&fs->dirs_lock);
    for (struct sfs_dir *d = fs->dirs; d; d = d->next) {
        if (!d->path || !below_or_at(d->path, from, fl))
            continue;
        size_t rest = strlen(d->path + fl);
        char *np = malloc(tl + rest + 1);
        if (!np) {
            /* Its listings then fail rather than show another directory. */
            free(d->path);
            d->path = NULL;
            continue;
        }
        memcpy(np, to, tl);
        memcpy(np + tl, d->path + fl, rest + 1);
        free(d->path);
        d->path = np;
    }
    pthread_mutex_unlock(&fs->dirs_lock);
}

void dirs_clear(struct sfs_fs *fs)
{
    while (fs->dirs) {
        struct sfs_dir *d = fs->dirs;
        fs->dirs = d->next;
        if (d->list)
            cache_dir_put(d->list);
        free(d->path);
        free(d);
    }
}
