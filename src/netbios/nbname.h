/* NetBIOS names (RFC 1001 14.1, RFC 1002 4.1): the 16-byte name, its
 * first-level encoding and the label form the name service carries.
 *
 * A NetBIOS name is at most 15 characters, upper-cased and space-padded,
 * plus a suffix byte that says which service it names (0x20 file server,
 * 0x00 workstation, 0x1D local master browser, ...). The wildcard "*" is
 * padded with NULs. On the wire (second level) it is one 32-character label
 * of 'A'..'P' followed by the scope's labels and a zero byte.
 */
#ifndef SMBFUSE_NBNAME_H
#define SMBFUSE_NBNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define NBNAME_LEN     15 /* characters before the suffix */
#define NBNAME_ENC_LEN 34 /* 0x20, 32 characters, 0x00 (no scope) */

#define NBNAME_SUFFIX_WKSTA  0x00 /* workstation service; WORKGROUP<00> group */
#define NBNAME_SUFFIX_BROWSE 0x01 /* __MSBROWSE__<01>: master browsers */
#define NBNAME_SUFFIX_DMB    0x1B /* domain master browser (MS-BRWS 1.3) */
#define NBNAME_SUFFIX_LMB    0x1D /* local master browser */
#define NBNAME_SUFFIX_ELECT  0x1E /* browser election service */
#define NBNAME_SUFFIX_SERVER 0x20 /* file server service */
#define NBNAME_MSBROWSE      "\x01\x02__MSBROWSE__\x02"

/* Whether name can be a NetBIOS name at all: 1..15 characters, no dot
 * (a dotted or longer name is a DNS name). */
bool nbname_valid(const char *name);

/* The 16 raw bytes: name upper-cased and padded, suffix last. "*" and the
 * __MSBROWSE__ name are padded with NULs. Returns 0 or -EINVAL. */
int nbname_raw(const char *name, uint8_t suffix, uint8_t raw[16]);

/* First-level encoding of 16 raw bytes into 32 characters 'A'..'P'. */
void nbname_encode_raw(const uint8_t raw[16], char out[32]);

/* The second-level form without scope: 0x20, the 32 characters, 0x00.
 * Returns 0 or -EINVAL. */
int nbname_encode(const char *name, uint8_t suffix, uint8_t out[NBNAME_ENC_LEN]);

/* Reads a name (labels, or a compression pointer to earlier labels of the
 * same packet, RFC 1002 4.1 / RFC 1035 4.1.4) at r's position and advances
 * r past it. r must be a reader over the whole packet (pointers count
 * from its start); a pointer may only point backwards. The first
 * label must be 32 characters 'A'..'P'; it becomes raw. The scope, if
 * any, goes dotted into scope (NUL-terminated, truncated to cap).
 * Returns 0 or -EIO (r's error is set too). */
int nbname_decode(struct wire_reader *r, uint8_t raw[16], char *scope, size_t scope_cap);

/* A printable form of 16 raw bytes: "NAME<20>" with trailing spaces cut
 * and unprintable bytes as '.'. out needs 24 bytes. */
void nbname_format(const uint8_t raw[16], char out[24]);

/* The name part of raw without padding (NUL-terminated, at most 15). */
void nbname_strip(const uint8_t raw[16], char out[16]);

#endif
