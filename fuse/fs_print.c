/* The printer mount (fs_print.h). Files being written are print jobs of
 * the core (smb1_print_*), one per open; the job is submitted at the first
 * flush (close(2)) after data was written, so the program's close() gets
 * the server's verdict (the kernel ignores what release returns). The
 * queue is listed at most once a second (ls -l asks for every entry).
 */
#include "fs_print.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PRINT_QUEUE_TTL_NS 1000000000LL
#define PRINT_NAME_MAX     255
/* A printer has no capacity to report: statfs shows the queued bytes as
 * used and this much as free, so that programs that check before they
 * copy go ahead. */
#define PRINT_NOMINAL_FREE (1ull << 40)
#define PRINT_BSIZE        4096

/* One open file: a job being written. */
struct print_handle {
    struct print_handle *next; /* protected by sfs_print.lock */
    char name[PRINT_NAME_MAX + 1];
    /* Held across a write to the job and across its end, so that a close
     * of a duplicate descriptor never frees the job under a write. */
    pthread_mutex_t io_lock;
    pthread_mutex_t lock;       /* protects the fields below */
    struct smb1_print_job *job; /* NULL once submitted or abandoned */
    uint64_t size;              /* end of the data written */
    time_t created;
    int err; /* a failure to report at the next flush and after */
};

struct queue_entry {
    char name[PRINT_NAME_MAX + 1]; /* "ID-NAME" */
    struct smb1_print_job_info info;
};

struct sfs_print {
    struct smb1_conn *conn;
    struct smb1_tree *tree;
    const struct sfs_options *opts;
    struct smb1_log *log;
    unsigned job_flags;   /* SMB1_PRINT_OPEN_PRINT_FILE when forced */
    pthread_mutex_t lock; /* protects open, queue, nqueue, queue_at */
    struct print_handle *open;
    struct queue_entry *queue;
    size_t nqueue;
    struct timespec queue_at; /* when queue was fetched; 0: never */
    time_t mounted;
};

static struct sfs_print *get_print(void)
{
    return fuse_get_context()->private_data;
}

static struct print_handle *get_ph(const struct fuse_file_info *fi)
{
    return fi ? (struct print_handle *)(uintptr_t)fi->fh : NULL;
}

int sfs_print_entry_name(uint32_t id, const char *doc, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%u-%s", id, doc[0] ? doc : "job");
    if (n < 0 || (size_t)n >= cap)
        return -ENAMETOOLONG;
    for (char *c = out; *c; c++)
        if (*c == '/')
            *c = '_';
    return n;
}

/* The name a path gives in the root, or NULL for the root itself and for
 * anything deeper (-ENOENT there). */
static const char *root_name(const char *path, int *err)
{
    *err = 0;
    if (!path || path[0] != '/' || !path[1])
        return NULL;
    if (strchr(path + 1, '/')) {
        *err = -ENOENT;
        return NULL;
    }
    if (strlen(path + 1) > PRINT_NAME_MAX) {
        *err = -ENAMETOOLONG;
        return NULL;
    }
    return path + 1;
}

struct collect {
    struct queue_entry *v;
    size_t n, cap;
};

static int collect_job(void *ctx, const struct smb1_print_job_info *ji)
{
    struct collect *c = ctx;
    if (c->n == c->cap) {
        size_t nc = c->cap ? 2 * c->cap : 16;
        struct queue_entry *nv = realloc(c->v, nc * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        c->v = nv;
        c->cap = nc;
    }
    struct queue_entry *e = &c->v[c->n];
    if (sfs_print_entry_name(ji->id, ji->name, e->name, sizeof(e->name)) < 0)
        return 0; /* a name that cannot be shown is left out */
    e->info = *ji;
    c->n++;
    return 0;
}

static long long ns_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t->tv_sec) * 1000000000LL + (now.tv_nsec - t->tv_nsec);
}

/* Fetches the queue unless the copy is fresh (force: always). p->lock is
 * not held across the round trips. A server that cannot list its queue
 * (many print devices have neither RAP nor spoolss) shows an empty one:
 * printing must not depend on it. */
