/* Write-behind of an open file (smb1_write_behind).
 *
 * Why. A program writing sequentially through FUSE without a writeback
 * cache waits for each write(2): the kernel sends one 1 MiB request and
 * the next only after our answer. Answering after the server's replies
 * drained the pipeline at every MiB; answering after the send still put
 * the socket write (and the MACs) on that serial path. So a write here
 * is cut into WRITE_ANDX as smb1_write cuts it, built (the one copy of
 * the data, into the requests) and queued, and the call returns. A pump
 * thread per handle sends the queued pieces (several at once, signed in
 * one md5_multi pass) and collects their replies, oldest first; it waits
 * a while for more and ends when there is nothing to do.
 *
 * Errors. A piece that failed for the connection's sake (a reconnect, a
 * tree or session the server dropped) is written again the ordinary way
 * (file_call: reopen and retry), as smb1_write would; a failure that
 * stays is logged and kept, and every later write, read, fstat, ftruncate
 * or lock of the handle returns it, until smb1_flush (fsync) or the close
 * (smb1_flush_held, smb1_close) returns it and forgets it. Not a write:
 * the kernel cuts a write(2) into several FUSE writes (max_write), and
 * when one after the first fails it returns the count of those before and
 * drops the error; a failure forgotten there was lost (fs_wbehind: write,
 * fsync and close of 8 MiB onto 2 MiB of room all succeeded).
 *
 * Bounds. A piece's reply is late one request timeout after it went out
 * (conn_finish: not after the pump began to wait for it), and the first
 * piece that times out fails the queue (qerr): the server is not
 * answering writes, so the pieces not sent yet fail at once with it and
 * nothing is written again the ordinary way (each retry would wait a
 * timeout more). A writer waiting for room and a drain that reports
 * nothing (fsync, a read through the handle, a settle) give up one
 * request timeout after they began (-ETIMEDOUT): whoever queues on the
 * file waits one bound of its own, not one per piece or per waiter ahead.
 * close(2) and the CLOSE wait for every piece (each bounded as above).
 * The kernel sends one write or fsync of a file at a time, so programs
 * queued there would still wait a bound each behind one another: once a
 * piece went its whole bound unanswered, writes on the tree that start
 * within a probe interval (at least 1 s) fail at once with ETIMEDOUT (the
 * write verdict, op_io.c).
 *
 * Order. Pieces go out in the order written. The server may run the
 * requests of a connection in parallel (Samba's aio), so pieces in flight
 * together never share a byte: a write onto bytes still queued or in
 * flight waits for them first. Everything that reads or changes the file
 * through this handle waits for the queue (file_wb_drain); other handles
 * and paths are settled by the core's ordering rule (op_wb.c, ops_settle).
 *
 * Spliced pieces and the carry: op_wbsplice.c.
 *
 * Collecting. One thread at a time collects the oldest piece's reply
 * (collecting): the pump, or a writer that needs room once all that is
 * queued went out (wb_reap), which reads the socket itself (mux_finish
 * leads) instead of waiting for the pump to collect and wake it: on a
 * streaming write the replies wait in the socket until the writer needs
 * their room, and it reads them in a row, mostly without sleeping, where
 * the pump woke for each. So the pump leaves the collecting to writers
 * for WB_REAP_MS after one last spliced piece sent or reply collected by
 * a writer (reap_ms), unless someone waits who does not collect (hurry: a
 * drain, a writer whose pieces wait to be sent), the handle closes (stop),
 * or the oldest piece needs its work: a writer collects only a clean
 * success (the whole piece written) and leaves any other outcome in
 * reaped[] for the pump, which retries or keeps it as before
 * (wb_outcome), so every rule above holds whoever read the reply.
 *
 * Locks: w->stream (taken before w->lock, never by the pump but with
 * trylock) lets one thread at a time change the carry or send a spliced
 * write; it is held across sends, never across a wait for a reply the
 * pump must collect. w->lock protects the queue's indices, the pump's
 * state, err and the carry's numbers; it is never held across a round
 * trip. The pump owns the pieces it is sending or collecting; the writer
 * only appends behind them. One writer at a time sends a spliced piece
 * (direct), and only when nothing queued waits to be sent: the ring stays
 * in order. The keep pipe is written by that writer (under direct) and
 * read by the pump, without w->lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/op_wbehind_int.h"
#include "support/clock.h"
#include "wire/ntstatus.h"

int pipe_take(int fd, void *dst, size_t n)
{
    return pipe_read_n(fd, dst, n);
}

/* Piece i's copy in keep (i is the oldest), read into a new buffer; NULL
 * when keep has lost track or no memory. */
