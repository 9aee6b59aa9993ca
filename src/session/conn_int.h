/* The connection layer's private header, shared by conn.c, session.c and
 * tree.c: the connection object.
 *
 * Lock order (take them in this order, never the reverse):
 *
 *   conn->reconnect_lock     serialises (re)connects and tree reconnects; the
 *                            only lock held across round trips (a reconnect
 *                            is one thread's job while the others wait)
 *   tree->lock               a tree's TID and epoch
 *   conn->lock               state, epoch, current mux, UID, negotiated data
 *   conn->svc_lock           the service thread's queue and stop flag
 *   mux->send_lock           MID choice, signing counter, socket writes
 *   mux->lock                in-flight table, slots
 *   log->lock                the log sink (leaf)
 *
 * A mux is reference-counted: a caller takes a reference under conn->lock,
 * drops the lock, and makes its round trip on that mux, so a reconnect can
 * swap in a new mux while old callers finish (or fail) on the old one.
 */
#ifndef SMBFUSE_CONN_INT_H
#define SMBFUSE_CONN_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "session/conn.h"
#include "link/mux.h"
#include "auth/ntlm.h"
#include "smb1.h"

enum conn_state {
    CONN_NEW, /* smb1_conn_new has not connected yet */
    CONN_CONNECTED,
    CONN_BROKEN,
    CONN_RECONNECTING,
    CONN_CLOSED,
};

struct conn_brk {
    struct conn_brk *next;
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

    pthread_mutex_t reconnect_lock; /* see the lock order above */

    pthread_mutex_t lock; /* protects the fields down to break_arg */
    enum conn_state state;
    uint64_t epoch;
    struct mux *mux; /* NULL unless CONNECTED */
    uint16_t uid;
    struct conn_params params;
    struct smb1_conn_info info;
    int last_err;        /* why the last (re)connect failed */
    uint64_t unix_epoch; /* epoch whose UNIX extensions were set up */
    conn_break_fn break_fn;
    void *break_arg;

    pthread_t svc; /* echo keep-alive and oplock-break worker */
    bool svc_started;
    pthread_mutex_t svc_lock; /* protects svc_stop, brk_head, brk_tail */
    pthread_cond_t svc_cond;
    bool svc_stop;
    struct conn_brk *brk_head, *brk_tail;
};

/* What a successful connect + negotiate + session setup produced. */
struct conn_session {
    struct mux *mux; /* one reference */
    uint16_t uid;
    struct conn_params params;
    struct smb1_conn_info info;
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

/* tree.c: TREE_CONNECT_ANDX for t over mux; fills tid and type. */
int tree_connect_raw(struct smb1_conn *c, struct mux *mux, uint16_t uid, struct smb1_tree *t,
                     uint16_t *tid, enum smb1_tree_type *type);

/* conn.c: Flags2 for every request on c (EXTENDED_SECURITY when negotiated). */
uint16_t conn_flags2(const struct smb1_conn *c, bool ext_sec, bool unicode);
/* conn.c: fills UID/TID/PID/Flags2 and does one round trip on mux, with the
 * configured timeout; no reconnect, no status mapping. */
int conn_raw_call(struct smb1_conn *c, struct mux *mux, struct msg_out *req, uint16_t uid,
                  uint16_t tid, uint16_t flags2, struct msg_in *resp);
/* conn.c: the connection's stats, log and oplock-break hook for a new mux. */
void conn_mux_opts(struct smb1_conn *c, struct mux_opts *o);
/* conn.c: a reason for the user, copied into why. */
void conn_why(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
