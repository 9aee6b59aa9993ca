/* libsmb1core public API: what the FUSE program, tools and tests call.
 *
 * Every function returns 0 (or a byte count) on success and a negative errno
 * on failure. Handles are opaque. All calls are thread-safe: many threads
 * share one connection. The core never calls exit() and keeps no global
 * mutable state.
 */
#ifndef SMBFUSE_SMB1_H
#define SMBFUSE_SMB1_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "log.h"

/* What the user asked for with sec= (mount.cifs's names). The order is the
 * strength: a response weaker than the one configured is never sent. */
enum smb1_sec {
    SMB1_SEC_NONE = 0, /* anonymous / guest: empty responses */
    SMB1_SEC_LANMAN,   /* LM response only (old devices; only when asked) */
    SMB1_SEC_NTLM,     /* NTLMv1 (LM response field = NT response) */
    SMB1_SEC_NTLMV2,   /* NTLMv2 + LMv2 (default) */
    SMB1_SEC_NTLMSSP,  /* NTLMSSP in SPNEGO with NTLMv2, ESS, KEY_EXCH */
};

struct smb1_conn;
struct smb1_tree;
struct smb1_file;
struct smb1_observer; /* below */

enum smb1_sign_policy {
    SMB1_SIGN_AUTO = 0, /* sign when the server enables or requires it */
    SMB1_SIGN_REQUIRED, /* refuse a server that cannot sign */
    SMB1_SIGN_OFF,      /* do not sign unless the server requires it */
};

enum smb1_transport {
    SMB1_TRANSPORT_AUTO = 0, /* port 445 direct TCP, then 139 NetBIOS */
    SMB1_TRANSPORT_DIRECT,   /* direct TCP framing on cfg.port (default 445) */
    SMB1_TRANSPORT_NETBIOS,  /* NetBIOS session service on cfg.port (default 139) */
};

/* ---- Name resolution (netbios/resolve.c) ----
 * A resolver finds the addresses of a server name the way Samba's "name
 * resolve order" does: "host" (DNS and /etc/hosts), "wins" (a unicast
 * NetBIOS query to each WINS server) and "bcast" (a NetBIOS broadcast on
 * every IPv4 interface), in the configured order, first success wins.
 * Names over 15 characters or with a dot go to DNS only. NetBIOS answers
 * are cached for their TTL, at most SMB1_RESOLVE_CACHE_MAX_S. Thread-safe;
 * one resolver may serve many connections. */
struct smb1_resolver;

struct smb1_resolve_config {
    const char *order;    /* "host,wins,bcast" (NULL or "": that order) */
    const char *wins;     /* "ADDR[,ADDR...]": IPv4 WINS servers, or NULL */
    uint16_t nbns_port;   /* 0: 137 (tests use others) */
    int bcast_timeout_ms; /* 0: 250 (RFC 1002 BCAST_REQ_RETRY_TIMEOUT), 3 tries */
    int wins_timeout_ms;  /* 0: SMB1_WINS_TIMEOUT_MS; the wait for one WINS server, 3 tries */
    int ucast_timeout_ms; /* one try's wait (tests); 0: wins_timeout_ms / 3 */
    struct smb1_log *log; /* may be NULL; must outlive the resolver */
};

#define SMB1_RESOLVE_CACHE_MAX_S 300
/* RFC 1002 6 gives UCAST_REQ_RETRY_TIMEOUT 5 s x 3 as defaults: 15 s for
 * a dead WINS server before the next method. A LAN answers in
 * milliseconds, so by default one WINS server gets a second in all. */
#define SMB1_WINS_TIMEOUT_MS 1000
#define SMB1_RESOLVE_MAX     16
#define SMB1_RESOLVE_FRESH   0x1u /* skip the cache (a reconnect: devices move) */

struct smb1_resolved {
    unsigned count;
    char addr[SMB1_RESOLVE_MAX][48]; /* numeric addresses */
    bool group;                      /* a NetBIOS group name */
    uint32_t ttl;                    /* seconds (NetBIOS answers) */
    char method[8];                  /* "ip", "host", "wins", "bcast" */
    char source[48];                 /* the WINS server that answered, "" otherwise */
    bool cached;                     /* from the cache */
};

/* Returns 0, -EINVAL (a bad order word or WINS address; why says which)
 * or -ENOMEM. */
int smb1_resolver_new(const struct smb1_resolve_config *rc, struct smb1_resolver **out, char *why,
                      size_t why_len);
void smb1_resolver_free(struct smb1_resolver *r);

/* Resolves name<suffix> (suffix 0x20: a file server; the "host" method
 * is used for 0x20 and 0x00 only). An address literal is returned as is.
 * Returns 0, -ENOENT (no method found it; why names the name and the
 * methods tried), -EINVAL (not a valid name) or -errno. */
int smb1_resolve(struct smb1_resolver *r, const char *name, uint8_t suffix, unsigned flags,
                 struct smb1_resolved *out, char *why, size_t why_len);

