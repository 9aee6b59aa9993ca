/* POSIX locks over SMB byte-range locks (the design is in op_plock.h). */
#include "ops/op_plock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/op_file.h"
#include "ops/op_wb.h"
#include "ops/tree_state.h"

/* At most this many stale ranges per handle; beyond, the oldest is
 * forgotten (its server-side lock stays until the handle closes). */
#define PLOCK_STALE_MAX 64
/* F_SETLKW and blocking flock: at most this many wait at once per tree
 * (each keeps a FUSE worker; libfuse has 10 by default), the others get
 * -ENOLCK; and none waits longer than the request timeout (then -EDEADLK). */
#define PLOCK_WAITERS_MAX 4

/* The open files of the tree with f's path (f first), not closing; with
 * plock_lock held none of them can be freed. NULL when out of memory. */
static struct smb1_file **same_files(struct ops_tree *ot, struct smb1_file *f, size_t *n)
{
    pthread_mutex_lock(&f->lock);
    char *path = strdup(f->path);
    pthread_mutex_unlock(&f->lock);
    if (!path)
        return NULL;
    pthread_mutex_lock(&ot->lock);
    size_t cap = 1;
    for (struct smb1_file *g = ot->files; g; g = g->next)
        cap++;
    struct smb1_file **v = calloc(cap, sizeof(*v));
    if (v) {
        v[0] = f;
        *n = 1;
        for (struct smb1_file *g = ot->files; g; g = g->next) {
            if (g == f || g->plock_closed || *n >= cap)
                continue;
            pthread_mutex_lock(&g->lock);
            bool same = strcmp(g->path, path) == 0;
            pthread_mutex_unlock(&g->lock);
            if (same)
                v[(*n)++] = g;
        }
    }
    pthread_mutex_unlock(&ot->lock);
    free(path);
    return v;
}

static bool range_mine(const struct plock_range *g, uint64_t owner, bool flock)
{
    return g->flock == flock && (flock || g->owner == owner);
}

static bool overlaps(uint64_t s1, uint64_t e1, uint64_t s2, uint64_t e2)
{
    return s1 < e2 && s2 < e1;
}

/* Whether a handle of files other than skip (NULL: any) holds a range
 * overlapping [start, end). */
static bool held_by(struct smb1_file **files, size_t n, const struct smb1_file *skip,
                    uint64_t start, uint64_t end)
{
    for (size_t i = 0; i < n; i++) {
        if (files[i] == skip)
            continue;
        for (struct plock_range *g = files[i]->plocks; g; g = g->next) {
            if (!g->gone && overlaps(g->start, g->end, start, end))
                return true;
        }
    }
    return false;
}

static int smb_lock(struct smb1_file *f, uint64_t start, uint64_t end, int type)
{
    return smb1_lock(f, start, end - start, type, false);
}

/* Unlocks [start, end) of f on the server; remembers it as stale when
 * another of our handles of the file holds an overlapping range. */
static int smb_unlock(struct smb1_file **files, size_t n, struct smb1_file *f, uint64_t start,
                      uint64_t end)
{
    int r = smb_lock(f, start, end, F_UNLCK);
    if (!held_by(files, n, f, start, end))
        return r;
    size_t k = 0;
    struct plock_range **last = &f->plock_stale;
    for (struct plock_range *s = f->plock_stale; s; s = s->next, k++) {
        if (s->start == start && s->end == end)
            return r;
    }
    if (k >= PLOCK_STALE_MAX) {
        struct plock_range *old = *last;
        f->plock_stale = old->next;
        free(old);
    }
    struct plock_range *s = calloc(1, sizeof(*s));
    if (s) {
        s->start = start;
        s->end = end;
        s->next = f->plock_stale;
        f->plock_stale = s;
    }
    return r;
}

