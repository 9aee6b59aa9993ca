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
#include "support/clock.h"
#include "wire/ntstatus.h"
#include "wire/smb1_proto.h"

/* An idempotent request whose connection drops is sent again on the next
 * one: at least CONN_RETRIES times, and under a soft mount as often as its
 * deadline allows, up to CONN_RETRIES_MAX (each try waits for a reconnect,
 * which backs off), so a server that drops several times in a row within
 * the bound loses nothing, and one that drops every request ends in time. */
#define CONN_RETRIES     3
#define CONN_RETRIES_MAX 16
/* Waits for a reconnect back off from CONN_BACKOFF_MIN_MS, doubling up to
 * CONN_BACKOFF_MAX_MS; a waiting thread looks for an interrupt or an
 * abort every CONN_POLL_MS. */
#define CONN_BACKOFF_MIN_MS 200
#define CONN_BACKOFF_MAX_MS 2000
#define CONN_POLL_MS        200
/* A server that ends CONN_DEAD_LOGONS logons in a row before answering
 * anything else is not logged on to again at once: calls fail with -EIO
 * and the next logon waits 1 s, doubling up to 64 s. */
#define CONN_DEAD_LOGONS 2

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
void conn_set_state(struct smb1_conn *c, enum conn_state s)
{
    if (c->state != s)
        log_info(c->log, "connection to %s: %s -> %s (epoch %llu)", c->host,
                 conn_state_name(c->state), conn_state_name(s), (unsigned long long)c->epoch);
    c->state = s;
    if (s == CONN_BROKEN && !c->down_since_ms)
        c->down_since_ms = conn_mono_ms();
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

void conn_fill_header(struct msg_out *req, uint16_t uid, uint16_t tid, uint16_t flags2)
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
    return c->cfg.request_timeout_ms > 0 ? c->cfg.request_timeout_ms : 30000;
}

int conn_request_ms(struct smb1_conn *c)
{
    return timeout_ms(c);
}

int conn_op_bound(const struct smb1_conn *c)
{
    return c && c->cfg.soft ? timeout_ms(c) : -1;
}

int conn_op_wait_ms(const struct smb1_conn *c, int ms)
{
    int64_t until = c->cfg.soft ? conn_op_until() : -1;
    if (until < 0)
        return ms;
    int64_t left = until - conn_mono_ms();
    return left <= 0 ? 0 : left < ms ? (int)left : ms;
}

/* The deadline (monotonic ms) of a call with flags starting now: its own
 * bound (*bound: a request timeout, a probe interval for CONN_BRIEF), or
 * the operation's deadline when that is sooner; -1 with CONN_NO_TIMEOUT.
 * A clean-up whose operation is out of time gets a millisecond: it is
 * sent, and not waited for. */
static int64_t call_deadline(const struct smb1_conn *c, unsigned flags, int *bound)
{
    *bound = (flags & CONN_BRIEF) ? conn_probe_ms(c) : timeout_ms(c);
    if (flags & CONN_NO_TIMEOUT)
        return -1;
    int64_t now = conn_mono_ms();
    int w = conn_op_wait_ms(c, *bound);
    if (w == 0 && (flags & (CONN_BRIEF | CONN_CLEANUP)))
        w = 1;
    return now + w;
}

/* A wait's last round trip against a server that answers gets this much of
 * the operation's bound. */
#define CONN_WAIT_MARGIN_MS 100

int64_t conn_wait_end(struct smb1_conn *c)
{
    int bound = timeout_ms(c);
    int w = conn_op_wait_ms(c, bound);
    if (w < bound)
        w = w > CONN_WAIT_MARGIN_MS ? w - CONN_WAIT_MARGIN_MS : 0;
    return conn_mono_ms() + w;
}

int conn_probe_ms(const struct smb1_conn *c)
{
    int p = timeout_ms(c) / 4;
    return p < 250 ? 250 : p > 10000 ? 10000 : p;
}

int conn_handshake_ms(const struct smb1_conn *c)
{
    return 2 * conn_probe_ms(c);
}

int64_t conn_mono_ms(void)
{
    return clock_mono_ms();
}

int conn_raw_call(struct smb1_conn *c, struct mux *mux, struct msg_out *req, uint16_t uid,
                  uint16_t tid, uint16_t flags2, struct msg_in *resp)
{
    conn_fill_header(req, uid, tid, flags2);
    /* A reconnect made for an operation ends within its deadline too. */
    int ms = conn_op_wait_ms(c, conn_handshake_ms(c));
    if (ms == 0) {
        memset(resp, 0, sizeof(*resp));
        return -ETIMEDOUT;
    }
    return mux_call(mux, req, 0, ms, resp, NULL, NULL);
}

