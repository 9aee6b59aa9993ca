/* Multi-part transactions through the dispatcher, over a socketpair with
 * a peer that counts sequence numbers as smbd does: every request, a
 * secondary included, takes a number and moves the counter by 2; the
 * interim response is signed with the primary's number + 1, the final one
 * (every fragment) with the completing secondary's number + 1. Other
 * requests from another thread come between the parts. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "link/mux.h"
#include "mux_pair.h"
#include "link/nbt.h"
#include "link/sign.h"
#include "wire/smb1_proto.h"
#include "ops/trans.h"

enum final_mode {
    FINAL_SMBD,     /* last secondary's number + 1 */
    FINAL_PRIMARY,  /* the primary's number + 1 (MS-SMB 3.3.5.1 read literally) */
    FINAL_BAD,      /* a number of no message of the transaction */
    INTERIM_ERROR,  /* the primary is refused: no secondary may follow */
    NO_INTERIM_ACK, /* a final reply at once (data taken from the primary only) */
};

#define DATA_LEN 40000u

struct peer {
    int fd;
    pthread_t thr;
    bool signing;
    struct sign_key key;
    uint32_t seq;
    enum final_mode mode;
    /* the transaction being received */
    bool open;
    uint16_t mid;
    uint32_t primary_rseq, tp, td, gp, gd;
    uint8_t param[64], data[DATA_LEN];
    /* results, read after join */
    unsigned bad_sig, secondaries, wrong_mid, completed, corrupt, echoes, stray;
};

static struct smb1_log lg;
static struct mux_stats stats;

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void expected_data(uint8_t *d, size_t n, unsigned k)
{
    for (size_t i = 0; i < n; i++)
        d[i] = (uint8_t)(i * 13 + k + (i >> 9));
}

static void reply(struct peer *p, const uint8_t *req, uint8_t cmd, uint32_t status,
                  const uint8_t *words, uint8_t wct, const uint8_t *bytes, uint16_t bcc,
                  uint32_t rseq, bool tamper)
{
    size_t len = 32 + 1 + 2 * (size_t)wct + 2 + bcc;
    uint8_t *out = calloc(1, len + 4);
    uint8_t *r = out + 4;
    memcpy(r, req, 32);
    r[SMB1_HDR_CMD] = cmd;
    wire_st32(r + 5, status);
    r[SMB1_HDR_FLAGS] |= SMB1_FLAGS_REPLY;
    wire_st16(r + SMB1_HDR_FLAGS2, le16(r + SMB1_HDR_FLAGS2) | SMB1_FLAGS2_NT_STATUS);
    r[32] = wct;
    if (wct)
        memcpy(r + 33, words, 2 * (size_t)wct);
    wire_st16(r + 33 + 2 * wct, bcc);
    if (bcc)
        memcpy(r + 33 + 2 * wct + 2, bytes, bcc);
    if (p->signing) {
        sign_apply(&p->key, r, len, rseq);
        if (tamper)
            r[SMB1_HDR_SIGNATURE] ^= 1;
    }
    nbt_put_header(out, len);
    int w = nbt_write_all(p->fd, out, len + 4);
    /* A client that refused the first fragment of a foreign final has
     * closed the connection: the second may find it gone. */
    if (p->mode != FINAL_BAD)
        cr_assert_eq(w, 0);
    free(out);
}

/* The final response in two fragments: 2 parameter bytes and a checksum
 * of the received data as 8 data bytes, then 8 more data bytes. */
static void final_reply(struct peer *p, const uint8_t *req, uint32_t rseq)
{
    uint8_t expect[DATA_LEN];
    expected_data(expect, DATA_LEN, 0);
    bool ok = p->gd == DATA_LEN && memcmp(p->data, expect, DATA_LEN) == 0;
    if (!ok)
        p->corrupt++;
    p->completed++;
    for (int frag = 0; frag < 2; frag++) {
        uint8_t w[20], b[16];
        memset(w, 0, sizeof(w));
        memset(b, 0, sizeof(b));
        wire_st16(w + 0, 2);  /* TotalParameterCount */
        wire_st16(w + 2, 16); /* TotalDataCount */
        uint16_t pc = frag == 0 ? 2 : 0;
        size_t at = 33 + 20 + 2;
        size_t po = (at + 3) & ~(size_t)3;
        size_t doff = po + pc;
        doff = (doff + 3) & ~(size_t)3;
        wire_st16(w + 6, pc);
        wire_st16(w + 8, (uint16_t)po);
        wire_st16(w + 10, 0);
        wire_st16(w + 12, 8);
        wire_st16(w + 14, (uint16_t)doff);
        wire_st16(w + 16, (uint16_t)(frag * 8));
        uint16_t bcc = (uint16_t)(doff + 8 - at);
        if (pc)
            wire_st16(b + (po - at), ok ? 0 : 0xBAD);
        memset(b + (doff - at), ok ? 0x5A : 0xEE, 8);
        reply(p, req, SMB1_COM_TRANSACTION2, 0, w, 10, b, bcc, rseq, p->mode == FINAL_BAD);
    }
    p->open = false;
}

