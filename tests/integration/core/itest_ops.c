/* The operation layer against a real smbd, through the public API, on two
 * server profiles: "signed" (mandatory signing, CIFS UNIX extensions) and
 * "nosign" (no signing, no UNIX extensions, mapposix on our side).
 *
 * Both servers are started once for the whole run (a report hook in the
 * runner process) and each test connects afresh. What a test writes is
 * checked on the server's side too, by reading the share directory. */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "link/md5_multi.h"
#include "smb1.h"
#include "rpc/share_enum.h"
#include "rpc/srvsvc.h"
#include "wire/smb1_proto.h"

#include "harness.h"

static struct harness_server servers[2];
static const char *profiles[2] = {"signed", "nosign"};

/* In the runner process: the servers outlive every test, which run in
 * their own processes and find them through the environment. */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    for (int i = 0; i < 2; i++) {
        char key[64], val[32];
        if (harness_smbd_start(profiles[i], &servers[i]) != 0) {
            fprintf(stderr, "itest_ops: could not start smbd for %s\n", profiles[i]);
            continue;
        }
        snprintf(key, sizeof(key), "OPS_PORT_%s", profiles[i]);
        snprintf(val, sizeof(val), "%d", servers[i].port);
        setenv(key, val, 1);
        snprintf(key, sizeof(key), "OPS_SHARE_%s", profiles[i]);
        setenv(key, servers[i].share_dir, 1);
        snprintf(key, sizeof(key), "OPS_USER_%s", profiles[i]);
        setenv(key, servers[i].user, 1);
        snprintf(key, sizeof(key), "OPS_PASS_%s", profiles[i]);
        setenv(key, servers[i].pass, 1);
        snprintf(key, sizeof(key), "OPS_DOMAIN_%s", profiles[i]);
        setenv(key, servers[i].domain, 1);
    }
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    for (int i = 0; i < 2; i++)
        harness_server_stop(&servers[i]);
}

static const char *env_of(const char *what, const char *profile)
{
    char key[64];
    snprintf(key, sizeof(key), "OPS_%s_%s", what, profile);
    const char *v = getenv(key);
    cr_assert_not_null(v, "smbd for %s did not start", profile);
    return v;
}

/* ---- per test ---- */

static struct smb1_log lg;
static struct smb1_conn *C;
static struct smb1_tree *T;
static char SHARE[PATH_MAX]; /* the share directory on the server side */
static bool UNIX;
static const char *PROFILE;

static void connect_to(const char *profile, const char *port, const char *user, const char *pass,
                       const char *domain, const char *share_dir);

static void connect_profile(const char *profile)
{
    connect_to(profile, env_of("PORT", profile), env_of("USER", profile), env_of("PASS", profile),
               env_of("DOMAIN", profile), env_of("SHARE", profile));
}

static void connect_to(const char *profile, const char *port, const char *user, const char *pass,
                       const char *domain, const char *share_dir)
{
    PROFILE = profile;
    snprintf(SHARE, sizeof(SHARE), "%s", share_dir);
    /* OPS_LOG_LEVEL=7 shows one line per request when debugging. */
    const char *lv = getenv("OPS_LOG_LEVEL");
    log_init(&lg, lv ? atoi(lv) : LOG_WARNING, NULL, NULL);
    struct smb1_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.host = "127.0.0.1";
    cfg.port = (uint16_t)atoi(port);
    cfg.transport = SMB1_TRANSPORT_DIRECT;
    cfg.user = user;
    cfg.password = pass;
    cfg.domain = domain;
    cfg.sec = SMB1_SEC_NTLMSSP;
    cfg.sign = strcmp(profile, "signed") == 0 ? SMB1_SIGN_REQUIRED : SMB1_SIGN_AUTO;
    cfg.unix_ext = strcmp(profile, "signed") == 0 ? 1 : -1;
    cfg.mapposix = strcmp(profile, "nosign") == 0;
    cfg.log = &lg;
    char why[256] = "";
    int r = smb1_conn_new(&cfg, &C, why, sizeof(why));
    cr_assert_eq(r, 0, "connect %s: %s (%s)", profile, strerror(-r), why);
    r = smb1_tree_connect(C, "share", &T);
    cr_assert_eq(r, 0, "tree connect: %s", strerror(-r));
    struct smb1_conn_info ci;
    smb1_conn_get_info(C, &ci);
    UNIX = ci.unix_caps != 0;
    cr_assert_eq(UNIX, strcmp(profile, "signed") == 0, "UNIX extensions as configured");
    if (strcmp(profile, "signed") == 0)
        cr_assert(ci.signing_active);
}

static void up_signed(void)
{
    connect_profile("signed");
}
static void up_nosign(void)
{
    connect_profile("nosign");
}
static void down(void)
{
    if (T)
        smb1_tree_free(T);
    if (C)
        smb1_conn_free(C);
    T = NULL;
    C = NULL;
}