/* Releases for good the stale ranges nothing of ours overlaps any more. */
static void flush_stale(struct smb1_file **files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct plock_range **sp = &files[i]->plock_stale;
        while (*sp) {
            struct plock_range *s = *sp;
            if (held_by(files, n, NULL, s->start, s->end)) {
                sp = &s->next;
                continue;
            }
            if (smb_lock(files[i], s->start, s->end, F_RDLCK) == 0)
                (void)smb_lock(files[i], s->start, s->end, F_UNLCK);
            *sp = s->next;
            free(s);
        }
    }
}

/* Makes [start, end) the owner's with type (F_UNLCK: no longer) on f,
 * without waiting; plock_lock held. */
static int ranges_change(struct smb1_file **files, size_t nf, uint64_t owner, bool flock,
                         uint64_t start, uint64_t end, int type)
{
    struct smb1_file *f = files[0];
    size_t n_old = 0;
    for (struct plock_range *g = f->plocks; g; g = g->next) {
        if (!range_mine(g, owner, flock) || !overlaps(g->start, g->end, start, end))
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
    struct plock_range **add = calloc(cap, sizeof(*add));
    struct plock_range **old = calloc(n_old ? n_old : 1, sizeof(*old));
    bool *old_lost = calloc(n_old ? n_old : 1, sizeof(*old_lost));
    bool *done = calloc(cap, sizeof(*done));
    int r = add && old && old_lost && done ? 0 : -ENOLCK;
    size_t k = 0;
    for (struct plock_range *g = f->plocks; g && !r; g = g->next) {
        if (!range_mine(g, owner, flock) || !overlaps(g->start, g->end, start, end))
            continue;
        old[k++] = g;
        uint64_t ps[2] = {g->start, end}, pe[2] = {start, g->end};
        for (int i = 0; i < 2 && !r; i++) {
            if (ps[i] >= pe[i])
                continue;
            if (!(add[n_add] = malloc(sizeof(**add)))) {
                r = -ENOLCK;
                break;
            }
            *add[n_add] = *g;
            add[n_add]->start = ps[i];
            add[n_add]->end = pe[i];
            n_add++;
        }
    }
    if (!r && type != F_UNLCK) {
        if ((add[n_add] = calloc(1, sizeof(**add)))) {
            *add[n_add] = (struct plock_range){.owner = owner,
                                               .start = start,
                                               .end = end,
                                               .flock = flock,
                                               .shared = type == F_RDLCK};
            n_add++;
        } else {
            r = -ENOLCK;
        }
    }
    /* Shared pieces first, then the unlocks, then the exclusive pieces. */
    for (size_t i = 0; i < n_add && !r; i++) {
        if (add[i]->shared && (r = smb_lock(f, add[i]->start, add[i]->end, F_RDLCK)) == 0)
            done[i] = true;
    }
    if (!r) {
        for (size_t i = 0; i < n_old; i++) {
            old[i]->gone = true;
            int u = smb_unlock(files, nf, f, old[i]->start, old[i]->end);
            if (u) {
                char path[512];
                file_path_copy(f, path, sizeof(path));
                log_warn(conn_log(f->t->conn), "unlock of %llu bytes at %llu of %s failed: %s",
                         (unsigned long long)(old[i]->end - old[i]->start),
                         (unsigned long long)old[i]->start, path, strerror(-u));
            }
        }
        /* What Samba kept of what we no longer hold must go before an
         * exclusive lock tries the range. */
        flush_stale(files, nf);
        for (size_t i = 0; i < n_add && !r; i++) {
            if (!add[i]->shared && (r = smb_lock(f, add[i]->start, add[i]->end, F_WRLCK)) == 0)
                done[i] = true;
        }
        if (r) {
            /* Refused: back to the locks the owner had. */
            for (size_t i = 0; i < n_add; i++) {
                if (done[i])
                    (void)smb_unlock(files, nf, f, add[i]->start, add[i]->end);
                done[i] = false;
            }
            for (size_t i = 0; i < n_old; i++) {
                old[i]->gone = false;
                int u = smb_lock(f, old[i]->start, old[i]->end, old[i]->shared ? F_RDLCK : F_WRLCK);
                if (u) {
                    old_lost[i] = true;
                    char path[512];
                    file_path_copy(f, path, sizeof(path));
                    log_err(conn_log(f->t->conn),
                            "lock of %llu bytes at %llu of %s lost: taken while it was being "
                            "changed (%s)",
                            (unsigned long long)(old[i]->end - old[i]->start),
                            (unsigned long long)old[i]->start, path, strerror(-u));
                }
            }
        }
    } else {
        for (size_t i = 0; i < n_add; i++) {
            if (done[i])
                (void)smb_unlock(files, nf, f, add[i]->start, add[i]->end);
        }
    }
    /* Commit: the old ranges go (on success, or when lost), the new come. */
    for (size_t i = 0; i < n_old; i++) {
        if (r && !old_lost[i])
            continue;
        for (struct plock_range **gp = &f->plocks; *gp; gp = &(*gp)->next) {
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
            add[i]->next = f->plocks;
            f->plocks = add[i];
        }
    }
    free(add);
    free(old);
    free(old_lost);
    free(done);
    flush_stale(files, nf);
    return r;
}

/* Takes plock_lock, waiting at most one request timeout for it: its holder
 * may wait for a reply the server never sends while it answers everything
 * else (so no stall verdict ends that at once), and lock changes queued
 * behind it must not wait one timeout after another. -ETIMEDOUT then. */
static int plock_take(struct ops_tree *ot, struct smb1_file *f)
{
    /* Within the operation's deadline too (as every round trip of it). */
    int ms = conn_op_wait_ms(f->t->conn, conn_request_ms(f->t->conn));
    if (ms == 0)
        return -ETIMEDOUT;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl); /* the clock of pthread_mutex_timedlock */
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    int e = pthread_mutex_timedlock(&ot->plock_lock, &dl);
    if (e == ETIMEDOUT)
        log_warn(conn_log(f->t->conn),
                 "a lock change waited %d ms for another one that the server does not answer", ms);
    return -e;
}

