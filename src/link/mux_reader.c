/* The reader thread of the multiplex-ID dispatcher: reads each frame,
 * checks batches of MACs, and hands replies to their waiters (mux.c has
 * the design). */
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

/* Caller holds m->lock: a frame with MID mid came, so the late replies of
 * other requests are over (see mux_req.draining). Returns them, unlinked,
 * for req_free after the lock is dropped. */
static struct mux_req *drained(struct mux *m, uint16_t mid)
{
    struct mux_req *done = NULL;
    for (struct mux_req **pp = &m->reqs; *pp && m->ndraining;) {
        struct mux_req *r = *pp;
        if (r->draining && r->mid != mid) {
            *pp = r->next;
            m->ndraining--;
            m->nabandoned--;
            r->next = done;
            done = r;
        } else {
            pp = &r->next;
        }
    }
    return done;
}

static void deliver(struct mux *m, struct msg_in *in, enum mux_sig sig)
{
    struct mux_frame *f = NULL;
    pthread_mutex_lock(&m->lock);
    struct mux_req *done = m->ndraining ? drained(m, in->mid) : NULL;
    if (done) {
        pthread_mutex_unlock(&m->lock);
        while (done) {
            struct mux_req *n = done->next;
            req_free(done);
            done = n;
        }
        pthread_mutex_lock(&m->lock);
    }
    struct mux_req *req = find_req(m, in->mid);
    if (!req || (req->got_frame && !req->multi)) {
        stat_add(&m->o.stats->unknown_mids);
        m->last_stray_ms = clock_mono_ms();
        pthread_mutex_unlock(&m->lock);
        log_warn(m->o.log, "dropped a %s reply with %s MID %u", msg_cmd_name(in->cmd),
                 req ? "a duplicate" : "an unknown", in->mid);
        msg_in_free(in);
        return;
    }
    if (req->abandoned && req->multi) {
        /* Its other frames may follow: the MID stays taken until then. */
        bool first = !req->draining;
        if (first) {
            req->draining = true;
            m->ndraining++;
            stat_add(&m->o.stats->late_replies);
        }
        pthread_mutex_unlock(&m->lock);
        if (first)
            log_info(m->o.log, "late %s reply for timed-out MID %u dropped", msg_cmd_name(in->cmd),
                     in->mid);
        msg_in_free(in);
        return;
    }
    if (req->abandoned) {
        unlink_req(m, req);
        m->nabandoned--;
        stat_add(&m->o.stats->late_replies);
        pthread_mutex_unlock(&m->lock);
        log_info(m->o.log, "late %s reply for timed-out MID %u dropped", msg_cmd_name(in->cmd),
                 in->mid);
        req_free(req);
        msg_in_free(in);
        return;
    }
    f = calloc(1, sizeof(*f));
    if (!f) {
        kill_locked(m, -ENOMEM);
        pthread_mutex_unlock(&m->lock);
        msg_in_free(in);
        return;
    }
    f->in = *in;
    f->sig = sig;
    req->got_frame = true;
    req->wait_since_ms = clock_mono_ms();
    if (req->tail)
        req->tail->next = f;
    else
        req->head = f;
    req->tail = f;
    pthread_cond_signal(&req->cond);
    pthread_mutex_unlock(&m->lock);
}

/* Reads and parses one frame. 0: a reply in *in for delivery; 1: it was
 * consumed here (an oplock break); -errno: the mux is dead, stop. */