struct smb1_node_name {
    char name[16]; /* without padding */
    uint8_t suffix;
    bool group;
    bool active;
};
struct smb1_node_status {
    unsigned count;
    struct smb1_node_name names[64];
    uint8_t mac[6];
    char server[16];    /* its unique <20> name, "" when it has none */
    char workgroup[16]; /* its <00> group name, "" when none */
};
/* Node status (RFC 1002 4.2.17) of the host at the IPv4 address ip.
 * Returns 0, -ETIMEDOUT (no answer), -ECONNREFUSED, -EINVAL (not an IPv4
 * address) or -EIO. */
int smb1_node_status(struct smb1_resolver *r, const char *ip, struct smb1_node_status *out);

struct smb1_config {
    const char *host;               /* name or address to connect to */
    const char *ip;                 /* if set, connect here instead of resolving host */
    struct smb1_resolver *resolver; /* NULL: the connection makes its own from wins/resolve_order */
    const char *wins;               /* see smb1_resolve_config (when resolver is NULL) */
    const char *resolve_order;
    int wins_timeout_ms;           /* see smb1_resolve_config */
    uint16_t port;                 /* 0: by transport */
    enum smb1_transport transport; /* with a port but AUTO: 139 means NETBIOS, else DIRECT */
    const char
        *server_netbios_name; /* NBT called name; NULL: host's first label, then *SMBSERVER */
    const char *client_netbios_name; /* NULL: our host name */
    const char *user;                /* NULL or "" with sec=none: anonymous */
    const char *domain;
    const char *password; /* read once by smb1_conn_new; caller wipes its copy */
    enum smb1_sec sec;
    enum smb1_sign_policy sign;
    int connect_timeout_ms; /* 0: 10000 */
    /* 0: 30000. The bound on one call of this API (all its requests,
     * reconnects, retries and the waits for replies together: a call that
     * needs several requests gets one bound for all of them) with soft;
     * with hard, the bound on the wait for a reply from a server that is
     * there, while a server that cannot be reached is waited for until it
     * comes back, an interrupt or smb1_conn_abort. A request without an
     * answer after a quarter of it (at most 10 s) makes the client send an
     * ECHO: a server that does not answer that either within the same time
     * is taken for gone. */
    int request_timeout_ms;
    int echo_interval_s;   /* 0: 60; idle keepalive and dead-server detection */
    size_t max_frame;      /* cap on a received frame; 0: by transport */
    uint32_t rsize, wsize; /* 0: largest the server allows */
    int unix_ext;          /* -1 auto, 0 never, 1 require */
    bool mapposix;         /* map Windows-reserved characters (no UNIX extensions) */
    bool mfsymlinks;       /* Minshall+French symlinks (no UNIX extensions) */
    bool soft;             /* give up after request_timeout_ms instead of waiting for the server */
    uint16_t browse_bufsize; /* ReceiveBufferSize of NetServerEnum2/3; 0: 0xFFE0 */
    /* Polled (a few times a second) by a thread waiting for a reply or a
     * reconnect: non-zero means the caller was interrupted. The request
     * is then cancelled (NT_CANCEL) and the call fails with -EINTR. May be
     * NULL. Called in the waiting thread. */
    int (*interrupted)(void *arg);
    void *interrupt_arg;
    struct smb1_log *log; /* must outlive the connection */
    /* Optional: sees every frame, MAC check and logon decision (below);
     * must outlive the connection. NULL costs nothing. */
    const struct smb1_observer *observer;
    /* Optional: every SMB frame sent and received goes to this pcap file
     * (created or truncated by smb1_conn_new), at most pcap_max bytes
     * (0: 64 MiB). */
    const char *pcap_path;
    uint64_t pcap_max;
};

/* ---- Observing a connection (smbfuse --explain-signing) ----
 * The callbacks run in the connection's own threads (a sender holding the
 * send lock, the reader thread, a waiting caller), so they must be quick,
 * must not block and must not call into the connection. */
enum smb1_mac_verdict {
    SMB1_MAC_NONE,     /* signing not active: not signed, not checked */
    SMB1_MAC_SIGNED,   /* a message we signed */
    SMB1_MAC_GOOD,     /* a reply whose MAC verified */
    SMB1_MAC_BAD,      /* a reply whose MAC did not verify */
    SMB1_MAC_UNSIGNED, /* a reply without the signature flag where one was due */
};

/* One SMB as it went on or came off the wire. */
struct smb1_obs_frame {
    bool sent;
    const uint8_t *smb; /* from \xFFSMB on; valid during the call */
    size_t len;
    uint8_t cmd;
    uint16_t mid;
    /* Sent frames: signed (signing active) with seq, and the counter moved
     * by step (2: a reply is due, 1: a one-way message). */
    bool signing;
    uint32_t seq, step;
};

/* The check of one received reply's MAC. */
struct smb1_obs_mac {
    uint8_t cmd;
    uint16_t mid;
    uint32_t seq; /* the number it was checked against */
    uint8_t wire[8], computed[8];
    enum smb1_mac_verdict verdict;
    bool batched; /* checked by the reader thread in a batch */
};

enum smb1_obs_event { SMB1_OBS_NEGOTIATED, SMB1_OBS_LOGGED_ON };

/* What negotiate decided (NEGOTIATED), then what the logon did (LOGGED_ON;
 * the negotiate fields are repeated). No secret appears here except key,
 * and only for an observer that asked with want_keys. */
