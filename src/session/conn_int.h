/* The connection layer's private header, shared by conn.c, session.c and
 * tree.c: the connection object.
 *
 * Lock order (take them in this order, never the reverse):
 *
 *   ops_tree->plock_lock     serialises the POSIX lock changes of a tree's
 *                            open files (ops/op_plock.c); held across their
 *                            non-blocking LOCKING_ANDX round trips, which
 *                            may reconnect; waited for at most one request
 *                            timeout
 *   smb1_file->lock_io       orders one open file's LOCKING_ANDX (ops/op_lock.c):
 *                            held across them; the closer thread only tries it
 *   conn->reconnect_lock     serialises (re)connects and tree reconnects; the
 *                            other lock held across round trips (a reconnect
 *                            is one thread's job while the others wait)
 *   tree->lock               a tree's TID and epoch
 *   conn->lock               state, epoch, current mux, UID, negotiated data
 *   conn->svc_lock           the service thread's queue and stop flag
 *   mux->send_lock           MID choice, signing counter, socket writes
 *   mux->lock                in-flight table, slots
 *   log->lock                the log sink (leaf)
 *   pcap->lock               the capture writer (leaf; taken by the observer
 *                            hook under send_lock, and by the reader)
 *
 * A mux is reference-counted: a caller takes a reference under conn->lock,
 * drops the lock, and makes its round trip on that mux, so a reconnect can
 * swap in a new mux while old callers finish (or fail) on the old one.
 */
#ifndef SMBFUSE_CONN_INT_H
#define SMBFUSE_CONN_INT_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "session/conn.h"
#include "link/mux.h"
#include "link/sign.h"
#include "auth/ntlm.h"
#include "smb1.h"

/* What the connect, the negotiate and the session setup said beyond
 * conn_params, which holds the negotiated limits and capabilities (once;
 * smb1_conn_get_info puts the two together). */
struct conn_peer {
    uint8_t security_mode;
    bool signing_active;
    bool guest;
    bool extended_security;
    bool netbios; /* NetBIOS session service, else direct TCP */
    uint16_t port;
    enum smb1_sec logon; /* how the session logged on (SMB1_SEC_NONE: anonymous) */
    bool ntlmssp;        /* ... through NTLMSSP in SPNEGO */
    char server_domain[64];
    char server_name[64];
};

enum conn_state {
    CONN_NEW, /* smb1_conn_new has not connected yet */
    CONN_CONNECTED,
    CONN_BROKEN,
    CONN_RECONNECTING,
    CONN_CLOSED,
};

struct conn_brk {
    struct conn_brk *next;
    uint64_t epoch; /* of the connection it came on: its TID and FID belong there */
    uint16_t tid, fid;
    uint8_t level;
};

struct smb1_conn {
    struct smb1_config cfg; /* copy; the strings point at the owned copies below */
    char *host, *ip, *srv_nbname, *cli_nbname;
    struct smb1_resolver *resolver; /* cfg.resolver or our own; immutable after new */
    bool own_resolver;
    struct smb1_log *log;
    struct ntlm_creds creds; /* hashes only; immutable until free */
    struct mux_stats stats;  /* atomics, shared by every mux of this conn */
    uint64_t reconnects;     /* atomic */
    uint64_t ignored_breaks; /* atomic: oplock breaks for oplocks we never held */

    pthread_mutex_t reconnect_lock; /* see the lock order above */

    pthread_mutex_t lock;      /* protects the fields down to break_arg */
    pthread_cond_t state_cond; /* with lock: state or epoch changed, or abort */
    enum conn_state state;
    bool aborted;             /* smb1_conn_abort: nothing waits or reconnects any more */
    struct mux *pending_mux;  /* the mux a (re)connect is building; abort kills it */
    int64_t next_attempt_ms;  /* no reconnect before this (monotonic ms): the backoff */
    int backoff_ms;           /* the wait after the next failed reconnect */
    unsigned failed_attempts; /* failed reconnects in a row */
    int64_t down_since_ms;    /* when the connection was last lost (0: it is up) */
    /* Logons that the server ended (USER_SESSION_DELETED) before any
     * request of theirs got another answer, in a row; logged once. */
    unsigned dead_logons;
    bool dead_logons_said;
    bool epoch_answered; /* a request of this epoch got an answer */
    /* The stall verdict (conn_stall.c), monotonic ms: when a request last
     * got an answer, and when one last went its whole bound while nothing
     * was answered (0: no verdict in force). */
    int64_t answered_ms;
    int64_t stalled_ms;
    uint64_t epoch;
    struct mux *mux; /* NULL unless CONNECTED */
    uint16_t uid;
    struct conn_params params;
    struct conn_peer peer;
    int last_err; /* why the last (re)connect failed */
    /* A connection of this mount has signed: every later one must sign or
     * fail, whatever its (unsigned, forgeable) NEGOTIATE reply claims. */
    bool signed_once;
    /* The last request that failed (smb1_conn_get_status): -errno, its
     * command, and when (CLOCK_REALTIME seconds); 0 when none yet. */
    int call_err;
    uint8_t call_err_cmd;
    int64_t call_err_time;
    uint64_t unix_epoch; /* epoch whose UNIX extensions were set up */
    conn_break_fn break_fn;
    void *break_arg;

