/* The I/O helper pool: every piece runs exactly once, helpers really run
 * in parallel, and a busy or tiny pool never makes a caller wait for a
 * helper that did not start. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "support/iopool.h"

#define PIECES 256

struct job {
    pthread_mutex_t lock; /* protects next */
    int next;
    _Atomic int done[PIECES];
    _Atomic int inside, most_inside;
    useconds_t nap;
};

static void take(void *arg)
{
    struct job *j = arg;
    int in = atomic_fetch_add(&j->inside, 1) + 1;
    int m = atomic_load(&j->most_inside);
    while (in > m && !atomic_compare_exchange_weak(&j->most_inside, &m, in))
        ;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        int i = j->next++;
        pthread_mutex_unlock(&j->lock);
        if (i >= PIECES)
            break;
        atomic_fetch_add(&j->done[i], 1);
        if (j->nap)
            usleep(j->nap);
    }
    atomic_fetch_sub(&j->inside, 1);
}

static void job_init(struct job *j, useconds_t nap)
{
    memset(j, 0, sizeof(*j));
    pthread_mutex_init(&j->lock, NULL);
    j->nap = nap;
}

static void job_check(struct job *j)
{
    for (int i = 0; i < PIECES; i++)
        cr_assert_eq(atomic_load(&j->done[i]), 1, "piece %d ran %d times", i,
                     atomic_load(&j->done[i]));
    cr_assert_eq(atomic_load(&j->inside), 0, "a helper still inside after the run returned");
    pthread_mutex_destroy(&j->lock);
}

Test(iopool, every_piece_once_in_parallel)
{
    struct iopool *p = iopool_new(4);
    cr_assert_not_null(p);
    for (int round = 0; round < 20; round++) {
        struct job j;
        job_init(&j, 200);
        iopool_run(p, take, &j, 3);
        job_check(&j);
        if (round > 0)
            cr_assert_geq(atomic_load(&j.most_inside), 2, "helpers ran alongside the caller");
    }
    iopool_free(p);
}

struct runner {
    struct iopool *p;
    struct job j;
};

static void *run_thread(void *arg)
{
    struct runner *r = arg;
    iopool_run(r->p, take, &r->j, 3);
    return NULL;
}

/* Eight callers on a pool of one helper: each gets its work done, mostly
 * by itself, and none waits for helpers it never got. */
Test(iopool, busy_pool_does_not_block)
{
    struct iopool *p = iopool_new(1);
    cr_assert_not_null(p);
    struct runner r[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        r[i].p = p;
        job_init(&r[i].j, 50);
        cr_assert_eq(pthread_create(&th[i], NULL, run_thread, &r[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        job_check(&r[i].j);
    }
    iopool_free(p);
}

static void nested(void *arg)
{
    struct iopool *p = arg;
    struct job j;
    job_init(&j, 0);
    iopool_run(p, take, &j, 2);
    job_check(&j);
}

/* A run from inside a helper (a refused large read asked again in small
 * pieces) finishes too. */
Test(iopool, nested_runs)
{
    struct iopool *p = iopool_new(2);
    cr_assert_not_null(p);
    for (int i = 0; i < 10; i++)
        iopool_run(p, nested, p, 2);
    iopool_free(p);
}
