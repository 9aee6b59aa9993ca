/* Share listing on the IPC$ tree: first srvsvc NetrShareEnum level 1
 * (MS-SRVS 3.1.4.8) over DCE/RPC on \PIPE\srvsvc (Unicode names of any
 * length); when the server has no srvsvc, RAP NetShareEnum (MS-RAP
 * 2.5.6.1) on \PIPE\LANMAN, which carries OEM names of at most 12
 * characters (longer shares are not listed; non-ASCII comes back as '?').
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

/* The two methods on an IPC$ tree (smb1_share_enum tries srvsvc, then
 * RAP). Return 0, cb's non-zero return, or -errno. */
int share_enum_srvsvc(struct smb1_tree *ipc, smb1_share_cb cb, void *ctx);
int share_enum_rap(struct smb1_tree *ipc, smb1_share_cb cb, void *ctx);

#define SRVSVC_MAX_FRAG    4280
#define SRVSVC_MAX_REPLY   (1u << 20) /* bound on a whole NetrShareEnum reply */
#define SRVSVC_MAX_ENTRIES 65536

/* Decodes the NDR stub of a NetrShareEnum level-1 response. With cb NULL
 * it only validates. Returns 0, cb's non-zero return, -EIO for a
 * malformed stub, or the WERROR as -EACCES (5) / -EIO. */
int share_srvsvc_decode(const uint8_t *stub, size_t len, smb1_share_cb cb, void *ctx);

/* Joins the stubs of the DCE/RPC response fragments in buf (len bytes)
 * into a malloc'd *stub. Returns 1 when the last fragment is in, 0 when
 * more bytes are needed, -EIO for a malformed or fault PDU. */
int share_rpc_stubs(const uint8_t *buf, size_t len, uint8_t **stub, size_t *stub_len);

#endif
