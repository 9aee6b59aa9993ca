/* A few long-lived threads that run the pieces of large reads and writes,
 * so that each large FUSE read or write does not create and join threads
 * of its own. */
#ifndef SMBFUSE_IOPOOL_H
#define SMBFUSE_IOPOOL_H

struct iopool;

/* At most max_threads helpers, started on first need. NULL: no memory. */
struct iopool *iopool_new(unsigned max_threads);
/* No iopool_run may be running. */
void iopool_free(struct iopool *p);

/* Runs fn(arg) on the calling thread and on up to helpers pool threads at
 * once; fn must share its work out itself (each call takes pieces until
 * none are left). Returns when every call that started has returned;
 * helpers that had not started by the time the caller's own call returned
 * are withdrawn, so a busy pool only means less parallelism, never a
 * wait. */
void iopool_run(struct iopool *p, void (*fn)(void *), void *arg, unsigned helpers);

#endif