static uint8_t *keep_take(struct file_wbehind *w, size_t i)
{
    uint8_t *b = malloc(w->kept[i]);
    if (b && pk_take(&w->keep, w->kpipe[i], b, w->kept[i])) {
        free(b);
        b = NULL;
    }
    w->kept[i] = 0;
    return b;
}

/* Drops what keep holds of piece i, the oldest. */
static void keep_drop(struct file_wbehind *w, size_t i)
{
    if (w->kept[i])
        (void)pk_drop(&w->keep, w->kpipe[i], w->kept[i]);
    w->kept[i] = 0;
}

/* f is busy for the settles while anything is queued, on its way or
 * carried; w->lock held. */
void wb_busy(struct file_wbehind *w)
{
    bool b = w->total || w->carry_len;
    if (b != w->busy) {
        w->busy = b;
        wb_behind_busy(w->f, b);
    }
}

/* Piece i's reply (the caller collects it): the count written, or
 * -errno; *again when the tree or the session went away under the
 * handle (conn_call sets the connection up again for these). */
static ssize_t wb_reply(struct file_wbehind *w, size_t i, bool *again)
{
    struct msg_in resp;
    int r = conn_finish(w->f->t->conn, &w->tk[i], &w->req[i], &resp);
    ssize_t got = r ? r : file_write_decode(&resp, w->io[i].len);
    *again = false;
    if (r == 0) {
        *again = resp.status == NT_STATUS_NETWORK_NAME_DELETED ||
                 resp.status == NT_STATUS_USER_SESSION_DELETED ||
                 resp.status == NT_STATUS_NETWORK_SESSION_EXPIRED;
        msg_in_free(&resp);
    }
    return got;
}

/* The outcome of piece i, which went out (sent) or could not go (!sent):
 * its reply, or an ordinary write of it when the connection let it down.
 * No lock held: the pump owns the piece. Returns 0 or -errno. */
static int wb_outcome(struct file_wbehind *w, size_t i, bool sent, int send_err, bool retry)
{
    struct smb1_file *f = w->f;
    struct io_req *io = &w->io[i];
    if (w->send_err[i]) {
        /* A spliced piece the writer could not send: no ticket. */
        sent = false;
        send_err = w->send_err[i];
        w->send_err[i] = 0;
    }
    ssize_t got = send_err;
    bool again = !sent;
    if (sent && w->reaped[i]) {
        /* A writer took its reply (wb_reap). */
        got = w->rgot[i];
        again = w->ragain[i];
        w->reaped[i] = false;
    } else if (sent) {
        got = wb_reply(w, i, &again);
    }
    bool redo = got < 0 && retry && (again || file_should_retry(f, w->epoch[i], (int)got));
    uint8_t *copy = NULL;
    bool again_whole = redo || (retry && got >= 0 && (size_t)got < io->len);
    if ((w->kept[i] || w->loan[i]) && again_whole) {
        /* A spliced piece: its data from keep; a lent one's from where it
         * lies (op_wblent.c): to send again. */
        io->wbuf = copy = w->kept[i] ? keep_take(w, i) : wb_lent_flat(&w->req[i], io->len);
        if (!copy) {
            got = -EIO;
            redo = false;
        }
    }
    if (redo && copy) {
        char path[256];
        file_path_copy(f, path, sizeof(path));
        log_warn(conn_log(f->t->conn), "write-behind of %u bytes at %llu of %s sent again from %s",
                 io->len, (unsigned long long)io->off, path,
                 w->loan[i] ? "the buffer it was lent" : "its kept copy");
    }
    if (redo)
        got = file_call(f, write_op, io);
    /* A short write: the rest the ordinary way. */
    size_t done = got > 0 ? (size_t)got : 0;
    while (got >= 0 && done < io->len && retry && io->wbuf) {
        struct io_req rest = {NULL, io->wbuf + done, io->len - (uint32_t)done, io->off + done,
                              io->large};
        got = file_call(f, write_op, &rest);
        if (got == 0)
            got = -EIO;
        if (got > 0)
            done += (size_t)got;
    }
    if (got >= 0 && done < io->len)
        got = -EIO; /* short, and nothing to complete it with */
    keep_drop(w, i);
    if (copy) {
        free(copy);
        io->wbuf = NULL;
    }
    io_wstall_note(f, got >= 0 ? 0 : (int)got);
    if (got >= 0)
        return 0;
    char path[256];
    file_path_copy(f, path, sizeof(path));
    log_warn(conn_log(f->t->conn), "write-behind of %u bytes at %llu of %s failed: %s", io->len,
             (unsigned long long)io->off, path, strerror((int)-got));
    return (int)got;
}

