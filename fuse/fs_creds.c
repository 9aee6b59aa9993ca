/* Credentials and the password of smbfuse: the credentials file, the
 * USER / PASSWD / PASSWD_FD / PASSWD_FILE environment, the prompt on
 * /dev/tty, and the locked buffer the password lives in (fs_opts.c has
 * the precedence).
 */
#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "fs_opts_int.h"

#define CRED_FILE_MAX (64 * 1024)

void wipe(void *p, size_t n)
{
    explicit_bzero(p, n);
}

/* Stores a password taken from src[0..len). ",," stands for "," when the
 * value came from a comma-separated option list (mount.cifs convention). */
int set_password(struct parse_state *ps, const char *src, size_t len, bool unescape_commas)
{
    struct sfs_options *o = ps->o;
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        if (n + 1 >= sizeof(o->password)) {
            wipe(o->password, sizeof(o->password));
            return fail(ps, -EINVAL, "password is too long (at most %zu bytes)",
                        sizeof(o->password) - 1);
        }
        o->password[n++] = src[i];
        if (unescape_commas && src[i] == ',' && i + 1 < len && src[i + 1] == ',')
            i++;
    }
    o->password[n] = '\0';
    o->have_password = true;
    return 0;
}

int remember_span(struct parse_state *ps, char *start, size_t len)
{
    if (len == 0)
        return 0;
    if (ps->nspans == MAX_SECRET_SPANS)
        return fail(ps, -EINVAL, "too many password options");
    ps->spans[ps->nspans].start = start;
    ps->spans[ps->nspans].len = len;
    ps->nspans++;
    return 0;
}

/* Cuts each secret out of its argv string: the tail moves left and the
 * freed bytes at the end become NUL, so neither the value nor its length
 * shows in /proc/PID/cmdline. Spans were recorded left to right; cutting
 * them right to left keeps the pointers not yet used valid. */
void scrub_spans(struct parse_state *ps)
{
    for (size_t k = ps->nspans; k-- > 0;) {
        char *s = ps->spans[k].start;
        size_t len = ps->spans[k].len;
        size_t tail = strlen(s + len);

        memmove(s, s + len, tail + 1);
        memset(s + tail + 1, 0, len);
    }
}

/* ---- credentials ---- */

static void trim(char **b, char **e)
{
    while (*b < *e && isspace((unsigned char)**b))
        (*b)++;
    while (*e > *b && isspace((unsigned char)(*e)[-1]))
        (*e)--;
}

/* Parses the mount.cifs credentials-file format held in buf[0..n). */
static int parse_cred_text(struct parse_state *ps, const char *path, char *buf, size_t n)
{
    struct sfs_options *o = ps->o;
    char *line = buf, *bufend = buf + n;
    int lineno = 0, rc;

    while (line < bufend) {
        char *nl = memchr(line, '\n', (size_t)(bufend - line));
        char *lend = nl ? nl : bufend, *eq, *kb, *ke, *vb, *ve;

        lineno++;
        /* CRLF files come from Windows editors; the CR is never part of a value. */
        ve = lend;
        while (ve > line && (ve[-1] == '\r'))
            ve--;
        kb = line;
        while (kb < ve && isspace((unsigned char)*kb))
            kb++;
        if (kb == ve || *kb == '#') {
            line = lend + 1;
            continue;
        }
        eq = memchr(kb, '=', (size_t)(ve - kb));
        if (!eq) {
            return fail(ps, -EINVAL, "credentials file %s line %d: expected key=value", path,
                        lineno);
        }
        ke = eq;
        trim(&kb, &ke);
        vb = eq + 1;
#define KEY_IS(s) ((size_t)(ke - kb) == strlen(s) && strncasecmp(kb, s, strlen(s)) == 0)
        if (KEY_IS("password") || KEY_IS("pass")) {
            /* Taken verbatim: a password may begin or end with spaces. */
            if (!ps->password_given) {
                rc = set_password(ps, vb, (size_t)(ve - vb), false);
                if (rc)
                    return rc;
            }
        } else if (KEY_IS("username") || KEY_IS("user")) {
            trim(&vb, &ve);
            if (!ps->user_given) {
                rc = set_str(ps, &o->username, vb, (size_t)(ve - vb));
                if (rc)
                    return rc;
            }
        } else if (KEY_IS("domain") || KEY_IS("dom") || KEY_IS("workgroup")) {
            trim(&vb, &ve);
            if (!ps->domain_given) {
                rc = set_str(ps, &o->domain, vb, (size_t)(ve - vb));
                if (rc)
                    return rc;
            }
        } else {
            *ke = '\0';
            fprintf(stderr,
                    "smbfuse: warning: credentials file %s line %d: ignoring unknown key '%s'\n",
                    path, lineno, kb);
        }
#undef KEY_IS
        line = lend + 1;
    }
    return 0;
}

