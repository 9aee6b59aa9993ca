/* FUSE high-level callbacks: arguments -> cache or smb1_* call -> -errno.
 *
 * Paths: the FUSE path ("/a/b") is the cache key; the server path is the
 * mount's prefix joined with it, without a leading '/'.
 *
 * Every change we make invalidates the path and its parent in the cache
 * AFTER the server confirmed it, so a reply that raced with it is refused
 * by the generation check (see src/cache.c).
 */
#define FUSE_USE_VERSION 314

#include "fs_ops.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "support/cache.h"
#include "wire/smb1_proto.h"

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
    /* Serialises the lock changes made through this handle (each a few
     * round trips that must not interleave) and protects ranges. */
    pthread_mutex_t range_lock;
    struct sfs_range *ranges; /* protected by range_lock */
};

/* A byte range that one lock owner holds through a handle, POSIX style:
 * one owner's ranges never overlap, and each is exactly one SMB lock on
 * the server (an SMB unlock must name a range exactly as it was locked). */
struct sfs_range {
    struct sfs_range *next;
    uint64_t owner;
    uint64_t start, end; /* [start, end); UINT64_MAX: to the end of any file */
    bool flock;          /* an flock lock: owner is unused, the handle owns it */
    bool shared;
};

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
    struct sfs_handle files;    /* list sentinel */
    struct sfs_ghost *ghosts;
    unsigned ghost_seq;        /* protected by files_lock: makes hidden names unique */
    pthread_mutex_t keep_lock; /* protects keep[] and keep_n */
    struct keep_ent *keep[SFS_KEEP_BUCKETS];
    size_t keep_n;
};

static struct sfs_fs *get_fs(void)
{
    return fuse_get_context()->private_data;
}

static struct sfs_handle *get_handle(const struct fuse_file_info *fi)
{
    return fi ? (struct sfs_handle *)(uintptr_t)fi->fh : NULL;
}

/* Builds the server path; -ENAMETOOLONG for a component over NAME_MAX. */
static bool is_fuse_hidden(const char *path);
static bool ghost_lookup(struct sfs_fs *fs, const char *path, char *out, size_t outlen);

static int spath(struct sfs_fs *fs, const char *path, char *out, size_t outlen)
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

#define SPATH(var, path)                                                                           \
    char var[SFS_SPATH_MAX];                                                                       \
    do {                                                                                           \
        int sp_err_ = spath(fs, (path), var, sizeof(var));                                         \
        if (sp_err_)                                                                               \
            return sp_err_;                                                                        \
    } while (0)

static uid_t shown_uid(const struct sfs_fs *fs, const struct smb1_stat *s)
{
    if (s->has_unix && !fs->opts->forceuid)
        return (uid_t)s->uid;
    return fs->opts->uid;
}

static gid_t shown_gid(const struct sfs_fs *fs, const struct smb1_stat *s)
{
    if (s->has_unix && !fs->opts->forcegid)
        return (gid_t)s->gid;
    return fs->opts->gid;
}

static void to_stat(const struct sfs_fs *fs, const struct smb1_stat *s, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    if (s->has_unix) {
        st->st_mode = (mode_t)s->mode;
        if ((st->st_mode & S_IFMT) == 0)
            st->st_mode |= s->is_dir ? S_IFDIR : S_IFREG;
        st->st_nlink = s->nlink ? (nlink_t)s->nlink : 1;
        st->st_rdev = (dev_t)s->rdev;
    } else if (s->is_dir) {
        st->st_mode = S_IFDIR | (fs->opts->dir_mode & 07777);
        st->st_nlink = 2;
    } else {
        st->st_mode = S_IFREG | (fs->opts->file_mode & 07777);
        /* mount.cifs shows the DOS read-only attribute as missing write bits. */
        if (s->attrs & SMB1_ATTR_READONLY)
            st->st_mode &= ~(mode_t)0222;
        st->st_nlink = 1;
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

/* ---- keep_cache bookkeeping ---- */

static size_t keep_bucket(const char *path)
{
    uint64_t h = 14695981039346656037ull;
    for (; *path; path++)
        h = (h ^ (unsigned char)*path) * 1099511628211ull;
    return (size_t)(h % SFS_KEEP_BUCKETS);
}

static void keep_clear_locked(struct sfs_fs *fs)
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
static bool keep_check(struct sfs_fs *fs, const char *path, const struct smb1_stat *s)
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

static void keep_forget(struct sfs_fs *fs, const char *path)
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

static struct sfs_handle *handle_new(struct sfs_fs *fs, const char *path, struct smb1_file *f)
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
    pthread_mutex_init(&h->range_lock, NULL);
    pthread_mutex_lock(&fs->files_lock);
    h->next = fs->files.next;
    h->prev = &fs->files;
    fs->files.next->prev = h;
    fs->files.next = h;
    pthread_mutex_unlock(&fs->files_lock);
    return h;
}

/* After its CLOSE, which released the server's locks of the handle. */
static void handle_free(struct sfs_handle *h)
{
    while (h->ranges) {
        struct sfs_range *g = h->ranges;
        h->ranges = g->next;
        free(g);
    }
    pthread_mutex_destroy(&h->range_lock);
    free(h->path);
    free(h);
}

static void handle_unlink_locked(struct sfs_handle *h)
{
    h->prev->next = h->next;
    h->next->prev = h->prev;
}

/* Open handles follow a rename of their file or of a directory above it. */
static void handles_renamed(struct sfs_fs *fs, const char *from, const char *to)
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

static bool is_fuse_hidden(const char *path)
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

static bool path_is_open(struct sfs_fs *fs, const char *path)
{
    bool found = false;
    pthread_mutex_lock(&fs->files_lock);
    for (struct sfs_handle *o = fs->files.next; o != &fs->files && !found; o = o->next)
        found = strcmp(o->path, path) == 0;
    pthread_mutex_unlock(&fs->files_lock);
    return found;
}

/* Whether one of our handles has a file below the directory path open. */
static bool path_has_open_below(struct sfs_fs *fs, const char *path)
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
static bool ghost_lookup(struct sfs_fs *fs, const char *path, char *out, size_t outlen)
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

static void ghost_free(struct sfs_ghost *g)
{
    if (!g)
        return;
    free(g->fuse_path);
    free(g->server_path);
    free(g);
}

static void ghost_forget(struct sfs_fs *fs, const char *path)
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

/* ---- callbacks ---- */

static void *sfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    struct sfs_fs *fs = get_fs();
    double t = fs->opts->actimeo;
    cfg->entry_timeout = t;
    cfg->attr_timeout = t;
    cfg->negative_timeout = t;
    /* The server's inode numbers where it has them (CIFS UNIX
     * extensions): hard links then share one, as tar, cp -a, du and
     * rsync -H expect, and a file keeps its number when the kernel
     * forgets and finds it again (libfuse's own numbers change). */
    cfg->use_ino = fs->unix_ext;
    cfg->readdir_ino = 0;
    /* An open file that is unlinked is renamed to .fuse_hidden* until its
     * last close (which hide_in_root turns into a move out of the
     * directory): with hard_remove the high-level API could no longer
     * fstat() it (the kernel's GETATTR carries no handle). */
    cfg->hard_remove = 0;
    /* keep_cache is decided per open (sfs_open), never blanket. */
    cfg->kernel_cache = 0;
    cfg->auto_cache = 0;
    cfg->direct_io = fs->opts->cache == SFS_CACHE_NONE;
    conn->max_write = 1u << 20;
    if (fs->opts->max_read)
        conn->max_read = fs->opts->max_read;
    if (conn->capable & FUSE_CAP_ASYNC_READ)
        conn->want |= FUSE_CAP_ASYNC_READ;
    if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
        conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
    /* The server is the only writer we can trust: no writeback caching. */
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    return fs;
}