/* Server-side path of a share path. */
static const char *local(const char *p)
{
    static char buf[4][PATH_MAX + 512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", SHARE, p);
    return buf[k];
}

/* A fresh directory for one test. */
static void mkdir_test(const char *d)
{
    int r = smb1_mkdir(T, d, 0755);
    cr_assert(r == 0 || r == -EEXIST, "mkdir %s: %s", d, strerror(-r));
}

static void put_file(const char *path, const void *data, size_t n)
{
    struct smb1_file *f;
    int r = smb1_open(T, path, O_CREAT | O_TRUNC | O_RDWR, 0644, &f, NULL);
    cr_assert_eq(r, 0, "open %s: %s", path, strerror(-r));
    if (n)
        cr_assert_eq(smb1_write(f, data, n, 0), (ssize_t)n);
    cr_assert_eq(smb1_close(f), 0);
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* ---- the checks, each run on both profiles ---- */

/* Size of a file on the server's side; -1 when it is not there. */
static long long local_size(const char *p)
{
    struct stat st;
    return stat(local(p), &st) == 0 ? (long long)st.st_size : -1;
}

static void local_equals(const char *p, const uint8_t *data, size_t n)
{
    FILE *fp = fopen(local(p), "rb");
    cr_assert_not_null(fp, "%s not on the server", p);
    uint8_t *back = malloc(n + 1);
    size_t got = fread(back, 1, n + 1, fp);
    fclose(fp);
    cr_assert_eq(got, n, "%s: %zu bytes on the server, not %zu", p, got, n);
    cr_assert(memcmp(back, data, n) == 0, "%s differs on the server", p);
    free(back);
}

static struct smb1_file *create_held(const char *p)
{
    struct smb1_file *f;
    int r = smb1_open(T, p, O_CREAT | O_EXCL | O_WRONLY, 0644, &f, NULL);
    cr_assert_eq(r, 0, "create %s: %s", p, strerror(-r));
    cr_assert(smb1_hold_writes(f));
    return f;
}

/* The core's registry keeps what a program needs between its calls: held
 * writes go out at smb1_flush_held, or first when a request could
 * observe them; a CLOSE in the background is ordered before every later
 * request on the name; a file hidden while open goes at its last close;
 * smb1_close_all leaves nothing behind. */
static void check_held_and_background(void)
{
    mkdir_test("hb");
    uint8_t data[3000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7 + 1);
    /* held until the flush, then on the server; renamed right after a
     * release whose CLOSE may still be under way */
    struct smb1_file *f = create_held("hb/f1");
    cr_assert_eq(smb1_write(f, data, 1000, 0), 1000);
    cr_assert_eq(smb1_write(f, data + 1000, 1000, 1000), 1000);
    cr_assert_eq(local_size("hb/f1"), 0, "held writes went out early");
    cr_assert_eq(smb1_flush_held(f), 0);
    local_equals("hb/f1", data, 2000);
    cr_assert_eq(smb1_close_background(f), 0);
    cr_assert_eq(smb1_rename(T, "hb/f1", "hb/g1", 0), 0);
    local_equals("hb/g1", data, 2000);
    /* a stat (and a listing) of the path sees what is held */
    f = create_held("hb/f2");
    cr_assert_eq(smb1_write(f, data, 1500, 0), 1500);
    struct smb1_stat st;
    cr_assert_eq(smb1_stat(T, "hb/f2", &st), 0);
    cr_assert_eq(st.size, 1500);
    local_equals("hb/f2", data, 1500);
    cr_assert_eq(smb1_close(f), 0);
    /* not held (too big for one chain): on the server at the write; the
     * background CLOSE is ordered before the unlink */
    size_t big = 200000;
    uint8_t *bd = malloc(big);
    for (size_t i = 0; i < big; i++)
        bd[i] = (uint8_t)(i * 13);
    f = create_held("hb/f3");
    cr_assert_eq(smb1_write(f, bd, big, 0), (ssize_t)big);
    cr_assert_eq(smb1_flush_held(f), 0);
    cr_assert_eq(smb1_close_background(f), 0);
    local_equals("hb/f3", bd, big);
    cr_assert_eq(smb1_unlink(T, "hb/f3"), 0);
    cr_assert_eq(local_size("hb/f3"), -1);
    free(bd);
    /* hidden while open: gone from its directory at once, from the share
     * at its last close */
    f = create_held("hb/f4");
    cr_assert_eq(smb1_write(f, data, 100, 0), 100);
    char hidden[96];
    char fp[96];
    cr_assert_eq(smb1_file_path(f, fp, sizeof(fp)), 0);
    cr_assert_str_eq(fp, "hb/f4");
    cr_assert_eq(smb1_hide_open(T, "hb/f4", hidden, sizeof(hidden)), 0);
    cr_assert_eq(local_size("hb/f4"), -1);
    /* the handle's path follows it (what a FUSE call without a path uses) */
    cr_assert_eq(smb1_file_path(f, fp, sizeof(fp)), 0);
    cr_assert_str_eq(fp, hidden);
    cr_assert_eq(smb1_file_path(f, fp, 4), -ENAMETOOLONG);
    cr_assert_eq(local_size(hidden), 100, "the held data went out before the move");
    cr_assert_eq(smb1_close(f), 0);
    cr_assert_eq(local_size(hidden), -1, "a hidden file outlived its last close");
    /* its last handle released while the hide was on its way (FUSE's
     * release takes no lock on the name): the hide deletes it itself */
    f = create_held("hb/f6");
    cr_assert_eq(smb1_write(f, data, 100, 0), 100);
    cr_assert_eq(smb1_close_background(f), 0);
    cr_assert_eq(smb1_hide_open(T, "hb/f6", hidden, sizeof(hidden)), 0);
    cr_assert_eq(local_size("hb/f6"), -1);
    cr_assert_eq(local_size(hidden), -1, "a file hidden after its last release stayed");
    /* what a create's reply said is kept on the handle, once, until
     * something goes through it (libfuse's getattr after a create) */
    struct smb1_stat os, cs;
    cr_assert_eq(smb1_open(T, "hb/os1", O_CREAT | O_TRUNC | O_RDWR, 0644, &f, &cs), 0);
    cr_assert(smb1_file_open_stat(f, &os));
    cr_assert_eq(os.size, 0);
    cr_assert_eq(os.mtime.tv_sec, cs.mtime.tv_sec);
    cr_assert(!smb1_file_open_stat(f, &os), "kept twice");
    cr_assert_eq(smb1_close(f), 0);
    cr_assert_eq(smb1_open(T, "hb/os1", O_CREAT | O_RDWR, 0644, &f, NULL), 0);
    cr_assert_eq(smb1_write(f, data, 10, 0), 10);
    cr_assert(!smb1_file_open_stat(f, &os), "kept across a write");
    cr_assert_eq(smb1_close(f), 0);
    cr_assert_eq(smb1_open(T, "hb/os1", O_RDONLY, 0, &f, NULL), 0);
    cr_assert(!smb1_file_open_stat(f, &os), "kept for an open that creates nothing");
    cr_assert_eq(smb1_close(f), 0);
    cr_assert_eq(smb1_unlink(T, "hb/os1"), 0);
    /* left open at the end: smb1_close_all writes it out and closes */
    f = create_held("hb/f5");
    cr_assert_eq(smb1_write(f, data, 10, 0), 10);
    cr_assert(smb1_path_is_open(T, "hb/f5", false));
    cr_assert(smb1_path_is_open(T, "hb", true));
    smb1_close_all(T);
    cr_assert(!smb1_path_is_open(T, "hb", true));
    local_equals("hb/f5", data, 10);
}

static void check_write_read_big(void)
{
    mkdir_test("big");
    size_t n = 4 * 1024 * 1024 + 12345;
    uint8_t *data = malloc(n), *back = malloc(n + 100);
    srand(42);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)rand();
    struct smb1_file *f;
    struct smb1_stat st;
    cr_assert_eq(smb1_open(T, "big/data.bin", O_CREAT | O_EXCL | O_RDWR, 0644, &f, &st), 0);
    cr_assert_eq(st.size, 0);
    ssize_t w = smb1_write(f, data, n, 0);
    cr_assert_eq(w, (ssize_t)n, "write: %zd", w);
    memset(back, 0, n + 100);
    cr_assert_eq(smb1_read(f, back, n + 100, 0), (ssize_t)n, "short read at EOF");
    cr_assert(memcmp(data, back, n) == 0, "data read back differs");
    cr_assert_eq(smb1_read(f, back, 100, n - 10), 10);
    cr_assert_eq(smb1_read(f, back, 100, n), 0);
    cr_assert_eq(smb1_read(f, back, 100, n + 1000), 0);
    cr_assert_eq(smb1_fstat(f, &st), 0);
    cr_assert_eq(st.size, n);
    cr_assert_eq(smb1_flush(f), 0);
    cr_assert_eq(smb1_close(f), 0);
    /* The server's copy. */
    FILE *lf = fopen(local("big/data.bin"), "rb");
    cr_assert_not_null(lf);
    size_t got = fread(back, 1, n + 100, lf);
    fclose(lf);
    cr_assert_eq(got, n);
    cr_assert_eq(fnv(back, n), fnv(data, n));
    /* O_EXCL on an existing file. */
    cr_assert_eq(smb1_open(T, "big/data.bin", O_CREAT | O_EXCL | O_RDWR, 0644, &f, NULL), -EEXIST);
    /* O_TRUNC empties it. */
    cr_assert_eq(smb1_open(T, "big/data.bin", O_TRUNC | O_WRONLY, 0, &f, NULL), 0);
    cr_assert_eq(smb1_close(f), 0);
    cr_assert_eq(smb1_stat(T, "big/data.bin", &st), 0);
    cr_assert_eq(st.size, 0);
    free(data);
    free(back);
}

static void check_large_offset(void)
{
    mkdir_test("sparse");
    uint64_t off = 5ull << 30;
    size_t n = 1 << 20;
    uint8_t *data = malloc(n), *back = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(i * 13 + 7);
    struct smb1_file *f;
    cr_assert_eq(smb1_open(T, "sparse/s.bin", O_CREAT | O_RDWR, 0644, &f, NULL), 0);
    ssize_t w = smb1_write(f, data, n, off);
    cr_assert_eq(w, (ssize_t)n, "write: %zd", w);
    cr_assert_eq(smb1_read(f, back, n, off), (ssize_t)n);
    cr_assert(memcmp(data, back, n) == 0);
    /* A hole reads as zeros. */
    cr_assert_eq(smb1_read(f, back, 4096, 1ull << 32), 4096);
    for (int i = 0; i < 4096; i++)
        cr_assert_eq(back[i], 0);
    struct smb1_stat st;
    cr_assert_eq(smb1_fstat(f, &st), 0);
    cr_assert_eq(st.size, off + n);
    cr_assert_eq(smb1_close(f), 0);
    struct stat ls;
    cr_assert_eq(stat(local("sparse/s.bin"), &ls), 0);
    cr_assert_eq((uint64_t)ls.st_size, off + n);
    cr_assert_eq(smb1_unlink(T, "sparse/s.bin"), 0);
    free(data);
    free(back);
}

static void check_stat(void)
{
    mkdir_test("st");
    put_file("st/f", "hello", 5);
    struct smb1_stat st;
    cr_assert_eq(smb1_stat(T, "st/f", &st), 0);
    cr_assert_eq(st.size, 5);
    cr_assert(!st.is_dir);
    cr_assert(S_ISREG(st.mode));
    cr_assert_eq(st.has_unix, UNIX);
    struct stat ls;
    cr_assert_eq(stat(local("st/f"), &ls), 0);
    cr_assert_eq(st.mtime.tv_sec, ls.st_mtime);
    if (UNIX) {
        cr_assert_eq(st.ino, ls.st_ino);
        cr_assert_eq(st.mode & 0777, ls.st_mode & 0777);
    }
    cr_assert_eq(smb1_stat(T, "st", &st), 0);
    cr_assert(st.is_dir);
    cr_assert(S_ISDIR(st.mode));
    cr_assert_eq(smb1_stat(T, "", &st), 0);
    cr_assert(st.is_dir);
    cr_assert_eq(smb1_stat(T, "st/missing", &st), -ENOENT);
    cr_assert_eq(smb1_stat(T, "st/nodir/missing", &st), -ENOENT);
    cr_assert_eq(smb1_stat(T, "st/f/below", &st), -ENOTDIR);
    /* Opening directories. */
    struct smb1_file *d;
    int r = smb1_open(T, "st", O_RDONLY | O_DIRECTORY, 0, &d, &st);
    cr_assert_eq(r, 0, "open of a directory: %s", strerror(-r));
    cr_assert(st.is_dir);
    cr_assert_eq(smb1_fstat(d, &st), 0);
    cr_assert(st.is_dir);
    cr_assert_eq(smb1_close(d), 0);
    r = smb1_open(T, "st/f", O_RDONLY | O_DIRECTORY, 0, &d, &st);
    cr_assert_eq(r, -ENOTDIR, "O_DIRECTORY on a file: %s", strerror(-r));
    r = smb1_open(T, "st", O_WRONLY, 0, &d, &st);
    cr_assert_eq(r, -EISDIR, "a directory for writing: %s", strerror(-r));
}

struct seen {
    char *bits;
    int count, dups, other;
    uint64_t size_of_7;
};

static int on_name(void *ctx, const char *name, const struct smb1_stat *st)
{
    struct seen *s = ctx;
    int i;
    char tail;
    if (sscanf(name, "file%05d.txt%c", &i, &tail) == 1 && i >= 0 && i < 5000) {
        if (s->bits[i])
            s->dups++;
        s->bits[i] = 1;
        s->count++;
        if (i == 7)
            s->size_of_7 = st->size;
    } else {
        s->other++;
    }
    return 0;
}

static void check_readdir_5000(void)
{
    mkdir_test("many");
    for (int i = 0; i < 5000; i++) {
        char p[64];
        snprintf(p, sizeof(p), "many/file%05d.txt", i);
        FILE *f = fopen(local(p), "w");
        cr_assert_not_null(f);
        if (i == 7)
            fputs("seven", f);
        fclose(f);
    }
    struct seen s = {.bits = calloc(5000, 1)};
    cr_assert_eq(smb1_readdir(T, "many", on_name, &s), 0);
    cr_assert_eq(s.dups, 0);
    cr_assert_eq(s.other, 0);
    cr_assert_eq(s.count, 5000);
    cr_assert_eq(s.size_of_7, 5, "attributes come with the listing");
    free(s.bits);
    put_file("many-file", "x", 1);
    cr_assert_eq(smb1_readdir(T, "many-file", on_name, &s), -ENOTDIR);
    cr_assert_eq(smb1_readdir(T, "missing-dir", on_name, &s), -ENOENT);
}

struct find_one {
    const char *want;
    bool found;
};

static int on_find(void *ctx, const char *name, const struct smb1_stat *st)
{
    (void)st;
    struct find_one *f = ctx;
    if (strcmp(name, f->want) == 0)
        f->found = true;
    return 0;
}

static int stop_at_3(void *ctx, const char *name, const struct smb1_stat *st)
{
    (void)name;
    (void)st;
    int *n = ctx;
    return ++*n == 3 ? 42 : 0;
}

static void check_readdir_stop(void)
{
    mkdir_test("stop");
    for (int i = 0; i < 10; i++) {
        char p[32];
        snprintf(p, sizeof(p), "stop/%d", i);
        put_file(p, "", 0);
    }
    int n = 0;
    cr_assert_eq(smb1_readdir(T, "stop", stop_at_3, &n), 42);
    cr_assert_eq(n, 3);
    /* The share's root, as "" and as "/". */
    struct find_one fo = {"stop", false};
    cr_assert_eq(smb1_readdir(T, "", on_find, &fo), 0);
    cr_assert(fo.found);
    fo.found = false;
    cr_assert_eq(smb1_readdir(T, "/", on_find, &fo), 0);
    cr_assert(fo.found);
}

static void read_all(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(local(path), "r");
    cr_assert_not_null(f, "%s missing on the server", path);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
}

static void check_rename(void)
{
    char buf[64];
    mkdir_test("rn");
    mkdir_test("rn/sub");
    put_file("rn/a", "AAA", 3);
    put_file("rn/b", "BBB", 3);
    cr_assert_eq(smb1_rename(T, "rn/a", "rn/b", RENAME_NOREPLACE), -EEXIST);
    cr_assert_eq(smb1_rename(T, "rn/a", "rn/b", 0), 0);
    read_all("rn/b", buf, sizeof(buf));
    cr_assert_str_eq(buf, "AAA");
    cr_assert_eq(access(local("rn/a"), F_OK), -1);
    /* Across directories, over an existing file. */
    put_file("rn/sub/c", "CCC", 3);
    int r = smb1_rename(T, "rn/b", "rn/sub/c", 0);
    cr_assert_eq(r, 0, "rename across directories: %s", strerror(-r));
    read_all("rn/sub/c", buf, sizeof(buf));
    cr_assert_str_eq(buf, "AAA");
    cr_assert_eq(access(local("rn/b"), F_OK), -1);
    DIR *d = opendir(local("rn/sub"));
    struct dirent *de;
    int entries = 0;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            entries++;
    closedir(d);
    cr_assert_eq(entries, 1, "no temporary name left behind");
    /* A plain move. */
    cr_assert_eq(smb1_rename(T, "rn/sub/c", "rn/moved", 0), 0);
    read_all("rn/moved", buf, sizeof(buf));
    cr_assert_str_eq(buf, "AAA");
    /* A directory over an empty directory, and not over a full one. */
    mkdir_test("rn/d1");
    put_file("rn/d1/x", "x", 1);
    mkdir_test("rn/d2");
    cr_assert_eq(smb1_rename(T, "rn/d1", "rn/d2", 0), 0);
    cr_assert_eq(access(local("rn/d2/x"), F_OK), 0);
    mkdir_test("rn/d3");
    put_file("rn/d3/y", "y", 1);
    cr_assert_eq(smb1_rename(T, "rn/d2", "rn/d3", 0), -ENOTEMPTY);
    /* A missing source. */
    cr_assert_eq(smb1_rename(T, "rn/none", "rn/other", 0), -ENOENT);
    /* The rename of an open file; the handle follows. */
    struct smb1_file *f;
    cr_assert_eq(smb1_open(T, "rn/moved", O_RDWR, 0, &f, NULL), 0);
    cr_assert_eq(smb1_rename(T, "rn/moved", "rn/moved2", 0), 0);
    cr_assert_eq(smb1_write(f, "Z", 1, 0), 1);
    cr_assert_eq(smb1_close(f), 0);
    read_all("rn/moved2", buf, sizeof(buf));
    cr_assert_str_eq(buf, "ZAA");
}

static void check_unlink_open(void)
{
    mkdir_test("ul");
    struct smb1_file *f;
    cr_assert_eq(smb1_open(T, "ul/open", O_CREAT | O_RDWR, 0644, &f, NULL), 0);
    cr_assert_eq(smb1_write(f, "data", 4, 0), 4);
    cr_assert_eq(smb1_unlink(T, "ul/open"), 0);
    struct smb1_stat st;
    cr_assert_eq(smb1_stat(T, "ul/open", &st), -ENOENT);
    char buf[8];
    cr_assert_eq(smb1_read(f, buf, 4, 0), 4);
    cr_assert(memcmp(buf, "data", 4) == 0);
    /* The name is free again, and not listed, while the old file is open. */
    struct find_one fo = {"open", false};
    cr_assert_eq(smb1_readdir(T, "ul", on_find, &fo), 0);
    cr_assert(!fo.found, "an unlinked file is not listed");
    struct smb1_file *g;
    int r = smb1_open(T, "ul/open", O_CREAT | O_EXCL | O_RDWR, 0644, &g, NULL);
    cr_assert_eq(r, 0, "create over an unlinked open file: %s", strerror(-r));
    cr_assert_eq(smb1_write(g, "new", 3, 0), 3);
    cr_assert_eq(smb1_read(f, buf, 4, 0), 4);
    cr_assert(memcmp(buf, "data", 4) == 0, "the old file keeps its data");
    cr_assert_eq(smb1_close(g), 0);
    cr_assert_eq(smb1_unlink(T, "ul/open"), 0);
    cr_assert_eq(smb1_close(f), 0);
    /* At the last close the hidden name is gone too. */
    DIR *d = opendir(local("ul"));
    cr_assert_not_null(d);
    struct dirent *de;
    while ((de = readdir(d)))
        cr_assert(strcmp(de->d_name, "open") && strncmp(de->d_name, ".smbfuse", 8),
                  "left behind: %s", de->d_name);
    closedir(d);
    cr_assert_eq(access(local("ul/open"), F_OK), -1);
    cr_assert_eq(smb1_unlink(T, "ul/open"), -ENOENT);
    mkdir_test("ul/dir");
    r = smb1_unlink(T, "ul/dir");
    cr_assert(r == -EISDIR || r == -EPERM || r == -EACCES, "unlink of a dir: %s", strerror(-r));
}

static void check_mkdir_rmdir(void)
{
    cr_assert_eq(smb1_mkdir(T, "md", 0755), 0);
    cr_assert_eq(smb1_mkdir(T, "md", 0755), -EEXIST);
    put_file("md/x", "x", 1);
    cr_assert_eq(smb1_rmdir(T, "md"), -ENOTEMPTY);
    cr_assert_eq(smb1_unlink(T, "md/x"), 0);
    cr_assert_eq(smb1_rmdir(T, "md"), 0);
    cr_assert_eq(access(local("md"), F_OK), -1);
    cr_assert_eq(smb1_rmdir(T, "md"), -ENOENT);
    cr_assert_eq(smb1_mkdir(T, "nope/md", 0755), -ENOENT);
}

static void check_utimens(void)
{
    mkdir_test("ut");
    struct smb1_file *f;
    int r;
    cr_assert_eq(smb1_open(T, "ut/f", O_CREAT | O_RDWR, 0644, &f, NULL), 0);
    cr_assert_eq(smb1_write(f, "abc", 3, 0), 3);
    struct timespec mt = {.tv_sec = 1000000000, .tv_nsec = 0};
    struct timespec at = {.tv_sec = 1100000000, .tv_nsec = 0};
    /* By path while a write handle is open, then the handle is closed. */
    cr_assert_eq(smb1_utimens(T, "ut/f", NULL, &at, &mt), 0);
    cr_assert_eq(smb1_close(f), 0);
    struct smb1_stat st;
    cr_assert_eq(smb1_stat(T, "ut/f", &st), 0);
    cr_assert_eq(st.mtime.tv_sec, 1000000000, "mtime survives the close of a write handle: %ld",
                 (long)st.mtime.tv_sec);
    struct stat ls;
    cr_assert_eq(stat(local("ut/f"), &ls), 0);
    cr_assert_eq(ls.st_mtime, 1000000000);
    /* On the handle, with atime left alone. */
    cr_assert_eq(smb1_open(T, "ut/f", O_RDWR, 0, &f, NULL), 0);
    cr_assert_eq(smb1_write(f, "e", 1, 4), 1);
    mt.tv_sec = 1200000000;
    cr_assert_eq(smb1_utimens(T, "ut/f", f, NULL, &mt), 0);
    cr_assert_eq(smb1_close(f), 0);
    cr_assert_eq(stat(local("ut/f"), &ls), 0);
    cr_assert_eq(ls.st_mtime, 1200000000);
    cr_assert_eq(ls.st_atime, 1100000000);
    /* A directory's times. */
    mkdir_test("ut/d");
    mt.tv_sec = 1250000000;
    cr_assert_eq(smb1_utimens(T, "ut/d", NULL, NULL, &mt), 0);
    cr_assert_eq(stat(local("ut/d"), &ls), 0);
    cr_assert_eq(ls.st_mtime, 1250000000);
    r = smb1_utimens(T, "ut/none", NULL, &at, &mt);
    cr_assert_eq(r, -ENOENT, "utimens of a missing file: %s", strerror(-r));
}

static void check_truncate(void)
{
    mkdir_test("tr");
    put_file("tr/f", "0123456789", 10);
    cr_assert_eq(smb1_truncate(T, "tr/f", 100), 0);
    struct stat ls;
    cr_assert_eq(stat(local("tr/f"), &ls), 0);
    cr_assert_eq(ls.st_size, 100);
    struct smb1_file *f;
    cr_assert_eq(smb1_open(T, "tr/f", O_RDWR, 0, &f, NULL), 0);
    cr_assert_eq(smb1_ftruncate(f, 3), 0);
    struct smb1_stat st;
    cr_assert_eq(smb1_fstat(f, &st), 0);
    cr_assert_eq(st.size, 3);
    cr_assert_eq(smb1_close(f), 0);
    cr_assert_eq(stat(local("tr/f"), &ls), 0);
    cr_assert_eq(ls.st_size, 3);
    cr_assert_eq(smb1_truncate(T, "tr/none", 1), -ENOENT);
}

static void check_statfs(void)
{
    struct smb1_statfs sf;
    cr_assert_eq(smb1_statfs(T, &sf), 0);
    cr_assert_gt(sf.total_bytes, 0);
    cr_assert_gt(sf.avail_bytes, 0);
    cr_assert_geq(sf.total_bytes, sf.avail_bytes);
    cr_assert_gt(sf.block_size, 0);
    cr_assert(sf.name_max > 0 && sf.name_max <= 255);
}

static void check_links(void)
{
    mkdir_test("ln");
    put_file("ln/target", "T", 1);
    if (UNIX) {
        cr_assert_eq(smb1_symlink(T, "target", "ln/sym"), 0);
        char buf[64];
        cr_assert_eq(smb1_readlink(T, "ln/sym", buf, sizeof(buf)), 6);
        cr_assert_str_eq(buf, "target");
        char lbuf[64];
        ssize_t n = readlink(local("ln/sym"), lbuf, sizeof(lbuf) - 1);
        cr_assert_eq(n, 6);
        struct smb1_stat st;
        cr_assert_eq(smb1_stat(T, "ln/sym", &st), 0);
        cr_assert(S_ISLNK(st.mode));
        cr_assert_eq(smb1_symlink(T, "../x/y", "ln/sym2"), 0);
        cr_assert_eq(smb1_readlink(T, "ln/sym2", buf, 4), 6, "full length, truncated copy");
        cr_assert_str_eq(buf, "../");
    } else {
        cr_assert_eq(smb1_symlink(T, "target", "ln/sym"), -EPERM);
    }
    cr_assert_eq(smb1_link(T, "ln/target", "ln/hard"), 0);
    struct stat ls;
    cr_assert_eq(stat(local("ln/hard"), &ls), 0);
    cr_assert_eq(ls.st_nlink, 2);
    cr_assert_eq(smb1_link(T, "ln/target", "ln/hard"), -EEXIST);
}

static void check_chmod(void)
{
    mkdir_test("cm");
    put_file("cm/f", "x", 1);
    struct smb1_stat st;
    struct stat ls;
    if (UNIX) {
        cr_assert_eq(smb1_chmod(T, "cm/f", 0640), 0);
        cr_assert_eq(stat(local("cm/f"), &ls), 0);
        cr_assert_eq(ls.st_mode & 07777, 0640);
        cr_assert_eq(smb1_stat(T, "cm/f", &st), 0);
        cr_assert_eq(st.mode & 07777, 0640);
        cr_assert_eq(smb1_chown(T, "cm/f", -1, 0), 0);
    } else {
        cr_assert_eq(smb1_chmod(T, "cm/f", 0444), 0);
        cr_assert_eq(smb1_stat(T, "cm/f", &st), 0);
        cr_assert(st.attrs & SMB1_ATTR_READONLY);
        cr_assert_eq(st.mode & 0222, 0);
        cr_assert_eq(smb1_chmod(T, "cm/f", 0644), 0);
        cr_assert_eq(smb1_stat(T, "cm/f", &st), 0);
        cr_assert(!(st.attrs & SMB1_ATTR_READONLY));
        cr_assert_eq(smb1_chown(T, "cm/f", 0, 0), -EPERM);
    }
    int r = smb1_chmod(T, "cm/none", 0644);
    cr_assert_eq(r, -ENOENT, "chmod of a missing file: %s", strerror(-r));
}

static void check_xattr(void)
{
    mkdir_test("xa");
    put_file("xa/f", "x", 1);
    int r = smb1_setxattr(T, "xa/f", "user.colour", "blue", 4, 0);
    cr_assert_eq(r, 0, "setxattr: %s", strerror(-r));
    char buf[256];
    cr_assert_eq(smb1_getxattr(T, "xa/f", "user.colour", buf, sizeof(buf)), 4);
    cr_assert(memcmp(buf, "blue", 4) == 0);
    cr_assert_eq(smb1_getxattr(T, "xa/f", "user.colour", NULL, 0), 4);
    cr_assert_eq(smb1_getxattr(T, "xa/f", "user.colour", buf, 2), -ERANGE);
    cr_assert_eq(smb1_getxattr(T, "xa/f", "user.none", buf, sizeof(buf)), -ENODATA);
    cr_assert_eq(smb1_setxattr(T, "xa/f", "user.colour", "red", 3, XATTR_CREATE), -EEXIST);
    cr_assert_eq(smb1_setxattr(T, "xa/f", "user.other", "1", 1, XATTR_REPLACE), -ENODATA);
    cr_assert_eq(smb1_setxattr(T, "xa/f", "user.other", "1", 1, 0), 0);
    ssize_t n = smb1_listxattr(T, "xa/f", buf, sizeof(buf));
    cr_assert_gt(n, 0);
    bool colour = false, other = false;
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1) {
        colour |= strcmp(buf + i, "user.colour") == 0;
        other |= strcmp(buf + i, "user.other") == 0;
    }
    cr_assert(colour && other);
    cr_assert_eq(smb1_listxattr(T, "xa/f", NULL, 0), n);
    cr_assert_eq(smb1_listxattr(T, "xa/f", buf, 3), -ERANGE);
    /* The server stores it as the user xattr. */
    char lv[16];
    cr_assert_eq(getxattr(local("xa/f"), "user.colour", lv, sizeof(lv)), 4);
    cr_assert_eq(smb1_removexattr(T, "xa/f", "user.colour"), 0);
    cr_assert_eq(smb1_getxattr(T, "xa/f", "user.colour", buf, sizeof(buf)), -ENODATA);
    cr_assert_eq(smb1_removexattr(T, "xa/f", "user.colour"), -ENODATA);
    /* A larger value round-trips; one beyond a single request is refused
     * as too big, never cut. */
    size_t bign = 2000; /* the server's ext4 holds about 4 KiB of xattrs per file */
    char *big = malloc(70000), *bigback = malloc(70000);
    for (size_t i = 0; i < 70000; i++)
        big[i] = (char)('a' + i % 26);
    r = smb1_setxattr(T, "xa/f", "user.big", big, bign, 0);
    cr_assert_eq(r, 0, "2000-byte value: %s", strerror(-r));
    cr_assert_eq(smb1_getxattr(T, "xa/f", "user.big", bigback, 70000), (ssize_t)bign);
    cr_assert(memcmp(big, bigback, bign) == 0);
    cr_assert_eq(smb1_setxattr(T, "xa/f", "user.huge", big, 70000, 0), -E2BIG);
    free(big);
    free(bigback);
    cr_assert_eq(smb1_setxattr(T, "xa/f", "user.empty", "", 0, 0), -EINVAL);
    cr_assert_eq(smb1_setxattr(T, "xa/f", "trusted.x", "1", 1, 0), -ENOTSUP);
    cr_assert_eq(smb1_getxattr(T, "xa/f", "security.selinux", buf, sizeof(buf)), -ENOTSUP);
}

