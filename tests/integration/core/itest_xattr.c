/* Extended attributes larger than one SMB message, against a real smbd:
 * the EA list of a set goes out as a TRANSACTION2 primary plus
 * TRANSACTION2_SECONDARY messages, and comes back in reply fragments, on
 * the "signed" profile (signing mandatory: every part and every fragment
 * carries its own MAC) and on "nosign".
 *
 * The share lives on tmpfs (/dev/shm): the ext4 under /tmp holds about
 * 4 KiB of xattrs per file, tmpfs holds 64 KiB values. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "ops/ea.h"
#include "smb1.h"

#include "harness.h"

static struct harness_server SV;
static char DIR_[64];
static struct smb1_log lg;
static struct smb1_conn *C;
static struct smb1_tree *T;

/* Connects C to SV (NTLMSSP, no UNIX extensions). */
static void connect_sv(enum smb1_sign_policy sign, int timeout_ms)
{
    /* XATTR_LOG_LEVEL=7 shows one line per request (parts, fragments). */
    const char *lv = getenv("XATTR_LOG_LEVEL");
    log_init(&lg, lv ? atoi(lv) : LOG_WARNING, NULL, NULL);
    struct smb1_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.host = "127.0.0.1";
    cfg.port = (uint16_t)SV.port;
    cfg.transport = SMB1_TRANSPORT_DIRECT;
    cfg.user = SV.user;
    cfg.password = SV.pass;
    cfg.domain = SV.domain;
    cfg.sec = SMB1_SEC_NTLMSSP;
    cfg.sign = sign;
    cfg.unix_ext = -1;
    cfg.request_timeout_ms = timeout_ms;
    cfg.log = &lg;
    char why[256] = "";
    int r = smb1_conn_new(&cfg, &C, why, sizeof(why));
    cr_assert_eq(r, 0, "connect to %s: %s (%s)", SV.profile, strerror(-r), why);
}

static void up_ex(const char *profile, const char *extra_global)
{
    snprintf(DIR_, sizeof(DIR_), "/dev/shm/smbfuse-xattr-XXXXXX");
    cr_assert_not_null(mkdtemp(DIR_), "mkdtemp: %s", strerror(errno));
    cr_assert_eq(chmod(DIR_, 01777), 0);
    char extra[128];
    snprintf(extra, sizeof(extra), "path = %s", DIR_);
    memset(&SV, 0, sizeof(SV));
    cr_assert_eq(harness_smbd_start_ex(profile, extra_global, extra, &SV), 0, "smbd %s", profile);
    connect_sv(strcmp(profile, "signed") == 0 ? SMB1_SIGN_REQUIRED : SMB1_SIGN_OFF, 20000);
    cr_assert_eq(smb1_tree_connect(C, "share", &T), 0);
    struct smb1_conn_info ci;
    smb1_conn_get_info(C, &ci);
    cr_assert_eq(ci.signing_active, strcmp(profile, "signed") == 0, "signing %d on %s",
                 ci.signing_active, profile);
    char path[128];
    snprintf(path, sizeof(path), "%s/f", DIR_);
    int fd = open(path, O_CREAT | O_WRONLY, 0666);
    cr_assert_geq(fd, 0);
    close(fd);
    chmod(path, 0666);
}

static void up(const char *profile)
{
    up_ex(profile, NULL);
}

static void down(void)
{
    if (T)
        smb1_tree_free(T);
    if (C)
        smb1_conn_free(C);
    T = NULL;
    C = NULL;
    harness_server_stop(&SV);
    if (DIR_[0]) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", DIR_);
        cr_assert_eq(system(cmd), 0);
        DIR_[0] = 0;
    }
}