struct smb1_obs_session {
    enum smb1_obs_event event;
    uint8_t security_mode; /* the server's SecurityMode byte */
    bool extended_security;
    enum smb1_sign_policy policy;
    bool sign_asked, sign_required; /* we ask the server to sign / insist on it */
    bool netbios;                   /* transport */
    uint16_t port;
    /* LOGGED_ON: */
    enum smb1_sec method; /* SMB1_SEC_NONE: anonymous */
    bool ntlmssp, key_exch, guest;
    bool placeholder;       /* the final reply carried "BSRSPYL " */
    bool signing_active;    /* signing started with the final reply (seq 1) */
    const char *key_how;    /* how the MAC key was made, in words; NULL: none */
    size_t session_key_len; /* 16 */
    size_t response_len;    /* bytes of the response appended (0 with NTLMSSP) */
    size_t key_len;
    uint8_t fingerprint[4]; /* MD5(key)[0..3] */
    const uint8_t *key;     /* want_keys only; valid during the call */
};

struct smb1_observer {
    void (*frame)(void *arg, const struct smb1_obs_frame *f);
    void (*mac)(void *arg, const struct smb1_obs_mac *m);
    void (*session)(void *arg, const struct smb1_obs_session *s);
    void *arg;
    bool want_keys;
};

/* Connects, negotiates and authenticates. Errors: -ENOENT unknown host,
 * -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH, -EACCES logon failure,
 * -EPROTONOSUPPORT no common dialect or auth form, -EPERM signing policy
 * mismatch, -EIO malformed or unverifiable replies. A one-line reason for
 * the user is copied into why (if not NULL). */
int smb1_conn_new(const struct smb1_config *cfg, struct smb1_conn **out, char *why, size_t why_len);
/* Logs off and closes. Trees and files must have been released. */
void smb1_conn_free(struct smb1_conn *c);
/* For unmount: every call waiting on c, and every later one, fails at
 * once with -ENOTCONN; nothing reconnects any more. Thread-safe, and
 * quick: it only wakes and kills. smb1_conn_free is still needed. */
void smb1_conn_abort(struct smb1_conn *c);
int smb1_echo(struct smb1_conn *c);

struct smb1_conn_info {
    uint32_t capabilities;
    uint8_t security_mode;
    uint16_t max_mpx;
    uint32_t max_buffer;
    int16_t server_tz_min;
    bool signing_active;
    bool guest;
    bool extended_security;
    uint64_t unix_caps; /* 0 without CIFS UNIX extensions */
    bool netbios;       /* NetBIOS session service, else direct TCP */
    uint16_t port;
    enum smb1_sec logon; /* how the session logged on (SMB1_SEC_NONE: anonymous) */
    bool ntlmssp;        /* ... through NTLMSSP in SPNEGO */
    char server_domain[64];
    char server_name[64];
};
void smb1_conn_get_info(struct smb1_conn *c, struct smb1_conn_info *info);
/* True when smb1_write_pipe may splice on this connection now: it does
 * not sign (nor has it signed before), and nobody observes its frames. */
bool smb1_conn_splice_ok(struct smb1_conn *c);

struct smb1_stats {
    uint64_t requests, bad_signatures, unknown_mids, reconnects, timeouts, malformed;
    uint64_t batched_macs; /* signed replies verified several at once (mux.c) */
    /* WRITE_ANDX whose data went from FUSE's pipe to the socket by
     * splice(2), never copied in user space (smb1_write_pipe) */
    uint64_t spliced_writes;
    /* WRITE_ANDX whose data was sent straight from the buffer a FUSE
     * request was read into, never copied in user space
     * (smb1_write_lent) */
    uint64_t lent_writes;
    /* READ_ANDX replies whose data went from the socket straight into the
     * reader's buffer, never through a receive buffer (mux_reader.c) */
    uint64_t direct_reads;
    /* Of those, the ones whose data went from the socket into a pipe by
     * splice(2), and from there to FUSE, never into user space
     * (smb1_read_pipe) */
    uint64_t spliced_reads;
};
void smb1_conn_get_stats(struct smb1_conn *c, struct smb1_stats *st);

/* A live view of a connection (smbfuse --status). */
struct smb1_status {
    struct smb1_conn_info info;
    struct smb1_stats stats;
    const char *state; /* "connected", "broken", "reconnecting", ... */
    uint64_t epoch;
    unsigned inflight; /* requests waiting for their replies now */
    /* The last request that failed with -errno (not a status the server
     * answered), its command and when (time(2)); last_err 0: none. */
    int last_err;
    const char *last_err_cmd;
    int64_t last_err_time;
    int connect_err; /* why the last reconnect failed, 0 if none did */
};
void smb1_conn_get_status(struct smb1_conn *c, struct smb1_status *st);
/* An SMB1 command's name ("READ_ANDX"), "UNKNOWN" for others. */
const char *smb1_command_name(uint8_t cmd);

enum smb1_tree_type { SMB1_TREE_DISK, SMB1_TREE_PRINTER, SMB1_TREE_IPC, SMB1_TREE_OTHER };
/* Connects to \\host\share. -ENOENT: no such share; -EACCES: refused. */
int smb1_tree_connect(struct smb1_conn *c, const char *share, struct smb1_tree **out);
void smb1_tree_free(struct smb1_tree *t);
enum smb1_tree_type smb1_tree_type(const struct smb1_tree *t);

