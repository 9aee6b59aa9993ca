/* The multiplex-ID dispatcher.
 *
 * Ordering. A request is sent under send_lock: the MID is chosen, the
 * signing sequence number n is taken (the counter then moves by 2, or by 1
 * for a one-way message), the frame is signed and written, all before the
 * lock is released. So the order of frames on the wire is the order of
 * their sequence numbers, which is what the server checks. The request
 * remembers n + 1, the number its reply must carry; replies may arrive in
 * any order.
 *
 * Delivery. The single reader thread reads a frame, validates its shape
 * (msg_in_parse), and hands it to the request in the in-flight list whose
 * MID it carries. It never decodes further. A frame whose MID is not in flight is counted, logged
 * and dropped; a second frame for a single-frame request is dropped the same way. A malformed frame
 * or a transport error kills the mux: every waiter fails and the connection layer reconnects.
 *
 * Verification. The waiting thread checks its reply's MAC against its
 * own expected number, so lone MD5s run in parallel. But MD5 is the main
 * cost of a signed bulk read, and one MD5 cannot use more than a scalar
 * chain of one core. So when the CPU has the vector MD5 (md5_multi.h)
 * and a long signed reply comes while more replies to READ_ANDX requests
 * are due, the reader holds it, reads the replies that follow (waiting at
 * most MUX_BATCH_WAIT_US for them), checks up to MUX_BATCH_MAX MACs in one
 * pass and hands each over marked good or bad. Only single-reply requests
 * qualify: their number (expect) is fixed before they are sent. A bad
 * mark is checked again by the waiter, which reports it as usual; frames
 * of other requests read meanwhile are delivered at once.
 *
 * Multi-part transactions (MS-CIFS 3.2.4.1.5). A TRANSACTION* request too
 * large for one message is a primary, sent as above, then secondaries that
 * the waiting thread sends with the primary's MID once the interim
 * response (no words, no bytes, success) has come; any other first reply
 * ends the transaction and no secondary is sent (an error: the final
 * reply; a success: -EIO, see call_parts). A secondary has no reply
 * of its own, yet both Samba's server and its client count it like a
 * request that has one: it takes the next number and the counter moves by
 * 2 (MS-SMB 3.3.5.1 "request has no response"; only NT_CANCEL moves it by
 * 1). The secondaries of one transaction go out back to back under one
 * hold of send_lock, never across a round trip; other requests may come
 * between the primary and them, which the numbering allows since each
 * message has its own. The interim response is signed with the primary's
 * number + 1. smbd signs the final response (every fragment of it) with
 * the number of the secondary that completed the transaction + 1 (it
 * replies from that secondary's request; Samba's client verifies it so),
 * which is the last one we sent; a server that refuses an earlier
 * secondary answers with that one's number + 1, and MS-SMB 3.3.5.1 read
 * literally keeps the primary's number + 1 for the whole transaction. So
 * a final frame is accepted with the MAC of any of these numbers, all of
 * them numbers of this transaction only, tried last secondary first; any
 * other MAC fails the request and kills the mux as for a single request.
 *
 * Timeouts. A waiter that gives up leaves its request in the list marked
 * abandoned, so its MID is not reused while a late reply may still come;
 * the late reply frees it. Too many abandoned requests kill the mux.
 *
 * Flow control. At most max_inflight requests wait for replies (a counting
 * wait on slot_cond); abandoned ones do not count.
 *
 * Lifetime. A mux is reference-counted; the connection swaps in a new one on
 * reconnect while old waiters still hold the old one. The last reference
 * joins the reader and closes the socket.
 *
 * Lock order: send_lock, then lock. The reader takes only lock. No lock is
 * held while waiting for a reply.
 */
#include "link/mux.h"

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
#include "wire/ntstatus.h"
#include "link/rxpool.h"
#include "wire/smb1_proto.h"

#define MUX_MAX_ABANDONED 16
/* Idle large receive buffers kept: enough for the usual reads in flight,
 * few enough for the RSS to stay small (4 MiB with 1 MiB reads). */
