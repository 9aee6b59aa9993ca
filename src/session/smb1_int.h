/* Private structures shared inside src/: the connection object.
 *
 * Lock order (take them in this order, never the reverse):
 *
 *   ops_tree->plock_lock     serialises the POSIX lock changes of a tree's
 *                            open files (ops/op_plock.c); held across their
 *                            non-blocking LOCKING_ANDX round trips, which
 *                            may reconnect
 *   conn->reconnect_lock     serialises (re)connects and tree reconnects; the
 *                            other lock held across round trips (a reconnect
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
#ifndef SMBFUSE_SMB1_INT_H
#define SMBFUSE_SMB1_INT_H

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
/* conn.c: records the CIFS UNIX capabilities set up for epoch. */
void conn_set_unix_caps(struct smb1_conn *c, uint64_t epoch, uint64_t caps);
/* conn.c: true (once) when epoch is current and its UNIX extensions are
 * not set up yet; the caller then sets them up. */
bool conn_unix_claim(struct smb1_conn *c, uint64_t epoch);
/* tree.c: QUERY/SET_FS_INFO level 0x200 on disk tree t once per epoch,
 * when the server has CAP_UNIX and cfg.unix_ext allows. */
void tree_unix_setup(struct smb1_conn *c, struct smb1_tree *t);
/* conn.c: a reason for the user, copied into why. */
void conn_why(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
