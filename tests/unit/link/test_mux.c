/* The dispatcher alone, over a socketpair with a scripted peer: signing
 * sequence numbers with many requests in flight and replies out of order,
 * the in-flight cap, MID uniqueness and wrap-around, unknown MIDs, bad
 * signatures, timeouts and late replies. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "link/md5_multi.h"
#include "link/mux.h"
#include "mux_pair.h"
#include "link/nbt.h"
#include "link/sign.h"
#include "wire/smb1_proto.h"

#define MAXQ 64

struct held {
    uint8_t *buf;
    size_t len;
    uint16_t mid;
};

struct peer {
    int fd;
    pthread_t thr;
    bool signing;
    struct sign_key key;
    uint32_t seq;
    unsigned batch; /* hold up to this many, answer in reverse */
    int hold_ms;    /* ... or until none came for this long (0: 20) */
    /* results, read after join */
    unsigned requests, bad_seq, dup_mids, max_held;
    unsigned mid_min, mid_max, wraps;
    uint16_t last_mid;
    struct held q[MAXQ];
    unsigned nq;
};

static struct smb1_log lg;
static struct mux_stats stats;
/* Set by a test before start(): the observer the mux reports to, and how
 * long the reader thread leaves the socket to callers (0: the default). */
static const struct smb1_observer *test_obs;
static int test_grace_ms;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void send_frame(int fd, uint8_t *buf, size_t len)
{
    nbt_put_header(buf, len - 4);
    /* The client may have dropped the connection (a bad MAC kills it):
     * the peer then finds EOF on its next read. */
    (void)nbt_write_all(fd, buf, len);
}

static void flush(struct peer *p)
{
    while (p->nq) {
        struct held *h = &p->q[--p->nq];
        send_frame(p->fd, h->buf, h->len);
        free(h->buf);
    }
}

static void *peer_main(void *arg)
{
    struct peer *p = arg;
    p->mid_min = 0xFFFF;
    for (;;) {
        if (p->nq) {
            struct pollfd pf = {.fd = p->fd, .events = POLLIN};
            if (p->nq >= p->batch || poll(&pf, 1, p->hold_ms ? p->hold_ms : 20) == 0) {
                flush(p);
                continue;
            }
        }
        uint8_t *smb = NULL;
        size_t len = 0;
        const char *why;
        if (nbt_read_frame(p->fd, 1 << 20, &smb, &len, &why))
            break;
        p->requests++;
        uint16_t mid = wire_le16(smb + SMB1_HDR_MID);
        if (mid < p->mid_min)
            p->mid_min = mid;
        if (mid > p->mid_max)
            p->mid_max = mid;
        if (mid < p->last_mid)
            p->wraps++;
        p->last_mid = mid;
        for (unsigned i = 0; i < p->nq; i++)
            if (p->q[i].mid == mid)
                p->dup_mids++;
        uint32_t rseq = 0;
        if (p->signing) {
            if (!sign_verify(&p->key, smb, len, p->seq))
                p->bad_seq++;
            rseq = p->seq + 1;
            p->seq += 2;
        }
        /* An ECHO reply has the request's shape: flip the REPLY flag. */
        uint8_t *out = malloc(len + 4);
        memcpy(out + 4, smb, len);
        uint8_t *r = out + 4;
        r[SMB1_HDR_FLAGS] |= SMB1_FLAGS_REPLY;
        const uint8_t *payload = smb + 32 + 1 + 2 + 2;
        bool late = len >= 41 && !memcmp(payload, "LATE", 4);
        bool bads = len >= 41 && !memcmp(payload, "BADS", 4);
        bool unkn = len >= 41 && !memcmp(payload, "UNKN", 4);
        bool dupl = len >= 41 && !memcmp(payload, "DUPL", 4);
        /* LAT3: late, in three frames (a reply in several, as TRANS2's). */
        bool lat3 = len >= 41 && !memcmp(payload, "LAT3", 4);
        late = late || lat3;
        if (p->signing)
            sign_apply(&p->key, r, len, rseq);
        if (bads)
            r[SMB1_HDR_SIGNATURE] ^= 0x80;
        if (unkn) {
            uint8_t *copy = malloc(len + 4);
            memcpy(copy, out, len + 4);
            wire_st16(copy + 4 + SMB1_HDR_MID, (uint16_t)(mid ^ 0x4000));
            send_frame(p->fd, copy, len + 4);
            free(copy);
        }
        if (dupl) {
            uint8_t *copy = malloc(len + 4);
            memcpy(copy, out, len + 4);
            send_frame(p->fd, copy, len + 4);
            free(copy);
        }
        free(smb);
        if (late)
            sleep_ms(400);
        for (int k = 0; lat3 && k < 2; k++)
            send_frame(p->fd, out, len + 4);
        if (p->batch > 1) {
            p->q[p->nq].buf = out;
            p->q[p->nq].len = len + 4;
            p->q[p->nq].mid = mid;
            p->nq++;
            if (p->nq > p->max_held)
                p->max_held = p->nq;
        } else {
            send_frame(p->fd, out, len + 4);
            free(out);
        }
    }
    flush(p);
    return NULL;
}

