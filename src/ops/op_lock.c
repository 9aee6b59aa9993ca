/* Byte-range locks of open files: LOCKING_ANDX, the ranges a handle holds,
 * and taking them again after a reopen.
 *
 * A lock request whose outcome is unknown (it timed out, or the program
 * was interrupted and NT_CANCEL went out: the server may have granted it,
 * or may still, and its late reply is dropped) would leave the server
 * holding a lock no program holds, which every other client then waits
 * on until the handle closes. So such a range is owed an unlock
 * (smb1_file.lock_owed): sent at once, on the FID and epoch the lock went
 * out on, and while its own outcome is unknown again, before the next
 * lock request of the handle and by the tree's closer thread a quarter of
 * the request timeout later (250 ms to 10 s; again each time it gets no
 * answer: a range must not stay locked on the server until the handle
 * closes), oldest first; "not locked" is success. The
 * server runs a connection's LOCKING_ANDX (never one that waits: Timeout
 * 0) in order, so the unlock comes after the lock it undoes and before any
 * later one of the handle. POSIX lock changes, the only ones the FUSE
 * program makes, are serialised by plock_lock (op_plock.c), which orders
 * the owed unlocks with them; a caller of smb1_lock orders its own calls
 * on a handle. A new epoch drops what is owed (the server dropped the
 * handle's locks with its connection); a range the handle also holds
 * (stacked) is not unlocked, since one SMB unlock cannot tell the two
 * apart: that is logged. */
#include "ops/op_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/op_wb.h"
#include "ops/tree_state.h"
#include "wire/ntstatus.h"
#include "wire/smb1_proto.h"

/* ---- LOCKING_ANDX ---- */

struct lock_req {
    uint64_t off, len;
    int type;
    bool large;
    unsigned flags; /* conn_call flags beside CONN_FID */
    uint16_t fid;   /* out: the FID and epoch it went out on */
    uint64_t epoch;
};

static ssize_t lock_op(struct smb1_tree *t, uint16_t fid, uint64_t epoch, void *arg)
{
    struct lock_req *lk = arg;
    lk->fid = fid;
    lk->epoch = epoch;
    struct msg_out m;
    struct msg_in resp;
    int r = msg_out_init(&m, SMB1_COM_LOCKING_ANDX, SMB1_HDR_LEN + 1 + 16 + 2 + 20 + 8);
    if (r)
        return r;
    struct wire_writer *w = &m.w;
    bool unlock = lk->type == F_UNLCK;
    uint8_t lt =
        (lk->large ? SMB1_LOCK_LARGE_FILES : 0) | (lk->type == F_RDLCK ? SMB1_LOCK_SHARED : 0);
    msg_words_begin(&m);
    wire_put_u8(w, SMB1_COM_NONE);
    wire_put_u8(w, 0);
    wire_put_u16(w, 0);
    wire_put_u16(w, fid);
    wire_put_u8(w, lt);
    wire_put_u8(w, 0);
    wire_put_u32(w, 0); /* never a wait the server holds (smb1_lock) */
    wire_put_u16(w, unlock ? 1 : 0);
    wire_put_u16(w, unlock ? 0 : 1);
    msg_words_end(&m);
    msg_bytes_begin(&m);
    wire_put_u16(w, 0); /* PID of the range: one owner per handle */
    if (lk->large) {
        wire_put_u16(w, 0);
        wire_put_u32(w, (uint32_t)(lk->off >> 32));
        wire_put_u32(w, (uint32_t)lk->off);
        wire_put_u32(w, (uint32_t)(lk->len >> 32));
        wire_put_u32(w, (uint32_t)lk->len);
    } else {
        wire_put_u32(w, (uint32_t)lk->off);
        wire_put_u32(w, (uint32_t)lk->len);
    }
    msg_bytes_end(&m);
    if ((r = msg_out_error(&m))) {
        msg_out_free(&m);
        return r;
    }
    m.want_epoch = epoch;
    r = conn_call(t->conn, t, &m, &resp, CONN_FID | lk->flags);
    if (r)
        return r;
    uint32_t st = resp.status;
    msg_in_free(&resp);
    /* Unlocking what is not locked succeeds in POSIX. */
    if (unlock && st == NT_STATUS_RANGE_NOT_LOCKED)
        return 0;
    /* Both conflict codes mean "held by another handle". */
    if (st == NT_STATUS_LOCK_NOT_GRANTED || st == NT_STATUS_FILE_LOCK_CONFLICT)
        return -EAGAIN;
    return ntstatus_to_errno(st);
}

/* Takes f's ranges again on its new FID; f->lock held. Without waiting:
 * a range someone else took while we were away is lost, and said so. */
void relock_locked(struct smb1_file *f)
{
    struct conn_params p;
    conn_get_params(f->t->conn, &p);
    for (struct file_lock_rec *l = f->locks; l && !f->locks_lost; l = l->next) {
        struct lock_req lk = {l->off, l->len, l->shared ? F_RDLCK : F_WRLCK, p.large_files, 0,
                              0,      0};
        ssize_t r = lock_op(f->t, f->fid, f->epoch, &lk);
        if (r == 0)
            continue;
        /* The connection broke again: the next use reopens and retries. */
        if (r == -ECONNRESET)
            break;
        f->locks_lost = true;
        log_err(conn_log(f->t->conn),
                "lock on %s (%llu bytes at %llu) lost across the reconnect: %s; its I/O now "
                "fails",
                f->path, (unsigned long long)l->len, (unsigned long long)l->off, strerror((int)-r));
    }
}

