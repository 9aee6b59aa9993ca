#include "wire/wire.h"

#include <string.h>

void wire_reader_init(struct wire_reader *r, const void *buf, size_t len)
{
    r->buf = buf;
    r->len = buf ? len : 0;
    r->pos = 0;
    r->err = false;
}

/* Reserves n bytes for reading; NULL (and sticky err) if they are not there. */
static const uint8_t *take(struct wire_reader *r, size_t n)
{
    if (r->err || n > r->len - r->pos) {
        r->err = true;
        return NULL;
    }
    const uint8_t *p = r->buf + r->pos;
    r->pos += n;
    return p;
}

uint8_t wire_u8(struct wire_reader *r)
{
    const uint8_t *p = take(r, 1);
    return p ? p[0] : 0;
}

uint16_t wire_u16(struct wire_reader *r)
{
    const uint8_t *p = take(r, 2);
    return p ? wire_le16(p) : 0;
}

uint32_t wire_u32(struct wire_reader *r)
{
    const uint8_t *p = take(r, 4);
    return p ? wire_le32(p) : 0;
}

uint64_t wire_u64(struct wire_reader *r)
{
    const uint8_t *p = take(r, 8);
    return p ? (uint64_t)wire_le32(p) | (uint64_t)wire_le32(p + 4) << 32 : 0;
}

uint16_t wire_be16(struct wire_reader *r)
{
    const uint8_t *p = take(r, 2);
    return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

uint32_t wire_be32(struct wire_reader *r)
{
    const uint8_t *p = take(r, 4);
    return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

const uint8_t *wire_bytes(struct wire_reader *r, size_t n)
{
    return take(r, n);
}

void wire_copy(struct wire_reader *r, void *dst, size_t n)
{
    const uint8_t *p = take(r, n);
    if (p)
        memcpy(dst, p, n);
    else if (n)
        memset(dst, 0, n);
}

void wire_skip(struct wire_reader *r, size_t n)
{
    (void)take(r, n);
}

void wire_seek(struct wire_reader *r, size_t pos)
{
    if (r->err || pos > r->len) {
        r->err = true;
        return;
    }
    r->pos = pos;
}

void wire_sub(struct wire_reader *r, size_t off, size_t n, struct wire_reader *out)
{
    if (r->err || off > r->len || n > r->len - off) {
        r->err = true;
        wire_reader_init(out, NULL, 0);
        out->err = true;
        return;
    }
    wire_reader_init(out, r->buf + off, n);
}

void wire_take(struct wire_reader *r, size_t n, struct wire_reader *out)
{
    const uint8_t *p = take(r, n);
    wire_reader_init(out, p, p ? n : 0);
    out->err = p == NULL;
}

void wire_writer_init(struct wire_writer *w, void *buf, size_t cap)
{
    w->buf = buf;
    w->cap = buf ? cap : 0;
    w->pos = 0;
    w->err = false;
}

static uint8_t *reserve(struct wire_writer *w, size_t n)
{
    if (w->err || n > w->cap - w->pos) {
        w->err = true;
        return NULL;
    }
    uint8_t *p = w->buf + w->pos;
    w->pos += n;
    return p;
}

void wire_put_u8(struct wire_writer *w, uint8_t v)
{
    uint8_t *p = reserve(w, 1);
    if (p)
        p[0] = v;
}

void wire_put_u16(struct wire_writer *w, uint16_t v)
{
    uint8_t *p = reserve(w, 2);
    if (p)
        wire_st16(p, v);
}

void wire_put_u32(struct wire_writer *w, uint32_t v)
{
    uint8_t *p = reserve(w, 4);
    if (p)
        wire_st32(p, v);
}

void wire_put_u64(struct wire_writer *w, uint64_t v)
{
    uint8_t *p = reserve(w, 8);
    if (p) {
        wire_st32(p, (uint32_t)v);
        wire_st32(p + 4, (uint32_t)(v >> 32));
    }
}

void wire_put_be16(struct wire_writer *w, uint16_t v)
{
    uint8_t *p = reserve(w, 2);
    if (p) {
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
    }
}

void wire_put_be32(struct wire_writer *w, uint32_t v)
{
    uint8_t *p = reserve(w, 4);
    if (p) {
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
    }
}

void wire_put_bytes(struct wire_writer *w, const void *src, size_t n)
{
    uint8_t *p = reserve(w, n);
    if (p && n)
        memcpy(p, src, n);
}

uint8_t *wire_put_space(struct wire_writer *w, size_t n)
{
    return reserve(w, n);
}

void wire_put_zeros(struct wire_writer *w, size_t n)
{
    uint8_t *p = reserve(w, n);
    if (p && n)
        memset(p, 0, n);
}

void wire_align(struct wire_writer *w, size_t base, size_t align)
{
    if (w->err || align == 0 || w->pos < base)
        return;
    size_t rem = (w->pos - base) % align;
    if (rem)
        wire_put_zeros(w, align - rem);
}

static uint8_t *at(struct wire_writer *w, size_t pos, size_t n)
{
    if (w->err || pos > w->pos || n > w->pos - pos) {
        w->err = true;
        return NULL;
    }
    return w->buf + pos;
}

void wire_patch_u8(struct wire_writer *w, size_t pos, uint8_t v)
{
    uint8_t *p = at(w, pos, 1);
    if (p)
        p[0] = v;
}

void wire_patch_u16(struct wire_writer *w, size_t pos, uint16_t v)
{
    uint8_t *p = at(w, pos, 2);
    if (p)
        wire_st16(p, v);
}

void wire_patch_u32(struct wire_writer *w, size_t pos, uint32_t v)
{
    uint8_t *p = at(w, pos, 4);
    if (p)
        wire_st32(p, v);
}

void wire_patch_be16(struct wire_writer *w, size_t pos, uint16_t v)
{
    uint8_t *p = at(w, pos, 2);
    if (p) {
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
    }
}