/* Attributes of path (or of the open file h), from the cache when fresh. */
static int get_attr(struct sfs_fs *fs, const char *path, struct sfs_handle *h, struct smb1_stat *s)
{
    switch (cache_get_attr(fs->cache, path, s)) {
    case CACHE_HIT:
        return 0;
    case CACHE_NEGATIVE:
        /* An open file exists, whatever was true of its name. */
        if (!h)
            return -ENOENT;
        break;
    case CACHE_MISS:
        break;
    }
    SPATH(sp, path);
    uint64_t g = cache_gen(fs->cache);
    int r = h ? smb1_fstat(h->f, s) : smb1_stat(fs->tree, sp, s);
    if (r == 0)
        (void)cache_put_attr(fs->cache, path, s, g);
    else if (r == -ENOENT && !h)
        (void)cache_put_negative(fs->cache, path, g);
    return r;
}

static int sfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct sfs_fs *fs = get_fs();
    struct smb1_stat s;
    struct sfs_handle *h = get_handle(fi);
    int r;
    if (!path) /* libfuse has no name for this open file any more */
        r = h ? smb1_fstat(h->f, &s) : -ENOENT;
    else
        r = get_attr(fs, path, h, &s);
    if (r)
        return r;
    to_stat(fs, &s, st);
    return 0;
}

static int add_dirent(void *ctx, const char *name, const struct smb1_stat *st)
{
    return cache_dir_add(ctx, name, st);
}

static int sfs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                       struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    struct sfs_fs *fs = get_fs();
    struct cache_dir *d = cache_dir_get(fs->cache, path);
    if (!d) {
        SPATH(sp, path);
        d = cache_dir_new();
        if (!d)
            return -ENOMEM;
        uint64_t g = cache_gen(fs->cache);
        int r = smb1_readdir(fs->tree, sp, add_dirent, d);
        if (r) {
            cache_dir_put(d);
            return r;
        }
        (void)cache_dir_commit(fs->cache, path, d, g);
    }
    filler(buf, ".", NULL, 0, 0);
    filler(buf, "..", NULL, 0, 0);
    /* Attributes go with every name (readdirplus), so `ls -l` needs no
     * lookup per entry. */
    for (size_t i = 0; i < d->n; i++) {
        struct stat st;
        to_stat(fs, &d->ents[i].st, &st);
        if (filler(buf, d->ents[i].name, &st, 0, FUSE_FILL_DIR_PLUS))
            break;
    }
    cache_dir_put(d);
    return 0;
}

/* A set that the server refused changed nothing there: what the cache
 * holds for the path is as true as before. Any other failure (a lost
 * reply, a reconnect) may have come after the change was made. */
static bool set_refused(int r)
{
    return r == -EPERM || r == -EACCES || r == -ENOTSUP || r == -EROFS;
}

static void set_open_flags(struct sfs_fs *fs, const char *path, const struct smb1_stat *s,
                           int flags, struct fuse_file_info *fi)
{
    switch (fs->opts->cache) {
    case SFS_CACHE_NONE:
        fi->direct_io = 1;
        break;
    case SFS_CACHE_LOOSE:
        fi->keep_cache = 1;
        break;
    case SFS_CACHE_STRICT:
        fi->keep_cache = keep_check(fs, path, s) && !(flags & O_TRUNC);
        break;
    }
}

