/* Printing through the core against a real smbd whose printer share
 * prints to a directory (harness/smbd.sh): jobs by NT_CREATE_ANDX and by
 * SMB_COM_OPEN_PRINT_FILE arrive byte for byte, signed and unsigned; the
 * queue lists a held job with its name and size and cancels it; a job
 * abandoned midway is not printed. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core_server.h"
#include "smb1.h"

static struct smb1_log lg;
static struct core_server srv;

static void fini(void)
{
    core_server_stop(&srv);
    log_destroy(&lg);
}

static void start(const char *profile)
{
    signal(SIGPIPE, SIG_IGN);
    const char *lv = getenv("SMBFUSE_TEST_LOG");
    log_init(&lg, lv ? atoi(lv) : LOG_ERR, NULL, NULL);
    core_server_start(&srv, profile, false);
}

static void start_signed(void)
{
    start("signed");
}

static void start_nosign(void)
{
    start("nosign");
}

static struct smb1_conn *connect_srv(struct smb1_tree **printer)
{
    struct smb1_config c = {0};
    c.host = srv.addr;
    c.port = (uint16_t)srv.port;
    c.user = srv.user;
    c.domain = srv.domain;
    c.password = srv.pass;
    c.sec = SMB1_SEC_NTLMSSP;
    c.request_timeout_ms = 20000;
    c.unix_ext = -1;
    c.log = &lg;
    struct smb1_conn *conn = NULL;
    char why[256] = "";
    int r = smb1_conn_new(&c, &conn, why, sizeof(why));
    cr_assert_eq(r, 0, "connect: %d (%s)", r, why);
    cr_assert_str_neq(srv.printer, "", "the profile has no printer");
    r = smb1_tree_connect(conn, srv.printer, printer);
    cr_assert_eq(r, 0, "tree connect %s: %d", srv.printer, r);
    cr_assert_eq(smb1_tree_type(*printer), SMB1_TREE_PRINTER);
    return conn;
}

static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *b = malloc(n);
    cr_assert(b);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)(x >> 16);
    }
    return b;
}

/* Prints data as one job named name; writes in pieces of piece bytes. */
static void print_one(struct smb1_tree *t, const char *name, const uint8_t *data, size_t n,
                      size_t piece, unsigned flags, uint32_t *id)
{
    struct smb1_print_job *j = NULL;
    int r = smb1_print_open(t, name, flags, &j);
    cr_assert_eq(r, 0, "print open %s: %d", name, r);
    if (id)
        *id = smb1_print_job_id(j);
    for (size_t off = 0; off < n;) {
        size_t k = n - off < piece ? n - off : piece;
        ssize_t w = smb1_print_write(j, data + off, k, off);
        cr_assert_eq(w, (ssize_t)k, "write at %zu: %zd", off, w);
        off += k;
    }
    cr_assert_eq(smb1_print_close(j), 0);
}

static char printed_dir[700];

/* Waits (at most 20 s) until a printed file of exactly these bytes shows
 * up in the server's printed/ directory; removes it. */
static void expect_printed(const uint8_t *data, size_t n)
{
    snprintf(printed_dir, sizeof(printed_dir), "%s/printed", srv.dir);
    for (int tries = 0; tries < 200; tries++) {
        DIR *d = opendir(printed_dir);
        cr_assert(d, "no %s", printed_dir);
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strncmp(e->d_name, "smbprn.", 7) != 0)
                continue;
            char p[1024];
            snprintf(p, sizeof(p), "%s/%s", printed_dir, e->d_name);
            struct stat st;
            if (stat(p, &st) || (size_t)st.st_size != n)
                continue;
            FILE *f = fopen(p, "rb");
            uint8_t *got = malloc(n ? n : 1);
            size_t rd = f ? fread(got, 1, n, f) : 0;
            if (f)
                fclose(f);
            bool same = rd == n && memcmp(got, data, n) == 0;
            free(got);
            if (same) {
                unlink(p);
                closedir(d);
                return;
            }
        }
        closedir(d);
        usleep(100000);
    }
    cr_assert_fail("no printed job of %zu bytes matched", n);
}