static struct mux *start(struct peer *p, unsigned inflight, bool signing, unsigned batch)
{
    mux_pair_log_init(&lg);
    memset(&stats, 0, sizeof(stats));
    memset(p, 0, sizeof(*p));
    p->batch = batch;
    struct mux_opts o = {.max_frame = 1 << 20,
                         .max_inflight = inflight,
                         .stats = &stats,
                         .log = &lg,
                         .obs = test_obs,
                         .lead_grace_ms = test_grace_ms};
    struct mux *m = mux_pair_open(&o, signing, &p->key, &p->seq, &p->fd);
    p->signing = signing;
    cr_assert_eq(pthread_create(&p->thr, NULL, peer_main, p), 0);
    return m;
}

static void stop(struct mux *m, struct peer *p)
{
    mux_pair_close(m, p->thr, p->fd);
    log_destroy(&lg);
}

/* One ECHO carrying payload; checks that the reply carries it back. */
static int echo(struct mux *m, const char *payload, int timeout_ms)
{
    struct msg_out req;
    cr_assert_eq(msg_out_init(&req, SMB1_COM_ECHO, 128), 0);
    msg_words_begin(&req);
    wire_put_u16(&req.w, 1);
    msg_words_end(&req);
    msg_bytes_begin(&req);
    wire_put_bytes(&req.w, payload, strlen(payload));
    msg_bytes_end(&req);
    struct msg_in in;
    int r = mux_call(m, &req, 0, timeout_ms, &in, NULL, NULL);
    msg_out_free(&req);
    if (r)
        return r;
    struct wire_reader b;
    msg_in_bytes(&in, &b);
    const uint8_t *d = wire_bytes(&b, strlen(payload));
    cr_assert(d && !memcmp(d, payload, strlen(payload)), "reply for another request");
    cr_assert_eq(wire_remaining(&b), 0);
    msg_in_free(&in);
    return 0;
}

struct worker {
    struct mux *m;
    int id, n, failures;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < w->n; i++) {
        char payload[32];
        snprintf(payload, sizeof(payload), "t%02d-req%05d", w->id, i);
        if (echo(w->m, payload, 5000))
            w->failures++;
    }
    return NULL;
}

static void run_workers(struct mux *m, int nthreads, int per)
{
    pthread_t th[32];
    struct worker w[32];
    for (int i = 0; i < nthreads; i++) {
        w[i] = (struct worker){.m = m, .id = i, .n = per};
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < nthreads; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(w[i].failures, 0, "thread %d: %d failures", i, w[i].failures);
    }
}

Test(mux, signed_many_in_flight_out_of_order)
{
    struct peer p;
    struct mux *m = start(&p, 8, true, 8);
    run_workers(m, 12, 150);
    stop(m, &p);
    cr_assert_eq(p.requests, 12 * 150);
    /* Wire order equals sequence order, every request verified. */
    cr_assert_eq(p.bad_seq, 0);
    cr_assert_eq(p.dup_mids, 0);
    cr_assert_eq(p.max_held, 8, "replies were never 8 deep: %u", p.max_held);
    cr_assert_eq(stats.bad_signatures, 0);
    cr_assert_eq(stats.unknown_mids, 0);
}

