/* The write-behind pump (ops/op_wbehind.c) from many threads on one signed
 * connection to a real smbd, built and run under -DSMBFUSE_TSAN=ON too:
 * 4 threads each write a file of their own through a write-behind handle
 * in bursts (the pump ends after 50 ms idle and starts again at the next
 * write), flush in the middle, fstat, read back through the same handle,
 * and close it in one of three ways (close; the close(2) flush then a
 * background CLOSE; close without flushing first); 2 threads write
 * alternate blocks of one shared file, each through its own handle (a
 * write first settles the other handle's pieces on their way); 1 thread
 * stats every name meanwhile (a stat waits for the pieces on their way).
 * Every file must read back intact, nothing may be left on the share, and
 * the connection must see no bad signature, unknown MID or reconnect.
 * Every odd block goes through a pipe (smb1_write_pipe, as FUSE hands
 * writes over): read from it on the signed connection, spliced to the
 * socket on a second, unsigned one (plain), which runs it all again.
 *
 * Its own main (Criterion's runner cannot start under ThreadSanitizer);
 * prints the plain "N passed, N failed" line. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "plain_test.h"

#define WRITERS  4
#define SHARERS  2
#define BLOCK    (64 * 1024)
#define BLOCKS   24 /* per writer: 1.5 MiB, in 3 bursts */
#define SHARED_B 16 /* blocks of the shared file */

static struct smb1_conn *C;
static struct smb1_tree *T;
static int stop_stats;
static bool unsigned_run; /* the plain pass: pipe writes are spliced */

static uint8_t byte_at(int id, size_t off)
{
    return (uint8_t)(off * 31 + off / 4099 + (size_t)id * 17);
}

static void fill(uint8_t *buf, int id, size_t off, size_t n)
{
    for (size_t k = 0; k < n; k++)
        buf[k] = byte_at(id, off + k);
}

/* A write of buf as FUSE hands one over with splice: from a pipe. */
static ssize_t write_any(struct smb1_file *f, const uint8_t *buf, size_t n, uint64_t off,
                         size_t block)
{
    if (block % 2 == 0)
        return smb1_write(f, buf, n, off);
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
        return -errno;
    ssize_t r = fcntl(p[0], F_SETPIPE_SZ, 1 << 18) >= (int)n && write(p[1], buf, n) == (ssize_t)n
                    ? smb1_write_pipe(f, p[0], n, off, true)
                    : -EIO;
    close(p[0]);
    close(p[1]);
    return r;
}

static void pause_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reads path back through a fresh handle: n bytes, byte k of block b
 * written by writer owner(b). */
static void check_file(const char *path, size_t n, int (*owner)(size_t block))
{
    struct smb1_file *f;
    int r = smb1_open(T, path, O_RDONLY, 0, &f, NULL);
    CHECK(r == 0, "open %s: %s", path, strerror(-r));
    if (r)
        return;
    uint8_t *back = malloc(n + 16), *want = malloc(BLOCK);
    ssize_t got = smb1_read(f, back, n + 16, 0);
    CHECK(got == (ssize_t)n, "%s: read %zd of %zu", path, got, n);
    for (size_t b = 0; got == (ssize_t)n && b < n / BLOCK; b++) {
        fill(want, owner(b), b * BLOCK, BLOCK);
        if (memcmp(back + b * BLOCK, want, BLOCK) != 0) {
            CHECK(0, "%s: block %zu differs", path, b);
            break;
        }
    }
    free(back);
    free(want);
    CHECK(smb1_close(f) == 0, "close %s", path);
}

static int writer_id;
static int owner_self(size_t block)
{
    (void)block;
    return writer_id;
}

static int owner_shared(size_t block)
{
    return 100 + (int)(block % SHARERS);
}

static void *writer_main(void *arg)
{
    int id = (int)(long)arg;
    char path[32];
    snprintf(path, sizeof(path), "wb%d", id);
    uint8_t *buf = malloc(BLOCK);
    struct smb1_file *f;
    int r = smb1_open(T, path, O_CREAT | O_RDWR | O_TRUNC, 0644, &f, NULL);
    CHECK(r == 0, "writer %d: create: %s", id, strerror(-r));
    if (r) {
        free(buf);
        return NULL;
    }
    CHECK(smb1_write_behind_on(f), "writer %d: write-behind", id);
    for (size_t b = 0; b < BLOCKS; b++) {
        fill(buf, id, b * BLOCK, BLOCK);
        ssize_t w = write_any(f, buf, BLOCK, b * BLOCK, b);
        CHECK(w == BLOCK, "writer %d: write block %zu: %zd", id, b, w);
        if (b == BLOCKS / 2)
            CHECK((r = smb1_flush(f)) == 0, "writer %d: flush: %s", id, strerror(-r));
        if (b % (BLOCKS / 3) == BLOCKS / 3 - 1)
            pause_ms(70); /* the pump idles out, and starts again */
    }
    struct smb1_stat st;
    r = smb1_fstat(f, &st);
    CHECK(r == 0 && st.size == (uint64_t)BLOCKS * BLOCK, "writer %d: fstat: %s, %llu bytes", id,
          strerror(-r), (unsigned long long)st.size);
    uint8_t *back = malloc(BLOCK);
    ssize_t got = smb1_read(f, back, BLOCK, (BLOCKS - 1) * (size_t)BLOCK);
    fill(buf, id, (BLOCKS - 1) * (size_t)BLOCK, BLOCK);
    CHECK(got == BLOCK && memcmp(back, buf, BLOCK) == 0, "writer %d: read back %zd", id, got);
    free(back);
    /* one more burst after the read, then the close, three ways */
    fill(buf, id, BLOCKS * (size_t)BLOCK, BLOCK);
    CHECK(smb1_write(f, buf, BLOCK, BLOCKS * (size_t)BLOCK) == BLOCK, "writer %d: last write", id);
    switch (id % 3) {
    case 0:
        CHECK((r = smb1_close(f)) == 0, "writer %d: close: %s", id, strerror(-r));
        break;
    case 1:
        CHECK((r = smb1_flush_held(f)) == 0, "writer %d: flush_held: %s", id, strerror(-r));
        CHECK((r = smb1_close_background(f)) == 0, "writer %d: close: %s", id, strerror(-r));
        break;
    default:
        CHECK((r = smb1_close_background(f)) == 0, "writer %d: close: %s", id, strerror(-r));
        break;
    }
    free(buf);
    return NULL;
}

