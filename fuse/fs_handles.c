/* The FUSE layer's bookkeeping of open files: the keep_cache record (size
 * and mtime at the last open), the registry of open handles, and the
 * files unlinked while open (libfuse's .fuse_hidden names).
 */
#define FUSE_USE_VERSION 314

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_ops_int.h"

/* ---- keep_cache bookkeeping ---- */

static size_t keep_bucket(const char *path)
{
    uint64_t h = 14695981039346656037ull;
    for (; *path; path++)
        h = (h ^ (unsigned char)*path) * 1099511628211ull;
    return (size_t)(h % SFS_KEEP_BUCKETS);
}

void keep_clear_locked(struct sfs_fs *fs)
{
    for (size_t i = 0; i < SFS_KEEP_BUCKETS; i++) {
        while (fs->keep[i]) {
            struct keep_ent *e = fs->keep[i];
            fs->keep[i] = e->next;
            free(e);
        }
    }
    fs->keep_n = 0;
}

/* True when path was opened before with the same size and mtime; records
 * the current values either way. */
bool keep_check(struct sfs_fs *fs, const char *path, const struct smb1_stat *s)
{
    bool same = false;
    size_t b = keep_bucket(path);
    pthread_mutex_lock(&fs->keep_lock);
    struct keep_ent *e = fs->keep[b];
    while (e && strcmp(e->path, path) != 0)
        e = e->next;
    if (e) {
        same = e->size == s->size && e->mtime.tv_sec == s->mtime.tv_sec &&
               e->mtime.tv_nsec == s->mtime.tv_nsec;
    } else {
        /* Forgetting everything only costs re-reads; it bounds the memory. */
        if (fs->keep_n >= SFS_KEEP_MAX)
            keep_clear_locked(fs);
        size_t len = strlen(path) + 1;
        e = malloc(sizeof(*e) + len);
        if (e) {
            memcpy(e->path, path, len);
            e->next = fs->keep[b];
            fs->keep[b] = e;
            fs->keep_n++;
        }
    }
    if (e) {
        e->size = s->size;
        e->mtime = s->mtime;
    }
    pthread_mutex_unlock(&fs->keep_lock);
    return same;
}

void keep_forget(struct sfs_fs *fs, const char *path)
{
    size_t b = keep_bucket(path);
    pthread_mutex_lock(&fs->keep_lock);
    for (struct keep_ent **pp = &fs->keep[b]; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->path, path) == 0) {
            struct keep_ent *e = *pp;
            *pp = e->next;
            free(e);
            fs->keep_n--;
            break;
        }
    }
    pthread_mutex_unlock(&fs->keep_lock);
}

/* ---- open handles ---- */

struct sfs_handle *handle_new(struct sfs_fs *fs, const char *path, struct smb1_file *f)
{
    struct sfs_handle *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->path = strdup(path);
    if (!h->path) {
        free(h);
        return NULL;
    }
    h->f = f;
    pthread_mutex_init(&h->wb_lock, NULL);
    pthread_mutex_lock(&fs->files_lock);
    h->next = fs->files.next;
    h->prev = &fs->files;
    fs->files.next->prev = h;
    fs->files.next = h;
    pthread_mutex_unlock(&fs->files_lock);
    return h;
}

/* After its CLOSE, which released the server's locks of the handle. */
void handle_free(struct sfs_handle *h)
{
    pthread_mutex_destroy(&h->wb_lock);
    free(h->wb);
    free(h->path);
    free(h);
}

void handle_unlink_locked(struct sfs_handle *h)
{
    h->prev->next = h->next;
    h->next->prev = h->prev;
}

/* Open handles follow a rename of their file or of a directory above it. */
void handles_renamed(struct sfs_fs *fs, const char *from, const char *to)
{
    size_t fl = strlen(from);
    pthread_mutex_lock(&fs->files_lock);
    for (struct sfs_handle *h = fs->files.next; h != &fs->files; h = h->next) {
        if (strncmp(h->path, from, fl) != 0 || (h->path[fl] != '\0' && h->path[fl] != '/'))
            continue;
        size_t tl = strlen(to), rest = strlen(h->path + fl);
        char *np = malloc(tl + rest + 1);
        if (!np)
            continue;
        memcpy(np, to, tl);
        memcpy(np + tl, h->path + fl, rest + 1);
        free(h->path);
        h->path = np;
    }
    pthread_mutex_unlock(&fs->files_lock);
}

