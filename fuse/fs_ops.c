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

#include "fs_ops_int.h"
#include "fs_readahead.h"

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

#include "smb1_cache.h"

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

static void to_stat(const struct sfs_fs *fs, const struct smb1_stat *s, struct stat *st)
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
    /* The calls that carry a handle (read, write, flush, release, fsync,
     * lock, flock, fstat, ftruncate, futimens, fchmod, fchown, readdir)
     * get no path: libfuse then takes no lock on the file's name for
     * them, which a rename or unlink of that name must have to itself.
     * With the lock, a rename waited for a lock wait (F_SETLKW, flock)
     * on the file to end, up to a timeout, and a holder's unlock queued
     * behind that rename waited with it. The callbacks take the path
     * from the handle (sfs_handle_path; an open directory's, fs_dirs.c). */
    cfg->nullpath_ok = 1;
    /* keep_cache is decided per open (sfs_open), never blanket. */
    cfg->kernel_cache = 0;
    cfg->auto_cache = 0;
    cfg->direct_io = fs->opts->cache == SFS_CACHE_NONE;
    /* Writes come in a pipe (sfs_write_buf, fs_write.c) where the core
     * can splice them on to the socket and libfuse's pipe holds a whole
     * write: without CAP_SYS_RESOURCE a pipe holds 1 MiB, which takes
     * max_write=1044480 (a page less, and each MiB of dd two writes);
     * the default is whole 1 MiB writes, read (sfs_splice_writes). */
    conn->max_write = sfs_max_write(fs->opts);
    if ((conn->capable & FUSE_CAP_SPLICE_READ) && sfs_splice_writes(fs->conn, conn->max_write))
        conn->want |= FUSE_CAP_SPLICE_READ;
    else
        conn->want &= ~FUSE_CAP_SPLICE_READ;
    /* Reads go to FUSE in a pipe where the core spliced them from the
     * socket (fs_read.c): the same connections. */
    if ((conn->capable & FUSE_CAP_SPLICE_WRITE) && smb1_conn_splice_ok(fs->conn)) {
        conn->want |= FUSE_CAP_SPLICE_WRITE;
        atomic_store(&fs->splice_read_max, sfs_splice_read_max());
    } else {
        conn->want &= ~FUSE_CAP_SPLICE_WRITE;
    }
    if (fs->opts->max_read)
        conn->max_read = fs->opts->max_read;
    /* What the readahead window is cut into (main.c, fs_readahead.c). */
    atomic_store(&fs->read_pages, sfs_read_pages(conn->max_write, conn->max_read));
    if (conn->capable & FUSE_CAP_ASYNC_READ)
        conn->want |= FUSE_CAP_ASYNC_READ;
    if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
        conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
    /* Lookups and listings of one directory side by side (libfuse's
     * default, said here so that it stays): the core keeps no
     * per-directory state, and a lookup stuck on the server must not hold
     * the other names of its directory. */
    if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
        conn->want |= FUSE_CAP_PARALLEL_DIROPS;
    /* The server is the only writer we can trust: no writeback caching. */
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    return fs;
}

/* Attributes of path (or of the open file h), from the cache when fresh. */
int get_attr(struct sfs_fs *fs, const char *path, struct smb1_file *h, struct smb1_stat *s)
{
    /* First: a name too long is that, even where the cache knows a
     * directory to be empty. */
    SPATH(sp, path);
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
    uint64_t g = cache_gen(fs->cache);
    int r = h ? smb1_fstat(h, s) : smb1_stat(fs->tree, sp, s);
    if (r == 0) {
        (void)cache_put_attr(fs->cache, path, s, g);
        links_note(fs, path, s);
    } else if (r == -ENOENT && !h)
        (void)cache_put_negative(fs->cache, path, g);
    return r;
}

