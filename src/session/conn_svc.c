/* The connection's service thread: oplock breaks, the idle keep-alive
 * and the liveness probe of requests that wait (see the design in
 * conn.c and smb1_config.request_timeout_ms), and smb1_echo. */
#include "session/conn_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "support/clock.h"
#include "wire/ntstatus.h"
#include "wire/smb1_proto.h"

int conn_break_decode(const struct msg_in *in, uint16_t *fid, uint8_t *level)
{
    struct wire_reader w;
    msg_in_words(in, &w);
    wire_skip(&w, 4); /* AndX */
    *fid = wire_u16(&w);
    uint8_t type = wire_u8(&w);
    *level = wire_u8(&w);
    return wire_ok(&w) && (type & SMB1_LOCK_OPLOCK_RELEASE) ? 0 : -EIO;
}

/* Reader thread: never blocks on a round trip, so it only queues. */
void conn_on_unsolicited(void *arg, struct msg_in *in)
{
    struct smb1_conn *c = arg;
    uint16_t fid;
    uint8_t level;
    int bad = conn_break_decode(in, &fid, &level);
    uint16_t tid = in->tid;
    uint64_t epoch = in->epoch;
    msg_in_free(in);
    if (bad) {
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

int conn_echo_decode(const struct msg_in *in)
{
    int r = ntstatus_to_errno(in->status);
    if (r)
        return r;
    struct wire_reader w, b;
    msg_in_words(in, &w);
    msg_in_bytes(in, &b);
    uint16_t seq = wire_u16(&w);
    const uint8_t *p = wire_bytes(&b, sizeof(echo_data));
    if (!wire_ok(&w) || !wire_ok(&b) || seq != 1 || !p || memcmp(p, echo_data, sizeof(echo_data)))
        return -EPROTO;
    return 0;
}

/* 0 when in is a successful ECHO reply carrying what echo_build sent. */
static int echo_check(struct smb1_conn *c, const struct msg_in *in)
{
    int r = conn_echo_decode(in);
    if (r == -EPROTO) {
        log_err(c->log, "ECHO reply does not echo what was sent");
        return -EIO;
    }
    return r;
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

/* The liveness probe: what the connection tells about a request that has
 * waited a probe interval for its (next) frame.
 * - Frames with MIDs never sent came meanwhile: the server is confused
 *   (-EPROTO: the request is tried once more on a new connection).
 * - Nothing came for as long, or part of a multi-frame reply has come:
 *   an ECHO is sent. No answer within a probe interval: the server is
 *   gone (-ECONNRESET: reconnect and, soft or hard, wait for it). An
 *   answer while the rest of a begun reply has not come: that rest never
 *   will (-EPROTO). An answer otherwise: the server is there and slow;
 *   the request waits until its own bound. */
static void probe(struct smb1_conn *c, const struct conn_live *lv)
{
    int probe_ms = conn_probe_ms(c);
    struct mux_health h;
    mux_health(lv->mux, &h);
    if (h.oldest_ms < probe_ms)
        return;
    if (h.strays) {
        log_err(c->log,
                "%s answers with MIDs that were never sent while a request has waited %lld ms: "
                "dropping the connection",
                c->host, (long long)h.oldest_ms);
        conn_mark_broken(c, lv->mux, -EPROTO);
        return;
    }
    if (h.rx_idle_ms < probe_ms && !h.partial)
        return;
    struct msg_out m;
    if (echo_build(&m))
        return;
    conn_fill_header(&m, lv->uid, 0xFFFF, lv->flags2);
    int64_t sent = mux_now_ms();
    struct msg_in in;
    int r = mux_call(lv->mux, &m, MUX_PROBE, probe_ms, &in, NULL, NULL);
    msg_out_free(&m);
    if (r == 0) {
        r = echo_check(c, &in);
        msg_in_free(&in);
    }
    if (r) {
        if (!mux_dead(lv->mux))
            log_warn(c->log,
                     "%s does not answer: a request has waited %lld ms and an ECHO got no "
                     "answer within %d ms (%s): dropping the connection",
                     c->host, (long long)h.oldest_ms, probe_ms, strerror(-r));
        conn_mark_broken(c, lv->mux, -ECONNRESET);
        return;
    }
    mux_echo_answered(lv->mux, sent);
}

void *conn_svc_main(void *arg)
{
    struct smb1_conn *c = arg;
    int interval = c->cfg.echo_interval_s > 0 ? c->cfg.echo_interval_s : 60;
    /* Ticks: half the keep-alive interval, or half a probe interval. */
    int tick_ms = conn_probe_ms(c) / 2;
    if (tick_ms > interval * 500)
        tick_ms = interval * 500;
    pthread_mutex_lock(&c->svc_lock);
    while (!c->svc_stop) {
        if (!c->brk_head) {
            struct timespec dl;
            clock_mono_after(&dl, tick_ms);
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

        struct conn_live lv;
        if (conn_get_live(c, NULL, CONN_NO_RECONNECT | CONN_NO_TREE, &lv, -1) == 0) {
            int64_t now_s = (int64_t)(clock_mono_ns() / 1000000000u);
            probe(c, &lv);
            if (!mux_dead(lv.mux) && now_s - mux_last_activity(lv.mux) >= interval) {
                int r = echo_on(c, lv.mux, lv.uid, lv.flags2);
                if (r < 0) {
                    log_warn(c->log, "keep-alive ECHO to %s failed: %s", c->host, strerror(-r));
                    conn_mark_broken(c, lv.mux, -ECONNRESET);
                }
            }
            mux_put(lv.mux);
        }
        pthread_mutex_lock(&c->svc_lock);
    }
    pthread_mutex_unlock(&c->svc_lock);
    return NULL;
}

int smb1_echo(struct smb1_conn *c)
{
    CONN_OP(c);
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
