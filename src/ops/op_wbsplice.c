/* Spliced write-behind (wbehind_write_pipe) and the carry.
 *
 * Spliced pieces (wbehind_write_pipe). When FUSE hands a write over in
 * a pipe, the connection does not sign and the pipe's pages are copies
 * nobody changes (a direct-I/O write), a piece goes from that pipe to the
 * socket by splice(2) after its header: no copy in user space. The writer
 * sends it itself (FUSE takes the pipe back when the write returns) and
 * the pump only collects its reply. Only such a piece, sent at once, is
 * spliced: data that waits (held, or queued behind others) is copied.
 * For a piece written again (a reconnect) or completed (a short write),
 * tee(2) first puts a copy of its pages (references, not bytes) in the
 * handle's keep pipe; the pump drops them from there once the piece is
 * answered, oldest first, as the ring retires pieces (kept[i]).
 *
 * The carry. FUSE hands a write(2) of 1 MiB over as two writes (1 MiB
 * less a page, then a page) where a pipe cannot hold 1 MiB and a page,
 * and pieces cut per write were 9 + 1 a MiB, each a request smbd pays
 * for (its CPU goes by requests, not bytes: 612 ms for 512 MiB in 5120
 * requests against 492 ms in 4026 for smbclient's put). So the stream
 * is cut in full pieces (127 KiB) whatever the writes: what is left at
 * the end of a write waits in a pipe of the handle's own, the carry
 * (page references moved out of FUSE's pipe, no copy), for the next
 * write to continue it; the carry's piece leaves once that write filled
 * it, and the write's further full pieces go straight from FUSE's pipe.
 * 8 requests a MiB, as smbclient's. What waits in the carry goes out as a piece of its own
 * when anything must see it (a drain: fsync, close, a read, fstat, a
 * settle from another handle or path, a write that does not continue
 * it), and after WB_CARRY_MS at the latest (the pump). Its failure is
 * kept as a piece's would be: the write that carried it has returned.
 * Writes from memory (whole MiB read from /dev/fuse, signed connections)
 * carry the same way in mcarry, a buffer of one piece (carry_mem;
 * wbehind_write_src): a write from memory continues only such a carry,
 * a spliced write only the pipe's, and any other write sends the carry
 * out first.
 *
 * Locks and the queue: op_wbehind.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/op_wbehind_int.h"
#include "support/clock.h"

/* Closes the carry's pipe and frees mcarry, dropping what they hold;
 * stream held. */
void carry_close(struct file_wbehind *w)
{
    for (int e = 0; e < 2; e++)
        if (w->carry[e] >= 0)
            close(w->carry[e]);
    w->carry[0] = w->carry[1] = -1;
    w->carry_cap = 0;
    free(w->mcarry);
    w->mcarry = NULL;
    w->mcarry_cap = 0;
}

bool carry_mem_room(struct file_wbehind *w, uint32_t cap)
{
    if (w->mcarry_cap >= cap)
        return true;
    pthread_mutex_lock(&w->lock);
    bool empty = !w->carry_len;
    pthread_mutex_unlock(&w->lock);
    if (!empty)
        return false;
    uint8_t *b = malloc(cap);
    if (!b)
        return false;
    free(w->mcarry);
    w->mcarry = b;
    w->mcarry_cap = cap;
    return true;
}

/* Moves the next n bytes of the pipe fd (at off in the file) behind the
 * carry; stream held, w->lock not. Returns the count moved: short, or 0,
 * when the carry's pipe has no room for them or cannot be made. */