#define MUX_RX_IDLE 4

/* Batched verification (see "Verification" above): at most this many
 * replies per batch, only replies at least this long (short ones cost
 * little), and the reader waits at most this long for a batch to fill. */
#define MUX_BATCH_MAX     (2 * MD5_MULTI_LANES)
#define MUX_BATCH_MIN_LEN 8192
#define MUX_BATCH_WAIT_US 2000
/* Runs of requests up to this many bytes in all are signed in one pass. */
#define MUX_BATCH_SIGN_BYTES 16384

/* What the reader found of a frame's MAC before handing it over. */
enum mux_sig { SIG_UNCHECKED, SIG_GOOD, SIG_BAD };

struct mux_frame {
    struct mux_frame *next;
    struct msg_in in;
    enum mux_sig sig;
};

struct mux_req {
    struct mux_req *next; /* in-flight list; protected by mux->lock */
    uint16_t mid;
    bool multi;
    bool abandoned; /* waiter gone; the reader or teardown frees it */
    bool got_frame;
    /* Set before the request is sent: a single-reply signed request whose
     * reply must carry expect, which the reader may then check in a batch;
     * bulk: a READ_ANDX, whose large reply is sure to come soon. */
    bool presign, bulk;
    uint32_t expect;
    int err;                       /* set by mux_kill */
    struct mux_frame *head, *tail; /* frames not yet taken by the waiter */
    pthread_cond_t cond;           /* signalled when a frame or err arrives */
};

struct mux {
    int fd;
    struct mux_opts o;
    /* Buffers of large frames, used again (rxpool.h); NULL: plain malloc.
     * Set before the reader starts, then only read. */
    struct rxpool *rx;
    pthread_t reader;
    atomic_int refs;
    atomic_llong last_activity;

    pthread_mutex_t lock;     /* protects reqs, inflight, nabandoned, dead */
    pthread_cond_t slot_cond; /* a slot freed or the mux died */
    struct mux_req *reqs;
    unsigned inflight, cap, nabandoned;
    int dead;

    pthread_mutex_t send_lock; /* protects next_mid, signing, key, seq and writes to fd */
    uint16_t next_mid;
    atomic_bool signing; /* written under send_lock, read by waiters */
    struct sign_key key; /* immutable once signing is set */
    uint32_t seq;
    /* Whether the reader batches MAC checks (a fast md5_multi); set before
     * the reader starts, then only read. */
    bool batch_macs;
};

static int64_t now_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void stat_add(uint64_t *p)
{
    __atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
}

static void cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

static void free_frames(struct mux_req *r)
{
    while (r->head) {
        struct mux_frame *f = r->head;
        r->head = f->next;
        msg_in_free(&f->in);
        free(f);
    }
    r->tail = NULL;
}

static void req_free(struct mux_req *r)
{
    free_frames(r);
    pthread_cond_destroy(&r->cond);
    free(r);
}

/* Caller holds m->lock. */
static struct mux_req *find_req(struct mux *m, uint16_t mid)
{
    for (struct mux_req *r = m->reqs; r; r = r->next)
        if (r->mid == mid)
            return r;
    return NULL;
}

/* Caller holds m->lock. */
static void unlink_req(struct mux *m, struct mux_req *req)
{
    for (struct mux_req **pp = &m->reqs; *pp; pp = &(*pp)->next) {
        if (*pp == req) {
            *pp = req->next;
            return;
        }
    }
}

/* Caller holds m->lock. */
static void kill_locked(struct mux *m, int err)
{
    if (m->dead)
        return;
    m->dead = err;
    for (struct mux_req *r = m->reqs; r; r = r->next) {
        if (!r->abandoned) {
            r->err = err;
            pthread_cond_signal(&r->cond);
        }
    }
    pthread_cond_broadcast(&m->slot_cond);
    /* Wakes the reader out of read(2); the fd stays open until the last put
     * so that no other file can take its number while threads use it. */
    shutdown(m->fd, SHUT_RDWR);
}

