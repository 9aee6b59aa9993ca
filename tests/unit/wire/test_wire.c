/* wire: the bounds-checked reader and the capped writer. Structures are
 * decoded from every prefix of their encoding in exact-size heap buffers,
 * so under AddressSanitizer a single byte read past the end fails. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

/* u8 u16 u32 u64 be16 be32, 5 bytes, then a (off16, len16) pair that
 * points back into the buffer: 31 bytes. */
/* clang-format off */
static const uint8_t sample[] = {
    0x11,
    0x22, 0x33,
    0x44, 0x55, 0x66, 0x77,
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    0xAB, 0xCD,
    0x01, 0x02, 0x03, 0x04,
    'h', 'e', 'l', 'l', 'o',
    0x15, 0x00, /* offset 21: "hello" */
    0x05, 0x00,
    0x99,
};
/* clang-format on */

struct decoded {
    uint8_t a;
    uint16_t b;
    uint32_t c;
    uint64_t d;
    uint16_t e;
    uint32_t f;
    uint8_t g[5];
    uint8_t sub[5];
    uint8_t last;
};

static bool decode(const uint8_t *p, size_t n, struct decoded *o)
{
    struct wire_reader r, s;
    wire_reader_init(&r, p, n);
    o->a = wire_u8(&r);
    o->b = wire_u16(&r);
    o->c = wire_u32(&r);
    o->d = wire_u64(&r);
    o->e = wire_be16(&r);
    o->f = wire_be32(&r);
    wire_copy(&r, o->g, sizeof(o->g));
    uint16_t off = wire_u16(&r);
    uint16_t len = wire_u16(&r);
    wire_sub(&r, off, len, &s);
    wire_copy(&s, o->sub, sizeof(o->sub) < len ? sizeof(o->sub) : len);
    o->last = wire_u8(&r);
    return wire_ok(&r) && wire_ok(&s);
}

Test(wire, decode_full_structure)
{
    struct decoded o;
    cr_assert(decode(sample, sizeof(sample), &o));
    cr_assert_eq(o.a, 0x11);
    cr_assert_eq(o.b, 0x3322);
    cr_assert_eq(o.c, 0x77665544u);
    cr_assert_eq(o.d, 0x0807060504030201ull);
    cr_assert_eq(o.e, 0xABCD);
    cr_assert_eq(o.f, 0x01020304u);
    cr_assert_arr_eq(o.g, "hello", 5);
    cr_assert_arr_eq(o.sub, "hello", 5);
    cr_assert_eq(o.last, 0x99);
}

Test(wire, every_prefix_fails_cleanly)
{
    for (size_t l = 0; l < sizeof(sample); l++) {
        uint8_t *p = malloc(l ? l : 1);
        memcpy(p, sample, l);
        struct decoded o;
        memset(&o, 0x5A, sizeof(o));
        cr_assert_not(decode(l ? p : NULL, l, &o), "prefix %zu decoded", l);
        free(p);
    }
}

Test(wire, sticky_error_reads_zero)
{
    static const uint8_t b[] = {1, 2, 3};
    struct wire_reader r;
    wire_reader_init(&r, b, sizeof(b));
    cr_assert_eq(wire_u16(&r), 0x0201);
    cr_assert_eq(wire_u16(&r), 0); /* one byte left: fails */
    cr_assert_not(wire_ok(&r));
    cr_assert_eq(wire_remaining(&r), 0);
    cr_assert_eq(wire_u8(&r), 0, "the byte still there is not handed out after an error");
    cr_assert_null(wire_bytes(&r, 0));
    uint8_t dst[4] = {9, 9, 9, 9};
    wire_copy(&r, dst, 4);
    static const uint8_t z[4];
    cr_assert_arr_eq(dst, z, 4);
    cr_assert_eq(wire_u64(&r), 0);
    cr_assert_eq(wire_be32(&r), 0);
}

Test(wire, zero_length_reads_at_end)
{
    static const uint8_t b[] = {1};
    struct wire_reader r;
    wire_reader_init(&r, b, 1);
    wire_skip(&r, 1);
    cr_assert_not_null(wire_bytes(&r, 0));
    cr_assert(wire_ok(&r));
    wire_skip(&r, 1);
    cr_assert_not(wire_ok(&r));
}

