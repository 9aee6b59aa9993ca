/* Mount options of the smbfuse program, parsed once at start-up into an
 * immutable struct sfs_options.
 *
 * Option names and meanings follow mount.cifs(8) wherever they apply, so an
 * fstab line written for cifs needs only its type changed. Options that
 * belong to libfuse (allow_other, default_permissions, ro, nosuid, ...) are
 * handed on in fuse_args; options that are mount(8)'s business (_netdev,
 * x-systemd.*, noauto, user, ...) are accepted and dropped. Anything else
 * is an error that names the option.
 *
 * Secrets: the password lives in o->password, which is mlock'ed (never
 * swapped) and excluded from core dumps. It is never put into fuse_args (so
 * it never reaches /proc/mounts), and its bytes in argv are overwritten
 * after parsing (so `ps` never shows it). Hand it to smb1_conn_new through
 * sfs_opts_password() and call sfs_opts_wipe_password() right after.
 */
#ifndef SMBFUSE_FS_OPTS_H
#define SMBFUSE_FS_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <fuse_opt.h>

#include "smb1.h"

enum sfs_cache_mode {
    SFS_CACHE_STRICT = 0, /* mount.cifs default: page cache kept while unchanged */
    SFS_CACHE_LOOSE,      /* page cache kept for actimeo regardless of changes */
    SFS_CACHE_NONE,       /* direct I/O, no page cache */
};

#define SFS_PASSWORD_MAX 256 /* including the terminating NUL */

/* What the command line asks for. */
enum sfs_mode {
    SFS_MODE_MOUNT = 0, /* smbfuse //server/share MOUNTPOINT */
    SFS_MODE_NETMOUNT,  /* smbfuse // MOUNTPOINT: the network as a tree */
    SFS_MODE_LIST,      /* smbfuse --list //server: its shares */
    SFS_MODE_BROWSE,    /* smbfuse --browse [WORKGROUP] */
    SFS_MODE_LOOKUP,    /* smbfuse --lookup NAME */
};

struct sfs_options {
    enum sfs_mode mode;
    char *target; /* --browse WORKGROUP / --lookup NAME */
    char *source; /* "//server/share[/prefix]" as given (backslashes turned into '/') */
    char *host;   /* server name or address, IPv6 brackets removed */
    char *share;  /* share name */
    char *prefix; /* path below the share root, "" for the root, no leading '/' */
    char *mountpoint;
    uint16_t port;                   /* 0: default (445 direct, then 139) */
    char *username;                  /* "" means anonymous */
    char *domain;                    /* "" when none */
    char password[SFS_PASSWORD_MAX]; /* mlock'ed; wiped by sfs_opts_wipe_password / sfs_opts_free */
    bool have_password;              /* false with sec=none */
    char *credentials;               /* path of the credentials file, if one was given */
    enum smb1_sec sec;               /* default SMB1_SEC_NTLMV2 */
    enum smb1_sign_policy sign;      /* default SMB1_SIGN_AUTO */
    uid_t uid;                       /* default: the mounting user */
    gid_t gid;
    bool forceuid, forcegid;    /* override the owner the server reports (UNIX extensions) */
    mode_t file_mode, dir_mode; /* permission bits shown without UNIX extensions; default 0755 */
    bool ro;
    double actimeo; /* seconds attributes are cached; default 1 */
    enum sfs_cache_mode cache;
    char *netbiosname;       /* our NetBIOS name; NULL: host name */
    char *servernetbiosname; /* NetBIOS name called on port 139; NULL: derived from host */
    char *ip;                /* connect here instead of resolving host */
    char *wins;              /* wins=ADDR[,ADDR]: WINS servers */
    char *resolve;           /* resolve=host,wins,bcast: name resolve order */
    int wins_timeout;        /* wins_timeout=MS: wait for one WINS server; 0: the core's */
    uint16_t browse_bufsize; /* browse_bufsize=: NetServerEnum buffer; 0: the core's */
    int idle_timeout;        /* network mount: release a share idle this long (s); 60 */
    bool hidden;             /* network mount: show hidden ($) shares */
    char *servercreds;       /* network mount: DIR/SERVER credentials files */
    bool anon_default;       /* --list/--browse without credentials: anonymous */
    int unix_ext;            /* -1 auto, 0 nounix, 1 unix */
    bool nobrl;              /* byte-range locks stay local, never sent to the server */
    bool mapposix;
    bool mfsymlinks;   /* Minshall+French symlinks without UNIX extensions */
    int echo_interval; /* seconds; default 60 */
    int timeout;       /* seconds: the bound on a request (smb1_config.request_timeout_ms); 30 */
    bool soft;
    uint32_t rsize, wsize; /* 0: largest the server allows */
    uint32_t max_read;     /* max_read=: largest FUSE read; 0: libfuse's */
    uint32_t max_write;    /* max_write=: largest FUSE write; 0: 1 MiB (sfs_max_write) */
    bool debug;            /* -d or -o debug: log every request (-d also sets foreground) */
    bool foreground;       /* -f */
    bool single_thread;    /* -s */
    bool show_help;        /* --help/-h: print sfs_opts_print_help and exit 0 */
    bool show_version;     /* --version/-V: print sfs_opts_print_version and exit 0 */
    bool explain;          /* --explain-signing: no mount point; fuse/explain.c */
    bool show_keys;        /* --show-keys (with --explain-signing) */
    char *pcap;            /* pcap=FILE: capture every SMB frame */
    uint64_t pcap_max;     /* pcap_max=: bound in bytes; 0: the core's default */
    bool password_locked;  /* internal: password[] is mlock'ed */
};

