/* Text conversions between UTF-8 (the Linux side) and UTF-16LE / OEM (the
 * wire). Every conversion is length-checked and rejects invalid input. */
#ifndef SMBFUSE_TEXT_H
#define SMBFUSE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* UTF-8 (s, slen bytes) to UTF-16LE into out (cap bytes). Stores the number
 * of bytes written (no terminator) in *outlen. Returns 0, -EILSEQ for
 * invalid UTF-8 (overlong forms, encoded surrogates, above U+10FFFF,
 * truncated sequences, and NUL, which would cut a name short on the
 * server), -ENAMETOOLONG when it does not fit. */
int text_utf8_to_utf16(const char *s, size_t slen, uint8_t *out, size_t cap, size_t *outlen);
/* UTF-16LE (n bytes; stops at a NUL unit) to a malloc'd UTF-8 string.
 * Unpaired surrogates become U+FFFD. An odd n is refused (-EILSEQ) unless a
 * NUL unit comes before the dangling byte: a cut name must not lose its last
 * character silently. Returns NULL and *err = -ENOMEM/-EINVAL/-EILSEQ. */
char *text_utf16_to_utf8(const uint8_t *p, size_t n, int *err);
/* Decodes the UTF-8 sequence at s[*i] (s has n bytes) and advances *i.
 * Returns the code point, or -1 (and *i unchanged) for the invalid input
 * text_utf8_to_utf16 rejects, or when *i >= n. */
long text_utf8_next(const char *s, size_t n, size_t *i);
/* Length in bytes of UTF-16LE that s would need (without NUL), or -EILSEQ. */
long text_utf16_len(const char *s);

/* mapposix (mount.cifs): characters Windows forbids in names are stored as
 * private-use code points, so they round-trip on servers without UNIX
 * extensions. The table is the Linux client's "Services for Mac" one (SFM_*
 * in fs/smb/client/cifs_unicode.h): " * : < > ? \ | -> U+F020..U+F027,
 * control characters 0x01..0x1F -> U+F001..U+F01F, and a trailing space or
 * dot -> U+F028 / U+F029 (not in the components "." and ".."). Apply per
 * path component. The map_ functions work on host-order UTF-16 code units
 * in place; wire_to_posix maps every one of those code points back. */
void text_map_posix_to_wire(uint16_t *units, size_t n);
void text_map_wire_to_posix(uint16_t *units, size_t n);

#endif