Test(wire, hostile_sub_readers)
{
    static const uint8_t b[16] = {0};
    struct {
        size_t off, n;
        bool ok;
    } cases[] = {
        {0, 16, true},
        {16, 0, true},
        {15, 1, true},
        {17, 0, false},
        {16, 1, false},
        {0, 17, false},
        {SIZE_MAX, 0, false},
        {SIZE_MAX, 1, false},
        {1, SIZE_MAX, false},
        {SIZE_MAX, SIZE_MAX, false},
        {8, SIZE_MAX - 7, false},
        {SIZE_MAX - 7, 8, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wire_reader r, s;
        wire_reader_init(&r, b, sizeof(b));
        wire_sub(&r, cases[i].off, cases[i].n, &s);
        cr_assert_eq(wire_ok(&r), cases[i].ok, "case %zu", i);
        cr_assert_eq(wire_ok(&s), cases[i].ok, "case %zu", i);
        if (cases[i].ok) {
            cr_assert_eq(wire_remaining(&s), cases[i].n);
            cr_assert_eq(r.pos, 0, "wire_sub does not move the parent");
        } else {
            cr_assert_eq(wire_remaining(&s), 0);
            cr_assert_null(wire_bytes(&s, 1));
        }
    }
    /* A failed parent makes every later sub-reader fail. */
    struct wire_reader r, s;
    wire_reader_init(&r, b, sizeof(b));
    wire_skip(&r, 17);
    wire_sub(&r, 0, 1, &s);
    cr_assert_not(wire_ok(&s));
}

Test(wire, take_and_seek)
{
    static const uint8_t b[] = {1, 2, 3, 4, 5};
    struct wire_reader r, t;
    wire_reader_init(&r, b, sizeof(b));
    wire_take(&r, 2, &t);
    cr_assert(wire_ok(&t));
    cr_assert_eq(wire_u16(&t), 0x0201);
    cr_assert_eq(wire_u8(&t), 0);
    cr_assert_not(wire_ok(&t));
    cr_assert(wire_ok(&r), "an error in the sub-reader stays there");
    cr_assert_eq(wire_u8(&r), 3);
    wire_take(&r, 3, &t);
    cr_assert_not(wire_ok(&t));
    cr_assert_not(wire_ok(&r));

    wire_reader_init(&r, b, sizeof(b));
    wire_seek(&r, 5);
    cr_assert(wire_ok(&r));
    cr_assert_eq(wire_remaining(&r), 0);
    wire_seek(&r, 0);
    cr_assert_eq(wire_u8(&r), 1);
    wire_seek(&r, 6);
    cr_assert_not(wire_ok(&r));
    wire_reader_init(&r, b, sizeof(b));
    wire_seek(&r, SIZE_MAX);
    cr_assert_not(wire_ok(&r));
    wire_reader_init(&r, b, sizeof(b));
    wire_skip(&r, SIZE_MAX);
    cr_assert_not(wire_ok(&r));
}

static size_t encode(uint8_t *buf, size_t cap, bool *ok)
{
    struct wire_writer w;
    wire_writer_init(&w, buf, cap);
    wire_put_u8(&w, 0x11);
    wire_put_u16(&w, 0x3322);
    wire_put_u32(&w, 0x77665544u);
    wire_put_u64(&w, 0x0807060504030201ull);
    wire_put_be16(&w, 0xABCD);
    wire_put_be32(&w, 0x01020304u);
    wire_put_bytes(&w, "hello", 5);
    wire_put_u16(&w, 0); /* patched below */
    wire_put_u16(&w, 5);
    wire_put_zeros(&w, 1);
    wire_patch_u16(&w, 26, 21);
    wire_patch_u8(&w, 30, 0x99);
    *ok = wire_wok(&w);
    return w.pos;
}

Test(wire, writer_round_trip)
{
    uint8_t buf[64];
    bool ok;
    size_t n = encode(buf, sizeof(buf), &ok);
    cr_assert(ok);
    cr_assert_eq(n, sizeof(sample));
    cr_assert_arr_eq(buf, sample, sizeof(sample));
}

Test(wire, writer_overflow_at_every_cap)
{
    for (size_t cap = 0; cap < sizeof(sample); cap++) {
        /* Guard bytes after cap must stay untouched; ASAN checks the rest. */
        uint8_t *buf = malloc(cap + 8);
        memset(buf, 0xEE, cap + 8);
        bool ok = true;
        size_t n = encode(buf, cap, &ok);
        cr_assert_not(ok, "cap %zu", cap);
        cr_assert_leq(n, cap);
        for (size_t i = cap; i < cap + 8; i++)
            cr_assert_eq(buf[i], 0xEE, "cap %zu: byte %zu written", cap, i);
        free(buf);
    }
}

Test(wire, writer_patch_and_align_bounds)
{
    uint8_t buf[8];
    struct wire_writer w;
    wire_writer_init(&w, buf, sizeof(buf));
    wire_put_u8(&w, 1);
    wire_align(&w, 0, 4);
    cr_assert_eq(w.pos, 4);
    wire_align(&w, 0, 4);
    cr_assert_eq(w.pos, 4);
    wire_align(&w, 1, 2); /* relative to base 1: 3 is odd -> pad */
    cr_assert_eq(w.pos, 5);
    cr_assert(wire_wok(&w));
    wire_patch_u16(&w, 4, 7); /* would cover byte 5, not yet written */
    cr_assert_not(wire_wok(&w));

    wire_writer_init(&w, buf, sizeof(buf));
    wire_put_u32(&w, 0);
    wire_patch_u32(&w, 0, 0xDEADBEEF);
    cr_assert(wire_wok(&w));
    cr_assert_eq(wire_le32(buf), 0xDEADBEEF);
    wire_patch_be16(&w, 2, 0x0102);
    cr_assert_eq(buf[2], 1);
    cr_assert_eq(buf[3], 2);
    wire_patch_u8(&w, SIZE_MAX, 1);
    cr_assert_not(wire_wok(&w));

    wire_writer_init(&w, buf, sizeof(buf));
    wire_put_zeros(&w, 7);
    wire_align(&w, 0, 4); /* needs 1 more byte than is left? 7 -> 8 fits */
    cr_assert(wire_wok(&w));
    wire_align(&w, 0, 16);
    cr_assert_not(wire_wok(&w));

    wire_writer_init(&w, buf, sizeof(buf));
    wire_put_bytes(&w, buf, SIZE_MAX);
    cr_assert_not(wire_wok(&w));
    cr_assert_eq(w.pos, 0);
}

Test(wire, le_helpers)
{
    uint8_t b[4];
    wire_st16(b, 0xA1B2);
    cr_assert_eq(b[0], 0xB2);
    cr_assert_eq(wire_le16(b), 0xA1B2);
    wire_st32(b, 0x01020304);
    cr_assert_eq(b[0], 4);
    cr_assert_eq(b[3], 1);
    cr_assert_eq(wire_le32(b), 0x01020304);
}