static size_t carry_append(struct file_wbehind *w, int fd, size_t n, uint64_t off)
{
    if (w->carry[0] < 0) {
        if (pipe2(w->carry, O_CLOEXEC | O_NONBLOCK) != 0) {
            w->carry[0] = w->carry[1] = -1;
            return 0;
        }
        int sz = fcntl(w->carry[0], F_SETPIPE_SZ, (int)WB_CARRY_BYTES);
        if (sz < 0)
            sz = fcntl(w->carry[0], F_GETPIPE_SZ);
        w->carry_cap = sz > 0 ? (uint32_t)sz / PK_PAGE : 0;
    }
    uint32_t need = pk_slots((uint32_t)n);
    if (w->carry_slots + need > w->carry_cap)
        return 0;
    size_t moved = 0;
    while (moved < n) {
        ssize_t m =
            splice(fd, NULL, w->carry[1], NULL, n - moved, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (m < 0 && errno == EINTR)
            continue;
        if (m <= 0)
            break;
        moved += (size_t)m;
    }
    if (!moved)
        return 0;
    pthread_mutex_lock(&w->lock);
    if (!w->carry_len) {
        w->carry_off = off;
        w->carry_ms = mux_now_ms();
        w->carry_mem = false;
    }
    w->carry_len += (uint32_t)moved;
    w->carry_slots += need;
    file_size_note(w->f, off + moved, false);
    wb_busy(w);
    pthread_mutex_unlock(&w->lock);
    return moved;
}

/* What a write returns before it takes anything: a failure kept, or
 * the write verdict, or about to be given (the oldest piece in flight is
 * a bound old: the pump has not seen it time out yet); w->lock held. */
static int wb_kept(struct file_wbehind *w)
{
    struct smb1_file *f = w->f;
    if (w->err)
        return w->err;
    if (io_wstall_on(f) ||
        (w->nsent && mux_now_ms() - w->sent_ms[w->head] >= conn_request_ms(f->t->conn)))
        return -ETIMEDOUT;
    return 0;
}

/* One spliced piece io (fid of epoch ep) from the pipe fd (slots: what
 * its copy may take in keep): kept, sent by
 * this thread, queued for the pump to collect. Returns 1 when it went, 2
 * when its send failed (queued all the same: the pump writes it again
 * from keep; splice no more), 0 when nothing was taken from fd (splice
 * not possible: the caller copies), or -errno (a failure of an earlier
 * write, reported by the first piece only; nothing taken). */
static int wb_splice_piece(struct file_wbehind *w, int fd, const struct io_req *io, uint32_t slots,
                           uint16_t fid, uint64_t ep, size_t window, bool first)
{
    struct smb1_file *f = w->f;
    int kp;
    /* Room: for one bound at most, as wbehind_write_src. */
    struct timespec dl;
    clock_mono_after(&dl, conn_op_wait_ms(f->t->conn, conn_request_ms(f->t->conn)));
    pthread_mutex_lock(&w->lock);
    for (bool waited = true;;) {
        int r = first ? wb_kept(w) : 0;
        if (!r && !w->direct && w->total + 1 <= window && w->total == w->nsent &&
            !wb_overlaps(w, io->off, io->len)) {
            if ((kp = pk_reserve(&w->keep, slots)) >= 0)
                break;
            if (kp == -2) {
                pthread_mutex_unlock(&w->lock);
                return 0;
            }
        }
        if (!r && !waited)
            r = -ETIMEDOUT;
        if (r) {
            pthread_mutex_unlock(&w->lock);
            return r;
        }
        /* No room (or keep full, or the bytes in flight). */
        waited = wb_room_wait(w, &dl);
    }
    w->direct = true;
    pthread_mutex_unlock(&w->lock);
    struct msg_out req;
    struct conn_ticket tk;
    int g = 0, sent_err = 0;
    bool ok = write_build_tail(&req, fid, ep, io, fd) == 0;
    if (ok && pk_put(&w->keep, kp, fd, io->len)) {
        ok = false;
        msg_out_free(&req);
    }
    if (ok) {
        g = conn_start(f->t->conn, f->t, &req, 1, true, CONN_FID, &tk);
        if (g != 1) {
            /* Not sent, or half (the mux died): keep's copy is the piece,
             * written again by the pump the ordinary way; what is left
             * of it in fd goes, and the rest of the write is copied. */
            sent_err = g < 0 ? g : -EIO;
            if (pipe_skip_n(fd, w->keep.null_fd, io->len - req.tail_sent))
                g = -EPIPE; /* fd is out of step: the write fails */
        }
    }
    pthread_mutex_lock(&w->lock);
    if (ok) {
        size_t at = (w->head + w->total) % WB_RING;
        w->req[at] = req;
        w->io[at] = *io;
        w->io[at].wbuf = NULL;
        w->epoch[at] = ep;
        w->kept[at] = io->len;
        w->ksize[at] = slots;
        w->kpipe[at] = kp;
        w->send_err[at] = g == 1 ? 0 : sent_err;
        if (g == 1)
            w->tk[at] = tk;
        w->sent_ms[at] = mux_now_ms();
        w->total++;
        w->nsent++;
        wb_busy(w);
        file_size_note(f, io->off + io->len, false);
        wb_sent_spliced(w);
    } else {
        pk_release(&w->keep, kp, slots);
    }
    w->direct = false;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return !ok ? 0 : g == 1 ? 1 : g == -EPIPE ? -EIO : 2;
}

int carry_out(struct file_wbehind *w)
{
    pthread_mutex_lock(&w->lock);
    uint32_t c = w->carry_len, slots = w->carry_slots;
    uint64_t at = w->carry_off;
    bool mem = w->carry_mem;
    /* Not busy meanwhile? It is: wb_busy is not told until it is queued. */
    w->carry_len = w->carry_slots = 0;
    pthread_mutex_unlock(&w->lock);
    if (!c)
        return 0;
    struct smb1_file *f = w->f;
    struct conn_params p;
    conn_get_params(f->t->conn, &p);
    struct io_req io = {NULL, NULL, c, at, p.large_files};
    uint16_t fid;
    uint64_t ep;
    int r = 0;
    if (mem) {
        /* Copied into a piece of its own (never carried again: a write
         * from mcarry itself takes no carry). */
        ssize_t n = wbehind_write_src(f, w->mcarry, -1, c, at, true, NULL);
        r = n < 0 ? (int)n : 0;
    } else if ((r = file_get_fid(f, &fid, &ep)) == 0) {
        r = wb_splice_piece(w, w->carry[0], &io, slots, fid, ep, wb_window(&p), false);
        if (r == 0) {
            /* Not spliced (no room in keep for ever): copied. */
            ssize_t n = wbehind_write_src(f, NULL, w->carry[0], c, at, true, NULL);
            r = n < 0 ? (int)n : 0;
        } else if (r > 0) {
            r = 0;
        }
    }
    pthread_mutex_lock(&w->lock);
    if (r && !w->err)
        w->err = r;
    wb_busy(w);
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    if (r) {
        carry_close(w); /* what is left of it: out of step */
        char path[256];
        file_path_copy(f, path, sizeof(path));
        log_warn(conn_log(f->t->conn), "write-behind of %u bytes at %llu of %s failed: %s", c,
                 (unsigned long long)at, path, strerror(-r));
    }
    return r;
}

/* The spliced write of len bytes of the pipe fd at off (fid of epoch
 * ep), through the carry in pieces of chunk (see the top): a full piece
 * goes straight from fd when nothing is carried; stream held. Returns the
 * count taken (short when neither can take more: the caller writes the
 * rest), or -errno. */
static ssize_t carry_write(struct file_wbehind *w, int fd, size_t len, uint64_t off, uint32_t chunk,
                           uint16_t fid, uint64_t ep, size_t window, bool large)
{
    pthread_mutex_lock(&w->lock);
    int r = wb_kept(w);
    bool cont = w->carry_len && !w->carry_mem && w->carry_off + w->carry_len == off;
    pthread_mutex_unlock(&w->lock);
    if (r || (!cont && (r = carry_out(w))))
        return r;
    size_t done = 0;
    while (done < len) {
        if (!w->carry_len && len - done >= chunk) {
            struct io_req io = {NULL, NULL, chunk, off + done, large};
            int g = wb_splice_piece(w, fd, &io, pk_slots(chunk), fid, ep, window, false);
            if (g < 0)
                return g;
            if (g == 0)
                break;
            done += chunk;
            if (g == 2)
                break;
            continue;
        }
        size_t want = len - done;
        if (want > chunk - w->carry_len)
            want = chunk - w->carry_len;
        size_t m = carry_append(w, fd, want, off + done);
        done += m;
        if (m == want && w->carry_len < chunk)
            break; /* the end of the write: it waits for the next one */
        if (!m && !w->carry_len)
            break; /* no carry: the caller's */
        if ((r = carry_out(w)))
            return r;
    }
    return (ssize_t)done;
}

ssize_t wbehind_write_pipe(struct smb1_file *f, int fd, size_t len, uint64_t off, bool splice)
{
    struct conn_params p;
    conn_get_params(f->t->conn, &p);
    uint32_t chunk = chunk_size(&p, true);
    size_t window = wb_window(&p);
    struct file_wbehind *w = NULL;
    if (splice && window >= 2 && len && off <= (uint64_t)INT64_MAX - len &&
        (p.large_files || off + len <= 0xFFFFFFFFu) && conn_splice_ok(f->t->conn))
        w = wb_get(f, true);
    uint16_t fid;
    uint64_t ep;
    if (!w || file_get_fid(f, &fid, &ep))
        return wbehind_write_src(f, NULL, fd, len, off, false, NULL);
    pthread_mutex_lock(&w->stream);
    ssize_t r = carry_write(w, fd, len, off, chunk, fid, ep, window, p.large_files);
    size_t done = r > 0 ? (size_t)r : 0;
    /* What the carry could not take: pieces straight from fd, even and
     * page-aligned as smb1_write cuts them. */
    size_t pieces = (len - done + chunk - 1) / chunk;
    size_t even = pieces ? ((len - done + pieces - 1) / pieces + 4095) & ~(size_t)4095 : chunk;
    if (even < chunk)
        chunk = (uint32_t)even;
    while (r >= 0 && done < len) {
        uint32_t n = len - done < chunk ? (uint32_t)(len - done) : chunk;
        struct io_req io = {NULL, NULL, n, off + done, p.large_files};
        int g = wb_splice_piece(w, fd, &io, pk_slots(n), fid, ep, window, done == 0);
        if (g < 0)
            r = g;
        if (g <= 0)
            break;
        done += n;
        if (g == 2)
            break;
    }
    if (r >= 0 && done < len) {
        /* The rest cannot be spliced: copied into requests. */
        ssize_t n = wbehind_write_src(f, NULL, fd, len - done, off + done, true, NULL);
        r = n < 0 ? n : (ssize_t)(done + (size_t)n);
    } else if (r >= 0) {
        r = (ssize_t)len;
    }
    pthread_mutex_lock(&w->lock);
    /* A carry waits: the pump sends it in time. */
    bool pumped = !w->carry_len || wb_pump_start(w);
    if (w->carry_len && w->pump_idle)
        pthread_cond_signal(&w->pump_cond);
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    if (!pumped) {
        int rc = carry_out(w); /* no thread for it: now */
        if (rc && r >= 0)
            r = rc;
    }
    pthread_mutex_unlock(&w->stream);
    return r;
}