/* Done with the oldest piece, whose outcome was r; w->lock held. */
static void wb_retire(struct file_wbehind *w, int r)
{
    struct msg_out *m = &w->req[w->head];
    if (w->nspare < WB_RING && m->buf && !m->tail_len) {
        w->spare[w->nspare] = m->buf;
        w->spare_cap[w->nspare++] = m->cap;
        m->buf = NULL;
    }
    msg_out_free(m);
    wb_lent_done(w, w->head);
    if (w->ksize[w->head])
        pk_release(&w->keep, w->kpipe[w->head], w->ksize[w->head]);
    w->ksize[w->head] = 0;
    w->head = (w->head + 1) % WB_RING;
    w->total--;
    if (w->nsent)
        w->nsent--;
    if (r && !w->err)
        w->err = r;
    if (r == -ETIMEDOUT && !w->qerr)
        w->qerr = r;
    if (w->total == 0)
        w->qerr = 0;
    wb_busy(w);
    pthread_cond_broadcast(&w->cond);
}

/* The pump waits for work on pump_cond up to ms; w->lock held. false
 * when the time ran out. */
static bool pump_wait(struct file_wbehind *w, int64_t ms)
{
    struct timespec dl;
    clock_mono_after(&dl, (int)ms);
    return pthread_cond_timedwait(&w->pump_cond, &w->lock, &dl) != ETIMEDOUT;
}

/* How long the pump leaves the oldest piece (in flight) to the writers
 * (see Collecting at the top); w->lock held. */
static int64_t pump_defer_ms(const struct file_wbehind *w)
{
    size_t h = w->head;
    if (w->stop || w->hurry || w->inline_pump || w->qerr || w->reaped[h] || w->send_err[h])
        return 0;
    if (w->reapers)
        return WB_REAP_MS; /* a writer waits to collect it */
    int64_t left = w->reap_ms + WB_REAP_MS - mux_now_ms();
    return left > 0 ? left : 0;
}

/* A writer that needs room collects the oldest piece itself when it is
 * in flight and nobody else collects it (see Collecting); w->lock held,
 * dropped meanwhile. false when it could not. */
static bool wb_reap(struct file_wbehind *w)
{
    size_t i = w->head;
    if (!w->nsent || w->collecting || w->reaped[i] || w->send_err[i] || w->qerr)
        return false;
    w->collecting = true;
    pthread_mutex_unlock(&w->lock);
    bool again = false;
    ssize_t got = wb_reply(w, i, &again);
    bool clean = got >= 0 && (size_t)got == w->io[i].len && !again;
    if (clean) {
        keep_drop(w, i);
        io_wstall_note(w->f, 0);
    }
    pthread_mutex_lock(&w->lock);
    w->collecting = false;
    w->reap_ms = mux_now_ms();
    w->writer_reaps++;
    if (clean) {
        wb_retire(w, 0);
    } else {
        /* The pump finishes it (a retry, a failure kept). */
        w->reaped[i] = true;
        w->rgot[i] = (int)got; /* -errno, or less than a piece */
        w->ragain[i] = again;
        pthread_cond_signal(&w->pump_cond);
    }
    return true;
}

