/* READ_ANDX data received straight into the request's buffer
 * (msg_out.rx_dst, mux_reader.c): over a socketpair with a scripted peer,
 * the data lands in the buffer and is checked by its MAC (alone and in a
 * batch), a reply that breaks a rule is delivered whole (and refused by
 * file_read_decode), and the buffer is never written after the call
 * returned: a timeout while its data is arriving waits for the rest.
 * Spliced into a pipe instead (msg_out.rx_to_pipe): the data is all in
 * the pipe and the next frame is read where it begins, a pipe that fills
 * leaves the rest to the buffer, a signed reply is never spliced, a rule
 * breaker never reaches the pipe, and a trickle is cut off as before. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "link/md5_multi.h"
#include "link/mux.h"
#include "mux_pair.h"
#include "link/mux_int.h"
#include "link/nbt.h"
#include "link/sign.h"
#include "ops/op_file.h"
#include "wire/smb1_proto.h"

#define WORDS_END (SMB1_HDR_LEN + 1 + 24 + 2) /* header, WordCount 12, words, ByteCount */

/* How the peer answers each READ_ANDX (the request's MaxCount is the
 * data length unless len says otherwise). */
/* A caller's short wait ends while its reply's data is on its way: the
 * peer stalls STALL_MS in the middle of the data. SHORT_TIMEOUT_MS leaves
 * a loaded machine (ASan, the other tests) time to get the reply's head to
 * the reader before the wait ends, which is what the tests are about. */
#define STALL_MS         1500
#define SHORT_TIMEOUT_MS 500

struct script {
    uint32_t len;      /* data bytes; 0: the request's MaxCount */
    uint16_t doff;     /* DataOffset; 0: right after one pad byte */
    bool bad_mac;      /* flip a data byte after signing */
    int stall_ms;      /* send the first half of the data, wait, then the rest */
    unsigned stall_at; /* ... for the stall_at-th reply of a hold only (0: each) */
    bool cut;          /* send the first half of the data, then close */
    unsigned hold;     /* answer this many requests back to back */
};

struct peer {
    int fd;
    pthread_t thr;
    bool signing;
    struct sign_key key;
    uint32_t seq;
    struct script s;
    int64_t done_ms; /* when the last byte went out */
};

static struct smb1_log lg;
static struct mux_stats stats;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint8_t pattern(uint32_t i, uint16_t mid)
{
    return (uint8_t)(i * 7 + mid);
}

/* The reply (transport header included) to a READ_ANDX request smb. */
static uint8_t *reply(struct peer *p, const uint8_t *smb, size_t *out_len)
{
    uint16_t mid = wire_le16(smb + SMB1_HDR_MID);
    uint32_t want = wire_le16(smb + SMB1_HDR_LEN + 1 + 10);
    want |= wire_le32(smb + SMB1_HDR_LEN + 1 + 14) << 16;
    uint32_t dlen = p->s.len ? p->s.len : want;
    uint16_t doff = p->s.doff ? p->s.doff : WORDS_END + 1;
    size_t n = (doff > WORDS_END ? doff : WORDS_END) + dlen;
    if (doff < WORDS_END)
        n = WORDS_END + dlen; /* data where the offset does not point */
    uint8_t *out = calloc(1, n + 4);
    uint8_t *r = out + 4;
    memcpy(r, smb, SMB1_HDR_LEN);
    r[SMB1_HDR_FLAGS] |= SMB1_FLAGS_REPLY;
    r[SMB1_HDR_LEN] = 12;
    uint8_t *w = r + SMB1_HDR_LEN + 1;
    w[0] = 0xFF;                       /* no AndX */
    wire_st16(w + 10, (uint16_t)dlen); /* DataLength */
    wire_st16(w + 12, doff);
    wire_st16(w + 14, (uint16_t)(dlen >> 16));
    wire_st16(r + WORDS_END - 2, (uint16_t)(n - WORDS_END));
    for (uint32_t i = 0; i < dlen; i++)
        r[n - dlen + i] = pattern(i, mid);
    if (p->signing) {
        sign_apply(&p->key, r, n, p->seq + 1);
        p->seq += 2;
    }
    if (p->s.bad_mac)
        r[n - 1] ^= 0x01;
    nbt_put_header(out, n);
    *out_len = n + 4;
    return out;
}