static int open_common(struct sfs_fs *fs, const char *path, int flags, mode_t mode,
                       struct fuse_file_info *fi)
{
    SPATH(sp, path);
    struct smb1_file *f = NULL;
    struct smb1_stat s;
    memset(&s, 0, sizeof(s));
    uint64_t g = cache_gen(fs->cache);
    int r = smb1_open(fs->tree, sp, flags, mode, &f, &s);
    if (r) {
        /* EEXIST says the file is there, and a create that failed
         * otherwise may still have made it (a lost reply): the negative
         * entry of the lookup before it must not outlive it. */
        if (flags & O_CREAT)
            cache_changed(fs->cache, path);
        return r;
    }
    struct sfs_handle *h = handle_new(fs, path, f);
    if (!h) {
        smb1_close(f);
        return -ENOMEM;
    }
    if (flags & O_TRUNC) {
        cache_changed(fs->cache, path);
        keep_forget(fs, path);
    } else if (flags & O_CREAT) {
        /* The lookup that follows a create is then answered locally. */
        (void)cache_changed_stat(fs->cache, path, &s, g);
    } else {
        (void)cache_put_attr(fs->cache, path, &s, g);
    }
    set_open_flags(fs, path, &s, flags, fi);
    fi->fh = (uint64_t)(uintptr_t)h;
    return 0;
}

#define SFS_OPEN_FLAGS (O_ACCMODE | O_APPEND | O_TRUNC)

static int sfs_open(const char *path, struct fuse_file_info *fi)
{
    return open_common(get_fs(), path, fi->flags & SFS_OPEN_FLAGS, 0, fi);
}

static int sfs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    int flags = (fi->flags & (SFS_OPEN_FLAGS | O_EXCL)) | O_CREAT;
    return open_common(get_fs(), path, flags, mode, fi);
}

static int sfs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    struct sfs_handle *h = get_handle(fi);
    size_t done = 0;
    /* A short count means end of file to the kernel, which then shrinks
     * its idea of the size: so read until EOF, and report a failure as
     * such even after partial data. */
    while (done < size) {
        ssize_t n = smb1_read(h->f, buf + done, size - done, (uint64_t)off + done);
        if (n < 0)
            return (int)n;
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (int)done;
}

static int sfs_write(const char *path, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    struct sfs_fs *fs = get_fs();
    struct sfs_handle *h = get_handle(fi);
    size_t done = 0;
    while (done < size) {
        ssize_t n = smb1_write(h->f, buf + done, size - done, (uint64_t)off + done);
        if (n < 0) {
            if (path)
                cache_changed(fs->cache, path);
            return (int)n;
        }
        if (n == 0)
            return -EIO;
        done += (size_t)n;
    }
    pthread_mutex_lock(&fs->files_lock);
    h->wrote = true;
    pthread_mutex_unlock(&fs->files_lock);
    if (path)
        cache_changed(fs->cache, path);
    return (int)done;
}

/* Every write has already reached the server and reported its result, so
 * close(2) has nothing left to push; SMB FLUSH (a server fsync) is for
 * fsync(2) only. */
static int sfs_flush(const char *path, struct fuse_file_info *fi)
{
    return 0;
}

static int sfs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    struct sfs_handle *h = get_handle(fi);
    if (!h)
        return 0;
    return smb1_flush(h->f);
}

static int sfs_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
    return 0;
}

static int sfs_release(const char *path, struct fuse_file_info *fi)
{
    struct sfs_fs *fs = get_fs();
    struct sfs_handle *h = get_handle(fi);
    pthread_mutex_lock(&fs->files_lock);
    handle_unlink_locked(h);
    pthread_mutex_unlock(&fs->files_lock);
    /* No lock needed below: the handle is off the list. */
    int r = smb1_close(h->f);
    if (r)
        log_warn(fs->log, "close of %s failed: %s", h->path, strerror(-r));
    if (h->wrote) {
        cache_changed(fs->cache, h->path);
        keep_forget(fs, h->path);
    }
    /* The last close of an unlinked file: libfuse unlinks its hidden name
     * next, unless the directory was removed meanwhile, so do it here. */
    char sp[SFS_SPATH_MAX];
    if (is_fuse_hidden(h->path) && !path_is_open(fs, h->path) &&
        ghost_lookup(fs, h->path, sp, sizeof(sp))) {
        (void)smb1_unlink_nondir(fs->tree, sp);
        ghost_forget(fs, h->path);
    }
    handle_free(h);
    return 0;
}

static int sfs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    struct sfs_fs *fs = get_fs();
    struct sfs_handle *h = get_handle(fi);
    int r;
    if (size < 0)
        return -EINVAL;
    if (h) {
        r = smb1_ftruncate(h->f, (uint64_t)size);
    } else if (path) {
        SPATH(sp, path);
        r = smb1_truncate(fs->tree, sp, (uint64_t)size);
    } else {
        return -ENOENT;
    }
    if (path && !set_refused(r)) {
        cache_changed(fs->cache, path);
        keep_forget(fs, path);
    }
    return r;
}

static int sfs_unlink(const char *path)
{
    struct sfs_fs *fs = get_fs();
    SPATH(sp, path);
    /* The kernel checked that path is no directory (unlink(2) gives
     * EISDIR itself), so the core need not ask the server again. */
    int r = smb1_unlink_nondir(fs->tree, sp);
    cache_changed(fs->cache, path);
    keep_forget(fs, path);
    if (is_fuse_hidden(path))
        ghost_forget(fs, path);
    return r;
}