Test(mux, inflight_cap_respected)
{
    struct peer p;
    struct mux *m = start(&p, 3, false, 16);
    run_workers(m, 8, 60);
    stop(m, &p);
    cr_assert_eq(p.requests, 8 * 60);
    cr_assert_leq(p.max_held, 3);
    cr_assert_eq(p.max_held, 3);
}

Test(mux, mid_never_zero_or_ffff_and_wraps)
{
    struct peer p;
    struct mux *m = start(&p, 1, false, 1);
    for (int i = 0; i < 0xFFFE + 20; i++)
        cr_assert_eq(echo(m, "x", 5000), 0);
    stop(m, &p);
    cr_assert_eq(p.mid_min, 1);
    cr_assert_eq(p.mid_max, 0xFFFE);
    cr_assert_eq(p.wraps, 1);
}

Test(mux, unknown_mid_counted_and_dropped)
{
    struct peer p;
    struct mux *m = start(&p, 4, true, 1);
    cr_assert_eq(echo(m, "UNKN-1", 2000), 0);
    cr_assert_eq(echo(m, "after", 2000), 0);
    stop(m, &p);
    cr_assert_eq(stats.unknown_mids, 1);
    cr_assert_eq(stats.bad_signatures, 0);
}

Test(mux, bad_signature_kills_connection)
{
    struct peer p;
    struct mux *m = start(&p, 4, true, 1);
    cr_assert_eq(echo(m, "fine", 2000), 0);
    cr_assert_eq(echo(m, "BADS", 2000), -EIO);
    cr_assert_eq(stats.bad_signatures, 1);
    cr_assert_eq(mux_dead(m), -EIO);
    cr_assert_eq(echo(m, "next", 2000), -EIO);
    stop(m, &p);
}

Test(mux, timeout_then_late_reply_dropped)
{
    struct peer p;
    struct mux *m = start(&p, 4, true, 1);
    cr_assert_eq(echo(m, "LATE", 150), -ETIMEDOUT);
    /* Sent while the peer sleeps; answered after the late reply. */
    cr_assert_eq(echo(m, "next", 3000), 0);
    cr_assert_eq(echo(m, "more", 3000), 0);
    stop(m, &p);
    cr_assert_eq(stats.timeouts, 1);
    cr_assert_eq(stats.late_replies, 1);
    cr_assert_eq(stats.bad_signatures, 0);
    cr_assert_eq(p.bad_seq, 0);
}

static int want_more(void *arg, const struct msg_in *in)
{
    (void)arg;
    (void)in;
    return 1;
}

/* A reply in several frames that comes after its request gave up: every
 * frame of it is dropped as late, none is taken for a stray (which the
 * liveness probe would take for a server answering MIDs never sent), and
 * its MID is not given to another request while the frames come. */
Test(mux, late_reply_in_several_frames_dropped)
{
    struct peer p;
    struct mux *m = start(&p, 4, true, 1);
    struct msg_out req;
    cr_assert_eq(msg_out_init(&req, SMB1_COM_ECHO, 128), 0);
    msg_words_begin(&req);
    wire_put_u16(&req.w, 1);
    msg_words_end(&req);
    msg_bytes_begin(&req);
    wire_put_bytes(&req.w, "LAT3", 4);
    msg_bytes_end(&req);
    cr_assert_eq(mux_call(m, &req, MUX_MULTI, 150, NULL, want_more, NULL), -ETIMEDOUT);
    msg_out_free(&req);
    for (int i = 0; i < 20; i++)
        cr_assert_eq(echo(m, "next", 3000), 0);
    stop(m, &p);
    cr_assert_eq(stats.timeouts, 1);
    cr_assert_eq(stats.late_replies, 1);
    cr_assert_eq(stats.unknown_mids, 0, "%llu frames of the late reply taken for strays",
                 (unsigned long long)stats.unknown_mids);
    cr_assert_eq(stats.bad_signatures, 0);
}