static void *peer_main(void *arg)
{
    struct peer *p = arg;
    for (;;) {
        uint8_t *held[32];
        size_t held_len[32], nheld = 0;
        unsigned want = p->s.hold ? p->s.hold : 1;
        bool eof = false;
        while (nheld < want) {
            uint8_t *smb = NULL;
            size_t len = 0;
            const char *why;
            if (nbt_read_frame(p->fd, 1 << 20, &smb, &len, &why)) {
                eof = true;
                break;
            }
            if (len < SMB1_HDR_LEN + 1 + 18 || smb[SMB1_HDR_CMD] != SMB1_COM_READ_ANDX) {
                free(smb); /* an NT_CANCEL: no reply */
                continue;
            }
            if (p->signing && !sign_verify(&p->key, smb, len, p->seq))
                cr_log_error("peer: bad request MAC");
            held[nheld] = reply(p, smb, &held_len[nheld]);
            nheld++;
            free(smb);
        }
        for (size_t i = 0; i < nheld; i++) {
            size_t half = held_len[i] - (held_len[i] - 4 - WORDS_END) / 2;
            bool stall = p->s.stall_ms && (!p->s.stall_at || p->s.stall_at == i + 1);
            if (stall || p->s.cut) {
                (void)nbt_write_all(p->fd, held[i], half);
                if (p->s.cut) {
                    shutdown(p->fd, SHUT_RDWR);
                    free(held[i]);
                    p->done_ms = now_ms();
                    return NULL;
                }
                sleep_ms(p->s.stall_ms);
                (void)nbt_write_all(p->fd, held[i] + half, held_len[i] - half);
            } else {
                (void)nbt_write_all(p->fd, held[i], held_len[i]);
            }
            p->done_ms = now_ms();
            free(held[i]);
        }
        if (eof)
            return NULL;
    }
}

/* Set by a test before start(): what the mux polls for an interrupt, and
 * its pace_ms (0: 5000). */
static int (*test_interrupted)(void *arg);
static int start_pace_ms;