bool conn_pending(struct smb1_conn *c, struct mux *mux)
{
    pthread_mutex_lock(&c->lock);
    bool ok = !c->aborted;
    c->pending_mux = ok ? mux : NULL;
    pthread_mutex_unlock(&c->lock);
    if (!ok && mux)
        mux_kill(mux, -ENOTCONN);
    return ok;
}

static bool is_interrupted(const struct smb1_conn *c)
{
    return c->cfg.interrupted && c->cfg.interrupted(c->cfg.interrupt_arg);
}

/* Caller holds c->lock: waits on state_cond until until_ms at the latest. */
static void wait_until(struct smb1_conn *c, int64_t until_ms)
{
    struct timespec ts = {(time_t)(until_ms / 1000), (long)(until_ms % 1000) * 1000000L};
    pthread_cond_timedwait(&c->state_cond, &c->lock, &ts);
}

/* Marks c broken if mux is still its current one. */
void conn_mark_broken(struct smb1_conn *c, struct mux *mux, int err)
{
    mux_kill(mux, err);
    pthread_mutex_lock(&c->lock);
    if (c->mux == mux && c->state == CONN_CONNECTED)
        conn_set_state(c, CONN_BROKEN);
    pthread_mutex_unlock(&c->lock);
}

void conn_publish(struct smb1_conn *c, struct conn_session *s)
{
    c->mux = s->mux;
    c->uid = s->uid;
    c->epoch++;
    c->epoch_answered = false;
    c->down_since_ms = 0;
    uint64_t unix_caps = c->params.unix_caps;
    c->params = s->params;
    c->params.epoch = c->epoch;
    c->params.unix_caps = unix_caps;
    c->peer = s->peer;
    if (s->peer.signing_active)
        c->signed_once = true;
    conn_set_state(c, CONN_CONNECTED);
}

static bool permanent(int err)
{
    return err == -EACCES || err == -EPERM || err == -EPROTONOSUPPORT || err == -CONN_EINTEGRITY;
}

/* Re-establishes the connection. The caller set the state to
 * RECONNECTING under c->lock (so it is the one thread doing it); others
 * wait on state_cond. A failure sets the back-off before the next try. */
static int do_reconnect(struct smb1_conn *c)
{
    pthread_mutex_lock(&c->reconnect_lock);
    pthread_mutex_lock(&c->lock);
    struct mux *old = c->mux;
    c->mux = NULL;
    pthread_mutex_unlock(&c->lock);
    if (old) {
        mux_kill(old, -ECONNRESET);
        mux_put(old);
    }

    char why[256] = "";
    struct conn_session s;
    memset(&s, 0, sizeof(s));
    int r = session_establish(c, &s, why, sizeof(why));
    conn_pending(c, NULL);
    struct mux *drop = NULL;
    pthread_mutex_lock(&c->lock);
    if (r == 0 && (c->aborted || c->state == CONN_CLOSED)) {
        drop = s.mux;
        r = -ENOTCONN;
    }
    unsigned failed = 0;
    int backoff = 0;
    if (r == 0) {
        conn_publish(c, &s);
        c->failed_attempts = 0;
        c->backoff_ms = 0;
        if (c->dead_logons < CONN_DEAD_LOGONS)
            c->next_attempt_ms = 0;
        __atomic_fetch_add(&c->reconnects, 1, __ATOMIC_RELAXED);
    } else {
        c->last_err = r;
        failed = ++c->failed_attempts;
        backoff = c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : CONN_BACKOFF_MIN_MS;
        if (c->backoff_ms > CONN_BACKOFF_MAX_MS)
            backoff = c->backoff_ms = CONN_BACKOFF_MAX_MS;
        c->next_attempt_ms = conn_mono_ms() + c->backoff_ms;
        if (c->state != CONN_CLOSED)
            conn_set_state(c, CONN_BROKEN);
    }
    pthread_cond_broadcast(&c->state_cond);
    pthread_mutex_unlock(&c->lock);
    if (drop) {
        mux_kill(drop, -ENOTCONN);
        mux_put(drop);
    }
    /* Said once in words, then only now and then. */
    if (r && r != -ENOTCONN) {
        const char *w = why[0] ? why : strerror(-r);
        if (failed == 1)
            log_warn(c->log, "reconnect to %s failed: %s; trying again with growing pauses",
                     c->host, w);
        else if (failed % 20 == 0)
            log_warn(c->log, "reconnect to %s still failing after %u attempts: %s", c->host, failed,
                     w);
        else
            log_debug(c->log, "reconnect to %s failed (attempt %u, next in %d ms): %s", c->host,
                      failed, backoff, w);
    }
    pthread_mutex_unlock(&c->reconnect_lock);
    return r;
}