Test(mux, peer_close_fails_waiters)
{
    struct peer p;
    struct mux *m = start(&p, 4, false, 1);
    cr_assert_eq(echo(m, "ok", 2000), 0);
    shutdown(p.fd, SHUT_RDWR);
    pthread_join(p.thr, NULL);
    int r = echo(m, "gone", 2000);
    cr_assert(r == -ECONNRESET, "got %d", r);
    mux_put(m);
    close(p.fd);
    log_destroy(&lg);
}

Test(mux, duplicate_reply_dropped)
{
    struct peer p;
    struct mux *m = start(&p, 4, true, 1);
    cr_assert_eq(echo(m, "DUPL-1", 2000), 0);
    for (int i = 0; i < 20; i++)
        cr_assert_eq(echo(m, "next", 2000), 0);
    stop(m, &p);
    cr_assert_eq(stats.unknown_mids, 1);
    cr_assert_eq(stats.bad_signatures, 0);
}

/* ---- mux_call_many: one thread, many requests in flight ---- */

/* n requests shaped like the ECHOs above but sent as READ_ANDX (the peer
 * echoes any command), each with a distinct payload of len bytes, so the
 * replies are long enough for the reader to batch their MACs. */
static void many_build(struct msg_out *reqs, size_t n, size_t len, const char *bad, size_t bad_at)
{
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(msg_out_init(&reqs[i], SMB1_COM_READ_ANDX, len + 64), 0);
        msg_words_begin(&reqs[i]);
        wire_put_u16(&reqs[i].w, 1);
        msg_words_end(&reqs[i]);
        msg_bytes_begin(&reqs[i]);
        char head[32];
        snprintf(head, sizeof(head), "%s%06zu", bad && i == bad_at ? bad : "many", i);
        wire_put_bytes(&reqs[i].w, head, strlen(head));
        for (size_t k = strlen(head); k < len; k++)
            wire_put_u8(&reqs[i].w, (uint8_t)(k * 13 + i));
        msg_bytes_end(&reqs[i]);
    }
}

/* The reply i carries request i's payload back. */
static bool many_reply_ok(const struct msg_in *in, size_t i, size_t len)
{
    struct wire_reader b;
    msg_in_bytes(in, &b);
    const uint8_t *d = wire_bytes(&b, len);
    char head[32];
    snprintf(head, sizeof(head), "many%06zu", i);
    if (!d || memcmp(d, head, strlen(head)) != 0)
        return false;
    for (size_t k = strlen(head); k < len; k++)
        if (d[k] != (uint8_t)(k * 13 + i))
            return false;
    return true;
}

static void many_run(struct mux *m, size_t n, size_t len, size_t window, const char *bad,
                     size_t bad_at, int *res, bool *ok)
{
    struct msg_out *reqs = calloc(n, sizeof(*reqs));
    struct msg_in *resps = calloc(n, sizeof(*resps));
    cr_assert(reqs && resps);
    many_build(reqs, n, len, bad, bad_at);
    mux_call_many(m, reqs, n, window, 5000, -1, resps, res);
    for (size_t i = 0; i < n; i++) {
        ok[i] = res[i] == 0 && many_reply_ok(&resps[i], i, len);
        if (res[i] == 0)
            msg_in_free(&resps[i]);
        msg_out_free(&reqs[i]);
    }
    free(reqs);
    free(resps);
}

Test(mux, many_pipelined_signed_batches)
{
    enum { N = 48, LEN = 9000 };
    struct peer p;
    struct mux *m = start(&p, 50, true, 16);
    int res[N];
    bool ok[N];
    many_run(m, N, LEN, 16, NULL, 0, res, ok);
    for (size_t i = 0; i < N; i++)
        cr_assert(ok[i], "request %zu: %d", i, res[i]);
    /* Still usable, and in sequence, for ordinary calls. */
    cr_assert_eq(echo(m, "after", 2000), 0);
    stop(m, &p);
    cr_assert_eq(p.bad_seq, 0);
    /* One thread kept 16 requests in flight (the peer held them all). */
    cr_assert_eq(p.max_held, 16, "held at most %u", p.max_held);
    cr_assert_eq(stats.bad_signatures, 0);
    if (md5_multi_fast())
        cr_assert_gt(stats.batched_macs, 0, "no reply was checked in a batch");
    else
        cr_assert_eq(stats.batched_macs, 0);
}

