/* POSIX (fcntl) and flock locks of the FUSE layer as SMB byte-range locks. */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>

#include "fs_ops_int.h"

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
int sfs_lock(const char *path, struct fuse_file_info *fi, int cmd, struct flock *fl)
{
    struct sfs_handle *h = get_handle(fi);
    if (!h)
        return -EBADF;
    if (fl->l_start < 0 || fl->l_len < 0)
        return -EINVAL;
    /* Writes kept for the close go out before the lock guards anything. */
    int rw = wb_push(get_fs(), h);
    if (rw)
        return rw;
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

int sfs_flock(const char *path, struct fuse_file_info *fi, int op)
{
    struct sfs_handle *h = get_handle(fi);
    if (!h)
        return -EBADF;
    int rw = wb_push(get_fs(), h);
    if (rw)
        return rw;
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