/* libfuse hiding the open file from (server path sfrom) as to: moves it
 * to the share's root. Nonzero: not possible, the caller renames as
 * asked. */
static int hide_in_root(struct sfs_fs *fs, const char *from, const char *sfrom, const char *to)
{
    struct sfs_ghost *g = calloc(1, sizeof(*g));
    char name[96];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    pthread_mutex_lock(&fs->files_lock);
    unsigned seq = fs->ghost_seq++;
    pthread_mutex_unlock(&fs->files_lock);
    snprintf(name, sizeof(name), "%s%lx%lx%x", SMB1_DELETED_PREFIX, (unsigned long)now.tv_sec,
             (unsigned long)now.tv_nsec, seq);
    if (g) {
        g->fuse_path = strdup(to);
        g->server_path = strdup(name);
    }
    if (!g || !g->fuse_path || !g->server_path) {
        ghost_free(g);
        return -ENOMEM;
    }
    int r = smb1_rename(fs->tree, sfrom, name, RENAME_NOREPLACE);
    cache_changed(fs->cache, from);
    keep_forget(fs, from);
    if (r) {
        ghost_free(g);
        return r;
    }
    pthread_mutex_lock(&fs->files_lock);
    g->next = fs->ghosts;
    fs->ghosts = g;
    pthread_mutex_unlock(&fs->files_lock);
    handles_renamed(fs, from, to);
    /* libfuse probed that name first: drop the negative entry. */
    cache_changed(fs->cache, to);
    return 0;
}

static int sfs_rename(const char *from, const char *to, unsigned int flags)
{
    struct sfs_fs *fs = get_fs();
    if (flags & ~(unsigned)RENAME_NOREPLACE)
        return -EINVAL;
    SPATH(sfrom, from);
    if (flags == 0 && is_fuse_hidden(to) && path_is_open(fs, from) &&
        hide_in_root(fs, from, sfrom, to) == 0)
        return 0;
    SPATH(sto, to);
    int r = smb1_rename(fs->tree, sfrom, sto, flags);
    /* On failure too: the server may have done part of it. */
    cache_changed_tree(fs->cache, from);
    cache_changed_tree(fs->cache, to);
    keep_forget(fs, from);
    keep_forget(fs, to);
    if (r == 0)
        handles_renamed(fs, from, to);
    /* Without POSIX semantics the server refuses to move a directory in
     * which a file is open (a Windows rule) with ACCESS_DENIED: mv would
     * send the user to check permissions. It is "in use", as rename(2)
     * says with EBUSY. */
    if (r == -EACCES && path_has_open_below(fs, from))
        r = -EBUSY;
    return r;
}

static int sfs_mkdir(const char *path, mode_t mode)
{
    struct sfs_fs *fs = get_fs();
    SPATH(sp, path);
    int r = smb1_mkdir(fs->tree, sp, mode);
    cache_changed(fs->cache, path);
    return r;
}

static int sfs_rmdir(const char *path)
{
    struct sfs_fs *fs = get_fs();
    SPATH(sp, path);
    int r = smb1_rmdir(fs->tree, sp);
    cache_changed_tree(fs->cache, path);
    return r;
}

static int sfs_symlink(const char *target, const char *path)
{
    struct sfs_fs *fs = get_fs();
    SPATH(sp, path);
    int r = smb1_symlink(fs->tree, target, sp);
    cache_changed(fs->cache, path);
    return r;
}

static int sfs_readlink(const char *path, char *buf, size_t size)
{
    struct sfs_fs *fs = get_fs();
    SPATH(sp, path);
    ssize_t r = smb1_readlink(fs->tree, sp, buf, size);
    return r < 0 ? (int)r : 0;
}

static int sfs_link(const char *from, const char *to)
{
    struct sfs_fs *fs = get_fs();
    SPATH(sfrom, from);
    SPATH(sto, to);
    int r = smb1_link(fs->tree, sfrom, sto);
    cache_changed(fs->cache, from);
    cache_changed(fs->cache, to);
    /* The new name is a node of its own to the kernel (libfuse has one per
     * path), which keeps the old name's link count until its attributes
     * time out: tar then finds the first name with one link and the second
     * with two. Have the kernel ask again. */
    if (r == 0)
        (void)fuse_invalidate_path(fuse_get_context()->fuse, from);
    return r;
}

static void resolve_time(const struct timespec *in, struct timespec *out, bool *set)
{
    *set = in->tv_nsec != UTIME_OMIT;
    if (in->tv_nsec == UTIME_NOW)
        clock_gettime(CLOCK_REALTIME, out);
    else
        *out = *in;
}