Test(mux, many_bad_mac_in_a_batch_is_caught)
{
    enum { N = 24, LEN = 9000, BAD = 5 };
    struct peer p;
    struct mux *m = start(&p, 50, true, 12);
    int res[N];
    bool ok[N];
    many_run(m, N, LEN, 12, "BADS", BAD, res, ok);
    cr_assert_eq(res[BAD], -EIO);
    cr_assert_eq(stats.bad_signatures, 1);
    cr_assert_eq(mux_dead(m), -EIO);
    /* Replies checked good before the kill may have been handed over; no
     * request succeeded with another's bytes. */
    for (size_t i = 0; i < N; i++)
        cr_assert(res[i] != 0 || ok[i], "request %zu returned wrong bytes", i);
    stop(m, &p);
}

Test(mux, many_window_and_cap_respected)
{
    enum { N = 30, LEN = 200 };
    struct peer p;
    struct mux *m = start(&p, 50, false, 64);
    int res[N];
    bool ok[N];
    many_run(m, N, LEN, 3, NULL, 0, res, ok);
    for (size_t i = 0; i < N; i++)
        cr_assert(ok[i], "request %zu: %d", i, res[i]);
    stop(m, &p);
    cr_assert_eq(p.max_held, 3, "window 3, held %u", p.max_held);

    /* A cap of 2 slots with a window of 16: no deadlock on our own slots. */
    m = start(&p, 2, true, 64);
    many_run(m, N, 9000, 16, NULL, 0, res, ok);
    for (size_t i = 0; i < N; i++)
        cr_assert(ok[i], "capped: request %zu: %d", i, res[i]);
    stop(m, &p);
    cr_assert_eq(p.max_held, 2);
    cr_assert_eq(p.bad_seq, 0);
}

Test(mux, many_on_a_dead_mux_fails_each)
{
    enum { N = 5 };
    struct peer p;
    struct mux *m = start(&p, 8, false, 1);
    mux_kill(m, -ECONNRESET);
    int res[N];
    bool ok[N];
    many_run(m, N, 100, 4, NULL, 0, res, ok);
    for (size_t i = 0; i < N; i++)
        cr_assert_eq(res[i], -ECONNRESET);
    stop(m, &p);
}

/* What an observer saw (link/obs.c): filled from the mux's threads. */
static struct {
    pthread_mutex_t lock;
    struct smb1_obs_frame frames[16];
    struct smb1_obs_mac macs[16];
    unsigned nframes, nmacs;
} seen = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void seen_frame(void *arg, const struct smb1_obs_frame *f)
{
    (void)arg;
    pthread_mutex_lock(&seen.lock);
    if (seen.nframes < 16) {
        seen.frames[seen.nframes] = *f;
        seen.frames[seen.nframes++].smb = NULL; /* valid only during the call */
    }
    pthread_mutex_unlock(&seen.lock);
}

static void seen_mac(void *arg, const struct smb1_obs_mac *m)
{
    (void)arg;
    pthread_mutex_lock(&seen.lock);
    if (seen.nmacs < 16)
        seen.macs[seen.nmacs++] = *m;
    pthread_mutex_unlock(&seen.lock);
}

static const struct smb1_observer seen_obs = {.frame = seen_frame, .mac = seen_mac};

