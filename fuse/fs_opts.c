/* mount.cifs-compatible option parsing, credentials and the password.
 *
 * Precedence, strongest first (documented in smbfuse(8)):
 *   username: username=/user= option > credentials file > $USER > login name
 *   password: password=/pass= option (or username=user%pass) > credentials
 *             file > $PASSWD > $PASSWD_FD > $PASSWD_FILE > prompt on /dev/tty
 *   domain:   domain=/dom=/workgroup= option (or DOMAIN/user) > credentials file
 * Among options, the last one given wins, as with mount(8).
 *
 * The password is copied straight from argv, the credentials file or the
 * terminal into o->password (mlock'ed); any temporary copy is wiped. Its
 * bytes in argv (and in the PASSWD environment string) are removed once
 * parsing is done, so /proc/PID/cmdline never shows it.
 */
#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif
#include "fs_opts_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <grp.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define NETBIOS_NAME_MAX 15 /* RFC 1001 14.1: 16 bytes, the last is the type */

int fail(struct parse_state *ps, int rc, const char *fmt, ...)
{
    va_list ap;

    if (ps->err && ps->errlen) {
        va_start(ap, fmt);
        vsnprintf(ps->err, ps->errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int set_str(struct parse_state *ps, char **dst, const char *val, size_t len)
{
    char *s = strndup(val, len);

    if (!s)
        return fail(ps, -ENOMEM, "out of memory");
    free(*dst);
    *dst = s;
    return 0;
}

/* ---- value parsers ---- */

int parse_ulong(const char *v, int base, unsigned long min, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long x;

    if (!*v || *v == '-' || *v == '+' || isspace((unsigned char)*v))
        return -EINVAL;
    errno = 0;
    x = strtoul(v, &end, base);
    if (errno || *end || x < min || x > max)
        return -EINVAL;
    *out = x;
    return 0;
}

static int parse_uid(const char *v, uid_t *out)
{
    unsigned long x;
    struct passwd pw, *res = NULL;
    char buf[4096];

    if (parse_ulong(v, 10, 0, (uid_t)-2, &x) == 0) {
        *out = (uid_t)x;
        return 0;
    }
    if (getpwnam_r(v, &pw, buf, sizeof(buf), &res) != 0 || !res)
        return -ENOENT;
    *out = res->pw_uid;
    return 0;
}

static int parse_gid(const char *v, gid_t *out)
{
    unsigned long x;
    struct group gr, *res = NULL;
    char buf[8192];

    if (parse_ulong(v, 10, 0, (gid_t)-2, &x) == 0) {
        *out = (gid_t)x;
        return 0;
    }
    if (getgrnam_r(v, &gr, buf, sizeof(buf), &res) != 0 || !res)
        return -ENOENT;
    *out = res->gr_gid;
    return 0;
}

/* ---- the option table ---- */

enum opt_id {
    O_USERNAME,
    O_PASSWORD,
    O_CREDENTIALS,
    O_DOMAIN,
    O_PORT,
    O_SEC,
    O_SIGN,
    O_NOSIGN,
    O_UID,
    O_GID,
    O_FORCEUID,
    O_NOFORCEUID,
    O_FORCEGID,
    O_NOFORCEGID,
    O_FILE_MODE,
    O_DIR_MODE,
    O_RO,
    O_RW,
    O_ACTIMEO,
    O_CACHE,
    O_NETBIOSNAME,
    O_SERVERNETBIOSNAME,
    O_IP,
    O_WINS,
    O_RESOLVE,
    O_WINS_TIMEOUT,
    O_IDLE_TIMEOUT,
    O_BROWSE_BUFSIZE,
    O_HIDDEN,
    O_SERVERCREDS,
    O_UNIX,
    O_NOUNIX,
    O_NOBRL,
    O_BRL,
    O_MAPPOSIX,
    O_NOMAPPOSIX,
    O_MFSYMLINKS,
    O_NOMFSYMLINKS,
    O_ECHO_INTERVAL,
    O_TIMEOUT,
    O_SOFT,
    O_HARD,
    O_RSIZE,
    O_MAX_READ,  /* libfuse's max_read: handed on, and kept for init */
    O_MAX_WRITE, /* ours: what sfs_init offers the kernel */
    O_WSIZE,
    O_VERS,
    O_IOCHARSET,
    O_NOPERM,
    O_DEBUG,
    O_PCAP,
    O_PCAP_MAX,
    O_FUSE_FLAG,  /* libfuse option without a value: handed on */
    O_FUSE_VALUE, /* libfuse option with a value: handed on */
    O_IGNORE,     /* mount(8)'s business or meaningless for FUSE: dropped */
};

enum opt_arg { ARG_NONE, ARG_REQUIRED, ARG_OPTIONAL };

struct opt_def {
    const char *name;
    enum opt_id id;
    enum opt_arg arg;
};

static const struct opt_def opt_table[] = {
    {"username", O_USERNAME, ARG_REQUIRED},
    {"user", O_USERNAME, ARG_OPTIONAL}, /* bare "user" is mount(8)'s */
    {"password", O_PASSWORD, ARG_REQUIRED},
    {"pass", O_PASSWORD, ARG_REQUIRED},
    {"credentials", O_CREDENTIALS, ARG_REQUIRED},
    {"cred", O_CREDENTIALS, ARG_REQUIRED},
    {"domain", O_DOMAIN, ARG_REQUIRED},
    {"dom", O_DOMAIN, ARG_REQUIRED},
    {"workgroup", O_DOMAIN, ARG_REQUIRED},
    {"port", O_PORT, ARG_REQUIRED},
    {"sec", O_SEC, ARG_REQUIRED},
    {"sign", O_SIGN, ARG_OPTIONAL},
    {"nosign", O_NOSIGN, ARG_NONE},
    {"uid", O_UID, ARG_REQUIRED},
    {"gid", O_GID, ARG_REQUIRED},
    {"forceuid", O_FORCEUID, ARG_NONE},
    {"noforceuid", O_NOFORCEUID, ARG_NONE},
    {"forcegid", O_FORCEGID, ARG_NONE},
    {"noforcegid", O_NOFORCEGID, ARG_NONE},
    {"file_mode", O_FILE_MODE, ARG_REQUIRED},
    {"dir_mode", O_DIR_MODE, ARG_REQUIRED},
    {"ro", O_RO, ARG_NONE},
    {"rw", O_RW, ARG_NONE},
    {"actimeo", O_ACTIMEO, ARG_REQUIRED},
    {"cache", O_CACHE, ARG_REQUIRED},
    {"netbiosname", O_NETBIOSNAME, ARG_REQUIRED},
    {"servernetbiosname", O_SERVERNETBIOSNAME, ARG_REQUIRED},
    {"servern", O_SERVERNETBIOSNAME, ARG_REQUIRED},
    {"ip", O_IP, ARG_REQUIRED},
    {"addr", O_IP, ARG_REQUIRED},
    {"wins", O_WINS, ARG_REQUIRED},
    {"resolve", O_RESOLVE, ARG_REQUIRED},
    {"wins_timeout", O_WINS_TIMEOUT, ARG_REQUIRED},
    {"idle_timeout", O_IDLE_TIMEOUT, ARG_REQUIRED},
    {"browse_bufsize", O_BROWSE_BUFSIZE, ARG_REQUIRED},
    {"hidden", O_HIDDEN, ARG_NONE},
    {"servercreds", O_SERVERCREDS, ARG_REQUIRED},
    {"unix", O_UNIX, ARG_NONE},
    {"linux", O_UNIX, ARG_NONE},
    {"nounix", O_NOUNIX, ARG_NONE},
    {"nolinux", O_NOUNIX, ARG_NONE},
    {"nobrl", O_NOBRL, ARG_NONE},
    {"brl", O_BRL, ARG_NONE},
    {"mapposix", O_MAPPOSIX, ARG_NONE},
    {"nomapposix", O_NOMAPPOSIX, ARG_NONE},
    {"mfsymlinks", O_MFSYMLINKS, ARG_NONE},
    {"nomfsymlinks", O_NOMFSYMLINKS, ARG_NONE},
    {"echo_interval", O_ECHO_INTERVAL, ARG_REQUIRED},
    {"timeout", O_TIMEOUT, ARG_REQUIRED},
    {"soft", O_SOFT, ARG_NONE},
    {"hard", O_HARD, ARG_NONE},
    {"rsize", O_RSIZE, ARG_REQUIRED},
    {"wsize", O_WSIZE, ARG_REQUIRED},
    {"vers", O_VERS, ARG_REQUIRED},
    {"iocharset", O_IOCHARSET, ARG_REQUIRED},
    {"noperm", O_NOPERM, ARG_NONE},
    {"debug", O_DEBUG, ARG_NONE},
    {"pcap", O_PCAP, ARG_REQUIRED},
    {"pcap_max", O_PCAP_MAX, ARG_REQUIRED},
    /* libfuse's own (accepted by both fuse_session_new and fuse_new) */
    {"allow_other", O_FUSE_FLAG, ARG_NONE},
    {"allow_root", O_FUSE_FLAG, ARG_NONE},
    {"default_permissions", O_FUSE_FLAG, ARG_NONE},
    {"auto_unmount", O_FUSE_FLAG, ARG_NONE},
    {"blkdev", O_FUSE_FLAG, ARG_NONE},
    {"max_read", O_MAX_READ, ARG_REQUIRED},
    {"max_write", O_MAX_WRITE, ARG_REQUIRED},
    {"blksize", O_FUSE_VALUE, ARG_REQUIRED},
    {"fsname", O_FUSE_VALUE, ARG_REQUIRED},
    {"subtype", O_FUSE_VALUE, ARG_REQUIRED},
    {"context", O_FUSE_VALUE, ARG_REQUIRED},
    {"fscontext", O_FUSE_VALUE, ARG_REQUIRED},
    {"defcontext", O_FUSE_VALUE, ARG_REQUIRED},
    {"rootcontext", O_FUSE_VALUE, ARG_REQUIRED},
    {"exec", O_FUSE_FLAG, ARG_NONE},
    {"noexec", O_FUSE_FLAG, ARG_NONE},
    {"suid", O_FUSE_FLAG, ARG_NONE},
    {"nosuid", O_FUSE_FLAG, ARG_NONE},
    {"dev", O_FUSE_FLAG, ARG_NONE},
    {"nodev", O_FUSE_FLAG, ARG_NONE},
    {"async", O_FUSE_FLAG, ARG_NONE},
    {"sync", O_FUSE_FLAG, ARG_NONE},
    {"dirsync", O_FUSE_FLAG, ARG_NONE},
    {"atime", O_FUSE_FLAG, ARG_NONE},
    {"noatime", O_FUSE_FLAG, ARG_NONE},
    /* mount(8)'s business, or flags libfuse cannot pass on */
    {"defaults", O_IGNORE, ARG_NONE},
    {"auto", O_IGNORE, ARG_NONE},
    {"noauto", O_IGNORE, ARG_NONE},
    {"nouser", O_IGNORE, ARG_NONE},
    {"users", O_IGNORE, ARG_NONE},
    {"owner", O_IGNORE, ARG_NONE},
    {"group", O_IGNORE, ARG_NONE},
    {"_netdev", O_IGNORE, ARG_NONE},
    {"nofail", O_IGNORE, ARG_NONE},
    {"comment", O_IGNORE, ARG_OPTIONAL},
    {"diratime", O_IGNORE, ARG_NONE},
    {"nodiratime", O_IGNORE, ARG_NONE},
    {"relatime", O_IGNORE, ARG_NONE},
    {"norelatime", O_IGNORE, ARG_NONE},
    {"strictatime", O_IGNORE, ARG_NONE},
    {"nostrictatime", O_IGNORE, ARG_NONE},
    {"lazytime", O_IGNORE, ARG_NONE},
    {"nolazytime", O_IGNORE, ARG_NONE},
    {"nonempty", O_IGNORE, ARG_NONE}, /* fuse2's; fuse3 always allows it */
};

static const struct opt_def *find_opt(const char *name)
{
    for (size_t i = 0; i < sizeof(opt_table) / sizeof(opt_table[0]); i++)
        if (strcmp(opt_table[i].name, name) == 0)
            return &opt_table[i];
    return NULL;
}

static int add_fuse_opt(struct parse_state *ps, const char *opt)
{
    if (fuse_opt_add_opt_escaped(&ps->fuse_opts, opt) != 0)
        return fail(ps, -ENOMEM, "out of memory");
    return 0;
}

static int parse_sec(struct parse_state *ps, const char *v)
{
    static const struct {
        const char *name;
        enum smb1_sec sec;
        bool sign;
    } secs[] = {
        {"none", SMB1_SEC_NONE, false},       {"lanman", SMB1_SEC_LANMAN, false},
        {"ntlm", SMB1_SEC_NTLM, false},       {"ntlmi", SMB1_SEC_NTLM, true},
        {"ntlmv2", SMB1_SEC_NTLMV2, false},   {"ntlmv2i", SMB1_SEC_NTLMV2, true},
        {"ntlmssp", SMB1_SEC_NTLMSSP, false}, {"ntlmsspi", SMB1_SEC_NTLMSSP, true},
    };

    for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
        if (strcmp(v, secs[i].name) == 0) {
            ps->o->sec = secs[i].sec;
            /* mount.cifs: the "i" variants demand packet signing. */
            if (secs[i].sign)
                ps->o->sign = SMB1_SIGN_REQUIRED;
            return 0;
        }
    }
    if (strncmp(v, "krb5", 4) == 0)
        return fail(ps, -EINVAL, "sec=%s: Kerberos is not supported (use ntlmv2 or ntlmssp)", v);
    return fail(ps, -EINVAL,
                "sec=%s: unknown security mode (none, lanman, ntlm, ntlmi, ntlmv2, ntlmv2i, "
                "ntlmssp, ntlmsspi)",
                v);
}

static int parse_sign(struct parse_state *ps, const char *v)
{
    if (!v || strcmp(v, "required") == 0)
        ps->o->sign = SMB1_SIGN_REQUIRED;
    else if (strcmp(v, "auto") == 0)
        ps->o->sign = SMB1_SIGN_AUTO;
    else if (strcmp(v, "off") == 0)
        ps->o->sign = SMB1_SIGN_OFF;
    else
        return fail(ps, -EINVAL, "sign=%s: expected required, auto or off", v);
    return 0;
}

/* username=[DOMAIN/|DOMAIN\]user[%password]; raw points into argv so the
 * password part can be cut out. */
static int parse_username(struct parse_state *ps, char *raw, size_t rawlen)
{
    struct sfs_options *o = ps->o;
    char *pct = memchr(raw, '%', rawlen);
    size_t ulen = pct ? (size_t)(pct - raw) : rawlen;
    const char *sep = NULL;
    int rc;

    if (pct) {
        rc = set_password(ps, pct + 1, rawlen - ulen - 1, true);
        if (rc)
            return rc;
        ps->password_given = true;
        rc = remember_span(ps, pct, rawlen - ulen);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < ulen; i++) {
        if (raw[i] == '/' || raw[i] == '\\') {
            sep = raw + i;
            break;
        }
    }
    if (sep) {
        rc = set_str(ps, &o->domain, raw, (size_t)(sep - raw));
        if (rc)
            return rc;
        ps->domain_given = true;
        rc = set_str(ps, &o->username, sep + 1, ulen - (size_t)(sep - raw) - 1);
    } else {
        rc = set_str(ps, &o->username, raw, ulen);
    }
    if (rc)
        return rc;
    ps->user_given = true;
    return 0;
}

/* Handles one option; tok is a NUL-terminated copy, raw_val points at the
 * value inside the argv string (for secrets). */
static int handle_opt(struct parse_state *ps, char *tok, char *raw_val, size_t raw_len)
{
    struct sfs_options *o = ps->o;
    char *eq = strchr(tok, '=');
    const char *v = eq ? eq + 1 : NULL;
    const struct opt_def *d;
    unsigned long x;
    int rc;

    if (eq)
        *eq = '\0';
    if (!eq && ps->list_opt && opt_list_word_ok(ps->list_opt, tok))
        return opt_list_append(ps, tok);
    ps->list_opt = 0;
    if (strncmp(tok, "x-", 2) == 0)
        return 0; /* x-systemd.*, x-gvfs-*, ...: for mount(8) and systemd */
    d = find_opt(tok);
    if (!d)
        return fail(ps, -EINVAL, "unknown option '%s' (see smbfuse --help)", tok);
    if (d->arg == ARG_NONE && v)
        return fail(ps, -EINVAL, "option '%s' takes no value", tok);
    if (d->arg == ARG_REQUIRED && !v)
        return fail(ps, -EINVAL, "option '%s' needs a value (%s=...)", tok, tok);

    switch (d->id) {
    case O_USERNAME:
        if (!v)
            return 0; /* fstab "user": lets users mount; mount(8)'s business */
        return parse_username(ps, raw_val, raw_len);
    case O_PASSWORD:
        rc = set_password(ps, raw_val, raw_len, true);
        if (rc)
            return rc;
        ps->password_given = true;
        return remember_span(ps, raw_val, raw_len);
    case O_CREDENTIALS:
        if (!*v)
            return fail(ps, -EINVAL, "option 'credentials' needs a file name");
        return set_str(ps, &o->credentials, v, strlen(v));
    case O_DOMAIN:
        ps->domain_given = true;
        return set_str(ps, &o->domain, v, strlen(v));
    case O_PORT:
        if (parse_ulong(v, 10, 1, 65535, &x))
            return fail(ps, -EINVAL, "port=%s: expected a number from 1 to 65535", v);
        o->port = (uint16_t)x;
        return 0;
    case O_SEC:
        return parse_sec(ps, v);
    case O_SIGN:
        return parse_sign(ps, v);
    case O_NOSIGN:
        o->sign = SMB1_SIGN_OFF;
        return 0;
    case O_UID:
        if (parse_uid(v, &o->uid))
            return fail(ps, -EINVAL, "uid=%s: no such user", v);
        return 0;
    case O_GID:
        if (parse_gid(v, &o->gid))
            return fail(ps, -EINVAL, "gid=%s: no such group", v);
        return 0;
    case O_FORCEUID:
    case O_NOFORCEUID:
        o->forceuid = d->id == O_FORCEUID;
        return 0;
    case O_FORCEGID:
    case O_NOFORCEGID:
        o->forcegid = d->id == O_FORCEGID;
        return 0;
    case O_FILE_MODE:
    case O_DIR_MODE:
        if (parse_ulong(v, 8, 0, 07777, &x))
            return fail(ps, -EINVAL, "%s=%s: expected an octal mode from 0 to 7777", tok, v);
        *(d->id == O_FILE_MODE ? &o->file_mode : &o->dir_mode) = (mode_t)x;
        return 0;
    case O_RO:
    case O_RW:
        o->ro = d->id == O_RO;
        return add_fuse_opt(ps, tok);
    case O_ACTIMEO: {
        char *end;
        double t;

        errno = 0;
        t = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(t) || t < 0 || t > 86400)
            return fail(ps, -EINVAL, "actimeo=%s: expected seconds from 0 to 86400", v);
        o->actimeo = t;
        return 0;
    }
    case O_CACHE:
        if (strcmp(v, "strict") == 0)
            o->cache = SFS_CACHE_STRICT;
        else if (strcmp(v, "loose") == 0)
            o->cache = SFS_CACHE_LOOSE;
        else if (strcmp(v, "none") == 0)
            o->cache = SFS_CACHE_NONE;
        else
            return fail(ps, -EINVAL, "cache=%s: expected strict, loose or none", v);
        return 0;
    case O_NETBIOSNAME:
    case O_SERVERNETBIOSNAME:
        if (!*v || strlen(v) > NETBIOS_NAME_MAX)
            return fail(ps, -EINVAL, "%s=%s: a NetBIOS name has 1 to %d characters", tok, v,
                        NETBIOS_NAME_MAX);
        return set_str(ps, d->id == O_NETBIOSNAME ? &o->netbiosname : &o->servernetbiosname, v,
                       strlen(v));
    case O_IP: {
        unsigned char buf[sizeof(struct in6_addr)];

        if (inet_pton(AF_INET, v, buf) != 1 && inet_pton(AF_INET6, v, buf) != 1)
            return fail(ps, -EINVAL, "%s=%s: not an IPv4 or IPv6 address", tok, v);
        return set_str(ps, &o->ip, v, strlen(v));
    }
    case O_WINS:
    case O_RESOLVE:
        return opt_set_list(ps, d->id == O_WINS ? OPT_LIST_WINS : OPT_LIST_RESOLVE, tok, v);
    case O_WINS_TIMEOUT:
    case O_IDLE_TIMEOUT:
        return opt_set_timeout(ps, d->id == O_IDLE_TIMEOUT, v);
    case O_BROWSE_BUFSIZE:
        if (parse_ulong(v, 10, 64, 0xFFE0, &x))
            return fail(ps, -EINVAL, "browse_bufsize=%s: expected bytes from 64 to 65504", v);
        o->browse_bufsize = (uint16_t)x;
        return 0;
    case O_HIDDEN:
        o->hidden = true;
        return 0;
    case O_SERVERCREDS:
        return set_str(ps, &o->servercreds, v, strlen(v));
    case O_UNIX:
    case O_NOUNIX:
        o->unix_ext = d->id == O_UNIX ? 1 : 0;
        return 0;
    case O_NOBRL:
    case O_BRL:
        o->nobrl = d->id == O_NOBRL;
        return 0;
    case O_MAPPOSIX:
    case O_NOMAPPOSIX:
        o->mapposix = d->id == O_MAPPOSIX;
        return 0;
    case O_MFSYMLINKS:
    case O_NOMFSYMLINKS:
        o->mfsymlinks = d->id == O_MFSYMLINKS;
        return 0;
    case O_ECHO_INTERVAL:
        if (parse_ulong(v, 10, 1, 600, &x))
            return fail(ps, -EINVAL, "echo_interval=%s: expected seconds from 1 to 600", v);
        o->echo_interval = (int)x;
        return 0;
    case O_TIMEOUT:
        if (parse_ulong(v, 10, 1, 600, &x))
            return fail(ps, -EINVAL, "timeout=%s: expected seconds from 1 to 600", v);
        o->timeout = (int)x;
        return 0;
    case O_SOFT:
    case O_HARD:
        o->soft = d->id == O_SOFT;
        return 0;
    case O_RSIZE:
    case O_WSIZE:
        if (parse_ulong(v, 10, 1024, 16u << 20, &x))
            return fail(ps, -EINVAL, "%s=%s: expected bytes from 1024 to 16777216", tok, v);
        *(d->id == O_RSIZE ? &o->rsize : &o->wsize) = (uint32_t)x;
        return 0;
    case O_MAX_READ:
        /* The kernel takes it at mount time, and libfuse refuses to run
         * unless init() asks for the same figure (sfs_init). */
        if (parse_ulong(v, 10, 4096, 1u << 20, &x))
            return fail(ps, -EINVAL, "max_read=%s: expected bytes from 4096 to 1048576", v);
        o->max_read = (uint32_t)x;
        *eq = '=';
        return add_fuse_opt(ps, tok);
    case O_MAX_WRITE:
        /* Whole pages: the kernel copies a write's data into a pipe a
         * page at a time (sfs_splice_writes). */
        if (parse_ulong(v, 10, 4096, 1u << 20, &x) || x % 4096)
            return fail(ps, -EINVAL, "max_write=%s: expected pages of 4096 bytes, 4096 to 1048576",
                        v);
        o->max_write = (uint32_t)x;
        return 0;
    case O_PCAP:
        if (!*v)
            return fail(ps, -EINVAL, "option 'pcap' needs a file name");
        return set_str(ps, &o->pcap, v, strlen(v));
    case O_PCAP_MAX:
        if (parse_ulong(v, 10, 4096, 1ul << 40, &x))
            return fail(ps, -EINVAL, "pcap_max=%s: expected bytes from 4096", v);
        o->pcap_max = x;
        return 0;
    case O_VERS:
        if (strcmp(v, "1.0") != 0 && strcmp(v, "1") != 0)
            return fail(ps, -EINVAL, "vers=%s: smbfuse speaks SMB1 only (vers=1.0)", v);
        return 0;
    case O_IOCHARSET:
        if (strcasecmp(v, "utf8") != 0 && strcasecmp(v, "utf-8") != 0)
            return fail(ps, -EINVAL, "iocharset=%s: only utf8 is supported", v);
        return 0;
    case O_NOPERM:
        return 0; /* FUSE checks no permissions unless default_permissions is given */
    case O_DEBUG:
        o->debug = true;
        return add_fuse_opt(ps, "debug");
    case O_FUSE_VALUE:
        if (strcmp(tok, "fsname") == 0)
            ps->fsname_given = true;
        if (strcmp(tok, "subtype") == 0)
            ps->subtype_given = true;
        *eq = '=';
        return add_fuse_opt(ps, tok);
    case O_FUSE_FLAG:
        return add_fuse_opt(ps, tok);
    case O_IGNORE:
        return 0;
    }
    return fail(ps, -EINVAL, "unknown option '%s'", tok);
}

/* Splits one -o argument at commas; a password value may contain ",,"
 * for a literal comma, so its end is found by the same rule. */
static int parse_opt_string(struct parse_state *ps, char *s)
{
    char *p = s;

    while (*p) {
        char *start = p, *end, *tok, *eq;
        bool secret;
        int rc;

        if (*p == ',') {
            p++;
            continue;
        }
        eq = NULL;
        for (end = p; *end && *end != ','; end++)
            if (*end == '=' && !eq)
                eq = end;
        secret = eq && (((size_t)(eq - start) == 8 && strncmp(start, "password", 8) == 0) ||
                        ((size_t)(eq - start) == 4 && strncmp(start, "pass", 4) == 0));
        if (secret) {
            end = eq + 1;
            while (*end && !(*end == ',' && end[1] != ','))
                end += (*end == ',' && end[1] == ',') ? 2 : 1;
        }
        tok = strndup(start, (size_t)(end - start));
        if (!tok)
            return fail(ps, -ENOMEM, "out of memory");
        {
            char *raw_val = eq && eq < end ? eq + 1 : NULL;
            size_t raw_len = raw_val ? (size_t)(end - raw_val) : 0;

            rc = handle_opt(ps, tok, raw_val, raw_len);
        }
        wipe(tok, (size_t)(end - start));
        free(tok);
        if (rc)
            return rc;
        p = end;
    }
    return 0;
}

/* ---- argv ---- */

static int take_positional(struct parse_state *ps, const char *arg, int *npos)
{
    int rc;

    if (ps->o->mode == SFS_MODE_BROWSE || ps->o->mode == SFS_MODE_LOOKUP) {
        if (*npos > 0)
            return fail(ps, -EINVAL, "unexpected argument '%s'", arg);
        rc = set_str(ps, &ps->o->target, arg, strlen(arg));
    } else if (*npos == 0)
        rc = parse_source(ps, arg);
    else if (*npos == 1 && ps->o->mode != SFS_MODE_LIST)
        rc = set_str(ps, &ps->o->mountpoint, arg, strlen(arg));
    else
        return fail(ps, -EINVAL,
                    "unexpected argument '%s' (usage: smbfuse //server/share "
                    "MOUNTPOINT [-o options])",
                    arg);
    (*npos)++;
    return rc;
}

static void set_defaults(struct sfs_options *o)
{
    memset(o, 0, sizeof(*o));
    o->sec = SMB1_SEC_NTLMV2;
    o->sign = SMB1_SIGN_AUTO;
    o->uid = getuid();
    o->gid = getgid();
    o->file_mode = 0755;
    o->dir_mode = 0755;
    o->actimeo = 1.0;
    o->cache = SFS_CACHE_STRICT;
    o->unix_ext = -1;
    /* As cifs.ko (both apply only without UNIX extensions). */
    o->mapposix = o->mfsymlinks = true;
    o->echo_interval = 60;
    o->timeout = 30;
    o->soft = true; /* as mount.cifs */
    o->idle_timeout = 60;
}

static int scan_argv(struct parse_state *ps, int argc, char **argv)
{
    struct sfs_options *o = ps->o;
    bool no_more_flags = false;
    int npos = 0, rc;

    for (int i = 1; i < argc; i++) {
        char *a = argv[i];

        if (no_more_flags || a[0] != '-' || !a[1]) {
            rc = take_positional(ps, a, &npos);
        } else if (strcmp(a, "--") == 0) {
            no_more_flags = true;
            rc = 0;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            o->show_help = true;
            return 0;
        } else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
            o->show_version = true;
            return 0;
        } else if (strcmp(a, "--list") == 0 || strcmp(a, "-L") == 0 || strcmp(a, "--browse") == 0 ||
                   strcmp(a, "--lookup") == 0) {
            if (npos > 0 || o->mode != SFS_MODE_MOUNT)
                return fail(ps, -EINVAL, "%s must come first (see smbfuse --help)", a);
            o->mode = strcmp(a, "--browse") == 0   ? SFS_MODE_BROWSE
                      : strcmp(a, "--lookup") == 0 ? SFS_MODE_LOOKUP
                                                   : SFS_MODE_LIST;
            rc = 0;
        } else if (strcmp(a, "--explain-signing") == 0) {
            o->explain = true;
            rc = 0;
        } else if (strcmp(a, "--show-keys") == 0) {
            o->show_keys = true;
            rc = 0;
        } else if (strncmp(a, "-o", 2) == 0) {
            char *s = a[2] ? a + 2 : NULL;

            if (!s) {
                if (i + 1 >= argc)
                    return fail(ps, -EINVAL, "-o needs an option list");
                s = argv[++i];
            }
            rc = parse_opt_string(ps, s);
        } else if (a[1] != '-' && strspn(a + 1, "fds") == strlen(a + 1)) {
            for (const char *f = a + 1; *f; f++) {
                if (*f == 'f')
                    o->foreground = true;
                else if (*f == 's')
                    o->single_thread = true;
                else {
                    o->debug = o->foreground = true;
                    rc = add_fuse_opt(ps, "debug");
                    if (rc)
                        return rc;
                }
            }
            rc = 0;
        } else {
            return fail(ps, -EINVAL, "unknown flag '%s' (see smbfuse --help)", a);
        }
        if (rc)
            return rc;
    }
    if (o->mode == SFS_MODE_LIST && npos < 1)
        return fail(ps, -EINVAL, "usage: smbfuse --list //server [-o options]");
    if (o->mode == SFS_MODE_LOOKUP && npos < 1)
        return fail(ps, -EINVAL, "usage: smbfuse --lookup NAME [-o options]");
    if (o->show_keys && !o->explain)
        return fail(ps, -EINVAL, "--show-keys goes with --explain-signing");
    if (o->explain && npos != 1)
        return fail(ps, -EINVAL,
                    "usage: smbfuse --explain-signing //server/share [-o options] (no mount "
                    "point)");
    if ((o->mode == SFS_MODE_MOUNT || o->mode == SFS_MODE_NETMOUNT) && npos < 2 && !o->explain)
        return fail(ps, -EINVAL,
                    "usage: smbfuse //server/share MOUNTPOINT [-o options] "
                    "(see smbfuse --help)");
    return 0;
}