static void *sharer_main(void *arg)
{
    int id = (int)(long)arg;
    uint8_t *buf = malloc(BLOCK);
    struct smb1_file *f;
    int r = smb1_open(T, "shared", O_RDWR, 0, &f, NULL);
    CHECK(r == 0, "sharer %d: open: %s", id, strerror(-r));
    if (r) {
        free(buf);
        return NULL;
    }
    CHECK(smb1_write_behind_on(f), "sharer %d: write-behind", id);
    for (size_t b = (size_t)id; b < SHARED_B; b += SHARERS) {
        fill(buf, 100 + id, b * BLOCK, BLOCK);
        ssize_t w = write_any(f, buf, BLOCK, b * BLOCK, b / SHARERS);
        CHECK(w == BLOCK, "sharer %d: write block %zu: %zd", id, b, w);
    }
    CHECK((r = smb1_flush_held(f)) == 0, "sharer %d: flush_held: %s", id, strerror(-r));
    CHECK((r = smb1_close(f)) == 0, "sharer %d: close: %s", id, strerror(-r));
    free(buf);
    return NULL;
}

static void *stat_main(void *arg)
{
    (void)arg;
    unsigned i = 0;
    while (!__atomic_load_n(&stop_stats, __ATOMIC_RELAXED)) {
        char p[32];
        if (i % (WRITERS + 1) == WRITERS)
            snprintf(p, sizeof(p), "shared");
        else
            snprintf(p, sizeof(p), "wb%u", i % (WRITERS + 1));
        struct smb1_stat st;
        int r = smb1_stat(T, p, &st);
        CHECK(r == 0 || r == -ENOENT, "stat %s: %s", p, strerror(-r));
        i++;
    }
    return NULL;
}

static void exercise(void)
{
    __atomic_store_n(&stop_stats, 0, __ATOMIC_RELAXED);
    /* the shared file exists before its two writers open it */
    struct smb1_file *f;
    int r = smb1_open(T, "shared", O_CREAT | O_EXCL | O_WRONLY, 0644, &f, NULL);
    CHECK(r == 0, "create shared: %s", strerror(-r));
    if (r == 0)
        CHECK(smb1_close(f) == 0, "close shared");
    pthread_t w[WRITERS], sh[SHARERS], st;
    pthread_create(&st, NULL, stat_main, NULL);
    for (long i = 0; i < SHARERS; i++)
        pthread_create(&sh[i], NULL, sharer_main, (void *)i);
    for (long i = 0; i < WRITERS; i++)
        pthread_create(&w[i], NULL, writer_main, (void *)i);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(w[i], NULL);
    for (int i = 0; i < SHARERS; i++)
        pthread_join(sh[i], NULL);
    __atomic_store_n(&stop_stats, 1, __ATOMIC_RELAXED);
    pthread_join(st, NULL);
    for (int i = 0; i < WRITERS; i++) {
        char p[32];
        snprintf(p, sizeof(p), "wb%d", i);
        writer_id = i;
        check_file(p, (BLOCKS + 1) * (size_t)BLOCK, owner_self);
        CHECK((r = smb1_unlink(T, p)) == 0, "unlink %s: %s", p, strerror(-r));
    }
    check_file("shared", SHARED_B * (size_t)BLOCK, owner_shared);
    CHECK((r = smb1_unlink(T, "shared")) == 0, "unlink shared: %s", strerror(-r));
}

static int run(const char *profile)
{
    unsigned_run = strcmp(profile, "plain") == 0;
    struct plain_share ps;
    if (plain_share_open(&ps, "wbh", profile, unsigned_run ? SMB1_SIGN_OFF : SMB1_SIGN_REQUIRED) !=
        0)
        return 0;
    C = ps.conn;
    T = ps.tree;
    exercise();
    smb1_close_all(T);
    plain_expect_empty_share(T);
    plain_expect_clean_stats(C);
    struct smb1_stats st;
    smb1_conn_get_stats(C, &st);
    CHECK(unsigned_run ? st.spliced_writes > 0 : st.spliced_writes == 0,
          "%llu writes spliced on the %s connection", (unsigned long long)st.spliced_writes,
          profile);
    plain_share_close(&ps);
    return plain_failures == 0;
}

int main(void)
{
    plain_init();
    int ok = run("signed");
    ok = run("plain") && ok;
    return plain_finish("write-behind threads", ok, !ok);
}