static struct mux *start(struct peer *p, bool signing, const struct script *s)
{
    mux_pair_log_init(&lg);
    memset(&stats, 0, sizeof(stats));
    memset(p, 0, sizeof(*p));
    p->s = *s;
    struct mux_opts o = {.max_frame = 1 << 20,
                         .max_inflight = 16,
                         .stats = &stats,
                         .log = &lg,
                         .pace_ms = start_pace_ms ? start_pace_ms : 5000,
                         .interrupted = test_interrupted};
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

/* A READ_ANDX of len bytes into buf (its rx_dst). */
static void read_req(struct msg_out *req, uint8_t *buf, uint32_t len)
{
    cr_assert_eq(msg_out_init(req, SMB1_COM_READ_ANDX, 128), 0);
    msg_words_begin(req);
    wire_put_u8(&req->w, SMB1_COM_NONE);
    wire_put_u8(&req->w, 0);
    wire_put_u16(&req->w, 0);
    wire_put_u16(&req->w, 1);             /* FID */
    wire_put_u32(&req->w, 0);             /* Offset */
    wire_put_u16(&req->w, (uint16_t)len); /* MaxCount */
    wire_put_u16(&req->w, (uint16_t)len); /* MinCount */
    wire_put_u32(&req->w, len >> 16);     /* MaxCountHigh */
    wire_put_u16(&req->w, 0);
    msg_words_end(req);
    msg_bytes_begin(req);
    msg_bytes_end(req);
    req->rx_dst = buf;
    req->rx_cap = len;
}

static void check_data(const uint8_t *d, uint32_t len, uint16_t mid)
{
    for (uint32_t i = 0; i < len; i++)
        if (d[i] != pattern(i, mid))
            cr_assert_fail("byte %u of MID %u: %u, not %u", i, mid, d[i], pattern(i, mid));
}

/* One read of len bytes through mux_call; the reply is checked by
 * file_read_decode as op_io.c does. Returns mux_call's result, or the
 * decoder's when that fails. */
static int one_read(struct mux *m, uint8_t *buf, uint32_t len, int timeout_ms, bool *split)
{
    struct msg_out req;
    struct msg_in in;
    read_req(&req, buf, len);
    int r = mux_call(m, &req, 0, timeout_ms, &in, NULL, NULL);
    msg_out_free(&req);
    if (r)
        return r;
    *split = in.ext != NULL;
    const uint8_t *d = NULL;
    uint32_t got = 0;
    r = file_read_decode(&in, len, &d, &got);
    if (r == 0) {
        cr_assert_eq(got, len);
        if (*split)
            cr_assert_eq(d, buf, "split data not in the request's buffer");
        check_data(d, got, in.mid);
    }
    msg_in_free(&in);
    return r;
}

Test(mux_direct, unsigned_lands_in_the_buffer)
{
    struct peer p;
    struct mux *m = start(&p, false, &(struct script){0});
    uint32_t len = 200000;
    uint8_t *buf = malloc(len);
    bool split = false;
    cr_assert_eq(one_read(m, buf, len, 5000, &split), 0);
    cr_assert(split, "the data went through a receive buffer");
    cr_assert_eq(stats.direct_reads, 1);
    stop(m, &p);
    free(buf);
}

Test(mux_direct, signed_mac_covers_the_data)
{
    struct peer p;
    struct mux *m = start(&p, true, &(struct script){0});
    uint32_t len = 61440;
    uint8_t *buf = malloc(len);
    bool split = false;
    cr_assert_eq(one_read(m, buf, len, 5000, &split), 0);
    cr_assert(split);
    cr_assert_eq(stats.bad_signatures, 0);
    stop(m, &p);

    /* One bit of the data changed after signing: the read fails. */
    m = start(&p, true, &(struct script){.bad_mac = true});
    cr_assert_eq(one_read(m, buf, len, 5000, &split), -EIO);
    cr_assert_eq(stats.direct_reads, 1);
    cr_assert_eq(stats.bad_signatures, 1);
    cr_assert_eq(mux_dead(m), -EIO);
    stop(m, &p);
    free(buf);
}

/* Issue 11's rule holds on this path too: an offset into the parameter
 * words is not followed into the buffer; the frame comes whole and the
 * decoder refuses it. So is data longer than asked for. */
Test(mux_direct, rule_breakers_come_whole_and_are_refused)
{
    struct peer p;
    uint32_t len = 30000;
    uint8_t *buf = malloc(len);
    memset(buf, 0xAA, len);
    bool split = true;
    struct mux *m = start(&p, false, &(struct script){.doff = SMB1_HDR_LEN + 5});
    cr_assert_eq(one_read(m, buf, len, 5000, &split), -EIO);
    cr_assert_not(split);
    cr_assert_eq(stats.direct_reads, 0);
    stop(m, &p);

    split = true;
    m = start(&p, false, &(struct script){.len = len + 4096});
    cr_assert_eq(one_read(m, buf, len, 5000, &split), -EIO);
    cr_assert_not(split);
    cr_assert_eq(stats.direct_reads, 0);
    stop(m, &p);
    for (uint32_t i = 0; i < len; i++)
        cr_assert_eq(buf[i], 0xAA, "byte %u of the buffer was written", i);
    free(buf);
}

/* Waits until the reader thread holds the socket (mux.c, "Who reads"). */
static void thread_reads(struct mux *m)
{
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&m->lock);
        bool t = m->rd == RD_THREAD;
        pthread_mutex_unlock(&m->lock);
        if (t)
            return;
        sleep_ms(10);
    }
    cr_assert_fail("the reader thread never took the socket");
}

/* buf, a copy of which was taken (snap) when the call returned, is the
 * same once whatever was left to come has come. */
static void untouched_after_return(const struct peer *p, const uint8_t *buf, const uint8_t *snap,
                                   uint32_t len)
{
    for (int i = 0; i < 2 * STALL_MS / 10 && !p->done_ms; i++)
        sleep_ms(10);
    sleep_ms(100);
    cr_assert_eq(memcmp(snap, buf, len), 0, "the buffer changed after the call returned");
}