static void check_locks(void)
{
    mkdir_test("lk");
    put_file("lk/f", "0123456789", 10);
    struct smb1_file *a, *b;
    cr_assert_eq(smb1_open(T, "lk/f", O_RDWR, 0, &a, NULL), 0);
    cr_assert_eq(smb1_open(T, "lk/f", O_RDWR, 0, &b, NULL), 0);
    cr_assert_eq(smb1_lock(a, 0, 5, F_WRLCK, false), 0);
    cr_assert_eq(smb1_lock(b, 2, 2, F_WRLCK, false), -EAGAIN);
    cr_assert_eq(smb1_lock(b, 2, 2, F_RDLCK, false), -EAGAIN);
    cr_assert_eq(smb1_lock(b, 5, 5, F_WRLCK, false), 0, "a disjoint range");
    cr_assert_eq(smb1_lock(a, 0, 5, F_UNLCK, false), 0);
    cr_assert_eq(smb1_lock(b, 2, 2, F_RDLCK, false), 0);
    cr_assert_eq(smb1_lock(a, 2, 2, F_RDLCK, false), 0, "shared locks share");
    cr_assert_eq(smb1_lock(a, 2, 2, F_WRLCK, false), -EAGAIN);
    cr_assert_eq(smb1_lock(a, 100, 1, F_UNLCK, false), 0, "unlocking nothing succeeds");
    /* Beyond 4 GiB. */
    cr_assert_eq(smb1_lock(a, 6ull << 30, 10, F_WRLCK, false), 0);
    cr_assert_eq(smb1_lock(b, (6ull << 30) + 5, 1, F_WRLCK, false), -EAGAIN);
    cr_assert_eq(smb1_close(a), 0);
    cr_assert_eq(smb1_close(b), 0);
}

