/* The multiplex-ID dispatcher: one socket, one reader thread, many waiting
 * threads. See the design comment at the top of mux.c. */
#ifndef SMBFUSE_MUX_H
#define SMBFUSE_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "log.h"
#include "smb1.h"
#include "link/msg.h"
#include "link/sign.h"

/* Counters shared by every mux of one connection (the connection owns them
 * and outlives its muxes). Updated with atomic adds; read without a lock. */
struct mux_stats {
    uint64_t requests, bad_signatures, unknown_mids, timeouts, malformed, late_replies;
    uint64_t batched_macs;   /* replies whose MAC the reader checked in a batch */
    uint64_t spliced_writes; /* frames whose data went pipe -> socket (msg_out.tail_len) */
    uint64_t lent_writes;    /* frames whose data was gathered from a lent buffer (tail_mem) */
    uint64_t led;            /* frames read by a waiting caller, not the reader thread */
    uint64_t direct_reads;   /* READ_ANDX data received straight into the caller's buffer */
    uint64_t spliced_reads;  /* of those, whose data all went socket -> pipe (msg_out.rx_pipe) */
};

/* Called in the reader thread with a server-initiated message (an oplock
 * break). Takes ownership of in (free with msg_in_free). Must not block on
 * a round trip: queue the work elsewhere. */
typedef void (*mux_unsolicited_fn)(void *arg, struct msg_in *in);

/* Per-frame callback for multi-frame replies; same contract as conn_frame_fn:
 * 1 = wait for the next frame, 0 = complete, -errno = stop. */
typedef int (*mux_frame_fn)(void *arg, const struct msg_in *frame);

#define MUX_LOCAL_MAX_INFLIGHT 50

struct mux_opts {
    size_t max_frame;        /* cap on a received SMB */
    unsigned max_inflight;   /* server MaxMpxCount (0 is taken as 1), capped locally */
    struct mux_stats *stats; /* required */
    struct smb1_log *log;
    mux_unsolicited_fn unsolicited;
    void *unsolicited_arg;
    /* Stamped on every unsolicited frame (msg_in.epoch): the connection
     * epoch this mux carries, so a break is answered on its own one only. */
    uint64_t epoch;
    const struct smb1_observer *obs; /* NULL: nobody watches (link/obs.h) */
    /* A frame whose first byte has come must be complete within pace_ms
     * plus its length at MUX_MIN_RATE, else the server trickles: the mux
     * dies of -EPROTO. 0: no bound. */
    int pace_ms;
    /* Polled by a waiting caller every MUX_POLL_MS: non-zero cancels its
     * request (NT_CANCEL) and the call fails with -EINTR. May be NULL. */
    int (*interrupted)(void *arg);
    void *interrupted_arg;
    /* How long after callers last read the socket the reader thread takes
     * it back (mux.c, "Who reads"); 0: MUX_LEAD_GRACE_MS. */
    int lead_grace_ms;
};

#define MUX_MIN_RATE 16384 /* bytes per second */
#define MUX_POLL_MS  200

/* What the connection tells about the requests that wait (mux_health). */
struct mux_health {
    /* How long the longest-waiting request (one that has a timeout) has
     * waited for its next frame, in ms; 0: none waits. */
    int64_t oldest_ms;
    int64_t rx_idle_ms; /* since the last whole frame came in */
    /* Frames with MIDs never sent (or already answered) came in while
     * that request waited. */
    bool strays;
    bool partial; /* some waiting request has part of a multi-frame reply */
};

struct mux;

/* Takes ownership of fd and starts the reader thread. Returns NULL and
 * *err (-ENOMEM, -EAGAIN) on failure; fd is closed then too. */
struct mux *mux_new(int fd, const struct mux_opts *o, int *err);
/* Takes/drops a reference; the last put shuts down, joins the reader and
 * frees. mux_new returns one reference. */
void mux_get(struct mux *m);
void mux_put(struct mux *m);
/* Fails every waiting request with err and makes later calls fail with
 * err; wakes the reader (shutdown(2)) so that it exits. Idempotent: the
 * first error is kept. */
void mux_kill(struct mux *m, int err);
/* 0 while usable, else the error the mux died of. */
int mux_dead(struct mux *m);

/* Sets the in-flight cap (after NEGOTIATE): 0 is taken as 1, capped at
 * MUX_LOCAL_MAX_INFLIGHT. */
void mux_set_max_inflight(struct mux *m, unsigned n);

/* Starts signing: from now on every request is signed with the next
 * sequence number (counter starts at next_seq) and every reply must carry
 * a valid MAC. Never turned off again. The key is copied. */
void mux_sign_activate(struct mux *m, const struct sign_key *k, uint32_t next_seq);
bool mux_signing(struct mux *m);

enum mux_call_flags {
    MUX_NO_TIMEOUT = 1 << 0,
    MUX_MULTI = 1 << 1, /* reply may come in several frames (use fn) */
    /* The liveness probe (an ECHO): it may take one slot beyond the cap,
     * as cifs.ko does not count echoes against MaxMpxCount; with
     * MaxMpxCount 1 the request it probes holds the only one. */
    MUX_PROBE = 1 << 2,
};