/* Remembers a range granted, or forgets one released (SMB unlocks only an
 * exact range). */
static void lock_record(struct smb1_file *f, uint64_t off, uint64_t len, int type)
{
    pthread_mutex_lock(&f->lock);
    if (type == F_UNLCK) {
        for (struct file_lock_rec **lp = &f->locks; *lp; lp = &(*lp)->next) {
            if ((*lp)->off == off && (*lp)->len == len) {
                struct file_lock_rec *l = *lp;
                *lp = l->next;
                free(l);
                break;
            }
        }
    } else {
        struct file_lock_rec *l = malloc(sizeof(*l));
        if (l) {
            *l = (struct file_lock_rec){f->locks, off, len, type == F_RDLCK};
            f->locks = l;
        } else {
            log_warn(conn_log(f->t->conn),
                     "out of memory: a lock on %s would not survive a reconnect", f->path);
        }
    }
    pthread_mutex_unlock(&f->lock);
}

/* Whether f holds exactly [off, off + len); f->lock held. */
static bool lock_held_locked(struct smb1_file *f, uint64_t off, uint64_t len)
{
    for (struct file_lock_rec *l = f->locks; l; l = l->next) {
        if (l->off == off && l->len == len)
            return true;
    }
    return false;
}

/* When an owed unlock that got no answer goes again (see the top). */
static int owed_retry_ms(struct smb1_file *f)
{
    int ms = conn_request_ms(f->t->conn) / 4;
    return ms < 250 ? 250 : ms > 10000 ? 10000 : ms;
}

/* Sends f's owed unlocks, oldest first (see the top); f->lock_io held.
 * Stops at one whose outcome is unknown again: it stays owed, for the
 * next lock request of f or the closer's retry. */
static void lock_owed_flush(struct smb1_file *f)
{
    for (;;) {
        pthread_mutex_lock(&f->lock);
        struct file_lock_owed *o = f->lock_owed;
        if (!o) {
            pthread_mutex_unlock(&f->lock);
            return;
        }
        f->lock_owed = o->next;
        bool stale = o->epoch != f->epoch;
        bool held = lock_held_locked(f, o->off, o->len);
        pthread_mutex_unlock(&f->lock);
        if (held) {
            char path[512];
            file_path_copy(f, path, sizeof(path));
            log_warn(conn_log(f->t->conn),
                     "%s: %llu bytes at %llu may stay locked on the server until it is closed "
                     "(a lock request of the range held got no answer)",
                     path, (unsigned long long)o->len, (unsigned long long)o->off);
        }
        if (stale || held) {
            free(o);
            continue;
        }
        /* A clean-up: sent also when the operation's time is up. */
        struct lock_req lk = {o->off, o->len, F_UNLCK, o->large, CONN_BRIEF | CONN_CLEANUP, 0, 0};
        ssize_t r = lock_op(f->t, o->fid, o->epoch, &lk);
        if (r == -ETIMEDOUT || r == -EINTR) {
            pthread_mutex_lock(&f->lock);
            o->next = f->lock_owed;
            f->lock_owed = o;
            pthread_mutex_unlock(&f->lock);
            wb_owed_retry_later(f->t, owed_retry_ms(f));
            return;
        }
        if (r && r != -ECONNRESET) {
            char path[512];
            file_path_copy(f, path, sizeof(path));
            log_warn(conn_log(f->t->conn), "%s: unlock of %llu bytes at %llu failed: %s", path,
                     (unsigned long long)o->len, (unsigned long long)o->off, strerror((int)-r));
        }
        free(o);
    }
}

/* lk (a lock or unlock request of f) got no answer: owe its range an
 * unlock, and send it now. */
static void lock_owe(struct smb1_file *f, const struct lock_req *lk)
{
    struct file_lock_owed *o = calloc(1, sizeof(*o));
    char path[512];
    file_path_copy(f, path, sizeof(path));
    log_warn(conn_log(f->t->conn),
             "%s: %s of %llu bytes at %llu got no answer: unlocking the range in case the "
             "server %s",
             path, lk->type == F_UNLCK ? "unlock" : "lock", (unsigned long long)lk->len,
             (unsigned long long)lk->off, lk->type == F_UNLCK ? "did not" : "granted it");
    if (!o)
        return;
    *o = (struct file_lock_owed){NULL, lk->off, lk->len, lk->epoch, lk->fid, lk->large};
    pthread_mutex_lock(&f->lock);
    struct file_lock_owed **op = &f->lock_owed;
    while (*op)
        op = &(*op)->next;
    *op = o;
    pthread_mutex_unlock(&f->lock);
    lock_owed_flush(f);
}