void wb_sent_spliced(struct file_wbehind *w)
{
    w->reap_ms = mux_now_ms();
    if (!w->pump_on)
        wb_kick(w);
    else if (w->pump_idle)
        pthread_cond_signal(&w->pump_cond);
}

static void *wb_pump(void *arg)
{
    struct file_wbehind *w = arg;
    struct smb1_file *f = w->f;
    if (!w->inline_pump)
        (void)pthread_setname_np(pthread_self(), "smbfuse-pump");
    pthread_mutex_lock(&w->lock);
    for (;;) {
        if (w->qerr && w->total > w->nsent && w->nsent == 0) {
            /* The queue failed: what was not sent fails with it. */
            wb_retire(w, w->qerr);
            continue;
        }
        if (w->total > w->nsent && !w->qerr) {
            /* Send what is queued: one run up to the ring's end. */
            size_t i = (w->head + w->nsent) % WB_RING;
            size_t k = w->total - w->nsent;
            if (k > WB_RING - i)
                k = WB_RING - i;
            bool wait = w->nsent == 0;
            pthread_mutex_unlock(&w->lock);
            int g = conn_start(f->t->conn, f->t, &w->req[i], k, wait, CONN_FID, &w->tk[i]);
            pthread_mutex_lock(&w->lock);
            if (g > 0) {
                int64_t now = mux_now_ms();
                for (size_t j = 0; j < (size_t)g; j++)
                    w->sent_ms[(i + j) % WB_RING] = now;
                w->nsent += (size_t)g;
                continue;
            }
            if (g != -EAGAIN || wait) {
                /* It cannot go out (the connection is going): the pieces
                 * before it first, then it the ordinary way. */
                while (w->nsent) {
                    if (w->collecting) {
                        pump_wait(w, WB_REAP_MS);
                        continue;
                    }
                    bool retry = !w->qerr;
                    w->collecting = true;
                    pthread_mutex_unlock(&w->lock);
                    int r = wb_outcome(w, w->head, true, 0, retry);
                    pthread_mutex_lock(&w->lock);
                    w->collecting = false;
                    wb_retire(w, r);
                }
                if (w->qerr)
                    continue;
                pthread_mutex_unlock(&w->lock);
                int r = wb_outcome(w, w->head, false, g, true);
                pthread_mutex_lock(&w->lock);
                wb_retire(w, r);
                continue;
            }
            /* No slot free while ours are in flight: collect one. */
        }
        if (w->nsent) {
            /* Collected by a writer meanwhile, or left to one for now. */
            int64_t defer = w->collecting ? WB_REAP_MS : pump_defer_ms(w);
            if (defer > 0) {
                pump_wait(w, defer);
                continue;
            }
            bool retry = !w->qerr;
            w->collecting = true;
            pthread_mutex_unlock(&w->lock);
            int r = wb_outcome(w, w->head, true, 0, retry);
            pthread_mutex_lock(&w->lock);
            w->collecting = false;
            wb_retire(w, r);
            continue;
        }
        if (w->carry_len && !w->inline_pump) {
            /* Nothing else to do: the carry goes out when it is due, or
             * at once at the close. A writer holding stream sends it or
             * carries on with it (and wakes us). */
            int64_t wait = w->carry_ms + WB_CARRY_MS - mux_now_ms();
            if (w->stop || wait <= 0) {
                pthread_mutex_unlock(&w->lock);
                bool got = pthread_mutex_trylock(&w->stream) == 0;
                if (got) {
                    (void)carry_out(w); /* its failure is kept in err */
                    pthread_mutex_unlock(&w->stream);
                }
                pthread_mutex_lock(&w->lock);
                if (got)
                    continue;
                wait = 1;
            }
            w->pump_idle = true;
            pump_wait(w, wait);
            w->pump_idle = false;
            continue;
        }
        if (w->stop)
            break;
        w->pump_idle = true;
        bool idle = !pump_wait(w, WB_PUMP_IDLE_MS);
        w->pump_idle = false;
        if (idle && w->total == 0 && !w->carry_len)
            break;
    }
    /* Idle: the buffers go back (a handle left open keeps no MiBs), and
     * the keep's pipes (empty: every piece retired; a keep gone bad is
     * good again). */
    while (w->nspare)
        free(w->spare[--w->nspare]);
    if (!w->direct)
        pk_close(&w->keep);
    if (pthread_mutex_trylock(&w->stream) == 0) {
        if (!w->carry_len)
            carry_close(w);
        pthread_mutex_unlock(&w->stream);
    }
    w->pump_on = false;
    w->pump_join = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

struct file_wbehind *wb_get(struct smb1_file *f, bool create)
{
    pthread_mutex_lock(&f->lock);
    struct file_wbehind *w = f->wbh;
    if (!w && create && (w = calloc(1, sizeof(*w)))) {
        w->f = f;
        pk_init(&w->keep, WB_KEEP_BYTES);
        w->carry[0] = w->carry[1] = -1;
        pthread_mutex_init(&w->stream, NULL);
        pthread_mutex_init(&w->lock, NULL);
        pthread_condattr_t a;
        pthread_condattr_init(&a);
        pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
        pthread_cond_init(&w->cond, &a);
        pthread_cond_init(&w->pump_cond, &a);
        pthread_condattr_destroy(&a);
        f->wbh = w;
    }
    pthread_mutex_unlock(&f->lock);
    return w;
}

/* Joins a pump that ended; w->lock held. */
static void wb_join_locked(struct file_wbehind *w)
{
    if (w->pump_join) {
        w->pump_join = false;
        pthread_join(w->pump, NULL); /* it has left the lock for good */
    }
}

/* Waits on w->cond until dl (NULL: for ever); w->lock held. false when
 * dl has passed. */
bool wb_wait(struct file_wbehind *w, const struct timespec *dl)
{
    if (!dl) {
        pthread_cond_wait(&w->cond, &w->lock);
        return true;
    }
    return pthread_cond_timedwait(&w->cond, &w->lock, dl) != ETIMEDOUT;
}

/* wb_wait for a thread that waits for the pump to collect (it does not
 * defer to writers meanwhile). */
static bool wb_wait_hurry(struct file_wbehind *w, const struct timespec *dl)
{
    w->hurry++;
    pthread_cond_signal(&w->pump_cond);
    bool r = wb_wait(w, dl);
    w->hurry--;
    return r;
}

bool wb_room_wait(struct file_wbehind *w, const struct timespec *dl)
{
    if (!w->direct && w->total == w->nsent && wb_reap(w))
        return !clock_mono_passed(dl);
    if (!w->direct && w->collecting && w->total == w->nsent) {
        /* The pump collects it: it then leaves the next to us. */
        w->reapers++;
        bool r = wb_wait(w, dl);
        w->reapers--;
        return r;
    }
    return wb_wait_hurry(w, dl);
}

/* Waits for f's queue to empty (all: for every piece; else for one bound
 * at most) and returns the failure kept, forgotten when take (the caller
 * is fsync or close: the program hears what they return). */
static int wb_drain(struct smb1_file *f, bool all, bool take, bool streamed)
{
    struct file_wbehind *w = wb_get(f, false);
    if (!w)
        return 0;
    if (!streamed) {
        /* What the carry holds first (its failure is kept in err). */
        pthread_mutex_lock(&w->stream);
        (void)carry_out(w);
        pthread_mutex_unlock(&w->stream);
    }
    struct timespec dl;
    clock_mono_after(&dl, conn_op_wait_ms(f->t->conn, conn_request_ms(f->t->conn)));
    pthread_mutex_lock(&w->lock);
    while (w->total) {
        if (!wb_wait_hurry(w, all ? NULL : &dl) && w->total) {
            pthread_mutex_unlock(&w->lock);
            return -ETIMEDOUT;
        }
    }
    int r = w->err;
    if (take)
        w->err = 0;
    pthread_mutex_unlock(&w->lock);
    return r;
}

int file_wb_drain(struct smb1_file *f, bool report)
{
    return wb_drain(f, report, report, false);
}

int file_wb_sync(struct smb1_file *f)
{
    return wb_drain(f, false, true, false);
}

void file_wb_free(struct smb1_file *f)
{
    struct file_wbehind *w = f->wbh;
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_broadcast(&w->cond);
    pthread_cond_signal(&w->pump_cond);
    while (w->total || w->pump_on || w->carry_len) {
        if (!w->pump_on && w->carry_len) {
            /* No pump to send it (none could start): this thread. */
            pthread_mutex_unlock(&w->lock);
            pthread_mutex_lock(&w->stream);
            (void)carry_out(w);
            pthread_mutex_unlock(&w->stream);
            pthread_mutex_lock(&w->lock);
            continue;
        }
        pthread_cond_wait(&w->cond, &w->lock);
    }
    wb_join_locked(w);
    pthread_mutex_unlock(&w->lock);
    while (w->nspare)
        free(w->spare[--w->nspare]);
    pk_close(&w->keep);
    carry_close(w);
    pthread_cond_destroy(&w->cond);
    pthread_cond_destroy(&w->pump_cond);
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->stream);
    free(w);
    f->wbh = NULL;
}