static void take(struct peer *p, const uint8_t *smb, size_t len, uint32_t pc, uint32_t po,
                 uint32_t pd, uint32_t dc, uint32_t doff, uint32_t dd)
{
    if ((pc && ((size_t)po + pc > len || pd + pc > sizeof(p->param))) ||
        (dc && ((size_t)doff + dc > len || dd + dc > DATA_LEN))) {
        p->corrupt++;
        return;
    }
    memcpy(p->param + pd, smb + po, pc);
    memcpy(p->data + dd, smb + doff, dc);
    p->gp += pc;
    p->gd += dc;
}

static void *peer_main(void *arg)
{
    struct peer *p = arg;
    for (;;) {
        uint8_t *smb = NULL;
        size_t len = 0;
        const char *why;
        if (nbt_read_frame(p->fd, 1 << 20, &smb, &len, &why))
            break;
        uint32_t rseq = 0;
        if (p->signing) {
            if (!sign_verify(&p->key, smb, len, p->seq))
                p->bad_sig++;
            rseq = p->seq + 1;
            p->seq += 2;
        }
        uint8_t cmd = smb[SMB1_HDR_CMD];
        const uint8_t *w = smb + 33;
        uint16_t mid = le16(smb + SMB1_HDR_MID);
        if (cmd == SMB1_COM_ECHO) {
            p->echoes++;
            reply(p, smb, SMB1_COM_ECHO, 0, w, smb[32], w + 2 * smb[32] + 2, le16(w + 2 * smb[32]),
                  rseq, false);
        } else if (cmd == SMB1_COM_TRANSACTION2) {
            p->open = true;
            p->mid = mid;
            p->primary_rseq = rseq;
            p->gp = p->gd = 0;
            p->tp = le16(w);
            p->td = le16(w + 2);
            take(p, smb, len, le16(w + 18), le16(w + 20), 0, le16(w + 22), le16(w + 24), 0);
            if (p->mode == INTERIM_ERROR) {
                reply(p, smb, cmd, 0xC0000022u, NULL, 0, NULL, 0, rseq, false);
                p->open = false;
            } else if (p->mode == NO_INTERIM_ACK || (p->gp == p->tp && p->gd == p->td)) {
                final_reply(p, smb, rseq);
            } else {
                reply(p, smb, cmd, 0, NULL, 0, NULL, 0, rseq, false);
            }
        } else if (cmd == SMB1_COM_TRANSACTION2_SECONDARY) {
            p->secondaries++;
            if (!p->open || mid != p->mid) {
                p->wrong_mid++;
            } else {
                take(p, smb, len, le16(w + 4), le16(w + 6), le16(w + 8), le16(w + 10), le16(w + 12),
                     le16(w + 14));
                if (p->gp == p->tp && p->gd == p->td)
                    final_reply(p, smb,
                                p->mode == FINAL_PRIMARY ? p->primary_rseq
                                : p->mode == FINAL_BAD   ? rseq + 2
                                                         : rseq);
            }
        } else {
            p->stray++;
        }
        free(smb);
    }
    return NULL;
}

