/* Receive-buffer pool: buffers come back for reuse, the smallest fitting
 * one is chosen, and the pool outlives its creator while buffers are out
 * (LeakSanitizer and ASan catch the rest in the asan stage). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "link/rxpool.h"

Test(rxpool, buffers_are_used_again)
{
    struct rxpool *p = rxpool_new(4);
    cr_assert_not_null(p);
    uint8_t *a = rxpool_get(p, 1u << 20);
    cr_assert_not_null(a);
    memset(a, 0xA5, 1u << 20);
    rxpool_put(p, a);
    uint8_t *b = rxpool_get(p, 1000000);
    cr_assert_eq(b, a, "an idle buffer that fits is handed out again");
    rxpool_put(p, b);
    rxpool_release(p);
}

Test(rxpool, smallest_fitting_buffer)
{
    struct rxpool *p = rxpool_new(4);
    uint8_t *big = rxpool_get(p, 1u << 20);
    uint8_t *small = rxpool_get(p, 126976);
    cr_assert_neq(big, small);
    rxpool_put(p, big);
    rxpool_put(p, small);
    cr_assert_eq(rxpool_get(p, 100000), small, "a 124 KiB frame does not take the 1 MiB buffer");
    uint8_t *c = rxpool_get(p, 2u << 20);
    cr_assert_neq(c, big, "too small for 2 MiB");
    memset(c, 0, 2u << 20);
    rxpool_put(p, small);
    rxpool_put(p, c);
    rxpool_release(p);
}

Test(rxpool, full_pool_frees_extras)
{
    struct rxpool *p = rxpool_new(2);
    uint8_t *b[5];
    for (int i = 0; i < 5; i++)
        b[i] = rxpool_get(p, 200000);
    for (int i = 0; i < 5; i++)
        rxpool_put(p, b[i]);
    rxpool_release(p);
}

struct holder {
    struct rxpool *p;
    uint8_t *buf;
};

static void *late_put(void *arg)
{
    struct holder *h = arg;
    memset(h->buf, 1, 65536);
    rxpool_put(h->p, h->buf);
    return NULL;
}

/* The mux goes (rxpool_release) while a reply frame is still held: the
 * last put frees the pool. */
Test(rxpool, outlives_its_creator)
{
    struct rxpool *p = rxpool_new(4);
    struct holder h = {p, rxpool_get(p, 65536)};
    rxpool_release(p);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, late_put, &h), 0);
    pthread_join(th, NULL);
}
