/* Connection lifecycle: the state machine (connected -> broken ->
 * reconnecting -> connected, one epoch per connection), conn_call with its
 * retry rules, and the service thread (idle keep-alive, oplock breaks).
 * Negotiate and session setup live in session.c, tree connect in tree.c. */
#include "session/conn_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/secmem.h"
#include "wire/ntstatus.h"
#include "wire/smb1_proto.h"

#define CONN_RETRIES 3

const char *conn_state_name(enum conn_state s)
{
    switch (s) {
    case CONN_NEW:
        return "new";
    case CONN_CONNECTED:
        return "connected";
    case CONN_BROKEN:
        return "broken";
    case CONN_RECONNECTING:
        return "reconnecting";
    case CONN_CLOSED:
        return "closed";
    }
    return "?";
}

void conn_why(char *why, size_t len, const char *fmt, ...)
{
    if (!why || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
}

/* Caller holds c->lock. */
static void set_state(struct smb1_conn *c, enum conn_state s)
{
    if (c->state != s)
        log_info(c->log, "connection to %s: %s -> %s (epoch %llu)", c->host,
                 conn_state_name(c->state), conn_state_name(s), (unsigned long long)c->epoch);
    c->state = s;
}

uint16_t conn_flags2(const struct smb1_conn *c, bool ext_sec, bool unicode)
{
    (void)c;
    uint16_t f2 =
        SMB1_FLAGS2_NT_STATUS | SMB1_FLAGS2_LONG_NAMES | SMB1_FLAGS2_IS_LONG_NAME | SMB1_FLAGS2_EAS;
    if (unicode)
        f2 |= SMB1_FLAGS2_UNICODE;
    if (ext_sec)
        f2 |= SMB1_FLAGS2_EXTENDED_SECURITY;
    return f2;
}

static void fill_header(struct msg_out *req, uint16_t uid, uint16_t tid, uint16_t flags2)
{
    uint8_t *smb = msg_smb(req);
    wire_st16(smb + SMB1_HDR_FLAGS2, flags2);
    wire_st16(smb + SMB1_HDR_UID, uid);
    msg_set_tid(req, tid);
    /* One PID for the whole client: byte-range locks belong to the mount,
     * not to the FUSE worker thread that happened to send the request. */
    msg_set_pid(req, CONN_PID);
}

static int timeout_ms(const struct smb1_conn *c)
{
    return c->cfg.request_timeout_ms > 0 ? c->cfg.request_timeout_ms : 60000;
}

int conn_raw_call(struct smb1_conn *c, struct mux *mux, struct msg_out *req, uint16_t uid,
                  uint16_t tid, uint16_t flags2, struct msg_in *resp)
{
    fill_header(req, uid, tid, flags2);
    return mux_call(mux, req, 0, timeout_ms(c), resp, NULL, NULL);
}

/* Marks c broken if mux is still its current one. */
static void mark_broken(struct smb1_conn *c, struct mux *mux, int err)
{
    mux_kill(mux, err);
    pthread_mutex_lock(&c->lock);
    if (c->mux == mux && c->state == CONN_CONNECTED)
        set_state(c, CONN_BROKEN);
    pthread_mutex_unlock(&c->lock);
}

static void publish(struct smb1_conn *c, struct conn_session *s)
{
    c->mux = s->mux;
    c->uid = s->uid;
    c->epoch++;
    uint64_t unix_caps = c->params.unix_caps;
    c->params = s->params;
    c->params.epoch = c->epoch;
    c->params.unix_caps = unix_caps;
    c->peer = s->peer;
    if (s->peer.signing_active)
        c->signed_once = true;
    set_state(c, CONN_CONNECTED);
}

/* Re-establishes the connection unless someone already did since seen_epoch. */
static int conn_reconnect(struct smb1_conn *c, uint64_t seen_epoch)
{
    pthread_mutex_lock(&c->reconnect_lock);
    pthread_mutex_lock(&c->lock);
    if (c->state == CONN_CLOSED) {
        pthread_mutex_unlock(&c->lock);
        pthread_mutex_unlock(&c->reconnect_lock);
        return -ECONNRESET;
    }
    if (c->epoch != seen_epoch || (c->state == CONN_CONNECTED && c->mux && !mux_dead(c->mux))) {
        pthread_mutex_unlock(&c->lock);
        pthread_mutex_unlock(&c->reconnect_lock);
        return 0;
    }
    struct mux *old = c->mux;
    c->mux = NULL;
    set_state(c, CONN_RECONNECTING);
    pthread_mutex_unlock(&c->lock);
    if (old) {
        mux_kill(old, -ECONNRESET);
        mux_put(old);
    }

    char why[256] = "";
    struct conn_session s;
    memset(&s, 0, sizeof(s));
    int r = session_establish(c, &s, why, sizeof(why));
    pthread_mutex_lock(&c->lock);
    if (r == 0) {
        publish(c, &s);
        __atomic_fetch_add(&c->reconnects, 1, __ATOMIC_RELAXED);
    } else {
        c->last_err = r;
        set_state(c, CONN_BROKEN);
    }
    pthread_mutex_unlock(&c->lock);
    if (r)
        log_warn(c->log, "reconnect to %s failed: %s", c->host, why[0] ? why : strerror(-r));
    pthread_mutex_unlock(&c->reconnect_lock);
    return r;
}

struct live {
    struct mux *mux; /* one reference */
    uint64_t epoch;
    uint16_t uid, tid, flags2;
    bool unicode;
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connects t (again) when its TID belongs to an older epoch. */
static int tree_refresh(struct smb1_conn *c, struct smb1_tree *t, struct live *lv, bool *fresh)
{
    int r = 0;
    *fresh = false;
    pthread_mutex_lock(&c->reconnect_lock);
    pthread_mutex_lock(&t->lock);
    bool stale = t->epoch != lv->epoch;
    lv->tid = t->tid;
    pthread_mutex_unlock(&t->lock);
    if (stale) {
        uint16_t tid;
        enum smb1_tree_type type;
        r = tree_connect_raw(c, lv->mux, lv->uid, t, &tid, &type);
        if (r == 0) {
            pthread_mutex_lock(&t->lock);
            t->tid = tid;
            t->epoch = lv->epoch;
            t->type = type;
            pthread_mutex_unlock(&t->lock);
            *fresh = true;
            lv->tid = tid;
            log_info(c->log, "tree %s connected (TID %u, epoch %llu)", t->unc, tid,
                     (unsigned long long)lv->epoch);
        }
    }
    pthread_mutex_unlock(&c->reconnect_lock);
    return r;
}

/* Gets the live mux (reconnecting when needed) and t's current TID. */
static int conn_live(struct smb1_conn *c, struct smb1_tree *t, unsigned flags, struct live *lv)
{
    int64_t deadline = mono_ms() + timeout_ms(c);
    int backoff = 100;
    for (;;) {
        pthread_mutex_lock(&c->lock);
        if (c->state == CONN_CLOSED) {
            pthread_mutex_unlock(&c->lock);
            return -ECONNRESET;
        }
        if (c->state == CONN_CONNECTED && c->mux && !mux_dead(c->mux)) {
            lv->mux = c->mux;
            mux_get(lv->mux);
            lv->epoch = c->epoch;
            lv->uid = c->uid;
            lv->unicode = c->params.unicode;
            lv->flags2 = conn_flags2(c, c->peer.extended_security, c->params.unicode);
            pthread_mutex_unlock(&c->lock);
            break;
        }
        if (c->state == CONN_CONNECTED)
            set_state(c, CONN_BROKEN);
        uint64_t seen = c->epoch;
        pthread_mutex_unlock(&c->lock);
        if (flags & CONN_NO_RECONNECT)
            return -ECONNRESET;
        int r = conn_reconnect(c, seen);
        if (r == 0)
            continue;
        int64_t left = deadline - mono_ms();
        if (c->cfg.soft || left <= 0 || r == -EACCES || r == -EPERM || r == -EPROTONOSUPPORT)
            return r == -EACCES || r == -EPERM ? r : -ECONNRESET;
        sleep_ms(backoff < left ? backoff : (int)left);
        backoff = backoff < 2000 ? backoff * 2 : 2000;
    }
    lv->tid = 0xFFFF;
    if (t && !(flags & CONN_NO_TREE)) {
        bool fresh;
        int r = tree_refresh(c, t, lv, &fresh);
        if (r) {
            mux_put(lv->mux);
            return r;
        }
        if (fresh && t->ready)
            t->ready(t);
    }
    return 0;
}

struct multi_ctx {
    conn_frame_fn fn;
    void *arg;
    uint64_t epoch; /* of the connection the request went out on */
    uint32_t status;
    bool first;
    bool retry_status;
};

static bool status_retries(uint32_t st)
{
    return st == NT_STATUS_NETWORK_NAME_DELETED || st == NT_STATUS_USER_SESSION_DELETED ||
           st == NT_STATUS_NETWORK_SESSION_EXPIRED;
}

static int multi_frame(void *arg, const struct msg_in *frame)
{
    struct multi_ctx *mc = arg;
    mc->status = frame->status;
    /* A stale tree or session is answered before any work is done: keep the
     * caller's reassembly untouched so the request can be sent again. */
    if (mc->first && status_retries(frame->status)) {
        mc->retry_status = true;
        return 0;
    }
    mc->first = false;
    struct msg_in f = *frame;
    f.epoch = mc->epoch;
    return mc->fn(mc->arg, &f);
}

/* One request (with nparts secondaries after it, for a multi-part
 * transaction) and its retries. A status retry happens only on the first
 * frame handed to mc, before the caller has seen any reply: with parts
 * that is the interim error or the final reply, and either way the server
 * has not run the transaction (a stale tree or session is refused). */
static int call_common(struct smb1_conn *c, struct smb1_tree *t, struct msg_out *req,
                       struct msg_out *parts, size_t nparts, struct msg_in *resp,
                       struct multi_ctx *mc, unsigned flags)
{
    int r;
    int attempts = 0;
    bool tree_retried = false, session_retried = false;
    if (t && t->conn != c)
        return -EINVAL;
    for (;;) {
        struct live lv;
        r = conn_live(c, t, flags, &lv);
        if (r)
            break;
        /* A handle of an older connection must never reach a newer one, where
         * the same number may name another file. lv.mux belongs to lv.epoch:
         * if the connection is replaced after this check, that mux is dead
         * and the send fails instead. */
        if (req->want_epoch && req->want_epoch != lv.epoch) {
            mux_put(lv.mux);
            r = -ECONNRESET;
            break;
        }
        fill_header(req, lv.uid, lv.tid, lv.flags2);
        for (size_t i = 0; i < nparts; i++)
            fill_header(&parts[i], lv.uid, lv.tid, lv.flags2);
        unsigned mflags = (flags & CONN_NO_TIMEOUT) ? MUX_NO_TIMEOUT : 0;
        uint32_t st = 0;
        if (mc) {
            mc->first = true;
            mc->retry_status = false;
            mc->epoch = lv.epoch;
            r = mux_call_parts(lv.mux, req, parts, nparts, mflags | MUX_MULTI, timeout_ms(c),
                               multi_frame, mc);
            st = mc->status;
            if (r == 0 && !mc->retry_status)
                st = 0;
        } else {
            r = mux_call(lv.mux, req, mflags, timeout_ms(c), resp, NULL, NULL);
            if (r == 0) {
                st = resp->status;
                resp->epoch = lv.epoch;
            }
        }
        bool tree_stale = st == NT_STATUS_NETWORK_NAME_DELETED && t && !tree_retried;
        bool session_gone =
            (st == NT_STATUS_USER_SESSION_DELETED || st == NT_STATUS_NETWORK_SESSION_EXPIRED) &&
            !session_retried;
        if (r == 0 && (tree_stale || session_gone)) {
            if (!mc)
                msg_in_free(resp);
            if (tree_stale) {
                tree_retried = true;
                /* The server closed the tree's files with it. Their FIDs
                 * belong to this connection, which otherwise goes on: set
                 * the whole connection up again, so that the files are
                 * reopened as after any reconnect (a new tree alone would
                 * leave every open file EBADF for ever). */
                log_info(c->log,
                         "tree %s was disconnected by the server; connecting again and "
                         "reopening its files",
                         t->unc);
                mark_broken(c, lv.mux, -ECONNRESET);
            } else {
                session_retried = true;
                log_info(c->log, "session ended by the server (%s); logging on again",
                         ntstatus_name(st));
                mark_broken(c, lv.mux, -ECONNRESET);
            }
            mux_put(lv.mux);
            continue;
        }
        mux_put(lv.mux);
        if (r == -ECONNRESET && (flags & CONN_IDEMPOTENT) && !(flags & CONN_NO_RECONNECT) &&
            ++attempts < CONN_RETRIES) {
            log_info(c->log, "%s: connection lost, retrying (attempt %d)", msg_cmd_name(req->cmd),
                     attempts + 1);
            sleep_ms(50 * attempts);
            continue;
        }
        break;
    }
    if (r < 0)
        conn_status_note(c, req->cmd, r);
    return r;
}

int conn_call(struct smb1_conn *c, struct smb1_tree *t, struct msg_out *req, struct msg_in *resp,
              unsigned flags)
{
    memset(resp, 0, sizeof(*resp));
    int r = call_common(c, t, req, NULL, 0, resp, NULL, flags);
    msg_out_free(req);
    return r;
}

void conn_call_many(struct smb1_conn *c, struct smb1_tree *t, struct msg_out *reqs, size_t n,
                    size_t window, struct msg_in *resps, int *res, unsigned flags)
{
    struct live lv;
    int r = t && t->conn != c ? -EINVAL : conn_live(c, t, flags, &lv);
    if (r == 0) {
        /* As in call_common: a handle never reaches a newer connection. */
        for (size_t i = 0; i < n && r == 0; i++)
            if (reqs[i].want_epoch && reqs[i].want_epoch != lv.epoch)
                r = -ECONNRESET;
        if (r == 0) {
            for (size_t i = 0; i < n; i++)
                fill_header(&reqs[i], lv.uid, lv.tid, lv.flags2);
            mux_call_many(lv.mux, reqs, n, window, timeout_ms(c), resps, res);
            for (size_t i = 0; i < n; i++)
                if (res[i] == 0)
                    resps[i].epoch = lv.epoch;
        }
        mux_put(lv.mux);
    }
    for (size_t i = 0; i < n; i++) {
        if (r) {
            memset(&resps[i], 0, sizeof(resps[i]));
            res[i] = r;
        }
        msg_out_free(&reqs[i]);
    }
}

int conn_call_multi(struct smb1_conn *c, struct smb1_tree *t, struct msg_out *req, conn_frame_fn fn,
                    void *arg, uint32_t *status, unsigned flags)
{
    return conn_call_parts(c, t, req, 1, fn, arg, status, flags);
}

int conn_call_parts(struct smb1_conn *c, struct smb1_tree *t, struct msg_out *msgs, size_t n,
                    conn_frame_fn fn, void *arg, uint32_t *status, unsigned flags)
{
    struct multi_ctx mc = {.fn = fn, .arg = arg};
    int r = n ? call_common(c, t, &msgs[0], msgs + 1, n - 1, NULL, &mc, flags) : -EINVAL;
    if (status)
        *status = mc.status;
    for (size_t i = 0; i < n; i++)
        msg_out_free(&msgs[i]);
    return r;
}

int conn_send_noreply(struct smb1_conn *c, struct smb1_tree *t, struct msg_out *req)
{
    struct live lv;
    int r = conn_live(c, t, CONN_NO_RECONNECT | (t ? 0 : CONN_NO_TREE), &lv);
    if (r == 0) {
        /* As in call_common: a handle never reaches a newer connection. */
        if (req->want_epoch && req->want_epoch != lv.epoch) {
            r = -ECONNRESET;
        } else {
            fill_header(req, lv.uid, lv.tid, lv.flags2);
            r = mux_send_oneway(lv.mux, req, false);
        }
        mux_put(lv.mux);
    }
    msg_out_free(req);
    return r;
}

int conn_ensure(struct smb1_conn *c, struct smb1_tree *t, uint64_t *epoch)
{
    struct live lv;
    int r = conn_live(c, t, t ? 0 : CONN_NO_TREE, &lv);
    if (r)
        return r;
    if (epoch)
        *epoch = lv.epoch;
    mux_put(lv.mux);
    return 0;
}

void conn_get_params(struct smb1_conn *c, struct conn_params *p)
{
    pthread_mutex_lock(&c->lock);
    *p = c->params;
    pthread_mutex_unlock(&c->lock);
}

void conn_refuse_big_reads(struct smb1_conn *c, uint64_t epoch)
{
    bool lowered = false;
    uint32_t max_read = 0;
    pthread_mutex_lock(&c->lock);
    if (c->params.epoch == epoch && c->params.big_read) {
        c->params.big_read = 0;
        max_read = c->params.max_read;
        lowered = true;
    }
    pthread_mutex_unlock(&c->lock);
    if (lowered)
        log_info(c->log, "%s refuses reads above %u bytes", c->host, max_read);
}

struct smb1_log *conn_log(struct smb1_conn *c)
{
    return c->log;
}
const struct smb1_config *conn_config(struct smb1_conn *c)
{
    return &c->cfg;
}

void conn_set_break_handler(struct smb1_conn *c, conn_break_fn fn, void *arg)
{
    pthread_mutex_lock(&c->lock);
    c->break_fn = fn;
    c->break_arg = arg;
    pthread_mutex_unlock(&c->lock);
}

void conn_set_unix_caps(struct smb1_conn *c, uint64_t epoch, uint64_t caps)
{
    pthread_mutex_lock(&c->lock);
    c->unix_epoch = epoch;
    c->params.unix_caps = caps;
    pthread_mutex_unlock(&c->lock);
}

bool conn_unix_claim(struct smb1_conn *c, uint64_t epoch)
{
    pthread_mutex_lock(&c->lock);
    bool pending = c->unix_epoch != epoch && epoch == c->epoch;
    if (pending)
        c->unix_epoch = epoch;
    pthread_mutex_unlock(&c->lock);
    return pending;
}

/* ---- The service thread: oplock breaks and the idle keep-alive. ---- */

/* Reader thread: never blocks on a round trip, so it only queues. */
static void on_unsolicited(void *arg, struct msg_in *in)
{
    struct smb1_conn *c = arg;
    struct wire_reader w;
    msg_in_words(in, &w);
    wire_skip(&w, 4); /* AndX */
    uint16_t fid = wire_u16(&w);
    uint8_t type = wire_u8(&w);
    uint8_t level = wire_u8(&w);
    uint16_t tid = in->tid;
    uint64_t epoch = in->epoch;
    msg_in_free(in);
    if (!wire_ok(&w) || !(type & SMB1_LOCK_OPLOCK_RELEASE)) {
        log_warn(c->log, "ignored a malformed oplock break");
        return;
    }
    struct conn_brk *b = calloc(1, sizeof(*b));
    if (!b)
        return;
    b->epoch = epoch;
    b->tid = tid;
    b->fid = fid;
    b->level = level;
    log_debug(c->log, "oplock break for FID %u (TID %u), new level %u", fid, tid, level);
    pthread_mutex_lock(&c->svc_lock);
    if (c->brk_tail)
        c->brk_tail->next = b;
    else
        c->brk_head = b;
    c->brk_tail = b;
    pthread_cond_signal(&c->svc_cond);
    pthread_mutex_unlock(&c->svc_lock);
}

/* A break nobody handles. We never ask for an oplock (NT_CREATE_ANDX Flags
 * 0), so no server has one of ours to break: the break is forged or
 * confused, and breaks are never signed. It is dropped, not acknowledged:
 * an acknowledgement moves the signing counters and would answer a stranger
 * for a FID of whatever connection is live by then. */
static void drop_break(struct smb1_conn *c, const struct conn_brk *b)
{
    uint64_t n = __atomic_add_fetch(&c->ignored_breaks, 1, __ATOMIC_RELAXED);
    if ((n & (n - 1)) == 0)
        log_warn(c->log,
                 "ignored an oplock break for FID %u (TID %u) from %s: no oplock is held "
                 "(%llu so far)",
                 b->fid, b->tid, c->host, (unsigned long long)n);
}

static const uint8_t echo_data[8] = {'s', 'm', 'b', 'f', 'u', 's', 'e', 0};

static int echo_build(struct msg_out *m)
{
    int r = msg_out_init(m, SMB1_COM_ECHO, 64);
    if (r)
        return r;
    msg_words_begin(m);
    wire_put_u16(&m->w, 1);
    msg_words_end(m);
    msg_bytes_begin(m);
    wire_put_bytes(&m->w, echo_data, sizeof(echo_data));
    msg_bytes_end(m);
    return 0;
}

/* 0 when in is a successful ECHO reply carrying what echo_build sent. */
static int echo_check(struct smb1_conn *c, const struct msg_in *in)
{
    int r = ntstatus_to_errno(in->status);
    if (r)
        return r;
    struct wire_reader w, b;
    msg_in_words(in, &w);
    msg_in_bytes(in, &b);
    uint16_t seq = wire_u16(&w);
    const uint8_t *p = wire_bytes(&b, sizeof(echo_data));
    if (!wire_ok(&w) || !wire_ok(&b) || seq != 1 || !p || memcmp(p, echo_data, sizeof(echo_data))) {
        log_err(c->log, "ECHO reply does not echo what was sent");
        return -EIO;
    }
    return 0;
}

static int echo_on(struct smb1_conn *c, struct mux *mux, uint16_t uid, uint16_t flags2)
{
    struct msg_out m;
    int r = echo_build(&m);
    if (r)
        return r;
    struct msg_in in;
    r = conn_raw_call(c, mux, &m, uid, 0xFFFF, flags2, &in);
    msg_out_free(&m);
    if (r)
        return r;
    r = echo_check(c, &in);
    msg_in_free(&in);
    return r;
}

static void *svc_main(void *arg)
{
    struct smb1_conn *c = arg;
    int interval = c->cfg.echo_interval_s > 0 ? c->cfg.echo_interval_s : 60;
    pthread_mutex_lock(&c->svc_lock);
    while (!c->svc_stop) {
        if (!c->brk_head) {
            struct timespec dl;
            clock_gettime(CLOCK_MONOTONIC, &dl);
            dl.tv_sec += interval > 2 ? interval / 2 : 1;
            pthread_cond_timedwait(&c->svc_cond, &c->svc_lock, &dl);
        }
        if (c->svc_stop)
            break;
        struct conn_brk *list = c->brk_head;
        c->brk_head = c->brk_tail = NULL;
        pthread_mutex_unlock(&c->svc_lock);

        while (list) {
            struct conn_brk *b = list;
            list = b->next;
            pthread_mutex_lock(&c->lock);
            conn_break_fn fn = c->break_fn;
            void *fa = c->break_arg;
            bool current = b->epoch == c->epoch;
            pthread_mutex_unlock(&c->lock);
            /* A break queued on a connection that is gone names its TID and
             * FID: never answered on the new one, where they may name
             * something else (the server dropped the oplock with it). */
            if (!current)
                log_info(c->log, "dropped an oplock break for FID %u of an earlier connection",
                         b->fid);
            else if (fn)
                fn(fa, b->epoch, b->tid, b->fid, b->level);
            else
                drop_break(c, b);
            free(b);
        }

        struct live lv;
        if (conn_live(c, NULL, CONN_NO_RECONNECT | CONN_NO_TREE, &lv) == 0) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec - mux_last_activity(lv.mux) >= interval) {
                int r = echo_on(c, lv.mux, lv.uid, lv.flags2);
                if (r < 0) {
                    log_warn(c->log, "keep-alive ECHO to %s failed: %s", c->host, strerror(-r));
                    mark_broken(c, lv.mux, -ECONNRESET);
                }
            }
            mux_put(lv.mux);
        }
        pthread_mutex_lock(&c->svc_lock);
    }
    pthread_mutex_unlock(&c->svc_lock);
    return NULL;
}