/* Bytes that differ at every offset and include NULs. */
static void pattern(uint8_t *p, size_t n, unsigned seed)
{
    uint32_t x = 2463534242u ^ seed;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

static void round_trip(const char *name, size_t n, unsigned seed)
{
    uint8_t *v = malloc(n), *back = malloc(70000);
    cr_assert(v && back);
    pattern(v, n, seed);
    int r = smb1_setxattr(T, "f", name, v, n, 0);
    cr_assert_eq(r, 0, "setxattr %s %zu: %s", name, n, strerror(-r));
    cr_assert_eq(smb1_getxattr(T, "f", name, NULL, 0), (ssize_t)n, "size of %s", name);
    ssize_t got = smb1_getxattr(T, "f", name, back, 70000);
    cr_assert_eq(got, (ssize_t)n, "getxattr %s %zu: %zd", name, n, got);
    cr_assert(memcmp(v, back, n) == 0, "%s: %zu bytes read back differ", name, n);
    /* What the server stored, read on its side. */
    char path[128];
    snprintf(path, sizeof(path), "%s/f", DIR_);
    ssize_t lg_n = getxattr(path, name, back, 70000);
    cr_assert_eq(lg_n, (ssize_t)n, "server-side getxattr: %zd", lg_n);
    cr_assert(memcmp(v, back, n) == 0);
    free(v);
    free(back);
}

static void check_stats_clean(void)
{
    struct smb1_stats st;
    smb1_conn_get_stats(C, &st);
    cr_assert_eq(st.bad_signatures, 0);
    cr_assert_eq(st.unknown_mids, 0);
    cr_assert_eq(st.reconnects, 0);
    cr_assert_eq(st.malformed, 0);
    cr_assert_eq(st.timeouts, 0);
}

static void check_sizes(const char *profile)
{
    up(profile);
    /* One message holds about 16.5 KiB of value: 16 KiB takes one, the
     * others 2, 3 and 4 messages. */
    round_trip("user.big", 16384, 1);
    round_trip("user.big", 16600, 4); /* just over one message */
    round_trip("user.big", 40 * 1024, 2);
    size_t max = ea_value_max(strlen("big"));
    cr_assert_eq(max, 65523);
    round_trip("user.big", max, 3);
    char list[256];
    ssize_t ln = smb1_listxattr(T, "f", list, sizeof(list));
    cr_assert_eq(ln, (ssize_t)sizeof("user.big"), "listxattr: %zd", ln);
    cr_assert_str_eq(list, "user.big");
    /* Beyond what an EA list of 65535 bytes holds: refused here, before
     * anything is sent, and the connection carries on. 65536 is also
     * beyond Linux's own XATTR_SIZE_MAX. */
    static uint8_t big[65536];
    cr_assert_eq(smb1_setxattr(T, "f", "user.big", big, max + 1, 0), -E2BIG);
    cr_assert_eq(smb1_setxattr(T, "f", "user.big", big, 65535, 0), -E2BIG);
    cr_assert_eq(smb1_setxattr(T, "f", "user.big", big, 65536, 0), -E2BIG);
    cr_assert_eq(smb1_getxattr(T, "f", "user.big", NULL, 0), (ssize_t)max);
    cr_assert_eq(smb1_setxattr(T, "f", "user.small", "ok", 2, 0), 0);
    /* Both no longer fit one list: each is still read by name, but the
     * list of names cannot be retrieved. */
    uint8_t *back = malloc(70000);
    cr_assert_eq(smb1_getxattr(T, "f", "user.big", back, 70000), (ssize_t)max);
    cr_assert_eq(smb1_getxattr(T, "f", "user.small", back, 70000), 2);
    cr_assert(memcmp(back, "ok", 2) == 0);
    free(back);
    cr_assert_eq(smb1_listxattr(T, "f", list, sizeof(list)), -E2BIG);
    cr_assert_eq(smb1_getxattr(T, "f", "user.none", NULL, 0), -ENODATA);
    int r = smb1_removexattr(T, "f", "user.big");
    cr_assert_eq(r, 0, "removexattr: %s", strerror(-r));
    cr_assert_eq(smb1_getxattr(T, "f", "user.big", NULL, 0), -ENODATA);
    cr_assert_eq(smb1_echo(C), 0);
    check_stats_clean();
}

Test(xattr_big, sizes_signed, .fini = down)
{
    check_sizes("signed");
}

Test(xattr_big, sizes_nosign, .fini = down)
{
    check_sizes("nosign");
}

/* Many multi-part sets in a row with ordinary requests between them and
 * from a second thread at the same time: the signing numbers of parts and
 * replies stay in step (no bad MAC, no reconnect). */
struct stat_loop {
    volatile int stop;
    int errors;
    int done;
};

static void *stat_thread(void *arg)
{
    struct stat_loop *sl = arg;
    while (!sl->stop) {
        struct smb1_stat st;
        if (smb1_stat(T, "f", &st) != 0)
            sl->errors++;
        sl->done++;
    }
    return NULL;
}

static void check_many(const char *profile)
{
    up(profile);
    struct stat_loop sl = {0, 0, 0};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, stat_thread, &sl), 0);
    for (unsigned i = 0; i < 30; i++) {
        size_t n = 16385 + (size_t)i * 1601;
        round_trip(i % 2 ? "user.a" : "user.b", n, 100 + i);
        struct smb1_stat st;
        cr_assert_eq(smb1_stat(T, "f", &st), 0);
        cr_assert_eq(smb1_echo(C), 0);
        cr_assert_eq(smb1_removexattr(T, "f", i % 2 ? "user.a" : "user.b"), 0);
    }
    sl.stop = 1;
    pthread_join(th, NULL);
    cr_assert_eq(sl.errors, 0);
    cr_assert_gt(sl.done, 0);
    check_stats_clean();
}

