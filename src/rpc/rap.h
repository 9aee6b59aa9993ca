/* RAP (MS-RAP 2.5.1): a TRANSACTION on \PIPE\LANMAN of an IPC$ tree whose
 * parameter block is the opcode, the parameter and data descriptors and
 * the parameters, and whose reply parameters begin with a 16-bit status
 * and a converter word (the base of the 32-bit string "pointers" in the
 * data block). */
#ifndef SMBFUSE_RAP_H
#define SMBFUSE_RAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/trans.h"

/* MS-RAP 2.5.1 / Samba's rap.h opcodes */
#define RAP_NetShareEnum   0       /* MS-RAP 2.5.6.1 */
#define RAP_NetServerEnum2 104     /* MS-RAP 2.5.5.2 */
#define RAP_NetServerEnum3 215     /* MS-RAP 2.5.5.3 */
#define RAP_RECV_BUF       0xFFE0u /* the largest ReceiveBufferSize we ask for */
#define RAP_WPrintJobDel   81      /* DosPrintJobDel (MS-RAP 2.5.7.5) */
#define RAP_WPrintJobEnum  76      /* DosPrintJobEnum (Samba, MS-RAP appendix) */

#define RAP_NERR_SUCCESS      0
#define RAP_ERR_ACCESS_DENIED 5
#define RAP_ERR_MORE_DATA     234
#define RAP_NERR_QNOTFOUND    2150 /* printer queue does not exist */
#define RAP_NERR_JOBNOTFOUND  2151
#define RAP_MAX_PARAM         1024

/* Sends the RAP request param (plen bytes) on the IPC$ tree ipc and
 * returns the reply in rs (0), or -errno: the transport's errors, or an
 * NT status of the reply mapped (no LANMAN pipe: -EOPNOTSUPP). */
int rap_call(struct smb1_tree *ipc, const void *param, uint32_t plen, uint32_t max_data,
             struct trans_resp *rs, unsigned flags);

/* The head of an enumeration reply's parameters (MS-RAP 2.5.5.2.2 and
 * the like): status, converter, EntriesReturned, EntriesAvailable.
 * Returns 0, -EIO when too short, or for a status other than success and
 * ERROR_MORE_DATA -EACCES (access denied) / -EIO; *more says MORE_DATA. */
int rap_enum_head(const uint8_t *param, size_t plen, uint16_t *converter, uint16_t *count,
                  bool *more);

/* A fixed-size OEM name field (at most n bytes, up to a NUL) as a
 * printable string (ASCII kept, others '?'). */
void rap_name(char *dst, size_t cap, const uint8_t *p, size_t n);

/* A RAP status word as -errno (0 for success and ERROR_MORE_DATA). */
int rap_status_errno(uint16_t status);

/* A RAP string "pointer" of a reply data block: the low 16 bits less the
 * converter, checked against the block; the string is copied as printable
 * OEM (ASCII kept, others '?') into dst. An out-of-range pointer gives "". */
void rap_string(const uint8_t *data, size_t dlen, uint16_t converter, uint32_t ptr, char *dst,
                size_t cap);

#endif
