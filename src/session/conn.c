/* Connection lifecycle: the state machine (connected -> broken ->
 * reconnecting -> connected, one epoch per connection) and conn_call with
 * its retry rules. How a call gets a live connection (the reconnect, its
 * back-off, the tree connected again) is conn_live.c; the service thread
 * (idle keep-alive, oplock breaks) conn_svc.c. Negotiate and session
 * setup live in session.c, tree connect in tree.c. */
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