/* The request times out while its data is arriving: the call returns
 * only once the reader is done with the buffer, and nothing writes it
 * afterwards. */
Test(mux_direct, timeout_waits_for_the_fill)
{
    struct peer p;
    struct mux *m = start(&p, false, &(struct script){.stall_ms = STALL_MS});
    uint32_t len = 100000;
    uint8_t *buf = calloc(1, len), *snap = malloc(len);
    bool split = false;
    /* Read by the reader thread, not the waiting caller (which would
     * read all of it before it looks at its clock again). */
    thread_reads(m);
    int64_t t0 = now_ms();
    int r = one_read(m, buf, len, SHORT_TIMEOUT_MS, &split);
    int64_t back = now_ms();
    memcpy(snap, buf, len);
    cr_assert(r == 0 || r == -ETIMEDOUT, "%d", r);
    cr_assert_geq(back - t0, STALL_MS - 100, "returned after %lld ms, while its data was arriving",
                  (long long)(back - t0));
    untouched_after_return(&p, buf, snap, len);
    cr_assert_eq(stats.direct_reads, 1);
    cr_assert_eq(stats.led, 0);
    stop(m, &p);
    free(buf);
    free(snap);
}

static int64_t interrupt_at_ms;
static int interrupted_after(void *arg)
{
    (void)arg;
    return now_ms() >= interrupt_at_ms;
}

/* The same for a caller that is interrupted (FUSE's interrupt): -EINTR
 * (or its reply, when that ended the fill) only once the buffer is left
 * alone. */
Test(mux_direct, interrupt_waits_for_the_fill)
{
    struct peer p;
    test_interrupted = interrupted_after;
    struct mux *m = start(&p, false, &(struct script){.stall_ms = STALL_MS});
    test_interrupted = NULL;
    uint32_t len = 100000;
    uint8_t *buf = calloc(1, len), *snap = malloc(len);
    bool split = false;
    thread_reads(m);
    int64_t t0 = now_ms();
    interrupt_at_ms = t0 + SHORT_TIMEOUT_MS;
    int r = one_read(m, buf, len, 5000, &split);
    int64_t back = now_ms();
    memcpy(snap, buf, len);
    cr_assert(r == 0 || r == -EINTR, "%d", r);
    cr_assert_geq(back - t0, STALL_MS - 100, "returned after %lld ms, while its data was arriving",
                  (long long)(back - t0));
    untouched_after_return(&p, buf, snap, len);
    cr_assert_eq(stats.led, 0);
    stop(m, &p);
    free(buf);
    free(snap);
}

/* The connection dies while the data arrives: the call fails at once. */
Test(mux_direct, cut_midway_fails)
{
    struct peer p;
    struct mux *m = start(&p, false, &(struct script){.cut = true});
    uint32_t len = 100000;
    uint8_t *buf = calloc(1, len);
    bool split = false;
    int64_t t0 = now_ms();
    int r = one_read(m, buf, len, 3000, &split);
    cr_assert(r == -ECONNRESET || r == -EIO, "%d", r);
    cr_assert_lt(now_ms() - t0, 2500);
    stop(m, &p);
    free(buf);
}

/* A pipeline of signed reads answered back to back: their data lands in
 * the buffers and their MACs are checked in batches. */
Test(mux_direct, signed_pipeline_batched)
{
    enum { N = 8, LEN = 65536 - 4096 };
    struct peer p;
    struct mux *m = start(&p, true, &(struct script){.hold = N});
    uint8_t *buf = malloc((size_t)N * LEN);
    struct msg_out reqs[N];
    struct msg_in resps[N];
    int res[N];
    for (int i = 0; i < N; i++)
        read_req(&reqs[i], buf + (size_t)i * LEN, LEN);
    mux_call_many(m, reqs, N, N, 5000, -1, resps, res);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(res[i], 0, "read %d: %d", i, res[i]);
        cr_assert_eq(resps[i].ext, buf + (size_t)i * LEN);
        check_data(buf + (size_t)i * LEN, LEN, resps[i].mid);
        msg_in_free(&resps[i]);
        msg_out_free(&reqs[i]);
    }
    cr_assert_eq(stats.direct_reads, N);
    cr_assert_eq(stats.bad_signatures, 0);
    if (md5_multi_fast())
        cr_assert_gt(stats.batched_macs, 0, "no split reply was checked in a batch");
    stop(m, &p);
    free(buf);
}

