/* See iopool.h. A task lives on the stack of the thread in iopool_run and
 * sits in the pool's list until that thread has seen every helper that
 * took a share of it return. */
#include "support/iopool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct iopool_task {
    struct iopool_task *next;
    void (*fn)(void *);
    void *arg;
    unsigned wanted;  /* helpers still welcome */
    unsigned running; /* helpers inside fn */
};

struct iopool {
    pthread_mutex_t lock; /* protects every field below */
    pthread_cond_t work;  /* a task wants helpers, or stop */
    pthread_cond_t done;  /* a helper left fn */
    struct iopool_task *tasks;
    unsigned max, nthreads, idle;
    bool stop;
    pthread_t *threads;
};

static struct iopool_task *wanting(struct iopool *p)
{
    for (struct iopool_task *t = p->tasks; t; t = t->next) {
        if (t->wanted)
            return t;
    }
    return NULL;
}

static void *helper_main(void *arg)
{
    struct iopool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        struct iopool_task *t;
        while (!p->stop && !(t = wanting(p))) {
            p->idle++;
            pthread_cond_wait(&p->work, &p->lock);
            p->idle--;
        }
        if (p->stop)
            break;
        t->wanted--;
        t->running++;
        pthread_mutex_unlock(&p->lock);
        t->fn(t->arg);
        pthread_mutex_lock(&p->lock);
        t->running--;
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

struct iopool *iopool_new(unsigned max_threads)
{
    struct iopool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->threads = calloc(max_threads ? max_threads : 1, sizeof(*p->threads));
    if (!p->threads) {
        free(p);
        return NULL;
    }
    p->max = max_threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    return p;
}

void iopool_free(struct iopool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    unsigned n = p->nthreads;
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < n; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p);
}

void iopool_run(struct iopool *p, void (*fn)(void *), void *arg, unsigned helpers)
{
    struct iopool_task t = {.fn = fn, .arg = arg, .wanted = helpers};
    pthread_mutex_lock(&p->lock);
    t.next = p->tasks;
    p->tasks = &t;
    /* Idle helpers may be taken by other tasks too: start more while
     * under the cap rather than count on them. */
    unsigned want = helpers;
    while (p->idle < want && p->nthreads < p->max) {
        if (pthread_create(&p->threads[p->nthreads], NULL, helper_main, p) != 0)
            break;
        p->nthreads++;
        want--;
    }
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);

    fn(arg);

    pthread_mutex_lock(&p->lock);
    t.wanted = 0;
    while (t.running)
        pthread_cond_wait(&p->done, &p->lock);
    for (struct iopool_task **tp = &p->tasks; *tp; tp = &(*tp)->next) {
        if (*tp == &t) {
            *tp = t.next;
            break;
        }
    }
    pthread_mutex_unlock(&p->lock);
}