static int read_frame(struct mux *m, struct msg_in *in)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    const char *why = NULL;
    bool pooled = false;
    int r = nbt_read_frame_paced(m->fd, m->o.max_frame, m->rx, m->o.pace_ms, MUX_MIN_RATE, &buf,
                                 &len, &pooled, &why);
    if (r < 0) {
        if (mux_dead(m))
            return r;
        if (r == -ETIMEDOUT) {
            log_err(m->o.log, "%s (less than %d bytes/s after %d ms): dropping the connection",
                    why ? why : "a frame trickles in", MUX_MIN_RATE, m->o.pace_ms);
            r = -EPROTO;
        } else if (r == -EIO) {
            stat_add(&m->o.stats->malformed);
            log_err(m->o.log, "bad frame from server (%s): dropping the connection",
                    why ? why : "transport");
        } else {
            log_info(m->o.log, "connection lost: %s", strerror(-r));
            r = r == -ENOMEM ? -ENOMEM : -ECONNRESET;
        }
        mux_kill(m, r);
        return r;
    }
    atomic_store(&m->last_activity, now_mono_s());
    atomic_store(&m->last_rx_ms, clock_mono_ms());
    obs_received(m->o.obs, buf, len);
    memset(in, 0, sizeof(*in));
    int kind = msg_in_parse(in, buf, len, &why);
    if (kind < 0) {
        stat_add(&m->o.stats->malformed);
        log_err(m->o.log, "malformed SMB from server (%s): dropping the connection",
                why ? why : "?");
        if (pooled)
            rxpool_put(m->rx, buf);
        else
            free(buf);
        mux_kill(m, -EIO);
        return -EIO;
    }
    in->frame = buf;
    in->len = len;
    in->pool = pooled ? m->rx : NULL;
    if (kind == MSG_OPLOCK_BREAK) {
        if (m->o.unsolicited) {
            in->epoch = m->o.epoch;
            m->o.unsolicited(m->o.unsolicited_arg, in);
        } else
            msg_in_free(in);
        return 1;
    }
    return 0;
}

/* A reply the reader may check itself: long, signed, and the one reply of
 * a request that told what number it must carry. *more: replies to bulk
 * requests still due besides the nheld already held in the batch. */
static bool batchable(struct mux *m, const struct msg_in *in, size_t nheld, uint32_t *expect,
                      size_t *more)
{
    if (in->len < MUX_BATCH_MIN_LEN || !(in->flags2 & SMB1_FLAGS2_SECURITY_SIGNATURE))
        return false;
    bool ok = false;
    size_t due = 0;
    pthread_mutex_lock(&m->lock);
    for (struct mux_req *r = m->reqs; r; r = r->next) {
        if (r->bulk && r->presign && !r->got_frame && !r->abandoned)
            due++;
        if (r->mid == in->mid && r->presign && !r->got_frame && !r->abandoned) {
            ok = true;
            *expect = r->expect;
        }
    }
    pthread_mutex_unlock(&m->lock);
    /* due counts this reply's request and those of the held ones. */
    *more = due > nheld + 1 ? due - nheld - 1 : 0;
    return ok;
}

/* True when a frame starts to arrive within the time left until the
 * deadline (microseconds on the monotonic clock). */
static bool frame_coming(struct mux *m, int64_t deadline_us)
{
    int64_t left = deadline_us - now_us();
    if (left <= 0)
        return false;
    struct pollfd p = {.fd = m->fd, .events = POLLIN};
    struct timespec ts = {.tv_sec = left / 1000000, .tv_nsec = (left % 1000000) * 1000};
    int r;
    do {
        r = ppoll(&p, 1, &ts, NULL);
    } while (r < 0 && errno == EINTR);
    return r > 0;
}

/* Reads the replies to bulk requests that are about to arrive after
 * held[0], up to MUX_BATCH_MAX or the wait limit, checks all their MACs in
 * one md5_multi pass and delivers them. Other frames read meanwhile are
 * delivered at once, unchecked, as usual. Returns <0 when the mux died. */
