/* The buffers FUSE requests are read into (fs_bufpool.c), lent to the
 * core with a write (smb1_write_lent) so that its requests send the data
 * from where it lies. */
#ifndef SFS_BUFPOOL_H
#define SFS_BUFPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smb1.h"

struct sfs_bufpool;

/* One request buffer: size bytes at mem. loan counts who holds it: the
 * worker that reads into it, and each request of the core that sends
 * from it; the last drop gives it back to its pool. */
struct sfs_rbuf {
    struct smb1_loan loan; /* first: the core's loan is the buffer */
    struct sfs_bufpool *pool;
    struct sfs_rbuf *next; /* in the pool's idle list */
    uint8_t *mem;
    size_t size;
};

/* A pool of buffers of size bytes, keeping at most keep idle ones (the
 * rest are freed as they come back). NULL when no memory. */
struct sfs_bufpool *sfs_bufpool_new(size_t size, unsigned keep);
/* The pool's end: its idle buffers go now, those still out when they
 * come back, the pool itself with the last of them. */
void sfs_bufpool_free(struct sfs_bufpool *p);
/* An idle buffer, or a new one, held once (the caller's); NULL when no
 * memory. */
struct sfs_rbuf *sfs_bufpool_get(struct sfs_bufpool *p);
/* Drops the caller's hold of b. */
void sfs_rbuf_put(struct sfs_rbuf *b);
/* Whether anybody but the caller holds b (the core kept a request of a
 * write in it): the caller then reads its next request elsewhere. */
bool sfs_rbuf_lent(struct sfs_rbuf *b);
/* Buffers allocated and not freed, and idle ones (the tests' measure). */
void sfs_bufpool_counts(struct sfs_bufpool *p, unsigned *live, unsigned *idle);

/* This thread's request buffer while a request read into it is handled
 * (NULL: none, as in libfuse's own loops). */
void sfs_rbuf_set_current(struct sfs_rbuf *b);
/* The loan of this thread's request buffer when [p, p + len) lies in it,
 * else NULL: what a write callback may lend to the core. */
struct smb1_loan *sfs_rbuf_lend(const void *p, size_t len);

#endif