static void queue_refresh(struct sfs_print *p, bool force)
{
    pthread_mutex_lock(&p->lock);
    bool fresh = !force && p->queue_at.tv_sec && ns_since(&p->queue_at) < PRINT_QUEUE_TTL_NS;
    pthread_mutex_unlock(&p->lock);
    if (fresh)
        return;
    struct collect c = {0};
    int r = smb1_print_queue(p->tree, collect_job, &c);
    if (r) {
        free(c.v);
        c.v = NULL;
        c.n = 0;
        log_debug(p->log, "print: queue of %s: %s", p->opts->share, strerror(-r));
    }
    pthread_mutex_lock(&p->lock);
    free(p->queue);
    p->queue = c.v;
    p->nqueue = c.n;
    clock_gettime(CLOCK_MONOTONIC, &p->queue_at);
    pthread_mutex_unlock(&p->lock);
}

/* Copies the queue entry called name into *out (the queue fetched when
 * stale). 0 or -ENOENT. */
static int queue_lookup(struct sfs_print *p, const char *name, struct queue_entry *out)
{
    queue_refresh(p, false);
    int r = -ENOENT;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->nqueue && r; i++)
        if (!strcmp(p->queue[i].name, name)) {
            *out = p->queue[i];
            r = 0;
        }
    pthread_mutex_unlock(&p->lock);
    return r;
}

/* The open job called name (p->lock held), or NULL. */
static struct print_handle *open_find_locked(struct sfs_print *p, const char *name)
{
    for (struct print_handle *h = p->open; h; h = h->next)
        if (!strcmp(h->name, name))
            return h;
    return NULL;
}

static void ph_free(struct print_handle *ph)
{
    pthread_mutex_destroy(&ph->lock);
    pthread_mutex_destroy(&ph->io_lock);
    free(ph);
}

/* The queue changed (a job went in or out): fetch it at the next look. */
static void queue_stale(struct sfs_print *p)
{
    pthread_mutex_lock(&p->lock);
    p->queue_at.tv_sec = 0;
    pthread_mutex_unlock(&p->lock);
}

/* Takes ph off the list of open jobs. */
static void open_remove(struct sfs_print *p, struct print_handle *ph)
{
    pthread_mutex_lock(&p->lock);
    for (struct print_handle **pp = &p->open; *pp; pp = &(*pp)->next)
        if (*pp == ph) {
            *pp = ph->next;
            break;
        }
    p->queue_at.tv_sec = 0;
    pthread_mutex_unlock(&p->lock);
}

static void fill_common(struct sfs_print *p, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_uid = p->opts->uid;
    st->st_gid = p->opts->gid;
    st->st_nlink = 1;
    st->st_blksize = 1u << 20;
}

static void job_stat(struct sfs_print *p, const struct smb1_print_job_info *ji, struct stat *st)
{
    fill_common(p, st);
    st->st_mode = S_IFREG | 0444;
    st->st_size = (off_t)ji->size;
    st->st_blocks = (blkcnt_t)((ji->size + 511) / 512);
    st->st_mtim.tv_sec = ji->submitted ? ji->submitted : p->mounted;
    st->st_atim = st->st_mtim;
    st->st_ctim = st->st_mtim;
}

static int print_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct sfs_print *p = get_print();
    struct print_handle *ph = get_ph(fi);
    int err;
    const char *name = path ? root_name(path, &err) : NULL;
    if (!ph && !name) {
        if (!path || err)
            return path ? err : -ENOENT;
        fill_common(p, st);
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
        st->st_mtim.tv_sec = p->mounted;
        st->st_atim = st->st_ctim = st->st_mtim;
        return 0;
    }
    pthread_mutex_lock(&p->lock);
    if (!ph)
        ph = open_find_locked(p, name);
    if (ph) {
        pthread_mutex_lock(&ph->lock);
        fill_common(p, st);
        st->st_mode = S_IFREG | 0200;
        st->st_size = (off_t)ph->size;
        st->st_mtim.tv_sec = ph->created;
        pthread_mutex_unlock(&ph->lock);
        st->st_atim = st->st_ctim = st->st_mtim;
        pthread_mutex_unlock(&p->lock);
        return 0;
    }
    pthread_mutex_unlock(&p->lock);
    struct queue_entry e;
    int r = queue_lookup(p, name, &e);
    if (r)
        return r;
    job_stat(p, &e.info, st);
    return 0;
}

static int print_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                         struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    struct sfs_print *p = get_print();
    int err;
    if (root_name(path, &err) || err)
        return err ? err : -ENOTDIR;
    queue_refresh(p, true);
    filler(buf, ".", NULL, 0, 0);
    filler(buf, "..", NULL, 0, 0);
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->nqueue; i++) {
        struct stat st;
        job_stat(p, &p->queue[i].info, &st);
        filler(buf, p->queue[i].name, &st, 0, FUSE_FILL_DIR_PLUS);
    }
    pthread_mutex_unlock(&p->lock);
    return 0;
}

