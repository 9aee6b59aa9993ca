/* libsmb1core public API: what the FUSE program, tools and tests call.
 *
 * Every function returns 0 (or a byte count) on success and a negative errno
 * on failure. Handles are opaque. All calls are thread-safe: many threads
 * share one connection. The core never calls exit() and keeps no global
 * mutable state.
 */
#ifndef SMBFUSE_SMB1_H
#define SMBFUSE_SMB1_H

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

struct smb1_config {
    const char *host;              /* name or address to connect to */
    const char *ip;                /* if set, connect here instead of resolving host */
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
    int request_timeout_ms; /* 0: 60000 */
    int echo_interval_s;    /* 0: 60; idle keepalive and dead-server detection */
    size_t max_frame;       /* cap on a received frame; 0: by transport */
    uint32_t rsize, wsize;  /* 0: largest the server allows */
    int unix_ext;           /* -1 auto, 0 never, 1 require */
    bool mapposix;          /* map Windows-reserved characters (no UNIX extensions) */
    bool soft;              /* after a failed reconnect, fail requests instead of retrying */
    struct smb1_log *log;   /* must outlive the connection */
};

/* Connects, negotiates and authenticates. Errors: -ENOENT unknown host,
 * -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH, -EACCES logon failure,
 * -EPROTONOSUPPORT no common dialect or auth form, -EPERM signing policy
 * mismatch, -EIO malformed or unverifiable replies. A one-line reason for
 * the user is copied into why (if not NULL). */
int smb1_conn_new(const struct smb1_config *cfg, struct smb1_conn **out, char *why, size_t why_len);
/* Logs off and closes. Trees and files must have been released. */
void smb1_conn_free(struct smb1_conn *c);
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
    char server_domain[64];
    char server_name[64];
};
void smb1_conn_get_info(struct smb1_conn *c, struct smb1_conn_info *info);

struct smb1_stats {
    uint64_t requests, bad_signatures, unknown_mids, reconnects, timeouts, malformed;
    uint64_t batched_macs; /* signed replies verified several at once (mux.c) */
};
void smb1_conn_get_stats(struct smb1_conn *c, struct smb1_stats *st);

enum smb1_tree_type { SMB1_TREE_DISK, SMB1_TREE_PRINTER, SMB1_TREE_IPC, SMB1_TREE_OTHER };
/* Connects to \\host\share. -ENOENT: no such share; -EACCES: refused. */
int smb1_tree_connect(struct smb1_conn *c, const char *share, struct smb1_tree **out);
void smb1_tree_free(struct smb1_tree *t);
enum smb1_tree_type smb1_tree_type(const struct smb1_tree *t);

/* ---- File system operations (paths are UTF-8, '/'-separated, relative to
 * the share root; "" or "/" is the root). ---- */

struct smb1_stat {
    uint64_t size;
    uint64_t alloc;
    struct timespec atime, mtime, ctime, btime;
    uint32_t attrs; /* SMB1_ATTR_* */
    bool is_dir;
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
ssize_t smb1_read(struct smb1_file *f, void *buf, size_t len, uint64_t off);
ssize_t smb1_write(struct smb1_file *f, const void *buf, size_t len, uint64_t off);
int smb1_flush(struct smb1_file *f);
int smb1_fstat(struct smb1_file *f, struct smb1_stat *st);
int smb1_ftruncate(struct smb1_file *f, uint64_t size);
int smb1_truncate(struct smb1_tree *t, const char *path, uint64_t size);
int smb1_unlink(struct smb1_tree *t, const char *path);
/* Names that start with this are hidden homes of unlinked open files:
 * listings skip them. */
#define SMB1_DELETED_PREFIX ".smbfuse-deleted-"
/* For a caller that already knows path is no directory, as the kernel's
 * VFS does before it calls FUSE's unlink: with POSIX path operations this
 * saves the stat that smb1_unlink makes first. */
int smb1_unlink_nondir(struct smb1_tree *t, const char *path);
/* flags: 0 replaces an existing target; RENAME_NOREPLACE fails with -EEXIST. */
int smb1_rename(struct smb1_tree *t, const char *from, const char *to, unsigned flags);
int smb1_mkdir(struct smb1_tree *t, const char *path, mode_t mode);
int smb1_rmdir(struct smb1_tree *t, const char *path);
/* A NULL time leaves it unchanged. */
int smb1_utimens(struct smb1_tree *t, const char *path, struct smb1_file *f,
                 const struct timespec *atime, const struct timespec *mtime);
int smb1_chmod(struct smb1_tree *t, const char *path, mode_t mode);
int smb1_chown(struct smb1_tree *t, const char *path, int64_t uid, int64_t gid);
int smb1_symlink(struct smb1_tree *t, const char *target, const char *path);
/* Returns the target length or -errno; buf is NUL-terminated. */
ssize_t smb1_readlink(struct smb1_tree *t, const char *path, char *buf, size_t size);
int smb1_link(struct smb1_tree *t, const char *from, const char *to);
int smb1_statfs(struct smb1_tree *t, struct smb1_statfs *sf);

/* ---- Added by the operation layer (op_file.c, ea.c, share_enum.c) ---- */

/* Byte-range lock on an open file. type: F_RDLCK (shared), F_WRLCK
 * (exclusive) or F_UNLCK; len 0 means to the end of any file. wait: block
 * until granted. -EAGAIN when another handle holds a conflicting lock.
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
 * ends the wait with -EINTR; a wait ends with -EDEADLK after 30 s, and
 * -ENOLCK when 4 others of the share wait already. */
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

#endif