static void print_kinds(void)
{
    struct smb1_tree *t;
    struct smb1_conn *conn = connect_srv(&t);
    const char *text = "Hello, printer.\nSecond line.\n";
    print_one(t, "hello.txt", (const uint8_t *)text, strlen(text), 4096, 0, NULL);
    expect_printed((const uint8_t *)text, strlen(text));

    size_t big = 3u << 20;
    uint8_t *bin = pattern(big, 1);
    print_one(t, "big.bin", bin, big, 1u << 20, 0, NULL);
    expect_printed(bin, big);

    const char *utf = "name with spaces and UTF-8\n";
    print_one(t, "a file \xc3\xa4\xc3\xb6\xc3\xbc \xe2\x82\xac.txt", (const uint8_t *)utf,
              strlen(utf), 4096, 0, NULL);
    expect_printed((const uint8_t *)utf, strlen(utf));

    /* The old command (what servers refusing NT_CREATE on printers get). */
    uint8_t *old = pattern(200000, 2);
    print_one(t, "old way.bin", old, 200000, 65536, SMB1_PRINT_OPEN_PRINT_FILE, NULL);
    expect_printed(old, 200000);
    free(old);
    free(bin);

    struct smb1_stats st;
    smb1_conn_get_stats(conn, &st);
    cr_assert_eq(st.bad_signatures, 0);
    smb1_tree_free(t);
    smb1_conn_free(conn);
}

Test(print, jobs_signed, .init = start_signed, .fini = fini, .timeout = 180)
{
    print_kinds();
}

Test(print, jobs_unsigned, .init = start_nosign, .fini = fini, .timeout = 180)
{
    print_kinds();
}
struct found {
    const char *name;
    uint32_t id;
    enum smb1_queue_via via;
    uint64_t size;
    int n;
    struct smb1_print_job_info info;
};

static int find_job(void *ctx, const struct smb1_print_job_info *ji)
{
    struct found *f = ctx;
    f->n++;
    if (strstr(ji->name, f->name)) {
        f->id = ji->id;
        f->via = ji->via;
        f->info = *ji;
        f->size = ji->size;
    }
    return 0;
}

static void touch_in_dir(const char *name)
{
    char p[1024];
    snprintf(p, sizeof(p), "%s/%s", srv.dir, name);
    FILE *f = fopen(p, "w");
    cr_assert(f, "cannot create %s", p);
    fclose(f);
}

/* Nothing printed at all within a second. */
static void expect_nothing_printed(void)
{
    snprintf(printed_dir, sizeof(printed_dir), "%s/printed", srv.dir);
    for (int i = 0; i < 10; i++) {
        DIR *d = opendir(printed_dir);
        cr_assert(d);
        struct dirent *e;
        while ((e = readdir(d)))
            cr_assert(strncmp(e->d_name, "smbprn.", 7) != 0, "%s printed", e->d_name);
        closedir(d);
        usleep(100000);
    }
}

/* The queue (Samba 4.17: its RAP job list fails inside the server, so
 * this is spoolss EnumJobs) lists a held job, whose cancel by the listed
 * id takes it out; a job abandoned midway never prints. */
Test(print, queue_cancel_abandon, .init = start_signed, .fini = fini, .timeout = 180)
{
    struct smb1_tree *t;
    struct smb1_conn *conn = connect_srv(&t);
    struct found f = {.name = "none"};
    cr_assert_eq(smb1_print_queue(t, find_job, &f), 0);
    uint8_t *data = pattern(5000, 3);
    struct smb1_print_job *j = NULL;
    cr_assert_eq(smb1_print_open(t, "abandoned.txt", 0, &j), 0);
    cr_assert_eq(smb1_print_write(j, data, 1000, 0), 1000);
    smb1_print_abort(j);
    expect_nothing_printed();

    /* A held job (the harness's lpq reports it) is listed with its name
     * and size, and cancelled by the id the listing gave. */
    touch_in_dir("hold");
    print_one(t, "held job.txt", data, 5000, 5000, 0, NULL);
    f = (struct found){.name = "held job.txt"};
    for (int i = 0; i < 100 && !f.id; i++) {
        cr_assert_eq(smb1_print_queue(t, find_job, &f), 0);
        if (!f.id)
            usleep(100000);
    }
    cr_assert_neq(f.id, 0, "the held job is not listed (%d jobs)", f.n);
    cr_assert_eq(f.size, 5000);
    expect_printed(data, 5000);
    int rc = smb1_print_cancel(t, &f.info);
    cr_assert_eq(rc, 0, "cancel of job %u (via %d): %d", f.id, f.via, rc);
    uint32_t gone = f.id;
    /* smbd answers a listing from its queue database, which its
     * background queue updater refreshes after the lprm: on a loaded
     * machine the job may be listed a little longer. */
    f.id = gone;
    for (int i = 0; i < 50 && f.id; i++) {
        if (i)
            usleep(100000);
        f.id = 0;
        cr_assert_eq(smb1_print_queue(t, find_job, &f), 0);
    }
    cr_assert_eq(f.id, 0, "cancelled job %u still listed after 5 s", gone);
    char hold[700];
    snprintf(hold, sizeof(hold), "%s/hold", srv.dir);
    unlink(hold);

    /* The connection still prints. */
    print_one(t, "after.txt", data, 5000, 5000, 0, NULL);
    expect_printed(data, 5000);
    free(data);
    smb1_tree_free(t);
    smb1_conn_free(conn);
}