struct reader {
    struct mux *m;
    uint8_t *buf;
    uint32_t len;
    int timeout_ms, r;
    int64_t took_ms;
};

static void *read_thread(void *arg)
{
    struct reader *rd = arg;
    bool split = false;
    int64_t t0 = now_ms();
    rd->r = one_read(rd->m, rd->buf, rd->len, rd->timeout_ms, &split);
    rd->took_ms = now_ms() - t0;
    return NULL;
}

/* A reply held in a batch while the next one arrives: its MAC is computed
 * over the request's buffer, so its caller, whose wait ends meanwhile,
 * does not return before the batch is done with it. Its buffer is
 * unmapped at once when the call returns: a read of it afterwards
 * crashes the test. */
Test(mux_direct, batch_holds_the_buffer)
{
    struct peer p;
    struct mux *m =
        start(&p, true, &(struct script){.hold = 2, .stall_ms = STALL_MS, .stall_at = 2});
    thread_reads(m);
    uint32_t len = 61440;
    uint8_t *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(a, MAP_FAILED);
    uint8_t *b = malloc(len);
    struct reader ra = {.m = m, .buf = a, .len = len, .timeout_ms = SHORT_TIMEOUT_MS};
    struct reader rb = {.m = m, .buf = b, .len = len, .timeout_ms = 5000};
    pthread_t ta, tb;
    cr_assert_eq(pthread_create(&ta, NULL, read_thread, &ra), 0);
    /* a's request goes first, so its reply is the one held. */
    for (int i = 0; i < 200 && mux_inflight(m) < 1; i++)
        sleep_ms(5);
    cr_assert_eq(pthread_create(&tb, NULL, read_thread, &rb), 0);
    pthread_join(ta, NULL);
    munmap(a, len);
    pthread_join(tb, NULL);
    cr_assert(ra.r == 0 || ra.r == -ETIMEDOUT, "%d", ra.r);
    cr_assert_eq(rb.r, 0);
    /* The batch forms when b's data begins within MUX_BATCH_WAIT_US of a's
     * reply (the peer writes them back to back, but a loaded machine may
     * hold the peer longer): then a's call waited for it. */
    if (stats.batched_macs > 0)
        cr_assert_geq(ra.took_ms, STALL_MS - 100,
                      "a's call returned after %lld ms, its reply still held",
                      (long long)ra.took_ms);
    else
        cr_log_warn("no batch formed (the peer was slow): the hold was not exercised");
    cr_assert_eq(stats.direct_reads, 2);
    stop(m, &p);
    free(b);
}

/* ---- spliced into a pipe (msg_out.rx_to_pipe) ---- */

/* A mux and its peer, a pipe (both ends O_NONBLOCK, as fs_read.c's) of
 * pipe_size bytes at least, and a buffer of len bytes. */
struct spl {
    struct peer p;
    struct mux *m;
    int fd[2];
    uint8_t *buf;
    uint32_t len;
    struct msg_out req;
    struct msg_in in;
};

static void spl_start(struct spl *t, bool signing, const struct script *s, int pipe_size,
                      uint32_t len)
{
    t->m = start(&t->p, signing, s);
    cr_assert_eq(pipe2(t->fd, O_CLOEXEC | O_NONBLOCK), 0);
    cr_assert_geq(fcntl(t->fd[0], F_SETPIPE_SZ, pipe_size), pipe_size);
    t->len = len;
    t->buf = malloc(len);
    memset(t->buf, 0xAA, len);
}