/* Parses `smbfuse //server/share MOUNTPOINT [-o opts] [-f] [-d] [-s]` (or
 * `smbfuse --explain-signing [--show-keys] //server/share [-o opts]`, with
 * no mount point), as
 * typed by a user or run by mount.fuse3 (`smbfuse SRC MNT -o rw,...`), then
 * completes the credentials: a credentials= file, the USER, PASSWD,
 * PASSWD_FD and PASSWD_FILE environment variables, and finally a prompt on
 * /dev/tty when no password was given and sec is not none.
 *
 * fuse_args must be empty (FUSE_ARGS_INIT(0, NULL)); it receives argv[0]
 * followed by `-o` options meant for fuse_new()/fuse_session_new() and
 * fuse_mount(): the libfuse options the user gave, ro when asked, debug
 * with -d, and fsname=//server/share, subtype=smbfuse unless given.
 * -f, -s, -d and the mountpoint are not in fuse_args: read them from o.
 *
 * After parsing, every password value in argv is overwritten in place.
 * With --help or --version, returns 0 with show_help/show_version set and
 * nothing else checked. Returns 0, -EINVAL (bad usage or option value; err
 * names the option), -ENOENT / -EACCES (credentials or password file),
 * -ENOMEM, -ENOTTY (a password is needed and there is no terminal to ask
 * on). On error o and fuse_args are freed. */
int sfs_opts_parse(int argc, char **argv, struct sfs_options *o, struct fuse_args *fuse_args,
                   char *err, size_t errlen);

/* The password for smb1_config.password, or NULL with sec=none / guest.
 * Valid until sfs_opts_wipe_password(). */
const char *sfs_opts_password(const struct sfs_options *o);
/* Memory locks are not inherited across fork(): a process that forks
 * after parsing calls this in the child to lock the password again.
 * Returns 0 or -errno from mlock (the password stays usable either way). */
int sfs_opts_lock_password(struct sfs_options *o);
/* Overwrites the password and unlocks its memory. Idempotent. */
void sfs_opts_wipe_password(struct sfs_options *o);

/* Fills the connection fields of cfg from o (host, ip, port, names, user,
 * domain, password, sec, sign, echo interval, sizes, unix, mapposix, soft).
 * cfg points into o: o must outlive cfg's use. log is left untouched. */
void sfs_opts_to_config(const struct sfs_options *o, struct smb1_config *cfg);
/* Tells the interrupt hook that sfs_opts_to_config installs that FUSE is
 * set up (call after fuse_new succeeds): only then may it ask libfuse. */
void sfs_fuse_ready(void);

void sfs_opts_print_help(FILE *f, const char *prog);
void sfs_opts_print_version(FILE *f);

/* Reads the mount.cifs credentials file at path into o (username,
 * password, domain), as credentials= does; o starts zeroed. Free it with
 * sfs_opts_free. Returns 0 or -errno with a message in err. */
int sfs_opts_read_credentials(const char *path, struct sfs_options *o, char *err, size_t errlen);

/* Wipes the password and frees every string. Safe on a zeroed or already
 * freed struct. */
void sfs_opts_free(struct sfs_options *o);

#endif