/* ---- Public API ---- */

static char *dup_or_null(const char *s, int *err)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *err = -ENOMEM;
    return d;
}

static char *default_client_name(void)
{
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
        strcpy(host, "SMBFUSE");
    host[sizeof(host) - 1] = 0;
    char *dot = strchr(host, '.');
    if (dot)
        *dot = 0;
    host[15] = 0;
    for (char *p = host; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    return strdup(host);
}

static void conn_destroy(struct smb1_conn *c)
{
    while (c->brk_head) {
        struct conn_brk *b = c->brk_head;
        c->brk_head = b->next;
        free(b);
    }
    ntlm_creds_free(&c->creds);
    conn_obs_free(c);
    connect_free(c);
    free(c->host);
    free(c->ip);
    free(c->srv_nbname);
    free(c->cli_nbname);
    pthread_mutex_destroy(&c->reconnect_lock);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->svc_lock);
    pthread_cond_destroy(&c->svc_cond);
    secmem_free(c, sizeof(*c));
}

int smb1_conn_new(const struct smb1_config *cfg, struct smb1_conn **out, char *why, size_t why_len)
{
    *out = NULL;
    conn_why(why, why_len, "%s", "");
    if (!cfg || !cfg->host || !cfg->host[0]) {
        conn_why(why, why_len, "no server name given");
        return -EINVAL;
    }
    /* Pages of its own, locked and left out of core dumps: it holds the
     * password hashes. */
    struct smb1_conn *c = secmem_alloc(sizeof(*c));
    if (!c)
        return -ENOMEM;
    int r = 0;
    c->cfg = *cfg;
    c->cfg.password = NULL;
    c->host = dup_or_null(cfg->host, &r);
    c->ip = dup_or_null(cfg->ip, &r);
    c->srv_nbname = dup_or_null(cfg->server_netbios_name, &r);
    c->cli_nbname = cfg->client_netbios_name ? dup_or_null(cfg->client_netbios_name, &r)
                                             : default_client_name();
    if (!c->cli_nbname)
        r = -ENOMEM;
    c->cfg.host = c->host;
    c->cfg.ip = c->ip;
    c->cfg.server_netbios_name = c->srv_nbname;
    c->cfg.client_netbios_name = c->cli_nbname;
    c->log = cfg->log;
    pthread_mutex_init(&c->reconnect_lock, NULL);
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->svc_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->svc_cond, &ca);
    pthread_condattr_destroy(&ca);
    c->state = CONN_NEW;
    if (!r)
        r = connect_init(c, why, why_len);
    if (r) {
        conn_destroy(c);
        return r;
    }
    bool anon = cfg->sec == SMB1_SEC_NONE || !cfg->user || !cfg->user[0];
    r = ntlm_creds_init(&c->creds, anon ? "" : cfg->user, cfg->domain ? cfg->domain : "",
                        c->cli_nbname, anon || !cfg->password ? "" : cfg->password,
                        cfg->sec == SMB1_SEC_LANMAN);
    if (r) {
        conn_why(why, why_len, "cannot prepare the credentials: %s", strerror(-r));
        conn_destroy(c);
        return r;
    }

    r = conn_obs_init(c, cfg, why, why_len);
    if (r) {
        conn_destroy(c);
        return r;
    }
    struct conn_session s;
    memset(&s, 0, sizeof(s));
    r = session_establish(c, &s, why, why_len);
    if (r) {
        log_err(c->log, "connecting to %s failed: %s", c->host, why && why[0] ? why : strerror(-r));
        conn_destroy(c);
        return r;
    }
    if (cfg->unix_ext == 1 && !(s.params.caps & SMB1_CAP_UNIX)) {
        conn_why(why, why_len, "the server does not offer CIFS UNIX extensions (unix=1 asked)");
        session_logoff(c, s.mux, s.uid);
        mux_put(s.mux);
        conn_destroy(c);
        return -EPROTONOSUPPORT;
    }
    pthread_mutex_lock(&c->lock);
    publish(c, &s);
    pthread_mutex_unlock(&c->lock);

    r = pthread_create(&c->svc, NULL, svc_main, c);
    if (r) {
        session_logoff(c, s.mux, s.uid);
        mux_put(s.mux);
        conn_destroy(c);
        return -r;
    }
    c->svc_started = true;
    *out = c;
    return 0;
}

