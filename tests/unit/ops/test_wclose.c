/* WRITE_ANDX + CLOSE in one AndX chain: the request's layout (the CLOSE
 * block where AndXOffset points, the data where DataOffset points) and the
 * three kinds of reply: both done, the write done and the CLOSE refused,
 * the write refused (nothing closed). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "ops/op_wclose.h"
#include "wire/ntstatus.h"

static uint16_t ld16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t ld32(const uint8_t *p)
{
    return ld16(p) | (uint32_t)ld16(p + 2) << 16;
}

Test(wclose, request_layout)
{
    uint8_t data[10] = "0123456789";
    struct wclose_req q = {data, sizeof(data), 0x100000005ull, 0x5f5e1000, 0, 0, 0, NULL};
    struct msg_out m;
    cr_assert_eq(wclose_build(&m, 0x1234, 7, &q), 0);
    cr_assert_eq(m.want_epoch, 7);
    const uint8_t *smb = msg_smb(&m);
    size_t len = msg_smb_len(&m);
    cr_assert_eq(smb[4], SMB1_COM_WRITE_ANDX);
    const uint8_t *w = smb + SMB1_HDR_LEN;
    cr_assert_eq(w[0], 14, "WordCount with OffsetHigh");
    cr_assert_eq(w[1], SMB1_COM_CLOSE, "AndXCommand");
    uint16_t andx = ld16(w + 3);
    cr_assert_eq(ld16(w + 5), 0x1234, "FID");
    cr_assert_eq(ld32(w + 7), 5, "Offset");
    cr_assert_eq(ld16(w + 21), sizeof(data), "DataLength");
    uint16_t doff = ld16(w + 23);
    cr_assert_eq(ld32(w + 25), 1, "OffsetHigh");
    cr_assert(doff + sizeof(data) <= andx, "the data ends before the CLOSE");
    cr_assert_eq(memcmp(smb + doff, data, sizeof(data)), 0);
    uint16_t bcc = ld16(w + 29);
    cr_assert_eq((size_t)SMB1_HDR_LEN + 31 + bcc, doff + sizeof(data), "ByteCount covers pad+data");
    cr_assert_eq(andx % 2, 0);
    const uint8_t *c = smb + andx;
    cr_assert_eq(c[0], 3, "CLOSE WordCount");
    cr_assert_eq(ld16(c + 1), 0x1234);
    cr_assert_eq(ld32(c + 3), 0x5f5e1000, "LastTimeModified");
    cr_assert_eq(ld16(c + 7), 0, "CLOSE ByteCount");
    cr_assert_eq(andx + 9u, len, "nothing after the CLOSE");
    cr_assert(len <= WCLOSE_OVERHEAD + sizeof(data));
    msg_out_free(&m);
}

/* A reply frame: header with status, then the given blocks. */
static size_t reply(uint8_t *f, uint32_t status, const uint8_t *blocks, size_t n)
{
    memset(f, 0, SMB1_HDR_LEN);
    memcpy(f, "\xffSMB", 4);
    f[4] = SMB1_COM_WRITE_ANDX;
    f[5] = (uint8_t)status;
    f[6] = (uint8_t)(status >> 8);
    f[7] = (uint8_t)(status >> 16);
    f[8] = (uint8_t)(status >> 24);
    f[9] = 0x80; /* reply */
    f[10] = 0x01;
    f[11] = 0xc0; /* Flags2: NT status, Unicode */
    memcpy(f + SMB1_HDR_LEN, blocks, n);
    return SMB1_HDR_LEN + n;
}

/* WRITE_ANDX response (6 words) chained to an empty CLOSE response. */
static const uint8_t both[] = {
    6,  SMB1_COM_CLOSE,
    0,  47,
    0, /* AndX -> offset 47 */
    10, 0,
    0,  0,
    0,  0,
    0,  0, /* Count 10, Available, CountHigh, Reserved */
    0,  0, /* ByteCount */
    0,     /* CLOSE: WordCount 0 */
    0,  0, /* ByteCount */
};

static ssize_t parse(uint32_t status, const uint8_t *blocks, size_t n, struct wclose_req *q)
{
    static uint8_t f[256];
    size_t len = reply(f, status, blocks, n);
    struct msg_in in;
    const char *why = NULL;
    cr_assert_eq(msg_in_parse(&in, f, len, &why), MSG_REPLY, "%s", why ? why : "");
    return wclose_parse(&in, q);
}

Test(wclose, both_done)
{
    struct wclose_req q = {NULL, 10, 0, 0, -1, 0, 0, NULL};
    cr_assert_eq(parse(NT_STATUS_OK, both, sizeof(both), &q), 10);
    cr_assert_eq(q.close_err, 0);
}

Test(wclose, close_refused_after_the_write)
{
    struct wclose_req q = {NULL, 10, 0, 0, 0, 0, 0, NULL};
    cr_assert_eq(parse(0xC0000008 /* INVALID_HANDLE */, both, sizeof(both), &q), 10,
                 "the data is written");
    cr_assert_lt(q.close_err, 0);
}

Test(wclose, write_refused_nothing_closed)
{
    static const uint8_t none[] = {0, 0, 0};
    struct wclose_req q = {NULL, 10, 0, 0, 0, 0, 0, NULL};
    cr_assert_eq(parse(0xC000007F /* DISK_FULL */, none, sizeof(none), &q), -ENOSPC);
    cr_assert_eq(parse(NT_STATUS_OK, none, sizeof(none), &q), -EIO, "success without the blocks");
}

Test(wclose, short_count_is_reported)
{
    uint8_t b[sizeof(both)];
    memcpy(b, both, sizeof(b));
    b[5] = 4;
    struct wclose_req q = {NULL, 10, 0, 0, 0, 0, 0, NULL};
    cr_assert_eq(parse(NT_STATUS_OK, b, sizeof(b), &q), 4);
}

Test(wclose, count_above_the_request_is_a_lie)
{
    /* 12 of 10 bytes (and 0x10000 + 12 with CountHigh): more than was
     * sent is -EIO, as for a lone WRITE_ANDX (found by fuzz_replies). */
    uint8_t b[sizeof(both)];
    memcpy(b, both, sizeof(b));
    b[5] = 12;
    struct wclose_req q = {NULL, 10, 0, 0, 0, 0, 0, NULL};
    cr_assert_eq(parse(NT_STATUS_OK, b, sizeof(b), &q), -EIO);
    b[9] = 1; /* CountHigh */
    cr_assert_eq(parse(NT_STATUS_OK, b, sizeof(b), &q), -EIO);
}