/* One LOCKING_ANDX that does not wait. */
static int lock_once(struct smb1_file *f, uint64_t off, uint64_t len, int type)
{
    struct conn_params p;
    conn_get_params(f->t->conn, &p);
    /* POSIX length 0: to the end of any file. */
    if (len == 0 || len > UINT64_MAX - off)
        len = UINT64_MAX - off;
    if (!p.large_files) {
        if (off > 0xFFFFFFFFu)
            return -EOVERFLOW;
        if (len > 0xFFFFFFFFu - off)
            len = 0xFFFFFFFFu - off;
    }
    /* What a lock request that got no answer may have left goes first. */
    pthread_mutex_lock(&f->lock_io);
    lock_owed_flush(f);
    struct lock_req lk = {off, len, type, p.large_files, 0, 0, 0};
    int r = (int)file_call(f, lock_op, &lk);
    if (r == 0)
        lock_record(f, off, len, type);
    if ((r == -ETIMEDOUT || r == -EINTR) && lk.epoch) {
        /* The program is told it failed: an unlock that got no answer is
         * taken as done (and sent again), a lock as refused (and undone). */
        if (type == F_UNLCK)
            lock_record(f, off, len, type);
        lock_owe(f, &lk);
    }
    if (r == -EAGAIN && p.large_files) {
        /* smbd remembers the offset of a handle's last failed lock and
         * holds the next attempt there for 200 ms ("lock spin time") before
         * it fails: sqlite's writers, which retry their lock bytes, then
         * wait on each other by turns. A lock whose range wraps fails at
         * once with another offset, and the next attempt here is answered
         * at once again. */
        struct lock_req wrap = {UINT64_MAX - 1, 4, F_WRLCK, true, 0, 0, 0};
        (void)file_call(f, lock_op, &wrap);
    }
    pthread_mutex_unlock(&f->lock_io);
    return r;
}

#define OWED_RETRY_BATCH 16

void lock_owed_retry(struct ops_tree *ot)
{
    /* Each file with a reference, so that its release waits for us. */
    struct smb1_file *fs[OWED_RETRY_BATCH];
    size_t n = 0;
    bool more = false;
    pthread_mutex_lock(&ot->lock);
    for (struct smb1_file *f = ot->files; f; f = f->next) {
        if (f->released) /* its CLOSE ends its locks */
            continue;
        pthread_mutex_lock(&f->lock);
        bool owes = f->lock_owed != NULL;
        pthread_mutex_unlock(&f->lock);
        if (!owes)
            continue;
        if (n == OWED_RETRY_BATCH) {
            more = true;
            break;
        }
        f->refs++;
        fs[n++] = f;
    }
    pthread_mutex_unlock(&ot->lock);
    for (size_t i = 0; i < n; i++) {
        struct smb1_file *f = fs[i];
        /* A lock request of the handle under way sends them first itself;
         * the closer never waits for one (it may take a timeout). */
        if (pthread_mutex_trylock(&f->lock_io) == 0) {
            lock_owed_flush(f);
            pthread_mutex_unlock(&f->lock_io);
        } else {
            more = true;
        }
    }
    struct smb1_tree *t = n ? fs[0]->t : NULL;
    int ms = n ? owed_retry_ms(fs[0]) : 0;
    pthread_mutex_lock(&ot->lock);
    for (size_t i = 0; i < n; i++)
        fs[i]->refs--;
    pthread_cond_broadcast(&ot->cond);
    pthread_mutex_unlock(&ot->lock);
    if (more && t)
        wb_owed_retry_later(t, ms);
}

int smb1_lock(struct smb1_file *f, uint64_t off, uint64_t len, int type, bool wait)
{
    CONN_OP(f ? f->t->conn : NULL);
    if (type != F_RDLCK && type != F_WRLCK && type != F_UNLCK)
        return -EINVAL;
    int r = wb_push(f);
    if (r)
        return r;
    int64_t t0 = mux_now_ms();
    r = lock_once(f, off, len, type);
    if (r != -EAGAIN || !wait)
        return r;
    /* A wait is retried from here, never held by the server: it keeps no
     * multiplex slot and has a bound (op_plock.c does the same, with
     * interruption, for POSIX locks): the operation's, so the last try
     * starts when the slowest one yet still fits (Samba makes a repeated
     * refusal wait a while). */
    int64_t end = conn_wait_end(f->t->conn);
    int64_t slowest = mux_now_ms() - t0;
    for (unsigned ms = 5;; ms = ms < 320 ? ms * 2 : 500) {
        int64_t left = end - slowest - mux_now_ms();
        if (left <= 0)
            return -EDEADLK;
        struct timespec ts = {0, (long)(left < ms ? left : ms) * 1000000L};
        nanosleep(&ts, NULL);
        t0 = mux_now_ms();
        r = lock_once(f, off, len, type);
        /* A try the wait's end cut short (a loaded machine made it slower
         * than the slowest yet): the wait gave up, as between tries. */
        if (r == -ETIMEDOUT && mux_now_ms() >= end)
            return -EDEADLK;
        if (r != -EAGAIN)
            return r;
        if (mux_now_ms() - t0 > slowest)
            slowest = mux_now_ms() - t0;
    }
}
