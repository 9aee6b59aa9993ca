/* Calls through the multiplex-ID dispatcher: waiting for the replies of
 * a request, checking their signatures, and the multi-part transaction
 * exchange (mux.c has the design). */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "link/md5_multi.h"
#include "link/nbt.h"
#include "link/obs.h"
#include "wire/ntstatus.h"
#include "link/rxpool.h"
#include "wire/smb1_proto.h"
#include "link/mux_int.h"
#include "support/clock.h"

/* Caller holds m->lock: the waiter of req gives up; the request stays in
 * the list, so that its MID is not reused while a late reply may come
 * (the reader or teardown frees it). */
static void abandon_locked(struct mux *m, struct mux_req *req)
{
    req->abandoned = true;
    m->inflight--;
    m->nabandoned++;
    pthread_cond_signal(&m->slot_cond);
    if (m->nabandoned > MUX_MAX_ABANDONED) {
        log_err(m->o.log, "%u requests timed out without a reply: dropping the connection",
                m->nabandoned);
        kill_locked(m, -ETIMEDOUT);
    }
}

/* The caller owns the socket (mux.c, "Who reads"): waits for a frame to
 * begin until *until (NULL: no bound), then reads and delivers it (or a
 * batch). 1: a frame was handled; 0: the time is up; <0: the mux died. */
static int lead(struct mux *m, const struct timespec *until)
{
    struct pollfd p = {.fd = m->fd, .events = POLLIN};
    for (;;) {
        struct timespec left, *lp = NULL;
        if (until) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (!clock_ts_before(&now, until))
                return 0;
            left.tv_sec = until->tv_sec - now.tv_sec;
            left.tv_nsec = until->tv_nsec - now.tv_nsec;
            if (left.tv_nsec < 0) {
                left.tv_sec--;
                left.tv_nsec += 1000000000L;
            }
            lp = &left;
        }
        int r = ppoll(&p, 1, lp, NULL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            return 0;
        if (r < 0) {
            mux_kill(m, -errno);
            return -EIO;
        }
        __atomic_fetch_add(&m->o.stats->led, 1, __ATOMIC_RELAXED);
        return mux_pump(m) < 0 ? -ECONNRESET : 1;
    }
}

/* Waits for the next frame of req until *dl (ignored with MUX_NO_TIMEOUT):
 * reads the socket itself when nobody does (lead), else waits to be
 * woken by whoever reads. Returns 0 with *f, or -errno. On -ETIMEDOUT,
 * and on -EINTR when the caller was interrupted (m->o.interrupted, polled
 * every MUX_POLL_MS without a lock), the request is abandoned (then owned
 * by the mux). */
