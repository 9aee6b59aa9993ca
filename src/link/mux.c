/* The multiplex-ID dispatcher.
 *
 * Ordering. A request is sent under send_lock: the MID is chosen, the
 * signing sequence number n is taken (the counter then moves by 2, also
 * for a message without a reply such as an oplock-release acknowledgement;
 * by 1 only for NT_CANCEL), the frame is signed and written, all before the
 * lock is released. So the order of frames on the wire is the order of
 * their sequence numbers, which is what the server checks. The request
 * remembers n + 1, the number its reply must carry; replies may arrive in
 * any order.
 *
 * Delivery. The single reader thread reads a frame, validates its shape
 * (msg_in_parse), and hands it to the request in the in-flight list whose
 * MID it carries. It never decodes further. A frame whose MID is not in flight is counted, logged
 * and dropped; a second frame for a single-frame request is dropped the same way. A malformed frame
 * or a transport error kills the mux: every waiter fails and the connection layer reconnects.
 *
 * Who reads. One thread at a time reads the socket (mux.rd, under lock):
 * the reader thread, or a caller waiting for its reply (leader/follower).
 * A sequential request costs a thread hand-off when the reader thread reads
 * its reply and wakes its waiter (two wake-ups on the critical path, and on
 * a loaded machine each may wait for a CPU); so when nobody reads, the
 * waiting caller takes the socket itself (it polls with its own deadline,
 * then reads whole frames and delivers each to its request, its own or
 * another's, as the reader thread does) until its own reply is in, then
 * hands the socket on: to another caller still waiting for its reply
 * (woken on its cond), else to the reader thread when replies are due
 * that nobody waits for (the rest of a pipeline), else to nobody. A
 * ticket's reply (mux_start) counts as waited for: its holder comes for
 * it with mux_finish and reads it itself, which spares write-behind's
 * pump a hand-off per reply (two wake-ups instead of one).
 * The reader thread keeps the socket while a reply is due that no caller
 * waits for (a pipeline works as before, batched MAC checks included),
 * else hands it to a waiting caller or to nobody, and takes it back once
 * callers have left it alone for lead_grace_ms (it wakes that often while
 * they do): so a frame nobody asked for (an oplock break) or the loss of
 * an idle connection waits at most that long to be seen, and an idle mux
 * costs no wake-ups.
 *
 * Verification. The waiting thread checks its reply's MAC against its
 * own expected number, so lone MD5s run in parallel. But MD5 is the main
 * cost of a signed bulk read, and one MD5 cannot use more than a scalar
 * chain of one core. So when the CPU has the vector MD5 (md5_multi.h)
 * and a long signed reply comes while more replies to READ_ANDX requests
 * are due, the reader holds it, reads the replies that follow (waiting at
 * most MUX_BATCH_WAIT_US for them), checks up to MUX_BATCH_MAX MACs in one
 * pass and hands each over marked good or bad. Only single-reply requests
 * qualify: their number (expect) is fixed before they are sent. A bad
 * mark is checked again by the waiter, which reports it as usual; frames
 * of other requests read meanwhile are delivered at once.
 *
 * Multi-part transactions (MS-CIFS 3.2.4.1.5). A TRANSACTION* request too
 * large for one message is a primary, sent as above, then secondaries that
 * the waiting thread sends with the primary's MID once the interim
 * response (no words, no bytes, success) has come; any other first reply
 * ends the transaction and no secondary is sent (an error: the final
 * reply; a success: -EIO, see call_parts). A secondary has no reply
 * of its own, yet both Samba's server and its client count it like a
 * request that has one: it takes the next number and the counter moves by
 * 2 (MS-SMB 3.3.5.1 "request has no response"; only NT_CANCEL moves it by
 * 1). The secondaries of one transaction go out back to back under one
 * hold of send_lock, never across a round trip; other requests may come
 * between the primary and them, which the numbering allows since each
 * message has its own. The interim response is signed with the primary's
 * number + 1. smbd signs the final response (every fragment of it) with
 * the number of the secondary that completed the transaction + 1 (it
 * replies from that secondary's request; Samba's client verifies it so),
 * which is the last one we sent; a server that refuses an earlier
 * secondary answers with that one's number + 1, and MS-SMB 3.3.5.1 read
 * literally keeps the primary's number + 1 for the whole transaction. So
 * a final frame is accepted with the MAC of any of these numbers, all of
 * them numbers of this transaction only, tried last secondary first; any
 * other MAC fails the request and kills the mux as for a single request.
 *
 * Timeouts. A waiter that gives up leaves its request in the list marked
 * abandoned, so its MID is not reused while a late reply may still come;
 * the late reply frees it. Too many abandoned requests kill the mux.
 *
 * Flow control. At most max_inflight requests wait for replies (a counting
 * wait on slot_cond); abandoned ones do not count.
 *
 * Lifetime. A mux is reference-counted; the connection swaps in a new one on
 * reconnect while old waiters still hold the old one. The last reference
 * joins the reader and closes the socket.
 *
 * Lock order: send_lock, then lock. The reader takes only lock. No lock is
 * held while waiting for a reply or reading the socket.
 */