/* One attempt, under plock_lock. */
static int try_change(struct ops_tree *ot, struct smb1_file *f, uint64_t owner, bool flock,
                      uint64_t start, uint64_t end, int type)
{
    int e = plock_take(ot, f);
    if (e)
        return e;
    size_t n = 0;
    struct smb1_file **files = f->plock_closed ? NULL : same_files(ot, f, &n);
    int r = files ? ranges_change(files, n, owner, flock, start, end, type)
                  : (f->plock_closed ? -EBADF : -ENOLCK);
    pthread_mutex_unlock(&ot->plock_lock);
    free(files);
    return r;
}

/* A lock wait that began at began gives up: logged, -EDEADLK. */
static int give_up(struct smb1_file *f, int64_t began)
{
    char path[512];
    file_path_copy(f, path, sizeof(path));
    log_warn(conn_log(f->t->conn), "gave up waiting for a lock on %s after %lld ms", path,
             (long long)(mux_now_ms() - began));
    return -EDEADLK;
}

/* Seconds on the monotonic clock. */
int smb1_posix_lock(struct smb1_file *f, uint64_t owner, bool flock, uint64_t start, uint64_t end,
                    int type, bool wait, int (*interrupted)(void))
{
    CONN_OP(f ? f->t->conn : NULL);
    if (type != F_RDLCK && type != F_WRLCK && type != F_UNLCK)
        return -EINVAL;
    int rw = wb_push(f);
    if (rw)
        return rw;
    if (start >= end)
        return type == F_UNLCK ? 0 : -EINVAL;
    struct ops_tree *ot = ops_tree_get(f->t);
    if (!ot)
        return -ENOLCK;
    int64_t t0 = mux_now_ms();
    int r = try_change(ot, f, owner, flock, start, end, type);
    if (r != -EAGAIN || !wait)
        return r;
    /* The last try starts when the slowest one yet still fits in the
     * operation's deadline (Samba makes a repeated refusal wait a while). */
    int64_t slowest = mux_now_ms() - t0;
    /* A wait is a retry with backoff from here, never a request the server
     * holds: it keeps no multiplex slot (cifs.ko does not count blocking
     * locks against MaxMpx either; with MaxMpxCount 1 a held request would
     * block the holder's unlock), needs no NT_CANCEL when the program is
     * interrupted, and cannot outlive its bound. */
    if (atomic_fetch_add(&ot->plock_waiters, 1) >= PLOCK_WAITERS_MAX) {
        atomic_fetch_sub(&ot->plock_waiters, 1);
        log_warn(conn_log(f->t->conn),
                 "more than %d lock waits at once on this share: one fails with ENOLCK",
                 PLOCK_WAITERS_MAX);
        return -ENOLCK;
    }
    /* The mount's request timeout bounds a wait as it bounds any call. */
    int64_t began = mux_now_ms();
    int64_t deadline = conn_wait_end(f->t->conn);
    for (unsigned ms = 5;; ms = ms < 320 ? ms * 2 : 500) {
        if (interrupted && interrupted()) {
            r = -EINTR;
            break;
        }
        if (mux_now_ms() + slowest >= deadline) {
            r = give_up(f, began);
            break;
        }
        int64_t left = deadline - slowest - mux_now_ms();
        struct timespec ts = {0, (long)(left > 0 && left < ms ? left : ms) * 1000000L};
        nanosleep(&ts, NULL);
        t0 = mux_now_ms();
        r = try_change(ot, f, owner, flock, start, end, type);
        /* A try the wait's end cut short (a loaded machine made it slower
         * than the slowest yet): the wait gave up, as between tries. */
        if (r == -ETIMEDOUT && mux_now_ms() >= deadline)
            r = give_up(f, began);
        if (r != -EAGAIN)
            break;
        if (mux_now_ms() - t0 > slowest)
            slowest = mux_now_ms() - t0;
    }
    atomic_fetch_sub(&ot->plock_waiters, 1);
    return r;
}