static int sfs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    struct sfs_fs *fs = get_fs();
    struct timespec at, mt;
    bool has_at, has_mt;
    if (tv) {
        resolve_time(&tv[0], &at, &has_at);
        resolve_time(&tv[1], &mt, &has_mt);
    } else {
        clock_gettime(CLOCK_REALTIME, &at);
        mt = at;
        has_at = has_mt = true;
    }
    if (!has_at && !has_mt)
        return 0;
    struct sfs_handle *h = get_handle(fi);
    if (!path) {
        if (!h)
            return -ENOENT;
        return smb1_utimens(fs->tree, NULL, h->f, has_at ? &at : NULL, has_mt ? &mt : NULL);
    }
    SPATH(sp, path);
    /* SMB1 sets times through a symlink, on its target: for lutimes (tar,
     * rsync) that would touch the wrong file, or fail on a dangling link.
     * ENOSYS is how tar and rsync learn that a symlink's own times cannot
     * be set (and then stop comparing them). A path with an open handle is
     * no symlink, which spares the check tar's close-then-utimes. */
    if (!h && !path_is_open(fs, path)) {
        struct smb1_stat s;
        if (get_attr(fs, path, NULL, &s) == 0 && s.has_unix && S_ISLNK(s.mode))
            return -ENOSYS;
    }
    /* The core also stamps the times on our open write handles of the
     * file, so a later CLOSE of one does not overwrite them. */
    int r = smb1_utimens(fs->tree, sp, h ? h->f : NULL, has_at ? &at : NULL, has_mt ? &mt : NULL);
    if (set_refused(r))
        return r;
    /* The new ctime is the server's to choose, so the cache cannot be
     * given the result: the stat libfuse makes next asks the server. */
    cache_changed(fs->cache, path);
    keep_forget(fs, path);
    return r;
}

static int sfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    struct sfs_fs *fs = get_fs();
    if (!path)
        return -ENOENT;
    SPATH(sp, path);
    if (!fs->unix_ext) {
        /* Only the owner write bit reaches the server (as the DOS
         * read-only attribute), and not at all for a directory: a chmod
         * that leaves it as it is (tar's of every file it extracts)
         * changes nothing, so the attributes it is decided on are cached
         * and the stat that follows is answered locally. They are asked
         * of the server, not taken from the cache: a stale entry would
         * make a chmod that was needed a silent no-op. */
        struct smb1_stat s;
        uint64_t g = cache_gen(fs->cache);
        int r = smb1_stat(fs->tree, sp, &s);
        if (r)
            return r;
        (void)cache_put_attr(fs->cache, path, &s, g);
        bool ro = (s.attrs & SMB1_ATTR_READONLY) != 0;
        if (s.is_dir || ro == !(mode & S_IWUSR))
            return 0;
    }
    int r = smb1_chmod(fs->tree, sp, mode);
    if (!set_refused(r))
        cache_changed(fs->cache, path);
    return r;
}

static int sfs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    struct sfs_fs *fs = get_fs();
    struct smb1_stat s;
    if (!path)
        return -ENOENT;
    if (!fs->unix_ext || (fs->opts->forceuid && fs->opts->forcegid)) {
        /* Ownership is not the server's to change here: only a no-op
         * succeeds (cp -p and tar try it). */
        int r = get_attr(fs, path, get_handle(fi), &s);
        if (r)
            return r;
        if ((uid == (uid_t)-1 || uid == shown_uid(fs, &s)) &&
            (gid == (gid_t)-1 || gid == shown_gid(fs, &s)))
            return 0;
        return -EPERM;
    }
    if (uid == (uid_t)-1 && gid == (gid_t)-1)
        return 0;
    SPATH(sp, path);
    int r = smb1_chown(fs->tree, sp, uid == (uid_t)-1 ? -1 : (int64_t)uid,
                       gid == (gid_t)-1 ? -1 : (int64_t)gid);
    if (!set_refused(r))
        cache_changed(fs->cache, path);
    return r;
}

static int sfs_statfs(const char *path, struct statvfs *sv)
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

static int sfs_access(const char *path, int mask)
{
    struct sfs_fs *fs = get_fs();
    struct smb1_stat s;
    int r = get_attr(fs, path, NULL, &s);
    if (r || mask == F_OK)
        return r;
    if ((mask & W_OK) && fs->opts->ro)
        return -EROFS;
    struct stat st;
    to_stat(fs, &s, &st);
    const struct fuse_context *ctx = fuse_get_context();
    mode_t m = st.st_mode;
    if (ctx->uid == 0) {
        /* root may do anything but execute what nobody may execute */
        if ((mask & X_OK) && !S_ISDIR(m) && !(m & 0111))
            return -EACCES;
        return 0;
    }
    mode_t bits;
    if (ctx->uid == st.st_uid)
        bits = (m >> 6) & 7;
    else if (ctx->gid == st.st_gid)
        bits = (m >> 3) & 7;
    else
        bits = m & 7;
    if (((mask & R_OK) && !(bits & 4)) || ((mask & W_OK) && !(bits & 2)) ||
        ((mask & X_OK) && !(bits & 1)))
        return -EACCES;
    return 0;
}

/* The core keeps to the user. namespace and answers ENOTSUP for the rest. */
static int sfs_setxattr(const char *path, const char *name, const char *value, size_t size,
                        int flags)
{
    struct sfs_fs *fs = get_fs();
    SPATH(sp, path);
    return smb1_setxattr(fs->tree, sp, name, value, size, flags);
}

static int sfs_getxattr(const char *path, const char *name, char *value, size_t size)
{
    struct sfs_fs *fs = get_fs();
    SPATH(sp, path);
    ssize_t r = smb1_getxattr(fs->tree, sp, name, value, size);
    return r > INT_MAX ? -E2BIG : (int)r;
}

static int sfs_listxattr(const char *path, char *list, size_t size)
{
    struct sfs_fs *fs = get_fs();
    SPATH(sp, path);
    ssize_t r = smb1_listxattr(fs->tree, sp, list, size);
    /* A server without EAs simply has none to list. */
    if (r == -ENOTSUP)
        return 0;
    return r > INT_MAX ? -E2BIG : (int)r;
}

