/* Byte-range locks of open files: LOCKING_ANDX, the ranges a handle holds,
 * and taking them again after a reopen. */
#include "ops/op_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/op_wb.h"
#include "wire/ntstatus.h"
#include "wire/smb1_proto.h"

/* ---- LOCKING_ANDX ---- */

struct lock_req {
    uint64_t off, len;
    int type;
    bool large;
};

static ssize_t lock_op(struct smb1_tree *t, uint16_t fid, uint64_t epoch, void *arg)
{
    const struct lock_req *lk = arg;
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
    r = conn_call(t->conn, t, &m, &resp, CONN_FID);
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
        struct lock_req lk = {l->off, l->len, l->shared ? F_RDLCK : F_WRLCK, p.large_files};
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
    struct lock_req lk = {off, len, type, p.large_files};
    int r = (int)file_call(f, lock_op, &lk);
    if (r == 0)
        lock_record(f, off, len, type);
    if (r == -EAGAIN && p.large_files) {
        /* smbd remembers the offset of a handle's last failed lock and
         * holds the next attempt there for 200 ms ("lock spin time") before
         * it fails: sqlite's writers, which retry their lock bytes, then
         * wait on each other by turns. A lock whose range wraps fails at
         * once with another offset, and the next attempt here is answered
         * at once again. */
        struct lock_req wrap = {UINT64_MAX - 1, 4, F_WRLCK, true};
        (void)file_call(f, lock_op, &wrap);
    }
    return r;
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
        if ((r = lock_once(f, off, len, type)) != -EAGAIN)
            return r;
        if (mux_now_ms() - t0 > slowest)
            slowest = mux_now_ms() - t0;
    }
}
