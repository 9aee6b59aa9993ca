/* Share listing: RAP NetShareEnum (MS-RAP 2.5.6.1, 3.2.5.x) sent as a
 * TRANSACTION on \PIPE\LANMAN of the IPC$ tree. RAP carries OEM names of
 * at most 12 characters: longer shares are not listed by servers, and
 * non-ASCII characters come back as '?'.
 */
#ifndef SMBFUSE_SHARE_ENUM_H
#define SMBFUSE_SHARE_ENUM_H

#include <stddef.h>
#include <stdint.h>

#include "smb1.h"

#define RAP_NetShareEnum     0
#define RAP_SHARE_INFO_1_LEN 20
#define RAP_RECV_BUF         0xFFE0u
#define RAP_ERROR_MORE_DATA  234

/* Decodes a NetShareEnum reply (its parameter and data blocks) and calls
 * cb for each share. Returns cb's non-zero return, 0, -EIO for a
 * malformed reply, or the RAP status as -EIO / -EACCES. */
int share_enum_decode(const uint8_t *param, size_t plen, const uint8_t *data, size_t dlen,
                      smb1_share_cb cb, void *ctx);

#endif
