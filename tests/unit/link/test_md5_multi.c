/* md5_multi: batched MD5 against RFC 1321's test suite and against OpenSSL
 * for messages of every length around the block and padding edges, split
 * into pieces at every kind of boundary, in batches larger than the lanes;
 * the code this CPU runs (AVX-512VL where it has it), the AVX2 code and
 * the baseline one. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "link/md5_multi.h"

typedef void impl_fn(struct md5_multi_job *jobs, size_t n);
static impl_fn *const impls[] = {md5_multi, md5_multi_portable, md5_multi_avx2};
#define NIMPLS (int)(sizeof(impls) / sizeof(impls[0]))

static void openssl_md5(const uint8_t *p, size_t n, uint8_t out[16])
{
    unsigned int len = 0;
    cr_assert(EVP_Digest(p, n, out, &len, EVP_md5(), NULL));
    cr_assert_eq(len, 16);
}

static void hex(const uint8_t d[16], char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* A deterministic generator, so a failure can be replayed. */
static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

Test(md5_multi, rfc1321_suite)
{
    static const char *const msg[] = {
        "",
        "a",
        "abc",
        "message digest",
        "abcdefghijklmnopqrstuvwxyz",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
    };
    static const char *const want[] = {
        "d41d8cd98f00b204e9800998ecf8427e", "0cc175b9c0f1b6a831c399e269772661",
        "900150983cd24fb0d6963f7d28e17f72", "f96b697d7cb7938d525a2f31aaf161d0",
        "c3fcd3d76192e4007dfb496cca67e13b", "d174ab98d277d9f5a5611c2c9f419d9f",
        "57edf4a22be3c955ac49da2e2107b67a",
    };
    enum { N = sizeof(msg) / sizeof(msg[0]) };
    struct iovec iov[N];
    struct md5_multi_job jobs[N];
    for (int i = 0; i < N; i++) {
        iov[i].iov_base = (void *)msg[i];
        iov[i].iov_len = strlen(msg[i]);
        jobs[i].iov = &iov[i];
        jobs[i].iovcnt = 1;
    }
    for (int v = 0; v < NIMPLS; v++) {
        impls[v](jobs, N);
        for (int i = 0; i < N; i++) {
            char h[33];
            hex(jobs[i].digest, h);
            cr_expect_str_eq(h, want[i], "implementation %d message %d", v, i);
        }
    }
}

/* Every length 0..300 (all padding cases: 55, 56, 63, 64, 119, 120...),
 * whole, in one batch of 301 jobs, so lanes are refilled many times. */
Test(md5_multi, every_short_length)
{
    enum { MAX = 300 };
    static uint8_t data[MAX];
    uint32_t s = 12345;
    for (int i = 0; i < MAX; i++)
        data[i] = (uint8_t)rnd(&s);
    static struct iovec iov[MAX + 1];
    static struct md5_multi_job jobs[MAX + 1];
    for (int n = 0; n <= MAX; n++) {
        iov[n].iov_base = data;
        iov[n].iov_len = (size_t)n;
        jobs[n].iov = &iov[n];
        jobs[n].iovcnt = 1;
    }
    for (int v = 0; v < NIMPLS; v++) {
        impls[v](jobs, MAX + 1);
        for (int n = 0; n <= MAX; n++) {
            uint8_t want[16];
            openssl_md5(data, (size_t)n, want);
            cr_assert_arr_eq(jobs[n].digest, want, 16, "implementation %d length %d", v, n);
        }
    }
}

/* Messages cut into random pieces (empty ones too, and pieces shorter
 * than a block that straddle block edges), random lengths up to 70 KiB,
 * random batch sizes: the shape of signed SMB replies and more. */
Test(md5_multi, random_pieces_and_batches)
{
    enum { JOBS = 40, MAXLEN = 70000, MAXPIECES = 7 };
    uint32_t s = 777;
    uint8_t *msgs[JOBS];
    size_t lens[JOBS];
    struct iovec iov[JOBS][MAXPIECES];
    struct md5_multi_job jobs[JOBS];
    for (int round = 0; round < 12; round++) {
        int n = 1 + (int)(rnd(&s) % JOBS);
        for (int j = 0; j < n; j++) {
            lens[j] = rnd(&s) % 4 == 0 ? rnd(&s) % 200 : rnd(&s) % MAXLEN;
            msgs[j] = malloc(lens[j] + 1);
            cr_assert_not_null(msgs[j]);
            for (size_t k = 0; k < lens[j]; k++)
                msgs[j][k] = (uint8_t)rnd(&s);
            int pieces = 1 + (int)(rnd(&s) % MAXPIECES);
            size_t at = 0;
            for (int p = 0; p < pieces; p++) {
                size_t left = lens[j] - at;
                size_t take = p == pieces - 1 ? left : (left ? rnd(&s) % (left + 1) : 0);
                if (p < pieces - 1 && rnd(&s) % 3 == 0 && left > 0)
                    take = rnd(&s) % (left < 70 ? left + 1 : 70);
                iov[j][p].iov_base = msgs[j] + at;
                iov[j][p].iov_len = take;
                at += take;
            }
            cr_assert_eq(at, lens[j]);
            jobs[j].iov = iov[j];
            jobs[j].iovcnt = pieces;
        }
        impls[round % NIMPLS](jobs, (size_t)n);
        for (int j = 0; j < n; j++) {
            uint8_t want[16];
            openssl_md5(msgs[j], lens[j], want);
            cr_assert_arr_eq(jobs[j].digest, want, 16, "round %d job %d length %zu", round, j,
                             lens[j]);
            free(msgs[j]);
        }
    }
}

Test(md5_multi, empty_batch_and_no_pieces)
{
    for (int v = 0; v < NIMPLS; v++) {
        impls[v](NULL, 0);
        struct md5_multi_job job = {.iov = NULL, .iovcnt = 0};
        impls[v](&job, 1);
        char h[33];
        hex(job.digest, h);
        cr_expect_str_eq(h, "d41d8cd98f00b204e9800998ecf8427e", "implementation %d", v);
    }
}