/* ---- File system operations (paths are UTF-8, '/'-separated, relative to
 * the share root; "" or "/" is the root). ---- */

/* ExtFileAttributes, in smb1_stat.attrs (MS-CIFS 2.2.1.2.3) */
#define SMB1_ATTR_READONLY  0x0001
#define SMB1_ATTR_HIDDEN    0x0002
#define SMB1_ATTR_SYSTEM    0x0004
#define SMB1_ATTR_DIRECTORY 0x0010
#define SMB1_ATTR_ARCHIVE   0x0020
#define SMB1_ATTR_NORMAL    0x0080
#define SMB1_ATTR_SPARSE    0x0200
#define SMB1_ATTR_REPARSE   0x0400

struct smb1_stat {
    uint64_t size;
    uint64_t alloc;
    struct timespec atime, mtime, ctime, btime;
    uint32_t attrs; /* SMB1_ATTR_* */
    bool is_dir;
    bool is_link;  /* a Minshall+French symlink (mode S_IFLNK, size the target's) */
    bool has_unix; /* the fields below come from the server */
    uint32_t mode; /* with S_IF* type bits */
    uint64_t uid, gid, ino, nlink, rdev;
};

struct smb1_statfs {
    uint64_t total_bytes, free_bytes, avail_bytes;
    uint32_t block_size;
    uint32_t name_max;
};

int smb1_stat(struct smb1_tree *t, const char *path, struct smb1_stat *st);
typedef int (*smb1_dir_cb)(void *ctx, const char *name, const struct smb1_stat *st);
/* Lists a directory with FIND_FIRST2/FIND_NEXT2; "." and ".." are skipped.
 * A non-zero return from cb stops the listing and is returned. */
int smb1_readdir(struct smb1_tree *t, const char *path, smb1_dir_cb cb, void *ctx);
/* flags: O_RDONLY/O_WRONLY/O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY. */
int smb1_open(struct smb1_tree *t, const char *path, int flags, mode_t mode, struct smb1_file **out,
              struct smb1_stat *st);
int smb1_close(struct smb1_file *f);
/* smb1_close that also sets the file's last-write time (NULL: none) in
 * the CLOSE itself where a CLOSE can carry it (whole seconds), else with
 * a set on the handle first: untar's utimens of each file it wrote costs
 * no request of its own. */
int smb1_close_mtime(struct smb1_file *f, const struct timespec *mtime);
/* Whether the CLOSE of f can carry its last-write time: Samba 4.17 sets it
 * for a file opened the POSIX way (CIFS UNIX extensions), but answers a
 * CLOSE with a time on a handle that wrote through NT_CREATE_ANDX with
 * success and leaves the time of the last write. */
bool smb1_close_sets_mtime(struct smb1_file *f);
/* The last write of a small file and the CLOSE of its handle in one
 * request (WRITE_ANDX + CLOSE), with mtime as smb1_close_mtime. f stays
 * valid and is still to be smb1_close'd: a later call through it opens the
 * file again. -EINVAL when len is 0 or above smb1_write_close_max(f) (0
 * while f holds locks: a CLOSE would drop them). A write that fails
 * closes nothing. */
int smb1_write_close(struct smb1_file *f, const void *buf, size_t len, uint64_t off,
                     const struct timespec *mtime);
size_t smb1_write_close_max(struct smb1_file *f);

/* The core's registry of open files keeps, per file, what a program
 * (the FUSE mount) needs between its calls (ops/op_wb.c, ops/op_own.c):
 *
 * Held writes. smb1_hold_writes lets a file the caller created (O_CREAT|
 * O_EXCL, for writing; false otherwise) keep its writes, up to what one
 * WRITE_ANDX + CLOSE chain carries; smb1_flush_held (at close(2)) sends
 * them, as that chain when f is the caller's only handle on the file
 * (with the mtime smb1_own_defer_mtime recorded), and returns their
 * failure: afterwards the data is on the server, visible to other
 * clients. Until then every request of the core that could observe the
 * file goes after them: a stat, open, listing, truncate, unlink, link or
 * rename of its path (or of a directory above it), and a read, fstat,
 * ftruncate, lock or flush through it. A failed held write is reported
 * by the next write, flush or close through f, and logged. Not with
 * O_SYNC/O_DSYNC: those promise the data at write(2). */
bool smb1_hold_writes(struct smb1_file *f);
int smb1_flush_held(struct smb1_file *f);
/* smb1_close, but may return before the server answered the CLOSE, when
 * nothing the caller was promised depends on the answer: nothing held and
 * no failure left to report (smb1_flush_held sent them and reported its
 * result), no mtime for the CLOSE to carry, no byte-range locks. Later
 * requests of the core that could observe the file (an open, stat,
 * listing, rename, unlink, link, truncate or set of times, mode, owner or
 * EAs of that name, or of a directory above it) wait for that CLOSE, and
 * smb1_tree_free lets the queue drain first. A failure is logged. f is
 * gone either way. */
int smb1_close_background(struct smb1_file *f);
/* Closes every file still open on t (what they hold goes out first) and
 * waits for the background CLOSEs: for an unmount that the program's
 * files outlived. */
