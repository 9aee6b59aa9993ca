/* Internal API of the connection layer, used by the operation modules
 * (op_*.c, trans.c). The connection owns the socket, the dispatcher, the
 * session and the negotiated limits; it reconnects transparently.
 *
 * Epochs: every (re)connection increments conn->epoch. A tree's TID and a
 * file's FID are valid only while their epoch equals the connection's;
 * conn_call() reconnects a stale tree itself, and op_file.c reopens a
 * stale file before using its FID.
 */
#ifndef SMBFUSE_CONN_H
#define SMBFUSE_CONN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "link/msg.h"
#include "link/mux.h"
#include "session/deadline.h"
#include "smb1.h"

/* Negotiated parameters of the current connection; copied out under the
 * connection's state lock by conn_get_params(). */
struct conn_params {
    uint64_t epoch;
    uint32_t caps;       /* server capabilities */
    uint32_t max_buffer; /* server MaxBufferSize */
    uint16_t max_mpx;
    bool unicode;
    bool large_files;
    uint64_t unix_caps; /* negotiated CIFS UNIX capabilities, 0 if none */
    uint32_t max_read;  /* largest READ_ANDX data we may ask for */
    /* Reads allowed when the server has CIFS_UNIX_LARGE_READ_CAP; 0 on a
     * signed or NetBIOS connection, where they are never asked for. */
    uint32_t big_read;
    uint32_t max_write; /* largest WRITE_ANDX data we may send */
    int16_t server_tz_min;
};

struct smb1_tree {
    struct smb1_conn *conn;
    char *share; /* UTF-8, as given */
    char *unc;   /* \\host\share */
    enum smb1_tree_type type;
    pthread_mutex_t lock; /* protects tid, epoch, fs_attrs */
    uint16_t tid;
    uint64_t epoch;    /* connection epoch the tid belongs to */
    uint32_t fs_attrs; /* FileSystemAttributes, when queried */
    void *ops_priv;    /* owned by the operation layer (caches); freed by its hook */
    void (*ops_priv_free)(void *);
    /* Set by the operation layer when it opens the tree, never changed:
     * runs in the calling thread after each TREE_CONNECT of t on a new
     * connection epoch, with no lock held (CIFS UNIX setup). The
     * connection layer calls up only through this hook. */
    void (*ready)(struct smb1_tree *t);
    /* ready runs for t's current epoch, in ready_thread: other requests
     * on t wait until it is done (conn_get_live), since it decides what
     * the new connection takes (Samba refuses the UNIX info levels before
     * the UNIX setup: a listing started again after a reconnect failed
     * with INVALID_LEVEL). Under the connection's lock. */
    bool ready_running;
    pthread_t ready_thread;
};

/* The PID every request carries. Byte-range locks belong to the (PID, FID)
 * pair and Samba checks reads and writes against the header PID, so the
 * PID in a LOCKING_ANDX range must be this one too. */
#define CONN_PID 0

enum conn_call_flags {
    CONN_IDEMPOTENT = 1 << 0,   /* safe to resend after a reconnect */
    CONN_NO_TREE = 1 << 1,      /* TID 0 / 0xFFFF: not tied to a tree */
    CONN_NO_TIMEOUT = 1 << 2,   /* e.g. blocking locks, change notify */
    CONN_NO_RECONNECT = 1 << 3, /* fail with -ECONNRESET rather than reconnect (teardown) */
    /* A best-effort clean-up after a failure (FIND_CLOSE2 of an abandoned
     * listing): bound by a probe interval (a quarter of the request
     * timeout, 250 ms to 10 s), not a whole request timeout, and sent as
     * CONN_CLEANUP. */
    CONN_BRIEF = 1 << 4,
    /* Frees something on the server (the CLOSE of a temporary handle):
     * sent also when the operation's deadline (CONN_OP) is up, then
     * without waiting for its reply (-ETIMEDOUT; a late reply is dropped),
     * so a handle is not left open there for the rest of the connection. */
    CONN_CLEANUP = 1 << 5,
};