/* Pieces were queued: the pump takes them (started when none runs);
 * w->lock held. */
/* Starts a pump thread when none runs; w->lock held. false when none
 * could start. */
bool wb_pump_start(struct file_wbehind *w)
{
    if (w->pump_on)
        return true;
    wb_join_locked(w);
    w->pump_on = pthread_create(&w->pump, NULL, wb_pump, w) == 0;
    return w->pump_on;
}

void wb_kick(struct file_wbehind *w)
{
    if (w->pump_on) {
        pthread_cond_signal(&w->pump_cond);
        return;
    }
    if (!wb_pump_start(w)) {
        w->pump_on = true;
        /* No thread: this one does the pump's work, now (not the
         * carry's: whoever holds stream sees to it). */
        w->stop = true;
        w->inline_pump = true;
        pthread_mutex_unlock(&w->lock);
        (void)wb_pump(w);
        pthread_mutex_lock(&w->lock);
        w->inline_pump = false;
        w->stop = false;
        w->pump_join = false; /* there is no thread to join */
    }
}

bool wb_overlaps(const struct file_wbehind *w, uint64_t off, size_t len)
{
    for (size_t k = 0; k < w->total; k++) {
        const struct io_req *io = &w->io[(w->head + k) % WB_RING];
        if (io->off < off + len && off < io->off + io->len)
            return true;
    }
    return false;
}