#include "link/mux.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "link/md5_multi.h"
#include "link/nbt.h"
#include "wire/ntstatus.h"
#include "link/rxpool.h"
#include "support/secmem.h"
#include "wire/smb1_proto.h"
#include "link/mux_int.h"

void free_frames(struct mux_req *r)
{
    while (r->head) {
        struct mux_frame *f = r->head;
        r->head = f->next;
        msg_in_free(&f->in);
        free(f);
    }
    r->tail = NULL;
}

void req_free(struct mux_req *r)
{
    free_frames(r);
    pthread_cond_destroy(&r->cond);
    free(r);
}

/* Caller holds m->lock. */
struct mux_req *find_req(struct mux *m, uint16_t mid)
{
    for (struct mux_req *r = m->reqs; r; r = r->next)
        if (r->mid == mid)
            return r;
    return NULL;
}

/* Caller holds m->lock. */
void unlink_req(struct mux *m, struct mux_req *req)
{
    for (struct mux_req **pp = &m->reqs; *pp; pp = &(*pp)->next) {
        if (*pp == req) {
            *pp = req->next;
            return;
        }
    }
}

void pin_dst_locked(struct mux *m, struct mux_req *r)
{
    if (r->dst) {
        r->dst = NULL;
        atomic_fetch_sub(&m->ndst, 1);
    }
    /* The reader's read of the rest of the frame is bounded by pace_ms
     * (the trickle verdict), or ends when the mux dies. */
    while (r->filling)
        pthread_cond_wait(&r->cond, &m->lock);
}

/* Caller holds m->lock. */
void kill_locked(struct mux *m, int err)
{
    if (m->dead)
        return;
    m->dead = err;
    for (struct mux_req *r = m->reqs; r; r = r->next) {
        if (!r->abandoned) {
            r->err = err;
            pthread_cond_signal(&r->cond);
        }
    }
    pthread_cond_broadcast(&m->slot_cond);
    pthread_cond_broadcast(&m->rd_cond);
    /* Wakes the reader out of read(2); the fd stays open until the last put
     * so that no other file can take its number while threads use it. */
    shutdown(m->fd, SHUT_RDWR);
}

void mux_kill(struct mux *m, int err)
{
    pthread_mutex_lock(&m->lock);
    kill_locked(m, err);
    pthread_mutex_unlock(&m->lock);
}

unsigned mux_inflight(struct mux *m)
{
    pthread_mutex_lock(&m->lock);
    unsigned n = m->inflight;
    pthread_mutex_unlock(&m->lock);
    return n;
}

int mux_dead(struct mux *m)
{
    pthread_mutex_lock(&m->lock);
    int d = m->dead;
    pthread_mutex_unlock(&m->lock);
    return d;
}

int64_t mux_now_ms(void)
{
    return clock_mono_ms();
}

void mux_health(struct mux *m, struct mux_health *h)
{
    memset(h, 0, sizeof(*h));
    int64_t now = clock_mono_ms(), oldest = 0;
    pthread_mutex_lock(&m->lock);
    for (struct mux_req *r = m->reqs; r; r = r->next) {
        if (r->abandoned || r->patient || r->head)
            continue;
        if (!oldest || r->wait_since_ms < oldest)
            oldest = r->wait_since_ms;
        if (r->multi && r->got_frame)
            h->partial = true;
    }
    if (oldest) {
        h->oldest_ms = now - oldest;
        h->strays = m->last_stray_ms >= oldest;
    }
    pthread_mutex_unlock(&m->lock);
    h->rx_idle_ms = now - atomic_load(&m->last_rx_ms);
}

bool mux_echo_answered(struct mux *m, int64_t sent_ms)
{
    bool stuck = false;
    pthread_mutex_lock(&m->lock);
    for (struct mux_req *r = m->reqs; r && !stuck; r = r->next)
        stuck = !r->abandoned && r->multi && r->got_frame && !r->head && r->wait_since_ms < sent_ms;
    if (stuck)
        kill_locked(m, -EPROTO);
    pthread_mutex_unlock(&m->lock);
    if (stuck)
        log_err(m->o.log, "the server answered an ECHO but not the rest of a reply it began "
                          "(it announced more than it sends): dropping the connection");
    return stuck;
}

