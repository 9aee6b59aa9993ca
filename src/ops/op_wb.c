/* Held writes and background CLOSEs: what the core keeps of a file
 * between the program's calls, and the one rule that keeps it invisible.
 *
 * Held writes. A file the program created (O_CREAT|O_EXCL) and asked to
 * hold (smb1_hold_writes: not O_SYNC/O_DSYNC) keeps its contiguous writes
 * here, up to HOLD_MAX (none while it holds byte-range locks: a CLOSE
 * would drop them, smb1_write_close_max is 0), and they go out at
 * smb1_flush_held (FUSE's flush, at close(2)) as one WRITE_ANDX + CLOSE
 * chain with the mtime the program set in the CLOSE, what the chain
 * cannot carry (smb1_write_close_max) in one WRITE_ANDX before it. A
 * write that does not fit sends what is held first, then is held. tar
 * writes 10 KiB at a time: a file of 70 KB cost seven requests, one
 * per write but the last, now two. close(2)'s promise holds: when
 * smb1_flush_held returns, the data is on the server, visible to every
 * other client, and a failure to write it is what it returns.
 *
 * Background CLOSEs. smb1_close_background returns before the CLOSE is
 * answered when nothing the program was promised depends on the answer:
 * nothing held, no failure left to report (both went out, and were
 * answered, at the flush), no mtime for the CLOSE to carry, no byte-range
 * locks (a CLOSE releases them, and another client may be waiting), not
 * a print job. The file stays on the tree's list, released (no longer
 * open to the registry's lookups) and closing, until the tree's closer
 * thread has the answer; a failure is logged. At most CLOSE_QUEUE_MAX
 * wait; beyond, the CLOSE is sent by the caller (a bound on memory and on
 * how far the server lags).
 *
 * The ordering rule. Until then only we know: the server has not seen
 * the held data, and still has the file open. So every request that
 * could observe the file goes after it. Each public operation on a path
 * calls ops_settle first (tree_state.h): a stat, open, truncate, unlink,
 * link, listing (below: and of everything under it), rename (both names,
 * and below them) pushes the held writes and waits for the CLOSEs of
 * that name; a set of times, mode, owner or EA waits for the CLOSEs only
 * (Samba stamps the write time at the CLOSE of a handle that wrote, which
 * must not come after a set), and so does smb1_tree_free (ops_tree_free
 * lets the queue drain before the tree goes). A request through the
 * handle itself (read, fstat, ftruncate, lock, FLUSH) pushes its own held
 * writes (wb_push).
 *
 * Locks: wb_lock is taken with no other lock held; the ops_tree lock and
 * f->lock nest inside it. A settle holds a reference (refs) instead of
 * the tree's lock across its round trips; a release waits for those.
 */
#include "ops/op_wb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/op_hide.h"
#include "ops/op_setown.h"
#include "ops/op_wclose.h"
#include "wire/unix_rec.h"
#include "ops/tree_state.h"
#include "support/clock.h"

/* CLOSEs queued for the background at most; beyond, the caller sends. */
#define CLOSE_QUEUE_MAX 64

/* Held data of a file at most: one WRITE_ANDX (a connection with
 * CAP_LARGE_WRITEX takes ~124 KiB) besides the chain, and a bound on
 * what a program's open files keep in memory (grown as written). */
#define HOLD_MAX (64u * 1024)

static void log_file(struct smb1_file *f, const char *what, int err)
{
    char path[512];
    file_path_copy(f, path, sizeof(path));
    log_warn(conn_log(f->t->conn), "%s of %s failed: %s", what, path[0] ? path : "/",
             strerror(-err));
}

/* Sets one of f's busy flags (*flag, under the tree's lock) and keeps
 * the tree's count of busy files that the settles wait on. */
static void mark_busy(struct smb1_file *f, bool *flag, bool busy)
{
    struct ops_tree *ot = ops_tree_get(f->t);
    if (!ot)
        return;
    pthread_mutex_lock(&ot->lock);
    if (*flag != busy) {
        *flag = busy;
        if (busy) {
            atomic_fetch_add(&ot->busy, 1);
        } else {
            atomic_fetch_sub(&ot->busy, 1);
            pthread_cond_broadcast(&ot->cond);
        }
    }
    pthread_mutex_unlock(&ot->lock);
}