/* libfuse hides an open file that is unlinked or renamed over by
 * renaming it to a .fuse_hidden name, which it probes with a getattr
 * first, within the same request (hidden_name in libfuse's fuse.c). The
 * probe marks the request's context, which libfuse clears at the start of
 * every request: the rename that follows is then known for libfuse's, and
 * a program's own rename to such a name (rsync copying libfuse's
 * leftovers) is never taken for one. The mark is the umask, which neither
 * a lookup, a getattr, an unlink nor a rename uses. */
#define SFS_HIDE_MARK ((mode_t)0x5f000000)

static void hide_probe_mark(const char *path, const struct fuse_file_info *fi)
{
    if (!fi && path && is_fuse_hidden(path))
        fuse_get_context()->umask = SFS_HIDE_MARK;
}

/* Whether this rename to to is libfuse hiding a file (the mark is used
 * up: one rename per probe). */
static bool hide_request(const char *to)
{
    struct fuse_context *c = fuse_get_context();
    if (c->umask != SFS_HIDE_MARK || !is_fuse_hidden(to))
        return false;
    c->umask = 0;
    return true;
}

static int sfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct sfs_fs *fs = get_fs();
    hide_probe_mark(path, fi);
    struct smb1_stat s, made;
    struct smb1_file *h = get_handle(fi);
    int r;
    atomic_fetch_add_explicit(fi ? &fs->fgetattrs : &fs->getattrs, 1, memory_order_relaxed);
    HPATH(p, path, h);
    if (h && smb1_file_open_stat(h, &made)) {
        /* libfuse's getattr right after a create, before the program has
         * the handle: from the cache (the create put its reply there),
         * else, where the cache refused it (another change came meanwhile,
         * or O_TRUNC), from the reply itself. A request here would give
         * the create a second bound (fs_stuck.test.sh, late). */
        if (!p || cache_get_attr(fs->cache, p, &s) != CACHE_HIT)
            s = made;
        r = 0;
    } else if (!p) { /* no name for this open file in the mount */
        r = !h ? -ENOENT : smb1_fstat(h, &s);
    } else {
        r = get_attr(fs, p, h, &s);
    }
    if (r)
        return r;
    to_stat(fs, &s, st);
    return 0;
}

static int add_dirent(void *ctx, const char *name, const struct smb1_stat *st)
{
    return cache_dir_add(ctx, name, st);
}

/* The listing of path into *out, one reference for the caller: the
 * cache's while fresh, else the server's (stored in the cache). */
static int listing(struct sfs_fs *fs, const char *path, struct cache_dir **out)
{
    if ((*out = cache_dir_get(fs->cache, path)) != NULL)
        return 0;
    SPATH(sp, path);
    struct cache_dir *d = cache_dir_new();
    if (!d)
        return -ENOMEM;
    uint64_t g = cache_gen(fs->cache);
    int r = smb1_readdir(fs->tree, sp, add_dirent, d);
    if (r) {
        cache_dir_put(d);
        return r;
    }
    (void)cache_dir_commit(fs->cache, path, d, g);
    *out = d;
    return 0;
}

/* Attributes go with every name (readdirplus), so that `ls -l`, find and
 * rm -rf need no lookup per entry. libfuse (3.14) gives the kernel an
 * entry's attributes only when the file system fills with offsets: a
 * listing filled whole at offset 0 goes out with node id 0 ("ignore the
 * attributes"), and every name then cost the kernel a LOOKUP (rm -rf:
 * LOOKUP, UNLINK and FORGET per file). So a handle of ours keeps the
 * listing it started at offset 0 and serves the later offsets from it:
 * "." is 1, ".." 2, entry i is i + 3. A listing through the network
 * root's handle (no sfs_dir) is filled whole, as before. */
