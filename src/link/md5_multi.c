/* MD5 of up to eight messages side by side (see md5_multi.h).
 *
 * Each lane of a 256-bit vector carries one message's state; one call to
 * compress8() runs the 64 MD5 steps on one block of each lane. A lane whose
 * message is done takes the next waiting job, and a lane with nothing to do
 * hashes a zero block whose result is ignored, so messages of any lengths
 * share the vectors.
 *
 * The vector code is plain C with GCC/Clang vector types. On x86-64 it is
 * compiled twice (AVX2 and baseline SSE2) and each call picks the one the
 * CPU runs; elsewhere the compiler maps it to whatever it has. The
 * arithmetic is RFC 1321's, checked against OpenSSL in test_md5_multi.
 */
#include "link/md5_multi.h"

#include <string.h>

#include "wire/wire.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

typedef uint32_t v8u __attribute__((vector_size(32)));

#if defined(__x86_64__) && defined(__GNUC__)
#define MD5_MULTI_X86 1
#else
#define MD5_MULTI_X86 0
#endif

/* RFC 1321 3.4: T[i] = floor(2^32 * |sin(i + 1)|). */
static const uint32_t md5_t[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static const uint32_t md5_iv[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};

#define ROTL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))
/* The round functions are written so that the operand that arrives last,
 * x (the previous step's result), meets as few operations as possible:
 * the chain through x is what bounds the speed, the rest overlaps. */
#define FF(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define GG(x, y, z) (((x) & (z)) | ((y) & ~(z)))
#define HH(x, y, z) ((x) ^ ((y) ^ (z)))
#define II(x, y, z) ((y) ^ ((x) | ~(z)))
#define STEP(f, a, b, c, d, m, i, s)                                                               \
    do {                                                                                           \
        a += (m) + md5_t[i];                                                                       \
        a += f(b, c, d);                                                                           \
        a = ROTL(a, s) + (b);                                                                      \
    } while (0)
/* Four steps of one round, with the round's shifts s0..s3. */
#define QUAD(f, i, g0, g1, g2, g3, s0, s1, s2, s3)                                                 \
    do {                                                                                           \
        STEP(f, a, b, c, d, m[g0], i, s0);                                                         \
        STEP(f, d, a, b, c, m[g1], i + 1, s1);                                                     \
        STEP(f, c, d, a, b, m[g2], i + 2, s2);                                                     \
        STEP(f, b, c, d, a, m[g3], i + 3, s3);                                                     \
    } while (0)

/* One block of each lane. st holds a, b, c, d for the eight lanes; the
 * blocks are read little-endian at any alignment. A macro, so that the
 * same code is compiled for AVX2 and for the baseline: the dispatch is a
 * plain run-time test, not an ifunc (whose resolver runs before the
 * sanitizers' runtime is up, and crashes under TSan). */
#define COMPRESS8_LOAD_SCALAR                                                                      \
    uint32_t w[16][MD5_MULTI_LANES];                                                               \
    for (int l = 0; l < MD5_MULTI_LANES; l++)                                                      \
        for (int i = 0; i < 16; i++)                                                               \
            w[i][l] = wire_le32(blk[l] + 4 * i);                                                   \
    v8u m[16];                                                                                     \
    for (int i = 0; i < 16; i++)                                                                   \
        memcpy(&m[i], w[i], sizeof(m[i]));
/* The 64 steps on m[16] (word i of every lane's block). */
#define COMPRESS8_BODY                                                                             \
    v8u a, b, c, d;                                                                                \
    memcpy(&a, st[0], sizeof(a));                                                                  \
    memcpy(&b, st[1], sizeof(b));                                                                  \
    memcpy(&c, st[2], sizeof(c));                                                                  \
    memcpy(&d, st[3], sizeof(d));                                                                  \
    const v8u a0 = a, b0 = b, c0 = c, d0 = d;                                                      \
    QUAD(FF, 0, 0, 1, 2, 3, 7, 12, 17, 22);                                                        \
    QUAD(FF, 4, 4, 5, 6, 7, 7, 12, 17, 22);                                                        \
    QUAD(FF, 8, 8, 9, 10, 11, 7, 12, 17, 22);                                                      \
    QUAD(FF, 12, 12, 13, 14, 15, 7, 12, 17, 22);                                                   \
    QUAD(GG, 16, 1, 6, 11, 0, 5, 9, 14, 20);                                                       \
    QUAD(GG, 20, 5, 10, 15, 4, 5, 9, 14, 20);                                                      \
    QUAD(GG, 24, 9, 14, 3, 8, 5, 9, 14, 20);                                                       \
    QUAD(GG, 28, 13, 2, 7, 12, 5, 9, 14, 20);                                                      \
    QUAD(HH, 32, 5, 8, 11, 14, 4, 11, 16, 23);                                                     \
    QUAD(HH, 36, 1, 4, 7, 10, 4, 11, 16, 23);                                                      \
    QUAD(HH, 40, 13, 0, 3, 6, 4, 11, 16, 23);                                                      \
    QUAD(HH, 44, 9, 12, 15, 2, 4, 11, 16, 23);                                                     \
    QUAD(II, 48, 0, 7, 14, 5, 6, 10, 15, 21);                                                      \
    QUAD(II, 52, 12, 3, 10, 1, 6, 10, 15, 21);                                                     \
    QUAD(II, 56, 8, 15, 6, 13, 6, 10, 15, 21);                                                     \
    QUAD(II, 60, 4, 11, 2, 9, 6, 10, 15, 21);                                                      \
    a += a0;                                                                                       \
    b += b0;                                                                                       \
    c += c0;                                                                                       \
    d += d0;                                                                                       \
    memcpy(st[0], &a, sizeof(a));                                                                  \
    memcpy(st[1], &b, sizeof(b));                                                                  \
    memcpy(st[2], &c, sizeof(c));                                                                  \
    memcpy(st[3], &d, sizeof(d));

typedef void compress8_fn(uint32_t st[4][MD5_MULTI_LANES],
                          const uint8_t *const blk[MD5_MULTI_LANES]);

static void compress8_base(uint32_t st[4][MD5_MULTI_LANES],
                           const uint8_t *const blk[MD5_MULTI_LANES])
{
    COMPRESS8_LOAD_SCALAR
    COMPRESS8_BODY
}

#if MD5_MULTI_X86
/* The blocks' words into m[16] (word i of lane l in element l of m[i]):
 * each lane's 64 bytes in two vector loads, then two 8x8 transposes of
 * 32-bit elements, in place of 128 scalar loads and stores (x86 is
 * little-endian, as MD5's words are). */
#define COMPRESS8_LOAD_AVX2                                                                        \
    v8u m[16];                                                                                     \
    for (int h = 0; h < 2; h++) {                                                                  \
        __m256i r[8], t[8], u[8];                                                                  \
        for (int l = 0; l < 8; l++)                                                                \
            r[l] = _mm256_loadu_si256((const __m256i *)(const void *)(blk[l] + 32 * h));           \
        for (int l = 0; l < 8; l += 2) {                                                           \
            t[l] = _mm256_unpacklo_epi32(r[l], r[l + 1]);                                          \
            t[l + 1] = _mm256_unpackhi_epi32(r[l], r[l + 1]);                                      \
        }                                                                                          \
        for (int l = 0; l < 8; l += 4) {                                                           \
            u[l] = _mm256_unpacklo_epi64(t[l], t[l + 2]);                                          \
            u[l + 1] = _mm256_unpackhi_epi64(t[l], t[l + 2]);                                      \
            u[l + 2] = _mm256_unpacklo_epi64(t[l + 1], t[l + 3]);                                  \
            u[l + 3] = _mm256_unpackhi_epi64(t[l + 1], t[l + 3]);                                  \
        }                                                                                          \
        for (int k = 0; k < 4; k++) {                                                              \
            __m256i lo = _mm256_permute2x128_si256(u[k], u[k + 4], 0x20);                          \
            __m256i hi = _mm256_permute2x128_si256(u[k], u[k + 4], 0x31);                          \
            memcpy(&m[8 * h + k], &lo, sizeof(lo));                                                \
            memcpy(&m[8 * h + k + 4], &hi, sizeof(hi));                                            \
        }                                                                                          \
    }

__attribute__((target("avx2"))) static void
compress8_avx2(uint32_t st[4][MD5_MULTI_LANES], const uint8_t *const blk[MD5_MULTI_LANES])
{
    COMPRESS8_LOAD_AVX2
    COMPRESS8_BODY
}

/* The same where AVX-512VL is there too: the compiler then turns each
 * rotation into one vprold and the round functions into vpternlogd. */
__attribute__((target("avx2,avx512f,avx512vl"))) static void
compress8_avx512(uint32_t st[4][MD5_MULTI_LANES], const uint8_t *const blk[MD5_MULTI_LANES])
{
    COMPRESS8_LOAD_AVX2
    COMPRESS8_BODY
}
#endif

/* One message, handed out block by block: whole blocks inside one piece
 * are read where they lie, blocks that straddle pieces are gathered into
 * scratch, and the padding (0x80, zeros, bit length) ends it. */
struct stream {
    const struct iovec *iov;
    int iovcnt;
    int i;      /* current piece */
    size_t off; /* bytes of it consumed */
    uint64_t total;
    bool padded;
    int tail_blocks, tail_next;
    uint8_t scratch[64];
    uint8_t tail[128];
};

static void stream_start(struct stream *s, const struct md5_multi_job *j)
{
    s->iov = j->iov;
    s->iovcnt = j->iovcnt > 0 ? j->iovcnt : 0;
    s->i = 0;
    s->off = 0;
    s->total = 0;
    for (int k = 0; k < s->iovcnt; k++)
        s->total += s->iov[k].iov_len;
    s->padded = false;
    s->tail_blocks = 0;
    s->tail_next = 0;
}

/* Next block, or NULL when the message (padding included) is used up. */
static const uint8_t *stream_next(struct stream *s)
{
    if (s->tail_next < s->tail_blocks)
        return s->tail + 64 * s->tail_next++;
    if (s->padded)
        return NULL;
    while (s->i < s->iovcnt && s->off == s->iov[s->i].iov_len) {
        s->i++;
        s->off = 0;
    }
    if (s->i < s->iovcnt && s->iov[s->i].iov_len - s->off >= 64) {
        const uint8_t *p = (const uint8_t *)s->iov[s->i].iov_base + s->off;
        s->off += 64;
        return p;
    }
    size_t got = 0;
    while (got < 64 && s->i < s->iovcnt) {
        size_t avail = s->iov[s->i].iov_len - s->off;
        size_t take = avail < 64 - got ? avail : 64 - got;
        memcpy(s->scratch + got, (const uint8_t *)s->iov[s->i].iov_base + s->off, take);
        got += take;
        s->off += take;
        if (s->off == s->iov[s->i].iov_len) {
            s->i++;
            s->off = 0;
        }
    }
    if (got == 64)
        return s->scratch;
    /* RFC 1321 3.1-3.2: the last bytes, 0x80, zeros up to 56 mod 64, then
     * the length in bits, little-endian. */
    size_t n = got + 1 + 8 <= 64 ? 64 : 128;
    memcpy(s->tail, s->scratch, got);
    s->tail[got] = 0x80;
    memset(s->tail + got + 1, 0, n - got - 1 - 8);
    uint64_t bits = s->total * 8;
    for (int k = 0; k < 8; k++)
        s->tail[n - 8 + k] = (uint8_t)(bits >> (8 * k));
    s->padded = true;
    s->tail_blocks = (int)(n / 64);
    s->tail_next = 1;
    return s->tail;
}

bool md5_multi_fast(void)
{
#if MD5_MULTI_X86
    return __builtin_cpu_supports("avx2");
#else
    return false;
#endif
}

static void lane_start(uint32_t st[4][MD5_MULTI_LANES], int l)
{
    for (int k = 0; k < 4; k++)
        st[k][l] = md5_iv[k];
}

static void lane_digest(uint32_t st[4][MD5_MULTI_LANES], int l, uint8_t out[16])
{
    for (int k = 0; k < 4; k++)
        wire_st32(out + 4 * k, st[k][l]);
}

static void run(struct md5_multi_job *jobs, size_t n, compress8_fn *compress8)
{
    static const uint8_t idle_block[64];
    struct stream s[MD5_MULTI_LANES];
    long job_of[MD5_MULTI_LANES];
    uint32_t st[4][MD5_MULTI_LANES];
    size_t next = 0;
    int active = 0;

    for (int l = 0; l < MD5_MULTI_LANES; l++) {
        lane_start(st, l);
        job_of[l] = -1;
        if (next < n) {
            stream_start(&s[l], &jobs[next]);
            job_of[l] = (long)next++;
            active++;
        }
    }
    while (active > 0) {
        const uint8_t *blk[MD5_MULTI_LANES];
        for (int l = 0; l < MD5_MULTI_LANES; l++) {
            blk[l] = idle_block;
            while (job_of[l] >= 0) {
                const uint8_t *b = stream_next(&s[l]);
                if (b) {
                    blk[l] = b;
                    break;
                }
                lane_digest(st, l, jobs[job_of[l]].digest);
                lane_start(st, l);
                job_of[l] = -1;
                if (next < n) {
                    stream_start(&s[l], &jobs[next]);
                    job_of[l] = (long)next++;
                } else {
                    active--;
                }
            }
        }
        if (active > 0)
            compress8(st, blk);
    }
    /* The lanes saw the MAC key (its first block is gathered in scratch). */
    explicit_bzero(s, sizeof(s));
    explicit_bzero(st, sizeof(st));
}

void md5_multi(struct md5_multi_job *jobs, size_t n)
{
#if MD5_MULTI_X86
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) {
        run(jobs, n, compress8_avx512);
        return;
    }
    if (md5_multi_fast()) {
        run(jobs, n, compress8_avx2);
        return;
    }
#endif
    run(jobs, n, compress8_base);
}

void md5_multi_portable(struct md5_multi_job *jobs, size_t n)
{
    run(jobs, n, compress8_base);
}

void md5_multi_avx2(struct md5_multi_job *jobs, size_t n)
{
#if MD5_MULTI_X86
    if (md5_multi_fast()) {
        run(jobs, n, compress8_avx2);
        return;
    }
#endif
    run(jobs, n, compress8_base);
}