/* Marks f as holding data or not, for the settles. */
static void set_held(struct smb1_file *f, bool held)
{
    mark_busy(f, &f->held, held);
}

/* A time held for the close of a file whose CLOSE cannot carry it (not
 * opened the POSIX way: smb1_own_defer_mtime) goes on the handle now:
 * whoever pushes may look at the file. Its failure goes into wb_err, for
 * the next write, fsync or close(2); wb_lock held. */
static void push_times_locked(struct smb1_file *f)
{
    struct ops_tree *ot = ops_tree_get(f->t);
    if (!ot || smb1_close_sets_mtime(f))
        return;
    pthread_mutex_lock(&ot->lock);
    bool has = f->mtime_pending;
    struct timespec mt = f->close_mtime;
    f->mtime_pending = false;
    pthread_mutex_unlock(&ot->lock);
    if (!has)
        return;
    int r = smb1_utimens(f->t, NULL, f, NULL, &mt);
    if (r) {
        log_file(f, "set of the times (held for the close)", r);
        if (!f->wb_err)
            f->wb_err = r;
    }
}

/* Writes out what f holds; wb_lock held. Returns 0 or the failure, which
 * also stays in wb_err for the next write, flush or close. An owner
 * change held (op_setown.c) goes first; its failure only into wb_err. */
static int push_locked(struct smb1_file *f)
{
    int ro = setown_push_locked(f);
    if (ro && !f->wb_err)
        f->wb_err = ro;
    size_t done = 0;
    int r = 0;
    /* After the writes on their way, which were written before. */
    if (f->wb_len && atomic_load(&f->behind))
        (void)file_wb_drain(f, false);
    while (done < f->wb_len) {
        ssize_t n = io_write(f, f->wb + done, f->wb_len - done, f->wb_off + done);
        if (n <= 0) {
            r = n < 0 ? (int)n : -EIO;
            break;
        }
        done += (size_t)n;
    }
    if (r) {
        log_file(f, "held write", r);
        if (!f->wb_err)
            f->wb_err = r;
    }
    f->wb_len = 0;
    push_times_locked(f);
    return r;
}

void wb_hold_owner(struct smb1_file *f, uint64_t fuid, uint64_t fgid, uint64_t uid, uint64_t gid)
{
    pthread_mutex_lock(&f->wb_lock);
    f->chown_held = true;
    f->chown_uid = uid;
    f->chown_gid = gid;
    f->chown_fuid = fuid;
    f->chown_fgid = fgid;
    pthread_mutex_unlock(&f->wb_lock);
    set_held(f, true);
}

void wb_held(struct smb1_file *f)
{
    set_held(f, true);
}

void wb_push_owner(struct smb1_file *f)
{
    pthread_mutex_lock(&f->wb_lock);
    int r = setown_push_locked(f);
    if (r && !f->wb_err)
        f->wb_err = r;
    pthread_mutex_unlock(&f->wb_lock);
}

int wb_push(struct smb1_file *f)
{
    /* Writes on their way go first: they were sent before anything held
     * now (smb1_write pushes what is held before it queues). */
    int rb = atomic_load(&f->behind) ? file_wb_drain(f, false) : 0;
    if (!atomic_load(&f->hold))
        return rb;
    pthread_mutex_lock(&f->wb_lock);
    int r = push_locked(f);
    pthread_mutex_unlock(&f->wb_lock);
    set_held(f, false);
    return r ? r : rb;
}

void wb_behind_busy(struct smb1_file *f, bool busy)
{
    mark_busy(f, &f->behind_busy, busy);
}

static int settle(struct smb1_tree *t, const char *path, unsigned how);
static int settle_others(struct smb1_file *f);

bool smb1_hold_writes(struct smb1_file *f)
{
    struct ops_tree *ot = ops_tree_get(f->t);
    if (!ot || !f->created || !f->writable)
        return false;
    pthread_mutex_lock(&ot->lock);
    ot->settle = settle;
    pthread_mutex_unlock(&ot->lock);
    atomic_store(&f->hold, true);
    return true;
}

bool smb1_write_behind_on(struct smb1_file *f)
{
    struct ops_tree *ot = ops_tree_get(f->t);
    if (!ot || !f->writable)
        return false;
    pthread_mutex_lock(&ot->lock);
    ot->settle = settle;
    pthread_mutex_unlock(&ot->lock);
    atomic_store(&f->behind, true);
    return true;
}