int smb1_posix_getlk(struct smb1_file *f, uint64_t start, uint64_t end, int *type)
{
    CONN_OP(f ? f->t->conn : NULL);
    if (*type == F_UNLCK || start >= end)
        return 0;
    int rw = wb_push(f);
    if (rw)
        return rw;
    struct ops_tree *ot = ops_tree_get(f->t);
    if (!ot)
        return -ENOLCK;
    /* Only the parts no owner of this handle holds are probed (with a lock
     * taken and released at once): the caller has checked its own other
     * owners, and a probe there would conflict with our own locks. */
    int e = plock_take(ot, f);
    if (e)
        return e;
    size_t n = 0;
    struct smb1_file **files = f->plock_closed ? NULL : same_files(ot, f, &n);
    int r = files ? 0 : -ENOLCK;
    uint64_t p = start;
    while (!r && p < end) {
        uint64_t next = end;
        bool covered = false;
        for (struct plock_range *g = f->plocks; g; g = g->next) {
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
        r = smb_lock(f, p, next, *type);
        if (r)
            break;
        (void)smb_unlock(files, n, f, p, next);
        p = next;
    }
    if (files)
        flush_stale(files, n);
    pthread_mutex_unlock(&ot->plock_lock);
    free(files);
    if (r == 0) {
        *type = F_UNLCK;
    } else if (r == -EAGAIN) {
        *type = F_WRLCK; /* held by another handle or client */
        r = 0;
    }
    return r;
}

void plock_file_closing(struct smb1_file *f)
{
    struct ops_tree *ot = ops_tree_get(f->t);
    if (!ot)
        return;
    pthread_mutex_lock(&ot->plock_lock);
    f->plock_closed = true;
    struct plock_range *lists[2] = {f->plocks, f->plock_stale};
    f->plocks = f->plock_stale = NULL;
    pthread_mutex_unlock(&ot->plock_lock);
    for (int i = 0; i < 2; i++) {
        while (lists[i]) {
            struct plock_range *g = lists[i];
            lists[i] = g->next;
            free(g);
        }
    }
}
