/* Paths: the server path of a FUSE path, libfuse's names of files
 * unlinked while open (.fuse_hidden), and the keep_cache record (size and
 * mtime of a path at its last open: kernel page-cache policy, kept per
 * path, not per open file). The open files are the core's registry
 * (src/ops/op_file.c); this keeps no list of them.
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

/* Builds the server path; -ENAMETOOLONG for a component over NAME_MAX. */
int sfs_spath(struct sfs_fs *fs, const char *path, char *out, size_t outlen)
{
    if (is_fuse_hidden(path) && ghost_lookup(fs, path, out, outlen))
        return 0;
    size_t comp = 0;
    const char *p = path;
    for (; *p; p++) {
        if (*p == '/') {
            comp = 0;
        } else if (++comp > SFS_NAME_MAX) {
            return -ENAMETOOLONG;
        }
    }
    const char *prefix = fs->opts->prefix ? fs->opts->prefix : "";
    const char *rel = path[0] == '/' ? path + 1 : path;
    size_t rl = (size_t)(p - rel);
    /* Copies, not snprintf: this runs for every FUSE request that names
     * a path, and glibc's formatting set-up cost more than the copy. */
    size_t pl = prefix[0] ? strlen(prefix) : 0;
    size_t sep = pl && rl ? 1 : 0;
    if (pl + sep + rl >= outlen)
        return -ENAMETOOLONG;
    memcpy(out, prefix, pl);
    out[pl] = '/';
    memcpy(out + pl + sep, rel, rl);
    out[pl + sep + rl] = '\0';
    return 0;
}

/* A ghost's other name, into out: its FUSE path when path is its server
 * path (from_server), else its server path when path is its FUSE path.
 * true when path names one. */
static bool ghost_translate(struct sfs_fs *fs, const char *path, bool from_server, char *out,
                            size_t outlen)
{
    bool found = false;
    pthread_mutex_lock(&fs->ghosts_lock);
    for (struct sfs_ghost *g = fs->ghosts; g; g = g->next) {
        const char *key = from_server ? g->server_path : g->fuse_path;
        if (strcmp(key, path) == 0) {
            const char *other = from_server ? g->fuse_path : g->server_path;
            found = snprintf(out, outlen, "%s", other) < (int)outlen;
            break;
        }
    }
    pthread_mutex_unlock(&fs->ghosts_lock);
    return found;
}

/* The inverse of sfs_spath, from the core's path of the handle. */
const char *sfs_handle_path(struct sfs_fs *fs, struct smb1_file *h, char *buf, size_t size)
{
    char sp[SFS_SPATH_MAX];
    if (!h || smb1_file_path(h, sp, sizeof(sp)) != 0)
        return NULL;
    if (ghost_translate(fs, sp, true, buf, size))
        return buf;
    const char *prefix = fs->opts->prefix ? fs->opts->prefix : "";
    size_t pl = strlen(prefix);
    const char *rel = sp;
    if (pl) {
        if (strncmp(sp, prefix, pl) != 0 || (sp[pl] != '\0' && sp[pl] != '/'))
            return NULL;
        rel = sp[pl] ? sp + pl + 1 : sp + pl;
    }
    size_t rl = strlen(rel);
    if (rl + 1 >= size)
        return NULL;
    buf[0] = '/';
    memcpy(buf + 1, rel, rl + 1);
    return buf;
}

/* ---- unlinked open files ----
 *
 * libfuse hides an open file that is unlinked by renaming it to
 * .fuse_hidden<16 hex digits> in the same directory until its last close;
 * an rmdir of that directory would then fail with ENOTEMPTY, which it does
 * not on a local disk. So that rename asks the core to move the file to
 * a hidden name in the share's root instead (smb1_hide_open, which also
 * deletes it at its last close), and the .fuse_hidden name is translated
 * to it (spath) until that close. Once the directory is removed,
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

bool path_is_open(struct sfs_fs *fs, const char *path, bool below)
{
    char sp[SFS_SPATH_MAX];
    return sfs_spath(fs, path, sp, sizeof(sp)) == 0 && smb1_path_is_open(fs->tree, sp, below);
}

/* The server path of a ghost, into out: true when path is one. */
bool ghost_lookup(struct sfs_fs *fs, const char *path, char *out, size_t outlen)
{
    return ghost_translate(fs, path, false, out, outlen);
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
    pthread_mutex_lock(&fs->ghosts_lock);
    for (struct sfs_ghost **gp = &fs->ghosts; *gp; gp = &(*gp)->next) {
        struct sfs_ghost *g = *gp;
        if (strcmp(g->fuse_path, path) == 0) {
            *gp = g->next;
            ghost_free(g);
            break;
        }
    }
    pthread_mutex_unlock(&fs->ghosts_lock);
}