static int sfs_removexattr(const char *path, const char *name)
{
    struct sfs_fs *fs = get_fs();
    SPATH(sp, path);
    return smb1_removexattr(fs->tree, sp, name);
}

/* ---- locks ----
 *
 * POSIX locks of one owner merge, split, upgrade and downgrade in place.
 * SMB byte-range locks stack instead, an exclusive one conflicts even with
 * a shared one of the same handle, and an unlock must name a range exactly
 * as it was locked. So a handle keeps the ranges each owner holds (the
 * POSIX view, each range one SMB lock) and turns a change into SMB calls:
 * first the new shared pieces (they may stack on what the owner holds),
 * then the unlocks of the ranges that change, last the new exclusive
 * pieces. A refusal undoes what was done, so a failed F_SETLK leaves the
 * owner's locks as they were: sqlite upgrades its shared lock to an
 * exclusive one in place, and retries while readers hold theirs.
 * fcntl locks belong to libfuse's lock owner; flock locks to the open
 * file, which is the handle. Owners that share a handle (a descriptor
 * inherited across fork) share its SMB locks: the server cannot tell them
 * apart. What stays Windows-like: the server enforces the locks on other
 * handles' reads and writes (sqlite's WAL mode, whose lock bytes sit in the
 * -shm file it maps, is therefore not for such a mount). */

static bool range_mine(const struct sfs_range *g, uint64_t owner, bool flock)
{
    return g->flock == flock && (flock || g->owner == owner);
}

static bool range_overlaps(const struct sfs_range *g, uint64_t start, uint64_t end)
{
    return g->start < end && start < g->end;
}

static int range_smb(struct sfs_handle *h, const struct sfs_range *g, int type)
{
    return smb1_lock(h->f, g->start, g->end - g->start, type, false);
}

/* Makes [start, end) the owner's with type (F_UNLCK: no longer), without
 * waiting; h->range_lock held. */
static int ranges_change(struct sfs_handle *h, uint64_t owner, bool flock, uint64_t start,
                         uint64_t end, int type)
{
    size_t n_old = 0;
    for (struct sfs_range *g = h->ranges; g; g = g->next) {
        if (!range_mine(g, owner, flock) || !range_overlaps(g, start, end))
            continue;
        /* Already held so: POSIX changes nothing. */
        if (type != F_UNLCK && g->shared == (type == F_RDLCK) && g->start <= start && g->end >= end)
            return 0;
        n_old++;
    }
    if (n_old == 0 && type == F_UNLCK)
        return 0;
    /* The new ranges: what the old ones keep outside [start, end), and the
     * request; allocated first, so nothing fails once the server changed. */
    size_t cap = 2 * n_old + 1, n_add = 0;
    struct sfs_range **add = calloc(cap, sizeof(*add));
    struct sfs_range **old = calloc(n_old ? n_old : 1, sizeof(*old));
    bool *old_lost = calloc(n_old ? n_old : 1, sizeof(*old_lost));
    bool *done = calloc(cap, sizeof(*done));
    int r = add && old && old_lost && done ? 0 : -ENOLCK;
    size_t k = 0;
    for (struct sfs_range *g = h->ranges; g && !r; g = g->next) {
        if (!range_mine(g, owner, flock) || !range_overlaps(g, start, end))
            continue;
        old[k++] = g;
        struct sfs_range piece[2] = {{.start = g->start, .end = start},
                                     {.start = end, .end = g->end}};
        for (int i = 0; i < 2 && !r; i++) {
            if (piece[i].start >= piece[i].end)
                continue;
            if (!(add[n_add] = malloc(sizeof(**add)))) {
                r = -ENOLCK;
                break;
            }
            *add[n_add] = *g;
            add[n_add]->start = piece[i].start;
            add[n_add]->end = piece[i].end;
            n_add++;
        }
    }
    if (!r && type != F_UNLCK) {
        if ((add[n_add] = malloc(sizeof(**add)))) {
            *add[n_add] = (struct sfs_range){NULL, owner, start, end, flock, type == F_RDLCK};
            n_add++;
        } else {
            r = -ENOLCK;
        }
    }
    /* Shared pieces first, then the unlocks, then the exclusive pieces. */
    for (size_t i = 0; i < n_add && !r; i++) {
        if (add[i]->shared && (r = range_smb(h, add[i], F_RDLCK)) == 0)
            done[i] = true;
    }
    if (!r) {
        for (size_t i = 0; i < n_old; i++) {
            int u = range_smb(h, old[i], F_UNLCK);
            if (u)
                log_warn(get_fs()->log, "unlock of %llu bytes at %llu of %s failed: %s",
                         (unsigned long long)(old[i]->end - old[i]->start),
                         (unsigned long long)old[i]->start, h->path, strerror(-u));
        }
        for (size_t i = 0; i < n_add && !r; i++) {
            if (!add[i]->shared && (r = range_smb(h, add[i], F_WRLCK)) == 0)
                done[i] = true;
        }
        if (r) {
            /* Refused: back to the locks the owner had. */
            for (size_t i = 0; i < n_add; i++) {
                if (done[i])
                    (void)range_smb(h, add[i], F_UNLCK);
                done[i] = false;
            }
            for (size_t i = 0; i < n_old; i++) {
                int u = range_smb(h, old[i], old[i]->shared ? F_RDLCK : F_WRLCK);
                if (u) {
                    old_lost[i] = true;
                    log_err(get_fs()->log,
                            "lock of %llu bytes at %llu of %s lost: taken while it was being "
                            "changed (%s)",
                            (unsigned long long)(old[i]->end - old[i]->start),
                            (unsigned long long)old[i]->start, h->path, strerror(-u));
                }
            }
        }
    } else {
        for (size_t i = 0; i < n_add; i++) {
            if (done[i])
                (void)range_smb(h, add[i], F_UNLCK);
        }
    }
    /* Commit: the old ranges go (on success, or when lost), the new come. */
    for (size_t i = 0; i < n_old; i++) {
        if (r && !old_lost[i])
            continue;
        for (struct sfs_range **gp = &h->ranges; *gp; gp = &(*gp)->next) {
            if (*gp == old[i]) {
                *gp = old[i]->next;
                free(old[i]);
                break;
            }
        }
    }
    for (size_t i = 0; add && i < n_add; i++) {
        if (r) {
            free(add[i]);
        } else {
            add[i]->next = h->ranges;
            h->ranges = add[i];
        }
    }
    free(add);
    free(old);
    free(old_lost);
    free(done);
    return r;
}

