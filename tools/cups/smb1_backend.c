/* smb1: a CUPS backend that prints to SMB1 printer shares through
 * libsmb1core (CUPS's backend(7) conventions).
 *
 *   smb1                                    prints the device line, exit 0
 *   smb1 job user title copies options [file]
 *                                           prints file (or standard input)
 *
 * The device URI comes from DEVICE_URI (or argv[0], as CUPS runs us).
 * Credentials: the URI's user[:password], else CUPS's AUTH_USERNAME /
 * AUTH_PASSWORD, else the file of the URI's creds= option, else a guest
 * logon. Progress goes to stderr as INFO:, failures as ERROR:, and the exit
 * status is a CUPS backend code.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "backend_uri.h"
#include "smb1.h"

/* backend(7) exit codes */
enum {
    CUPS_BACKEND_OK = 0,
    CUPS_BACKEND_FAILED = 1,
    CUPS_BACKEND_AUTH_REQUIRED = 2,
    CUPS_BACKEND_HOLD = 3,
    CUPS_BACKEND_STOP = 4,
    CUPS_BACKEND_CANCEL = 5,
    CUPS_BACKEND_RETRY = 6,
};

#define BACKEND_CHUNK (1u << 20)

static volatile sig_atomic_t cancelled;

static void on_term(int sig)
{
    (void)sig;
    cancelled = 1;
}

static void log_sink(void *ctx, int level, const char *line)
{
    (void)ctx;
    fprintf(stderr, "%s: %s\n", level <= LOG_ERR ? "ERROR" : "DEBUG", line);
}

/* The exit code for a failure to connect or log on. */
static int connect_status(int r)
{
    switch (r) {
    case -EACCES:
        /* CUPS asks the user for credentials when we say which. */
        fprintf(stderr, "ATTR: auth-info-required=username,password\n");
        return CUPS_BACKEND_AUTH_REQUIRED;
    case -EPERM:
    case -EPROTONOSUPPORT:
    case -ENOENT:
        return CUPS_BACKEND_STOP;
    default:
        /* Down, unreachable, timed out, refused: try again later. */
        return CUPS_BACKEND_RETRY;
    }
}

static int parse_sec(const char *s, enum smb1_sec *out)
{
    static const struct {
        const char *name;
        enum smb1_sec sec;
    } t[] = {{"none", SMB1_SEC_NONE},       {"lanman", SMB1_SEC_LANMAN},
             {"ntlm", SMB1_SEC_NTLM},       {"ntlmv2", SMB1_SEC_NTLMV2},
             {"ntlmssp", SMB1_SEC_NTLMSSP}, {"ntlmsspi", SMB1_SEC_NTLMSSP}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (!strcmp(s, t[i].name)) {
            *out = t[i].sec;
            return 0;
        }
    return -EINVAL;
}

/* A job name the server can take: the title without path separators. */
static void job_name(const char *title, const char *file, const char *job, char *out, size_t cap)
{
    const char *src = title && title[0] ? title : NULL;
    if (!src && file) {
        const char *b = strrchr(file, '/');
        src = b ? b + 1 : file;
    }
    if (!src || !src[0])
        snprintf(out, cap, "cups-job-%s", job);
    else
        snprintf(out, cap, "%s", src);
    for (char *p = out; *p; p++)
        if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x20)
            *p = '_';
}

/* Sends everything fd has as job data from offset *off. */
static int send_fd(struct smb1_print_job *j, int fd, uint8_t *buf, uint64_t *off)
{
    for (;;) {
        if (cancelled)
            return -ECANCELED;
        size_t got = 0;
        while (got < BACKEND_CHUNK) {
            ssize_t n = read(fd, buf + got, BACKEND_CHUNK - got);
            if (n < 0 && errno == EINTR) {
                if (cancelled)
                    return -ECANCELED;
                continue;
            }
            if (n < 0)
                return -errno;
            if (n == 0)
                break;
            got += (size_t)n;
        }
        size_t done = 0;
        while (done < got) {
            ssize_t w = smb1_print_write(j, buf + done, got - done, *off);
            if (w < 0)
                return (int)w;
            if (w == 0)
                return -EIO;
            done += (size_t)w;
            *off += (uint64_t)w;
        }
        if (got < BACKEND_CHUNK)
            return 0;
    }
}

