/* Multi-part transactions from many threads on one signed connection to a
 * real smbd, built and run under -DSMBFUSE_TSAN=ON too: 4 threads set and
 * read back xattrs of 20-60 KiB (a TRANS2 primary plus secondaries each,
 * the replies in fragments) while 4 others send ECHO and stat requests
 * that go out between the parts. Every value must read back intact and the
 * connection must see no bad signature, unknown MID or reconnect.
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

#define BIG_THREADS   4
#define SMALL_THREADS 4
#define ROUNDS        15

static struct smb1_conn *C;
static struct smb1_tree *T;
static volatile int stop_small;

static void *big_main(void *arg)
{
    int id = (int)(long)arg;
    char path[32];
    snprintf(path, sizeof(path), "f%d", id);
    uint8_t *v = malloc(65536), *back = malloc(65536);
    for (int i = 0; i < ROUNDS; i++) {
        size_t n = 20000 + (size_t)(i * 2903 + id * 977) % 40000;
        for (size_t k = 0; k < n; k++)
            v[k] = (uint8_t)(k * 7 + (size_t)i * 13 + (size_t)id);
        int r = smb1_setxattr(T, path, "user.big", v, n, 0);
        CHECK(r == 0, "thread %d round %d: setxattr %zu: %s", id, i, n, strerror(-r));
        ssize_t got = smb1_getxattr(T, path, "user.big", back, 65536);
        CHECK(got == (ssize_t)n && memcmp(v, back, n) == 0, "thread %d round %d: got %zd of %zu",
              id, i, got, n);
    }
    free(v);
    free(back);
    return NULL;
}

static void *small_main(void *arg)
{
    int id = (int)(long)arg;
    while (!__atomic_load_n(&stop_small, __ATOMIC_RELAXED)) {
        struct smb1_stat st;
        int r = id % 2 ? smb1_echo(C) : smb1_stat(T, "f0", &st);
        CHECK(r == 0, "small thread %d: %s", id, strerror(-r));
    }
    return NULL;
}

static int run(void)
{
    struct plain_share ps;
    if (plain_share_open(&ps, "xthr", "signed", SMB1_SIGN_REQUIRED) != 0)
        return 0;
    C = ps.conn;
    T = ps.tree;
    for (int i = 0; i < BIG_THREADS; i++) {
        char p[128];
        snprintf(p, sizeof(p), "%s/f%d", ps.dir, i);
        int fd = open(p, O_CREAT | O_WRONLY, 0666);
        if (fd >= 0)
            close(fd);
        chmod(p, 0666);
    }
    pthread_t big[BIG_THREADS], small[SMALL_THREADS];
    for (long i = 0; i < SMALL_THREADS; i++)
        pthread_create(&small[i], NULL, small_main, (void *)i);
    for (long i = 0; i < BIG_THREADS; i++)
        pthread_create(&big[i], NULL, big_main, (void *)i);
    for (int i = 0; i < BIG_THREADS; i++)
        pthread_join(big[i], NULL);
    __atomic_store_n(&stop_small, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < SMALL_THREADS; i++)
        pthread_join(small[i], NULL);
    plain_expect_clean_stats(C);
    plain_share_close(&ps);
    return plain_failures == 0;
}

int main(void)
{
    plain_init();
    int ok = run();
    return plain_finish("xattr threads", ok, !ok);
}
