#include "netbios/nbname.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

bool nbname_valid(const char *name)
{
    if (!name)
        return false;
    size_t n = strlen(name);
    return n >= 1 && n <= NBNAME_LEN && !strchr(name, '.');
}

int nbname_raw(const char *name, uint8_t suffix, uint8_t raw[16])
{
    if (!name)
        return -EINVAL;
    size_t n = strlen(name);
    if (n == 0 || n > NBNAME_LEN)
        return -EINVAL;
    /* RFC 1002 4.1 pads with spaces; "*" (node status) and the browse
     * name, which fills all 15 bytes anyway, are special. */
    uint8_t pad = strcmp(name, "*") == 0 ? 0x00 : ' ';
    for (size_t i = 0; i < NBNAME_LEN; i++)
        raw[i] = i < n ? (uint8_t)toupper((unsigned char)name[i]) : pad;
    raw[15] = suffix;
    return 0;
}

void nbname_encode_raw(const uint8_t raw[16], char out[32])
{
    for (size_t i = 0; i < 16; i++) {
        out[2 * i] = (char)('A' + (raw[i] >> 4));
        out[2 * i + 1] = (char)('A' + (raw[i] & 0x0F));
    }
}

int nbname_encode(const char *name, uint8_t suffix, uint8_t out[NBNAME_ENC_LEN])
{
    uint8_t raw[16];
    int r = nbname_raw(name, suffix, raw);
    if (r)
        return r;
    out[0] = 0x20;
    nbname_encode_raw(raw, (char *)out + 1);
    out[33] = 0x00;
    return 0;
}

#define NBNAME_MAX_HOPS 8 /* pointers followed for one name */

int nbname_decode(struct wire_reader *r, uint8_t raw[16], char *scope, size_t scope_cap)
{
    struct wire_reader cur = *r;
    size_t so = 0;
    bool first = true, jumped = false;
    int hops = 0;
    if (scope_cap)
        scope[0] = 0;
    for (;;) {
        size_t at = cur.pos;
        uint8_t len = wire_u8(&cur);
        if (!wire_ok(&cur))
            goto bad;
        if ((len & 0xC0) == 0xC0) {
            uint8_t lo = wire_u8(&cur);
            if (!wire_ok(&cur))
                goto bad;
            size_t target = (size_t)(len & 0x3F) << 8 | lo;
            /* Only backwards: no loops, and labels already seen. */
            if (target >= at || ++hops > NBNAME_MAX_HOPS)
                goto bad;
            if (!jumped)
                r->pos = cur.pos;
            jumped = true;
            wire_seek(&cur, target);
            continue;
        }
        if (len & 0xC0)
            goto bad;
        if (len == 0)
            break;
        const uint8_t *p = wire_bytes(&cur, len);
        if (!p)
            goto bad;
        if (first) {
            if (len != 32)
                goto bad;
            for (size_t i = 0; i < 16; i++) {
                uint8_t hi = (uint8_t)(p[2 * i] - 'A'), lo = (uint8_t)(p[2 * i + 1] - 'A');
                if (hi > 15 || lo > 15)
                    goto bad;
                raw[i] = (uint8_t)(hi << 4 | lo);
            }
            first = false;
            continue;
        }
        if (scope_cap) {
            if (so && so + 1 < scope_cap)
                scope[so++] = '.';
            for (size_t i = 0; i < len && so + 1 < scope_cap; i++)
                scope[so++] = (char)p[i];
            scope[so] = 0;
        }
    }
    if (first)
        goto bad;
    if (!jumped)
        r->pos = cur.pos;
    return 0;
bad:
    r->err = true;
    return -EIO;
}

void nbname_strip(const uint8_t raw[16], char out[16])
{
    size_t n = NBNAME_LEN;
    while (n > 0 && (raw[n - 1] == ' ' || raw[n - 1] == 0))
        n--;
    for (size_t i = 0; i < n; i++)
        out[i] = (raw[i] >= 0x20 && raw[i] < 0x7F) ? (char)raw[i] : '.';
    out[n] = 0;
}

void nbname_format(const uint8_t raw[16], char out[24])
{
    char s[16];
    nbname_strip(raw, s);
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    memcpy(out, s, n);
    out[n++] = '<';
    out[n++] = hex[raw[15] >> 4];
    out[n++] = hex[raw[15] & 15];
    out[n++] = '>';
    out[n] = 0;
}