static struct mux *start(struct peer *p, bool signing, enum final_mode mode)
{
    mux_pair_log_init(&lg);
    memset(&stats, 0, sizeof(stats));
    memset(p, 0, sizeof(*p));
    p->mode = mode;
    struct mux_opts o = {.max_frame = 1 << 20, .max_inflight = 50, .stats = &stats, .log = &lg};
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

struct reasm_ctx {
    struct trans_reasm ra;
    uint32_t status;
    unsigned frames;
};

static int on_frame(void *arg, const struct msg_in *in)
{
    struct reasm_ctx *cx = arg;
    cx->frames++;
    cx->status = in->status;
    if (in->wct == 0)
        return in->status ? 0 : -EIO;
    struct wire_reader w;
    struct trans_frag fr;
    msg_in_words(in, &w);
    if (trans_frag_decode(SMB1_COM_TRANSACTION2, &w, in->wct, &fr))
        return -EIO;
    return trans_reasm_add(&cx->ra, &fr, in->frame, in->len);
}

/* One SET_PATH_INFO-like transaction of DATA_LEN bytes in messages of at
 * most 16644 bytes (3 of them). Returns mux_call_parts' result. */
static int transact(struct mux *m, struct reasm_ctx *cx)
{
    static uint8_t data[DATA_LEN];
    expected_data(data, DATA_LEN, 0);
    uint8_t param[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    uint16_t sub = SMB1_TRANS2_SET_PATH_INFO;
    struct trans_req rq = {.cmd = SMB1_COM_TRANSACTION2,
                           .setup = &sub,
                           .setup_count = 1,
                           .param = param,
                           .param_len = sizeof(param),
                           .data = data,
                           .data_len = DATA_LEN,
                           .max_param = 16,
                           .max_data = 64};
    struct trans_msgs tm;
    cr_assert_eq(trans_build_msgs(&rq, true, 16644, &tm), 0);
    cr_assert_eq(tm.n, 3);
    memset(cx, 0, sizeof(*cx));
    trans_reasm_init(&cx->ra, 16, 64);
    int r = mux_call_parts(m, &tm.m[0], tm.m + 1, tm.n - 1, MUX_MULTI, 5000, on_frame, cx);
    trans_msgs_free(&tm);
    return r;
}

static void check_result(struct reasm_ctx *cx)
{
    struct trans_resp rs;
    memset(&rs, 0, sizeof(rs));
    trans_reasm_take(&cx->ra, &rs);
    cr_assert_eq(cx->frames, 2, "two final fragments, the interim not handed over");
    cr_assert_eq(rs.param_len, 2);
    cr_assert_eq(wire_le16(rs.param), 0, "the peer saw corrupt data");
    cr_assert_eq(rs.data_len, 16);
    for (int i = 0; i < 16; i++)
        cr_assert_eq(rs.data[i], 0x5A);
    trans_resp_free(&rs);
    trans_reasm_free(&cx->ra);
}

struct echo_loop {
    struct mux *m;
    volatile int stop;
    unsigned ok, failed;
};

static void *echo_main(void *arg)
{
    struct echo_loop *el = arg;
    while (!el->stop) {
        struct msg_out req;
        cr_assert_eq(msg_out_init(&req, SMB1_COM_ECHO, 64), 0);
        msg_words_begin(&req);
        wire_put_u16(&req.w, 1);
        msg_words_end(&req);
        msg_bytes_begin(&req);
        wire_put_bytes(&req.w, "ping", 4);
        msg_bytes_end(&req);
        struct msg_in in;
        int r = mux_call(el->m, &req, 0, 5000, &in, NULL, NULL);
        msg_out_free(&req);
        if (r == 0) {
            __atomic_fetch_add(&el->ok, 1, __ATOMIC_RELEASE);
            msg_in_free(&in);
        } else {
            el->failed++;
        }
    }
    return NULL;
}

/* At least 50 ms of echoes, and at least one answered: on a loaded
 * machine the echo thread may not get its first answer within 50 ms. */
static void wait_for_echoes(struct echo_loop *el)
{
    for (int i = 0; i < 5000 && (i < 50 || __atomic_load_n(&el->ok, __ATOMIC_ACQUIRE) == 0); i++) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void run_many(bool signing, enum final_mode mode)
{
    struct peer p;
    struct mux *m = start(&p, signing, mode);
    struct echo_loop el = {.m = m};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, echo_main, &el), 0);
    /* The echoes must be under way before the transactions start, or
     * all 40 can finish before the first echo does. */
    for (int i = 0; i < 5000 && __atomic_load_n(&el.ok, __ATOMIC_ACQUIRE) == 0; i++) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < 40; i++) {
        struct reasm_ctx cx;
        int r = transact(m, &cx);
        cr_assert_eq(r, 0, "transaction %d: %s", i, strerror(-r));
        check_result(&cx);
    }
    el.stop = 1;
    pthread_join(th, NULL);
    cr_assert_eq(mux_dead(m), 0);
    stop(m, &p);
    cr_assert_eq(el.failed, 0);
    cr_assert_gt(el.ok, 0);
    cr_assert_eq(p.bad_sig, 0, "the peer rejected %u MACs", p.bad_sig);
    cr_assert_eq(p.secondaries, 80);
    cr_assert_eq(p.wrong_mid, 0);
    cr_assert_eq(p.completed, 40);
    cr_assert_eq(p.corrupt, 0);
    cr_assert_eq(stats.bad_signatures, 0);
    cr_assert_eq(stats.unknown_mids, 0);
}