    /* Observing (conn_obs.c): set up by smb1_conn_new before the first
     * connect, then read-only, except obs_sess and obs_key, which only the
     * thread establishing a session uses, and pcap_warned (atomic). */
    struct smb1_observer user_obs;       /* a copy of cfg.observer, or zeros */
    struct smb1_observer obs;            /* what the muxes report to */
    const struct smb1_observer *mux_obs; /* &obs, or NULL when nobody watches */
    struct pcap_writer *pcap;
    atomic_bool pcap_warned;
    atomic_int pcap_streams; /* 1 once the first connection is in the capture */
    struct smb1_obs_session obs_sess;
    struct sign_key obs_key;

    pthread_t svc; /* echo keep-alive and oplock-break worker */
    bool svc_started;
    pthread_mutex_t svc_lock; /* protects svc_stop, brk_head, brk_tail */
    pthread_cond_t svc_cond;
    bool svc_stop;
    struct conn_brk *brk_head, *brk_tail;
};

/* A signing integrity failure while a session is set up: its reply failed
 * the MAC, or, on a mount that has signed before (signed_once), it came
 * unsigned or signing did not start (a man in the middle stripping it).
 * Internal: like a refusal it is permanent for the back-off (callers fail
 * at once instead of waiting for the next attempt), and it leaves the core
 * as -EIO (conn_public_err), as a bad MAC on any reply does: the mount fails
 * closed, and EPERM or EACCES would speak of permissions. */
#define CONN_EINTEGRITY EBADMSG

/* A server that ends CONN_DEAD_LOGONS logons in a row before answering
 * anything else is not logged on to again at once: calls fail with -EIO
 * and the next logon waits 1 s, doubling up to 64 s (conn.c, conn_live.c). */
#define CONN_DEAD_LOGONS 2

static inline int conn_public_err(int r)
{
    return r == -CONN_EINTEGRITY ? -EIO : r;
}

/* What a successful connect + negotiate + session setup produced. */
struct conn_session {
    struct mux *mux; /* one reference */
    uint16_t uid;
    struct conn_params params;
    struct conn_peer peer;
};

/* session.c: connects the transport, negotiates, authenticates and starts
 * signing. Returns 0 or the errors of smb1_conn_new, with a reason in why. */
/* connect.c: sets up c->resolver (the configured one or our own from
 * cfg.wins/cfg.resolve_order); -EINVAL with a reason for bad options. */
int connect_init(struct smb1_conn *c, char *why, size_t why_len);
void connect_free(struct smb1_conn *c);
/* Resolves the host (again on a reconnect) and connects to the first
 * address and port that answers; on 139 sends the session request.
 * Returns 0 with the socket in *fd_out and whether it is NetBIOS framed,
 * or -ENOENT (unknown name), -ECONNREFUSED, -ETIMEDOUT, ... with why. */
int connect_transport(struct smb1_conn *c, int *fd_out, bool *nbt_out, char *why, size_t why_len);
int session_establish(struct smb1_conn *c, struct conn_session *out, char *why, size_t why_len);
/* session.c: LOGOFF_ANDX on mux (best effort, short timeout). */
void session_logoff(struct smb1_conn *c, struct mux *mux, uint16_t uid);

/* tree.c: the Service string of a successful TREE_CONNECT_ANDX reply
 * (at most TREE_SVC_MAX - 1 characters, terminated) and the tree type it
 * names (SMB1_TREE_OTHER for anything unknown, also a missing one). */
#define TREE_SVC_MAX 16
void tree_connect_decode(const struct msg_in *in, char svc[TREE_SVC_MAX],
                         enum smb1_tree_type *type);
/* tree.c: TREE_CONNECT_ANDX for t over mux; fills tid and type. */
int tree_connect_raw(struct smb1_conn *c, struct mux *mux, uint16_t uid, struct smb1_tree *t,
                     uint16_t *tid, enum smb1_tree_type *type);

/* conn.c: Flags2 for every request on c (EXTENDED_SECURITY when negotiated). */
uint16_t conn_flags2(const struct smb1_conn *c, bool ext_sec, bool unicode);
/* conn.c: fills UID/TID/PID/Flags2 and does one round trip on mux within
 * the hand-shake timeout (conn_handshake_ms); no reconnect, no status
 * mapping. */