static void free_secret_buf(char *buf)
{
    wipe(buf, CRED_FILE_MAX);
    munlock(buf, CRED_FILE_MAX);
    free(buf);
}

/* Reads a small file into a locked buffer; the caller frees it with
 * free_secret_buf. With first_line, stops at the first newline: a pipe
 * given as PASSWD_FD may never reach end of file. */
static int read_secret_file(struct parse_state *ps, int fd, const char *what, const char *path,
                            bool first_line, char **out, size_t *outlen)
{
    char *buf = calloc(1, CRED_FILE_MAX);
    size_t n = 0;

    if (!buf)
        return fail(ps, -ENOMEM, "out of memory");
    (void)mlock(buf, CRED_FILE_MAX);
    for (;;) {
        ssize_t r = read(fd, buf + n, CRED_FILE_MAX - n);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;

            free_secret_buf(buf);
            return fail(ps, -e, "%s %s: %s", what, path, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (first_line && memchr(buf + n - (size_t)r, '\n', (size_t)r))
            break;
        if (n == CRED_FILE_MAX) {
            free_secret_buf(buf);
            return fail(ps, -EFBIG, "%s %s: larger than %d bytes", what, path, CRED_FILE_MAX);
        }
    }
    *out = buf;
    *outlen = n;
    return 0;
}

static int read_credentials(struct parse_state *ps)
{
    const char *path = ps->o->credentials;
    struct stat st;
    char *buf;
    size_t n;
    int fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        return fail(ps, -e, "credentials file %s: %s", path, strerror(e));
    }
    if (fstat(fd, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            close(fd);
            return fail(ps, -EINVAL, "credentials file %s: not a regular file", path);
        }
        if (st.st_mode & (S_IRGRP | S_IROTH))
            fprintf(stderr,
                    "smbfuse: warning: credentials file %s is readable by %s (mode %04o); "
                    "run chmod 600 %s\n",
                    path,
                    (st.st_mode & S_IRGRP) && (st.st_mode & S_IROTH) ? "group and others"
                    : (st.st_mode & S_IROTH)                         ? "others"
                                                                     : "group",
                    (unsigned)(st.st_mode & 07777), path);
    }
    rc = read_secret_file(ps, fd, "credentials file", path, false, &buf, &n);
    close(fd);
    if (rc)
        return rc;
    rc = parse_cred_text(ps, path, buf, n);
    free_secret_buf(buf);
    return rc;
}

/* PASSWD_FD / PASSWD_FILE hold the password on their first line. */
static int password_from_fd(struct parse_state *ps, int fd, const char *what, const char *path)
{
    char *buf;
    size_t n, len = 0;
    int rc;

    rc = read_secret_file(ps, fd, what, path, true, &buf, &n);
    if (rc)
        return rc;
    while (len < n && buf[len] != '\n' && buf[len] != '\r')
        len++;
    rc = set_password(ps, buf, len, false);
    free_secret_buf(buf);
    return rc;
}

/* Overwrites the value of an environment string in place: getenv() points
 * into the block /proc/PID/environ shows. */
static void scrub_env(const char *name)
{
    char *v = getenv(name);

    if (v)
        wipe(v, strlen(v));
}