static int batch_verify(struct mux *m, struct msg_in *first, uint32_t first_expect, size_t more)
{
    struct msg_in held[MUX_BATCH_MAX];
    struct sign_check chk[MUX_BATCH_MAX];
    size_t n = 0;
    int r = 0;
    held[n] = *first;
    chk[n++].seq = first_expect;
    const int64_t deadline = now_us() + MUX_BATCH_WAIT_US;
    while (n < MUX_BATCH_MAX && more > 0 && frame_coming(m, deadline)) {
        struct msg_in in;
        r = read_frame(m, &in);
        if (r < 0)
            break;
        if (r > 0)
            continue;
        uint32_t expect;
        if (batchable(m, &in, n, &expect, &more)) {
            held[n] = in;
            chk[n++].seq = expect;
        } else {
            deliver(m, &in, SIG_UNCHECKED);
        }
    }
    if (r < 0) {
        for (size_t i = 0; i < n; i++)
            msg_in_free(&held[i]);
        return r;
    }
    if (n == 1) {
        /* Alone, it is cheaper checked by its waiter (OpenSSL's MD5). */
        deliver(m, &held[0], SIG_UNCHECKED);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        chk[i].smb = held[i].frame;
        chk[i].len = held[i].len;
    }
    sign_verify_many(&m->key, chk, n);
    __atomic_fetch_add(&m->o.stats->batched_macs, n, __ATOMIC_RELAXED);
    for (size_t i = 0; m->o.obs && i < n; i++)
        obs_checked(m->o.obs, chk[i].smb, chk[i].len, chk[i].seq, chk[i].mac, chk[i].ok, true);
    for (size_t i = 0; i < n; i++)
        deliver(m, &held[i], chk[i].ok ? SIG_GOOD : SIG_BAD);
    return 0;
}

int mux_pump(struct mux *m)
{
    struct msg_in in;
    int r = read_frame(m, &in);
    if (r < 0)
        return r;
    if (r > 0)
        return 0;
    uint32_t expect;
    size_t more = 0;
    if (m->batch_macs && atomic_load(&m->signing) && batchable(m, &in, 0, &expect, &more) &&
        more > 0)
        return batch_verify(m, &in, expect, more) < 0 ? -ECONNRESET : 0;
    deliver(m, &in, SIG_UNCHECKED);
    return 0;
}

bool req_due(const struct mux_req *r)
{
    return !r->abandoned && !r->err && (r->multi || !r->got_frame);
}

void release_rd_locked(struct mux *m, const struct mux_req *self)
{
    m->rd = RD_NONE;
    m->rd_free_ms = clock_mono_ms();
    bool unwaited = false;
    for (struct mux_req *r = m->reqs; r; r = r->next) {
        if (r == self || !req_due(r) || r->head)
            continue;
        if (r->waiting) {
            pthread_cond_signal(&r->cond); /* it takes the socket */
            return;
        }
        unwaited = true;
    }
    if (unwaited)
        pthread_cond_signal(&m->rd_cond);
}

/* Caller holds m->lock: a reply is due that no caller waits for (a
 * ticket's, the rest of a pipeline's, or one whose caller is on its way
 * to wait). */
static bool unwaited_due(struct mux *m)
{
    for (struct mux_req *r = m->reqs; r; r = r->next)
        if (req_due(r) && !r->waiting && !r->head)
            return true;
    return false;
}

/* Caller holds m->lock: the reader thread should take the socket now. */
static bool thread_should_read(struct mux *m)
{
    if (m->rd != RD_NONE)
        return false;
    return clock_mono_ms() - m->rd_free_ms >= m->lead_grace_ms || unwaited_due(m);
}

void *reader_main(void *arg)
{
    struct mux *m = arg;
    for (;;) {
        pthread_mutex_lock(&m->lock);
        while (!m->dead && !thread_should_read(m)) {
            struct timespec until;
            clock_mono_after(&until, m->lead_grace_ms);
            pthread_cond_timedwait(&m->rd_cond, &m->lock, &until);
        }
        if (m->dead) {
            pthread_mutex_unlock(&m->lock);
            break;
        }
        m->rd = RD_THREAD;
        pthread_mutex_unlock(&m->lock);
        int r = 0;
        for (;;) {
            if ((r = mux_pump(m)) < 0)
                break;
            /* Kept while replies are due that nobody waits for (a
             * pipeline works as before); else a waiting caller reads on,
             * woken by the hand-off, and its reply then wakes it alone. */
            pthread_mutex_lock(&m->lock);
            bool keep = unwaited_due(m) && !m->dead;
            if (!keep)
                release_rd_locked(m, NULL);
            pthread_mutex_unlock(&m->lock);
            if (!keep)
                break;
        }
        if (r < 0)
            break;
    }
    return NULL;
}
