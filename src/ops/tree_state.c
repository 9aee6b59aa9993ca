#include "ops/tree_state.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "support/iopool.h"
#include "support/clock.h"

/* Helper threads for the pieces of large I/O, shared by the tree's open
 * files: three per large call in flight, for four such calls. */
#define OPS_IO_THREADS 12

static void ops_tree_free(void *p)
{
    struct ops_tree *ot = p;
    if (!ot)
        return;
    /* The CLOSEs still queued go out first: the tree (and its connection)
     * is still there. */
    pthread_mutex_lock(&ot->lock);
    ot->closer_stop = true;
    pthread_cond_broadcast(&ot->close_cond);
    bool started = ot->closer_started;
    pthread_mutex_unlock(&ot->lock);
    if (started)
        pthread_join(ot->closer, NULL);
    pthread_cond_destroy(&ot->cond);
    pthread_cond_destroy(&ot->close_cond);
    iopool_free(ot->iopool);
    pthread_mutex_destroy(&ot->lock);
    pthread_mutex_destroy(&ot->plock_lock);
    free(ot);
}

struct ops_tree *ops_tree_get(struct smb1_tree *t)
{
    pthread_mutex_lock(&t->lock);
    struct ops_tree *ot = t->ops_priv;
    if (!ot) {
        ot = calloc(1, sizeof(*ot));
        if (ot) {
            pthread_mutex_init(&ot->lock, NULL);
            pthread_mutex_init(&ot->plock_lock, NULL);
            /* Monotonic: a settle waits on it until an operation's
             * deadline (op_wb.c). */
            pthread_condattr_t ca;
            pthread_condattr_init(&ca);
            pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
            pthread_cond_init(&ot->cond, &ca);
            pthread_condattr_destroy(&ca);
            pthread_cond_init(&ot->close_cond, NULL);
            ot->iopool = iopool_new(OPS_IO_THREADS);
            t->ops_priv = ot;
            t->ops_priv_free = ops_tree_free;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return ot;
}

uint32_t ops_tree_name_max(struct smb1_tree *t)
{
    struct ops_tree *ot = ops_tree_get(t);
    if (!ot)
        return 0;
    return atomic_load(&ot->name_max);
}

int ops_settle(struct smb1_tree *t, const char *path, unsigned how)
{
    struct ops_tree *ot = ops_tree_get(t);
    if (!ot || !atomic_load(&ot->busy) || !path)
        return 0;
    pthread_mutex_lock(&ot->lock);
    ops_settle_fn fn = ot->settle;
    pthread_mutex_unlock(&ot->lock);
    return fn ? fn(t, path, how) : 0;
}

int ops_closer_start(struct ops_tree *ot, ops_closer_fn fn)
{
    if (ot->closer_started)
        return 0;
    if (ot->closer_stop)
        return -ESHUTDOWN;
    int r = pthread_create(&ot->closer, NULL, fn, ot);
    if (r)
        return -r;
    ot->closer_started = true;
    return 0;
}

uint64_t ops_now_ns(void)
{
    return clock_mono_ns();
}