/* A write of ours went through (or is held): the own attributes follow. */
static void own_wrote(struct smb1_file *f, uint64_t end)
{
    struct ops_tree *ot = ops_tree_get(f->t);
    if (!ot)
        return;
    pthread_mutex_lock(&ot->lock);
    f->wrote = true;
    /* A write after a set of the mtime moves it on, as on a local disk. */
    f->mtime_pending = false;
    if (f->own_st.size < end)
        f->own_st.size = end;
    f->own_exact = false;
    pthread_mutex_unlock(&ot->lock);
}

/* The held part of a write of buf or (buf NULL) of the next len bytes of
 * the pipe fd: 1 when they joined what f holds, 0 when they go on (what
 * was held went first), or -errno. */
static int hold_write(struct smb1_file *f, const void *buf, int fd, size_t len, uint64_t off)
{
    size_t max = smb1_write_close_max(f);
    pthread_mutex_lock(&f->wb_lock);
    if (f->wb_err) {
        /* Kept for fsync or close: the kernel may drop what a write
         * returns (op_wbehind.c, Errors). */
        int r = f->wb_err;
        pthread_mutex_unlock(&f->wb_lock);
        return r;
    }
    size_t cap = max > HOLD_MAX ? max : HOLD_MAX;
    bool fits = max && len <= cap && (f->wb_len == 0 || off == f->wb_off + f->wb_len);
    if (fits && f->wb_len + len > cap) {
        /* What is held goes first; then this write is held. */
        int r = push_locked(f);
        if (r) {
            pthread_mutex_unlock(&f->wb_lock);
            set_held(f, false);
            return r;
        }
    }
    if (fits && f->wb_len + len > f->wb_cap) {
        size_t want = f->wb_len + len > max ? cap : max;
        uint8_t *b = realloc(f->wb, want);
        if (b) {
            f->wb = b;
            f->wb_cap = want;
        }
    }
    if (fits && f->wb_len + len <= f->wb_cap) {
        int r = 0;
        if (buf)
            memcpy(f->wb + f->wb_len, buf, len);
        else
            r = pipe_take(fd, f->wb + f->wb_len, len);
        if (r) {
            pthread_mutex_unlock(&f->wb_lock);
            return r;
        }
        if (f->wb_len == 0)
            f->wb_off = off;
        f->wb_len += len;
        pthread_mutex_unlock(&f->wb_lock);
        set_held(f, true);
        own_wrote(f, off + len);
        return 1;
    }
    int r = push_locked(f); /* a failure stays in wb_err, as above */
    pthread_mutex_unlock(&f->wb_lock);
    set_held(f, false);
    return r;
}

static ssize_t write_mem(struct smb1_file *f, const void *buf, size_t len, uint64_t off,
                         struct smb1_loan *loan)
{
    file_open_stat_drop(f);
    int rs = settle_others(f);
    if (rs)
        return rs;
    if (atomic_load(&f->hold)) {
        int r = hold_write(f, buf, -1, len, off);
        if (r)
            return r < 0 ? r : (ssize_t)len;
    }
    ssize_t n = atomic_load(&f->behind) ? wbehind_write(f, buf, len, off, loan)
                                        : io_write(f, buf, len, off);
    if (n > 0)
        own_wrote(f, off + (uint64_t)n);
    return n;
}

ssize_t smb1_write(struct smb1_file *f, const void *buf, size_t len, uint64_t off)
{
    CONN_OP(f ? f->t->conn : NULL);
    return write_mem(f, buf, len, off, NULL);
}

ssize_t smb1_write_lent(struct smb1_file *f, const void *buf, size_t len, uint64_t off,
                        struct smb1_loan *loan)
{
    CONN_OP(f ? f->t->conn : NULL);
    return write_mem(f, buf, len, off, loan);
}

ssize_t smb1_write_pipe(struct smb1_file *f, int fd, size_t len, uint64_t off, bool pages_private)
{
    CONN_OP(f ? f->t->conn : NULL);
    file_open_stat_drop(f);
    int rs = settle_others(f);
    if (rs)
        return rs;
    if (atomic_load(&f->hold)) {
        int r = hold_write(f, NULL, fd, len, off);
        if (r)
            return r < 0 ? r : (ssize_t)len;
    }
    ssize_t n;
    if (atomic_load(&f->behind)) {
        n = wbehind_write_pipe(f, fd, len, off, pages_private);
    } else {
        uint8_t *b = malloc(len ? len : 1);
        int r = b ? pipe_take(fd, b, len) : -ENOMEM;
        n = r ? r : io_write(f, b, len, off);
        free(b);
    }
    if (n > 0)
        own_wrote(f, off + (uint64_t)n);
    return n;
}

