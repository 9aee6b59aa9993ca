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

#include "harness.h"
#include "smb1.h"

#define BIG_THREADS   4
#define SMALL_THREADS 4
#define ROUNDS        15

static struct smb1_log lg;
static struct smb1_conn *C;
static struct smb1_tree *T;
static int failures;
static volatile int stop_small;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: ", __FILE__, __LINE__);                          \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            __atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);                                    \
        }                                                                                          \
    } while (0)

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
    char dir[64] = "/dev/shm/smbfuse-xthr-XXXXXX";
    if (!mkdtemp(dir) || chmod(dir, 01777) != 0) {
        perror("mkdtemp");
        return 0;
    }
    char extra[128];
    snprintf(extra, sizeof(extra), "path = %s", dir);
    struct harness_server sv;
    memset(&sv, 0, sizeof(sv));
    int ok = 0;
    if (harness_smbd_start_ex("signed", NULL, extra, &sv) != 0) {
        fprintf(stderr, "smbd did not start\n");
        goto out_dir;
    }
    for (int i = 0; i < BIG_THREADS; i++) {
        char p[128];
        snprintf(p, sizeof(p), "%s/f%d", dir, i);
        int fd = open(p, O_CREAT | O_WRONLY, 0666);
        if (fd >= 0)
            close(fd);
        chmod(p, 0666);
    }
    struct smb1_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.host = "127.0.0.1";
    cfg.port = (uint16_t)sv.port;
    cfg.transport = SMB1_TRANSPORT_DIRECT;
    cfg.user = sv.user;
    cfg.password = sv.pass;
    cfg.domain = sv.domain;
    cfg.sec = SMB1_SEC_NTLMSSP;
    cfg.sign = SMB1_SIGN_REQUIRED;
    cfg.unix_ext = -1;
    cfg.log = &lg;
    char why[256] = "";
    int r = smb1_conn_new(&cfg, &C, why, sizeof(why));
    if (r) {
        fprintf(stderr, "connect: %s (%s)\n", strerror(-r), why);
        goto out_server;
    }
    r = smb1_tree_connect(C, "share", &T);
    if (r) {
        fprintf(stderr, "tree connect: %s\n", strerror(-r));
        goto out_conn;
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
    struct smb1_stats st;
    smb1_conn_get_stats(C, &st);
    CHECK(st.bad_signatures == 0 && st.unknown_mids == 0 && st.reconnects == 0 &&
              st.timeouts == 0 && st.malformed == 0,
          "stats: %llu bad signatures, %llu unknown MIDs, %llu reconnects",
          (unsigned long long)st.bad_signatures, (unsigned long long)st.unknown_mids,
          (unsigned long long)st.reconnects);
    ok = failures == 0;
    smb1_tree_free(T);
out_conn:
    smb1_conn_free(C);
out_server:
    harness_server_stop(&sv);
out_dir:;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return ok;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const char *lv = getenv("SMBFUSE_TEST_LOG");
    log_init(&lg, lv ? atoi(lv) : LOG_ERR, NULL, NULL);
    int ok = run();
    log_destroy(&lg);
    printf("xattr threads: %d passed, %d failed\n", ok, !ok);
    return ok ? 0 : 1;
}
