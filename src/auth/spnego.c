/* SPNEGO DER for NTLMSSP (DIGEST 8.4; RFC 4178 4.2, MS-SPNG 2.2.1).
 *
 * Encoders size every layer from the inside out and write once into an
 * exact buffer. The decoder reads one TLV at a time through a wire_reader:
 * a TLV's content becomes a sub-reader, so nothing inside can reach past
 * what encloses it.
 */
#include "auth/spnego.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

/* OID 1.3.6.1.5.5.2 (SPNEGO) without its 06 tag and length. */
static const uint8_t oid_spnego[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
/* The MechTypeList we send: SEQUENCE { OID 1.3.6.1.4.1.311.2.2.10 (NTLMSSP) }. */
static const uint8_t mech_list[] = {0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01,
                                    0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};
#define OID_NTLMSSP     (mech_list + 4)
#define OID_NTLMSSP_LEN 10

#define TAG_APPLICATION0 0x60
#define TAG_SEQUENCE     0x30
#define TAG_OID          0x06
#define TAG_OCTET_STRING 0x04
#define TAG_ENUMERATED   0x0a
#define TAG_CTX(n)       (0xa0 + (n))

#define MAX_TOKEN (1u << 24)

/* ---- encoding ---- */

static size_t len_size(size_t n)
{
    if (n < 0x80)
        return 1;
    size_t k = 0;
    for (size_t v = n; v; v >>= 8)
        k++;
    return 1 + k;
}

/* Size of a whole TLV with content of n bytes. */
static size_t tlv_size(size_t n)
{
    return 1 + len_size(n) + n;
}

static void put_hdr(struct wire_writer *w, uint8_t tag, size_t n)
{
    wire_put_u8(w, tag);
    if (n < 0x80) {
        wire_put_u8(w, (uint8_t)n);
        return;
    }
    size_t k = len_size(n) - 1;
    wire_put_u8(w, (uint8_t)(0x80 | k));
    while (k--)
        wire_put_u8(w, (uint8_t)(n >> (8 * k)));
}

static int finish(uint8_t *buf, struct wire_writer *w, size_t total, uint8_t **out, size_t *out_len)
{
    if (!wire_wok(w) || w->pos != total) {
        free(buf);
        return -EIO;
    }
    *out = buf;
    *out_len = total;
    return 0;
}

int spnego_wrap_init(const uint8_t *token, size_t n, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (n > MAX_TOKEN)
        return -EINVAL;
    size_t mech_types = sizeof(mech_list);                      /* 30 L oids */
    size_t tok = tlv_size(n);                                   /* 04 L token */
    size_t seq = tlv_size(mech_types) + tlv_size(tok);          /* a0 ..., a2 ... */
    size_t init = tlv_size(seq);                                /* 30 L seq */
    size_t app = tlv_size(sizeof(oid_spnego)) + tlv_size(init); /* 06 ..., a0 ... */
    size_t total = tlv_size(app);
    uint8_t *buf = malloc(total);
    if (!buf)
        return -ENOMEM;
    struct wire_writer w;
    wire_writer_init(&w, buf, total);
    put_hdr(&w, TAG_APPLICATION0, app);
    put_hdr(&w, TAG_OID, sizeof(oid_spnego));
    wire_put_bytes(&w, oid_spnego, sizeof(oid_spnego));
    put_hdr(&w, TAG_CTX(0), init);
    put_hdr(&w, TAG_SEQUENCE, seq);
    put_hdr(&w, TAG_CTX(0), mech_types);
    wire_put_bytes(&w, mech_list, sizeof(mech_list));
    put_hdr(&w, TAG_CTX(2), tok);
    put_hdr(&w, TAG_OCTET_STRING, n);
    wire_put_bytes(&w, token, n);
    return finish(buf, &w, total, out, out_len);
}

int spnego_wrap_resp(const uint8_t *token, size_t n, const uint8_t *mic, size_t mic_len,
                     uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (n > MAX_TOKEN || mic_len > MAX_TOKEN)
        return -EINVAL;
    size_t tok = n ? tlv_size(tlv_size(n)) : 0;
    size_t m = mic_len ? tlv_size(tlv_size(mic_len)) : 0;
    size_t seq = tok + m;
    size_t total = tlv_size(tlv_size(seq));
    uint8_t *buf = malloc(total);
    if (!buf)
        return -ENOMEM;
    struct wire_writer w;
    wire_writer_init(&w, buf, total);
    put_hdr(&w, TAG_CTX(1), tlv_size(seq));
    put_hdr(&w, TAG_SEQUENCE, seq);
    if (n) {
        put_hdr(&w, TAG_CTX(2), tlv_size(n));
        put_hdr(&w, TAG_OCTET_STRING, n);
        wire_put_bytes(&w, token, n);
    }
    if (mic_len) {
        put_hdr(&w, TAG_CTX(3), tlv_size(mic_len));
        put_hdr(&w, TAG_OCTET_STRING, mic_len);
        wire_put_bytes(&w, mic, mic_len);
    }
    return finish(buf, &w, total, out, out_len);
}

void spnego_mech_list(const uint8_t **p, size_t *n)
{
    *p = mech_list;
    *n = sizeof(mech_list);
}

/* ---- decoding ---- */

/* Reads one TLV: a single-byte tag (the high-tag-number form 0x1f is not
 * used by SPNEGO) and a definite length of at most 4 bytes; the content
 * becomes *val and r moves past it. Sets r's sticky error on any fault. */
static uint8_t der_next(struct wire_reader *r, struct wire_reader *val)
{
    uint8_t tag = wire_u8(r);
    uint8_t b = wire_u8(r);
    size_t len = b;
    if ((tag & 0x1f) == 0x1f || b == 0x80 || b > 0x84) {
        r->err = true;
    } else if (b > 0x80) {
        len = 0;
        for (int k = b & 0x7f; k > 0; k--)
            len = len << 8 | wire_u8(r);
    }
    wire_take(r, len, val);
    return wire_ok(r) ? tag : 0;
}

/* Reads a TLV that must have the given tag. */
static bool der_expect(struct wire_reader *r, uint8_t tag, struct wire_reader *val)
{
    if (der_next(r, val) != tag) {
        r->err = true;
        val->err = true;
        return false;
    }
    return true;
}

/* An explicit context tag around one inner TLV of tag inner that fills it. */
static bool der_wrapped(struct wire_reader *ctx, uint8_t inner, struct wire_reader *val)
{
    return der_expect(ctx, inner, val) && wire_remaining(ctx) == 0;
}

static bool oid_is(const struct wire_reader *oid, const uint8_t *want, size_t n)
{
    return oid->len == n && memcmp(oid->buf, want, n) == 0;
}

int spnego_parse_resp(const uint8_t *p, size_t n, struct spnego_resp *out)
{
    memset(out, 0, sizeof(*out));
    out->neg_state = SPNEGO_ABSENT;
    struct wire_reader r, top, seq;
    wire_reader_init(&r, p, n);
    if (!der_expect(&r, TAG_CTX(1), &top) || wire_remaining(&r) != 0)
        return -EINVAL;
    if (!der_expect(&top, TAG_SEQUENCE, &seq) || wire_remaining(&top) != 0)
        return -EINVAL;
    int last = -1;
    while (wire_remaining(&seq) > 0) {
        struct wire_reader ctx, val;
        uint8_t tag = der_next(&seq, &ctx);
        int idx = tag - TAG_CTX(0);
        /* DER: each field at most once, in tag order. */
        if (!wire_ok(&seq) || idx < 0 || idx > 3 || idx <= last)
            return -EINVAL;
        last = idx;
        switch (idx) {
        case 0: {
            if (!der_wrapped(&ctx, TAG_ENUMERATED, &val) || val.len != 1)
                return -EINVAL;
            uint8_t st = wire_u8(&val);
            if (st > SPNEGO_REQUEST_MIC)
                return -EINVAL;
            out->neg_state = st;
            break;
        }
        case 1:
            if (!der_wrapped(&ctx, TAG_OID, &val) || val.len == 0)
                return -EINVAL;
            out->has_mech = true;
            out->mech_is_ntlmssp = oid_is(&val, OID_NTLMSSP, OID_NTLMSSP_LEN);
            break;
        case 2:
            if (!der_wrapped(&ctx, TAG_OCTET_STRING, &val))
                return -EINVAL;
            out->token = val.buf;
            out->token_len = val.len;
            break;
        case 3:
            if (!der_wrapped(&ctx, TAG_OCTET_STRING, &val))
                return -EINVAL;
            out->mic = val.buf;
            out->mic_len = val.len;
            break;
        }
    }
    if (!wire_ok(&seq)) {
        memset(out, 0, sizeof(*out));
        out->neg_state = SPNEGO_ABSENT;
        return -EINVAL;
    }
    return 0;
}

/* mechTypes: SEQUENCE OF OID, at least one. */
static int parse_mech_types(struct wire_reader *ctx, bool *ntlmssp)
{
    struct wire_reader list;
    if (!der_wrapped(ctx, TAG_SEQUENCE, &list) || wire_remaining(&list) == 0)
        return -EINVAL;
    while (wire_remaining(&list) > 0) {
        struct wire_reader oid;
        if (!der_expect(&list, TAG_OID, &oid) || oid.len == 0)
            return -EINVAL;
        if (oid_is(&oid, OID_NTLMSSP, OID_NTLMSSP_LEN))
            *ntlmssp = true;
    }
    return wire_ok(&list) ? 0 : -EINVAL;
}

int spnego_parse_hint(const uint8_t *p, size_t n, bool *offers_ntlmssp)
{
    *offers_ntlmssp = false;
    if (n == 0) {
        /* No hint: the server leaves the choice of mechanism to us. */
        *offers_ntlmssp = true;
        return 0;
    }
    struct wire_reader r, app, oid, init, seq;
    wire_reader_init(&r, p, n);
    if (!der_expect(&r, TAG_APPLICATION0, &app) || wire_remaining(&r) != 0)
        return -EINVAL;
    if (!der_expect(&app, TAG_OID, &oid) || !oid_is(&oid, oid_spnego, sizeof(oid_spnego)))
        return -EINVAL;
    if (!der_expect(&app, TAG_CTX(0), &init) || wire_remaining(&app) != 0)
        return -EINVAL;
    if (!der_wrapped(&init, TAG_SEQUENCE, &seq))
        return -EINVAL;
    /* NegTokenInit2: [0] mechTypes [1] reqFlags [2] mechToken [3] negHints
     * [4] mechListMIC; only mechTypes matters to us, the rest must still be
     * well-formed TLVs in order. */
    bool found = false;
    int last = -1;
    while (wire_remaining(&seq) > 0) {
        struct wire_reader ctx;
        uint8_t tag = der_next(&seq, &ctx);
        int idx = tag - TAG_CTX(0);
        if (!wire_ok(&seq) || idx < 0 || idx > 4 || idx <= last)
            return -EINVAL;
        last = idx;
        if (idx == 0) {
            if (parse_mech_types(&ctx, &found))
                return -EINVAL;
        } else {
            struct wire_reader inner;
            der_next(&ctx, &inner);
            if (!wire_ok(&ctx) || wire_remaining(&ctx) != 0)
                return -EINVAL;
        }
    }
    if (!wire_ok(&seq))
        return -EINVAL;
    *offers_ntlmssp = found;
    return 0;
}