Test(mux, observer_sees_numbers_and_macs)
{
    struct peer p;
    memset(&seen.frames, 0, sizeof(seen.frames));
    seen.nframes = seen.nmacs = 0;
    test_obs = &seen_obs;
    struct mux *m = start(&p, 4, true, 1);
    test_obs = NULL;
    cr_assert_eq(echo(m, "fine", 2000), 0);
    cr_assert_eq(echo(m, "BADS", 2000), -EIO);
    stop(m, &p);
    cr_assert_eq(seen.nframes, 4);
    /* Sent: numbers 2 and 4, the counter moving by 2; received after each. */
    cr_assert(seen.frames[0].sent && seen.frames[0].signing);
    cr_assert_eq(seen.frames[0].seq, 2);
    cr_assert_eq(seen.frames[0].step, 2);
    cr_assert_eq(seen.frames[0].cmd, SMB1_COM_ECHO);
    cr_assert(!seen.frames[1].sent);
    cr_assert_eq(seen.frames[1].mid, seen.frames[0].mid);
    cr_assert(seen.frames[2].sent);
    cr_assert_eq(seen.frames[2].seq, 4);
    cr_assert_eq(seen.nmacs, 2);
    cr_assert_eq(seen.macs[0].verdict, SMB1_MAC_GOOD);
    cr_assert_eq(seen.macs[0].seq, 3);
    cr_assert_eq(memcmp(seen.macs[0].wire, seen.macs[0].computed, 8), 0);
    cr_assert_eq(seen.macs[1].verdict, SMB1_MAC_BAD);
    cr_assert_eq(seen.macs[1].seq, 5);
    cr_assert_neq(memcmp(seen.macs[1].wire, seen.macs[1].computed, 8), 0);
    /* The peer flipped one bit of the first byte: the rest is the real MAC. */
    cr_assert_eq(seen.macs[1].wire[0] ^ seen.macs[1].computed[0], 0x80);
    cr_assert_eq(memcmp(seen.macs[1].wire + 1, seen.macs[1].computed + 1, 7), 0);
}

Test(mux, observer_unsigned_sees_frames_only)
{
    struct peer p;
    seen.nframes = seen.nmacs = 0;
    test_obs = &seen_obs;
    struct mux *m = start(&p, 4, false, 1);
    test_obs = NULL;
    cr_assert_eq(echo(m, "plain", 2000), 0);
    stop(m, &p);
    cr_assert_eq(seen.nframes, 2);
    cr_assert(seen.frames[0].sent && !seen.frames[0].signing);
    cr_assert_eq(seen.nmacs, 0);
}

/* Write-behind's tickets (mux_start / mux_finish): large requests sent
 * without waiting, several at once (signed in one pass, or one writev
 * unsigned), slots refused at once (-EAGAIN) rather than waited for while
 * the caller holds tickets, replies collected in order whatever order the
 * peer answers in, and a bad MAC failing its own ticket. */
static void start_finish_run(bool signing)
{
    enum { N = 20, LEN = 60000, CAP = 10 };
    struct peer p;
    struct mux *m = start(&p, CAP, signing, 8);
    struct msg_out reqs[N];
    struct mux_ticket tk[N];
    many_build(reqs, N, LEN, NULL, 0);
    size_t sent = 0, done = 0;
    unsigned again = 0;
    while (done < N) {
        if (sent < N) {
            int g = mux_start(m, &reqs[sent], N - sent, sent == done, 5000, &tk[sent]);
            if (g > 0) {
                cr_assert_leq(sent + (size_t)g - done, CAP);
                sent += (size_t)g;
                continue;
            }
            cr_assert_eq(g, -EAGAIN, "mux_start: %d", g);
            again++;
        }
        struct msg_in in;
        cr_assert_eq(mux_finish(m, &tk[done], &reqs[done], 5000, &in), 0, "ticket %zu", done);
        cr_assert(many_reply_ok(&in, done, LEN), "reply %zu carries another's bytes", done);
        msg_in_free(&in);
        done++;
    }
    cr_assert_gt(again, 0, "the cap never refused a start");
    for (size_t i = 0; i < N; i++)
        msg_out_free(&reqs[i]);
    /* A bad MAC fails the ticket it belongs to. */
    if (signing) {
        struct msg_out bad;
        struct mux_ticket bt;
        many_build(&bad, 1, 100, "BADS", 0);
        cr_assert_eq(mux_start(m, &bad, 1, true, 5000, &bt), 1);
        struct msg_in in;
        cr_assert_eq(mux_finish(m, &bt, &bad, 5000, &in), -EIO);
        cr_assert_eq(stats.bad_signatures, 1);
        msg_out_free(&bad);
    }
    stop(m, &p);
    cr_assert_eq(p.bad_seq, 0);
    cr_assert_eq(p.requests, N + (signing ? 1 : 0));
}

Test(mux, start_finish_signed)
{
    start_finish_run(true);
}

Test(mux, start_finish_unsigned)
{
    start_finish_run(false);
}