/* Sends the n single-reply requests reqs[0..n) from this one thread, up to
 * window of them in flight at once while slots are free (at least one), and
 * collects their replies: res[i] is 0 with resps[i] holding the verified
 * reply (free it with msg_in_free), or -errno as mux_call would give it.
 * A pipeline for the pieces of a large read or write, without a thread
 * per piece; the requests stay the caller's. Each reply waits timeout_ms
 * from when its wait begins, and none past end_ms (monotonic ms, as
 * mux_now_ms; -1: no end), the deadline of the whole call. */
void mux_call_many(struct mux *m, struct msg_out *reqs, size_t n, size_t window, int timeout_ms,
                   int64_t end_ms, struct msg_in *resps, int *res);

/* A request sent by mux_start whose reply mux_finish collects. */
struct mux_ticket {
    struct mux_req *rq; /* NULL once finished */
    uint32_t seq;       /* the number it went out with */
    bool sgn;           /* it was signed: its reply must be */
    /* When it went out plus the timeout of mux_start: mux_finish waits no
     * longer (a reply is late by its own send, not by when it is collected:
     * pieces collected one after another must not each wait a timeout). */
    struct timespec due;
};

/* Sends single-reply requests from reqs[0..n) (at most 32; not consumed)
 * back to back without waiting for their replies: write-behind. Takes a
 * slot for the first (waiting up to timeout_ms for one when wait, else
 * -EAGAIN at once) and for the others while slots are free; several are
 * signed in one md5_multi pass. Returns how many went out (g >= 1, in
 * order; tk[0..g) are theirs), or -errno with nothing sent. Every ticket
 * must be collected with mux_finish, which frees its slot and reads the
 * socket itself for it when nobody does (the reader thread is not called
 * for a ticket: it reads one only after its grace without readers); a
 * caller that holds tickets must not wait for a slot (it may hold them
 * all). A request
 * with a tail (msg_out.tail_len: data in a pipe) goes alone, unsigned and
 * unobserved (else -EOPNOTSUPP, nothing taken from the pipe); when its
 * send fails, tail_sent says how much the pipe lost. Requests whose tail
 * is in memory (tail_mem) go in a run too, unsigned and unobserved
 * only. */
int mux_start(struct mux *m, struct msg_out *reqs, size_t n, bool wait, int timeout_ms,
              struct mux_ticket *tk);
/* True when mux_finish(tk) would not wait: its reply or an error is in. */
bool mux_ticket_ready(struct mux *m, const struct mux_ticket *tk);
/* Waits (up to timeout_ms, and not past tk->due) for tk's reply and
 * verifies it as mux_call does: 0 with *resp (the caller's), or -errno. tk is done either way.
 * req is the request tk went out as (an interrupt cancels it). */
int mux_finish(struct mux *m, struct mux_ticket *tk, struct msg_out *req, int timeout_ms,
               struct msg_in *resp);

/* Sends req (whose header fields other than MID and the signature are
 * already filled) and waits for the reply. The MID is chosen here. req is
 * not consumed (the caller may resend it). For a single-frame reply, *resp
 * receives it (owned by the caller); with MUX_MULTI each frame goes to fn.
 * timeout_ms applies to each frame. Returns 0, -EIO (bad or missing
 * signature, malformed frame: the mux is then dead), -ETIMEDOUT,
 * -ECONNRESET (connection lost), -EMSGSIZE, -ENOMEM, or the fn's error. */
int mux_call(struct mux *m, struct msg_out *req, unsigned flags, int timeout_ms,
             struct msg_in *resp, mux_frame_fn fn, void *arg);
/* mux_call for a multi-part transaction (flags must have MUX_MULTI): req
 * is the primary; once its interim response has come (verified, not
 * handed to fn), parts[0..nparts) are sent with req's MID, and the frames
 * of the final response go to fn. An error as the first reply goes to fn
 * and no part is sent; a success there (the server ran the request on the
 * primary's share alone) fails the call with -EIO, the mux staying up. The parts' header fields
 * other than MID and signature must be filled like req's; none is consumed. Same returns as
 * mux_call; -EINVAL without MUX_MULTI. */
int mux_call_parts(struct mux *m, struct msg_out *req, struct msg_out *parts, size_t nparts,
                   unsigned flags, int timeout_ms, mux_frame_fn fn, void *arg);
/* Sends a request that has no reply: NT_CANCEL and oplock-release
 * acknowledgements. The signing counter advances by 2 as for any request
 * (smbd, Samba's client and cifs.ko count so), by 1 only for NT_CANCEL.
 * MID: as given in the header when keep_mid, else a fresh one. */
int mux_send_oneway(struct mux *m, struct msg_out *req, bool keep_mid);

/* Requests waiting for their replies now (abandoned ones not counted). */
unsigned mux_inflight(struct mux *m);
void mux_health(struct mux *m, struct mux_health *h);
/* The server answered an ECHO sent at sent_ms (monotonic ms): a request
 * that has part of a multi-frame reply and has waited for the rest since
 * before then will not get it (a server sends the frames of one reply back
 * to back), so the mux dies of -EPROTO. Returns true when it did. */
bool mux_echo_answered(struct mux *m, int64_t sent_ms);
/* Monotonic milliseconds, the clock of mux_echo_answered. */
int64_t mux_now_ms(void);

/* Seconds (CLOCK_MONOTONIC) of the last frame received or sent. */
int64_t mux_last_activity(struct mux *m);

#endif
