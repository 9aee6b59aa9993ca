/* The request buffers of the FUSE loop (fuse/fs_bufpool.c): a buffer a
 * write lent to the core goes back to the pool only with the last
 * reference (the worker's or a piece's, from any thread), idle ones are
 * used again last in first out and kept up to a bound, the pool's end
 * waits for the buffers still out, and a write callback finds the loan
 * only for data in its own thread's current buffer. */
#include <criterion/criterion.h>
#include <pthread.h>

#include "fs_bufpool.h"

#define SIZE (257u * 4096u)

static unsigned live_of(struct sfs_bufpool *p)
{
    unsigned live, idle;
    sfs_bufpool_counts(p, &live, &idle);
    return live;
}

static unsigned idle_of(struct sfs_bufpool *p)
{
    unsigned live, idle;
    sfs_bufpool_counts(p, &live, &idle);
    return idle;
}

Test(bufpool, a_buffer_comes_back_for_the_next_read)
{
    struct sfs_bufpool *p = sfs_bufpool_new(SIZE, 4);
    cr_assert_not_null(p);
    struct sfs_rbuf *b = sfs_bufpool_get(p);
    cr_assert_not_null(b);
    cr_assert_eq(b->size, SIZE);
    cr_assert_eq((uintptr_t)b->mem % 4096, 0, "not page-aligned");
    cr_assert_not(sfs_rbuf_lent(b));
    b->mem[SIZE - 1] = 1; /* all of it is ours */
    sfs_rbuf_put(b);
    cr_assert_eq(idle_of(p), 1);
    struct sfs_rbuf *c = sfs_bufpool_get(p);
    cr_assert_eq(c, b, "an idle buffer was not used again");
    cr_assert_eq(live_of(p), 1);
    sfs_rbuf_put(c);
    sfs_bufpool_free(p);
}

/* The worker drops its hold after a write lent the buffer: it stays out
 * until the last piece that sends from it drops its own. */
Test(bufpool, a_lent_buffer_comes_back_with_the_last_reference)
{
    struct sfs_bufpool *p = sfs_bufpool_new(SIZE, 4);
    struct sfs_rbuf *b = sfs_bufpool_get(p);
    smb1_loan_hold(&b->loan);
    smb1_loan_hold(&b->loan);
    cr_assert(sfs_rbuf_lent(b));
    sfs_rbuf_put(b); /* the worker's */
    cr_assert_eq(idle_of(p), 0);
    struct sfs_rbuf *n = sfs_bufpool_get(p);
    cr_assert_neq(n, b, "a lent buffer was read into again");
    smb1_loan_drop(&b->loan);
    cr_assert_eq(idle_of(p), 0);
    smb1_loan_drop(&b->loan); /* the last piece's */
    cr_assert_eq(idle_of(p), 1);
    cr_assert_eq(live_of(p), 2);
    sfs_rbuf_put(n);
    sfs_bufpool_free(p);
}

Test(bufpool, idle_buffers_are_kept_up_to_the_bound)
{
    struct sfs_bufpool *p = sfs_bufpool_new(SIZE, 2);
    struct sfs_rbuf *b[5];
    for (int i = 0; i < 5; i++)
        b[i] = sfs_bufpool_get(p);
    cr_assert_eq(live_of(p), 5);
    for (int i = 0; i < 5; i++)
        sfs_rbuf_put(b[i]);
    cr_assert_eq(idle_of(p), 2);
    cr_assert_eq(live_of(p), 2);
    /* Last in, first out: the warmest first. */
    struct sfs_rbuf *c = sfs_bufpool_get(p);
    cr_assert_eq(c, b[1]);
    sfs_rbuf_put(c);
    sfs_bufpool_free(p);
}

/* The loop ends while the write-behind still sends from a buffer: the
 * pool goes with that buffer's last reference (ASan: no leak, no use
 * after free). */
Test(bufpool, the_pool_ends_after_its_last_buffer)
{
    struct sfs_bufpool *p = sfs_bufpool_new(SIZE, 4);
    struct sfs_rbuf *idle = sfs_bufpool_get(p);
    struct sfs_rbuf *out = sfs_bufpool_get(p);
    smb1_loan_hold(&out->loan);
    sfs_rbuf_put(out);
    sfs_rbuf_put(idle);
    sfs_bufpool_free(p);
    memset(out->mem, 0x5a, SIZE); /* still the piece's */
    smb1_loan_drop(&out->loan);
}

struct dropper {
    struct sfs_rbuf *b;
    int n;
};

static void *drop_many(void *arg)
{
    struct dropper *d = arg;
    for (int i = 0; i < d->n; i++)
        smb1_loan_drop(&d->b->loan);
    return NULL;
}

/* Pieces retire on the pump's thread, a writer's or a close's, at once:
 * the buffer comes back once, after the last. */
Test(bufpool, drops_from_many_threads_give_it_back_once)
{
    struct sfs_bufpool *p = sfs_bufpool_new(SIZE, 4);
    for (int round = 0; round < 50; round++) {
        struct sfs_rbuf *b = sfs_bufpool_get(p);
        enum { T = 4, N = 200 };
        for (int i = 0; i < T * N; i++)
            smb1_loan_hold(&b->loan);
        sfs_rbuf_put(b); /* the worker's: T * N left */
        pthread_t th[T];
        struct dropper d = {b, N};
        for (int i = 0; i < T; i++)
            cr_assert_eq(pthread_create(&th[i], NULL, drop_many, &d), 0);
        for (int i = 0; i < T; i++)
            pthread_join(th[i], NULL);
        cr_assert_eq(idle_of(p), 1, "round %d", round);
        cr_assert_eq(live_of(p), 1);
    }
    sfs_bufpool_free(p);
}

static void *lend_elsewhere(void *arg)
{
    return sfs_rbuf_lend(arg, 16);
}

/* Only data inside this thread's current buffer is lent. */
Test(bufpool, a_write_finds_the_loan_of_its_own_buffer)
{
    struct sfs_bufpool *p = sfs_bufpool_new(SIZE, 4);
    struct sfs_rbuf *b = sfs_bufpool_get(p);
    uint8_t outside[64];
    cr_assert_null(sfs_rbuf_lend(b->mem + 80, 1 << 20), "no current buffer");
    sfs_rbuf_set_current(b);
    cr_assert_eq(sfs_rbuf_lend(b->mem + 80, 1 << 20), &b->loan);
    cr_assert_eq(sfs_rbuf_lend(b->mem, SIZE), &b->loan);
    cr_assert_eq(sfs_rbuf_lend(b->mem + SIZE, 0), &b->loan);
    cr_assert_null(sfs_rbuf_lend(b->mem + 80, SIZE - 79), "past its end");
    cr_assert_null(sfs_rbuf_lend(b->mem + SIZE - 1, SIZE_MAX), "wraps");
    cr_assert_null(sfs_rbuf_lend(outside, sizeof(outside)));
    cr_assert_null(sfs_rbuf_lend(b->mem - 1, 8));
    cr_assert_null(sfs_rbuf_lend(NULL, 0));
    pthread_t th;
    void *got = b;
    cr_assert_eq(pthread_create(&th, NULL, lend_elsewhere, b->mem + 100), 0);
    pthread_join(th, &got);
    cr_assert_null(got, "another thread's buffer was lent");
    sfs_rbuf_set_current(NULL);
    cr_assert_null(sfs_rbuf_lend(b->mem + 80, 16));
    sfs_rbuf_put(b);
    sfs_bufpool_free(p);
}