static int sfs_readdir(const char *dpath, void *buf, fuse_fill_dir_t filler, off_t off,
                       struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    (void)flags;
    struct sfs_fs *fs = get_fs();
    char pbuf[SFS_SPATH_MAX];
    const char *path = dpath ? dpath : dir_path(fs, fi, pbuf, sizeof(pbuf));
    if (!path)
        return -ENOMEM;
    struct cache_dir **held = dir_listing(fi);
    struct cache_dir *d = held && off > 0 ? *held : NULL;
    if (!d) {
        int r = listing(fs, path, &d);
        if (r)
            return r;
        if (held) { /* the handle's reference now; a rewind starts anew */
            if (*held)
                cache_dir_put(*held);
            *held = d;
        }
    }
    struct stat st;
    if (!held) {
        filler(buf, ".", NULL, 0, 0);
        filler(buf, "..", NULL, 0, 0);
        for (size_t i = 0; i < d->n; i++) {
            to_stat(fs, &d->ents[i].st, &st);
            if (filler(buf, d->ents[i].name, &st, 0, FUSE_FILL_DIR_PLUS))
                break;
        }
        cache_dir_put(d);
        return 0;
    }
    if (off < 1 && filler(buf, ".", NULL, 1, 0))
        return 0;
    if (off < 2 && filler(buf, "..", NULL, 2, 0))
        return 0;
    for (size_t i = off > 2 ? (size_t)off - 2 : 0; i < d->n; i++) {
        to_stat(fs, &d->ents[i].st, &st);
        if (filler(buf, d->ents[i].name, &st, (off_t)i + 3, FUSE_FILL_DIR_PLUS))
            break;
    }
    return 0;
}

/* A set that the server refused changed nothing there: what the cache
 * holds for the path is as true as before. Any other failure (a lost
 * reply, a reconnect) may have come after the change was made. */
bool set_refused(int r)
{
    return r == -EPERM || r == -EACCES || r == -ENOTSUP || r == -EROFS;
}

static void set_open_flags(struct sfs_fs *fs, const char *path, const struct smb1_stat *s,
                           int flags, struct fuse_file_info *fi)
{
    switch (fs->opts->cache) {
    case SFS_CACHE_NONE:
        break; /* direct_io, below */
    case SFS_CACHE_LOOSE:
        fi->keep_cache = 1;
        break;
    case SFS_CACHE_STRICT:
        fi->keep_cache = keep_check(fs, path, s) && !(flags & O_TRUNC);
        break;
    }
    /* A descriptor that cannot read (nor be mapped) gains nothing from
     * the page cache: its writes come straight from the program's buffer
     * (one copy less; the kernel keeps other descriptors' cached pages
     * true). dd of 512 MiB: 0.09 s of dd's system time instead of 0.22. */
    if (sfs_direct_io(fs, flags))
        fi->direct_io = 1;
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
    if (flags & O_TRUNC) {
        cache_changed(fs->cache, path);
        keep_forget(fs, path);
    } else if (flags & O_CREAT) {
        /* The lookup that follows a create is then answered locally. */
        (void)cache_changed_stat(fs->cache, path, &s, g);
    } else {
        (void)cache_put_attr(fs->cache, path, &s, g);
    }
    /* A small file we create keeps its writes for its close, and writes
     * return once on their way (smb1.h); O_SYNC and O_DSYNC promise the
     * data at write(2), cache=none no caching of any kind. */
    if (!(fi->flags & (O_SYNC | O_DSYNC))) {
        (void)smb1_hold_writes(f);
        if (fs->opts->cache != SFS_CACHE_NONE)
            (void)smb1_write_behind_on(f);
    }
    set_open_flags(fs, path, &s, flags, fi);
    fi->fh = (uint64_t)(uintptr_t)f;
    return 0;
}

#define SFS_OPEN_FLAGS (O_ACCMODE | O_APPEND | O_TRUNC)

/* The kernel sends OPEN for a name it believes exists (a dentry within
 * its timeout) and strips O_CREAT from it. When another client deleted
 * the file meanwhile, ENOENT would fail an open(O_CREAT) that a local
 * disk honours; ESTALE makes the kernel walk the path once more with
 * LOOKUP_REVAL, whose lookup comes to us (our cached entry dropped), and
 * the open becomes a CREATE, or an ENOENT without O_CREAT. */