/* Pieces queued or in flight per handle: at most half the server's
 * slots and WB_MAX_PIECES. */
size_t wb_window(const struct conn_params *p)
{
    return p->max_mpx / 2 < WB_MAX_PIECES ? p->max_mpx / 2 : WB_MAX_PIECES;
}

/* Reads the pipe fd's next len bytes into a buffer and writes them the
 * ordinary way (the paths where the queue cannot take them). */
static ssize_t write_pipe_copy(struct smb1_file *f, int fd, size_t len, uint64_t off)
{
    uint8_t *b = malloc(len ? len : 1);
    if (!b)
        return -ENOMEM;
    int r = pipe_take(fd, b, len);
    ssize_t n = r ? r : io_write(f, b, len, off);
    free(b);
    return n;
}

/* wbehind_write of buf, or (buf NULL) of the next len bytes of the pipe
 * fd, read straight into the requests. streamed: the caller holds
 * stream. A write from memory continues the carry in memory and leaves
 * its own there (op_wbsplice.c, The carry); any other sends it first. */
ssize_t wbehind_write_src(struct smb1_file *f, const void *buf, int fd, size_t len, uint64_t off,
                          bool streamed, struct smb1_loan *loan)
{
    struct conn_params p;
    conn_get_params(f->t->conn, &p);
    uint32_t chunk = chunk_size(&p, true);
    size_t window = wb_window(&p);
    size_t pieces = len ? (len + chunk - 1) / chunk : 0;
    struct file_wbehind *w = window >= 2 && pieces && pieces <= window ? wb_get(f, true) : NULL;
    if (!w || off > (uint64_t)INT64_MAX - len || (!p.large_files && off + len > 0xFFFFFFFFu)) {
        int rw = wb_drain(f, true, false, streamed); /* kept: see Errors at the top */
        return rw ? rw : buf ? io_write(f, buf, len, off) : write_pipe_copy(f, fd, len, off);
    }
    if (!streamed) {
        /* Behind what the carry holds: it was written before. */
        pthread_mutex_lock(&w->stream);
        ssize_t n = wbehind_write_src(f, buf, fd, len, off, true, loan);
        pthread_mutex_unlock(&w->stream);
        return n;
    }
    /* A write from memory cuts the stream in full pieces through the
     * carry (op_wbsplice.c, The carry): it takes what mcarry holds when it
     * continues it, and leaves what is past its last full piece there. */
    bool carries = buf && buf != w->mcarry && (len + chunk - 1) / chunk + 1 <= window &&
                   carry_mem_room(w, chunk);
    pthread_mutex_lock(&w->lock);
    uint32_t held = carries && w->carry_len && w->carry_mem && w->carry_off + w->carry_len == off
                        ? w->carry_len
                        : 0;
    pthread_mutex_unlock(&w->lock);
    int rc = held ? 0 : carry_out(w);
    if (rc)
        return rc;
    size_t tail = carries && (held || len >= chunk) ? (held + len) % chunk : 0;
    bool whole = held || tail; /* full pieces, from off - held */
    uint64_t start = off - held;
    size_t body = held + len - tail;
    pieces = (body + chunk - 1) / chunk;
    /* Room, and nothing queued on the same bytes: for one bound at most. */
    struct timespec dl;
    clock_mono_after(&dl, conn_op_wait_ms(f->t->conn, conn_request_ms(f->t->conn)));
    pthread_mutex_lock(&w->lock);
    /* The write verdict, or about to be given: the oldest piece in
     * flight is a bound old (the pump has not seen it time out yet). */
    bool stalled = io_wstall_on(f) ||
                   (w->nsent && mux_now_ms() - w->sent_ms[w->head] >= conn_request_ms(f->t->conn));
    while (!w->err && !stalled && pieces &&
           (w->direct || w->total + pieces > window || wb_overlaps(w, start, body))) {
        if (!wb_room_wait(w, &dl))
            break;
    }
    int r = w->err; /* kept: see Errors at the top */
    if (!r && stalled)
        r = -ETIMEDOUT;
    if (!r && pieces && (w->direct || w->total + pieces > window || wb_overlaps(w, start, body)))
        r = -ETIMEDOUT;
    uint8_t *spare[WB_MAX_PIECES];
    size_t spare_cap[WB_MAX_PIECES];
    /* A lent write's pieces send its data from where it lies (op_wblent.c):
     * their buffers hold a header and what the carry gives. */
    bool lent = wb_lent_ok(f, buf, loan);
    for (size_t i = 0; i < pieces; i++) {
        spare[i] = w->nspare && !lent ? w->spare[--w->nspare] : NULL;
        spare_cap[i] = spare[i] ? w->spare_cap[w->nspare] : 0;
    }
    pthread_mutex_unlock(&w->lock);
    if (r) {
        for (size_t i = 0; i < pieces; i++)
            free(spare[i]);
        return r;
    }
    uint16_t fid;
    uint64_t ep;
    if ((r = file_get_fid(f, &fid, &ep))) {
        for (size_t i = 0; i < pieces; i++)
            free(spare[i]);
        return r;
    }
    /* Even, page-aligned pieces, as smb1_write cuts them; full ones
     * through the carry. */
    size_t even = pieces ? ((body + pieces - 1) / pieces + 4095) & ~(size_t)4095 : chunk;
    if (!whole && even < chunk)
        chunk = (uint32_t)even;
    struct msg_out req[WB_MAX_PIECES];
    struct io_req io[WB_MAX_PIECES];
    size_t k = 0;
    for (size_t done = 0; done < body; done += chunk, k++) {
        uint32_t n = body - done < chunk ? (uint32_t)(body - done) : chunk;
        /* The first piece of a write that continues the carry: its bytes,
         * then the write's. */
        uint32_t from_carry = done < held ? held - (uint32_t)done : 0;
        const uint8_t *src = buf && !from_carry ? (const uint8_t *)buf + (done - held) : NULL;
        io[k] = (struct io_req){NULL, src, n, start + done, p.large_files};
        bool lent_k = lent && from_carry < n;
        if (lent_k)
            r = write_build_lent(&req[k], fid, ep, &io[k], from_carry,
                                 (const uint8_t *)buf + (done + from_carry - held));
        else
            r = write_build_buf(&req[k], fid, ep, &io[k], spare[k], spare_cap[k]);
        spare[k] = NULL; /* the request's now, or freed */
        uint32_t in_buf = lent_k ? from_carry : n;
        uint8_t *data = r == 0 ? req[k].w.buf + req[k].w.pos - in_buf : NULL;
        if (data && from_carry) {
            memcpy(data, w->mcarry, from_carry);
            if (!lent_k)
                memcpy(data + from_carry, buf, n - from_carry);
        }
        if (r == 0 && !buf && (r = pipe_take(fd, data, n)))
            msg_out_free(&req[k]);
        if (r) {
            for (size_t i = k + 1; i < pieces; i++)
                free(spare[i]);
            while (k)
                msg_out_free(&req[--k]);
            return r;
        }
        /* From here on the data is the request's own copy (a lent
         * piece's is not in one place: wb_lent_flat when it goes again). */
        io[k].wbuf = lent_k ? NULL : req[k].w.buf + req[k].w.pos - n;
    }
    for (size_t i = k; i < pieces; i++)
        free(spare[i]);
    pthread_mutex_lock(&w->lock);
    /* Another thread's write may have come meanwhile. */
    while (k && (w->direct || w->total + k > window || wb_overlaps(w, start, body))) {
        if (!wb_wait_hurry(w, &dl) &&
            (w->direct || w->total + k > window || wb_overlaps(w, start, body))) {
            pthread_mutex_unlock(&w->lock);
            for (size_t i = 0; i < k; i++)
                msg_out_free(&req[i]);
            return -ETIMEDOUT;
        }
    }
    for (size_t i = 0; i < k; i++) {
        size_t at = (w->head + w->total + i) % WB_RING;
        w->req[at] = req[i];
        w->io[at] = io[i];
        w->epoch[at] = ep;
        if (req[i].tail_mem)
            wb_lent_hold(w, at, loan);
    }
    w->total += k;
    if (carries) {
        /* What is past the last full piece: carried (mcarry is ours under
         * stream; the pump only sends it, holding stream). */
        if (tail) {
            uint32_t keep = held + len < chunk ? held : 0; /* all carried: it grows */
            memcpy(w->mcarry + keep, (const uint8_t *)buf + len - (tail - keep), tail - keep);
            if (!keep || !w->carry_len)
                w->carry_ms = mux_now_ms();
        }
        w->carry_len = (uint32_t)tail;
        w->carry_off = off + len - tail;
        w->carry_mem = true;
        w->carry_slots = 0;
    }
    wb_busy(w);
    file_size_note(f, off + len, false);
    if (k)
        wb_kick(w);
    /* A carry waits: the pump sends it in time (or, with no thread for
     * it, this one, now). */
    bool pumped = !w->carry_len || wb_pump_start(w);
    if (w->carry_len && w->pump_idle)
        pthread_cond_signal(&w->pump_cond);
    pthread_mutex_unlock(&w->lock);
    if (!pumped && (rc = carry_out(w)))
        return rc;
    return (ssize_t)len;
}

ssize_t wbehind_write(struct smb1_file *f, const void *buf, size_t len, uint64_t off,
                      struct smb1_loan *loan)
{
    return wbehind_write_src(f, buf, -1, len, off, false, loan);
}
