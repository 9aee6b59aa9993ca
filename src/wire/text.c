#include "wire/text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

long text_utf8_next(const char *str, size_t n, size_t *i)
{
    const unsigned char *s = (const unsigned char *)str;
    if (*i >= n)
        return -1;
    unsigned char c = s[*i];
    size_t need;
    uint32_t cp, min;
    /* A NUL inside a name would cut it short on the server. */
    if (c == 0)
        return -1;
    if (c < 0x80) {
        (*i)++;
        return c;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        cp = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        cp = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return -1; /* continuation byte, 0xC0/0xC1 (always overlong) or 0xF5.. */
    }
    if (need > n - *i - 1)
        return -1;
    for (size_t k = 1; k <= need; k++) {
        unsigned char cc = s[*i + k];
        if ((cc & 0xC0) != 0x80)
            return -1;
        cp = cp << 6 | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *i += need + 1;
    return (long)cp;
}

int text_utf8_to_utf16(const char *s, size_t slen, uint8_t *out, size_t cap, size_t *outlen)
{
    size_t i = 0, o = 0;
    *outlen = 0;
    while (i < slen) {
        long cp = text_utf8_next(s, slen, &i);
        if (cp < 0)
            return -EILSEQ;
        if (cp >= 0x10000) {
            if (cap - o < 4) /* o <= cap holds throughout */
                return -ENAMETOOLONG;
            uint32_t v = (uint32_t)cp - 0x10000;
            wire_st16(out + o, (uint16_t)(0xD800 | v >> 10));
            wire_st16(out + o + 2, (uint16_t)(0xDC00 | (v & 0x3FF)));
            o += 4;
        } else {
            if (cap - o < 2)
                return -ENAMETOOLONG;
            wire_st16(out + o, (uint16_t)cp);
            o += 2;
        }
    }
    *outlen = o;
    return 0;
}

long text_utf16_len(const char *s)
{
    size_t n = strlen(s);
    size_t i = 0;
    long total = 0;
    while (i < n) {
        long cp = text_utf8_next(s, n, &i);
        if (cp < 0)
            return -EILSEQ;
        total += cp >= 0x10000 ? 4 : 2;
    }
    return total;
}

/* Appends cp as UTF-8; out has room (the caller sized it for 3 bytes per
 * unit, and a 4-byte sequence always comes from two units). */
static size_t put_utf8(char *out, uint32_t cp)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

char *text_utf16_to_utf8(const uint8_t *p, size_t n, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    *err = 0;
    if (!p && n) {
        *err = -EINVAL;
        return NULL;
    }
    size_t units = n / 2;
    /* A dangling odd byte is half a character, unless a terminator comes
     * before it: refuse the string rather than lose its last character. */
    if (n & 1) {
        bool terminated = false;
        for (size_t i = 0; i < units && !terminated; i++)
            terminated = wire_le16(p + 2 * i) == 0;
        if (!terminated) {
            *err = -EILSEQ;
            return NULL;
        }
    }
    if (units > (SIZE_MAX - 1) / 3) {
        *err = -EINVAL;
        return NULL;
    }
    char *s = malloc(units * 3 + 1);
    if (!s) {
        *err = -ENOMEM;
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < units; i++) {
        uint32_t u = wire_le16(p + 2 * i);
        if (u == 0)
            break;
        if (u >= 0xD800 && u <= 0xDBFF && i + 1 < units) {
            uint32_t lo = wire_le16(p + 2 * i + 2);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                o += put_utf8(s + o, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
                i++;
                continue;
            }
        }
        if (u >= 0xD800 && u <= 0xDFFF)
            u = 0xFFFD;
        o += put_utf8(s + o, u);
    }
    s[o] = '\0';
    return s;
}

/* The Linux client's "Services for Mac" table (fs/smb/client/cifs_unicode.h,
 * SFM_*; mount.cifs mapposix), which is also what Samba's vfs_fruit and
 * vfs_catia use: names written by either side read back the same here. */
#define SFM_DOUBLEQUOTE 0xF020
#define SFM_ASTERISK    0xF021
#define SFM_COLON       0xF022
#define SFM_LESSTHAN    0xF023
#define SFM_GRTRTHAN    0xF024
#define SFM_QUESTION    0xF025
#define SFM_BACKSLASH   0xF026
#define SFM_PIPE        0xF027
#define SFM_SPACE       0xF028
#define SFM_PERIOD      0xF029
/* Control characters 0x01..0x1F go to 0xF001..0xF01F. */
#define SFM_CTRL_BASE 0xF000

static uint16_t sfm_of(uint16_t c)
{
    switch (c) {
    case '"':
        return SFM_DOUBLEQUOTE;
    case '*':
        return SFM_ASTERISK;
    case ':':
        return SFM_COLON;
    case '<':
        return SFM_LESSTHAN;
    case '>':
        return SFM_GRTRTHAN;
    case '?':
        return SFM_QUESTION;
    case '\\':
        return SFM_BACKSLASH;
    case '|':
        return SFM_PIPE;
    default:
        if (c >= 0x01 && c <= 0x1F)
            return (uint16_t)(SFM_CTRL_BASE + c);
        return c;
    }
}

void text_map_posix_to_wire(uint16_t *units, size_t n)
{
    for (size_t i = 0; i < n; i++)
        units[i] = sfm_of(units[i]);
    if (n == 0)
        return;
    /* "." and ".." keep their meaning (the kernel client does the same so
     * symlinks to them survive). */
    if ((n == 1 && units[0] == '.') || (n == 2 && units[0] == '.' && units[1] == '.'))
        return;
    if (units[n - 1] == ' ')
        units[n - 1] = SFM_SPACE;
    else if (units[n - 1] == '.')
        units[n - 1] = SFM_PERIOD;
}

void text_map_wire_to_posix(uint16_t *units, size_t n)
{
    static const char back[] = "\"*:<>?\\| .";
    for (size_t i = 0; i < n; i++) {
        uint16_t u = units[i];
        if (u > SFM_CTRL_BASE && u <= SFM_CTRL_BASE + 0x1F)
            units[i] = (uint16_t)(u - SFM_CTRL_BASE);
        else if (u >= SFM_DOUBLEQUOTE && u <= SFM_PERIOD)
            units[i] = (uint16_t)back[u - SFM_DOUBLEQUOTE];
    }
}