static int sfs_open(const char *path, struct fuse_file_info *fi)
{
    struct sfs_fs *fs = get_fs();
    int r = open_common(fs, path, fi->flags & SFS_OPEN_FLAGS, 0, fi);
    if (r == -ENOENT) {
        cache_changed(fs->cache, path);
        r = -ESTALE;
    }
    return r;
}

static int sfs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    int flags = (fi->flags & (SFS_OPEN_FLAGS | O_EXCL)) | O_CREAT;
    return open_common(get_fs(), path, flags, mode, fi);
}

static int sfs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    struct smb1_file *h = get_handle(fi);
    /* smb1_read reads up to the end of the file: a short count is EOF. */
    return (int)smb1_read(h, buf, size, (uint64_t)off);
}

/* Every write has reached the server and reported its result, but those
 * of a small file we created, held for its close (src/ops/op_wb.c): they
 * go now, with the CLOSE when they can, and their failure is close(2)'s.
 * SMB FLUSH (a server fsync) is for fsync(2) only. */
static int sfs_flush(const char *path, struct fuse_file_info *fi)
{
    struct smb1_file *h = get_handle(fi);
    return h ? smb1_flush_held(h) : 0;
}

static int sfs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    struct smb1_file *h = get_handle(fi);
    return h ? smb1_flush(h) : 0;
}

static int sfs_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
    return 0;
}

/* What close(2) promised went out at the flush (data written and
 * acknowledged, its failure reported), so the CLOSE may be answered
 * after we return: the core orders every later request that could
 * observe the file after it (smb1_close_background). */
static int sfs_release(const char *fpath, struct fuse_file_info *fi)
{
    struct sfs_fs *fs = get_fs();
    struct smb1_file *h = get_handle(fi);
    HPATH(path, fpath, h); /* before h is gone */
    bool wrote = smb1_file_wrote(h);
    /* Failures are logged by the core. */
    (void)smb1_close_background(h);
    if (!path)
        return 0;
    if (wrote) {
        cache_changed(fs->cache, path);
        keep_forget(fs, path);
        links_changed(fs, path);
    }
    /* The last close of an unlinked file deleted it (smb1_hide_open). */
    if (is_fuse_hidden(path) && !path_is_open(fs, path, false))
        ghost_forget(fs, path);
    return 0;
}

