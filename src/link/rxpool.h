/* Receive buffers for large frames, used again instead of freed.
 *
 * A large frame freed to glibc goes back to the kernel, so the next one
 * costs page faults and zeroing in the reader thread: with four parallel
 * readers that was a third of the busiest thread's time. Frames from the
 * pool go back to it when their msg_in is freed, in whatever thread, so
 * the pool is reference-counted: the mux holds one reference and every
 * buffer out of the pool another, and the last one frees it. */
#ifndef SMBFUSE_RXPOOL_H
#define SMBFUSE_RXPOOL_H

#include <stddef.h>
#include <stdint.h>

/* Frames below this come from malloc as before. */
#define RXPOOL_MIN 65536

struct rxpool;

/* Keeps at most slots idle buffers. NULL: no memory. */
struct rxpool *rxpool_new(unsigned slots);
/* Drops the creator's reference. */
void rxpool_release(struct rxpool *p);
/* A buffer of at least n (>= RXPOOL_MIN) bytes; it holds a reference on
 * p until rxpool_put. NULL: no memory. */
uint8_t *rxpool_get(struct rxpool *p, size_t n);
/* Returns buf (from rxpool_get on p) and its reference. */
void rxpool_put(struct rxpool *p, uint8_t *buf);

#endif
