/* Per-request latency through libsmb1core alone, without FUSE, for
 * bench/latency.sh: N sequential ECHOs, creates (open O_CREAT + close),
 * stats and unlinks of files DIR/lNNNNN, one thread, one request at a
 * time (unlink as FUSE's, the kernel having looked the name up). What a
 * FUSE operation costs on top of this is FUSE's and the kernel's part.
 *
 * usage: PASSWD=... smblat HOST PORT USER SHARE DIR N [OP...]
 * (OP: echo, create, stat, unlink; default all, in this order)
 * prints one line per operation: <name> <microseconds per operation>
 * <CPU microseconds of this process per operation> <context switches per
 * operation> (the last two count every thread of ours, the reader's too)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "smb1.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum op { OP_ECHO, OP_CREATE, OP_STAT, OP_UNLINK };

static int run(enum op op, struct smb1_conn *c, struct smb1_tree *t, const char *dir, unsigned i)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/l%05u", dir, i);
    struct smb1_file *f;
    struct smb1_stat st;
    switch (op) {
    case OP_ECHO:
        return smb1_echo(c);
    case OP_CREATE: {
        int r = smb1_open(t, path, O_WRONLY | O_CREAT | O_TRUNC, 0644, &f, NULL);
        return r ? r : smb1_close(f);
    }
    case OP_STAT:
        return smb1_stat(t, path, &st);
    case OP_UNLINK:
        return smb1_unlink_nondir(t, path, 0); /* as FUSE's unlink: one request */
    }
    return -EINVAL;
}

int main(int argc, char **argv)
{
    if (argc < 7 || !getenv("PASSWD")) {
        fprintf(stderr, "usage: PASSWD=... smblat HOST PORT USER SHARE DIR N [OP...]\n");
        return 2;
    }
    unsigned n = (unsigned)atoi(argv[6]);
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
    char why[256] = "";
    int r = smb1_conn_new(&cfg, &conn, why, sizeof(why));
    if (r) {
        fprintf(stderr, "smblat: %s\n", why);
        return 1;
    }
    if ((r = smb1_tree_connect(conn, argv[4], &tree))) {
        fprintf(stderr, "smblat: %s: %s\n", argv[4], strerror(-r));
        return 1;
    }
    static const char *const names[] = {"echo", "create", "stat", "unlink"};
    int err = 0;
    for (int op = OP_ECHO; op <= OP_UNLINK && !err; op++) {
        bool want = argc == 7;
        for (int a = 7; a < argc; a++)
            want = want || !strcmp(argv[a], names[op]);
        if (!want)
            continue;
        struct rusage u0, u1;
        getrusage(RUSAGE_SELF, &u0);
        double t0 = now_s();
        for (unsigned i = 0; i < n && !err; i++)
            if ((r = run((enum op)op, conn, tree, argv[5], i)))
                err = r;
        double t1 = now_s();
        getrusage(RUSAGE_SELF, &u1);
        double per = n ? n : 1;
        double cpu = (double)(u1.ru_utime.tv_sec - u0.ru_utime.tv_sec + u1.ru_stime.tv_sec -
                              u0.ru_stime.tv_sec) *
                         1e6 +
                     (double)(u1.ru_utime.tv_usec - u0.ru_utime.tv_usec + u1.ru_stime.tv_usec -
                              u0.ru_stime.tv_usec);
        double csw = (double)(u1.ru_nvcsw - u0.ru_nvcsw + u1.ru_nivcsw - u0.ru_nivcsw);
        if (!err)
            printf("%s %.1f %.1f %.2f\n", names[op], (t1 - t0) * 1e6 / per, cpu / per, csw / per);
        else
            fprintf(stderr, "smblat: %s: %s\n", names[op], strerror(-err));
    }
    smb1_tree_free(tree);
    smb1_conn_free(conn);
    log_destroy(&lg);
    return err ? 1 : 0;
}
