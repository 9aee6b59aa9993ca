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
/* FUSE reads where they are capped (sfs_fs_cap_reads): 1 MiB less a page. */
#define SFS_CAPPED_READ ((1u << 20) - 4096)

/* Before fuse_new, on the connection the mount will use: the FUSE reads
 * stay at 1020 KiB where the connection may splice and a pipe holds 1 MiB
 * at most (max_read, added to args and o unless o has one), as they were
 * when such a mount's writes were spliced at that size: a big READ_ANDX
 * carries 1020 KiB (session.c), and a read's reply of 1020 KiB and its
 * header fit a pipe of 1 MiB. Returns 0 or -ENOMEM. */
int sfs_fs_cap_reads(struct sfs_options *o, struct smb1_conn *conn, struct fuse_args *args);

/* The largest read the kernel sends through the mount, in KiB, once FUSE
 * INIT is done (0 before). */
unsigned sfs_fs_read_kb(struct sfs_fs *fs);

/* Logs the connection's counters and the cache's at LOG_INFO. */
void sfs_fs_log_stats(struct sfs_fs *fs);

#endif
