/* What op_wbehind.c (the queue and its pump) and op_wbsplice.c (spliced
 * pieces and the carry) share: the per-handle state of write-behind and
 * the helpers both call. Locks and invariants: op_wbehind.c's top. */
#ifndef SMBFUSE_OP_WBEHIND_INT_H
#define SMBFUSE_OP_WBEHIND_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "ops/op_file.h"
#include "ops/op_io_int.h"
#include "ops/op_wb.h"
#include "support/pipekeep.h"

/* Pieces queued or in flight per handle (at most half the server's
 * slots): 24 x ~120 KiB. */
#define WB_MAX_PIECES 24
#define WB_RING       32 /* > WB_MAX_PIECES */
/* How long an idle pump waits for more before it ends. */
#define WB_PUMP_IDLE_MS 50
/* How long data waits in the carry at most before it goes out alone. */
#define WB_CARRY_MS 10
/* How long the pump leaves the replies of spliced pieces to the writer
 * after it last sent or collected one (see Collecting in op_wbehind.c). */
#define WB_REAP_MS 5
/* What the carry's pipe is asked to hold: a piece of pages that are
 * partly filled (small writes) still fits. */
#define WB_CARRY_BYTES (1u << 20)

/* What each keep pipe is asked to hold: the pages of every spliced
 * piece in flight fit in one; without CAP_SYS_RESOURCE a pipe gets at
 * most /proc/sys/fs/pipe-max-size (1 MiB by default), and a few of them
 * (PK_PIPES) serve. */
#define WB_KEEP_BYTES (8u << 20)

struct file_wbehind {
    struct smb1_file *f;
    pthread_mutex_t lock; /* see the top */
    pthread_cond_t cond;  /* queue changed: room, work, or the pump ended */
    /* The ring: [head, head + nsent) in flight (tk valid), then up to
     * head + total queued, not sent yet. */
    size_t head, nsent, total;
    struct msg_out req[WB_RING];
    struct conn_ticket tk[WB_RING];
    struct io_req io[WB_RING]; /* wbuf points into req's data */
    uint64_t epoch[WB_RING];
    int64_t sent_ms[WB_RING]; /* when each piece in flight went out (mux_now_ms) */
    bool pump_on;             /* a pump runs (or is starting) */
    bool pump_join;           /* a pump thread ended and is not joined yet */
    bool stop;                /* the handle is closing: an idle pump ends at once */
    bool inline_pump;         /* the pump runs in a writer's thread (no thread could start) */
    pthread_t pump;
    int err;  /* the first failure not reported yet */
    int qerr; /* the queue failed (a piece timed out); 0 again once empty */
    /* Buffers of sent pieces, used again while the pump runs: fresh
     * pages for every MiB cost as much as the copy into them. */
    uint8_t *spare[WB_RING];
    size_t spare_cap[WB_RING], nspare;
    /* Spliced pieces (see the top): keep holds a copy of each spliced
     * piece's data in the ring: kept[i] bytes of piece i in keep's pipe
     * kpipe[i] (kept 0: none; the room, ksize[i] slots, is given back
     * when the piece retires). send_err[i]: a spliced piece whose
     * send failed (no ticket). direct: a writer is sending one. */
    struct pipekeep keep;
    bool direct;
    uint32_t kept[WB_RING], ksize[WB_RING];
    int kpipe[WB_RING];
    int send_err[WB_RING];
    bool busy; /* what wb_behind_busy last said */
    /* Collecting (op_wbehind.c's top): collecting: a thread (the pump, or
     * a writer that needs room) collects the oldest piece. reap_ms: when
     * a writer last sent or collected a spliced piece. reapers: writers
     * that wait for room while the pump collects, to collect the next
     * themselves. hurry: threads
     * waiting for the queue that leave the collecting to the pump.
     * pump_idle: the pump waits with nothing in flight. reaped[i]: a
     * writer took piece i's reply and it was not a clean success: rgot[i]
     * and ragain[i] are its outcome, for the pump to finish. The pump
     * waits on pump_cond (woken for work, a stop, a hurry), not on cond. */
    bool collecting, pump_idle;
    int64_t reap_ms;
    unsigned hurry, reapers;
    pthread_cond_t pump_cond;
    bool reaped[WB_RING], ragain[WB_RING];
    int rgot[WB_RING];
    uint64_t writer_reaps; /* replies a writer collected (the tests' measure) */
    /* The carry (see the top): carry_len bytes of the file at carry_off,
     * taking at most carry_slots of the pipe carry's carry_cap, the
     * oldest since carry_ms; or, carry_mem, the first carry_len bytes of
     * mcarry (mcarry_cap bytes; a copied write's). The pipe's and
     * mcarry's contents change under stream; the numbers under stream
     * and lock. */
    pthread_mutex_t stream;
    int carry[2];
    uint64_t carry_off;
    uint32_t carry_len, carry_slots, carry_cap;
    int64_t carry_ms;
    bool carry_mem;
    uint8_t *mcarry;
    uint32_t mcarry_cap;
    /* Lent pieces (op_wblent.c): loan[i], held by piece i, whose data
     * lies in it (req[i].tail_mem) until the piece retires; NULL: none. */
    struct smb1_loan *loan[WB_RING];
};