struct share_seen {
    bool share, ipc;
};

static int on_share(void *ctx, const char *name, uint32_t type, const char *remark)
{
    (void)remark;
    struct share_seen *s = ctx;
    if (strcmp(name, "share") == 0 && type == SMB1_SHARE_TYPE_DISK)
        s->share = true;
    if (strcmp(name, "IPC$") == 0 && type == SMB1_SHARE_TYPE_IPC)
        s->ipc = true;
    return 0;
}

static void check_share_enum(void)
{
    struct share_seen s = {false, false};
    int r = smb1_share_enum(C, on_share, &s);
    cr_assert_eq(r, 0, "share enum: %s", strerror(-r));
    cr_assert(s.share, "share listed");
    cr_assert(s.ipc, "IPC$ listed");
    /* Each method on its own. */
    struct smb1_tree *ipc;
    cr_assert_eq(smb1_tree_connect(C, "IPC$", &ipc), 0);
    struct share_seen a = {false, false}, b = {false, false};
    r = srvsvc_share_enum(ipc, on_share, &a);
    cr_assert_eq(r, 0, "srvsvc: %s", strerror(-r));
    cr_assert(a.share && a.ipc, "srvsvc lists share and IPC$");
    r = share_enum_rap(ipc, on_share, &b);
    cr_assert_eq(r, 0, "RAP: %s", strerror(-r));
    cr_assert(b.share && b.ipc, "RAP lists share and IPC$");
    smb1_tree_free(ipc);
}