void smb1_close_all(struct smb1_tree *t);
/* Whether a write through f went through (or is held). */
bool smb1_file_wrote(struct smb1_file *f);
/* Whether one of the caller's files is open on path (below: or below the
 * directory path). */
bool smb1_path_is_open(struct smb1_tree *t, const char *path, bool below);
/* What the reply of the create that opened f (smb1_open with O_CREAT)
 * said of the file, once: true for the first call, while nothing has gone
 * through f since (a request on its FID, a write); false after that, and
 * for an open without O_CREAT or one with O_TRUNC whose reply did not
 * show the file empty. For the stat that follows a create before the
 * program has the handle (libfuse's getattr within the create request),
 * when nothing fresher is known: it costs no request of its own. */
bool smb1_file_open_stat(struct smb1_file *f, struct smb1_stat *st);
/* f's path as it is now (it follows a rename of the file or of a
 * directory above it, and smb1_hide_open), into buf: for a caller that
 * has the handle and no name (libfuse's nullpath_ok). 0, or
 * -ENAMETOOLONG when it does not fit in size. */
int smb1_file_path(struct smb1_file *f, char *buf, size_t size);

/* A file we created, while the handle that created it is the only one
 * open on it and within ttl_ns (smb1_own_ttl) of the create: the create's
 * reply and our own changes since are all there is to know of it. Each
 * returns true when *st then holds all of its attributes, mtime included
 * (smb1_own_attr: true when it holds any, *exact says whether the mtime
 * too). smb1_own_changed: a chown/chmod of ours succeeded (-1: unchanged);
 * smb1_own_times: a set of times did (NULL: unchanged);
 * smb1_own_defer_mtime: the close is to set mt instead of a set now
 * (in the CLOSE of a POSIX open, else on the handle in the same wait as
 * the held writes' WRITE_ANDX + CLOSE; anything that pushes the held
 * writes before sets it; a failure is the next write's, fsync's or
 * close's; false: set it now); smb1_own_forget: a change whose result is
 * unknown. */
void smb1_own_ttl(struct smb1_tree *t, uint64_t ttl_ns);
bool smb1_own_attr(struct smb1_tree *t, const char *path, struct smb1_stat *st, bool *exact);
bool smb1_own_changed(struct smb1_tree *t, const char *path, int64_t uid, int64_t gid, int mode,
                      struct smb1_stat *st);
bool smb1_own_times(struct smb1_tree *t, const char *path, const struct timespec *at,
                    const struct timespec *mt, struct smb1_stat *st);
bool smb1_own_defer_mtime(struct smb1_tree *t, const char *path, const struct timespec *mt,
                          struct smb1_stat *st);
void smb1_own_forget(struct smb1_tree *t, const char *path);
/* Reads len bytes at off; fewer only at the end of the file. A failure
 * is reported as such even after partial data. */
ssize_t smb1_read(struct smb1_file *f, void *buf, size_t len, uint64_t off);
/* smb1_read whose data may end in a pipe instead of buf (FUSE then
 * splices it on: src/ops/op_rsplice.c). pipe_rd/pipe_wr: the two ends of
 * an empty pipe of the caller's, both O_NONBLOCK, that holds len bytes;
 * buf: len bytes, where the data goes when it cannot go into the pipe.
 * Returns what smb1_read would; *in_pipe: the data is in the pipe (all
 * of it), else in buf. On failure the pipe is empty. Splices only where
 * smb1_conn_splice_ok and the read is one READ_ANDX; else it is
 * smb1_read. */
ssize_t smb1_read_pipe(struct smb1_file *f, int pipe_rd, int pipe_wr, void *buf, size_t len,
                       uint64_t off, bool *in_pipe);
/* Writes len bytes at off: held (smb1_hold_writes), on its way
 * (smb1_write_behind_on), or answered by the server when it returns. */
ssize_t smb1_write(struct smb1_file *f, const void *buf, size_t len, uint64_t off);
/* A buffer lent to the core: smb1_write_lent may keep pointers into it
 * after it returned, each with a reference (smb1_loan_hold), and drops
 * them (smb1_loan_drop) once the data is no longer needed: its last
 * request answered. The owner makes it with refs 1 (its own) and back,
 * which the last drop calls (from any thread: the core's pump, a
 * writer, a close). */
struct smb1_loan {
    atomic_uint refs;
    void (*back)(struct smb1_loan *l);
};
void smb1_loan_hold(struct smb1_loan *l);
void smb1_loan_drop(struct smb1_loan *l);
/* smb1_write of buf, which lies in the buffer of loan: where the write
 * goes behind (smb1_write_behind_on) on a connection that neither signs
 * nor is observed (smb1_conn_splice_ok), its requests send the data
 * from buf itself (writev behind each WRITE_ANDX header: no copy in
 * user space, counted in smb1_stats.lent_writes) and hold the loan until
 * answered; a request sent again (a reconnect) or completed (a short
 * write) is copied first. Anywhere else it is smb1_write. */
ssize_t smb1_write_lent(struct smb1_file *f, const void *buf, size_t len, uint64_t off,
                        struct smb1_loan *loan);