/* A request whose last bytes wait in a pipe (msg_out.tail_len, a spliced
 * write): the peer gets one frame, its length counting the tail and its
 * bytes in order; a signed mux refuses it before taking anything from
 * the pipe. */
static void tail_build(struct msg_out *req, int pfd[2], size_t len)
{
    cr_assert_eq(msg_out_init(req, SMB1_COM_READ_ANDX, 128), 0);
    msg_words_begin(req);
    wire_put_u16(&req->w, 1);
    msg_words_end(req);
    msg_bytes_begin(req);
    wire_put_bytes(&req->w, "many000000", 10);
    msg_bytes_end(req);
    wire_patch_u16(&req->w, req->bc_pos, (uint16_t)len);
    cr_assert_eq(pipe(pfd), 0);
    cr_assert_geq(fcntl(pfd[0], F_SETPIPE_SZ, 1 << 17), (int)len);
    uint8_t *b = malloc(len);
    for (size_t k = 10; k < len; k++)
        b[k] = (uint8_t)(k * 13);
    cr_assert_eq(write(pfd[1], b + 10, len - 10), (ssize_t)(len - 10));
    free(b);
    req->tail_fd = pfd[0];
    req->tail_len = (uint32_t)(len - 10);
}

Test(mux, tail_spliced_from_a_pipe)
{
    enum { LEN = 60000 };
    for (int signing = 0; signing < 2; signing++) {
        struct peer p;
        struct mux *m = start(&p, 4, signing, 1);
        struct msg_out req;
        int pfd[2];
        tail_build(&req, pfd, LEN);
        struct mux_ticket tk;
        int g = mux_start(m, &req, 1, true, 5000, &tk);
        if (signing) {
            cr_assert_eq(g, -EOPNOTSUPP);
            cr_assert_eq(req.tail_sent, 0);
            int left = 0;
            cr_assert_eq(ioctl(pfd[0], FIONREAD, &left), 0);
            cr_assert_eq(left, LEN - 10, "the refused send took from the pipe");
        } else {
            cr_assert_eq(g, 1, "mux_start: %d", g);
            cr_assert_eq(req.tail_sent, LEN - 10);
            struct msg_in in;
            cr_assert_eq(mux_finish(m, &tk, &req, 5000, &in), 0);
            cr_assert(many_reply_ok(&in, 0, LEN), "the frame's bytes are not the pipe's");
            msg_in_free(&in);
            cr_assert_eq(stats.spliced_writes, 1);
        }
        msg_out_free(&req);
        close(pfd[0]);
        close(pfd[1]);
        stop(m, &p);
        cr_assert_eq(p.requests, signing ? 0u : 1u);
    }
}

/* Leader/follower (mux.c, "Who reads"). With a grace far longer than the
 * test, the reader thread reads only until the first reply is in: from
 * then on a waiting caller reads the socket itself. */
Test(mux, sequential_callers_read_their_own_replies)
{
    test_grace_ms = 60000;
    struct peer p;
    struct mux *m = start(&p, 4, true, 1);
    for (int i = 0; i < 40; i++) {
        char payload[16];
        snprintf(payload, sizeof(payload), "seq%02d", i);
        cr_assert_eq(echo(m, payload, 5000), 0);
    }
    stop(m, &p);
    /* The first one or two may still go through the reader thread. */
    cr_assert_geq(stats.led, 38, "callers read %llu of 40 replies", (unsigned long long)stats.led);
    cr_assert_eq(p.bad_seq, 0);
    cr_assert_eq(stats.bad_signatures, 0);
}

struct one_echo {
    struct mux *m;
    const char *payload;
    int r;
};

static void *one_echo_main(void *arg)
{
    struct one_echo *e = arg;
    e->r = echo(e->m, e->payload, 5000);
    return NULL;
}

/* Two callers, replies in reverse order: whoever reads the socket meets
 * the other's reply first and must wake that waiter with it (echo checks
 * each reply is its own), and the one left waiting reads on. */