static void check_names(void)
{
    mkdir_test("nm");
    const char *names[] = {"résumé ✓ 日本.txt", "100%@~x", "a:b?c*d<e>f|g\"h", "trail. ",
                           "back\\slash"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char p[512];
        snprintf(p, sizeof(p), "nm/%s", names[i]);
        put_file(p, "n", 1);
        struct smb1_stat st;
        cr_assert_eq(smb1_stat(T, p, &st), 0, "stat %s", names[i]);
        struct find_one f = {names[i], false};
        cr_assert_eq(smb1_readdir(T, "nm", on_find, &f), 0);
        cr_assert(f.found, "%s listed as itself", names[i]);
        if (UNIX || i < 2)
            cr_assert_eq(access(local(p), F_OK), 0, "%s stored as itself", names[i]);
        cr_assert_eq(smb1_unlink(T, p), 0);
    }
    char longname[300];
    memset(longname, 'l', sizeof(longname));
    memcpy(longname, "nm/", 3);
    longname[3 + 256] = 0;
    struct smb1_file *f;
    cr_assert_eq(smb1_open(T, longname, O_CREAT | O_RDWR, 0644, &f, NULL), -ENAMETOOLONG);
    cr_assert_eq(smb1_mkdir(T, longname, 0755), -ENAMETOOLONG);
    struct smb1_stat st;
    cr_assert_eq(smb1_stat(T, longname, &st), -ENAMETOOLONG);
    longname[3 + 255] = 0;
    cr_assert_eq(smb1_open(T, longname, O_CREAT | O_RDWR, 0644, &f, NULL), 0);
    cr_assert_eq(smb1_close(f), 0);
}

