/* What the files of the multiplex-ID dispatcher share (the design is at
 * the top of mux.c): the structures, the clock helpers, and the functions
 * one file gives another. mux.c: the lifecycle and the request list;
 * mux_reader.c: the reader thread; mux_send.c: numbering, signing and
 * sending; mux_call.c: waiting for replies and verifying them.
 */
#ifndef SMBFUSE_MUX_INT_H
#define SMBFUSE_MUX_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "link/md5_multi.h"
#include "link/mux.h"
#include "link/rxpool.h"
#include "support/clock.h"

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
/* READ_ANDX replies at least this long go straight into the request's
 * buffer (msg_out.rx_dst); shorter ones cost one copy less than the
 * extra read of their head. */
#define MUX_DIRECT_MIN 8192

/* How long the reader thread leaves the socket to callers after the last
 * one stopped reading it (see "Who reads" in mux.c): a gap between two
 * requests shorter than this costs no thread hand-off; a frame that
 * nobody waits for (an oplock break) waits at most this long. */
#define MUX_LEAD_GRACE_MS 10

/* Who reads the socket (mux.rd). */
enum mux_rd { RD_NONE, RD_THREAD, RD_CALLER };

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
    bool waiting;   /* its caller is in or on its way to wait_frame (mux->lock) */
    /* A ticket (mux_start): whoever holds it collects its reply with
     * mux_finish, reading the socket itself when nobody does, so the
     * reader thread is not called for it (set before it is listed). */
    bool claimed;
    /* Abandoned, and its late reply has begun: a reply in several frames
     * goes on (its frames come back to back), so the request keeps its MID
     * until a frame of another request comes; the rest is dropped as late,
     * neither taken for frames with unknown MIDs nor handed to a request
     * that took the MID again. */
    bool draining;
    bool got_frame;
    /* Set before the request is sent: a single-reply signed request whose
     * reply must carry expect, which the reader may then check in a batch;
     * bulk: a READ_ANDX, whose large reply is sure to come soon. */
    bool presign, bulk;
    uint32_t expect;
    /* Where the data of its READ_ANDX reply may go straight from the
     * socket (msg_out.rx_dst), dst_cap bytes; NULL once taken or given up
     * (mux->lock). filling: a reader writes into it now; the waiter never
     * leaves wait_frame while it does (pin_dst_locked), so the buffer is
     * never written after the caller's wait returned. */
    uint8_t *dst;
    uint32_t dst_cap;
    bool filling;
    /* With dst: its data may be spliced into the pipe `pipe` instead
     * (msg_out.rx_to_pipe; never while the connection signs). */
    bool to_pipe;
    int pipe;
    int err;                       /* set by mux_kill */
    bool patient;                  /* MUX_NO_TIMEOUT: its silence is no sign */
    int64_t wait_since_ms;         /* sent, or its last frame came (mux->lock) */
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

    /* protects reqs, inflight, nabandoned, ndraining, dead, rd, rd_free_ms */
    pthread_mutex_t lock;
    pthread_cond_t slot_cond; /* a slot freed or the mux died */
    enum mux_rd rd;           /* who reads the socket now */
    int64_t rd_free_ms;       /* when rd last became RD_NONE */
    int lead_grace_ms;        /* MUX_LEAD_GRACE_MS, or the options' */
    pthread_cond_t rd_cond;   /* the reader thread waits here while it does not read */
    struct mux_req *reqs;
    unsigned inflight, cap, nabandoned;
    unsigned ndraining; /* abandoned requests whose late reply has begun */
    int dead;
    int64_t last_stray_ms; /* when a frame with an unknown MID came (0: never) */
    /* Requests whose dst is set (written under lock; read without it by
     * the reader, which then takes a frame's head first). */
    atomic_uint ndst;
    atomic_llong last_rx_ms; /* when the last whole frame came */

    pthread_mutex_t send_lock; /* protects next_mid, signing, key, seq and writes to fd */
    uint16_t next_mid;
    atomic_bool signing; /* written under send_lock, read by waiters */
    struct sign_key key; /* immutable once signing is set */
    uint32_t seq;
    /* Whether the reader batches MAC checks (a fast md5_multi); set before
     * the reader starts, then only read. */
    bool batch_macs;
};

static inline int64_t now_mono_s(void)
{
    return (int64_t)(clock_mono_ns() / 1000000000u);
}

static inline int64_t now_us(void)
{
    return (int64_t)(clock_mono_ns() / 1000u);
}

static inline void stat_add(uint64_t *p)
{
    __atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
}

static inline void cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

/* mux.c; the callers hold m->lock where the function says so. */
void free_frames(struct mux_req *r);
void req_free(struct mux_req *r);
struct mux_req *find_req(struct mux *m, uint16_t mid);
void unlink_req(struct mux *m, struct mux_req *req);
void kill_locked(struct mux *m, int err);
void end_req_keep(struct mux *m, struct mux_req *rq);
void end_req(struct mux *m, struct mux_req *rq);

/* mux_reader.c */
void *reader_main(void *arg);
/* Reads the next frame (or a batch of them) and delivers it; the caller
 * owns the socket (mux.rd). <0: the mux died. */
int mux_pump(struct mux *m);
/* Caller holds m->lock and owns the socket; gives it up and wakes who
 * must read next: a caller waiting for its reply (other than self), else
 * the reader thread when replies are due that nobody waits for. */
void release_rd_locked(struct mux *m, const struct mux_req *self);
/* Caller holds m->lock: r's buffer can no longer be written (its dst is
 * dropped, and a fill under way ends first). Every way out of a wait
 * goes through it. */
void pin_dst_locked(struct mux *m, struct mux_req *r);
/* Caller holds m->lock: a reply is still due for r. */
bool req_due(const struct mux_req *r);

/* mux_send.c */
uint16_t pick_mid(struct mux *m);
int send_locked(struct mux *m, struct msg_out *req, uint32_t step, uint32_t *seq);
int send_parts(struct mux *m, uint16_t mid, struct msg_out *parts, size_t nparts, uint32_t *sec);
int write_frames(struct mux *m, struct msg_out *reqs, size_t n);
int begin_many(struct mux *m, struct mux_req **rq, struct msg_out *reqs, size_t k, bool single,
               unsigned extra, bool sign_all, const struct timespec *dl, uint32_t *seq,
               bool *signed_req);

#endif