static int sfs_truncate(const char *fpath, off_t size, struct fuse_file_info *fi)
{
    struct sfs_fs *fs = get_fs();
    struct smb1_file *h = get_handle(fi);
    int r;
    if (size < 0)
        return -EINVAL;
    HPATH(path, fpath, h);
    if (path)
        own_forget(fs, path);
    if (h) {
        r = smb1_ftruncate(h, (uint64_t)size);
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
    /* What the listing said of it (rm -rf lists first): without the UNIX
     * extensions a read-only file then costs two requests, not four. */
    struct smb1_stat s;
    uint32_t attrs = cache_get_attr(fs->cache, path, &s) == CACHE_HIT ? s.attrs : 0;
    int r = smb1_unlink_nondir(fs->tree, sp, attrs);
    cache_changed(fs->cache, path);
    keep_forget(fs, path);
    /* The other names lose a link. */
    links_changed(fs, path);
    if (r == 0)
        links_forget(fs, path);
    if (is_fuse_hidden(path)) {
        ghost_forget(fs, path);
        /* libfuse deleting its hidden name of a file that sfs_rename
         * deleted at once (its release had ended) or the core at its last
         * close: gone is what was asked (libfuse from 3.15 reports this
         * unlink's error to the program that unlinked the file). */
        if (r == -ENOENT)
            r = 0;
    }
    return r;
}

/* libfuse hiding the open file from (server path sfrom) as to: the core
 * moves it to a hidden name in the share's root and deletes it at its last
 * close (smb1_hide_open); libfuse's name for it is translated to that
 * (fs_paths.c). Nonzero: not possible, the caller renames as asked. */
static int hide_in_root(struct sfs_fs *fs, const char *from, const char *sfrom, const char *to)
{
    struct sfs_ghost *g = calloc(1, sizeof(*g));
    char name[96];
    if (g)
        g->fuse_path = strdup(to);
    if (!g || !g->fuse_path) {
        ghost_free(g);
        return -ENOMEM;
    }
    int r = smb1_hide_open(fs->tree, sfrom, name, sizeof(name));
    cache_changed(fs->cache, from);
    keep_forget(fs, from);
    if (r == 0 && !(g->server_path = strdup(name)))
        r = -ENOMEM;
    if (r) {
        ghost_free(g);
        return r;
    }
    pthread_mutex_lock(&fs->ghosts_lock);
    g->next = fs->ghosts;
    fs->ghosts = g;
    pthread_mutex_unlock(&fs->ghosts_lock);
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
    if (flags == 0 && hide_request(to)) {
        if (path_is_open(fs, from, false)) {
            if (hide_in_root(fs, from, sfrom, to) == 0)
                return 0;
        } else {
            /* libfuse found the file open before its last release ended
             * (it takes no lock on the name for a release: nullpath_ok),
             * and may then never delete the hidden name (libfuse issue
             * 746, fixed after 3.14): nothing has it open, so the unlink
             * the program asked for is done now. */
            int r = sfs_unlink(from);
            cache_changed(fs->cache, to);
            return r;
        }
    }
    SPATH(sto, to);
    int r = smb1_rename(fs->tree, sfrom, sto, flags);
    /* On failure too: the server may have done part of it. */
    cache_changed_tree(fs->cache, from);
    cache_changed_tree(fs->cache, to);
    keep_forget(fs, from);
    keep_forget(fs, to);
    if (r == 0) {
        links_renamed(fs, from, to);
        dirs_renamed(fs, from, to);
    }
    /* Without POSIX semantics the server refuses to move a directory in
     * which a file is open (a Windows rule) with ACCESS_DENIED: mv would
     * send the user to check permissions. It is "in use", as rename(2)
     * says with EBUSY. */
    if (r == -EACCES && path_is_open(fs, from, true))
        r = -EBUSY;
    return r;
}

static int sfs_mkdir(const char *path, mode_t mode)
{
    struct sfs_fs *fs = get_fs();
    SPATH(sp, path);
    struct smb1_stat s;
    int r = smb1_mkdir_stat(fs->tree, sp, mode, &s);
    /* A directory we made is empty: the lookups of what untar and cp -r
     * create in it next are answered without the server; and the stat
     * that follows a mkdir, from its reply where it has one. */
    if (r == 0) {
        cache_dir_made(fs->cache, path);
        if (s.has_unix)
            (void)cache_put_attr(fs->cache, path, &s, cache_gen(fs->cache));
    } else {
        /* A lost reply may have made it: the parent's link count too. */
        cache_changed_tree(fs->cache, path);
    }
    return r;
}

static int sfs_mknod(const char *path, mode_t mode, dev_t rdev)
{
    struct sfs_fs *fs = get_fs();
    SPATH(sp, path);
    int r = smb1_mknod(fs->tree, sp, mode, rdev);
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
    own_forget(fs, from);
    int r = smb1_link(fs->tree, sfrom, sto);
    cache_changed(fs->cache, from);
    cache_changed(fs->cache, to);
    /* The new name is a node of its own to the kernel (libfuse has one per
     * path), which keeps the old name's link count until its attributes
     * time out: tar then finds the first name with one link and the second
     * with two. Have the kernel ask again. */
    if (r == 0) {
        (void)fuse_invalidate_path(fuse_get_context()->fuse, from);
        links_linked(fs, from, to);
        links_changed(fs, to);
    }
    return r;
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

#define SFS_COMMON_OPS                                                                             \
    .init = sfs_init, .getattr = sfs_getattr, .readdir = sfs_readdir, .open = sfs_open,            \
    .create = sfs_create, .read = sfs_read, .read_buf = sfs_read_buf, .write = sfs_write,          \
    .write_buf = sfs_write_buf, .flush = sfs_flush, .fsync = sfs_fsync, .fsyncdir = sfs_fsyncdir,  \
    .release = sfs_release, .truncate = sfs_truncate, .unlink = sfs_unlink, .rename = sfs_rename,  \
    .mkdir = sfs_mkdir, .mknod = sfs_mknod, .rmdir = sfs_rmdir, .symlink = sfs_symlink,            \
    .readlink = sfs_readlink, .link = sfs_link, .utimens = sfs_utimens, .chmod = sfs_chmod,        \
    .chown = sfs_chown, .statfs = sfs_statfs, .access = sfs_access, .setxattr = sfs_setxattr,      \
    .getxattr = sfs_getxattr, .listxattr = sfs_listxattr, .removexattr = sfs_removexattr,          \
    .opendir = sfs_opendir, .releasedir = sfs_releasedir

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
    atomic_init(&fs->read_pages, 0);
    atomic_init(&fs->splice_read_max, 0);
    atomic_init(&fs->getattrs, 0);
    atomic_init(&fs->fgetattrs, 0);
    atomic_init(&fs->fuse_writes, 0);
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
    pthread_mutex_init(&fs->ghosts_lock, NULL);
    smb1_own_ttl(tree, (uint64_t)(ttl * 1e9));
    pthread_mutex_init(&fs->keep_lock, NULL);
    pthread_mutex_init(&fs->links_lock, NULL);
    pthread_mutex_init(&fs->dirs_lock, NULL);
    return fs;
}

void sfs_fs_free(struct sfs_fs *fs)
{
    if (!fs)
        return;
    /* What the kernel did not release (a lazy unmount): what the files
     * hold goes out, then every CLOSE is answered. */
    smb1_close_all(fs->tree);
    /* Files still hidden had open handles at unmount: their close above
     * deleted them. */
    while (fs->ghosts) {
        struct sfs_ghost *g = fs->ghosts;
        fs->ghosts = g->next;
        ghost_free(g);
    }
    keep_clear_locked(fs);
    cache_free(fs->cache);
    pthread_mutex_destroy(&fs->ghosts_lock);
    pthread_mutex_destroy(&fs->keep_lock);
    links_clear(fs);
    pthread_mutex_destroy(&fs->links_lock);
    dirs_clear(fs);
    pthread_mutex_destroy(&fs->dirs_lock);
    free(fs);
}

unsigned sfs_fs_read_kb(struct sfs_fs *fs)
{
    return atomic_load(&fs->read_pages) * 4;
}

void sfs_fs_log_stats(struct sfs_fs *fs)
{
    struct smb1_stats st;
    struct cache_stats cs;
    smb1_conn_get_stats(fs->conn, &st);
    cache_get_stats(fs->cache, &cs);
    log_info(fs->log,
             "stats: requests=%llu bad_signatures=%llu unknown_mids=%llu reconnects=%llu "
             "timeouts=%llu malformed=%llu batched_macs=%llu spliced_writes=%llu direct_reads=%llu "
             "spliced_reads=%llu lent_writes=%llu",
             (unsigned long long)st.requests, (unsigned long long)st.bad_signatures,
             (unsigned long long)st.unknown_mids, (unsigned long long)st.reconnects,
             (unsigned long long)st.timeouts, (unsigned long long)st.malformed,
             (unsigned long long)st.batched_macs, (unsigned long long)st.spliced_writes,
             (unsigned long long)st.direct_reads, (unsigned long long)st.spliced_reads,
             (unsigned long long)st.lent_writes);
    log_info(fs->log,
             "cache: hits=%llu negative_hits=%llu misses=%llu stale_puts=%llu evictions=%llu "
             "entries=%zu bytes=%zu",
             (unsigned long long)cs.hits, (unsigned long long)cs.negative_hits,
             (unsigned long long)cs.misses, (unsigned long long)cs.stale_puts,
             (unsigned long long)cs.evictions, cs.entries, cs.bytes);
    log_info(fs->log, "fuse: getattrs=%llu fgetattrs=%llu",
             (unsigned long long)atomic_load(&fs->getattrs),
             (unsigned long long)atomic_load(&fs->fgetattrs));
}
