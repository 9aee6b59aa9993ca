/* Directory listing: TRANS2 FIND_FIRST2 / FIND_NEXT2 and FIND_CLOSE2
 * (MS-CIFS 2.2.6.2, 2.2.6.3, 2.2.4.48), with the attributes of every entry
 * taken from the listing itself.
 */
#ifndef SMBFUSE_OP_DIR_H
#define SMBFUSE_OP_DIR_H

#include <stddef.h>
#include <stdint.h>

#include "smb1.h"

/* Find information levels (MS-CIFS 2.2.2.3.1) */
#define SMB_FIND_FILE_FULL_DIRECTORY_INFO 0x0102
#define SMB_FIND_FILE_BOTH_DIRECTORY_INFO 0x0104
/* SMB_FIND_FILE_UNIX (0x0202) is in unix.h */

#define FIND_FLAG_CLOSE_AFTER_REQUEST 0x0001
#define FIND_FLAG_CLOSE_AT_EOS        0x0002
#define FIND_FLAG_RETURN_RESUME_KEYS  0x0004
#define FIND_FLAG_CONTINUE_FROM_LAST  0x0008

#define FIND_MAX_DATA     0xFFF0u /* reply data per round trip */
#define FIND_SEARCH_COUNT 2048
/* Bounds on one listing, whatever the server sends: a search that never
 * says EndOfSearch ends in -EIO after this many entries or round trips,
 * or after three pages in a row that bring no name not seen before. */
#define FIND_MAX_ENTRIES (1u << 20)
#define FIND_MAX_ROUNDS  (1u << 16)
#define FIND_MAX_STALLS  3

/* One decoded entry; name points into the reply (wire encoding). */
struct dir_entry {
    const uint8_t *name;
    size_t name_len; /* bytes, without terminator */
    struct smb1_stat st;
};

typedef int (*dir_entry_fn)(void *arg, const struct dir_entry *e);

/* Walks the entries of a FIND reply's data block at level, at most
 * max_count of them, calling fn for each. Every NextEntryOffset and name
 * length is checked against the block; the walk only moves forward.
 * unicode: names are UTF-16LE. Returns the number of entries walked,
 * fn's non-zero return (as is, when positive: the walk stops), or -EIO. */
int dir_parse(uint16_t level, bool unicode, const uint8_t *data, size_t len, unsigned max_count,
              dir_entry_fn fn, void *arg);

#endif