/* conn_call flags for a request that names a FID or a search ID: the
 * connection layer must not reconnect to send it (the ID would be sent on
 * a connection it does not belong to, where it may name another file);
 * it fails with -ECONNRESET and the file layer (file_call) reopens and retries. */
#define CONN_FID CONN_NO_RECONNECT

/* Per-frame callback for replies that come in several frames (TRANS,
 * TRANS2, NT_TRANSACT). Called in the caller's thread with each verified
 * frame. Return 1 to wait for the next frame, 0 when complete, or -errno. */
typedef int (*conn_frame_fn)(void *arg, const struct msg_in *frame);

/* Sends req (with t's TID unless CONN_NO_TREE) and waits for its reply.
 * Reconnects first when the connection or t is stale. On return 0, *resp
 * holds a validated reply whose signature (if signing is active) was
 * verified; its status is in resp->status, not mapped. Returns -EIO (bad
 * signature, malformed reply; the connection is then re-established),
 * -ETIMEDOUT, -ECONNRESET (connection lost and the request could not be
 * retried), -ENOMEM, -EMSGSIZE. req is consumed either way. */
int conn_call(struct smb1_conn *c, struct smb1_tree *t, struct msg_out *req, struct msg_in *resp,
              unsigned flags);
/* Sends n single-reply requests pipelined from this thread (up to window
 * in flight) on the live connection, and collects their replies: res[i]
 * is 0 with resps[i] set as by conn_call, or -errno. Nothing is retried,
 * not even a stale tree: the caller sends a failed request again the
 * usual way. Every request is consumed. */
void conn_call_many(struct smb1_conn *c, struct smb1_tree *t, struct msg_out *reqs, size_t n,
                    size_t window, struct msg_in *resps, int *res, unsigned flags);
/* A request on its way (conn_start) whose reply conn_finish collects. */
struct conn_ticket {
    struct mux *mux; /* one reference, until conn_finish */
    uint64_t epoch;
    struct mux_ticket mt;
};
/* Sends single-reply requests of reqs[0..n) back to back without waiting
 * for their replies (write-behind), on the live connection as
 * conn_call_many does: nothing is retried, and a request whose want_epoch
 * is not the live one's is -ECONNRESET. wait: the call may wait for a
 * reconnect or a free slot, which a caller that holds tickets must not
 * (-EAGAIN: none free; collect one first). Returns how many went out, in
 * order (tk[0..g) are theirs), or -errno. The requests stay the caller's,
 * for conn_finish and to send again. */
int conn_start(struct smb1_conn *c, struct smb1_tree *t, struct msg_out *reqs, size_t n, bool wait,
               unsigned flags, struct conn_ticket *tk);
/* True when a request's data may go from a pipe to the socket
 * (msg_out.tail_len): the connection does not sign (nor has this mount
 * signed) and nobody observes its frames. mux_start has the last word. */
bool conn_splice_ok(struct smb1_conn *c);
/* True when conn_finish(tk) would not wait. */
bool conn_ticket_ready(const struct conn_ticket *tk);
/* Waits for the reply of tk (sent as req) and verifies it: 0 with *resp
 * set as by conn_call, or -errno. tk is done either way. */
int conn_finish(struct smb1_conn *c, struct conn_ticket *tk, struct msg_out *req,
                struct msg_in *resp);
/* Like conn_call, for multi-frame replies: each frame goes to fn in order.
 * *status receives the status of the last frame. */
int conn_call_multi(struct smb1_conn *c, struct smb1_tree *t, struct msg_out *req, conn_frame_fn fn,
                    void *arg, uint32_t *status, unsigned flags);
/* Like conn_call_multi for a request sent as n messages: msgs[0] is the
 * primary, msgs[1..n) the TRANSACTION*_SECONDARY messages sent after the
 * server's interim response (MS-CIFS 3.2.4.1.5); n == 1 is conn_call_multi.
 * want_epoch is taken from msgs[0]. Every message is consumed (the array
 * stays the caller's). A connection lost midway is retried only for a
 * CONN_IDEMPOTENT request, as for any other. */
