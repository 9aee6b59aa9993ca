/* Share listing on the IPC$ tree (smb1_share_enum): first srvsvc
 * NetrShareEnum level 1 (srvsvc.c: Unicode names of any length); when the
 * server has no srvsvc, RAP NetShareEnum (MS-RAP 2.5.6.1) on \PIPE\LANMAN,
 * which carries OEM names of at most 12 characters (longer shares are not
 * listed; non-ASCII comes back as '?'). */
#ifndef SMBFUSE_SHARE_ENUM_H
#define SMBFUSE_SHARE_ENUM_H

#include <stddef.h>
#include <stdint.h>

#include "smb1.h"

#define RAP_SHARE_INFO_1_LEN 20

/* Decodes a NetShareEnum reply (its parameter and data blocks) and calls
 * cb for each share. Returns cb's non-zero return, 0, -EIO for a
 * malformed reply, or the RAP status as -EIO / -EACCES. */
int share_enum_decode(const uint8_t *param, size_t plen, const uint8_t *data, size_t dlen,
                      smb1_share_cb cb, void *ctx);

/* RAP NetShareEnum level 1 on an IPC$ tree. Returns 0, cb's non-zero
 * return, or -errno. */
int share_enum_rap(struct smb1_tree *ipc, smb1_share_cb cb, void *ctx);

#endif