/* smb1_write of the next len bytes waiting in the pipe fd (FUSE's splice
 * of a write; they must all be there: the pipe is never waited for).
 * They are read from it into the requests (one copy) or, when
 * pages_private says nobody changes the pipe's pages after this returns
 * (a direct-I/O write: the kernel copied them) and the connection
 * neither signs nor is observed, spliced from it to the socket behind
 * their WRITE_ANDX header: no copy here at all (counted in
 * smb1_stats.spliced_writes). A write held or on its way keeps a copy
 * (held: the bytes; on its way: references to the pages, tee(2)) for
 * when it must go again. Returns len or -errno; after a failure the
 * pipe's content is undefined. */
ssize_t smb1_write_pipe(struct smb1_file *f, int fd, size_t len, uint64_t off, bool pages_private);
/* Write-behind (ops/op_wbehind.c): from now on f's writes return once
 * they are on their way (the data copied into their requests), a few MiB
 * per handle at most; a write onto bytes still on their way waits for
 * them. Every request that could observe them goes after them, as after
 * held writes (above): a read, fstat, ftruncate, lock or flush through f,
 * and a stat, open, listing, truncate, unlink, link or rename of its
 * path. A write that failed on its way is logged and returned once by
 * the next smb1_write, smb1_flush_held or smb1_close of f (and by a
 * flush, fsync or read through f meanwhile). Not for O_SYNC/O_DSYNC.
 * False (and nothing changes) for a file not open for writing. */
bool smb1_write_behind_on(struct smb1_file *f);
/* Answers what is held and on its way (above), then asks the server to
 * flush the file to its disk (FLUSH). */
int smb1_flush(struct smb1_file *f);
int smb1_fstat(struct smb1_file *f, struct smb1_stat *st);
int smb1_ftruncate(struct smb1_file *f, uint64_t size);
int smb1_truncate(struct smb1_tree *t, const char *path, uint64_t size);
int smb1_unlink(struct smb1_tree *t, const char *path);
/* Names that start with this are hidden homes of unlinked open files:
 * listings skip them. */
#define SMB1_DELETED_PREFIX ".smbfuse-deleted-"
/* The one generator of such names: dir ("" for the share's root) joined
 * with SMB1_DELETED_PREFIX, the current time and n (callers vary n to get
 * another name), into out. Returns what snprintf returns. */
int smb1_deleted_name(char *out, size_t cap, const char *dir, unsigned n);
/* Moves the open file path out of the way for a program that unlinks it
 * but goes on using it (libfuse's .fuse_hidden rename): to a hidden name
 * in the share's root (into out), so that its directory can be removed at
 * once; the handles follow it, and the close of the last one deletes it.
 * 0 or -errno (nothing moved). */
int smb1_hide_open(struct smb1_tree *t, const char *path, char *out, size_t cap);
/* For a caller that already knows path is no directory, as the kernel's
 * VFS does before it calls FUSE's unlink: with POSIX path operations this
 * saves the stat that smb1_unlink makes first. attrs: the file's DOS
 * attributes as the caller knows them (a listing's; 0: not known). A file
 * known to be read-only loses the attribute before the delete (one
 * request) instead of after the server refused it (three: the refused
 * delete and a query first); should the delete fail, it is put back. */
int smb1_unlink_nondir(struct smb1_tree *t, const char *path, uint32_t attrs);
/* flags: 0 replaces an existing target; RENAME_NOREPLACE fails with -EEXIST. */
int smb1_rename(struct smb1_tree *t, const char *from, const char *to, unsigned flags);
int smb1_mkdir(struct smb1_tree *t, const char *path, mode_t mode);
/* smb1_mkdir, and the new directory's attributes in *st when the reply
 * gave them (CIFS UNIX extensions: st->has_unix; else st is zeroed). */
int smb1_mkdir_stat(struct smb1_tree *t, const char *path, mode_t mode, struct smb1_stat *st);
int smb1_rmdir(struct smb1_tree *t, const char *path);
/* A NULL time leaves it unchanged. */
int smb1_utimens(struct smb1_tree *t, const char *path, struct smb1_file *f,
                 const struct timespec *atime, const struct timespec *mtime);
int smb1_chmod(struct smb1_tree *t, const char *path, mode_t mode);
/* smb1_chmod with path's attributes known to the caller (a stat's, or
 * what a create of ours returned): without UNIX extensions the read-only
 * attribute is set from known->attrs instead of after a query. */
int smb1_chmod_known(struct smb1_tree *t, const char *path, mode_t mode,
                     const struct smb1_stat *known);
int smb1_chown(struct smb1_tree *t, const char *path, int64_t uid, int64_t gid);
/* smb1_chown of a path the caller knows to exist, owned by known->uid and
 * known->gid (a stat's, UNIX extensions): a change of owner known to be
 * refused (the same change, from the same owner to the same one, was
 * refused within the tree's own TTL: a POSIX chown is allowed or not by
 * who asks and the ids) is refused again without a request, with the
 * same errno, and a refusal needs no stat to tell it from a missing path.
 * tar as a user who may not give files away chowns each directory. */
int smb1_chown_known(struct smb1_tree *t, const char *path, int64_t uid, int64_t gid,
                     const struct smb1_stat *known);