static int print_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    struct sfs_print *p = get_print();
    int err;
    const char *name = root_name(path, &err);
    if (!name)
        return err ? err : -EISDIR;
    if ((fi->flags & O_ACCMODE) == O_RDONLY)
        return -EACCES;
    struct print_handle *ph = calloc(1, sizeof(*ph));
    if (!ph)
        return -ENOMEM;
    snprintf(ph->name, sizeof(ph->name), "%s", name);
    pthread_mutex_init(&ph->io_lock, NULL);
    pthread_mutex_init(&ph->lock, NULL);
    ph->created = time(NULL);
    pthread_mutex_lock(&p->lock);
    bool busy = open_find_locked(p, name) != NULL;
    if (!busy) {
        ph->next = p->open;
        p->open = ph;
    }
    pthread_mutex_unlock(&p->lock);
    if (busy) {
        ph_free(ph);
        return -EBUSY;
    }
    int r = smb1_print_open(p->tree, name, p->job_flags, &ph->job);
    if (r) {
        log_warn(p->log, "print: %s refused the job %s: %s", p->opts->share, name, strerror(-r));
        open_remove(p, ph);
        ph_free(ph);
        return r == -EPERM ? -EACCES : r;
    }
    fi->fh = (uintptr_t)ph;
    return 0;
}

static int print_open(const char *path, struct fuse_file_info *fi)
{
    int err;
    const char *name = root_name(path, &err);
    if (!name)
        return err ? err : -EISDIR;
    /* A job in the queue is not a file to read or rewrite. */
    struct stat st;
    int r = print_getattr(path, &st, NULL);
    if (r)
        return r;
    return (fi->flags & O_ACCMODE) == O_RDONLY ? -EACCES : -EPERM;
}

static int print_write(const char *path, const char *buf, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    struct print_handle *ph = get_ph(fi);
    if (!ph)
        return -EBADF;
    pthread_mutex_lock(&ph->io_lock);
    pthread_mutex_lock(&ph->lock);
    int r = ph->err;
    struct smb1_print_job *job = ph->job;
    pthread_mutex_unlock(&ph->lock);
    /* No job: it was submitted at an earlier close of a duplicate. */
    ssize_t w = r ? r : job ? smb1_print_write(job, buf, size, (uint64_t)off) : -EIO;
    pthread_mutex_lock(&ph->lock);
    if (w < 0 && !r && job)
        ph->err = (int)w;
    else if (w > 0 && (uint64_t)off + (uint64_t)w > ph->size)
        ph->size = (uint64_t)off + (uint64_t)w;
    pthread_mutex_unlock(&ph->lock);
    pthread_mutex_unlock(&ph->io_lock);
    return (int)w;
}

/* Submits (or, after a failure, abandons) the job of ph; its result. */
static int job_finish(struct sfs_print *p, struct print_handle *ph)
{
    pthread_mutex_lock(&ph->io_lock);
    pthread_mutex_lock(&ph->lock);
    struct smb1_print_job *job = ph->job;
    ph->job = NULL;
    int r = ph->err;
    pthread_mutex_unlock(&ph->lock);
    if (job && r) {
        smb1_print_abort(job);
    } else if (job) {
        r = smb1_print_close(job);
        if (r) {
            log_warn(p->log, "print: job %s on %s failed: %s", ph->name, p->opts->share,
                     strerror(-r));
            pthread_mutex_lock(&ph->lock);
            ph->err = r;
            pthread_mutex_unlock(&ph->lock);
        }
    }
    pthread_mutex_unlock(&ph->io_lock);
    return r;
}

static int print_flush(const char *path, struct fuse_file_info *fi)
{
    struct sfs_print *p = get_print();
    struct print_handle *ph = get_ph(fi);
    if (!ph)
        return 0;
    /* A close with nothing written yet (a shell's redirection closing
     * its first descriptor) submits nothing. */
    pthread_mutex_lock(&ph->lock);
    bool wrote = ph->size > 0 || ph->err;
    pthread_mutex_unlock(&ph->lock);
    if (!wrote)
        return 0;
    int r = job_finish(p, ph);
    if (r == 0)
        queue_stale(p);
    return r;
}