static void check_parallel_handles(void)
{
    /* Several handles in use at once from one connection. */
    mkdir_test("ph");
    struct smb1_file *f[8];
    for (int i = 0; i < 8; i++) {
        char p[32];
        snprintf(p, sizeof(p), "ph/%d", i);
        cr_assert_eq(smb1_open(T, p, O_CREAT | O_RDWR, 0644, &f[i], NULL), 0);
        cr_assert_eq(smb1_write(f[i], p, strlen(p), 0), (ssize_t)strlen(p));
    }
    for (int i = 0; i < 8; i++) {
        char p[32], b[32];
        snprintf(p, sizeof(p), "ph/%d", i);
        cr_assert_eq(smb1_read(f[i], b, sizeof(b), 0), (ssize_t)strlen(p));
        cr_assert_eq(smb1_close(f[i]), 0);
    }
}

struct thread_job {
    struct smb1_file *f;
    int idx;
    int err;
};

#define TJ_REGION (300 * 1024)

static void *thread_writer(void *arg)
{
    struct thread_job *j = arg;
    uint8_t *buf = malloc(TJ_REGION);
    memset(buf, 'A' + j->idx, TJ_REGION);
    for (int round = 0; round < 3 && !j->err; round++) {
        ssize_t w = smb1_write(j->f, buf, TJ_REGION, (uint64_t)j->idx * TJ_REGION);
        if (w != TJ_REGION)
            j->err = w < 0 ? (int)w : -EIO;
        struct timespec mt = {.tv_sec = 1300000000 + j->idx, .tv_nsec = 0};
        /* Times by path while the handle is shared: takes the open-file
         * list and the handle's lock from several threads at once. */
        int r = smb1_utimens(T, "th/f", NULL, NULL, &mt);
        if (r && !j->err)
            j->err = r;
        struct smb1_stat st;
        if ((r = smb1_fstat(j->f, &st)) && !j->err)
            j->err = r;
    }
    free(buf);
    return NULL;
}