Test(xattr_big, many_signed, .fini = down)
{
    check_many("signed");
}

Test(xattr_big, many_nosign, .fini = down)
{
    check_many("nosign");
}

/* A server whose MaxBufferSize is 4096: a path of over 2,000 characters
 * (4 KiB in UTF-16) splits the parameter block of TRANS2 requests across
 * messages too, alone (QUERY_PATH_INFO) and followed by data (SET_EAS). */
static void check_long_path(const char *profile)
{
    up_ex(profile, "max xmit = 4096");
    struct smb1_conn_info ci;
    smb1_conn_get_info(C, &ci);
    cr_assert_eq(ci.max_buffer, 4096);
    char rel[2600] = "", local[2700];
    for (int i = 0; i < 11; i++) {
        size_t at = strlen(rel);
        if (i)
            rel[at++] = '/';
        memset(rel + at, 'a' + i, 200);
        rel[at + 200] = 0;
        snprintf(local, sizeof(local), "%s/%s", DIR_, rel);
        cr_assert_eq(mkdir(local, 0777), 0, "mkdir: %s", strerror(errno));
    }
    strcat(rel, "/leaf");
    snprintf(local, sizeof(local), "%s/%s", DIR_, rel);
    int fd = open(local, O_CREAT | O_WRONLY, 0666);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "12345", 5), 5);
    close(fd);
    chmod(local, 0666);
    struct smb1_stat st;
    /* Without UNIX extensions the stat reply (ALL_INFO) carries the name
     * as well: over 4 KiB here. */
    int r = smb1_stat(T, rel, &st);
    cr_assert_eq(r, 0, "stat of a %zu-character path: %s", strlen(rel), strerror(-r));
    cr_assert_eq(st.size, 5);
    uint8_t v[10000], back[10000];
    pattern(v, sizeof(v), 77);
    r = smb1_setxattr(T, rel, "user.deep", v, sizeof(v), 0);
    cr_assert_eq(r, 0, "setxattr on the long path: %s", strerror(-r));
    cr_assert_eq(smb1_getxattr(T, rel, "user.deep", back, sizeof(back)), (ssize_t)sizeof(v));
    cr_assert(memcmp(v, back, sizeof(v)) == 0);
    cr_assert_eq(getxattr(local, "user.deep", back, sizeof(back)), (ssize_t)sizeof(v));
    cr_assert(memcmp(v, back, sizeof(v)) == 0);
    cr_assert_eq(smb1_stat(T, "f", &st), 0);
    check_stats_clean();
}

Test(xattr_big, long_path_signed, .fini = down)
{
    check_long_path("signed");
}

Test(xattr_big, long_path_nosign, .fini = down)
{
    check_long_path("nosign");
}

/* impacket's smbserver has no TRANSACTION2_SECONDARY and answers a primary
 * at once, whatever its totals say; its SET_PATH_INFO refuses EAs
 * (OBJECT_PATH_SYNTAX_BAD). Whatever it makes of them, a large set ends
 * with an errno within the request timeout, never a hang, and the
 * connection keeps working. */
Test(xattr_big, impacket_fails_cleanly, .fini = down)
{
    memset(&SV, 0, sizeof(SV));
    cr_assert_eq(harness_impacket_start(&SV), 0);
    connect_sv(SMB1_SIGN_OFF, 5000);
    cr_assert_eq(smb1_tree_connect(C, SV.share, &T), 0);
    struct smb1_file *f;
    cr_assert_eq(smb1_open(T, "x.bin", O_CREAT | O_RDWR, 0644, &f, NULL), 0);
    cr_assert_eq(smb1_close(f), 0);
    /* impacket's MaxBufferSize is 64000: the largest value takes two
     * messages. */
    size_t sizes[] = {100, 40000, 65523, 65523};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *v = malloc(sizes[i]);
        pattern(v, sizes[i], 9);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int r = smb1_setxattr(T, "x.bin", "user.big", v, sizes[i], 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        fprintf(stderr, "impacket setxattr %zu: %s in %ld ms\n", sizes[i], r ? strerror(-r) : "ok",
                (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
        cr_assert_lt(t1.tv_sec - t0.tv_sec, 30, "no hang");
        cr_assert_lt(r, 0, "impacket cannot have stored %zu bytes", sizes[i]);
        free(v);
        struct smb1_stat st;
        r = smb1_stat(T, "x.bin", &st);
        cr_assert_eq(r, 0, "stat after setxattr %zu: %s", sizes[i], strerror(-r));
    }
}