/* What a read must see first: f's own writes held or on their way, and
 * another handle's of the file. */
static int read_settle(struct smb1_file *f)
{
    int r = wb_push(f);
    if (r)
        return r;
    /* Another handle's writes of the file, held or on their way: a read
     * after a write(2) returned sees it, whichever descriptor wrote. */
    struct ops_tree *ot = ops_tree_get(f->t);
    if (ot && atomic_load(&ot->busy)) {
        char path[1024];
        file_path_copy(f, path, sizeof(path));
        return ops_settle(f->t, path, OPS_SETTLE_WRITES);
    }
    return 0;
}

ssize_t smb1_read(struct smb1_file *f, void *buf, size_t len, uint64_t off)
{
    CONN_OP(f ? f->t->conn : NULL);
    int r = read_settle(f);
    return r ? r : io_read(f, buf, len, off);
}

ssize_t smb1_read_pipe(struct smb1_file *f, int pipe_rd, int pipe_wr, void *buf, size_t len,
                       uint64_t off, bool *in_pipe)
{
    CONN_OP(f ? f->t->conn : NULL);
    *in_pipe = false;
    int r = read_settle(f);
    return r ? r : io_read_pipe(f, pipe_rd, pipe_wr, buf, len, off, in_pipe);
}

int smb1_flush(struct smb1_file *f)
{
    CONN_OP(f ? f->t->conn : NULL);
    /* fsync(2) reports a failure of the writes on their way, once. */
    int r = atomic_load(&f->behind) ? file_wb_sync(f) : 0;
    if (r == 0)
        r = wb_push(f);
    if (r == 0 && atomic_load(&f->hold)) {
        /* A held owner change that failed (the push above, or before):
         * fsync is the next call that can say so, and says it once. */
        pthread_mutex_lock(&f->wb_lock);
        r = f->wb_err;
        f->wb_err = 0;
        pthread_mutex_unlock(&f->wb_lock);
    }
    return r ? r : io_flush(f);
}

/* f is the one handle of the program's on its path, and created the
 * file; ops_tree lock held. */
static bool sole_created_locked(struct ops_tree *ot, struct smb1_file *f)
{
    if (!f->created || f->released)
        return false;
    char path[1024];
    file_path_copy(f, path, sizeof(path));
    for (struct smb1_file *o = ot->files; o; o = o->next) {
        if (o != f && !o->released && file_path_matches(o, path, false))
            return false;
    }
    return true;
}