/* Many threads on one handle and one connection. */
static void check_threads(void)
{
    mkdir_test("th");
    struct smb1_file *f;
    cr_assert_eq(smb1_open(T, "th/f", O_CREAT | O_RDWR | O_TRUNC, 0644, &f, NULL), 0);
    pthread_t th[8];
    struct thread_job jobs[8];
    for (int i = 0; i < 8; i++) {
        jobs[i] = (struct thread_job){f, i, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, thread_writer, &jobs[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(jobs[i].err, 0, "thread %d: %s", i, strerror(-jobs[i].err));
    }
    uint8_t *back = malloc(8 * TJ_REGION);
    cr_assert_eq(smb1_read(f, back, 8 * TJ_REGION, 0), 8 * TJ_REGION);
    for (int i = 0; i < 8; i++)
        for (size_t k = 0; k < TJ_REGION; k += 4096)
            cr_assert_eq(back[(size_t)i * TJ_REGION + k], 'A' + i);
    free(back);
    cr_assert_eq(smb1_close(f), 0);
}

/* A copy survives a server restart: the open files are reopened (never
 * truncated, although opened with O_TRUNC) and the writes go on. */
static void check_restart(const char *profile)
{
    struct harness_server sv;
    memset(&sv, 0, sizeof(sv));
    cr_assert_eq(harness_smbd_start(profile, &sv), 0);
    char port[16];
    snprintf(port, sizeof(port), "%d", sv.port);
    connect_to(profile, port, sv.user, sv.pass, sv.domain, sv.share_dir);
    size_t half = 1 << 20;
    uint8_t *data = malloc(2 * half), *back = malloc(2 * half);
    for (size_t i = 0; i < 2 * half; i++)
        data[i] = (uint8_t)(i * 31 + (i >> 12));
    struct smb1_file *f, *g;
    cr_assert_eq(smb1_open(T, "copy.bin", O_CREAT | O_TRUNC | O_WRONLY, 0644, &f, NULL), 0);
    cr_assert_eq(smb1_open(T, "copy.bin", O_RDONLY, 0, &g, NULL), 0);
    cr_assert_eq(smb1_write(f, data, half, 0), (ssize_t)half);
    /* Without UNIX extensions an unlinked open file lives on under a
     * hidden name; after the restart it must not stay behind. */
    struct smb1_file *u = NULL;
    bool nounix = strcmp(profile, "nosign") == 0;
    if (nounix) {
        cr_assert_eq(smb1_open(T, "gone.bin", O_CREAT | O_RDWR, 0644, &u, NULL), 0);
        cr_assert_eq(smb1_write(u, "keep", 4, 0), 4);
        cr_assert_eq(smb1_unlink(T, "gone.bin"), 0);
    }
    cr_assert_eq(harness_server_restart(&sv), 0);
    ssize_t w = smb1_write(f, data + half, half, half);
    cr_assert_eq(w, (ssize_t)half, "write after the restart: %zd", w);
    ssize_t n = smb1_read(g, back, 2 * half, 0);
    cr_assert_eq(n, (ssize_t)(2 * half), "read after the restart: %zd", n);
    cr_assert(memcmp(data, back, 2 * half) == 0, "nothing lost across the restart");
    struct smb1_stat st;
    cr_assert_eq(smb1_fstat(f, &st), 0);
    cr_assert_eq(st.size, 2 * half);
    cr_assert_eq(smb1_close(f), 0);
    cr_assert_eq(smb1_close(g), 0);
    if (nounix) {
        /* A server that shut down cleanly honoured the delete-on-close:
         * the data is gone and the handle says so (never other data). */
        char kb[8];
        ssize_t k = smb1_read(u, kb, 4, 0);
        cr_assert(k == -ESTALE || (k == 4 && memcmp(kb, "keep", 4) == 0), "read: %zd", k);
        (void)smb1_close(u);
        DIR *d = opendir(sv.share_dir);
        cr_assert_not_null(d);
        struct dirent *de;
        while ((de = readdir(d)))
            cr_assert(strncmp(de->d_name, ".smbfuse", 8) && strcmp(de->d_name, "gone.bin"),
                      "left behind after the restart: %s", de->d_name);
        closedir(d);
    }
    struct smb1_stats stats;
    smb1_conn_get_stats(C, &stats);
    cr_assert_geq(stats.reconnects, 1);
    down();
    harness_server_stop(&sv);
    free(data);
    free(back);
}

static int count_entries(void *ctx, const char *name, const struct smb1_stat *st)
{
    (void)name;
    (void)st;
    ++*(int *)ctx;
    return 0;
}

/* Another server implementation (impacket's, unsigned, no UNIX
 * extensions): the common operations work the same. */
static void check_impacket(void)
{
    struct harness_server sv;
    memset(&sv, 0, sizeof(sv));
    cr_assert_eq(harness_impacket_start(&sv), 0);
    char port[16];
    snprintf(port, sizeof(port), "%d", sv.port);
    PROFILE = "impacket";
    snprintf(SHARE, sizeof(SHARE), "%s", sv.share_dir);
    const char *lv = getenv("OPS_LOG_LEVEL");
    log_init(&lg, lv ? atoi(lv) : LOG_WARNING, NULL, NULL);
    struct smb1_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.host = "127.0.0.1";
    cfg.port = (uint16_t)sv.port;
    cfg.transport = SMB1_TRANSPORT_DIRECT;
    cfg.user = sv.user;
    cfg.password = sv.pass;
    cfg.domain = sv.domain;
    cfg.sec = SMB1_SEC_NTLMSSP;
    cfg.sign = SMB1_SIGN_OFF;
    cfg.unix_ext = -1;
    cfg.log = &lg;
    char why[256] = "";
    cr_assert_eq(smb1_conn_new(&cfg, &C, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(smb1_tree_connect(C, sv.share, &T), 0);
    size_t n = 300 * 1024;
    uint8_t *data = malloc(n), *back = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(i * 11);
    mkdir_test("imp");
    struct smb1_file *f;
    cr_assert_eq(smb1_open(T, "imp/a.bin", O_CREAT | O_RDWR | O_TRUNC, 0644, &f, NULL), 0);
    cr_assert_eq(smb1_write(f, data, n, 0), (ssize_t)n);
    ssize_t got = smb1_read(f, back, n, 0);
    cr_assert_eq(got, (ssize_t)n, "read: %zd", got);
    cr_assert(memcmp(data, back, n) == 0);
    cr_assert_eq(smb1_close(f), 0);
    struct smb1_stat st;
    cr_assert_eq(smb1_stat(T, "imp/a.bin", &st), 0);
    cr_assert_eq(st.size, n);
    cr_assert_eq(smb1_stat(T, "imp/none", &st), -ENOENT);
    cr_assert_eq(smb1_rename(T, "imp/a.bin", "imp/b.bin", 0), 0);
    int count = 0;
    cr_assert_eq(smb1_readdir(T, "imp", count_entries, &count), 0);
    cr_assert_eq(count, 1);
    struct smb1_statfs sf;
    cr_assert_eq(smb1_statfs(T, &sf), 0);
    cr_assert_gt(sf.total_bytes, 0);
    cr_assert_eq(smb1_unlink(T, "imp/b.bin"), 0);
    cr_assert_eq(smb1_rmdir(T, "imp"), 0);
    free(data);
    free(back);
    down();
    harness_server_stop(&sv);
}

struct restart_listing {
    struct harness_server *sv;
    char *bits;
    int count, dups, at_restart;
    bool restarted;
};

static int on_name_restart(void *ctx, const char *name, const struct smb1_stat *st)
{
    (void)st;
    struct restart_listing *rl = ctx;
    int i;
    if (sscanf(name, "n%05d", &i) != 1 || i < 0 || i >= 3000)
        return 0;
    if (rl->bits[i])
        rl->dups++;
    rl->bits[i] = 1;
    rl->count++;
    if (rl->count == 100 && !rl->restarted) {
        rl->restarted = true;
        rl->at_restart = harness_server_restart(rl->sv);
    }
    return 0;
}

/* A listing interrupted by a server restart starts again and delivers
 * every name once. */
static void check_readdir_restart(const char *profile)
{
    struct harness_server sv;
    memset(&sv, 0, sizeof(sv));
    cr_assert_eq(harness_smbd_start(profile, &sv), 0);
    char port[16];
    snprintf(port, sizeof(port), "%d", sv.port);
    connect_to(profile, port, sv.user, sv.pass, sv.domain, sv.share_dir);
    mkdir_test("rl");
    for (int i = 0; i < 3000; i++) {
        char p[64];
        snprintf(p, sizeof(p), "rl/n%05d", i);
        FILE *f = fopen(local(p), "w");
        cr_assert_not_null(f);
        fclose(f);
    }
    struct restart_listing rl = {.sv = &sv, .bits = calloc(3000, 1)};
    int r = smb1_readdir(T, "rl", on_name_restart, &rl);
    cr_assert_eq(r, 0, "listing across a restart: %s", strerror(-r));
    cr_assert(rl.restarted);
    cr_assert_eq(rl.at_restart, 0);
    cr_assert_eq(rl.dups, 0);
    cr_assert_eq(rl.count, 3000);
    free(rl.bits);
    down();
    harness_server_stop(&sv);
}

Test(ops_signed, readdir_restart, .fini = down)
{
    check_readdir_restart("signed");
}
Test(ops_nosign, readdir_restart, .fini = down)
{
    check_readdir_restart("nosign");
}

Test(ops_impacket, common_operations, .fini = down)
{
    check_impacket();
}

Test(ops_signed, restart, .fini = down)
{
    check_restart("signed");
}
Test(ops_nosign, restart, .fini = down)
{
    check_restart("nosign");
}

/* A second, independent client of the same server. */
static void client_of(const struct harness_server *sv, enum smb1_sign_policy sign, int unix_ext,
                      struct smb1_conn **c, struct smb1_tree **t)
{
    struct smb1_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.host = "127.0.0.1";
    cfg.port = (uint16_t)sv->port;
    cfg.transport = SMB1_TRANSPORT_DIRECT;
    cfg.user = sv->user;
    cfg.password = sv->pass;
    cfg.domain = sv->domain;
    cfg.sec = SMB1_SEC_NTLMSSP;
    cfg.sign = sign;
    cfg.unix_ext = unix_ext;
    cfg.log = &lg;
    char why[256] = "";
    int r = smb1_conn_new(&cfg, c, why, sizeof(why));
    cr_assert_eq(r, 0, "connect: %s (%s)", strerror(-r), why);
    cr_assert_eq(smb1_tree_connect(*c, "share", t), 0);
}

static void other_client(const char *profile, const struct harness_server *sv, struct smb1_conn **c,
                         struct smb1_tree **t)
{
    bool sig = strcmp(profile, "signed") == 0;
    client_of(sv, sig ? SMB1_SIGN_REQUIRED : SMB1_SIGN_AUTO, sig ? 1 : -1, c, t);
}

/* Byte-range locks survive a server restart: the handle takes them again
 * when it reopens, so another client still finds the range locked. When
 * another client took the range first, the handle's I/O fails with EIO
 * instead of going on without the lock it believes it holds. */
static void check_locks_restart(const char *profile)
{
    struct harness_server sv;
    memset(&sv, 0, sizeof(sv));
    cr_assert_eq(harness_smbd_start(profile, &sv), 0);
    char port[16];
    snprintf(port, sizeof(port), "%d", sv.port);
    connect_to(profile, port, sv.user, sv.pass, sv.domain, sv.share_dir);
    struct smb1_file *f, *g;
    cr_assert_eq(smb1_open(T, "locked.bin", O_CREAT | O_RDWR, 0644, &f, NULL), 0);
    cr_assert_eq(smb1_write(f, "0123456789", 10, 0), 10);
    cr_assert_eq(smb1_lock(f, 0, 10, F_WRLCK, false), 0);
    cr_assert_eq(smb1_lock(f, 20, 5, F_RDLCK, false), 0);

    cr_assert_eq(harness_server_restart(&sv), 0);
    cr_assert_eq(smb1_write(f, "x", 1, 2), 1, "write after the restart");
    struct smb1_conn *c2;
    struct smb1_tree *t2;
    other_client(profile, &sv, &c2, &t2);
    cr_assert_eq(smb1_open(t2, "locked.bin", O_RDWR, 0, &g, NULL), 0);
    cr_assert_eq(smb1_lock(g, 0, 10, F_WRLCK, false), -EAGAIN, "the range is ours again");
    cr_assert_eq(smb1_lock(g, 20, 5, F_WRLCK, false), -EAGAIN, "the shared range too");
    cr_assert_eq(smb1_lock(g, 20, 5, F_RDLCK, false), 0, "and still shared");
    cr_assert_eq(smb1_lock(g, 20, 5, F_UNLCK, false), 0);
    cr_assert_eq(smb1_close(g), 0);

    /* Released ranges are not taken again. */
    cr_assert_eq(smb1_lock(f, 20, 5, F_UNLCK, false), 0);
    cr_assert_eq(harness_server_restart(&sv), 0);
    /* This time the other client is first. */
    cr_assert_eq(smb1_open(t2, "locked.bin", O_RDWR, 0, &g, NULL), 0);
    cr_assert_eq(smb1_lock(g, 20, 5, F_WRLCK, false), 0, "released before the restart");
    cr_assert_eq(smb1_lock(g, 0, 10, F_WRLCK, false), 0, "taken while we were away");
    char b[4];
    cr_assert_eq(smb1_write(f, "y", 1, 3), -EIO, "no write without the lock we held");
    cr_assert_eq(smb1_read(f, b, 4, 0), -EIO);
    cr_assert_eq(smb1_close(f), 0);
    cr_assert_eq(smb1_close(g), 0);
    smb1_tree_free(t2);
    smb1_conn_free(c2);
    down();
    harness_server_stop(&sv);
}

/* Reads of 8 MiB in 1 MiB calls against a Samba with UNIX extensions:
 * unsigned, each call is at most two READ_ANDX (Samba's large POSIX
 * reads); signed, Samba's 0x1FFFF limit means at least nine. Both return
 * exactly the file's bytes. */
/* READ_ANDX sent to read data back in 1 MiB calls; *batched: replies whose
 * MAC the dispatcher checked in batches (md5_multi). */
static uint64_t read_requests(struct harness_server *sv, enum smb1_sign_policy sign,
                              const uint8_t *data, size_t len, uint64_t *batched)
{
    client_of(sv, sign, 1, &C, &T);
    struct smb1_conn_info ci;
    smb1_conn_get_info(C, &ci);
    cr_assert_eq(ci.signing_active, sign != SMB1_SIGN_OFF);
    struct smb1_file *f;
    cr_assert_eq(smb1_open(T, "big.bin", O_RDONLY, 0, &f, NULL), 0);
    uint8_t *back = malloc(len);
    cr_assert_not_null(back);
    struct smb1_stats a, b;
    smb1_conn_get_stats(C, &a);
    for (size_t off = 0; off < len; off += 1 << 20) {
        ssize_t n = smb1_read(f, back + off, 1 << 20, off);
        cr_assert_eq(n, 1 << 20, "read at %zu: %zd", off, n);
    }
    smb1_conn_get_stats(C, &b);
    cr_assert(memcmp(back, data, len) == 0, "the bytes read are the file's");
    cr_assert_eq(b.bad_signatures, 0);
    *batched = b.batched_macs - a.batched_macs;
    free(back);
    cr_assert_eq(smb1_close(f), 0);
    down();
    return b.requests - a.requests;
}

Test(ops_legacy, big_reads_unsigned, .fini = down)
{
    struct harness_server sv;
    memset(&sv, 0, sizeof(sv));
    cr_assert_eq(harness_smbd_start("legacy", &sv), 0);
    snprintf(SHARE, sizeof(SHARE), "%s", sv.share_dir);
    size_t len = 8u << 20;
    uint8_t *data = malloc(len);
    cr_assert_not_null(data);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i * 131 + (i >> 16));
    FILE *lf = fopen(local("big.bin"), "wb");
    cr_assert_not_null(lf);
    cr_assert_eq(fwrite(data, 1, len, lf), len);
    cr_assert_eq(fclose(lf), 0);
    uint64_t plain_batched, sig_batched;
    uint64_t plain = read_requests(&sv, SMB1_SIGN_OFF, data, len, &plain_batched);
    uint64_t sig = read_requests(&sv, SMB1_SIGN_REQUIRED, data, len, &sig_batched);
    cr_assert_leq(plain, 16, "unsigned: %llu READ_ANDX for 8 MiB", (unsigned long long)plain);
    cr_assert_geq(sig, 72, "signed: %llu READ_ANDX for 8 MiB", (unsigned long long)sig);
    cr_assert_eq(plain_batched, 0);
    /* Signed: a 1 MiB read is one pipeline of READ_ANDX, whose replies
     * come back to back and are verified in batches. */
    if (md5_multi_fast())
        cr_assert_geq(sig_batched, sig / 2, "%llu of %llu signed replies verified in batches",
                      (unsigned long long)sig_batched, (unsigned long long)sig);
    free(data);
    harness_server_stop(&sv);
}

Test(ops_signed, locks_restart, .fini = down)
{
    check_locks_restart("signed");
}
Test(ops_nosign, locks_restart, .fini = down)
{
    check_locks_restart("nosign");
}

#define BOTH(name)                                                                                 \
    Test(ops_signed, name, .init = up_signed, .fini = down)                                        \
    {                                                                                              \
        check_##name();                                                                            \
    }                                                                                              \
    Test(ops_nosign, name, .init = up_nosign, .fini = down)                                        \
    {                                                                                              \
        check_##name();                                                                            \
    }

BOTH(write_read_big)
BOTH(large_offset)
BOTH(stat)
BOTH(readdir_5000)
BOTH(readdir_stop)
BOTH(rename)
BOTH(unlink_open)
BOTH(mkdir_rmdir)
BOTH(utimens)
BOTH(truncate)
BOTH(statfs)
BOTH(links)
BOTH(chmod)
BOTH(xattr)
BOTH(locks)
BOTH(share_enum)
BOTH(names)
BOTH(parallel_handles)
BOTH(threads)
BOTH(held_and_background)