static int print_release(const char *path, struct fuse_file_info *fi)
{
    struct sfs_print *p = get_print();
    struct print_handle *ph = get_ph(fi);
    if (!ph)
        return 0;
    /* An empty job is submitted too: the server drops it. */
    (void)job_finish(p, ph);
    open_remove(p, ph);
    ph_free(ph);
    return 0;
}

static int print_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    return 0; /* nothing is buffered here: every write went to the server */
}

static int print_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    struct sfs_print *p = get_print();
    struct print_handle *ph = get_ph(fi);
    if (!ph && path) {
        pthread_mutex_lock(&p->lock);
        int err;
        const char *name = root_name(path, &err);
        ph = name ? open_find_locked(p, name) : NULL;
        pthread_mutex_unlock(&p->lock);
    }
    if (!ph)
        return -EPERM;
    /* A job cannot shrink; O_TRUNC of a job that has nothing yet is fine. */
    pthread_mutex_lock(&ph->lock);
    bool same = (uint64_t)size == ph->size;
    pthread_mutex_unlock(&ph->lock);
    return same ? 0 : -EPERM;
}

static int print_unlink(const char *path)
{
    struct sfs_print *p = get_print();
    int err;
    const char *name = root_name(path, &err);
    if (!name)
        return err ? err : -EISDIR;
    pthread_mutex_lock(&p->lock);
    bool open_job = open_find_locked(p, name) != NULL;
    pthread_mutex_unlock(&p->lock);
    if (open_job)
        return -EBUSY;
    struct queue_entry e;
    int r = queue_lookup(p, name, &e);
    if (r)
        return r;
    r = smb1_print_cancel(p->tree, &e.info);
    if (r == -EACCES)
        r = -EPERM;
    if (r == 0 || r == -ENOENT)
        queue_stale(p);
    log_info(p->log, "print: cancel of job %u (%s) on %s: %s", e.info.id, e.info.name,
             p->opts->share, r ? strerror(-r) : "done");
    return r;
}

static int print_refuse(void)
{
    return -EPERM;
}

static int print_mkdir(const char *path, mode_t mode)
{
    return print_refuse();
}

static int print_rename(const char *from, const char *to, unsigned int flags)
{
    return print_refuse();
}

static int print_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    return print_refuse();
}

static int print_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    return print_refuse();
}

static int print_symlink(const char *target, const char *path)
{
    return print_refuse();
}

static int print_link(const char *from, const char *to)
{
    return print_refuse();
}

static int print_rmdir(const char *path)
{
    return path && !strcmp(path, "/") ? -EBUSY : -ENOTDIR;
}

/* Times: an open job keeps its own (cp -p may set them, nothing is
 * stored); a queued job's are the server's. */
static int print_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    struct sfs_print *p = get_print();
    if (get_ph(fi))
        return 0;
    int err;
    const char *name = path ? root_name(path, &err) : NULL;
    if (!name)
        return -EPERM;
    pthread_mutex_lock(&p->lock);
    bool open_job = open_find_locked(p, name) != NULL;
    pthread_mutex_unlock(&p->lock);
    return open_job ? 0 : -EPERM;
}

static int print_statfs(const char *path, struct statvfs *sv)
{
    struct sfs_print *p = get_print();
    queue_refresh(p, false);
    uint64_t used = 0;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->nqueue; i++)
        used += p->queue[i].info.size;
    size_t jobs = p->nqueue;
    pthread_mutex_unlock(&p->lock);
    memset(sv, 0, sizeof(*sv));
    sv->f_bsize = sv->f_frsize = PRINT_BSIZE;
    uint64_t free_blocks = PRINT_NOMINAL_FREE / PRINT_BSIZE;
    sv->f_blocks = (used + PRINT_BSIZE - 1) / PRINT_BSIZE + free_blocks;
    sv->f_bfree = sv->f_bavail = free_blocks;
    sv->f_files = jobs + 65536;
    sv->f_ffree = sv->f_favail = 65536;
    sv->f_namemax = PRINT_NAME_MAX;
    return 0;
}

/* Extended attributes of a queued job: its status and owner. */
static const char *const job_status_names[] = {"queued", "paused", "spooling", "printing", "error"};