int smb1_symlink(struct smb1_tree *t, const char *target, const char *path);
/* Returns the target length or -errno; buf is NUL-terminated. */
ssize_t smb1_readlink(struct smb1_tree *t, const char *path, char *buf, size_t size);
int smb1_link(struct smb1_tree *t, const char *from, const char *to);
/* mknod(2): a FIFO, socket or device node through SET_FILE_UNIX_BASIC with
 * the file type (CIFS UNIX extensions; without them -EPERM), or an empty
 * regular file. -EEXIST when path exists. */
int smb1_mknod(struct smb1_tree *t, const char *path, mode_t mode, dev_t rdev);
int smb1_statfs(struct smb1_tree *t, struct smb1_statfs *sf);

/* ---- Added by the operation layer (op_file.c, ea.c, share_enum.c) ---- */

/* Byte-range lock on an open file. type: F_RDLCK (shared), F_WRLCK
 * (exclusive) or F_UNLCK; len 0 means to the end of any file. wait: retry
 * until granted (never a request the server holds), -EDEADLK after the
 * request timeout (smb1_config.request_timeout_ms). -EAGAIN when another
 * handle holds a conflicting lock.
 * These are Windows byte-range locks: they do not merge or split like
 * POSIX locks, and an unlock must name a range that was locked (else it is
 * ignored). Locks do not survive a reconnection. */
int smb1_lock(struct smb1_file *f, uint64_t off, uint64_t len, int type, bool wait);

/* POSIX locks (fcntl F_SETLK / F_SETLKW, flock) on an open file, kept as
 * SMB byte-range locks (op_plock.c): one owner's locks merge, split,
 * upgrade and downgrade in place. owner: the POSIX lock owner; flock: an
 * flock(2) lock, which the handle owns (owner unused). [start, end), end
 * UINT64_MAX for "to the end". type F_RDLCK, F_WRLCK or F_UNLCK. -EAGAIN:
 * another handle or client holds a conflicting lock. wait (F_SETLKW)
 * retries until granted; interrupted (may be NULL) is polled meanwhile and
 * ends the wait with -EINTR; a wait ends with -EDEADLK after the request
 * timeout (30 s by default), and -ENOLCK when 4 others of the share wait
 * already. */
int smb1_posix_lock(struct smb1_file *f, uint64_t owner, bool flock, uint64_t start, uint64_t end,
                    int type, bool wait, int (*interrupted)(void));
/* F_GETLK for the parts of [start, end) no owner of f holds: *type (F_RDLCK
 * or F_WRLCK) becomes F_UNLCK when it could be taken, else F_WRLCK. */
int smb1_posix_getlk(struct smb1_file *f, uint64_t start, uint64_t end, int *type);

/* Extended attributes: only the "user." namespace, stored as SMB extended
 * attributes (EAs) named without the prefix. Other namespaces, or a server
 * without EA support: -ENOTSUP. get/list follow getxattr(2)/listxattr(2):
 * size 0 returns the size needed, too small a buffer -ERANGE; a missing
 * attribute -ENODATA. flags: XATTR_CREATE / XATTR_REPLACE. SMB cannot
 * store an empty value (it means "remove"): setting one gives -EINVAL. */
ssize_t smb1_getxattr(struct smb1_tree *t, const char *path, const char *name, void *value,
                      size_t size);
int smb1_setxattr(struct smb1_tree *t, const char *path, const char *name, const void *value,
                  size_t size, int flags);
ssize_t smb1_listxattr(struct smb1_tree *t, const char *path, char *list, size_t size);
int smb1_removexattr(struct smb1_tree *t, const char *path, const char *name);

/* Share types of smb1_share_enum (MS-RAP SHARE_INFO_1 / MS-SRVS shi1_type). */
#define SMB1_SHARE_TYPE_DISK   0
#define SMB1_SHARE_TYPE_PRINT  1
#define SMB1_SHARE_TYPE_DEVICE 2
#define SMB1_SHARE_TYPE_IPC    3
typedef int (*smb1_share_cb)(void *ctx, const char *name, uint32_t type, const char *remark);
/* Lists the server's shares (RAP NetShareEnum on IPC$). A non-zero return
 * from cb stops the listing and is returned. */
int smb1_share_enum(struct smb1_conn *c, smb1_share_cb cb, void *ctx);

/* ---- Browsing (rpc/browse.c; MS-BRWS, MS-RAP 2.5.5) ---- */

/* Server types (MS-RAP 2.5.5.2.1 / MS-BRWS 2.2.1.1), for smb1_server_enum
 * and in its answers. */
#define SMB1_SV_TYPE_WORKSTATION    0x00000001u
#define SMB1_SV_TYPE_SERVER         0x00000002u
#define SMB1_SV_TYPE_DOMAIN_CTRL    0x00000008u
#define SMB1_SV_TYPE_PRINTQ_SERVER  0x00000200u
#define SMB1_SV_TYPE_NT             0x00001000u
#define SMB1_SV_TYPE_MASTER_BROWSER 0x00040000u
#define SMB1_SV_TYPE_DOMAIN_MASTER  0x00080000u
#define SMB1_SV_TYPE_DOMAIN_ENUM    0x80000000u /* alone: list workgroups */
#define SMB1_SV_TYPE_ALL            0xFFFFFFFFu

