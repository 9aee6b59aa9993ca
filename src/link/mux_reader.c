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

/* Caller holds m->lock: in is a split reply (msg_in.ext) going to its
 * request or away, so the reader is done with that request's buffer
 * (mux_req.filling). Its request is still there: its waiter does not
 * leave while it fills (pin_dst_locked). */
static void split_done_locked(struct mux *m, const struct msg_in *in)
{
    struct mux_req *w = in->ext ? find_req(m, in->mid) : NULL;
    if (w && w->filling) {
        w->filling = false;
        pthread_cond_broadcast(&w->cond);
    }
}

/* Frees a frame that goes to nobody. */
static void drop_frame(struct mux *m, struct msg_in *in)
{
    if (in->ext) {
        pthread_mutex_lock(&m->lock);
        split_done_locked(m, in);
        pthread_mutex_unlock(&m->lock);
    }
    msg_in_free(in);
}

static void deliver(struct mux *m, struct msg_in *in, enum mux_sig sig)
{
    struct mux_frame *f = NULL;
    pthread_mutex_lock(&m->lock);
    split_done_locked(m, in);
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

/* The head of a READ_ANDX reply read first when its data may go
 * straight into a request's buffer: the SMB header, WordCount 12, the
 * words and ByteCount (MS-CIFS 2.2.4.42.2, MS-SMB 2.2.4.2.2). Padding of
 * at most DIRECT_PAD bytes may follow before the data. */
#define DIRECT_HEAD (SMB1_HDR_LEN + 1 + 2 * 12 + 2)
#define DIRECT_PAD  64

/* Whether the frame of n bytes whose head is head (DIRECT_HEAD bytes) is
 * a successful READ_ANDX reply whose data (its last *dlen bytes, from
 * *doff on) a waiting request takes straight into its buffer: then that
 * request is *who, its buffer taken (filling set, dst dropped) and
 * returned. NULL: the frame is read whole, as any other (which is also
 * where a reply that breaks a rule is refused: an offset into the header
 * or the words, data longer than asked for). */
static uint8_t *direct_dst(struct mux *m, const uint8_t *head, size_t n, uint32_t *doff,
                           uint32_t *dlen, struct mux_req **who, int *pipe)
{
    struct wire_reader r;
    wire_reader_init(&r, head, DIRECT_HEAD);
    const uint8_t *magic = wire_bytes(&r, 4);
    uint8_t cmd = wire_u8(&r);
    uint32_t status = wire_u32(&r);
    uint8_t flags = wire_u8(&r);
    wire_skip(&r, 2 + 2 + SMB1_SIG_LEN + 2 + 2 + 2 + 2); /* Flags2 .. UID */
    uint16_t mid = wire_u16(&r);
    uint8_t wct = wire_u8(&r);
    wire_skip(&r, 10); /* AndX, Available, DataCompactionMode, Reserved1 */
    uint32_t len = wire_u16(&r);
    uint32_t off = wire_u16(&r);
    len |= (uint32_t)wire_u16(&r) << 16;
    wire_skip(&r, 8 + 2); /* Reserved2, ByteCount (msg_in_parse_split checks it) */
    if (!wire_ok(&r) || memcmp(magic, "\xFFSMB", 4) != 0 || cmd != SMB1_COM_READ_ANDX ||
        status != 0 || !(flags & SMB1_FLAGS_REPLY) || wct != 12 || len == 0 || off < DIRECT_HEAD ||
        off > DIRECT_HEAD + DIRECT_PAD || off > n || len != n - off)
        return NULL;
    uint8_t *dst = NULL;
    pthread_mutex_lock(&m->lock);
    struct mux_req *req = find_req(m, mid);
    if (req && req->dst && !req->abandoned && !req->got_frame && !req->err && len <= req->dst_cap) {
        dst = req->dst;
        req->dst = NULL;
        atomic_fetch_sub(&m->ndst, 1);
        req->filling = true;
        *who = req;
        *doff = off;
        *dlen = len;
        /* Its MAC would cover the data: a signed reply is never spliced. */
        *pipe = req->to_pipe && !atomic_load(&m->signing) ? req->pipe : -1;
    }
    pthread_mutex_unlock(&m->lock);
    return dst;
}

/* The reader is done with who's buffer (mux_req.filling): its data did
 * not all come. */
static void fill_done(struct mux *m, struct mux_req *who)
{
    pthread_mutex_lock(&m->lock);
    who->filling = false;
    pthread_cond_broadcast(&who->cond);
    pthread_mutex_unlock(&m->lock);
}

/* A frame of n bytes into one buffer (from the pool when large), the
 * first got of them already read into head. */
static int read_whole(struct mux *m, const uint8_t *head, size_t got, size_t n, int64_t deadline,
                      uint8_t **buf, size_t *len, bool *pooled, const char **why)
{
    bool from_pool = m->rx && n >= RXPOOL_MIN;
    uint8_t *b = from_pool ? rxpool_get(m->rx, n) : malloc(n);
    if (!b)
        return -ENOMEM;
    if (got)
        memcpy(b, head, got);
    int r = nbt_read_body(m->fd, b + got, n - got, deadline, why);
    if (r) {
        if (from_pool)
            rxpool_put(m->rx, b);
        else
            free(b);
        return r;
    }
    *buf = b;
    *len = n;
    *pooled = from_pool;
    return 0;
}

/* The body of a frame of n bytes whose head (DIRECT_HEAD bytes) has been
 * read: its data straight into a request's buffer when direct_dst says
 * so, else all of it into one buffer as nbt_read_frame_paced would.
 * Returns 0 with *buf (owned), *len (what is in it), *ext and *ext_len
 * (the data in the request's buffer, or none), *piped (how much of that
 * data went into the request's pipe instead), *pooled; or -errno. */
static int read_split(struct mux *m, const uint8_t *head, size_t n, int64_t deadline, uint8_t **buf,
                      size_t *len, const uint8_t **ext, size_t *ext_len, size_t *piped,
                      bool *pooled, const char **why)
{
    uint32_t doff = 0, dlen = 0;
    struct mux_req *who = NULL;
    int pipe = -1;
    uint8_t *dst = direct_dst(m, head, n, &doff, &dlen, &who, &pipe);
    if (dst) {
        uint8_t *b = malloc(doff);
        int r = b ? 0 : -ENOMEM;
        size_t moved = 0;
        if (!r) {
            memcpy(b, head, DIRECT_HEAD);
            r = nbt_read_body(m->fd, b + DIRECT_HEAD, doff - DIRECT_HEAD, deadline, why);
        }
        if (!r && pipe >= 0) {
            /* Socket to pipe, and on to FUSE from there: the data never
             * comes into user space. A pipe full before all of it went
             * (small socket buffers take a slot each) leaves the rest for
             * the buffer, at its place. The frame's rest is consumed
             * either way, or the mux dies. */
            r = nbt_splice_body(m->fd, pipe, dlen, deadline, &moved, why);
            if (r == -ENOSPC)
                r = 0;
            else if (!r)
                stat_add(&m->o.stats->spliced_reads);
        }
        if (!r && moved < dlen)
            r = nbt_read_body(m->fd, dst + moved, dlen - moved, deadline, why);
        if (r) {
            fill_done(m, who);
            free(b);
            return r;
        }
        /* filling stays set until the frame is delivered or dropped
         * (split_done_locked): a batch reads the buffer for its MAC. */
        stat_add(&m->o.stats->direct_reads);
        *buf = b;
        *len = doff;
        *ext = dst;
        *ext_len = dlen;
        *piped = moved;
        return 0;
    }
    return read_whole(m, head, DIRECT_HEAD, n, deadline, buf, len, pooled, why);
}

/* Reads a frame: whole into a receive buffer, or, when requests wait
 * whose READ_ANDX data may go straight into their buffers (and nobody
 * observes the frames, which want them whole), its head first and then
 * the rest where the head says (read_split). Which one is decided once
 * the frame has begun: a request sent while the reader waited for it
 * counts. */
static int read_any(struct mux *m, uint8_t **buf, size_t *len, const uint8_t **ext, size_t *ext_len,
                    size_t *piped, bool *pooled, const char **why)
{
    *ext = NULL;
    *ext_len = 0;
    *piped = 0;
    *buf = NULL;
    *len = 0;
    *pooled = false;
    size_t n;
    int64_t deadline;
    int r =
        nbt_read_head_paced(m->fd, m->o.max_frame, m->o.pace_ms, MUX_MIN_RATE, &n, &deadline, why);
    if (r)
        return r;
    if (n >= MUX_DIRECT_MIN && atomic_load(&m->ndst) && !m->o.obs) {
        uint8_t head[DIRECT_HEAD];
        if ((r = nbt_read_body(m->fd, head, sizeof(head), deadline, why)))
            return r;
        return read_split(m, head, n, deadline, buf, len, ext, ext_len, piped, pooled, why);
    }
    return read_whole(m, NULL, 0, n, deadline, buf, len, pooled, why);
}

/* Reads and parses one frame. 0: a reply in *in for delivery; 1: it was
 * consumed here (an oplock break); -errno: the mux is dead, stop. */
static int read_frame(struct mux *m, struct msg_in *in)
{
    uint8_t *buf = NULL;
    size_t len = 0, ext_len = 0, piped = 0;
    const uint8_t *ext = NULL;
    const char *why = NULL;
    bool pooled = false;
    int r = read_any(m, &buf, &len, &ext, &ext_len, &piped, &pooled, &why);
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
    if (!ext)
        obs_received(m->o.obs, buf, len);
    memset(in, 0, sizeof(*in));
    int kind = msg_in_parse_split(in, buf, len, ext, ext_len, &why);
    if (kind < 0) {
        stat_add(&m->o.stats->malformed);
        log_err(m->o.log, "malformed SMB from server (%s): dropping the connection",
                why ? why : "?");
        if (ext) {
            struct msg_in gone = {.ext = ext, .mid = wire_le16(buf + SMB1_HDR_MID)};
            pthread_mutex_lock(&m->lock);
            split_done_locked(m, &gone);
            pthread_mutex_unlock(&m->lock);
        }
        if (pooled)
            rxpool_put(m->rx, buf);
        else
            free(buf);
        mux_kill(m, -EIO);
        return -EIO;
    }
    in->frame = buf;
    in->len = len;
    in->ext_piped = piped;
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
    if (in->len + in->ext_len < MUX_BATCH_MIN_LEN || !(in->flags2 & SMB1_FLAGS2_SECURITY_SIGNATURE))
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
            drop_frame(m, &held[i]);
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
        chk[i].ext = held[i].ext;
        chk[i].ext_len = held[i].ext_len;
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
        if (!r->claimed)
            unwaited = true; /* a ticket's holder comes for it itself */
    }
    if (unwaited)
        pthread_cond_signal(&m->rd_cond);
}

/* Caller holds m->lock: a reply is due that no caller waits for (the
 * rest of a pipeline's; not a ticket's, whose holder reads for it). */
static bool unwaited_due(struct mux *m)
{
    for (struct mux_req *r = m->reqs; r; r = r->next)
        if (req_due(r) && !r->waiting && !r->claimed && !r->head)
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
