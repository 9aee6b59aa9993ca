/* srvsvc (MS-SRVS) over DCE/RPC on \PIPE\srvsvc: NetrShareEnum level 1
 * (3.1.4.8), which lists shares with Unicode names of any length. */
#ifndef SMBFUSE_SRVSVC_H
#define SMBFUSE_SRVSVC_H

#include <stddef.h>
#include <stdint.h>

#include "rpc/dcerpc.h"
#include "smb1.h"

#define SRVSVC_OPNUM_NETRSHAREENUM 15
#define SRVSVC_MAX_ENTRIES         65536

/* 4b324fc8-1670-01d3-1278-5a47bf6ee188 v3.0 */
extern const struct dcerpc_syntax srvsvc_syntax;

/* The NetrShareEnum request stub: ServerName (NULL when server is NULL),
 * level 1, an empty container, no size limit, resume handle 0. Returns
 * the length or -EINVAL. */
int srvsvc_build_share_enum(uint8_t *buf, size_t cap, const char *server);

/* Decodes a NetrShareEnum level-1 response stub and calls cb for each
 * share. With cb NULL it only validates. Returns 0, cb's non-zero
 * return, -EIO for a malformed stub, or the WERROR as -EACCES (5) /
 * -EIO. */
int srvsvc_decode_share_enum(const uint8_t *stub, size_t len, smb1_share_cb cb, void *ctx);

/* The whole call on an IPC$ tree: the listing is validated completely
 * before cb sees any of it. Returns 0, cb's return or -errno
 * (-EPROTONOSUPPORT / -ENOENT: the server has no srvsvc). */
int srvsvc_share_enum(struct smb1_tree *ipc, smb1_share_cb cb, void *ctx);

#endif
