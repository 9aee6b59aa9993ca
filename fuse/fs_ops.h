/* The FUSE callbacks of smbfuse: each maps its arguments onto one smb1_*
 * call (or a cache hit) and returns 0 or -errno. No protocol logic here.
 */
#ifndef SMBFUSE_FS_OPS_H
#define SMBFUSE_FS_OPS_H

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif

#include <stdbool.h>

#include <fuse.h>

#include "fs_opts.h"
#include "smb1.h"

struct sfs_fs;

/* The per-mount state handed to fuse_new() as private_data. conn, tree,
 * opts and log must outlive it. NULL with *err set on failure (-ENOMEM). */
struct sfs_fs *sfs_fs_new(struct smb1_conn *conn, struct smb1_tree *tree,
                          const struct sfs_options *opts, struct smb1_log *log, int *err);
/* Closes any handle the kernel did not release, then frees. */
void sfs_fs_free(struct sfs_fs *fs);

/* The operations table; pass sfs_fs as fuse_new's user_data. With
 * server_locks false (nobrl) fcntl/flock locks stay in the kernel. */
const struct fuse_operations *sfs_fs_operations(bool server_locks);

/* The FUSE write offered by default: 1 MiB, what dd bs=1M and cp write. */
#define SFS_MAX_WRITE (1u << 20)

/* The largest read the kernel sends through the mount, in KiB, once FUSE
 * INIT is done (0 before). */
unsigned sfs_fs_read_kb(struct sfs_fs *fs);

/* The largest read whose reply FUSE can take from a pipe (fs_read.c),
 * where libfuse's own pipe cannot hold a read of max_write: the mount's
 * max_read then; 0 where it need not be smaller. */
uint32_t sfs_splice_read_cap(uint32_t max_write);

/* Logs the connection's counters and the cache's at LOG_INFO. */
void sfs_fs_log_stats(struct sfs_fs *fs);

#endif