/* A READ_ANDX of len bytes into the pipe, else the buffer. */
static void pipe_req(struct spl *t, struct msg_out *req, uint32_t len)
{
    read_req(req, t->buf, len);
    req->rx_to_pipe = true;
    req->rx_pipe = t->fd[1];
}

/* One such read through mux_call, its reply in t->in. */
static int spl_call(struct spl *t, int timeout_ms)
{
    pipe_req(t, &t->req, t->len);
    return mux_call(t->m, &t->req, 0, timeout_ms, &t->in, NULL, NULL);
}

static void spl_stop(struct spl *t)
{
    msg_out_free(&t->req);
    stop(t->m, &t->p);
    close(t->fd[0]);
    close(t->fd[1]);
    free(t->buf);
}

/* Bytes waiting in the pipe. */
static int in_pipe(const struct spl *t)
{
    int n = -1;
    cr_assert_eq(ioctl(t->fd[0], FIONREAD, &n), 0);
    return n;
}

/* The n bytes waiting in the pipe, into a new buffer. */
static uint8_t *pipe_all(const struct spl *t, size_t n)
{
    cr_assert_eq(in_pipe(t), (int)n);
    uint8_t *b = malloc(n);
    size_t got = 0;
    ssize_t k;
    while (got < n && (k = read(t->fd[0], b + got, n - got)) > 0)
        got += (size_t)k;
    cr_assert_eq(got, n);
    return b;
}

/* The decoder takes a reply as op_io.c does: *got bytes, or -errno. */
static int decode(const struct msg_in *in, uint32_t max, const uint8_t **d, uint32_t *got)
{
    *d = NULL;
    *got = 0;
    return file_read_decode(in, max, d, got);
}

/* Two replies back to back, the first spliced: all its data is in its
 * pipe (its buffer never written), and the second frame, read after the
 * splice, is whole and where it should be (into a buffer). Twice: the
 * mux reads on after the splice. */
Test(mux_direct, spliced_then_the_next_frame)
{
    enum { LEN = 200000 };
    struct spl t;
    spl_start(&t, false, &(struct script){.hold = 2}, 1 << 20, LEN);
    uint8_t *b = malloc(LEN);
    for (int round = 0; round < 2; round++) {
        uint32_t la = round ? 30000 : LEN;
        struct msg_out reqs[2];
        struct msg_in resps[2];
        int res[2];
        pipe_req(&t, &reqs[0], la);
        read_req(&reqs[1], b, LEN);
        mux_call_many(t.m, reqs, 2, 2, 5000, -1, resps, res);
        cr_assert_eq(res[0], 0);
        cr_assert_eq(res[1], 0);
        const uint8_t *d;
        uint32_t got;
        cr_assert_eq(decode(&resps[0], la, &d, &got), 0);
        cr_assert_eq(got, la);
        cr_assert_eq(resps[0].ext_piped, la);
        uint8_t *inpipe = pipe_all(&t, la);
        check_data(inpipe, la, resps[0].mid);
        free(inpipe);
        for (uint32_t i = 0; i < LEN; i++)
            cr_assert_eq(t.buf[i], 0xAA, "byte %u of the spliced read's buffer was written", i);
        cr_assert_eq(decode(&resps[1], LEN, &d, &got), 0);
        cr_assert_eq(resps[1].ext_piped, 0);
        cr_assert_eq(d, b);
        check_data(b, LEN, resps[1].mid);
        cr_assert_eq(stats.spliced_reads, round + 1);
        cr_assert_eq(stats.direct_reads, 2 * (round + 1));
        cr_assert_eq(mux_dead(t.m), 0);
        for (int i = 0; i < 2; i++) {
            msg_in_free(&resps[i]);
            msg_out_free(&reqs[i]);
        }
    }
    msg_out_init(&t.req, SMB1_COM_READ_ANDX, 64); /* for spl_stop */
    spl_stop(&t);
    free(b);
}

/* A pipe that fills before all the data went (one page here; small
 * socket buffers take a slot each): the rest goes into the buffer at its
 * place, ext_piped says where it begins, and the frame is done. */