int conn_raw_call(struct smb1_conn *c, struct mux *mux, struct msg_out *req, uint16_t uid,
                  uint16_t tid, uint16_t flags2, struct msg_in *resp);
/* conn.c: the probe interval (a quarter of the request timeout, 250 ms to
 * 10 s) and the timeout of a hand-shake round trip (two of them). */
int conn_probe_ms(const struct smb1_conn *c);
int conn_handshake_ms(const struct smb1_conn *c);
/* conn.c: a (re)connect built mux; false when the connection was aborted
 * meanwhile (the mux is then killed). conn_pending(c, NULL) clears it. */
bool conn_pending(struct smb1_conn *c, struct mux *mux);
/* conn.c: the connection's stats, log and oplock-break hook for a new mux. */
void conn_mux_opts(struct smb1_conn *c, struct mux_opts *o);
/* conn.c: the state's name for logs and smb1_conn_get_status. */
const char *conn_state_name(enum conn_state s);
/* conn_stall.c: -ETIMEDOUT while a stall verdict is in force (a call of
 * command cmd then fails at once), else 0. */
int conn_stall_check(struct smb1_conn *c, uint8_t cmd);
/* conn_stall.c: a round trip of cmd sent at sent_ms (monotonic) ended with
 * r: an answer (0) lifts the verdict, a timeout with nothing answered since
 * sent_ms gives it. */
void conn_stall_note(struct smb1_conn *c, uint8_t cmd, int64_t sent_ms, int r);
/* conn_status.c: a request failed with err (-errno). */
void conn_status_note(struct smb1_conn *c, uint8_t cmd, int err);
/* conn_obs.c: the connection's observer (smb1.h, struct smb1_observer)
 * and its pcap capture. Opens cfg->pcap_path (if set) and sets c->mux_obs when there is anything
 * to report to. Returns 0 or -errno with a reason in why (a capture file
 * that cannot be written). */
int conn_obs_init(struct smb1_conn *c, const struct smb1_config *cfg, char *why, size_t why_len);
/* Closes the capture and wipes a key still held. */
void conn_obs_free(struct smb1_conn *c);

/* session.c, while it establishes a session (one thread at a time: the
 * first connect, or a reconnect under reconnect_lock). */
void conn_obs_negotiated(struct smb1_conn *c, uint8_t security_mode, bool ext, bool sign,
                         bool sign_required, bool netbios, uint16_t port);
/* The MAC key signing starts with (before the final reply is checked). */
void conn_obs_key(struct smb1_conn *c, const struct sign_key *k);
void conn_obs_logged_on(struct smb1_conn *c, enum smb1_sec method, bool ntlmssp, bool key_exch,
                        bool guest, bool placeholder, bool signing_active);

/* conn.c: a live mux (one reference) and what requests on it carry. */
struct conn_live {
    struct mux *mux; /* one reference */
    uint64_t epoch;
    uint16_t uid, tid, flags2;
    bool unicode;
};
/* conn.c: gets the live mux (reconnecting when needed) and t's current
 * TID; deadline (monotonic ms, -1: none) bounds the wait for a reconnect
 * (-ETIMEDOUT); -EINTR on an interrupt, -ENOTCONN after an abort. */
int conn_get_live(struct smb1_conn *c, struct smb1_tree *t, unsigned flags, struct conn_live *lv,
                  int64_t deadline);
/* conn.c: the state change (logged), and a new session made current. Caller
 * holds c->lock. */
void conn_set_state(struct smb1_conn *c, enum conn_state s);
void conn_publish(struct smb1_conn *c, struct conn_session *s);
/* conn.c: kills mux and marks c broken if mux is still its current one. */
void conn_mark_broken(struct smb1_conn *c, struct mux *mux, int err);
/* conn.c: UID/TID/PID/Flags2 of a request. */
void conn_fill_header(struct msg_out *req, uint16_t uid, uint16_t tid, uint16_t flags2);
int64_t conn_mono_ms(void);
/* conn_svc.c: an oplock break (LOCKING_ANDX from the server): 0 with its
 * FID and new level, -EIO when it is malformed or not a break. */
int conn_break_decode(const struct msg_in *in, uint16_t *fid, uint8_t *level);
/* conn_svc.c: 0 when in is a successful reply to our ECHO (sequence 1,
 * our data back), -EPROTO when it echoes something else, or the errno of
 * its status. */
int conn_echo_decode(const struct msg_in *in);
/* conn_svc.c: the service thread, and the reader's hook for oplock breaks. */
void *conn_svc_main(void *arg);
void conn_on_unsolicited(void *arg, struct msg_in *in);
/* conn.c: a reason for the user, copied into why. */
void conn_why(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
