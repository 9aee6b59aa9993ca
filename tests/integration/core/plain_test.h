/* What the plain tests (ptest_*.c) share. They have their own main()
 * because Criterion's runner cannot start under ThreadSanitizer, so each
 * needs the check macro, the log, a private smbd on a /dev/shm share with
 * one connection and tree, and the same end-of-run checks; they live here
 * once instead of in every test. */
#ifndef SMBFUSE_PLAIN_TEST_H
#define SMBFUSE_PLAIN_TEST_H

#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "smb1.h"

extern struct smb1_log plain_log;
extern int plain_failures; /* checks failed so far, from any thread (atomic) */

/* A failed check is reported and counted; the test goes on, so that one
 * thread's failure does not leave the others' files on the share. */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: ", __FILE__, __LINE__);                          \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            __atomic_fetch_add(&plain_failures, 1, __ATOMIC_RELAXED);                              \
        }                                                                                          \
    } while (0)

/* A check that ends the test at once, for its setup. Defined before
 * core_server.h is included, it is also what that header's helpers use
 * (a plain test has no Criterion runtime). */
#define CORE_ASSERT(cond, ...)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* A private smbd of `profile` whose share is a fresh directory on
 * /dev/shm (tmpfs: the threads' many small files cost no disk), with
 * one connection (NTLMSSP, signing as `sign` says) and its tree. */
struct plain_share {
    char dir[64]; /* the share's directory on this side */
    struct harness_server sv;
    struct smb1_conn *conn;
    struct smb1_tree *tree;
};

/* Ignores SIGPIPE and opens the log at SMBFUSE_TEST_LOG's level. */
void plain_init(void);

/* Prints the runner's "what: N passed, N failed" line, closes the log and
 * gives main's exit status. */
int plain_finish(const char *what, int passed, int failed);

/* 0 when the server, connection and tree are up; else all that was
 * started is stopped again and the reason printed. */
int plain_share_open(struct plain_share *ps, const char *tag, const char *profile,
                     enum smb1_sign_policy sign);

/* Checks that the connection saw no bad signature, unknown MID,
 * reconnect, timeout or malformed reply. */
void plain_expect_clean_stats(struct smb1_conn *conn);

/* Checks that the share's root is empty (after smb1_close_all). */
void plain_expect_empty_share(struct smb1_tree *tree);

/* Frees the tree and connection, stops the server, removes the directory. */
void plain_share_close(struct plain_share *ps);

#endif
