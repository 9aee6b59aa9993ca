#include "ops/tree_state.h"

#include <stdlib.h>

#include "support/iopool.h"

/* Helper threads for the pieces of large I/O, shared by the tree's open
 * files: three per large call in flight, for four such calls. */
#define OPS_IO_THREADS 12

static void ops_tree_free(void *p)
{
    struct ops_tree *ot = p;
    if (!ot)
        return;
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
