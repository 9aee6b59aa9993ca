/* The send path of the multiplex-ID dispatcher: MIDs, in-flight slots,
 * signing and writing frames (mux.c has the design). */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "link/md5_multi.h"
#include "link/nbt.h"
#include "link/obs.h"
#include "wire/ntstatus.h"
#include "link/rxpool.h"
#include "wire/smb1_proto.h"
#include "link/mux_int.h"

/* Caller holds send_lock and lock. */
uint16_t pick_mid(struct mux *m)
{
    for (;;) {
        uint16_t mid = m->next_mid++;
        if (m->next_mid == 0 || m->next_mid >= 0xFFFF)
            m->next_mid = 1;
        if (!find_req(m, mid))
            return mid;
    }
}

/* Writes req's frame: buf, then tail_len bytes spliced from the pipe
 * tail_fd (req->tail_sent counts them). The pipe is never waited for:
 * the caller put the bytes there first (an empty pipe is -ETIMEDOUT, as
 * a socket whose SO_SNDTIMEO expired; a half-written frame ends the mux
 * either way). */
static int write_tail_frame(struct mux *m, struct msg_out *req)
{
    const uint8_t *b = req->buf;
    size_t n = msg_smb_len(req) + MSG_XPORT_HDR;
    while (n) {
        ssize_t w = send(m->fd, b, n, MSG_NOSIGNAL | MSG_MORE);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w == 0 ? -EIO : errno == EAGAIN ? -ETIMEDOUT : -errno;
        b += w;
        n -= (size_t)w;
    }
    while (req->tail_sent < req->tail_len) {
        ssize_t w = splice(req->tail_fd, NULL, m->fd, NULL, req->tail_len - req->tail_sent,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w == 0 ? -EIO : errno == EAGAIN ? -ETIMEDOUT : -errno;
        req->tail_sent += (uint32_t)w;
    }
    stat_add(&m->o.stats->spliced_writes);
    return 0;
}

/* Writes the iovecs v[0..nv) whole (they may be changed meanwhile). */
static int writev_all(int fd, struct iovec *v, size_t nv)
{
    size_t first = 0;
    while (first < nv) {
        ssize_t w = writev(fd, v + first, (int)(nv - first));
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno == EAGAIN ? -ETIMEDOUT : -errno;
        while (first < nv && (size_t)w >= v[first].iov_len)
            w -= (ssize_t)v[first++].iov_len;
        if (first < nv) {
            v[first].iov_base = (uint8_t *)v[first].iov_base + w;
            v[first].iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Caller holds send_lock. Signs (when active) and writes one frame;
 * returns the sequence number used through *seq. */
int send_locked(struct mux *m, struct msg_out *req, uint32_t step, uint32_t *seq)
{
    uint8_t *smb = msg_smb(req);
    size_t len = msg_smb_len(req);
    if (atomic_load(&m->signing)) {
        *seq = m->seq;
        m->seq += step;
        sign_apply(&m->key, smb, len, *seq);
    } else {
        /* Before activation the signature field stays zero; the flag may be
         * set to tell the server we want signing (Samba's client does so). */
        memset(smb + SMB1_HDR_SIGNATURE, 0, SMB1_SIG_LEN);
        *seq = 0;
    }
    nbt_put_header(req->buf, len + req->tail_len);
    /* Before the write: once written, the reply may be read (and reported)
     * before this thread runs again. */
    obs_sent(m->o.obs, smb, len, atomic_load(&m->signing), *seq, step);
    int r;
    if (req->tail_mem && req->tail_len) {
        struct iovec v[2] = {{req->buf, len + MSG_XPORT_HDR},
                             {(void *)req->tail_mem, req->tail_len}};
        r = writev_all(m->fd, v, 2);
        stat_add(&m->o.stats->lent_writes);
    } else {
        r = req->tail_len ? write_tail_frame(m, req)
                          : nbt_write_all(m->fd, req->buf, len + MSG_XPORT_HDR);
    }
    if (r == 0)
        atomic_store(&m->last_activity, now_mono_s());
    return r;
}

int mux_send_oneway(struct mux *m, struct msg_out *req, bool keep_mid)
{
    int r = msg_out_error(req);
    if (r)
        return r;
    if (msg_smb_len(req) > m->o.max_frame && m->o.max_frame)
        return -EMSGSIZE;
    pthread_mutex_lock(&m->send_lock);
    pthread_mutex_lock(&m->lock);
    if (m->dead) {
        r = m->dead;
        pthread_mutex_unlock(&m->lock);
        pthread_mutex_unlock(&m->send_lock);
        return r;
    }
    if (!keep_mid)
        wire_st16(msg_smb(req) + SMB1_HDR_MID, pick_mid(m));
    pthread_mutex_unlock(&m->lock);
    uint32_t seq;
    /* smbd takes two numbers for every request, answered or not (checked in
     * itest_integrity: an oplock release moved by 1 makes smbd end the
     * connection); only NT_CANCEL takes one. Samba's client and cifs.ko
     * count the same way. */
    r = send_locked(m, req, req->cmd == SMB1_COM_NT_CANCEL ? 1 : 2, &seq);
    pthread_mutex_unlock(&m->send_lock);
    if (r) {
        mux_kill(m, -ECONNRESET);
        return -ECONNRESET;
    }
    stat_add(&m->o.stats->requests);
    return 0;
}

/* Sends the secondaries of a transaction with the primary's MID, back to
 * back; their sequence numbers go to sec. */
int send_parts(struct mux *m, uint16_t mid, struct msg_out *parts, size_t nparts, uint32_t *sec)
{
    int r = 0;
    pthread_mutex_lock(&m->send_lock);
    pthread_mutex_lock(&m->lock);
    r = m->dead;
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; i < nparts && r == 0; i++) {
        wire_st16(msg_smb(&parts[i]) + SMB1_HDR_MID, mid);
        r = send_locked(m, &parts[i], 2, &sec[i]);
        if (r == 0)
            stat_add(&m->o.stats->requests);
    }
    pthread_mutex_unlock(&m->send_lock);
    return r;
}

/* Writes the frames of reqs[0..n) with as few system calls as the socket
 * takes; a frame's tail in memory (tail_mem) is gathered behind its
 * buffer. Caller holds send_lock. */
int write_frames(struct mux *m, struct msg_out *reqs, size_t n)
{
    enum { MAXV = 64 };
    size_t i = 0;
    while (i < n) {
        struct iovec v[MAXV];
        size_t nv = 0;
        for (; nv + 2 <= MAXV && i < n; i++) {
            v[nv].iov_base = reqs[i].buf;
            v[nv++].iov_len = msg_smb_len(&reqs[i]) + MSG_XPORT_HDR;
            if (reqs[i].tail_mem && reqs[i].tail_len) {
                v[nv].iov_base = (void *)reqs[i].tail_mem;
                v[nv++].iov_len = reqs[i].tail_len;
                stat_add(&m->o.stats->lent_writes);
            }
        }
        int r = writev_all(m->fd, v, nv);
        if (r)
            return r;
    }
    atomic_store(&m->last_activity, now_mono_s());
    return 0;
}

/* Takes in-flight slots for up to k requests: the first waiting until *dl
 * (or failing with -EAGAIN at once when dl is NULL), the others only if
 * free at once; up to extra slots beyond the cap may be taken (the
 * liveness probe's ECHO: the request it probes may hold the only one).
 * Puts rq[0..g) in the list and sends reqs[0..g) back to back under one
 * hold of send_lock, numbered in order and, when several, signed in one
 * sign_apply_many pass. single: every request has one reply and no
 * secondaries, so the reader may check their MACs in a batch. sign_all:
 * several are signed in one pass whatever their size. Returns g >= 1, or
 * -errno with nothing in the list (the caller frees the rq); a failed
 * send kills the mux and gives -ECONNRESET. */
int begin_many(struct mux *m, struct mux_req **rq, struct msg_out *reqs, size_t k, bool single,
               unsigned extra, bool sign_all, const struct timespec *dl, uint32_t *seq,
               bool *signed_req)
{
    int r;
    size_t g = 0;
    /* Slots first, so the send lock is never held while waiting for one. */
    pthread_mutex_lock(&m->lock);
    while (!m->dead && m->inflight >= m->cap + extra) {
        if (!dl) {
            pthread_mutex_unlock(&m->lock);
            return -EAGAIN;
        }
        if (pthread_cond_timedwait(&m->slot_cond, &m->lock, dl) == ETIMEDOUT &&
            m->inflight >= m->cap + extra && !m->dead) {
            pthread_mutex_unlock(&m->lock);
            stat_add(&m->o.stats->timeouts);
            return -ETIMEDOUT;
        }
    }
    if (m->dead) {
        r = m->dead;
        pthread_mutex_unlock(&m->lock);
        return r;
    }
    while (g < k && m->inflight < m->cap + extra) {
        m->inflight++;
        g++;
    }
    pthread_mutex_unlock(&m->lock);

    pthread_mutex_lock(&m->send_lock);
    pthread_mutex_lock(&m->lock);
    if (m->dead) {
        r = m->dead;
        m->inflight -= (unsigned)g;
        pthread_cond_broadcast(&m->slot_cond);
        pthread_mutex_unlock(&m->lock);
        pthread_mutex_unlock(&m->send_lock);
        return r;
    }
    bool sgn = atomic_load(&m->signing);
    *signed_req = sgn;
    for (size_t i = 0; i < g; i++) {
        rq[i]->mid = pick_mid(m);
        /* Request i takes number m->seq + 2i below (send_lock is held from
         * here to there), so its reply must carry one more. */
        rq[i]->presign = sgn && !rq[i]->multi && single;
        rq[i]->bulk = reqs[i].cmd == SMB1_COM_READ_ANDX;
        rq[i]->expect = m->seq + 2 * (uint32_t)i + 1;
        if (reqs[i].rx_dst && reqs[i].rx_cap && !rq[i]->multi) {
            rq[i]->dst = reqs[i].rx_dst;
            rq[i]->dst_cap = reqs[i].rx_cap;
            rq[i]->to_pipe = reqs[i].rx_to_pipe && !sgn;
            rq[i]->pipe = reqs[i].rx_pipe;
            atomic_fetch_add(&m->ndst, 1);
        }
        rq[i]->next = m->reqs;
        rq[i]->wait_since_ms = clock_mono_ms();
        m->reqs = rq[i];
    }
    pthread_mutex_unlock(&m->lock);
    /* Small requests (reads) are signed in one pass and written with one
     * writev. Large ones (writes) are signed and sent one by one: the
     * server starts on the first while the next is signed, where one pass
     * over eight would hold all of them back until the slowest lane is
     * done; unless sign_all says the server has earlier ones to work on
     * meanwhile (write-behind), when one pass costs a third of the CPU. */
    size_t bytes = 0;
    for (size_t i = 0; i < g; i++)
        bytes += msg_smb_len(&reqs[i]);
    if (g > 1 && sgn && m->batch_macs && (sign_all || bytes <= MUX_BATCH_SIGN_BYTES)) {
        struct sign_check c[MUX_BATCH_MAX];
        for (size_t i = 0; i < g; i += MUX_BATCH_MAX) {
            size_t n = g - i < MUX_BATCH_MAX ? g - i : MUX_BATCH_MAX;
            for (size_t j = 0; j < n; j++) {
                struct msg_out *q = &reqs[i + j];
                wire_st16(msg_smb(q) + SMB1_HDR_MID, rq[i + j]->mid);
                seq[i + j] = m->seq;
                m->seq += 2;
                c[j] = (struct sign_check){
                    .smb = msg_smb(q), .len = msg_smb_len(q), .seq = seq[i + j]};
                nbt_put_header(q->buf, msg_smb_len(q));
            }
            sign_apply_many(&m->key, c, n);
        }
        for (size_t i = 0; m->o.obs && i < g; i++)
            obs_sent(m->o.obs, msg_smb(&reqs[i]), msg_smb_len(&reqs[i]), true, seq[i], 2);
        r = write_frames(m, reqs, g);
    } else if (g > 1 && !sgn && sign_all) {
        /* A run of write-behind unsigned: one writev for all of it. */
        for (size_t i = 0; i < g; i++) {
            uint8_t *smb = msg_smb(&reqs[i]);
            wire_st16(smb + SMB1_HDR_MID, rq[i]->mid);
            memset(smb + SMB1_HDR_SIGNATURE, 0, SMB1_SIG_LEN);
            seq[i] = 0;
            nbt_put_header(reqs[i].buf, msg_smb_len(&reqs[i]) + reqs[i].tail_len);
            obs_sent(m->o.obs, smb, msg_smb_len(&reqs[i]), false, 0, 2);
        }
        r = write_frames(m, reqs, g);
    } else {
        r = 0;
        for (size_t i = 0; i < g && r == 0; i++) {
            wire_st16(msg_smb(&reqs[i]) + SMB1_HDR_MID, rq[i]->mid);
            r = send_locked(m, &reqs[i], 2, &seq[i]);
        }
    }
    pthread_mutex_unlock(&m->send_lock);
    for (size_t i = 0; i < g; i++)
        stat_add(&m->o.stats->requests);
    if (r) {
        log_info(m->o.log, "sending %s failed: %s", msg_cmd_name(reqs[0].cmd), strerror(-r));
        mux_kill(m, -ECONNRESET);
        for (size_t i = 0; i < g; i++)
            end_req_keep(m, rq[i]);
        return -ECONNRESET;
    }
    return (int)g;
}