static bool ranges_owner_overlaps(struct sfs_handle *h, uint64_t owner, bool flock, uint64_t start,
                                  uint64_t end)
{
    for (struct sfs_range *g = h->ranges; g; g = g->next) {
        if (range_mine(g, owner, flock) && range_overlaps(g, start, end))
            return true;
    }
    return false;
}

static int handle_lock(struct sfs_handle *h, uint64_t owner, bool flock, uint64_t start,
                       uint64_t end, int type, bool wait)
{
    pthread_mutex_lock(&h->range_lock);
    int r = ranges_change(h, owner, flock, start, end, type);
    bool fresh = !ranges_owner_overlaps(h, owner, flock, start, end);
    pthread_mutex_unlock(&h->range_lock);
    if (r != -EAGAIN || !wait)
        return r;
    if (fresh) {
        /* Nothing of the owner's to change there: the server queues the
         * request until the range is free. Without range_lock, so that
         * another owner of the handle can still unlock meanwhile. */
        struct sfs_range *g = malloc(sizeof(*g));
        if (!g)
            return -ENOLCK;
        *g = (struct sfs_range){NULL, owner, start, end, flock, type == F_RDLCK};
        r = smb1_lock(h->f, start, end - start, type, true);
        if (r) {
            free(g);
            return r;
        }
        pthread_mutex_lock(&h->range_lock);
        g->next = h->ranges;
        h->ranges = g;
        pthread_mutex_unlock(&h->range_lock);
        return 0;
    }
    /* A change of the owner's own locks: an SMB wait would keep what it
     * is to give up, so try again until the others let go. */
    for (unsigned ms = 5;; ms = ms < 320 ? ms * 2 : 500) {
        if (fuse_interrupted())
            return -EINTR;
        struct timespec ts = {0, (long)ms * 1000000L};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&h->range_lock);
        r = ranges_change(h, owner, flock, start, end, type);
        pthread_mutex_unlock(&h->range_lock);
        if (r != -EAGAIN)
            return r;
    }
}

/* [start, end) of a POSIX lock of l_start and l_len (0: to the end). */
static void lock_span(const struct flock *fl, uint64_t *start, uint64_t *end)
{
    *start = (uint64_t)fl->l_start;
    uint64_t len = (uint64_t)fl->l_len;
    *end = len == 0 || len > UINT64_MAX - *start ? UINT64_MAX : *start + len;
}

/* Whether another handle or client holds a lock in [start, end) that
 * conflicts with type. Only the parts no owner of this handle holds are
 * probed (with a lock taken and released at once): libfuse has checked
 * this mount's other owners, and a probe there would conflict with our
 * own locks. h->range_lock held. */
static int ranges_probe(struct sfs_handle *h, uint64_t start, uint64_t end, int type)
{
    uint64_t p = start;
    while (p < end) {
        uint64_t next = end;
        bool covered = false;
        for (struct sfs_range *g = h->ranges; g; g = g->next) {
            if (g->start <= p && g->end > p) {
                p = g->end;
                covered = true;
                break;
            }
            if (g->start > p && g->start < next)
                next = g->start;
        }
        if (covered)
            continue;
        int r = smb1_lock(h->f, p, next - p, type, false);
        if (r)
            return r;
        (void)smb1_lock(h->f, p, next - p, F_UNLCK, false);
        p = next;
    }
    return 0;
}

/* POSIX locks become SMB byte-range locks (libfuse keeps the POSIX
 * bookkeeping of this mount's owners). F_GETLK has no SMB counterpart:
 * probe with non-blocking locks released at once. */
static int sfs_lock(const char *path, struct fuse_file_info *fi, int cmd, struct flock *fl)
{
    struct sfs_handle *h = get_handle(fi);
    if (!h)
        return -EBADF;
    if (fl->l_start < 0 || fl->l_len < 0)
        return -EINVAL;
    if (fl->l_type != F_RDLCK && fl->l_type != F_WRLCK && fl->l_type != F_UNLCK)
        return -EINVAL;
    uint64_t start, end;
    lock_span(fl, &start, &end);
    switch (cmd) {
    case F_GETLK: {
        if (fl->l_type == F_UNLCK)
            return 0;
        pthread_mutex_lock(&h->range_lock);
        int r = ranges_probe(h, start, end, fl->l_type);
        pthread_mutex_unlock(&h->range_lock);
        if (r == 0) {
            fl->l_type = F_UNLCK;
            return 0;
        }
        if (r == -EAGAIN) {
            /* the holder is on another handle or client: no pid to show */
            fl->l_type = F_WRLCK;
            fl->l_pid = 0;
            return 0;
        }
        return r;
    }
    case F_SETLK:
    case F_SETLKW:
        return handle_lock(h, fi->lock_owner, false, start, end, fl->l_type, cmd == F_SETLKW);
    default:
        return -EINVAL;
    }
}