Test(mux_direct, full_pipe_leaves_the_rest_to_the_buffer)
{
    enum { LEN = 100000 };
    struct spl t;
    spl_start(&t, false, &(struct script){0}, 4096, LEN);
    cr_assert_eq(spl_call(&t, 5000), 0);
    size_t k = t.in.ext_piped;
    cr_assert(k > 0 && k < LEN, "%zu bytes went into the pipe", k);
    const uint8_t *d;
    uint32_t got;
    cr_assert_eq(decode(&t.in, LEN, &d, &got), 0);
    cr_assert_eq(got, LEN);
    uint8_t *inpipe = pipe_all(&t, k);
    memcpy(t.buf, inpipe, k);
    check_data(t.buf, LEN, t.in.mid);
    cr_assert_eq(stats.spliced_reads, 0);
    cr_assert_eq(stats.direct_reads, 1);
    cr_assert_eq(mux_dead(t.m), 0);
    msg_in_free(&t.in);
    spl_stop(&t);
    free(inpipe);
}

/* A signed reply's MAC covers its data: never spliced. */
Test(mux_direct, signed_never_spliced)
{
    struct spl t;
    spl_start(&t, true, &(struct script){0}, 1 << 20, 61440);
    cr_assert_eq(spl_call(&t, 5000), 0);
    cr_assert_eq(t.in.ext_piped, 0);
    cr_assert_eq(t.in.ext, t.buf);
    check_data(t.buf, t.len, t.in.mid);
    cr_assert_eq(in_pipe(&t), 0, "a signed reply went into the pipe");
    cr_assert_eq(stats.spliced_reads, 0);
    msg_in_free(&t.in);
    spl_stop(&t);
}

/* DataOffset into the words, DataLength beyond what was asked: the frame
 * comes whole and is refused; nothing reaches the pipe. */
Test(mux_direct, rule_breakers_never_reach_the_pipe)
{
    enum { LEN = 30000 };
    const struct script bad[] = {{.doff = SMB1_HDR_LEN + 5}, {.len = LEN + 4096}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct spl t;
        spl_start(&t, false, &bad[i], 1 << 20, LEN);
        cr_assert_eq(spl_call(&t, 5000), 0);
        const uint8_t *d;
        uint32_t got;
        cr_assert_eq(decode(&t.in, LEN, &d, &got), -EIO);
        cr_assert_eq(t.in.ext_piped, 0);
        cr_assert_eq(in_pipe(&t), 0, "case %zu: the data went into the pipe", i);
        cr_assert_eq(stats.spliced_reads, 0);
        msg_in_free(&t.in);
        spl_stop(&t);
    }
}

/* The connection ends in the middle of the spliced data: the call fails
 * at once and the mux is dead (what went into the pipe is the caller's to
 * drop: op_rsplice.c). */
Test(mux_direct, spliced_cut_midway_fails)
{
    struct spl t;
    spl_start(&t, false, &(struct script){.cut = true}, 1 << 20, 100000);
    int64_t t0 = now_ms();
    int r = spl_call(&t, 3000);
    cr_assert(r == -ECONNRESET || r == -EIO, "%d", r);
    cr_assert_lt(now_ms() - t0, 2500);
    cr_assert_neq(mux_dead(t.m), 0);
    cr_assert_eq(stats.spliced_reads, 0);
    spl_stop(&t);
}

/* A server that stops in the middle of the spliced data is cut off by
 * the frame's deadline (pace_ms plus its length at MUX_MIN_RATE), as a
 * read into a buffer is, not when it resumes. */
Test(mux_direct, spliced_trickle_is_cut_off)
{
    struct spl t;
    start_pace_ms = 300;
    /* 16 KiB: 1 s at MUX_MIN_RATE */
    spl_start(&t, false, &(struct script){.stall_ms = 4000}, 1 << 20, 16384);
    start_pace_ms = 0;
    int64_t t0 = now_ms();
    int r = spl_call(&t, 10000);
    int64_t took = now_ms() - t0;
    cr_assert_neq(r, 0);
    cr_assert_lt(took, 3500, "a trickle held the read for %lld ms", (long long)took);
    cr_assert_eq(mux_dead(t.m), -EPROTO);
    spl_stop(&t);
}
