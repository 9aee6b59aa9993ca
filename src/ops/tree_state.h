/* The operation layer's state of one tree (t->ops_priv): its open files,
 * the I/O pool of its large reads and writes, and the longest name its
 * server takes. At the bottom of ops/: every module of the layer may use
 * it, and it uses none of them.
 */
#ifndef SMBFUSE_TREE_STATE_H
#define SMBFUSE_TREE_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "session/conn.h"

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
};
/* NULL only when out of memory. */
struct ops_tree *ops_tree_get(struct smb1_tree *t);

/* Longest name component the server takes (MaxFileNameLengthInBytes of
 * FS_ATTRIBUTE_INFO, once known), else 0. */
uint32_t ops_tree_name_max(struct smb1_tree *t);

#endif