/* Connects t (again) when its TID belongs to an older epoch. */
static int tree_refresh(struct smb1_conn *c, struct smb1_tree *t, struct conn_live *lv, bool *fresh)
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
            if (t->ready) {
                /* Before another caller can see the tree connected. */
                pthread_mutex_lock(&c->lock);
                t->ready_running = true;
                t->ready_thread = pthread_self();
                pthread_mutex_unlock(&c->lock);
            }
            log_info(c->log, "tree %s connected (TID %u, epoch %llu)", t->unc, tid,
                     (unsigned long long)lv->epoch);
        }
    }
    pthread_mutex_unlock(&c->reconnect_lock);
    return r;
}

/* Caller holds c->lock: waits one poll step (until first, when >= 0, and
 * deadline, when >= 0, at the latest) and releases the lock. -EINTR when
 * the caller was interrupted meanwhile. */
static int poll_step(struct smb1_conn *c, int64_t first, int64_t deadline)
{
    int64_t until = conn_mono_ms() + CONN_POLL_MS;
    if (first >= 0 && first < until)
        until = first;
    if (deadline >= 0 && deadline < until)
        until = deadline;
    wait_until(c, until);
    pthread_mutex_unlock(&c->lock);
    return is_interrupted(c) ? -EINTR : 0;
}

/* Waits while another thread runs t's ready hook (its own requests go
 * on). 0, or -ETIMEDOUT at deadline, -EINTR, -ENOTCONN. */