int smb1_flush_held(struct smb1_file *f)
{
    CONN_OP(f ? f->t->conn : NULL);
    /* close(2): the writes on their way are answered first, and their
     * failure is its. */
    int rb = atomic_load(&f->behind) ? file_wb_drain(f, true) : 0;
    if (rb || !atomic_load(&f->hold))
        return rb;
    struct ops_tree *ot = ops_tree_get(f->t);
    if (!ot)
        return -ENOMEM;
    /* The chain closes the server's handle: only for the one handle on a
     * file of ours (a later use opens it again). */
    pthread_mutex_lock(&ot->lock);
    bool chain = sole_created_locked(ot, f);
    bool has_mt = f->mtime_pending;
    struct timespec mt = f->close_mtime;
    pthread_mutex_unlock(&ot->lock);
    pthread_mutex_lock(&f->wb_lock);
    size_t max = smb1_write_close_max(f);
    /* An owner change and a mode held for close(2) go in one set, back to
     * back with the chain (below); without a chain, first. */
    struct setown_held h;
    bool has_h = false;
    int r = 0;
    if (chain && f->wb_len && max)
        has_h = setown_take_locked(f, &h);
    else
        r = setown_push_locked(f);
    if (!r)
        r = f->wb_err;
    f->wb_err = 0;
    if (f->wb_len > max && max && !r && chain) {
        /* What the chain cannot carry goes before it, in one write. */
        size_t head = f->wb_len - max, done = 0;
        while (done < head && !r) {
            ssize_t n = io_write(f, f->wb + done, head - done, f->wb_off + done);
            if (n > 0)
                done += (size_t)n;
            else
                r = n < 0 ? (int)n : -EIO;
        }
        if (r) {
            log_file(f, "held write", r);
            f->wb_len = 0;
        } else {
            memmove(f->wb, f->wb + head, max);
            f->wb_off += head;
            f->wb_len = max;
        }
    }
    if (f->wb_len && !r && chain) {
        /* The set before the chain, in the same wait: the held owner and
         * mode (UNIX_BASIC), or a time the CLOSE cannot carry (wclose_send:
         * on the handle). The UNIX_BASIC goes on the handle too
         * (SET_FILE_INFO): Samba applies it there as for the path (fchmod
         * and fchown of the open file), without resolving the path and
         * opening a pathref of it again (src/README.md, "Where an untar's
         * time goes"); a retry after the chain (setown_settle) names the
         * path, as the FID is closed by then. */
        uint8_t rec[UNIX_BASIC_LEN];
        struct wclose_set set = {0};
        char *path = NULL;
        if (has_h) {
            pthread_mutex_lock(&f->lock);
            path = strdup(f->path);
            pthread_mutex_unlock(&f->lock);
        }
        if (path) {
            setown_encode(&h, rec);
            set = (struct wclose_set){SMB_SET_FILE_UNIX_BASIC, rec, UNIX_BASIC_LEN, NULL, 0, false};
        }
        int rc = wclose_send(f, f->wb, f->wb_len, f->wb_off, has_mt ? &mt : NULL, &set);
        if (rc != -EINVAL) {
            /* The set's failure is the close's too, after the data's. */
            int rs = 0;
            if (path && set.sent) {
                rs = setown_settle(f, path, &h, set.err);
                has_h = false;
            } else if (!path && set.err) {
                rs = set.err;
                log_file(f, "set of the times (held for the close)", rs);
            }
            if (rc)
                log_file(f, "write and close", rc);
            f->wb_len = 0;
            r = rc ? rc : rs;
            if (has_mt) {
                pthread_mutex_lock(&ot->lock);
                f->mtime_pending = false;
                pthread_mutex_unlock(&ot->lock);
            }
        }
        free(path);
    }
    if (has_h) {
        /* Not sent with a chain after all. */
        int ro = setown_push_held(f, &h);
        if (!r)
            r = ro;
    }
    if (f->wb_len) {
        int rp = push_locked(f);
        f->wb_err = 0;
        if (!r)
            r = rp;
    }
    pthread_mutex_unlock(&f->wb_lock);
    set_held(f, false);
    return r;
}

/* ---- settles ---- */

static int settle_but(struct smb1_tree *t, const char *path, unsigned how, struct smb1_file *skip,
                      int64_t until);

/* Within the deadline of the operation that settles: a background CLOSE
 * has a bound of its own, and an operation waiting for it must not wait
 * that out and then its own. */
static int settle(struct smb1_tree *t, const char *path, unsigned how)
{
    return settle_but(t, path, how, NULL, conn_op_until());
}

/* Writes through another handle of f's file, held or on their way, land
 * before f's next write (which may overlap them: the server may run the
 * two in either order). Costs nothing with no other busy handle. */
static int settle_others(struct smb1_file *f)
{
    struct ops_tree *ot = ops_tree_get(f->t);
    if (!ot)
        return 0;
    unsigned busy = atomic_load(&ot->busy);
    if (busy == 0)
        return 0;
    pthread_mutex_lock(&ot->lock);
    bool mine = f->held || f->behind_busy;
    pthread_mutex_unlock(&ot->lock);
    if (busy == 1 && mine)
        return 0;
    char path[1024];
    file_path_copy(f, path, sizeof(path));
    /* Within the write's own deadline: a write that cannot wait for the
     * other handle's any longer fails (ETIMEDOUT), it never overtakes
     * them. */
    return settle_but(f->t, path, OPS_SETTLE_WRITES, f, conn_op_until());
}

/* until: monotonic ms (mux_now_ms) after which a wait for a background
 * CLOSE gives up with -ETIMEDOUT; -1: none. */