static int print_getxattr(const char *path, const char *name, char *value, size_t size)
{
    struct sfs_print *p = get_print();
    int err;
    const char *ename = root_name(path, &err);
    if (!ename)
        return err ? err : -ENODATA;
    struct queue_entry e;
    int r = queue_lookup(p, ename, &e);
    if (r)
        return r == -ENOENT ? -ENODATA : r;
    char buf[300];
    if (!strcmp(name, "user.print.status"))
        snprintf(buf, sizeof(buf), "%s", job_status_names[e.info.status]);
    else if (!strcmp(name, "user.print.owner"))
        snprintf(buf, sizeof(buf), "%s", e.info.user);
    else if (!strcmp(name, "user.print.document"))
        snprintf(buf, sizeof(buf), "%s", e.info.name);
    else if (!strcmp(name, "user.print.position"))
        snprintf(buf, sizeof(buf), "%u", e.info.position);
    else
        return -ENODATA;
    size_t n = strlen(buf);
    if (size == 0)
        return (int)n;
    if (size < n)
        return -ERANGE;
    memcpy(value, buf, n);
    return (int)n;
}

static int print_listxattr(const char *path, char *list, size_t size)
{
    static const char names[] =
        "user.print.status\0user.print.owner\0user.print.document\0user.print.position";
    int err;
    if (!root_name(path, &err))
        return 0;
    if (size == 0)
        return sizeof(names);
    if (size < sizeof(names))
        return -ERANGE;
    memcpy(list, names, sizeof(names));
    return sizeof(names);
}

static int print_setxattr(const char *path, const char *name, const char *value, size_t size,
                          int flags)
{
    return -EPERM;
}

static int print_removexattr(const char *path, const char *name)
{
    return -EPERM;
}

static void *print_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    struct sfs_print *p = get_print();
    cfg->use_ino = 0;
    cfg->hard_remove = 1;
    /* Paths for every call (no nullpath_ok, unlike the share mount): the
     * callbacks find the job by name, and without lock callbacks no call
     * waits long on a name that a rename would need. */
    cfg->nullpath_ok = 0;
    cfg->kernel_cache = 0;
    /* Not direct_io: the kernel hands over writes of up to max_write from
     * its pages (cp of 64 MiB on loopback, signed: 124 MiB/s, 93 with
     * direct_io). Nothing is read back: no read permission, no kernel_cache. */
    cfg->direct_io = 0;
    /* The queue changes behind our back: no attribute or entry caching. */
    cfg->attr_timeout = 0;
    cfg->entry_timeout = 0;
    cfg->negative_timeout = 0;
    conn->max_write = 1u << 20;
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    return p;
}

static const struct fuse_operations print_ops = {
    .init = print_init,
    .getattr = print_getattr,
    .readdir = print_readdir,
    .create = print_create,
    .open = print_open,
    .write = print_write,
    .flush = print_flush,
    .release = print_release,
    .fsync = print_fsync,
    .truncate = print_truncate,
    .unlink = print_unlink,
    .mkdir = print_mkdir,
    .rmdir = print_rmdir,
    .rename = print_rename,
    .chmod = print_chmod,
    .chown = print_chown,
    .symlink = print_symlink,
    .link = print_link,
    .utimens = print_utimens,
    .statfs = print_statfs,
    .getxattr = print_getxattr,
    .listxattr = print_listxattr,
    .setxattr = print_setxattr,
    .removexattr = print_removexattr,
};

const struct fuse_operations *sfs_print_operations(void)
{
    return &print_ops;
}

struct sfs_print *sfs_print_new(struct smb1_conn *conn, struct smb1_tree *tree,
                                const struct sfs_options *opts, struct smb1_log *log, int *err)
{
    struct sfs_print *p = calloc(1, sizeof(*p));
    if (!p) {
        *err = -ENOMEM;
        return NULL;
    }
    p->conn = conn;
    p->tree = tree;
    p->opts = opts;
    p->log = log;
    p->mounted = time(NULL);
    /* Test-only: the old command on a server that takes NT_CREATE too. */
    const char *force = getenv("SMBFUSE_TEST_OPEN_PRINT_FILE");
    if (force && force[0] == '1')
        p->job_flags |= SMB1_PRINT_OPEN_PRINT_FILE;
    pthread_mutex_init(&p->lock, NULL);
    return p;
}

void sfs_print_free(struct sfs_print *p)
{
    if (!p)
        return;
    while (p->open) {
        struct print_handle *ph = p->open;
        p->open = ph->next;
        if (ph->job)
            smb1_print_abort(ph->job);
        ph_free(ph);
    }
    free(p->queue);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