/* Builds the server path; -ENAMETOOLONG for a component over NAME_MAX. */
int sfs_spath(struct sfs_fs *fs, const char *path, char *out, size_t outlen)
{
    if (is_fuse_hidden(path) && ghost_lookup(fs, path, out, outlen))
        return 0;
    size_t comp = 0;
    for (const char *p = path; *p; p++) {
        if (*p == '/') {
            comp = 0;
        } else if (++comp > SFS_NAME_MAX) {
            return -ENAMETOOLONG;
        }
    }
    const char *prefix = fs->opts->prefix ? fs->opts->prefix : "";
    const char *rel = path[0] == '/' ? path + 1 : path;
    int n;
    if (!prefix[0])
        n = snprintf(out, outlen, "%s", rel);
    else if (!rel[0])
        n = snprintf(out, outlen, "%s", prefix);
    else
        n = snprintf(out, outlen, "%s/%s", prefix, rel);
    if (n < 0 || (size_t)n >= outlen)
        return -ENAMETOOLONG;
    return 0;
}

/* ---- unlinked open files ----
 *
 * libfuse hides an open file that is unlinked by renaming it to
 * .fuse_hidden<16 hex digits> in the same directory until its last close;
 * an rmdir of that directory would then fail with ENOTEMPTY, which it does
 * not on a local disk. So that rename moves the file to a hidden name in
 * the share's root instead (listings skip the prefix), and the
 * .fuse_hidden name is translated to it (spath) until libfuse unlinks it
 * after the last close. A POSIX unlink on the server would need no hidden
 * name, but Samba then fails SET_FILE_INFO on the open handle (ftruncate,
 * futimens) with OBJECT_NAME_NOT_FOUND. Once the directory is removed,
 * libfuse has no path for the file: what comes with a handle (read, write,
 * ftruncate) still works, an fstat (the kernel sends no handle) is
 * ESTALE. */

bool is_fuse_hidden(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    if (strncmp(b, ".fuse_hidden", 12) != 0 || strlen(b + 12) != 16)
        return false;
    for (b += 12; *b; b++) {
        if (!isxdigit((unsigned char)*b))
            return false;
    }
    return true;
}

bool path_is_open(struct sfs_fs *fs, const char *path)
{
    bool found = false;
    pthread_mutex_lock(&fs->files_lock);
    for (struct sfs_handle *o = fs->files.next; o != &fs->files && !found; o = o->next)
        found = strcmp(o->path, path) == 0;
    pthread_mutex_unlock(&fs->files_lock);
    return found;
}

/* Whether one of our handles has a file below the directory path open. */
bool path_has_open_below(struct sfs_fs *fs, const char *path)
{
    size_t n = strlen(path);
    bool found = false;
    pthread_mutex_lock(&fs->files_lock);
    for (struct sfs_handle *o = fs->files.next; o != &fs->files && !found; o = o->next)
        found = strncmp(o->path, path, n) == 0 && o->path[n] == '/';
    pthread_mutex_unlock(&fs->files_lock);
    return found;
}

/* The server path of a ghost, into out: true when path is one. */
bool ghost_lookup(struct sfs_fs *fs, const char *path, char *out, size_t outlen)
{
    bool found = false;
    pthread_mutex_lock(&fs->files_lock);
    for (struct sfs_ghost *g = fs->ghosts; g; g = g->next) {
        if (strcmp(g->fuse_path, path) == 0) {
            found = snprintf(out, outlen, "%s", g->server_path) < (int)outlen;
            break;
        }
    }
    pthread_mutex_unlock(&fs->files_lock);
    return found;
}

void ghost_free(struct sfs_ghost *g)
{
    if (!g)
        return;
    free(g->fuse_path);
    free(g->server_path);
    free(g);
}

void ghost_forget(struct sfs_fs *fs, const char *path)
{
    pthread_mutex_lock(&fs->files_lock);
    for (struct sfs_ghost **gp = &fs->ghosts; *gp; gp = &(*gp)->next) {
        struct sfs_ghost *g = *gp;
        if (strcmp(g->fuse_path, path) == 0) {
            *gp = g->next;
            ghost_free(g);
            break;
        }
    }
    pthread_mutex_unlock(&fs->files_lock);
}
