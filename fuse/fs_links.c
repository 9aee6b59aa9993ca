/* Names of one file (hard links). libfuse keeps one node per path, so the
 * kernel and our cache know each name's size and pages apart: a write
 * through one name left the other's stale until its attributes timed out.
 * So the names known to share a file are grouped (by the server's inode
 * number with UNIX extensions, else by the links made through this
 * mount), and a change through one drops what is cached about the others.
 */
#define FUSE_USE_VERSION 314

#include <stdlib.h>
#include <string.h>

#include "fs_ops_int.h"
#include "smb1_cache.h"

/* Synthetic group keys (links made without server inode numbers) have
 * the top bit set, so they never meet an inode number. */
#define LINK_SYNTH (1ull << 63)

static struct link_ent *find_locked(struct sfs_fs *fs, const char *path)
{
    for (size_t i = 0; i < fs->links_n; i++) {
        if (strcmp(fs->links[i].path, path) == 0)
            return &fs->links[i];
    }
    return NULL;
}

static void set_locked(struct sfs_fs *fs, const char *path, uint64_t key)
{
    struct link_ent *e = find_locked(fs, path);
    if (e) {
        e->key = key;
        return;
    }
    if (fs->links_n == SFS_LINKS_MAX)
        return; /* bounded: beyond, other names time out as before */
    char *p = strdup(path);
    if (!p)
        return;
    fs->links[fs->links_n++] = (struct link_ent){p, key};
}

static void drop_at_locked(struct sfs_fs *fs, size_t i)
{
    free(fs->links[i].path);
    fs->links[i] = fs->links[--fs->links_n];
}

void links_note(struct sfs_fs *fs, const char *path, const struct smb1_stat *s)
{
    if (!s->has_unix || s->nlink < 2 || !s->ino || s->is_dir)
        return;
    pthread_mutex_lock(&fs->links_lock);
    set_locked(fs, path, s->ino & ~LINK_SYNTH);
    pthread_mutex_unlock(&fs->links_lock);
}

void links_linked(struct sfs_fs *fs, const char *from, const char *to)
{
    pthread_mutex_lock(&fs->links_lock);
    struct link_ent *e = find_locked(fs, from);
    uint64_t key = e ? e->key : LINK_SYNTH | ++fs->links_seq;
    set_locked(fs, from, key);
    set_locked(fs, to, key);
    pthread_mutex_unlock(&fs->links_lock);
}

void links_forget(struct sfs_fs *fs, const char *path)
{
    pthread_mutex_lock(&fs->links_lock);
    for (size_t i = 0; i < fs->links_n; i++) {
        if (strcmp(fs->links[i].path, path) == 0) {
            drop_at_locked(fs, i);
            break;
        }
    }
    pthread_mutex_unlock(&fs->links_lock);
}

void links_renamed(struct sfs_fs *fs, const char *from, const char *to)
{
    pthread_mutex_lock(&fs->links_lock);
    for (size_t i = 0; i < fs->links_n;) {
        if (strcmp(fs->links[i].path, to) == 0)
            drop_at_locked(fs, i);
        else
            i++;
    }
    struct link_ent *e = find_locked(fs, from);
    char *p = e ? strdup(to) : NULL;
    if (p) {
        free(e->path);
        e->path = p;
    } else if (e) {
        drop_at_locked(fs, (size_t)(e - fs->links));
    }
    pthread_mutex_unlock(&fs->links_lock);
}

void links_changed(struct sfs_fs *fs, const char *path)
{
    if (!path)
        return;
    char *others[16];
    size_t n = 0;
    pthread_mutex_lock(&fs->links_lock);
    struct link_ent *e = fs->links_n ? find_locked(fs, path) : NULL;
    for (size_t i = 0; e && i < fs->links_n && n < 16; i++) {
        if (&fs->links[i] != e && fs->links[i].key == e->key)
            others[n] = strdup(fs->links[i].path), n += others[n] != NULL;
    }
    pthread_mutex_unlock(&fs->links_lock);
    for (size_t i = 0; i < n; i++) {
        cache_changed(fs->cache, others[i]);
        keep_forget(fs, others[i]);
        (void)fuse_invalidate_path(fuse_get_context()->fuse, others[i]);
        free(others[i]);
    }
}

void links_clear(struct sfs_fs *fs)
{
    while (fs->links_n)
        drop_at_locked(fs, fs->links_n - 1);
}
