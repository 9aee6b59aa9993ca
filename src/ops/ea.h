/* Extended attributes of the "user." namespace as SMB EAs: TRANS2
 * QUERY_PATH_INFORMATION level SMB_INFO_QUERY_EAS_FROM_LIST (getxattr, one
 * EA by name) and SMB_INFO_QUERY_ALL_EAS (listxattr), and
 * SET_PATH_INFORMATION level SMB_INFO_SET_EAS (MS-CIFS 2.2.8.1.2, 2.2.8.1.3,
 * 2.2.8.3.4, 2.2.8.4.2; the FEA and GEA lists of 2.2.1.2).
 *
 * Sizes: an EA list is one TRANS2 data block, at most 65535 bytes, sent in
 * as many messages as MaxBufferSize needs (trans.h) and read back from as
 * many reply fragments. So a value may have up to ea_value_max() bytes
 * (65535 - 9 - the name's length), and larger ones are E2BIG before
 * anything is sent. A file whose EAs together exceed one list still has
 * each read by name; only its list of names cannot be retrieved (the
 * server answers BUFFER_OVERFLOW: E2BIG, as listxattr(2) says).
 */
#ifndef SMBFUSE_EA_H
#define SMBFUSE_EA_H

#include <stddef.h>
#include <stdint.h>

#define EA_USER_PREFIX "user."
#define EA_NAME_MAX    255
#define EA_VALUE_MAX   0xFFFF
/* An EA list travels as one TRANS2 data block (16-bit TotalDataCount, in
 * as many messages as it takes both ways): SizeOfListInBytes, then per EA
 * flags, name length, value length, name, NUL, value. */
#define EA_LIST_MAX 0xFFFF
#define EA_LIST_HDR 4
#define EA_FEA_HDR  4

struct ea_entry {
    const uint8_t *name; /* OEM name, not terminated */
    size_t name_len;
    const uint8_t *value;
    size_t value_len;
};

typedef int (*ea_entry_fn)(void *arg, const struct ea_entry *e);

/* Walks an SMB_FEA_LIST (SizeOfListInBytes first, then SMB_FEA records),
 * calling fn for each; fn's non-zero return stops the walk and is
 * returned. Returns 0, or -EIO for an inconsistent list. */
int ea_parse_list(const uint8_t *d, size_t n, ea_entry_fn fn, void *arg);

/* The largest value an EA with a name of name_len bytes can have so that
 * a list holding only it fits EA_LIST_MAX: 65535 - 9 - name_len (65523
 * for "user.big"). A larger value cannot be set or read over SMB1. */
size_t ea_value_max(size_t name_len);

/* Encodes a list with one EA (an empty value removes it) into out;
 * returns its length, or -E2BIG when cap is too small. */
long ea_encode_one(const char *name, const void *value, size_t len, uint8_t *out, size_t cap);

#endif