int64_t mux_last_activity(struct mux *m)
{
    return atomic_load(&m->last_activity);
}

/* Takes rq out of the list and frees its slot; end_req also frees it. */
void end_req_keep(struct mux *m, struct mux_req *rq)
{
    pthread_mutex_lock(&m->lock);
    unlink_req(m, rq);
    m->inflight--;
    pthread_cond_signal(&m->slot_cond);
    pthread_mutex_unlock(&m->lock);
}

void end_req(struct mux *m, struct mux_req *rq)
{
    end_req_keep(m, rq);
    req_free(rq);
}

struct mux *mux_new(int fd, const struct mux_opts *o, int *err)
{
    /* Pages of its own, locked and left out of core dumps: it holds the
     * signing key. */
    struct mux *m = secmem_alloc(sizeof(*m));
    if (!m) {
        close(fd);
        *err = -ENOMEM;
        return NULL;
    }
    m->fd = fd;
    m->o = *o;
    m->cap = o->max_inflight ? o->max_inflight : 1;
    if (m->cap > MUX_LOCAL_MAX_INFLIGHT)
        m->cap = MUX_LOCAL_MAX_INFLIGHT;
    m->next_mid = 1;
    atomic_init(&m->refs, 1);
    atomic_init(&m->last_activity, now_mono_s());
    atomic_init(&m->last_rx_ms, clock_mono_ms());
    atomic_init(&m->signing, false);
    atomic_init(&m->ndst, 0);
    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_init(&m->send_lock, NULL);
    cond_init_mono(&m->slot_cond);
    cond_init_mono(&m->rd_cond);
    m->rd = RD_NONE;
    m->rd_free_ms = 0; /* the reader thread reads from the start */
    m->lead_grace_ms = o->lead_grace_ms > 0 ? o->lead_grace_ms : MUX_LEAD_GRACE_MS;
    m->rx = rxpool_new(MUX_RX_IDLE);
    m->batch_macs = md5_multi_fast();
    int r = pthread_create(&m->reader, NULL, reader_main, m);
    if (r) {
        rxpool_release(m->rx);
        pthread_mutex_destroy(&m->lock);
        pthread_mutex_destroy(&m->send_lock);
        pthread_cond_destroy(&m->slot_cond);
        pthread_cond_destroy(&m->rd_cond);
        close(fd);
        secmem_free(m, sizeof(*m));
        *err = -r;
        return NULL;
    }
    return m;
}

void mux_get(struct mux *m)
{
    atomic_fetch_add(&m->refs, 1);
}

void mux_put(struct mux *m)
{
    if (!m || atomic_fetch_sub(&m->refs, 1) != 1)
        return;
    mux_kill(m, -ECONNRESET);
    pthread_join(m->reader, NULL);
    while (m->reqs) {
        /* Only abandoned requests are left: every waiter held a reference. */
        struct mux_req *r = m->reqs;
        m->reqs = r->next;
        req_free(r);
    }
    close(m->fd);
    rxpool_release(m->rx); /* frames still held elsewhere keep it alive */
    sign_key_wipe(&m->key);
    pthread_mutex_destroy(&m->lock);
    pthread_mutex_destroy(&m->send_lock);
    pthread_cond_destroy(&m->slot_cond);
    pthread_cond_destroy(&m->rd_cond);
    secmem_free(m, sizeof(*m));
}

void mux_set_max_inflight(struct mux *m, unsigned n)
{
    pthread_mutex_lock(&m->lock);
    m->cap = n ? n : 1;
    if (m->cap > MUX_LOCAL_MAX_INFLIGHT)
        m->cap = MUX_LOCAL_MAX_INFLIGHT;
    pthread_cond_broadcast(&m->slot_cond);
    pthread_mutex_unlock(&m->lock);
}

void mux_sign_activate(struct mux *m, const struct sign_key *k, uint32_t next_seq)
{
    pthread_mutex_lock(&m->send_lock);
    if (!atomic_load(&m->signing)) {
        m->key = *k;
        m->seq = next_seq;
        atomic_store(&m->signing, true);
    }
    pthread_mutex_unlock(&m->send_lock);
}

bool mux_signing(struct mux *m)
{
    return atomic_load(&m->signing);
}