void smb1_conn_free(struct smb1_conn *c)
{
    if (!c)
        return;
    if (c->svc_started) {
        pthread_mutex_lock(&c->svc_lock);
        c->svc_stop = true;
        pthread_cond_signal(&c->svc_cond);
        pthread_mutex_unlock(&c->svc_lock);
    }
    pthread_mutex_lock(&c->reconnect_lock);
    pthread_mutex_lock(&c->lock);
    struct mux *mux = c->mux;
    uint16_t uid = c->uid;
    bool live = c->state == CONN_CONNECTED && mux;
    c->mux = NULL;
    set_state(c, CONN_CLOSED);
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_unlock(&c->reconnect_lock);
    if (mux) {
        if (live && !mux_dead(mux))
            session_logoff(c, mux, uid);
        /* Also ends a keep-alive the service thread may be waiting on, so
         * the join below never waits for a dead server's timeout. */
        mux_kill(mux, -ECONNRESET);
    }
    if (c->svc_started)
        pthread_join(c->svc, NULL);
    mux_put(mux);
    struct smb1_stats st;
    smb1_conn_get_stats(c, &st);
    log_info(c->log,
             "%s: %llu requests, %llu bad signatures, %llu unknown MIDs, %llu reconnects, "
             "%llu timeouts, %llu malformed replies",
             c->host, (unsigned long long)st.requests, (unsigned long long)st.bad_signatures,
             (unsigned long long)st.unknown_mids, (unsigned long long)st.reconnects,
             (unsigned long long)st.timeouts, (unsigned long long)st.malformed);
    conn_destroy(c);
}

int smb1_echo(struct smb1_conn *c)
{
    struct msg_out m;
    int r = echo_build(&m);
    if (r)
        return r;
    struct msg_in in;
    r = conn_call(c, NULL, &m, &in, CONN_NO_TREE | CONN_IDEMPOTENT);
    if (r)
        return r;
    r = echo_check(c, &in);
    msg_in_free(&in);
    return r;
}

/* Used by session.c to give each mux the connection's shared hooks. */
void conn_mux_opts(struct smb1_conn *c, struct mux_opts *o)
{
    o->stats = &c->stats;
    o->log = c->log;
    o->unsolicited = on_unsolicited;
    o->unsolicited_arg = c;
    /* Called only while this mux is being set up, by the one thread that
     * may publish it (under reconnect_lock, or before smb1_conn_new
     * returns): it becomes the next epoch. */
    pthread_mutex_lock(&c->lock);
    o->epoch = c->epoch + 1;
    pthread_mutex_unlock(&c->lock);
    o->obs = c->mux_obs;
}
