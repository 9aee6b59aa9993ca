/* The operation layer's state of one tree (t->ops_priv): its open files,
 * the I/O pool of its large reads and writes, and the longest name its
 * server takes. At the bottom of ops/: every module of the layer may use
 * it, and it uses none of them.
 */
#ifndef SMBFUSE_TREE_STATE_H
#define SMBFUSE_TREE_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "session/conn.h"

/* What a settle waits for (ops_settle). */
#define OPS_SETTLE_BELOW  1u /* files below path too (a directory) */
#define OPS_SETTLE_WRITES 2u /* push held writes; without: wait for CLOSEs only */
#define OPS_SETTLE_BEHIND 4u /* writes on their way only (write-behind), not held ones */
typedef int (*ops_settle_fn)(struct smb1_tree *t, const char *path, unsigned how);
typedef void *(*ops_closer_fn)(void *ot);

/* The outcome of changing the owner of a file we created (op_setown.c). */
struct ops_chown_seen {
    uint64_t fuid, fgid, uid, gid; /* from, to */
    int r;
    uint64_t at_ns; /* 0: unused */
};
#define OPS_CHOWN_SEEN 4

/* Made on first use. */
struct ops_tree {
    /* Serialises the POSIX lock changes of every open file of the tree
     * (op_plock.c: a few round trips each, which must not interleave with
     * another handle's of the same file) and protects each file's plock
     * ranges and stale list. Held across those round trips (non-blocking
     * LOCKING_ANDX only); taken before lock. */
    pthread_mutex_t plock_lock;
    _Atomic int plock_waiters; /* lock waits under way (op_plock.c) */
    pthread_mutex_t lock;      /* protects files; taken before any smb1_file.lock */
    struct smb1_file *files;   /* open files of the tree (op_file.c) */
    /* 0 until FS_ATTRIBUTE_INFO was read. Atomic rather than under lock:
     * it is read while building requests, also by a thread that holds a
     * file's lock, which must never wait for lock. */
    _Atomic uint32_t name_max;
    /* Runs the pieces of large reads and writes (op_file.c); NULL if it
     * could not be made, and then one thread does them in turn. */
    struct iopool *iopool;
    /* Held writes and background CLOSEs (op_wb.c). busy counts the files
     * with held data or a CLOSE under way (atomic: a settle with nothing
     * to wait for costs no lock); settle is op_wb.c's, set under lock when
     * it first holds something (this file cannot name it: it is above).
     * cond (with lock): a file's refs dropped or a background CLOSE ended.
     * The queue of CLOSEs, its thread and stop: under lock; close_cond
     * wakes the thread. */
    _Atomic unsigned busy;
    ops_settle_fn settle;
    pthread_cond_t cond;
    pthread_cond_t close_cond;
    struct smb1_file *close_head, *close_tail;
    unsigned close_n;
    bool closer_started, closer_stop;
    pthread_t closer;
    /* An owed unlock got no answer (op_lock.c): the closer retries the
     * tree's owed unlocks at owed_at_ms (mux_now_ms); under lock. */
    bool owed_retry;
    int64_t owed_at_ms;
    /* How long what a create told us is trusted (op_own.c); under lock. */
    uint64_t own_ttl_ns;
    /* Owner changes of files we created answered within own_ttl_ns
     * (op_setown.c); under lock. */
    struct ops_chown_seen chown_seen[OPS_CHOWN_SEEN];
    unsigned chown_seen_next;
    unsigned hide_seq; /* under lock: makes hidden names unique (op_hide.c) */
    /* When a write on the tree last went its whole bound unanswered
     * (mux_now_ms), 0 once a write was answered since (op_wbehind.c). */
    _Atomic int64_t wstall_ms;
};
/* NULL only when out of memory. */
struct ops_tree *ops_tree_get(struct smb1_tree *t);

/* Every request that could observe path (or, with OPS_SETTLE_BELOW, a
 * file below it) goes after what we still hold for it: held writes go out
 * (OPS_SETTLE_WRITES) and background CLOSEs of it are waited for. Called
 * first by each public operation on a path. No lock held. 0, or
 * -ETIMEDOUT when the deadline of the operation (CONN_OP) comes first:
 * the operation then fails without sending anything, as the order asks. */
int ops_settle(struct smb1_tree *t, const char *path, unsigned how);
/* Starts the tree's closer thread (fn runs it); lock held. 0 or -errno. */
int ops_closer_start(struct ops_tree *ot, ops_closer_fn fn);
/* CLOCK_MONOTONIC in ns. */
uint64_t ops_now_ns(void);

/* Longest name component the server takes (MaxFileNameLengthInBytes of
 * FS_ATTRIBUTE_INFO, once known), else 0. */
uint32_t ops_tree_name_max(struct smb1_tree *t);

#endif