/* f's write-behind state, made when create and none is there yet (NULL
 * when none, or no memory). */
struct file_wbehind *wb_get(struct smb1_file *f, bool create);
/* f is busy for the settles while anything is queued, on its way or
 * carried; w->lock held. */
void wb_busy(struct file_wbehind *w);
/* Waits on w->cond until dl (NULL: for ever); w->lock held. false when
 * dl has passed. */
bool wb_wait(struct file_wbehind *w, const struct timespec *dl);
/* One step of a writer's wait for room in the window, w->lock held
 * (dropped meanwhile): the oldest piece's reply read here when all that
 * is queued went out and nobody collects it (op_wbehind.c, Collecting),
 * else a wait for whoever collects it. false when dl has passed. */
bool wb_room_wait(struct file_wbehind *w, const struct timespec *dl);
/* A spliced piece went out (queued by its writer): the pump collects it
 * in time, started when none runs; w->lock held. */
void wb_sent_spliced(struct file_wbehind *w);
/* Starts a pump thread when none runs; w->lock held. false when none
 * could start. */
bool wb_pump_start(struct file_wbehind *w);
/* Pieces were queued: the pump takes them (started when none runs, or
 * run in this thread when none can start); w->lock held. */
void wb_kick(struct file_wbehind *w);
/* Whether a piece queued or in flight shares a byte with [off, off + len);
 * w->lock held. */
bool wb_overlaps(const struct file_wbehind *w, uint64_t off, size_t len);
/* Pieces queued or in flight per handle: at most half the server's
 * slots and WB_MAX_PIECES. */
size_t wb_window(const struct conn_params *p);
/* wbehind_write of buf, or (buf NULL) of the next len bytes of the pipe
 * fd, read straight into the requests. streamed: the caller holds
 * stream. A write from memory continues the carry in memory and leaves
 * its own there (op_wbsplice.c, The carry); any other sends it first. */
ssize_t wbehind_write_src(struct smb1_file *f, const void *buf, int fd, size_t len, uint64_t off,
                          bool streamed, struct smb1_loan *loan);

/* op_wblent.c. wb_lent_ok: a write of buf lent with loan may send its
 * data from there (the connection neither signs nor is observed).
 * wb_lent_hold: piece i holds loan (w->lock held). wb_lent_done: piece i
 * retires, its loan goes back (w->lock held). wb_lent_flat: a lent
 * piece's len bytes of data in one new buffer (its head in m's buffer,
 * the rest at tail_mem), to send again; NULL when no memory. */
bool wb_lent_ok(struct smb1_file *f, const void *buf, const struct smb1_loan *loan);
void wb_lent_hold(struct file_wbehind *w, size_t i, struct smb1_loan *loan);
void wb_lent_done(struct file_wbehind *w, size_t i);
uint8_t *wb_lent_flat(const struct msg_out *m, uint32_t len);

/* op_wbsplice.c. carry_out: sends what the carry holds as a piece of its
 * own; stream held, w->lock not. 0, or the failure (also kept in err:
 * the writes it carries have returned), after which the carry is empty
 * all the same. carry_close: closes the carry's pipe and frees mcarry,
 * dropping what they hold; stream held. carry_mem_room: mcarry holds at
 * least cap bytes (made or grown while the carry is empty, or holds
 * what it does); stream held. */
int carry_out(struct file_wbehind *w);
void carry_close(struct file_wbehind *w);
bool carry_mem_room(struct file_wbehind *w, uint32_t cap);

#endif