static int wait_frame(struct mux *m, struct mux_req *req, unsigned flags, const struct timespec *dl,
                      struct mux_frame **f)
{
    bool timed = !(flags & MUX_NO_TIMEOUT);
    bool leading = false;
    int err = 0;
    pthread_mutex_lock(&m->lock);
    req->waiting = true;
    while (!req->head && !req->err) {
        struct timespec until;
        bool bounded = timed;
        if (timed)
            until = *dl;
        if (m->o.interrupted) {
            struct timespec slice;
            clock_mono_after(&slice, MUX_POLL_MS);
            if (!bounded || clock_ts_before(&slice, &until))
                until = slice;
            bounded = true;
        }
        if (!leading && m->rd == RD_NONE && !m->dead) {
            m->rd = RD_CALLER;
            leading = true;
        }
        if (leading) {
            pthread_mutex_unlock(&m->lock);
            int got = lead(m, bounded ? &until : NULL);
            pthread_mutex_lock(&m->lock);
            if (got > 0)
                continue; /* a frame went to someone: ours? */
        } else if (bounded) {
            pthread_cond_timedwait(&req->cond, &m->lock, &until);
        } else {
            pthread_cond_wait(&req->cond, &m->lock);
        }
        if (req->head || req->err)
            break;
        if (m->o.interrupted) {
            pthread_mutex_unlock(&m->lock);
            int intr = m->o.interrupted(m->o.interrupted_arg);
            pthread_mutex_lock(&m->lock);
            if (req->head || req->err)
                break;
            if (intr) {
                /* Its buffer is the caller's until this returns: a fill
                 * under way ends first, and one that brought the reply
                 * means there is nothing to cancel. */
                pin_dst_locked(m, req);
                if (req->head || req->err)
                    break;
                abandon_locked(m, req);
                err = -EINTR;
                break;
            }
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (timed && !clock_ts_before(&now, dl)) {
            pin_dst_locked(m, req);
            if (req->head || req->err)
                break;
            abandon_locked(m, req);
            stat_add(&m->o.stats->timeouts);
            err = -ETIMEDOUT;
            break;
        }
    }
    req->waiting = false;
    if (leading)
        release_rd_locked(m, req);
    /* Whatever came (another frame, an error, nothing): from here on
     * nothing writes into the caller's buffer. */
    pin_dst_locked(m, req);
    if (!err && req->head) {
        *f = req->head;
        req->head = (*f)->next;
        if (!req->head)
            req->tail = NULL;
    } else if (!err) {
        err = req->err;
    }
    pthread_mutex_unlock(&m->lock);
    return err;
}

/* Asks the server to cancel the request req went out as with mid
 * (NT_CANCEL, MS-CIFS 2.2.4.65: same UID, TID, PID and MID; no reply). */
static void send_cancel(struct mux *m, struct msg_out *req, uint16_t mid)
{
    struct msg_out c;
    if (msg_out_init(&c, SMB1_COM_NT_CANCEL, 64))
        return;
    msg_words_begin(&c);
    msg_words_end(&c);
    msg_bytes_begin(&c);
    msg_bytes_end(&c);
    /* Flags2 .. UID: Flags2, PIDHigh, the signature (set when sent),
     * Reserved, TID, PIDLow, UID. */
    memcpy(msg_smb(&c) + SMB1_HDR_FLAGS2, msg_smb(req) + SMB1_HDR_FLAGS2,
           SMB1_HDR_MID - SMB1_HDR_FLAGS2);
    wire_st16(msg_smb(&c) + SMB1_HDR_MID, mid);
    if (mux_send_oneway(m, &c, true) == 0)
        log_info(m->o.log, "%s MID %u interrupted: cancelled", msg_cmd_name(req->cmd), mid);
    msg_out_free(&c);
}

/* The MAC check of in for seq, shown to an observer; a split reply
 * (msg_in.ext) is never observed (mux_reader.c reads them whole then). */
static bool mac_check(struct mux *m, const struct msg_in *in, uint32_t seq)
{
    if (in->ext_len)
        return sign_verify_split(&m->key, in->frame, in->len, in->ext, in->ext_len, seq);
    return obs_verify(m->o.obs, &m->key, in->frame, in->len, seq, false);
}

/* Fails closed: a reply must carry the signature flag and the MAC for the
 * number its request expects. */
static bool verify(struct mux *m, const struct msg_in *in, uint32_t seq)
{
    if (!(in->flags2 & SMB1_FLAGS2_SECURITY_SIGNATURE)) {
        (void)mac_check(m, in, seq);
        log_err(m->o.log, "%s reply MID %u is not signed (expected sequence %u)",
                msg_cmd_name(in->cmd), in->mid, seq);
        return false;
    }
    if (!mac_check(m, in, seq)) {
        log_err(m->o.log, "%s reply MID %u has a bad signature (expected sequence %u)",
                msg_cmd_name(in->cmd), in->mid, seq);
        return false;
    }
    return true;
}

static int call_parts(struct mux *m, struct msg_out *req, struct msg_out *parts, size_t nparts,
                      unsigned flags, int timeout_ms, struct msg_in *resp, mux_frame_fn fn,
                      void *arg);

/* A reply to the primary of a multi-part transaction that lets the
 * secondaries go (MS-CIFS 2.2.4.46.2 "Interim Response"). */
static bool is_interim(const struct msg_in *in)
{
    return in->status == 0 && in->wct == 0 && in->bcc == 0;
}

/* A final frame that verified with seq: shown to an observer. */
static bool matched(struct mux *m, const struct msg_in *in, uint32_t seq)
{
    if (m->o.obs)
        (void)obs_verify(m->o.obs, &m->key, in->frame, in->len, seq, false);
    return true;
}

/* Verifies a final frame of a transaction whose secondaries took the
 * numbers sec[0..nsec) and whose primary took seq: see the top of the
 * file for why several numbers are right. */
static bool verify_final(struct mux *m, const struct msg_in *in, uint32_t seq, const uint32_t *sec,
                         size_t nsec)
{
    if (nsec == 0)
        return verify(m, in, seq + 1);
    if (!(in->flags2 & SMB1_FLAGS2_SECURITY_SIGNATURE))
        return verify(m, in, sec[nsec - 1] + 1);
    /* Tried quietly; the number that matched (or the one due) is reported. */
    for (size_t i = nsec; i-- > 0;)
        if (sign_verify(&m->key, in->frame, in->len, sec[i] + 1))
            return matched(m, in, sec[i] + 1);
    if (sign_verify(&m->key, in->frame, in->len, seq + 1))
        return matched(m, in, seq + 1);
    (void)obs_verify(m->o.obs, &m->key, in->frame, in->len, sec[nsec - 1] + 1, false);
    log_err(m->o.log, "%s reply MID %u has a bad signature (expected a sequence of %u..%u or %u)",
            msg_cmd_name(in->cmd), in->mid, sec[0] + 1, sec[nsec - 1] + 1, seq + 1);
    return false;
}

/* The next frame of rq, the one wait and check of both call paths: waits
 * for it (wait_frame; on a timeout, logged here, rq becomes the mux's),
 * and when the request was signed checks its MAC (verify_final: seq and
 * the secondaries' sec[0..nsec)). A bad MAC counts, frees the frame and
 * kills the mux: -EIO. */
static int next_frame(struct mux *m, struct mux_req *rq, struct msg_out *req, unsigned flags,
                      const struct timespec *dl, int timeout_ms, bool signed_req, uint32_t seq,
                      const uint32_t *sec, size_t nsec, struct mux_frame **out)
{
    struct mux_frame *f = NULL;
    int r = wait_frame(m, rq, flags, dl, &f);
    if (r == -ETIMEDOUT)
        log_warn(m->o.log, "%s MID %u timed out after %d ms", msg_cmd_name(req->cmd), rq->mid,
                 timeout_ms);
    if (r == -EINTR)
        send_cancel(m, req, rq->mid);
    if (r)
        return r;
    /* SIG_GOOD: the reader checked this reply's MAC for seq + 1 in a
     * batch; anything else is checked here (a bad one again, so that it
     * is reported the usual way). */
    if (signed_req && f->sig != SIG_GOOD && !verify_final(m, &f->in, seq, sec, nsec)) {
        stat_add(&m->o.stats->bad_signatures);
        msg_in_free(&f->in);
        free(f);
        mux_kill(m, -EIO);
        return -EIO;
    }
    *out = f;
    return 0;
}

int mux_call(struct mux *m, struct msg_out *req, unsigned flags, int timeout_ms,
             struct msg_in *resp, mux_frame_fn fn, void *arg)
{
    return call_parts(m, req, NULL, 0, flags, timeout_ms, resp, fn, arg);
}

/* dl, or end when that comes sooner (end_ms < 0: no end). */
static void cap_deadline(struct timespec *dl, int64_t end_ms)
{
    if (end_ms < 0)
        return;
    struct timespec e = {(time_t)(end_ms / 1000), (long)(end_ms % 1000) * 1000000L};
    if (clock_ts_before(&e, dl))
        *dl = e;
}

void mux_call_many(struct mux *m, struct msg_out *reqs, size_t n, size_t window, int timeout_ms,
                   int64_t end_ms, struct msg_in *resps, int *res)
{
    struct mux_req **rq = calloc(n ? n : 1, sizeof(*rq));
    uint32_t *seq = calloc(n ? n : 1, sizeof(*seq));
    bool *sgn = calloc(n ? n : 1, sizeof(*sgn));
    for (size_t i = 0; i < n; i++) {
        memset(&resps[i], 0, sizeof(resps[i]));
        res[i] = -ENOMEM;
    }
    if (!rq || !seq || !sgn)
        goto out;
    if (timeout_ms <= 0)
        timeout_ms = 60000;
    if (window == 0)
        window = 1;
    size_t sent = 0, done = 0;
    while (done < n) {
        /* Send while slots are free. Wait for one only with nothing of ours
         * in flight: our own replies free slots only once collected. */
        while (sent < n && sent - done < window) {
            /* The run of requests fit to send next, sent in one go. */
            size_t lim = window - (sent - done), k = 0;
            if (lim > n - sent)
                lim = n - sent;
            int r = 0;
            while (k < lim) {
                struct msg_out *req = &reqs[sent + k];
                r = msg_out_error(req);
                if (!r && m->o.max_frame && msg_smb_len(req) > m->o.max_frame)
                    r = -EMSGSIZE;
                if (!r && !(rq[sent + k] = calloc(1, sizeof(**rq))))
                    r = -ENOMEM;
                if (r)
                    break;
                cond_init_mono(&rq[sent + k]->cond);
                k++;
            }
            if (k == 0) {
                res[sent++] = r; /* this one cannot go; the next may */
                continue;
            }
            struct timespec dl;
            clock_mono_after(&dl, timeout_ms);
            cap_deadline(&dl, end_ms);
            bool sg = false;
            int g = begin_many(m, rq + sent, reqs + sent, k, true, 0, false,
                               sent == done ? &dl : NULL, seq + sent, &sg);
            for (size_t j = g > 0 ? (size_t)g : 0; j < k; j++) {
                req_free(rq[sent + j]);
                rq[sent + j] = NULL;
            }
            if (g == -EAGAIN)
                break;
            if (g < 0) {
                res[sent++] = g;
                continue;
            }
            for (int j = 0; j < g; j++) {
                sgn[sent + (size_t)j] = sg;
                res[sent + (size_t)j] = 0;
            }
            sent += (size_t)g;
            if ((size_t)g < k)
                break; /* out of slots */
        }
        size_t i = done++;
        if (!rq[i])
            continue; /* res[i] holds why it was not sent */
        struct mux_frame *f = NULL;
        struct timespec wdl;
        clock_mono_after(&wdl, timeout_ms);
        cap_deadline(&wdl, end_ms);
        int r = next_frame(m, rq[i], &reqs[i], 0, &wdl, timeout_ms, sgn[i], seq[i], NULL, 0, &f);
        if (r == -ETIMEDOUT || r == -EINTR) {
            res[i] = r;
            rq[i] = NULL; /* now the mux's */
            continue;
        }
        if (r == 0) {
            resps[i] = f->in;
            free(f);
        }
        res[i] = r;
        end_req(m, rq[i]);
        rq[i] = NULL;
    }
out:
    free(rq);
    free(seq);
    free(sgn);
}

int mux_start(struct mux *m, struct msg_out *reqs, size_t n, bool wait, int timeout_ms,
              struct mux_ticket *tk)
{
    enum { MAX_RUN = 32 };
    struct mux_req *rq[MAX_RUN];
    uint32_t seq[MAX_RUN];
    if (n == 0)
        return -EINVAL;
    if (n > MAX_RUN)
        n = MAX_RUN;
    if (timeout_ms <= 0)
        timeout_ms = 60000;
    /* A frame whose data is not in its buffer (in a pipe, or in memory
     * lent: tail_mem) goes only where nothing needs its bytes: no MAC to
     * compute, no observer to show them; one from a pipe goes alone. */
    bool tails = false;
    for (size_t k = 0; k < n; k++)
        tails |= reqs[k].tail_len != 0;
    if (tails && (atomic_load(&m->signing) || m->o.obs))
        return -EOPNOTSUPP;
    if (reqs[0].tail_len && !reqs[0].tail_mem && n != 1)
        return -EOPNOTSUPP;
    int r = 0;
    size_t k = 0;
    for (; k < n; k++) {
        r = msg_out_error(&reqs[k]);
        if (!r && reqs[k].tail_len && !reqs[k].tail_mem && k)
            r = -EOPNOTSUPP;
        if (!r && m->o.max_frame && msg_smb_len(&reqs[k]) + reqs[k].tail_len > m->o.max_frame)
            r = -EMSGSIZE;
        if (!r && !(rq[k] = calloc(1, sizeof(**rq))))
            r = -ENOMEM;
        if (r)
            break;
        rq[k]->claimed = true;
        cond_init_mono(&rq[k]->cond);
    }
    int g = k ? 0 : r;
    if (k) {
        struct timespec dl;
        clock_mono_after(&dl, timeout_ms);
        bool sg = false;
        g = begin_many(m, rq, reqs, k, true, 0, true, wait ? &dl : NULL, seq, &sg);
        struct timespec due;
        clock_mono_after(&due, timeout_ms);
        for (size_t j = 0; j < (size_t)(g > 0 ? g : 0); j++)
            tk[j] = (struct mux_ticket){.rq = rq[j], .seq = seq[j], .sgn = sg, .due = due};
        for (size_t j = g > 0 ? (size_t)g : 0; j < k; j++)
            req_free(rq[j]);
        /* Nobody is called to read these replies: mux_finish reads them
         * (mux.c, "Who reads"). */
    }
    return g;
}

bool mux_ticket_ready(struct mux *m, const struct mux_ticket *tk)
{
    pthread_mutex_lock(&m->lock);
    bool ready = tk->rq->head || tk->rq->err;
    pthread_mutex_unlock(&m->lock);
    return ready;
}

int mux_finish(struct mux *m, struct mux_ticket *tk, struct msg_out *req, int timeout_ms,
               struct msg_in *resp)
{
    memset(resp, 0, sizeof(*resp));
    if (timeout_ms <= 0)
        timeout_ms = 60000;
    struct mux_frame *f = NULL;
    struct timespec dl;
    clock_mono_after(&dl, timeout_ms);
    if (tk->due.tv_sec && clock_ts_before(&tk->due, &dl))
        dl = tk->due;
    int r = next_frame(m, tk->rq, req, 0, &dl, timeout_ms, tk->sgn, tk->seq, NULL, 0, &f);
    if (r == -ETIMEDOUT || r == -EINTR) {
        tk->rq = NULL; /* now the mux's */
        return r;
    }
    if (r == 0) {
        *resp = f->in;
        free(f);
    }
    end_req(m, tk->rq);
    tk->rq = NULL;
    return r;
}

int mux_call_parts(struct mux *m, struct msg_out *req, struct msg_out *parts, size_t nparts,
                   unsigned flags, int timeout_ms, mux_frame_fn fn, void *arg)
{
    if (nparts && !(flags & MUX_MULTI))
        return -EINVAL;
    return call_parts(m, req, parts, nparts, flags, timeout_ms, NULL, fn, arg);
}

static int call_parts(struct mux *m, struct msg_out *req, struct msg_out *parts, size_t nparts,
                      unsigned flags, int timeout_ms, struct msg_in *resp, mux_frame_fn fn,
                      void *arg)
{
    int r = msg_out_error(req);
    if (r)
        return r;
    if (m->o.max_frame && msg_smb_len(req) > m->o.max_frame)
        return -EMSGSIZE;
    for (size_t i = 0; i < nparts; i++) {
        if ((r = msg_out_error(&parts[i])))
            return r;
        if (m->o.max_frame && msg_smb_len(&parts[i]) > m->o.max_frame)
            return -EMSGSIZE;
    }
    if (timeout_ms <= 0)
        timeout_ms = 60000;
    /* Numbers the secondaries took; nsec stays 0 until they are sent. */
    uint32_t *sec = NULL;
    size_t nsec = 0;
    if (nparts && !(sec = calloc(nparts, sizeof(*sec))))
        return -ENOMEM;
    struct mux_req *rq = calloc(1, sizeof(*rq));
    if (!rq) {
        free(sec);
        return -ENOMEM;
    }
    rq->multi = (flags & MUX_MULTI) != 0;
    rq->patient = (flags & MUX_NO_TIMEOUT) != 0;
    /* Its caller goes to wait_frame next, which takes the socket when
     * nobody reads: no need to call the reader thread back for it while it
     * is on its way (between the send and the wait). */
    rq->waiting = true;
    cond_init_mono(&rq->cond);
    int64_t t0 = now_us();
    struct timespec dl;
    clock_mono_after(&dl, timeout_ms);
    uint32_t seq;
    bool signed_req;
    r = begin_many(m, &rq, req, 1, nparts == 0, (flags & MUX_PROBE) ? 1 : 0, false, &dl, &seq,
                   &signed_req);
    if (r < 0) {
        req_free(rq);
        free(sec);
        return r;
    }

    size_t got = 0;
    unsigned frames = 0;
    uint32_t status = 0;
    bool interim_due = nparts > 0;
    size_t sent_bytes = msg_smb_len(req);
    for (;;) {
        struct mux_frame *f = NULL;
        /* One bound for the whole reply, however many frames it has. */
        r = next_frame(m, rq, req, flags, &dl, timeout_ms, signed_req, seq, sec, nsec, &f);
        if (r == -ETIMEDOUT || r == -EINTR) {
            free(sec);
            return r; /* rq now belongs to the mux */
        }
        if (r)
            goto out_remove;
        got += f->in.len + f->in.ext_len;
        frames++;
        status = f->in.status;
        if (interim_due) {
            /* Only the first reply can be the interim one; an error here is
             * the final reply (the transaction was refused). A success or
             * warning instead means the server ran the request on the
             * primary's share of the blocks alone (impacket does): the
             * caller must not take that for its request's result. The
             * numbering is intact, so the mux lives on. */
            interim_due = false;
            if (is_interim(&f->in)) {
                msg_in_free(&f->in);
                free(f);
                r = send_parts(m, rq->mid, parts, nparts, sec);
                if (r) {
                    log_info(m->o.log, "sending %s secondaries failed: %s", msg_cmd_name(req->cmd),
                             strerror(-r));
                    mux_kill(m, -ECONNRESET);
                    r = -ECONNRESET;
                    goto out_remove;
                }
                nsec = nparts;
                for (size_t i = 0; i < nparts; i++)
                    sent_bytes += msg_smb_len(&parts[i]);
                continue;
            }
            if ((f->in.status & 0xC0000000u) != 0xC0000000u) {
                log_err(m->o.log,
                        "%s MID %u: the server answered the first of %zu parts (%s) without an "
                        "interim response",
                        msg_cmd_name(req->cmd), rq->mid, nparts + 1, ntstatus_name(f->in.status));
                msg_in_free(&f->in);
                free(f);
                r = -EIO;
                break;
            }
        }
        if (!rq->multi) {
            *resp = f->in;
            free(f);
            r = 0;
            break;
        }
        r = fn(arg, &f->in);
        msg_in_free(&f->in);
        free(f);
        if (r == 1)
            continue;
        if (r == -EIO)
            mux_kill(m, -EIO);
        break;
    }
    if (log_enabled(m->o.log, LOG_DEBUG))
        log_debug(m->o.log,
                  "MID %u %s sent %zu (%zu of %zu part%s) got %zu (%u frame%s) in %lld us: %s",
                  rq->mid, msg_cmd_name(req->cmd), sent_bytes, nsec + 1, nparts + 1,
                  nparts ? "s" : "", got, frames, frames == 1 ? "" : "s",
                  (long long)(now_us() - t0), r == 0 ? ntstatus_name(status) : strerror(-r));

out_remove:
    free(sec);
    end_req(m, rq);
    return r;
}