int conn_call_parts(struct smb1_conn *c, struct smb1_tree *t, struct msg_out *msgs, size_t n,
                    conn_frame_fn fn, void *arg, uint32_t *status, unsigned flags);
/* Sends a request that has no reply (e.g. an oplock-break acknowledgement),
 * never reconnecting; -ECONNRESET when req->want_epoch is set and is not
 * the live connection's. */
int conn_send_noreply(struct smb1_conn *c, struct smb1_tree *t, struct msg_out *req);

void conn_get_params(struct smb1_conn *c, struct conn_params *p);
/* The bound of one request (smb1_config.request_timeout_ms, 30 s by
 * default), in ms: also the bound of an operation made of several round
 * trips that must not go on for ever (a listing). */
int conn_request_ms(struct smb1_conn *c);
/* The bound an operation on c opens its deadline with (CONN_OP): the
 * request timeout under `soft`; -1 (none) under `hard` or without c. */
int conn_op_bound(const struct smb1_conn *c);
/* When a wait made of round trips (a lock wait) must give up, monotonic
 * ms (mux_now_ms): a request bound from now, or a little before the
 * deadline of the operation this thread runs when that is sooner (its
 * last round trip must still fit). */
int64_t conn_wait_end(struct smb1_conn *c);
/* The wait a round trip (or a TCP connect, or a lock) of c may make now:
 * ms, or less when the deadline of the operation this thread runs
 * (CONN_OP) comes sooner; 0 when that deadline is up. Under `hard` there
 * is no such deadline. */
int conn_op_wait_ms(const struct smb1_conn *c, int ms);
/* Opens the deadline of one public operation on connection c (may be
 * NULL) for the enclosing block (session/deadline.h): every round trip of
 * the block, whatever helper makes it, ends by then. */
#define CONN_OP(c)                                                                                 \
    struct conn_op conn_op_ __attribute__((cleanup(conn_op_end)));                                 \
    conn_op_begin(&conn_op_, conn_op_bound(c))
struct smb1_log *conn_log(struct smb1_conn *c);
const struct smb1_config *conn_config(struct smb1_conn *c);
/* Ensures the connection and t are live; returns the current epoch. */
int conn_ensure(struct smb1_conn *c, struct smb1_tree *t, uint64_t *epoch);
/* The server of connection epoch refused a read above max_read: big_read
 * is off for the rest of that connection. */
void conn_refuse_big_reads(struct smb1_conn *c, uint64_t epoch);

/* TREE_CONNECT_ANDX to share on c (connecting c first if need be); ready
 * becomes t->ready and runs once the tree is connected. The operation
 * layer's smb1_tree_connect. Returns 0 or -errno as smb1_tree_connect. */
int tree_open(struct smb1_conn *c, const char *share, void (*ready)(struct smb1_tree *t),
              struct smb1_tree **out);
/* Records the CIFS UNIX capabilities set up for epoch. */
void conn_set_unix_caps(struct smb1_conn *c, uint64_t epoch, uint64_t caps);
/* True (once) when epoch is current and its UNIX extensions are not set
 * up yet; the caller then sets them up. */
bool conn_unix_claim(struct smb1_conn *c, uint64_t epoch);

/* Handler for server-initiated oplock breaks: the operation layer
 * registers one per connection. epoch is the connection the break came
 * on (only breaks of the current one are handed over): an acknowledgement
 * sets it as its want_epoch, so conn_send_noreply never sends it on a
 * newer connection. Without a handler a break is dropped: we never ask
 * for oplocks, so it is forged (breaks are never signed). */
typedef void (*conn_break_fn)(void *arg, uint64_t epoch, uint16_t tid, uint16_t fid,
                              uint8_t new_level);
void conn_set_break_handler(struct smb1_conn *c, conn_break_fn fn, void *arg);

#endif