static int settle_but(struct smb1_tree *t, const char *path, unsigned how, struct smb1_file *skip,
                      int64_t until)
{
    struct ops_tree *ot = ops_tree_get(t);
    if (!ot)
        return 0;
    int r = 0;
    bool below = how & OPS_SETTLE_BELOW;
    pthread_mutex_lock(&ot->lock);
    for (;;) {
        struct smb1_file *push = NULL;
        bool wait = false;
        for (struct smb1_file *f = ot->files; f && !push; f = f->next) {
            if (f == skip)
                continue;
            if (!f->closing && !((how & OPS_SETTLE_WRITES) && (f->held || f->behind_busy)) &&
                !((how & OPS_SETTLE_BEHIND) && f->behind_busy))
                continue;
            if (!file_path_matches(f, path, below))
                continue;
            /* A released file's own close is pushing it. */
            if (f->closing || f->released)
                wait = true;
            else
                push = f;
        }
        if (push) {
            push->refs++;
            pthread_mutex_unlock(&ot->lock);
            int rp = wb_push(push);
            pthread_mutex_lock(&ot->lock);
            push->refs--;
            pthread_cond_broadcast(&ot->cond);
            /* Its writes on their way outlast our deadline: they stay
             * busy, and pushing again would only spin. */
            if (rp && until >= 0 && mux_now_ms() >= until) {
                r = -ETIMEDOUT;
                break;
            }
        } else if (wait && until < 0) {
            pthread_cond_wait(&ot->cond, &ot->lock);
        } else if (wait && mux_now_ms() < until) {
            struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};
            pthread_cond_timedwait(&ot->cond, &ot->lock, &ts);
        } else {
            r = wait ? -ETIMEDOUT : 0;
            break;
        }
    }
    pthread_mutex_unlock(&ot->lock);
    return r;
}

/* ---- release ---- */

static void *closer_main(void *arg)
{
    struct ops_tree *ot = arg;
    pthread_mutex_lock(&ot->lock);
    for (;;) {
        struct smb1_file *f = ot->close_head;
        if (!f) {
            if (ot->closer_stop)
                break;
            if (!ot->owed_retry) {
                pthread_cond_wait(&ot->close_cond, &ot->lock);
                continue;
            }
            int64_t left = ot->owed_at_ms - mux_now_ms();
            if (left > 0) {
                /* close_cond counts CLOCK_REALTIME; only a wake-up. */
                struct timespec ts;
                clock_after(CLOCK_REALTIME, &ts, (int)left);
                pthread_cond_timedwait(&ot->close_cond, &ot->lock, &ts);
                continue;
            }
            ot->owed_retry = false;
            pthread_mutex_unlock(&ot->lock);
            lock_owed_retry(ot);
            pthread_mutex_lock(&ot->lock);
            continue;
        }
        ot->close_head = f->close_next;
        if (!ot->close_head)
            ot->close_tail = NULL;
        ot->close_n--;
        pthread_mutex_unlock(&ot->lock);
        int r = file_close_send(f, NULL);
        if (r)
            log_file(f, "close (in the background)", r);
        pthread_mutex_lock(&ot->lock);
        file_unlist_locked(ot, f);
        atomic_fetch_sub(&ot->busy, 1);
        pthread_cond_broadcast(&ot->cond);
        pthread_mutex_unlock(&ot->lock);
        file_destroy(f);
        pthread_mutex_lock(&ot->lock);
    }
    pthread_mutex_unlock(&ot->lock);
    return NULL;
}

void wb_owed_retry_later(struct smb1_tree *t, int retry_ms)
{
    struct ops_tree *ot = ops_tree_get(t);
    if (!ot)
        return;
    pthread_mutex_lock(&ot->lock);
    int64_t at = mux_now_ms() + retry_ms;
    if (!ot->owed_retry || at < ot->owed_at_ms)
        ot->owed_at_ms = at;
    ot->owed_retry = true;
    if (ops_closer_start(ot, closer_main) == 0)
        pthread_cond_signal(&ot->close_cond);
    pthread_mutex_unlock(&ot->lock);
}

/* Queues f's CLOSE when nothing depends on its answer; ops_tree lock not
 * held. true: queued, f belongs to the closer now. */
