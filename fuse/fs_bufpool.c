/* The request buffers (fs_bufpool.h). A buffer is held by the FUSE
 * worker that reads a request into it (fs_loop.c) and by every request
 * of the core that sends data from it (smb1_write_lent); the last drop
 * (smb1_loan_drop, from any thread) calls rbuf_back, which keeps it idle
 * for the next read, or frees it beyond keep or once the pool ended.
 * Idle buffers are used again last in, first out: their pages are
 * mapped and warm (a fresh MiB costs page faults worth the copy this
 * saves).
 *
 * Locks: p->lock protects the idle list, the counts and dead; never held
 * across anything but the list's own work.
 */
#include "fs_bufpool.h"

#include <pthread.h>
#include <stdlib.h>

struct sfs_bufpool {
    pthread_mutex_t lock;
    struct sfs_rbuf *idle; /* protected by lock */
    unsigned nidle, live;  /* protected by lock */
    bool dead;             /* protected by lock: sfs_bufpool_free was called */
    unsigned keep;
    size_t size;
};

static __thread struct sfs_rbuf *current;

static void rbuf_free(struct sfs_rbuf *b)
{
    free(b->mem);
    free(b);
}

static void pool_destroy(struct sfs_bufpool *p)
{
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static void rbuf_back(struct smb1_loan *l)
{
    struct sfs_rbuf *b = (struct sfs_rbuf *)l;
    struct sfs_bufpool *p = b->pool;
    pthread_mutex_lock(&p->lock);
    if (!p->dead && p->nidle < p->keep) {
        b->next = p->idle;
        p->idle = b;
        p->nidle++;
        pthread_mutex_unlock(&p->lock);
        return;
    }
    p->live--;
    bool last = p->dead && p->live == 0;
    pthread_mutex_unlock(&p->lock);
    rbuf_free(b);
    if (last)
        pool_destroy(p);
}

struct sfs_bufpool *sfs_bufpool_new(size_t size, unsigned keep)
{
    struct sfs_bufpool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    p->size = size;
    p->keep = keep;
    return p;
}

void sfs_bufpool_free(struct sfs_bufpool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->dead = true;
    struct sfs_rbuf *idle = p->idle;
    p->idle = NULL;
    p->live -= p->nidle;
    p->nidle = 0;
    bool last = p->live == 0;
    pthread_mutex_unlock(&p->lock);
    while (idle) {
        struct sfs_rbuf *n = idle->next;
        rbuf_free(idle);
        idle = n;
    }
    if (last)
        pool_destroy(p);
}

struct sfs_rbuf *sfs_bufpool_get(struct sfs_bufpool *p)
{
    pthread_mutex_lock(&p->lock);
    struct sfs_rbuf *b = p->idle;
    if (b) {
        p->idle = b->next;
        p->nidle--;
    }
    pthread_mutex_unlock(&p->lock);
    if (!b) {
        b = calloc(1, sizeof(*b));
        void *mem = NULL;
        if (!b || posix_memalign(&mem, 4096, p->size) != 0) {
            free(b);
            return NULL;
        }
        b->mem = mem;
        b->size = p->size;
        b->pool = p;
        b->loan.back = rbuf_back;
        pthread_mutex_lock(&p->lock);
        p->live++;
        pthread_mutex_unlock(&p->lock);
    }
    b->next = NULL;
    atomic_store_explicit(&b->loan.refs, 1, memory_order_relaxed);
    return b;
}

void sfs_rbuf_put(struct sfs_rbuf *b)
{
    smb1_loan_drop(&b->loan);
}

bool sfs_rbuf_lent(struct sfs_rbuf *b)
{
    return atomic_load_explicit(&b->loan.refs, memory_order_acquire) > 1;
}

void sfs_bufpool_counts(struct sfs_bufpool *p, unsigned *live, unsigned *idle)
{
    pthread_mutex_lock(&p->lock);
    *live = p->live;
    *idle = p->nidle;
    pthread_mutex_unlock(&p->lock);
}

void sfs_rbuf_set_current(struct sfs_rbuf *b)
{
    current = b;
}

struct smb1_loan *sfs_rbuf_lend(const void *p, size_t len)
{
    struct sfs_rbuf *b = current;
    if (!b || !p)
        return NULL;
    uintptr_t s = (uintptr_t)b->mem, a = (uintptr_t)p;
    return a >= s && a - s <= b->size && len <= b->size - (a - s) ? &b->loan : NULL;
}
