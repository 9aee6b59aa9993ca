/* How a call gets a live connection: the one thread that reconnects
 * (with a back-off between failed tries, and none for a server that keeps
 * refusing us), the others waiting for it within their deadline, and the
 * tree connected again on the new session, its ready hook run before any
 * other caller uses it. conn_call's retry rules are conn.c's. */
#include "session/conn_int.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "support/clock.h"

/* Waits for a reconnect back off from CONN_BACKOFF_MIN_MS, doubling up to
 * CONN_BACKOFF_MAX_MS; a waiting thread looks for an interrupt or an
 * abort every CONN_POLL_MS. */
#define CONN_BACKOFF_MIN_MS 200
#define CONN_BACKOFF_MAX_MS 2000
#define CONN_POLL_MS        200

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
                         now - c->down_since_ms >= conn_request_ms(c) / 2 && c->failed_attempts;
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