static int prompt_password(struct parse_state *ps)
{
    struct sfs_options *o = ps->o;
    struct termios old, quiet;
    sigset_t block, saved;
    bool restore = false;
    size_t n = 0;
    int fd, rc = 0;
    char c;

    fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return fail(ps, -ENOTTY,
                    "no password given for user '%s' and no terminal to ask on: use "
                    "credentials=FILE, password=, $PASSWD, or sec=none",
                    o->username);
    /* A signal while echo is off would leave the terminal silent: defer
     * them until it is restored. Echo goes off before the prompt shows, so
     * nothing typed after the prompt can be echoed or flushed away. */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGQUIT);
    sigaddset(&block, SIGTSTP);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &saved);
    if (tcgetattr(fd, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
        restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
    }
    dprintf(fd, "Password for %s@%s: ", o->username, o->source);
    for (;;) {
        ssize_t r = read(fd, &c, 1);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || c == '\n' || c == '\r')
            break;
        if (n + 1 >= sizeof(o->password)) {
            rc = fail(ps, -EINVAL, "password is too long (at most %zu bytes)",
                      sizeof(o->password) - 1);
            break;
        }
        o->password[n++] = c;
    }
    c = 0;
    o->password[n] = '\0';
    if (restore)
        tcsetattr(fd, TCSAFLUSH, &old);
    dprintf(fd, "\n");
    close(fd);
    sigprocmask(SIG_SETMASK, &saved, NULL);
    if (rc) {
        wipe(o->password, sizeof(o->password));
        return rc;
    }
    o->have_password = true;
    return 0;
}

int sfs_opts_read_credentials(const char *path, struct sfs_options *o, char *err, size_t errlen)
{
    struct parse_state ps = {.o = o, .err = err, .errlen = errlen};
    int rc = set_str(&ps, &o->credentials, path, strlen(path));
    return rc ? rc : read_credentials(&ps);
}

int complete_credentials(struct parse_state *ps)
{
    struct sfs_options *o = ps->o;
    const char *env;
    int rc;

    if (o->credentials) {
        rc = read_credentials(ps);
        if (rc)
            return rc;
    }
    if (!o->domain) {
        rc = set_str(ps, &o->domain, "", 0);
        if (rc)
            return rc;
    }
    if (o->sec == SMB1_SEC_NONE) {
        /* mount.cifs: sec=none is a null session, no name, no password. */
        wipe(o->password, sizeof(o->password));
        o->have_password = false;
        return set_str(ps, &o->username, "", 0);
    }
    if (!o->username) {
        env = getenv("USER");
        if (env && *env) {
            rc = set_str(ps, &o->username, env, strlen(env));
        } else {
            struct passwd pw, *res = NULL;
            char buf[4096];

            if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) != 0 || !res)
                return fail(ps, -EINVAL, "no user name: give username= or credentials=");
            rc = set_str(ps, &o->username, res->pw_name, strlen(res->pw_name));
        }
        if (rc)
            return rc;
    }
    if (o->have_password)
        return 0;
    env = getenv("PASSWD");
    if (env) {
        rc = set_password(ps, env, strlen(env), false);
        scrub_env("PASSWD");
        return rc;
    }
    env = getenv("PASSWD_FD");
    if (env) {
        unsigned long fd;

        if (parse_ulong(env, 10, 0, INT_MAX, &fd))
            return fail(ps, -EINVAL, "PASSWD_FD=%s: not a file descriptor", env);
        return password_from_fd(ps, (int)fd, "PASSWD_FD", env);
    }
    env = getenv("PASSWD_FILE");
    if (env) {
        int fd = open(env, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0) {
            int e = errno;
            return fail(ps, -e, "PASSWD_FILE %s: %s", env, strerror(e));
        }
        rc = password_from_fd(ps, fd, "PASSWD_FILE", env);
        close(fd);
        return rc;
    }
    return prompt_password(ps);
}

const char *sfs_opts_password(const struct sfs_options *o)
{
    return o->have_password ? o->password : NULL;
}

int sfs_opts_lock_password(struct sfs_options *o)
{
    if (mlock(o->password, sizeof(o->password)) != 0)
        return -errno;
    o->password_locked = true;
    return 0;
}

void sfs_opts_wipe_password(struct sfs_options *o)
{
    wipe(o->password, sizeof(o->password));
    o->have_password = false;
    if (o->password_locked) {
        munlock(o->password, sizeof(o->password));
        o->password_locked = false;
    }
}
