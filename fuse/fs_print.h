/* A printer share as a mount: a file copied in is a print job, the root
 * directory lists the printer's queue, rm cancels a job. See the man
 * page's PRINTING section for what a user sees. */
#ifndef SMBFUSE_FS_PRINT_H
#define SMBFUSE_FS_PRINT_H

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif

#include <fuse.h>

#include "fs_opts.h"
#include "smb1.h"

struct sfs_print;

/* The per-mount state for fuse_new()'s user_data; tree is a printer tree.
 * conn, tree, opts and log must outlive it. NULL with *err on failure. */
struct sfs_print *sfs_print_new(struct smb1_conn *conn, struct smb1_tree *tree,
                                const struct sfs_options *opts, struct smb1_log *log, int *err);
/* Abandons the jobs the kernel did not release, then frees. */
void sfs_print_free(struct sfs_print *p);
const struct fuse_operations *sfs_print_operations(void);

/* The entry name of a queued job: "ID-NAME" ('/' in NAME becomes '_').
 * Returns the length or -ENAMETOOLONG. */
int sfs_print_entry_name(uint32_t id, const char *doc, char *out, size_t cap);

#endif