Test(mux, leader_hands_replies_and_socket_to_the_right_waiter)
{
    test_grace_ms = 60000;
    struct peer p;
    struct mux *m = start(&p, 4, true, 1);
    cr_assert_eq(echo(m, "warm", 5000), 0);
    p.batch = 2;      /* now both replies, in reverse, once both came */
    p.hold_ms = 3000; /* however slow the second caller is to send */
    for (int round = 0; round < 10; round++) {
        char pa[16], pb[16];
        snprintf(pa, sizeof(pa), "A%02d", round);
        snprintf(pb, sizeof(pb), "B%02d", round);
        struct one_echo a = {m, pa, -1}, b = {m, pb, -1};
        pthread_t ta, tb;
        unsigned before = __atomic_load_n(&p.requests, __ATOMIC_SEQ_CST);
        pthread_create(&ta, NULL, one_echo_main, &a);
        /* B is sent once A's request is out (A then reads, or soon will). */
        while (__atomic_load_n(&p.requests, __ATOMIC_SEQ_CST) == before)
            sleep_ms(1);
        pthread_create(&tb, NULL, one_echo_main, &b);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        cr_assert_eq(a.r, 0, "round %d: A: %d", round, a.r);
        cr_assert_eq(b.r, 0, "round %d: B: %d", round, b.r);
    }
    stop(m, &p);
    cr_assert_eq(p.max_held, 2);
    cr_assert_eq(stats.unknown_mids, 0);
    cr_assert_eq(stats.bad_signatures, 0);
    cr_assert_geq(stats.led, 10, "callers read only %llu of 20 replies",
                  (unsigned long long)stats.led);
}

static void ticket_build(struct msg_out *req, const char *payload)
{
    cr_assert_eq(msg_out_init(req, SMB1_COM_ECHO, 128), 0);
    msg_words_begin(req);
    wire_put_u16(&req->w, 1);
    msg_words_end(req);
    msg_bytes_begin(req);
    wire_put_bytes(&req->w, payload, strlen(payload));
    msg_bytes_end(req);
}

/* Tickets' replies are read by whoever collects them (mux_finish leads),
 * not by the reader thread, which would hand each over: two wake-ups a
 * reply on write-behind's path instead of one. */
Test(mux, ticket_replies_read_by_their_collector)
{
    enum { N = 8 };
    test_grace_ms = 60000;
    struct peer p;
    struct mux *m = start(&p, 16, false, 1);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(echo(m, "warm", 5000), 0);
    uint64_t led = __atomic_load_n(&stats.led, __ATOMIC_SEQ_CST);
    struct msg_out req[N];
    struct mux_ticket tk[N];
    for (int i = 0; i < N; i++)
        ticket_build(&req[i], "tk");
    cr_assert_eq(mux_start(m, req, N, true, 5000, tk), N);
    sleep_ms(50); /* the replies are in the socket: nobody reads them */
    for (int i = 0; i < N; i++) {
        struct msg_in in;
        cr_assert_eq(mux_finish(m, &tk[i], &req[i], 5000, &in), 0);
        msg_in_free(&in);
        msg_out_free(&req[i]);
    }
    cr_assert_eq(__atomic_load_n(&stats.led, __ATOMIC_SEQ_CST) - led, N,
                 "the collector read %llu of %d replies",
                 (unsigned long long)(__atomic_load_n(&stats.led, __ATOMIC_SEQ_CST) - led), N);
    stop(m, &p);
}

/* A ticket nobody collects yet: its reply is still read within the
 * grace (the reader thread takes the socket back), so a frame behind it
 * (an oplock break) is never stuck. */
Test(mux, ticket_reply_read_while_nobody_collects)
{
    test_grace_ms = 20;
    struct peer p;
    struct mux *m = start(&p, 4, true, 1);
    cr_assert_eq(echo(m, "warm", 5000), 0);
    struct msg_out req;
    ticket_build(&req, "tk");
    struct mux_ticket tk;
    cr_assert_eq(mux_start(m, &req, 1, true, 5000, &tk), 1);
    int waited = 0;
    while (!mux_ticket_ready(m, &tk) && waited < 5000) {
        sleep_ms(5);
        waited += 5;
    }
    cr_assert_lt(waited, 5000, "the ticket's reply was not read");
    struct msg_in in;
    cr_assert_eq(mux_finish(m, &tk, &req, 5000, &in), 0);
    msg_in_free(&in);
    msg_out_free(&req);
    stop(m, &p);
}
