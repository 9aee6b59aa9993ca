#include "rpc/ndr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/text.h"

void ndr_align(struct wire_reader *r, size_t n)
{
    wire_skip(r, (n - (r->pos & (n - 1))) & (n - 1));
}

void ndr_put_align(struct wire_writer *w, size_t n)
{
    wire_align(w, 0, n);
}

char *ndr_get_wstring(struct wire_reader *r, int *err)
{
    ndr_align(r, 4);
    uint32_t max = wire_u32(r);
    uint32_t off = wire_u32(r);
    uint32_t actual = wire_u32(r);
    if (!wire_ok(r) || off != 0 || actual > max || actual > NDR_MAX_STRING) {
        *err = -EIO;
        return NULL;
    }
    const uint8_t *p = wire_bytes(r, (size_t)actual * 2);
    if (!p) {
        *err = -EIO;
        return NULL;
    }
    int e = 0;
    char *s = text_utf16_to_utf8(p, (size_t)actual * 2, &e);
    if (!s)
        *err = e == -ENOMEM ? -ENOMEM : -EIO;
    return s;
}

int ndr_put_wstring(struct wire_writer *w, const char *s)
{
    size_t slen = strlen(s);
    uint8_t tmp[2 * 512];
    size_t n = 0;
    if (slen && text_utf8_to_utf16(s, slen, tmp, sizeof(tmp), &n))
        return -EINVAL;
    uint32_t units = (uint32_t)(n / 2 + 1);
    ndr_put_align(w, 4);
    wire_put_u32(w, units);
    wire_put_u32(w, 0);
    wire_put_u32(w, units);
    wire_put_bytes(w, tmp, n);
    wire_put_u16(w, 0);
    return wire_wok(w) ? 0 : -EINVAL;
}

int ndr_put_unique_wstring(struct wire_writer *w, const char *s, uint32_t *ref)
{
    ndr_put_align(w, 4);
    if (!s) {
        wire_put_u32(w, 0);
        return wire_wok(w) ? 0 : -EINVAL;
    }
    *ref += 4;
    wire_put_u32(w, *ref);
    return ndr_put_wstring(w, s);
}
