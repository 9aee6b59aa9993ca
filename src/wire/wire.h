/* Bounds-checked little-endian reader and capped writer for wire bytes.
 *
 * Every byte that comes from the network is read through a wire_reader.
 * Its error is sticky: a read past the end sets err, returns zeros from then
 * on and never touches memory outside the buffer, so a decoder reads a whole
 * structure and checks wire_ok() once at the end.
 *
 * The writer never writes past cap; an overflow sets its sticky err.
 */
#ifndef SMBFUSE_WIRE_H
#define SMBFUSE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wire_reader {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    bool err;
};

struct wire_writer {
    uint8_t *buf;
    size_t cap;
    size_t pos;
    bool err;
};

void wire_reader_init(struct wire_reader *r, const void *buf, size_t len);
static inline bool wire_ok(const struct wire_reader *r)
{
    return !r->err;
}
static inline size_t wire_remaining(const struct wire_reader *r)
{
    return r->err ? 0 : r->len - r->pos;
}

uint8_t wire_u8(struct wire_reader *r);
uint16_t wire_u16(struct wire_reader *r);
uint32_t wire_u32(struct wire_reader *r);
uint64_t wire_u64(struct wire_reader *r);
uint16_t wire_be16(struct wire_reader *r);
uint32_t wire_be32(struct wire_reader *r);
/* Returns a pointer to the next n bytes and advances, or NULL (and err). */
const uint8_t *wire_bytes(struct wire_reader *r, size_t n);
/* Copies n bytes out; on error zero-fills dst. */
void wire_copy(struct wire_reader *r, void *dst, size_t n);
void wire_skip(struct wire_reader *r, size_t n);
/* Moves to an absolute position within the buffer (pos <= len). */
void wire_seek(struct wire_reader *r, size_t pos);
/* A reader over [off, off+n) of r's buffer (absolute offsets), checked by
 * subtraction; on failure both r and out get err set. Does not move r. */
void wire_sub(struct wire_reader *r, size_t off, size_t n, struct wire_reader *out);
/* Takes the next n bytes as a sub-reader and advances past them. */
void wire_take(struct wire_reader *r, size_t n, struct wire_reader *out);

void wire_writer_init(struct wire_writer *w, void *buf, size_t cap);
static inline bool wire_wok(const struct wire_writer *w)
{
    return !w->err;
}
void wire_put_u8(struct wire_writer *w, uint8_t v);
void wire_put_u16(struct wire_writer *w, uint16_t v);
void wire_put_u32(struct wire_writer *w, uint32_t v);
void wire_put_u64(struct wire_writer *w, uint64_t v);
void wire_put_be16(struct wire_writer *w, uint16_t v);
void wire_put_be32(struct wire_writer *w, uint32_t v);
void wire_put_bytes(struct wire_writer *w, const void *p, size_t n);
void wire_put_zeros(struct wire_writer *w, size_t n);
/* Room for n bytes the caller fills (NULL, and the writer failed, when
 * there is none). */
uint8_t *wire_put_space(struct wire_writer *w, size_t n);
/* Pads with zeros until (pos - base) is a multiple of align. */
void wire_align(struct wire_writer *w, size_t base, size_t align);
/* Overwrites an already written field at an absolute position. */
void wire_patch_u8(struct wire_writer *w, size_t at, uint8_t v);
void wire_patch_u16(struct wire_writer *w, size_t at, uint16_t v);
void wire_patch_u32(struct wire_writer *w, size_t at, uint32_t v);
void wire_patch_be16(struct wire_writer *w, size_t at, uint16_t v);

/* Plain little-endian loads/stores on memory the caller has bounds-checked. */
static inline uint16_t wire_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t wire_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void wire_st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void wire_st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

#endif