Test(mux_parts, smbd_numbering_with_requests_between_parts)
{
    run_many(true, FINAL_SMBD);
}

Test(mux_parts, final_signed_with_the_primary_number)
{
    run_many(true, FINAL_PRIMARY);
}

Test(mux_parts, unsigned_connection)
{
    run_many(false, FINAL_SMBD);
}

Test(mux_parts, final_with_a_foreign_number_fails_closed)
{
    struct peer p;
    struct mux *m = start(&p, true, FINAL_BAD);
    struct reasm_ctx cx;
    cr_assert_eq(transact(m, &cx), -EIO);
    trans_reasm_free(&cx.ra);
    cr_assert_eq(stats.bad_signatures, 1);
    cr_assert_neq(mux_dead(m), 0);
    stop(m, &p);
    cr_assert_eq(p.bad_sig, 0);
    cr_assert_eq(p.secondaries, 2);
}

Test(mux_parts, refused_primary_sends_no_secondary)
{
    struct peer p;
    struct mux *m = start(&p, true, INTERIM_ERROR);
    struct reasm_ctx cx;
    cr_assert_eq(transact(m, &cx), 0);
    cr_assert_eq(cx.status, 0xC0000022u);
    cr_assert_eq(cx.frames, 1);
    trans_reasm_free(&cx.ra);
    /* The connection goes on in step. */
    struct echo_loop el = {.m = m, .stop = 0};
    el.stop = 0;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, echo_main, &el), 0);
    wait_for_echoes(&el);
    el.stop = 1;
    pthread_join(th, NULL);
    cr_assert_eq(el.failed, 0);
    cr_assert_eq(mux_dead(m), 0);
    stop(m, &p);
    cr_assert_eq(p.secondaries, 0);
    cr_assert_eq(p.bad_sig, 0);
    cr_assert_eq(stats.bad_signatures, 0);
}

Test(mux_parts, success_without_interim_is_an_error)
{
    /* The peer ran the request on the primary's share of the data. */
    struct peer p;
    struct mux *m = start(&p, true, NO_INTERIM_ACK);
    struct reasm_ctx cx;
    cr_assert_eq(transact(m, &cx), -EIO);
    cr_assert_eq(cx.frames, 0, "nothing handed to the caller");
    trans_reasm_free(&cx.ra);
    /* The numbering is intact: the connection goes on (the second
     * fragment is dropped as a reply to no request). */
    struct echo_loop el = {.m = m, .stop = 0};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, echo_main, &el), 0);
    wait_for_echoes(&el);
    el.stop = 1;
    pthread_join(th, NULL);
    cr_assert_eq(el.failed, 0);
    cr_assert_gt(el.ok, 0);
    cr_assert_eq(mux_dead(m), 0);
    stop(m, &p);
    cr_assert_eq(p.secondaries, 0);
    cr_assert_eq(p.bad_sig, 0);
    cr_assert_eq(stats.bad_signatures, 0);
}

Test(mux_parts, parts_need_multi)
{
    struct peer p;
    struct mux *m = start(&p, false, FINAL_SMBD);
    struct msg_out a, b;
    cr_assert_eq(msg_out_init(&a, SMB1_COM_TRANSACTION2, 64), 0);
    cr_assert_eq(msg_out_init(&b, SMB1_COM_TRANSACTION2_SECONDARY, 64), 0);
    cr_assert_eq(mux_call_parts(m, &a, &b, 1, 0, 1000, on_frame, NULL), -EINVAL);
    msg_out_free(&a);
    msg_out_free(&b);
    stop(m, &p);
}
