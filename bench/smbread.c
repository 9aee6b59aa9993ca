/* The SMB ceiling for bench.sh: reads a file through libsmb1core alone,
 * without FUSE, with THREADS readers taking 1 MiB blocks in turn on the
 * one connection, so the server and the wire stay busy. What a FUSE read
 * costs on top of this is the kernel's part, measured by the passthrough;
 * bench.sh adds the two to bound what any FUSE client can reach on the
 * machine.
 *
 * usage: PASSWD=... smbread HOST PORT USER SHARE PATH [THREADS]
 * prints: <bytes> <seconds>
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smb1.h"

#define BLOCK       (1u << 20)
#define MAX_THREADS 16

struct job {
    struct smb1_file *f;
    uint64_t size;
    unsigned nthreads;
    unsigned id;
    int err;
};

static void *reader(void *arg)
{
    struct job *j = arg;
    char *buf = malloc(BLOCK);
    if (!buf) {
        j->err = -ENOMEM;
        return NULL;
    }
    for (uint64_t off = (uint64_t)j->id * BLOCK; off < j->size;
         off += (uint64_t)j->nthreads * BLOCK) {
        uint64_t want = j->size - off < BLOCK ? j->size - off : BLOCK;
        ssize_t n = smb1_read(j->f, buf, (size_t)want, off);
        if (n != (ssize_t)want) {
            j->err = n < 0 ? (int)n : -EIO;
            break;
        }
    }
    free(buf);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 6 || !getenv("PASSWD")) {
        fprintf(stderr, "usage: PASSWD=... smbread HOST PORT USER SHARE PATH [THREADS]\n");
        return 2;
    }
    unsigned nthreads = argc > 6 ? (unsigned)atoi(argv[6]) : 4;
    if (nthreads < 1 || nthreads > MAX_THREADS)
        nthreads = 4;
    struct smb1_log lg;
    log_init(&lg, LOG_WARNING, NULL, NULL);
    struct smb1_config cfg = {
        .host = argv[1],
        .port = (uint16_t)atoi(argv[2]),
        .user = argv[3],
        .password = getenv("PASSWD"),
        .sec = SMB1_SEC_NTLMV2,
        .unix_ext = -1,
        .log = &lg,
    };
    struct smb1_conn *conn;
    struct smb1_tree *tree;
    struct smb1_file *f;
    struct smb1_stat st;
    char why[256] = "";
    int r = smb1_conn_new(&cfg, &conn, why, sizeof(why));
    if (r) {
        fprintf(stderr, "smbread: %s\n", why);
        return 1;
    }
    if ((r = smb1_tree_connect(conn, argv[4], &tree)) || (r = smb1_stat(tree, argv[5], &st)) ||
        (r = smb1_open(tree, argv[5], O_RDONLY, 0, &f, NULL))) {
        fprintf(stderr, "smbread: %s: %s\n", argv[5], strerror(-r));
        return 1;
    }
    struct job jobs[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    double t0 = now_s();
    for (unsigned i = 0; i < nthreads; i++) {
        jobs[i] = (struct job){f, st.size, nthreads, i, 0};
        pthread_create(&th[i], NULL, reader, &jobs[i]);
    }
    int err = 0;
    for (unsigned i = 0; i < nthreads; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].err)
            err = jobs[i].err;
    }
    double t1 = now_s();
    smb1_close(f);
    smb1_tree_free(tree);
    smb1_conn_free(conn);
    log_destroy(&lg);
    if (err) {
        fprintf(stderr, "smbread: read failed: %s\n", strerror(-err));
        return 1;
    }
    printf("%llu %.3f\n", (unsigned long long)st.size, t1 - t0);
    return 0;
}