static int ready_wait(struct smb1_conn *c, struct smb1_tree *t, int64_t deadline)
{
    pthread_mutex_lock(&c->lock);
    while (t->ready_running && !pthread_equal(t->ready_thread, pthread_self())) {
        int r = c->aborted                                    ? -ENOTCONN
                : deadline >= 0 && conn_mono_ms() >= deadline ? -ETIMEDOUT
                                                              : 0;
        if (r) {
            pthread_mutex_unlock(&c->lock);
            return r;
        }
        if (poll_step(c, -1, deadline))
            return -EINTR;
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* Gets the live mux (reconnecting when needed) and t's current TID.
 * deadline (monotonic ms, -1: none) bounds the wait for a reconnect:
 * -ETIMEDOUT after it. Waits end early with -EINTR on an interrupt and
 * -ENOTCONN on an abort. */
int conn_get_live(struct smb1_conn *c, struct smb1_tree *t, unsigned flags, struct conn_live *lv,
                  int64_t deadline)
{
    for (;;) {
        pthread_mutex_lock(&c->lock);
        if (c->aborted) {
            pthread_mutex_unlock(&c->lock);
            return -ENOTCONN;
        }
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
            conn_set_state(c, CONN_BROKEN);
        if (flags & CONN_NO_RECONNECT) {
            pthread_mutex_unlock(&c->lock);
            return -ECONNRESET;
        }
        int64_t now = conn_mono_ms();
        bool busy = c->state == CONN_RECONNECTING;
        if (!busy && now < c->next_attempt_ms) {
            /* Backing off. A server that keeps ending our sessions or
             * refusing us gets no wait from the callers: they fail now. */
            int e = c->dead_logons >= CONN_DEAD_LOGONS ? -EIO
                    : permanent(c->last_err)           ? c->last_err
                                                       : 0;
            if (e) {
                pthread_mutex_unlock(&c->lock);
                return conn_public_err(e);
            }
        }
        /* soft, and the server has been away for half a bound: it is
         * not a restart, so calls fail now instead of each waiting. */
        bool long_down = deadline >= 0 && c->down_since_ms &&
                         now - c->down_since_ms >= timeout_ms(c) / 2 && c->failed_attempts;
        if (busy || now < c->next_attempt_ms) {
            if ((deadline >= 0 && now >= deadline) || long_down) {
                pthread_mutex_unlock(&c->lock);
                return -ETIMEDOUT;
            }
            if (poll_step(c, busy ? -1 : c->next_attempt_ms, deadline))
                return -EINTR;
            continue;
        }
        conn_set_state(c, CONN_RECONNECTING);
        pthread_mutex_unlock(&c->lock);
        int r = do_reconnect(c);
        if (r && permanent(r))
            return conn_public_err(r);
    }
    lv->tid = 0xFFFF;
    if (t && !(flags & CONN_NO_TREE)) {
        bool fresh;
        int r = tree_refresh(c, t, lv, &fresh);
        if (r) {
            mux_put(lv->mux);
            return r;
        }
        if (fresh && t->ready) {
            t->ready(t);
            pthread_mutex_lock(&c->lock);
            /* (Not when another thread runs it for a newer epoch now.) */
            if (pthread_equal(t->ready_thread, pthread_self()))
                t->ready_running = false;
            pthread_cond_broadcast(&c->state_cond);
            pthread_mutex_unlock(&c->lock);
        } else if ((r = ready_wait(c, t, deadline))) {
            mux_put(lv->mux);
            return r;
        }
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

/* The server ended the session of epoch: counts a logon that died before
 * anything else was answered, says so once, and tells whether to log on
 * again at once (else the caller fails with -EIO and the next logon waits). */
static bool session_ended(struct smb1_conn *c, uint64_t epoch, uint32_t st, bool retried)
{
    pthread_mutex_lock(&c->lock);
    if (c->epoch == epoch && !c->epoch_answered)
        c->dead_logons++;
    unsigned n = c->dead_logons;
    bool again = !retried && n < CONN_DEAD_LOGONS;
    bool say = !again && n >= CONN_DEAD_LOGONS && !c->dead_logons_said;
    if (say)
        c->dead_logons_said = true;
    if (n >= CONN_DEAD_LOGONS) {
        unsigned k = n - CONN_DEAD_LOGONS;
        c->next_attempt_ms = conn_mono_ms() + (1000 << (k < 6 ? k : 6));
    }
    pthread_mutex_unlock(&c->lock);
    if (say)
        log_err(c->log,
                "%s ends every session at once (%s to the first request after logon and tree "
                "connect, %u times in a row): the share's path probably does not exist on the "
                "server or the user may not enter it (its permissions); giving up with EIO",
                c->host, ntstatus_name(st), n);
    else if (again)
        log_info(c->log, "session ended by the server (%s); logging on again", ntstatus_name(st));
    return again;
}

/* A request of epoch got an answer: the logon works. */
static void epoch_answered(struct smb1_conn *c, uint64_t epoch)
{
    pthread_mutex_lock(&c->lock);
    if (c->epoch == epoch && !c->epoch_answered) {
        c->epoch_answered = true;
        c->dead_logons = 0;
        c->dead_logons_said = false;
    }
    pthread_mutex_unlock(&c->lock);
}

/* One request (with nparts secondaries after it, for a multi-part
 * transaction) and its retries, within the call's bound (see
 * smb1_config.request_timeout_ms). A status retry happens only on the
 * first frame handed to mc, before the caller has seen any reply: with
 * parts that is the interim error or the final reply, and either way the
 * server has not run the transaction (a stale tree or session is
 * refused). A protocol error (-EPROTO from the mux: MIDs never sent,
 * replies that trickle or never end) is tried once more on a new
 * connection when the request is idempotent, and is -EIO when it comes
 * again: it is the server's doing, not an outage. */
static bool retry_allowed(int attempts, int64_t deadline)
{
    if (attempts < CONN_RETRIES)
        return true;
    return attempts < CONN_RETRIES_MAX && deadline >= 0 && conn_mono_ms() < deadline;
}

static int call_common(struct smb1_conn *c, struct smb1_tree *t, struct msg_out *req,
                       struct msg_out *parts, size_t nparts, struct msg_in *resp,
                       struct multi_ctx *mc, unsigned flags)
{
    int r;
    int attempts = 0;
    bool tree_retried = false, session_retried = false, proto_retried = false;
    if (t && t->conn != c)
        return -EINVAL;
    int bound;
    int64_t deadline = call_deadline(c, flags, &bound);
    if (deadline >= 0 && (r = conn_stall_check(c, req->cmd)) != 0) {
        conn_status_note(c, req->cmd, r);
        return r;
    }
    for (;;) {
        struct conn_live lv;
        r = conn_get_live(c, t, flags, &lv, c->cfg.soft ? deadline : -1);
        /* The connection can drop again during the tree connect that
         * follows a reconnect: the same outage as a drop in flight. */
        if (r == -ECONNRESET && (flags & CONN_IDEMPOTENT) && !(flags & CONN_NO_RECONNECT) &&
            retry_allowed(++attempts, deadline))
            continue;
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
        /* soft: what is left of the bound; hard: a whole one for the reply
         * of a server that is there (the wait for one that is not is above). */
        int tmo = bound;
        if (c->cfg.soft && deadline >= 0) {
            int64_t left = deadline - conn_mono_ms();
            if (left <= 0 && (flags & (CONN_BRIEF | CONN_CLEANUP)) && !attempts)
                left = 1; /* sent, not waited for */
            if (left <= 0) {
                mux_put(lv.mux);
                r = -ETIMEDOUT;
                break;
            }
            tmo = (int)left;
        }
        conn_fill_header(req, lv.uid, lv.tid, lv.flags2);
        for (size_t i = 0; i < nparts; i++)
            conn_fill_header(&parts[i], lv.uid, lv.tid, lv.flags2);
        unsigned mflags = (flags & CONN_NO_TIMEOUT) ? MUX_NO_TIMEOUT : 0;
        uint32_t st = 0;
        int64_t sent = conn_mono_ms();
        if (mc) {
            mc->first = true;
            mc->retry_status = false;
            mc->epoch = lv.epoch;
            r = mux_call_parts(lv.mux, req, parts, nparts, mflags | MUX_MULTI, tmo, multi_frame,
                               mc);
            st = mc->status;
            if (r == 0 && !mc->retry_status)
                st = 0;
        } else {
            r = mux_call(lv.mux, req, mflags, tmo, resp, NULL, NULL);
            if (r == 0) {
                st = resp->status;
                resp->epoch = lv.epoch;
            }
        }
        /* A wait cut short (a brief call, or the operation's deadline was
         * near) going its short bound is no verdict on the server: only
         * one of at least three quarters of a request bound is. */
        if (deadline >= 0 && !(r == -ETIMEDOUT && (int64_t)tmo * 4 < (int64_t)timeout_ms(c) * 3))
            conn_stall_note(c, req->cmd, sent, r);
        bool tree_stale = st == NT_STATUS_NETWORK_NAME_DELETED && t && !tree_retried;
        bool session_gone =
            st == NT_STATUS_USER_SESSION_DELETED || st == NT_STATUS_NETWORK_SESSION_EXPIRED;
        if (r == 0 && !session_gone)
            epoch_answered(c, lv.epoch);
        if (r == 0 && (tree_stale || session_gone)) {
            if (!mc)
                msg_in_free(resp);
            bool again = true;
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
                conn_mark_broken(c, lv.mux, -ECONNRESET);
            } else {
                again = session_ended(c, lv.epoch, st, session_retried);
                session_retried = true;
                conn_mark_broken(c, lv.mux, -ECONNRESET);
            }
            mux_put(lv.mux);
            if (again)
                continue;
            r = -EIO;
            break;
        }
        mux_put(lv.mux);
        if (r == -ECONNRESET && (flags & CONN_IDEMPOTENT) && !(flags & CONN_NO_RECONNECT) &&
            retry_allowed(++attempts, deadline)) {
            log_info(c->log, "%s: connection lost, retrying (attempt %d)", msg_cmd_name(req->cmd),
                     attempts + 1);
            continue;
        }
        if (r == -EPROTO && (flags & CONN_IDEMPOTENT) && !(flags & CONN_NO_RECONNECT) &&
            !proto_retried) {
            proto_retried = true;
            log_info(c->log, "%s: protocol error from %s; trying once more on a new connection",
                     msg_cmd_name(req->cmd), c->host);
            continue;
        }
        break;
    }
    if (r == -EPROTO) {
        log_warn(c->log, "%s to %s failed: the server does not follow the protocol (EIO)",
                 msg_cmd_name(req->cmd), c->host);
        r = -EIO;
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
    struct conn_live lv;
    int r = t && t->conn != c ? -EINVAL : n ? conn_stall_check(c, reqs[0].cmd) : 0;
    int bound;
    int64_t deadline = call_deadline(c, flags, &bound);
    if (r == 0)
        r = conn_get_live(c, t, flags, &lv, c->cfg.soft ? deadline : -1);
    if (r == 0) {
        /* As in call_common: a handle never reaches a newer connection. */
        for (size_t i = 0; i < n && r == 0; i++)
            if (reqs[i].want_epoch && reqs[i].want_epoch != lv.epoch)
                r = -ECONNRESET;
        if (r == 0) {
            for (size_t i = 0; i < n; i++)
                conn_fill_header(&reqs[i], lv.uid, lv.tid, lv.flags2);
            int64_t sent = conn_mono_ms();
            /* soft: within the operation's deadline; hard: a bound a reply. */
            int64_t end = c->cfg.soft ? deadline : -1;
            int tmo = end >= 0 && end - sent < bound ? (int)(end - sent) : bound;
            if (tmo <= 0)
                tmo = 1;
            mux_call_many(lv.mux, reqs, n, window, bound, end, resps, res);
            for (size_t i = 0; i < n; i++)
                if (!(res[i] == -ETIMEDOUT && (int64_t)tmo * 4 < (int64_t)bound * 3))
                    conn_stall_note(c, reqs[i].cmd, sent, res[i]);
            for (size_t i = 0; i < n; i++)
                if (res[i] == -EPROTO)
                    res[i] = -EIO;
                else if (res[i] == 0)
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

int conn_start(struct smb1_conn *c, struct smb1_tree *t, struct msg_out *reqs, size_t n, bool wait,
               unsigned flags, struct conn_ticket *tk)
{
    struct conn_live lv;
    if (t && t->conn != c)
        return -EINVAL;
    int bound;
    int64_t deadline = call_deadline(c, flags, &bound);
    int r = conn_get_live(c, t, flags | (wait ? 0 : CONN_NO_RECONNECT), &lv,
                          c->cfg.soft ? deadline : -1);
    if (r)
        return r;
    /* As in call_common: a handle never reaches a newer connection. */
    for (size_t i = 0; i < n && r == 0; i++)
        if (reqs[i].want_epoch && reqs[i].want_epoch != lv.epoch)
            r = -ECONNRESET;
    struct mux_ticket mt[32];
    if (r == 0) {
        for (size_t i = 0; i < n && i < 32; i++)
            conn_fill_header(&reqs[i], lv.uid, lv.tid, lv.flags2);
        int64_t left = deadline - conn_mono_ms();
        int tmo = c->cfg.soft && left < bound ? (int)left : bound;
        r = tmo > 0 ? mux_start(lv.mux, reqs, n, wait, tmo, mt) : -ETIMEDOUT;
    }
    for (int i = 0; i < r; i++) {
        mux_get(lv.mux);
        tk[i] = (struct conn_ticket){.mux = lv.mux, .epoch = lv.epoch, .mt = mt[i]};
    }
    mux_put(lv.mux);
    return r == -EPROTO ? -EIO : r;
}

bool conn_ticket_ready(const struct conn_ticket *tk)
{
    return mux_ticket_ready(tk->mux, &tk->mt);
}

int conn_finish(struct smb1_conn *c, struct conn_ticket *tk, struct msg_out *req,
                struct msg_in *resp)
{
    /* The ticket is collected either way: out of time, it is abandoned. */
    int tmo = conn_op_wait_ms(c, timeout_ms(c));
    int r = mux_finish(tk->mux, &tk->mt, req, tmo ? tmo : 1, resp);
    if (r == 0) {
        resp->epoch = tk->epoch;
        epoch_answered(c, tk->epoch);
    }
    mux_put(tk->mux);
    tk->mux = NULL;
    return r == -EPROTO ? -EIO : r;
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
    struct conn_live lv;
    int r = conn_get_live(c, t, CONN_NO_RECONNECT | (t ? 0 : CONN_NO_TREE), &lv, -1);
    if (r == 0) {
        /* As in call_common: a handle never reaches a newer connection. */
        if (req->want_epoch && req->want_epoch != lv.epoch) {
            r = -ECONNRESET;
        } else {
            conn_fill_header(req, lv.uid, lv.tid, lv.flags2);
            r = mux_send_oneway(lv.mux, req, false);
        }
        mux_put(lv.mux);
    }
    msg_out_free(req);
    return r;
}

int conn_ensure(struct smb1_conn *c, struct smb1_tree *t, uint64_t *epoch)
{
    struct conn_live lv;
    int bound;
    int64_t deadline = call_deadline(c, 0, &bound);
    int r = conn_get_live(c, t, t ? 0 : CONN_NO_TREE, &lv, c->cfg.soft ? deadline : -1);
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

bool conn_splice_ok(struct smb1_conn *c)
{
    pthread_mutex_lock(&c->lock);
    bool ok = !c->peer.signing_active && !c->signed_once && !c->mux_obs;
    pthread_mutex_unlock(&c->lock);
    return ok;
}

bool smb1_conn_splice_ok(struct smb1_conn *c)
{
    return conn_splice_ok(c);
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
