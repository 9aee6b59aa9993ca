/* Browsing (MS-BRWS 3.2, MS-RAP 2.5.5): finding a master browser through
 * the name service, and asking it for workgroups and servers with RAP
 * NetServerEnum2 / NetServerEnum3 on its IPC$. */
#ifndef SMBFUSE_BROWSE_H
#define SMBFUSE_BROWSE_H

#include <stddef.h>
#include <stdint.h>

#include "smb1.h"

#define BROWSE_SERVER_INFO_1_LEN 26 /* MS-RAP 2.5.5.2.1 */
#define BROWSE_MAX_ROUNDS        64 /* NetServerEnum3 continuations */

/* The NetServerEnum2 (first NULL) or NetServerEnum3 (continuing after
 * first) parameter block. Returns the length or -EINVAL. */
int browse_build_enum(uint8_t *buf, size_t cap, uint16_t bufsize, uint32_t types,
                      const char *workgroup, const char *first);

/* Decodes a NetServerEnum2/3 reply: SERVER_INFO_1 entries. Entries whose
 * name is not after skip (the NetServerEnum3 restart name; NULL: none)
 * are not delivered. *last receives the last name seen, *more whether
 * the server said ERROR_MORE_DATA. Returns 0, cb's non-zero return,
 * -EIO (malformed) or the status as -EACCES / -EIO. */
int browse_decode(const uint8_t *param, size_t plen, const uint8_t *data, size_t dlen,
                  const char *skip, smb1_server_cb cb, void *ctx, char last[17], bool *more);

#endif
