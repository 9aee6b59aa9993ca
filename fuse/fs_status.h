/* smbfuse --status MOUNTPOINT: a running mount shows its connection,
 * signing and counters as the value of a reserved extended attribute of
 * its root directory, which any user who may read the mount can get with
 * getxattr(2): no daemon, no socket. */
#ifndef SMBFUSE_FS_STATUS_H
#define SMBFUSE_FS_STATUS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fs_opts.h"
#include "smb1.h"

/* Reserved: a server EA of that name on the share's root is not seen. */
#define SFS_STATUS_XATTR "user.smbfuse.status"

/* The status text ("key: value" lines) of a mount, as getxattr returns
 * it: size 0 gives the length needed, too small a size -ERANGE. */
struct sfs_status_counts {
    uint64_t cache_hits, cache_misses;
    uint64_t fuse_writes; /* write requests the kernel sent the mount */
};
int sfs_status_format(struct smb1_conn *conn, const struct sfs_options *o,
                      const struct sfs_status_counts *n, char *buf, size_t size);
/* The --status command: prints the mount's status to out. Returns an
 * exit status: 0, or 1 when mountpoint is not a running smbfuse mount. */
int sfs_status_main(const char *mountpoint, FILE *out);

#endif
