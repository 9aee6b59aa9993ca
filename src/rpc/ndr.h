/* NDR (C706 14; MS-RPCE 2.2.5) pieces the RPC calls here need: 4-byte
 * alignment counted from the start of the stub, unique pointers,
 * conformant varying UTF-16 strings. Reading goes through the checked
 * wire reader; a reader whose buffer is the whole stub keeps the
 * alignment right. */
#ifndef SMBFUSE_NDR_H
#define SMBFUSE_NDR_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define NDR_MAX_STRING 0x8000 /* characters in one string we accept */

/* Skips to the next multiple of n (2, 4 or 8) from the stub's start. */
void ndr_align(struct wire_reader *r, size_t n);
void ndr_put_align(struct wire_writer *w, size_t n);

/* A conformant varying string of UTF-16 units (max, offset 0, actual,
 * units) as a malloc'd UTF-8 string, the terminating NUL dropped.
 * Returns NULL with *err -EIO (malformed) or -ENOMEM. */
char *ndr_get_wstring(struct wire_reader *r, int *err);

/* Writes s as a conformant varying UTF-16 string with its NUL, aligned.
 * Returns 0 or -EINVAL (invalid UTF-8 / too long). */
int ndr_put_wstring(struct wire_writer *w, const char *s);
/* A [unique] pointer to a string: a referent id and the string, or 0 for
 * NULL. *ref counts referents (start it at 0x20000). */
int ndr_put_unique_wstring(struct wire_writer *w, const char *s, uint32_t *ref);

#endif