/* name: a server (or with SMB1_SV_TYPE_DOMAIN_ENUM a workgroup, whose
 * comment is then its master browser's name). */
typedef int (*smb1_server_cb)(void *ctx, const char *name, uint32_t type, const char *comment);

/* Asks the browser at the other end of c (a master browser) for the
 * servers of workgroup of the given types, with NetServerEnum2, and
 * NetServerEnum3 to continue after ERROR_MORE_DATA. The workgroup is
 * always sent (a browser answers an empty list for the wrong default).
 * Returns 0, cb's non-zero return, -EACCES, -EIO or -errno. */
int smb1_server_enum(struct smb1_conn *c, const char *workgroup, uint32_t types, smb1_server_cb cb,
                     void *ctx);

struct smb1_master {
    char addr[48];      /* numeric */
    char name[16];      /* its NetBIOS <20> name (node status), else "" */
    char workgroup[16]; /* its workgroup (node status), else "" */
    char how[48];       /* "TESTGRP<1D> bcast", "TESTGRP<1B> wins", ... */
};
/* Finds a master browser: workgroup<1d> (the local master, by the
 * resolver: a broadcast), then workgroup<1b> (the domain master, from
 * WINS), else any master browser (__MSBROWSE__<01> by broadcast). With
 * workgroup NULL: __MSBROWSE__<01>, then (a WINS-only network) the
 * domain master of each WINS server's own workgroup. Returns 0, -ENOENT (why names what was
 * tried) or -errno. */
int smb1_find_master(struct smb1_resolver *r, const char *workgroup, struct smb1_master *out,
                     char *why, size_t why_len);

/* ---- Printing (ops/print_job.c, rpc/print_queue.c) ---- */

/* A print job being spooled on a printer tree (smb1_tree_type() ==
 * SMB1_TREE_PRINTER). */
struct smb1_print_job;

#define SMB1_PRINT_OPEN_PRINT_FILE 0x1 /* use SMB_COM_OPEN_PRINT_FILE even when NT_CREATE works */

/* Creates a print job named name (UTF-8; the document name the server's
 * queue shows) with NT_CREATE_ANDX on the printer tree, or with
 * SMB_COM_OPEN_PRINT_FILE when the server refuses that (or with
 * SMB1_PRINT_OPEN_PRINT_FILE). Errors: -ENOTSUP not a printer tree, -EACCES
 * / -EPERM refused, the transport's errors. */
int smb1_print_open(struct smb1_tree *t, const char *name, unsigned flags,
                    struct smb1_print_job **out);
/* Writes len bytes of job data at off (large writes go out as for
 * smb1_write). Returns the count or -errno. A job whose connection was lost
 * cannot be resumed: -EIO from then on. */
ssize_t smb1_print_write(struct smb1_print_job *j, const void *buf, size_t len, uint64_t off);
/* Submits the job (CLOSE, or CLOSE_PRINT_FILE) and frees it. Returns 0
 * when the server accepted the job, else -errno (the job is not printed). */
int smb1_print_close(struct smb1_print_job *j);
/* Abandons the job: cancels it where the server tells its id (so nothing
 * half-written is printed), closes and frees it. */
void smb1_print_abort(struct smb1_print_job *j);
/* The server's id of the job (the queue's), or 0 when it did not say. */
uint32_t smb1_print_job_id(const struct smb1_print_job *j);

enum smb1_job_status {
    SMB1_JOB_QUEUED = 0,
    SMB1_JOB_PAUSED = 1,
    SMB1_JOB_SPOOLING = 2,
    SMB1_JOB_PRINTING = 3,
    SMB1_JOB_ERROR = 4,
};

/* Where a job id comes from: a server numbers jobs for RAP and for spoolss
 * apart (Samba does), so a cancel must name the one the id is of. */
enum smb1_queue_via {
    SMB1_QUEUE_RAP = 0, /* RAP DosPrintJobEnum, and smb1_print_job_id */
    SMB1_QUEUE_SPOOLSS, /* spoolss EnumJobs */
};

struct smb1_print_job_info {
    uint32_t id;
    enum smb1_queue_via via;
    uint32_t position;
    enum smb1_job_status status;
    uint64_t size;
    time_t submitted; /* 0 when unknown */
    char name[256];   /* document name, UTF-8 */
    char user[64];
};
typedef int (*smb1_job_cb)(void *ctx, const struct smb1_print_job_info *job);
/* Lists the jobs in the queue of the printer tree t: spoolss EnumJobs
 * (Unicode names), or RAP DosPrintJobEnum where spoolss is absent or
 * fails (RAP names are OEM: other characters come back as '?'). A non-zero
 * return from cb stops the listing and is returned. */
int smb1_print_queue(struct smb1_tree *t, smb1_job_cb cb, void *ctx);
/* Cancels a job of the queue of printer tree t, as smb1_print_queue
 * listed it (id of its via's numbering): DosPrintJobDel, or spoolss
 * SetJob(JOB_CONTROL_DELETE); a RAP job the server will not delete by RAP
 * (Samba, for its users) is deleted through spoolss when exactly one job
 * there has its document, owner and size. -EPERM when the server does not
 * allow it, -ENOENT no such job. */
int smb1_print_cancel(struct smb1_tree *t, const struct smb1_print_job_info *job);

#endif