static bool close_queue(struct ops_tree *ot, struct smb1_file *f)
{
    pthread_mutex_lock(&f->lock);
    bool ok = !f->locks && !f->locks_lost && !f->no_reopen;
    pthread_mutex_unlock(&f->lock);
    if (!ok)
        return false;
    pthread_mutex_lock(&ot->lock);
    /* A hidden file's last CLOSE deletes it, in order. */
    ok = !f->mtime_pending && !f->hidden && ot->close_n < CLOSE_QUEUE_MAX &&
         ops_closer_start(ot, closer_main) == 0;
    if (ok) {
        ot->settle = settle;
        f->closing = true;
        atomic_fetch_add(&ot->busy, 1);
        f->close_next = NULL;
        if (ot->close_tail)
            ot->close_tail->close_next = f;
        else
            ot->close_head = f;
        ot->close_tail = f;
        ot->close_n++;
        pthread_cond_signal(&ot->close_cond);
    }
    pthread_mutex_unlock(&ot->lock);
    return ok;
}

/* Closes f: what it holds goes out, then its CLOSE (with mtime, else the
 * one the program set to ride on it), in the background when bg allows. */
static int close_common(struct smb1_file *f, const struct timespec *mtime, bool bg)
{
    if (!f)
        return 0;
    struct ops_tree *ot = ops_tree_get(f->t);
    if (ot) {
        /* No longer open: no settle picks f any more; wait for those
         * that did. */
        pthread_mutex_lock(&ot->lock);
        f->released = true;
        while (f->refs)
            pthread_cond_wait(&ot->cond, &ot->lock);
        pthread_mutex_unlock(&ot->lock);
    }
    int r = atomic_load(&f->behind) ? file_wb_drain(f, true) : 0;
    if (atomic_load(&f->hold)) {
        pthread_mutex_lock(&f->wb_lock);
        int rh = push_locked(f);
        if (!rh)
            rh = f->wb_err;
        if (!r)
            r = rh;
        f->wb_err = 0;
        pthread_mutex_unlock(&f->wb_lock);
        set_held(f, false);
    }
    struct timespec mt;
    bool hidden = false;
    if (ot) {
        pthread_mutex_lock(&ot->lock);
        if (!mtime && f->mtime_pending) {
            mt = f->close_mtime;
            mtime = &mt;
        }
        hidden = f->hidden;
        pthread_mutex_unlock(&ot->lock);
    }
    plock_file_closing(f);
    /* The WRITE+CLOSE chain closed its FID already (op_wclose.c): there
     * is nothing to send, and handing it to the closer thread cost a
     * wake-up of that thread per file of an untar. */
    pthread_mutex_lock(&f->lock);
    bool closed = f->epoch == 0;
    pthread_mutex_unlock(&f->lock);
    if (bg && !r && !mtime && ot && !closed && close_queue(ot, f))
        return 0;
    file_unlist(f);
    int rc = file_close_send(f, mtime);
    if (hidden) {
        pthread_mutex_lock(&f->lock);
        char *path = strdup(f->path);
        pthread_mutex_unlock(&f->lock);
        if (path)
            hide_closed(f->t, path);
        free(path);
    }
    file_destroy(f);
    return r ? r : rc;
}

int smb1_close(struct smb1_file *f)
{
    CONN_OP(f ? f->t->conn : NULL);
    return close_common(f, NULL, false);
}

int smb1_close_mtime(struct smb1_file *f, const struct timespec *mtime)
{
    CONN_OP(f ? f->t->conn : NULL);
    return close_common(f, mtime, false);
}

int smb1_close_background(struct smb1_file *f)
{
    CONN_OP(f ? f->t->conn : NULL);
    return close_common(f, NULL, true);
}

bool smb1_file_wrote(struct smb1_file *f)
{
    struct ops_tree *ot = ops_tree_get(f->t);
    if (!ot)
        return false;
    pthread_mutex_lock(&ot->lock);
    bool w = f->wrote;
    pthread_mutex_unlock(&ot->lock);
    return w;
}

void smb1_close_all(struct smb1_tree *t)
{
    struct ops_tree *ot = ops_tree_get(t);
    if (!ot)
        return;
    pthread_mutex_lock(&ot->lock);
    for (;;) {
        struct smb1_file *f = ot->files;
        while (f && f->released)
            f = f->next;
        if (f) {
            pthread_mutex_unlock(&ot->lock);
            (void)smb1_close(f);
            pthread_mutex_lock(&ot->lock);
        } else if (ot->files) {
            /* Background CLOSEs (or a release under way). */
            pthread_cond_wait(&ot->cond, &ot->lock);
        } else {
            break;
        }
    }
    pthread_mutex_unlock(&ot->lock);
}