static int sfs_flock(const char *path, struct fuse_file_info *fi, int op)
{
    struct sfs_handle *h = get_handle(fi);
    if (!h)
        return -EBADF;
    int type;
    switch (op & ~LOCK_NB) {
    case LOCK_SH:
        type = F_RDLCK;
        break;
    case LOCK_EX:
        type = F_WRLCK;
        break;
    case LOCK_UN:
        type = F_UNLCK;
        break;
    default:
        return -EINVAL;
    }
    return handle_lock(h, 0, true, 0, UINT64_MAX, type, !(op & LOCK_NB));
}

#define SFS_COMMON_OPS                                                                             \
    .init = sfs_init, .getattr = sfs_getattr, .readdir = sfs_readdir, .open = sfs_open,            \
    .create = sfs_create, .read = sfs_read, .write = sfs_write, .flush = sfs_flush,                \
    .fsync = sfs_fsync, .fsyncdir = sfs_fsyncdir, .release = sfs_release,                          \
    .truncate = sfs_truncate, .unlink = sfs_unlink, .rename = sfs_rename, .mkdir = sfs_mkdir,      \
    .rmdir = sfs_rmdir, .symlink = sfs_symlink, .readlink = sfs_readlink, .link = sfs_link,        \
    .utimens = sfs_utimens, .chmod = sfs_chmod, .chown = sfs_chown, .statfs = sfs_statfs,          \
    .access = sfs_access, .setxattr = sfs_setxattr, .getxattr = sfs_getxattr,                      \
    .listxattr = sfs_listxattr, .removexattr = sfs_removexattr

static const struct fuse_operations sfs_ops = {
    SFS_COMMON_OPS,
    .lock = sfs_lock,
    .flock = sfs_flock,
};

/* Without lock callbacks the kernel keeps locks local: what nobrl asks. */
static const struct fuse_operations sfs_ops_local_locks = {
    SFS_COMMON_OPS,
};

const struct fuse_operations *sfs_fs_operations(bool server_locks)
{
    return server_locks ? &sfs_ops : &sfs_ops_local_locks;
}

struct sfs_fs *sfs_fs_new(struct smb1_conn *conn, struct smb1_tree *tree,
                          const struct sfs_options *opts, struct smb1_log *log, int *err)
{
    struct sfs_fs *fs = calloc(1, sizeof(*fs));
    if (!fs) {
        *err = -ENOMEM;
        return NULL;
    }
    double ttl = opts->actimeo > 0 ? opts->actimeo : 0;
    struct cache_config cc = {.ttl_ns = (uint64_t)(ttl * 1e9)};
    fs->cache = cache_new(&cc);
    if (!fs->cache) {
        free(fs);
        *err = -ENOMEM;
        return NULL;
    }
    fs->conn = conn;
    fs->tree = tree;
    fs->opts = opts;
    fs->log = log;
    struct smb1_conn_info info;
    smb1_conn_get_info(conn, &info);
    fs->unix_ext = info.unix_caps != 0;
    pthread_mutex_init(&fs->files_lock, NULL);
    pthread_mutex_init(&fs->keep_lock, NULL);
    fs->files.next = fs->files.prev = &fs->files;
    return fs;
}

void sfs_fs_free(struct sfs_fs *fs)
{
    if (!fs)
        return;
    while (fs->files.next != &fs->files) {
        struct sfs_handle *h = fs->files.next;
        handle_unlink_locked(h);
        smb1_close(h->f);
        handle_free(h);
    }
    /* Files still hidden had open handles at unmount, closed above:
     * libfuse will not unlink them now. */
    while (fs->ghosts) {
        struct sfs_ghost *g = fs->ghosts;
        fs->ghosts = g->next;
        (void)smb1_unlink_nondir(fs->tree, g->server_path);
        ghost_free(g);
    }
    keep_clear_locked(fs);
    cache_free(fs->cache);
    pthread_mutex_destroy(&fs->files_lock);
    pthread_mutex_destroy(&fs->keep_lock);
    free(fs);
}

void sfs_fs_log_stats(struct sfs_fs *fs)
{
    struct smb1_stats st;
    struct cache_stats cs;
    smb1_conn_get_stats(fs->conn, &st);
    cache_get_stats(fs->cache, &cs);
    log_info(fs->log,
             "stats: requests=%llu bad_signatures=%llu unknown_mids=%llu reconnects=%llu "
             "timeouts=%llu malformed=%llu batched_macs=%llu",
             (unsigned long long)st.requests, (unsigned long long)st.bad_signatures,
             (unsigned long long)st.unknown_mids, (unsigned long long)st.reconnects,
             (unsigned long long)st.timeouts, (unsigned long long)st.malformed,
             (unsigned long long)st.batched_macs);
    log_info(fs->log,
             "cache: hits=%llu negative_hits=%llu misses=%llu stale_puts=%llu evictions=%llu "
             "entries=%zu bytes=%zu",
             (unsigned long long)cs.hits, (unsigned long long)cs.negative_hits,
             (unsigned long long)cs.misses, (unsigned long long)cs.stale_puts,
             (unsigned long long)cs.evictions, cs.entries, cs.bytes);
}