static int build_fuse_args(struct parse_state *ps, const char *argv0, struct fuse_args *fa)
{
    char *opt = NULL;
    int rc = 0;

    if (!ps->fsname_given) {
        if (asprintf(&opt, "fsname=%s", ps->o->source) < 0)
            return fail(ps, -ENOMEM, "out of memory");
        rc = add_fuse_opt(ps, opt);
        free(opt);
        if (rc)
            return rc;
    }
    if (!ps->subtype_given) {
        rc = add_fuse_opt(ps, "subtype=smbfuse");
        if (rc)
            return rc;
    }
    if (fuse_opt_add_arg(fa, argv0) != 0 || fuse_opt_add_arg(fa, "-o") != 0 ||
        fuse_opt_add_arg(fa, ps->fuse_opts) != 0)
        return fail(ps, -ENOMEM, "out of memory");
    return 0;
}

int sfs_opts_parse(int argc, char **argv, struct sfs_options *o, struct fuse_args *fuse_args,
                   char *err, size_t errlen)
{
    struct parse_state ps = {.o = o, .err = err, .errlen = errlen};
    int rc;

    if (err && errlen)
        err[0] = '\0';
    set_defaults(o);
    (void)sfs_opts_lock_password(o); /* best effort: RLIMIT_MEMLOCK may forbid it */
    rc = scan_argv(&ps, argc, argv);
    /* Cut the secrets out of argv whatever happened: an error message
     * printed later must not be the only thing standing next to them. */
    scrub_spans(&ps);
    if (rc)
        goto out_fail;
    if (o->show_help || o->show_version) {
        free(ps.fuse_opts);
        return 0;
    }
    /* Listing, browsing and lookups are anonymous unless credentials are
     * given: no prompt, no $USER. */
    if (o->mode == SFS_MODE_LIST || o->mode == SFS_MODE_BROWSE || o->mode == SFS_MODE_LOOKUP) {
        if (!ps.user_given && !o->credentials && !getenv("PASSWD") && !getenv("PASSWD_FD") &&
            !getenv("PASSWD_FILE")) {
            o->sec = SMB1_SEC_NONE;
            o->anon_default = true;
        }
    }
    rc = complete_credentials(&ps);
    if (rc)
        goto out_fail;
    if (o->mode != SFS_MODE_MOUNT && o->mode != SFS_MODE_NETMOUNT) {
        free(ps.fuse_opts);
        return 0;
    }
    rc = build_fuse_args(&ps, argc > 0 ? argv[0] : "smbfuse", fuse_args);
    if (rc)
        goto out_fail;
    free(ps.fuse_opts);
    return 0;

out_fail:
    free(ps.fuse_opts);
    fuse_opt_free_args(fuse_args);
    sfs_opts_free(o);
    return rc;
}

void sfs_opts_free(struct sfs_options *o)
{
    sfs_opts_wipe_password(o);
    free(o->source);
    free(o->host);
    free(o->share);
    free(o->prefix);
    free(o->mountpoint);
    free(o->username);
    free(o->domain);
    free(o->credentials);
    free(o->netbiosname);
    free(o->servernetbiosname);
    free(o->ip);
    free(o->wins);
    free(o->resolve);
    free(o->target);
    free(o->servercreds);
    o->wins = o->resolve = o->target = o->servercreds = NULL;
    free(o->pcap);
    o->pcap = NULL;
    o->source = o->host = o->share = o->prefix = o->mountpoint = NULL;
    o->username = o->domain = o->credentials = NULL;
    o->netbiosname = o->servernetbiosname = o->ip = NULL;
}