void mux_kill(struct mux *m, int err)
{
    pthread_mutex_lock(&m->lock);
    kill_locked(m, err);
    pthread_mutex_unlock(&m->lock);
}

int mux_dead(struct mux *m)
{
    pthread_mutex_lock(&m->lock);
    int d = m->dead;
    pthread_mutex_unlock(&m->lock);
    return d;
}

int64_t mux_last_activity(struct mux *m)
{
    return atomic_load(&m->last_activity);
}

static void deliver(struct mux *m, struct msg_in *in, enum mux_sig sig)
{
    struct mux_frame *f = NULL;
    pthread_mutex_lock(&m->lock);
    struct mux_req *req = find_req(m, in->mid);
    if (!req || (req->got_frame && !req->multi)) {
        stat_add(&m->o.stats->unknown_mids);
        pthread_mutex_unlock(&m->lock);
        log_warn(m->o.log, "dropped a %s reply with %s MID %u", msg_cmd_name(in->cmd),
                 req ? "a duplicate" : "an unknown", in->mid);
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
    int r = nbt_read_frame_pool(m->fd, m->o.max_frame, m->rx, &buf, &len, &pooled, &why);
    if (r < 0) {
        if (mux_dead(m))
            return r;
        if (r == -EIO) {
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
        if (m->o.unsolicited)
            m->o.unsolicited(m->o.unsolicited_arg, in);
        else
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
    for (size_t i = 0; i < n; i++)
        deliver(m, &held[i], chk[i].ok ? SIG_GOOD : SIG_BAD);
    return 0;
}

static void *reader_main(void *arg)
{
    struct mux *m = arg;
    for (;;) {
        struct msg_in in;
        int r = read_frame(m, &in);
        if (r < 0)
            break;
        if (r > 0)
            continue;
        uint32_t expect;
        size_t more = 0;
        if (m->batch_macs && atomic_load(&m->signing) && batchable(m, &in, 0, &expect, &more) &&
            more > 0) {
            if (batch_verify(m, &in, expect, more) < 0)
                break;
            continue;
        }
        deliver(m, &in, SIG_UNCHECKED);
    }
    return NULL;
}

struct mux *mux_new(int fd, const struct mux_opts *o, int *err)
{
    struct mux *m = calloc(1, sizeof(*m));
    if (!m) {
        close(fd);
        *err = -ENOMEM;
        return NULL;
    }
    m->fd = fd;
    m->o = *o;
    m->cap = o->max_inflight ? o->max_inflight : 1;
    if (m->cap > MUX_LOCAL_MAX_INFLIGHT)
        m->cap = MUX_LOCAL_MAX_INFLIGHT;
    m->next_mid = 1;
    atomic_init(&m->refs, 1);
    atomic_init(&m->last_activity, now_mono_s());
    atomic_init(&m->signing, false);
    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_init(&m->send_lock, NULL);
    cond_init_mono(&m->slot_cond);
    m->rx = rxpool_new(MUX_RX_IDLE);
    m->batch_macs = md5_multi_fast();
    int r = pthread_create(&m->reader, NULL, reader_main, m);
    if (r) {
        rxpool_release(m->rx);
        pthread_mutex_destroy(&m->lock);
        pthread_mutex_destroy(&m->send_lock);
        pthread_cond_destroy(&m->slot_cond);
        close(fd);
        free(m);
        *err = -r;
        return NULL;
    }
    return m;
}

void mux_get(struct mux *m)
{
    atomic_fetch_add(&m->refs, 1);
}

void mux_put(struct mux *m)
{
    if (!m || atomic_fetch_sub(&m->refs, 1) != 1)
        return;
    mux_kill(m, -ECONNRESET);
    pthread_join(m->reader, NULL);
    while (m->reqs) {
        /* Only abandoned requests are left: every waiter held a reference. */
        struct mux_req *r = m->reqs;
        m->reqs = r->next;
        req_free(r);
    }
    close(m->fd);
    rxpool_release(m->rx); /* frames still held elsewhere keep it alive */
    sign_key_wipe(&m->key);
    pthread_mutex_destroy(&m->lock);
    pthread_mutex_destroy(&m->send_lock);
    pthread_cond_destroy(&m->slot_cond);
    free(m);
}

void mux_set_max_inflight(struct mux *m, unsigned n)
{
    pthread_mutex_lock(&m->lock);
    m->cap = n ? n : 1;
    if (m->cap > MUX_LOCAL_MAX_INFLIGHT)
        m->cap = MUX_LOCAL_MAX_INFLIGHT;
    pthread_cond_broadcast(&m->slot_cond);
    pthread_mutex_unlock(&m->lock);
}

void mux_sign_activate(struct mux *m, const struct sign_key *k, uint32_t next_seq)
{
    pthread_mutex_lock(&m->send_lock);
    if (!atomic_load(&m->signing)) {
        m->key = *k;
        m->seq = next_seq;
        atomic_store(&m->signing, true);
    }
    pthread_mutex_unlock(&m->send_lock);
}

bool mux_signing(struct mux *m)
{
    return atomic_load(&m->signing);
}

/* Caller holds send_lock and lock. */
static uint16_t pick_mid(struct mux *m)
{
    for (;;) {
        uint16_t mid = m->next_mid++;
        if (m->next_mid == 0 || m->next_mid >= 0xFFFF)
            m->next_mid = 1;
        if (!find_req(m, mid))
            return mid;
    }
}

/* Caller holds send_lock. Signs (when active) and writes one frame;
 * returns the sequence number used through *seq. */
static int send_locked(struct mux *m, struct msg_out *req, uint32_t step, uint32_t *seq)
{
    uint8_t *smb = msg_smb(req);
    size_t len = msg_smb_len(req);
    if (atomic_load(&m->signing)) {
        *seq = m->seq;
        m->seq += step;
        sign_apply(&m->key, smb, len, *seq);
    } else {
        /* Before activation the signature field stays zero; the flag may be
         * set to tell the server we want signing (Samba's client does so). */
        memset(smb + SMB1_HDR_SIGNATURE, 0, SMB1_SIG_LEN);
        *seq = 0;
    }
    nbt_put_header(req->buf, len);
    int r = nbt_write_all(m->fd, req->buf, len + MSG_XPORT_HDR);
    if (r == 0)
        atomic_store(&m->last_activity, now_mono_s());
    return r;
}

int mux_send_oneway(struct mux *m, struct msg_out *req, bool keep_mid)
{
    int r = msg_out_error(req);
    if (r)
        return r;
    if (msg_smb_len(req) > m->o.max_frame && m->o.max_frame)
        return -EMSGSIZE;
    pthread_mutex_lock(&m->send_lock);
    pthread_mutex_lock(&m->lock);
    if (m->dead) {
        r = m->dead;
        pthread_mutex_unlock(&m->lock);
        pthread_mutex_unlock(&m->send_lock);
        return r;
    }
    if (!keep_mid)
        wire_st16(msg_smb(req) + SMB1_HDR_MID, pick_mid(m));
    pthread_mutex_unlock(&m->lock);
    uint32_t seq;
    r = send_locked(m, req, 1, &seq);
    pthread_mutex_unlock(&m->send_lock);
    if (r) {
        mux_kill(m, -ECONNRESET);
        return -ECONNRESET;
    }
    stat_add(&m->o.stats->requests);
    return 0;
}

/* Waits for the next frame of req. Returns 0 with *f, or -errno. On
 * timeout the request is abandoned (and then owned by the mux). */
static int wait_frame(struct mux *m, struct mux_req *req, unsigned flags, int timeout_ms,
                      struct mux_frame **f)
{
    struct timespec dl;
    deadline_after(&dl, timeout_ms);
    pthread_mutex_lock(&m->lock);
    while (!req->head && !req->err) {
        if (flags & MUX_NO_TIMEOUT) {
            pthread_cond_wait(&req->cond, &m->lock);
        } else if (pthread_cond_timedwait(&req->cond, &m->lock, &dl) == ETIMEDOUT) {
            if (req->head || req->err)
                break;
            req->abandoned = true;
            m->inflight--;
            m->nabandoned++;
            pthread_cond_signal(&m->slot_cond);
            if (m->nabandoned > MUX_MAX_ABANDONED) {
                log_err(m->o.log, "%u requests timed out without a reply: dropping the connection",
                        m->nabandoned);
                kill_locked(m, -ETIMEDOUT);
            }
            pthread_mutex_unlock(&m->lock);
            stat_add(&m->o.stats->timeouts);
            return -ETIMEDOUT;
        }
    }
    if (req->head) {
        *f = req->head;
        req->head = (*f)->next;
        if (!req->head)
            req->tail = NULL;
        pthread_mutex_unlock(&m->lock);
        return 0;
    }
    int err = req->err;
    pthread_mutex_unlock(&m->lock);
    return err;
}

/* Fails closed: a reply must carry the signature flag and the MAC for the
 * number its request expects. */
static bool verify(struct mux *m, const struct msg_in *in, uint32_t seq)
{
    if (!(in->flags2 & SMB1_FLAGS2_SECURITY_SIGNATURE)) {
        log_err(m->o.log, "%s reply MID %u is not signed (expected sequence %u)",
                msg_cmd_name(in->cmd), in->mid, seq);
        return false;
    }
    if (!sign_verify(&m->key, in->frame, in->len, seq)) {
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
    for (size_t i = nsec; i-- > 0;)
        if (sign_verify(&m->key, in->frame, in->len, sec[i] + 1))
            return true;
    if (sign_verify(&m->key, in->frame, in->len, seq + 1))
        return true;
    log_err(m->o.log, "%s reply MID %u has a bad signature (expected a sequence of %u..%u or %u)",
            msg_cmd_name(in->cmd), in->mid, sec[0] + 1, sec[nsec - 1] + 1, seq + 1);
    return false;
}

/* Sends the secondaries of a transaction with the primary's MID, back to
 * back; their sequence numbers go to sec. */
static int send_parts(struct mux *m, uint16_t mid, struct msg_out *parts, size_t nparts,
                      uint32_t *sec)
{
    int r = 0;
    pthread_mutex_lock(&m->send_lock);
    pthread_mutex_lock(&m->lock);
    r = m->dead;
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; i < nparts && r == 0; i++) {
        wire_st16(msg_smb(&parts[i]) + SMB1_HDR_MID, mid);
        r = send_locked(m, &parts[i], 2, &sec[i]);
        if (r == 0)
            stat_add(&m->o.stats->requests);
    }
    pthread_mutex_unlock(&m->send_lock);
    return r;
}

/* Takes rq out of the list and frees its slot; end_req also frees it. */
static void end_req_keep(struct mux *m, struct mux_req *rq)
{
    pthread_mutex_lock(&m->lock);
    unlink_req(m, rq);
    m->inflight--;
    pthread_cond_signal(&m->slot_cond);
    pthread_mutex_unlock(&m->lock);
}

static void end_req(struct mux *m, struct mux_req *rq)
{
    end_req_keep(m, rq);
    req_free(rq);
}

/* Writes the frames of reqs[0..n) with as few system calls as the socket
 * takes. Caller holds send_lock. */
static int write_frames(struct mux *m, struct msg_out *reqs, size_t n)
{
    enum { MAXV = 32 };
    size_t i = 0;
    while (i < n) {
        struct iovec v[MAXV];
        size_t nv = 0;
        for (; nv < MAXV && i + nv < n; nv++) {
            v[nv].iov_base = reqs[i + nv].buf;
            v[nv].iov_len = msg_smb_len(&reqs[i + nv]) + MSG_XPORT_HDR;
        }
        size_t first = 0;
        while (first < nv) {
            ssize_t w = writev(m->fd, v + first, (int)(nv - first));
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return -errno;
            }
            while (first < nv && (size_t)w >= v[first].iov_len)
                w -= (ssize_t)v[first++].iov_len;
            if (first < nv) {
                v[first].iov_base = (uint8_t *)v[first].iov_base + w;
                v[first].iov_len -= (size_t)w;
            }
        }
        i += nv;
    }
    atomic_store(&m->last_activity, now_mono_s());
    return 0;
}

/* Takes in-flight slots for up to k requests: the first waiting until *dl
 * (or failing with -EAGAIN at once when dl is NULL), the others only if
 * free at once. Puts rq[0..g) in the list and sends reqs[0..g) back to
 * back under one hold of send_lock, numbered in order and, when several,
 * signed in one sign_apply_many pass. single: every request has one reply
 * and no secondaries, so the reader may check their MACs in a batch.
 * Returns g >= 1, or -errno with nothing in the list (the caller frees
 * the rq); a failed send kills the mux and gives -ECONNRESET. */
static int begin_many(struct mux *m, struct mux_req **rq, struct msg_out *reqs, size_t k,
                      bool single, const struct timespec *dl, uint32_t *seq, bool *signed_req)
{
    int r;
    size_t g = 0;
    /* Slots first, so the send lock is never held while waiting for one. */
    pthread_mutex_lock(&m->lock);
    while (!m->dead && m->inflight >= m->cap) {
        if (!dl) {
            pthread_mutex_unlock(&m->lock);
            return -EAGAIN;
        }
        if (pthread_cond_timedwait(&m->slot_cond, &m->lock, dl) == ETIMEDOUT &&
            m->inflight >= m->cap && !m->dead) {
            pthread_mutex_unlock(&m->lock);
            stat_add(&m->o.stats->timeouts);
            return -ETIMEDOUT;
        }
    }
    if (m->dead) {
        r = m->dead;
        pthread_mutex_unlock(&m->lock);
        return r;
    }
    while (g < k && m->inflight < m->cap) {
        m->inflight++;
        g++;
    }
    pthread_mutex_unlock(&m->lock);

    pthread_mutex_lock(&m->send_lock);
    pthread_mutex_lock(&m->lock);
    if (m->dead) {
        r = m->dead;
        m->inflight -= (unsigned)g;
        pthread_cond_broadcast(&m->slot_cond);
        pthread_mutex_unlock(&m->lock);
        pthread_mutex_unlock(&m->send_lock);
        return r;
    }
    bool sgn = atomic_load(&m->signing);
    *signed_req = sgn;
    for (size_t i = 0; i < g; i++) {
        rq[i]->mid = pick_mid(m);
        /* Request i takes number m->seq + 2i below (send_lock is held from
         * here to there), so its reply must carry one more. */
        rq[i]->presign = sgn && !rq[i]->multi && single;
        rq[i]->bulk = reqs[i].cmd == SMB1_COM_READ_ANDX;
        rq[i]->expect = m->seq + 2 * (uint32_t)i + 1;
        rq[i]->next = m->reqs;
        m->reqs = rq[i];
    }
    pthread_mutex_unlock(&m->lock);
    /* Small requests (reads) are signed in one pass and written with one
     * writev. Large ones (writes) are signed and sent one by one: the
     * server starts on the first while the next is signed, where one pass
     * over eight would hold all of them back until the slowest lane is
     * done. */
    size_t bytes = 0;
    for (size_t i = 0; i < g; i++)
        bytes += msg_smb_len(&reqs[i]);
    if (g > 1 && sgn && m->batch_macs && bytes <= MUX_BATCH_SIGN_BYTES) {
        struct sign_check c[MUX_BATCH_MAX];
        for (size_t i = 0; i < g; i += MUX_BATCH_MAX) {
            size_t n = g - i < MUX_BATCH_MAX ? g - i : MUX_BATCH_MAX;
            for (size_t j = 0; j < n; j++) {
                struct msg_out *q = &reqs[i + j];
                wire_st16(msg_smb(q) + SMB1_HDR_MID, rq[i + j]->mid);
                seq[i + j] = m->seq;
                m->seq += 2;
                c[j] = (struct sign_check){
                    .smb = msg_smb(q), .len = msg_smb_len(q), .seq = seq[i + j]};
                nbt_put_header(q->buf, msg_smb_len(q));
            }
            sign_apply_many(&m->key, c, n);
        }
        r = write_frames(m, reqs, g);
    } else {
        r = 0;
        for (size_t i = 0; i < g && r == 0; i++) {
            wire_st16(msg_smb(&reqs[i]) + SMB1_HDR_MID, rq[i]->mid);
            r = send_locked(m, &reqs[i], 2, &seq[i]);
        }
    }
    pthread_mutex_unlock(&m->send_lock);
    for (size_t i = 0; i < g; i++)
        stat_add(&m->o.stats->requests);
    if (r) {
        log_info(m->o.log, "sending %s failed: %s", msg_cmd_name(reqs[0].cmd), strerror(-r));
        mux_kill(m, -ECONNRESET);
        for (size_t i = 0; i < g; i++)
            end_req_keep(m, rq[i]);
        return -ECONNRESET;
    }
    return (int)g;
}

int mux_call(struct mux *m, struct msg_out *req, unsigned flags, int timeout_ms,
             struct msg_in *resp, mux_frame_fn fn, void *arg)
{
    return call_parts(m, req, NULL, 0, flags, timeout_ms, resp, fn, arg);
}

void mux_call_many(struct mux *m, struct msg_out *reqs, size_t n, size_t window, int timeout_ms,
                   struct msg_in *resps, int *res)
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
            deadline_after(&dl, timeout_ms);
            bool sg = false;
            int g = begin_many(m, rq + sent, reqs + sent, k, true, sent == done ? &dl : NULL,
                               seq + sent, &sg);
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
        int r = wait_frame(m, rq[i], 0, timeout_ms, &f);
        if (r == -ETIMEDOUT) {
            log_warn(m->o.log, "%s MID %u timed out after %d ms", msg_cmd_name(reqs[i].cmd),
                     rq[i]->mid, timeout_ms);
            res[i] = r;
            rq[i] = NULL; /* now the mux's */
            continue;
        }
        if (r == 0) {
            if (sgn[i] && f->sig != SIG_GOOD && !verify(m, &f->in, seq[i] + 1)) {
                stat_add(&m->o.stats->bad_signatures);
                msg_in_free(&f->in);
                mux_kill(m, -EIO);
                r = -EIO;
            } else {
                resps[i] = f->in;
            }
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
    cond_init_mono(&rq->cond);
    int64_t t0 = now_us();
    struct timespec dl;
    deadline_after(&dl, timeout_ms);
    uint32_t seq;
    bool signed_req;
    r = begin_many(m, &rq, req, 1, nparts == 0, &dl, &seq, &signed_req);
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
        r = wait_frame(m, rq, flags, timeout_ms, &f);
        if (r == -ETIMEDOUT) {
            log_warn(m->o.log, "%s MID %u timed out after %d ms", msg_cmd_name(req->cmd), rq->mid,
                     timeout_ms);
            free(sec);
            return r; /* rq now belongs to the mux */
        }
        if (r)
            goto out_remove;
        got += f->in.len;
        frames++;
        status = f->in.status;
        /* SIG_GOOD: the reader checked this reply's MAC for seq + 1 in a
         * batch; anything else is checked here (a bad one again, so that
         * it is reported the usual way). */
        if (signed_req && f->sig != SIG_GOOD && !verify_final(m, &f->in, seq, sec, nsec)) {
            stat_add(&m->o.stats->bad_signatures);
            msg_in_free(&f->in);
            free(f);
            mux_kill(m, -EIO);
            r = -EIO;
            goto out_remove;
        }
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