int main(int argc, char **argv)
{
    if (argc == 1) {
        printf("network smb1 \"Unknown\" \"SMB1/CIFS printer (smbfuse)\"\n");
        return CUPS_BACKEND_OK;
    }
    if (argc < 6 || argc > 7) {
        fprintf(stderr, "Usage: %s job-id user title copies options [file]\n", argv[0]);
        return CUPS_BACKEND_FAILED;
    }
    setvbuf(stderr, NULL, _IOLBF, 0);
    const char *uri = getenv("DEVICE_URI");
    if (!uri && strchr(argv[0], ':'))
        uri = argv[0];
    if (!uri) {
        fprintf(stderr, "ERROR: no device URI (DEVICE_URI is not set)\n");
        return CUPS_BACKEND_FAILED;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    char why[256] = "";
    struct backend_uri u;
    if (backend_uri_parse(uri, &u, why, sizeof(why))) {
        fprintf(stderr, "ERROR: %s\n", why);
        return CUPS_BACKEND_STOP;
    }
    const char *au = getenv("AUTH_USERNAME"), *ap = getenv("AUTH_PASSWORD");
    if (!u.user && au && au[0]) {
        u.user = strdup(au);
        if (!u.password && ap)
            u.password = strdup(ap);
    }
    if (u.creds) {
        int r = backend_creds_file(u.creds, &u);
        if (r) {
            fprintf(stderr, "ERROR: cannot read credentials file %s: %s\n", u.creds, strerror(-r));
            backend_uri_free(&u);
            return CUPS_BACKEND_STOP;
        }
    }
    int copies = atoi(argv[4]);
    if (copies < 1 || argc == 6)
        copies = 1; /* from standard input the data can be read once */

    struct smb1_log lg;
    log_init(&lg, getenv("SMB1_BACKEND_DEBUG") ? LOG_DEBUG : LOG_WARNING, log_sink, NULL);
    struct smb1_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.host = u.host;
    cfg.port = u.port;
    cfg.user = u.user ? u.user : "";
    cfg.password = u.password ? u.password : "";
    cfg.domain = u.domain;
    cfg.sec = u.user && u.user[0] ? SMB1_SEC_NTLMSSP : SMB1_SEC_NONE;
    cfg.sign = SMB1_SIGN_AUTO;
    cfg.unix_ext = 0;
    cfg.soft = true;
    cfg.log = &lg;
    int status = CUPS_BACKEND_OK;
    if (u.sec && parse_sec(u.sec, &cfg.sec)) {
        fprintf(stderr, "ERROR: unknown sec=%s in the device URI\n", u.sec);
        status = CUPS_BACKEND_STOP;
        goto out_uri;
    }
    if (u.sign) {
        if (!strcmp(u.sign, "required"))
            cfg.sign = SMB1_SIGN_REQUIRED;
        else if (!strcmp(u.sign, "off"))
            cfg.sign = SMB1_SIGN_OFF;
    }

    fprintf(stderr, "INFO: Connecting to %s\n", u.host);
    struct smb1_conn *conn = NULL;
    int r = smb1_conn_new(&cfg, &conn, why, sizeof(why));
    if (u.password)
        OPENSSL_cleanse(u.password, strlen(u.password));
    if (r) {
        fprintf(stderr, "ERROR: cannot connect to %s: %s\n", u.host, why[0] ? why : strerror(-r));
        status = connect_status(r);
        goto out_uri;
    }
    struct smb1_tree *t = NULL;
    r = smb1_tree_connect(conn, u.printer, &t);
    if (r || smb1_tree_type(t) != SMB1_TREE_PRINTER) {
        fprintf(stderr, "ERROR: %s on %s is %s\n", u.printer, u.host,
                r == -ENOENT ? "not shared"
                : r          ? strerror(-r)
                             : "not a printer");
        status = r == -EACCES        ? connect_status(r)
                 : r && r != -ENOENT ? CUPS_BACKEND_RETRY
                                     : CUPS_BACKEND_STOP;
        goto out_tree;
    }
    int fd = argc == 7 ? open(argv[6], O_RDONLY | O_CLOEXEC) : 0;
    if (fd < 0) {
        fprintf(stderr, "ERROR: cannot open %s: %s\n", argv[6], strerror(errno));
        status = CUPS_BACKEND_FAILED;
        goto out_tree;
    }
    uint8_t *buf = malloc(BACKEND_CHUNK);
    char name[256];
    job_name(argv[3], argc == 7 ? argv[6] : NULL, argv[1], name, sizeof(name));
    for (int c = 0; buf && c < copies && status == CUPS_BACKEND_OK; c++) {
        if (c > 0 && lseek(fd, 0, SEEK_SET) < 0) {
            status = CUPS_BACKEND_FAILED;
            break;
        }
        struct smb1_print_job *j = NULL;
        r = smb1_print_open(t, name, u.open_print_file ? SMB1_PRINT_OPEN_PRINT_FILE : 0, &j);
        if (r) {
            fprintf(stderr, "ERROR: %s refused the print job: %s\n", u.printer, strerror(-r));
            status = r == -EACCES || r == -EPERM ? CUPS_BACKEND_STOP : CUPS_BACKEND_RETRY;
            break;
        }
        fprintf(stderr, "INFO: Sending print job %u (copy %d of %d) to %s\n", smb1_print_job_id(j),
                c + 1, copies, u.printer);
        uint64_t off = 0;
        r = send_fd(j, fd, buf, &off);
        if (r) {
            smb1_print_abort(j);
            if (r == -ECANCELED) {
                fprintf(stderr, "INFO: Print job cancelled\n");
                break;
            }
            fprintf(stderr, "ERROR: sending the job failed: %s\n", strerror(-r));
            status = CUPS_BACKEND_FAILED;
            break;
        }
        r = smb1_print_close(j);
        if (r) {
            fprintf(stderr, "ERROR: %s did not accept the job: %s\n", u.printer, strerror(-r));
            status = CUPS_BACKEND_FAILED;
            break;
        }
        fprintf(stderr, "INFO: Sent %llu bytes to %s\n", (unsigned long long)off, u.printer);
    }
    if (!buf)
        status = CUPS_BACKEND_FAILED;
    free(buf);
    if (fd > 0)
        close(fd);
out_tree:
    smb1_tree_free(t);
    smb1_conn_free(conn);
out_uri:
    backend_uri_free(&u);
    log_destroy(&lg);
    return status;
}
