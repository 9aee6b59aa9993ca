/* The network mount (smbfuse // MOUNTPOINT): workgroups, servers and
 * shares as directories, each share served by the single-share
 * callbacks of fs_ops.c. See fs_net.c. */
#ifndef SMBFUSE_FS_NET_H
#define SMBFUSE_FS_NET_H

#include "fs_ops.h"

struct sfs_net;

/* opts (with its password, used for every server connected later) and
 * log must outlive it. NULL with *err: -EINVAL (wins=/resolve=), -ENOMEM. */
struct sfs_net *sfs_net_new(const struct sfs_options *opts, struct smb1_log *log, int *err);
/* Releases every share and connection. */
void sfs_net_free(struct sfs_net *net);
/* The operations table; pass sfs_net as fuse_new's user_data. */
const struct fuse_operations *sfs_net_operations(void);

#endif
