/* The core's registry of open files from many threads on one signed
 * connection to a real smbd, built and run under -DSMBFUSE_TSAN=ON too:
 * 6 threads each create files whose writes are held (a small file, sent
 * as WRITE_ANDX + CLOSE at smb1_flush_held) or not (a larger one), close
 * them in the background, and at once stat, rename, read back and unlink
 * them (each ordered after the CLOSE still on its way), hide one while it
 * is open; 2 others list the share's root and stat names meanwhile
 * (settles of everything below a directory, and of names). Every file must read back
 * intact, nothing may be left on the share, and the connection must see
 * no bad signature, unknown MID or reconnect.
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
#include <unistd.h>

#include "plain_test.h"

#define WORKERS  6
#define READERS  2
#define ROUNDS   12
#define BIG_SIZE 150000

static struct smb1_conn *C;
static struct smb1_tree *T;
static int stop_readers;

/* Creates path with n bytes of data (held when small), releases it in
 * the background, and checks what the next requests on the name see. */
static void one_file(int id, const char *path, const char *moved, const uint8_t *data, size_t n)
{
    struct smb1_file *f;
    int r = smb1_open(T, path, O_CREAT | O_EXCL | O_WRONLY, 0644, &f, NULL);
    CHECK(r == 0, "thread %d: create %s: %s", id, path, strerror(-r));
    if (r)
        return;
    CHECK(smb1_hold_writes(f), "thread %d: hold", id);
    for (size_t done = 0; done < n;) {
        size_t piece = n - done < 4096 ? n - done : 4096;
        ssize_t w = smb1_write(f, data + done, piece, done);
        CHECK(w == (ssize_t)piece, "thread %d: write %s: %zd", id, path, w);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    CHECK((r = smb1_flush_held(f)) == 0, "thread %d: flush %s: %s", id, path, strerror(-r));
    CHECK((r = smb1_close_background(f)) == 0, "thread %d: close %s: %s", id, path, strerror(-r));
    struct smb1_stat st;
    r = smb1_stat(T, path, &st);
    CHECK(r == 0 && st.size == n, "thread %d: stat %s: %s, %llu bytes", id, path, strerror(-r),
          (unsigned long long)st.size);
    CHECK((r = smb1_rename(T, path, moved, 0)) == 0, "thread %d: rename %s: %s", id, path,
          strerror(-r));
    r = smb1_open(T, moved, O_RDONLY, 0, &f, NULL);
    CHECK(r == 0, "thread %d: open %s: %s", id, moved, strerror(-r));
    if (r == 0) {
        uint8_t *back = malloc(n + 16);
        ssize_t got = smb1_read(f, back, n + 16, 0);
        CHECK(got == (ssize_t)n && memcmp(back, data, n) == 0, "thread %d: %s read back %zd of %zu",
              id, moved, got, n);
        free(back);
        CHECK(smb1_close_background(f) == 0, "thread %d: close %s", id, moved);
    }
    CHECK((r = smb1_unlink(T, moved)) == 0, "thread %d: unlink %s: %s", id, moved, strerror(-r));
}

static void *worker_main(void *arg)
{
    int id = (int)(long)arg;
    uint8_t *data = malloc(BIG_SIZE);
    char dir[32], path[64], moved[64];
    snprintf(dir, sizeof(dir), "w%d", id);
    int r = smb1_mkdir(T, dir, 0755);
    CHECK(r == 0, "thread %d: mkdir: %s", id, strerror(-r));
    for (int i = 0; i < ROUNDS; i++) {
        size_t n = i % 3 == 2 ? BIG_SIZE : 100 + (size_t)(i * 997 + id * 131) % 3000;
        for (size_t k = 0; k < n; k++)
            data[k] = (uint8_t)(k * 7 + (size_t)i * 13 + (size_t)id);
        snprintf(path, sizeof(path), "%s/f%d", dir, i);
        snprintf(moved, sizeof(moved), "%s/g%d", dir, i);
        one_file(id, path, moved, data, n);
    }
    /* hidden while open: deleted at its close */
    struct smb1_file *f;
    snprintf(path, sizeof(path), "%s/h", dir);
    if ((r = smb1_open(T, path, O_CREAT | O_EXCL | O_WRONLY, 0644, &f, NULL)) == 0) {
        smb1_hold_writes(f);
        CHECK(smb1_write(f, data, 500, 0) == 500, "thread %d: write h", id);
        char hidden[96];
        r = smb1_hide_open(T, path, hidden, sizeof(hidden));
        CHECK(r == 0, "thread %d: hide: %s", id, strerror(-r));
        CHECK(smb1_close_background(f) == 0, "thread %d: close h", id);
        struct smb1_stat st;
        CHECK(r || smb1_stat(T, hidden, &st) == -ENOENT, "thread %d: %s left", id, hidden);
    } else {
        CHECK(0, "thread %d: create h: %s", id, strerror(-r));
    }
    CHECK((r = smb1_rmdir(T, dir)) == 0, "thread %d: rmdir: %s", id, strerror(-r));
    free(data);
    return NULL;
}

static int count_cb(void *ctx, const char *name, const struct smb1_stat *st)
{
    (void)name;
    (void)st;
    (*(int *)ctx)++;
    return 0;
}

static void *reader_main(void *arg)
{
    int id = (int)(long)arg;
    while (!__atomic_load_n(&stop_readers, __ATOMIC_RELAXED)) {
        /* The share's root (a directory being removed meanwhile may
         * fail a listing halfway). */
        int n = 0;
        char p[64];
        int r = smb1_readdir(T, "", count_cb, &n);
        CHECK(r == 0, "reader %d: readdir: %s", id, strerror(-r));
        struct smb1_stat st;
        snprintf(p, sizeof(p), "w%d/f%d", id + 2, n % ROUNDS);
        r = smb1_stat(T, p, &st);
        CHECK(r == 0 || r == -ENOENT, "reader %d: stat: %s", id, strerror(-r));
    }
    return NULL;
}

static int run(void)
{
    struct plain_share ps;
    if (plain_share_open(&ps, "reg", "signed", SMB1_SIGN_REQUIRED) != 0)
        return 0;
    C = ps.conn;
    T = ps.tree;
    pthread_t w[WORKERS], rd[READERS];
    for (long i = 0; i < READERS; i++)
        pthread_create(&rd[i], NULL, reader_main, (void *)i);
    for (long i = 0; i < WORKERS; i++)
        pthread_create(&w[i], NULL, worker_main, (void *)i);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(w[i], NULL);
    __atomic_store_n(&stop_readers, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < READERS; i++)
        pthread_join(rd[i], NULL);
    smb1_close_all(T);
    plain_expect_empty_share(T);
    plain_expect_clean_stats(C);
    plain_share_close(&ps);
    return plain_failures == 0;
}

int main(void)
{
    plain_init();
    int ok = run();
    return plain_finish("registry threads", ok, !ok);
}
