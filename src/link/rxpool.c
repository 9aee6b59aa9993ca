/* See rxpool.h. Each buffer carries its capacity in a header just before
 * the bytes handed out. */
#include "link/rxpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define RXPOOL_HDR       64 /* keeps the bytes handed out cache-line aligned */
#define RXPOOL_MAX_SLOTS 16

struct rxpool {
    atomic_int refs;
    pthread_mutex_t lock; /* protects idle and nidle */
    unsigned slots, nidle;
    uint8_t *idle[RXPOOL_MAX_SLOTS]; /* header addresses */
};

static size_t cap_of(const uint8_t *hdr)
{
    size_t c;
    memcpy(&c, hdr, sizeof(c));
    return c;
}

static void unref(struct rxpool *p)
{
    if (atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    for (unsigned i = 0; i < p->nidle; i++)
        free(p->idle[i]);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

struct rxpool *rxpool_new(unsigned slots)
{
    struct rxpool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    atomic_init(&p->refs, 1);
    pthread_mutex_init(&p->lock, NULL);
    p->slots = slots < RXPOOL_MAX_SLOTS ? slots : RXPOOL_MAX_SLOTS;
    return p;
}

void rxpool_release(struct rxpool *p)
{
    if (p)
        unref(p);
}

uint8_t *rxpool_get(struct rxpool *p, size_t n)
{
    uint8_t *hdr = NULL;
    pthread_mutex_lock(&p->lock);
    /* The smallest idle buffer that fits: 124 KiB and 1 MiB frames mix. */
    unsigned best = p->nidle;
    for (unsigned i = 0; i < p->nidle; i++) {
        size_t c = cap_of(p->idle[i]);
        if (c >= n && (best == p->nidle || c < cap_of(p->idle[best])))
            best = i;
    }
    if (best < p->nidle) {
        hdr = p->idle[best];
        p->idle[best] = p->idle[--p->nidle];
    }
    pthread_mutex_unlock(&p->lock);
    if (!hdr) {
        /* Round up so that frames of nearly one size share buffers. */
        size_t cap = (n + 65535) & ~(size_t)65535;
        if (cap < n)
            return NULL;
        hdr = malloc(RXPOOL_HDR + cap);
        if (!hdr)
            return NULL;
        memcpy(hdr, &cap, sizeof(cap));
    }
    atomic_fetch_add(&p->refs, 1);
    return hdr + RXPOOL_HDR;
}

void rxpool_put(struct rxpool *p, uint8_t *buf)
{
    if (!buf)
        return;
    uint8_t *hdr = buf - RXPOOL_HDR;
    bool kept = false;
    pthread_mutex_lock(&p->lock);
    if (p->nidle < p->slots) {
        p->idle[p->nidle++] = hdr;
        kept = true;
    }
    pthread_mutex_unlock(&p->lock);
    if (!kept)
        free(hdr);
    unref(p);
}
