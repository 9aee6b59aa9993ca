/* Private SMB1 servers for the Criterion integration tests.
 *
 * A thin C face of harness/smbd.sh (the shell tests use that script
 * directly, so both kinds of test get the same servers): each start makes
 * a temporary directory with its own smb.conf, users, share and log, on a
 * free loopback port, speaking only NT1 (SMB1). Stop kills the server's
 * whole process group and every helper it spawned, then removes the
 * directory. A server whose test died is stopped by the next start (or by
 * `scripts/harness-cleanup`).
 *
 * Profiles (see smbd.sh for the exact smb.conf):
 *   "signed"  signing mandatory, NTLMv2 only, CIFS UNIX extensions, EAs,
 *             shares "share" (user is an admin: UNIX chown works),
 *             "plain" (ordinary permissions), "printer" (printable)
 *   "nosign"  signing disabled, no UNIX extensions, NTLMv2 only, "printer"
 *   "legacy"  NTLMv1 and LANMAN accepted (sec=ntlm / sec=lanman), signing auto
 *   "guest"   map to guest = bad user, guest-ok share
 * impacket's smbserver is SMB1 only and must be used unsigned (its SMB1
 * MACs do not verify).
 *
 * Every start fails loudly: it prints the server's log on stderr and
 * returns a negative errno. Tests must assert on it, never skip.
 * Tests need root (smbd switches users).
 */
#ifndef SMBFUSE_HARNESS_H
#define SMBFUSE_HARNESS_H

#include <limits.h>
#include <sys/types.h>

#define HARNESS_NAME_MAX 128

struct harness_server {
    char addr[HARNESS_NAME_MAX];        /* "127.0.0.1" */
    int port;                           /* TCP port the server listens on */
    char dir[PATH_MAX];                 /* the server's temporary directory */
    char conf[PATH_MAX];                /* its smb.conf (smbd only) */
    char log_dir[PATH_MAX];             /* its logs */
    char share[HARNESS_NAME_MAX];       /* "share" ("SHARE" on impacket) */
    char share_dir[PATH_MAX];           /* the share's directory on this side */
    char plain_share[HARNESS_NAME_MAX]; /* signed profile only, else "" */
    char plain_dir[PATH_MAX];
    char printer[HARNESS_NAME_MAX]; /* signed profile only, else "" */
    char user[HARNESS_NAME_MAX];    /* a user with a password on the server */
    char pass[HARNESS_NAME_MAX];
    char domain[HARNESS_NAME_MAX];  /* the server's workgroup */
    char profile[HARNESS_NAME_MAX]; /* profile name, or "impacket" */
    pid_t pid;                      /* the server's main process (its group) */
};

/* Starts smbd with PROFILE on a free port. 0 or a negative errno
 * (-EINVAL for an unknown profile, -EIO when the server did not come up;
 * the reason is on stderr). */
int harness_smbd_start(const char *profile, struct harness_server *s);

/* As harness_smbd_start, with more smb.conf lines (newline-separated,
 * NULL for none) added to [global] and to [share]; they override the
 * profile's, e.g. "max xmit = 4096" or "strict locking = yes". */
int harness_smbd_start_ex(const char *profile, const char *extra_global, const char *extra_share,
                          struct harness_server *s);

/* As harness_smbd_start, but on 127.0.0.1:139, where a client opens with a
 * NetBIOS session request by default. -EADDRINUSE-like failures come back
 * as -EIO when another server already holds port 139. */
int harness_smbd_start_nbt(const char *profile, struct harness_server *s);

/* impacket's smbserver (SMB1 only) on a free port, share "SHARE". */
int harness_impacket_start(struct harness_server *s);

/* Kills smbd (every process of it) and starts it again on the same port
 * with the same users, files and configuration; s->pid is updated.
 * Connected clients see their connection drop. 0 or -EIO. */
int harness_server_restart(struct harness_server *s);

/* Kills the server without starting it again (harness_server_stop still
 * has to be called to remove its directory). 0 or -EIO. */
int harness_server_kill(struct harness_server *s);

/* Stops the server and removes its directory (kept when the environment
 * has SMBD_KEEP=1, for a look at its logs). Sets port to 0; dir and pid
 * stay, for harness_server_gone. Safe to call twice and on a zeroed
 * struct. */
void harness_server_stop(struct harness_server *s);

/* Non-zero when nothing of the server is running any more. */
int harness_server_gone(const struct harness_server *s);

/* The path of harness/smbd.sh this library runs (SMBFUSE_SOURCE_DIR from
 * the environment first, then the build's source directory). */
const char *harness_script_path(void);

#endif
