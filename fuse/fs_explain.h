/* smbfuse --explain-signing (fs_explain.c). */
#ifndef SMBFUSE_FS_EXPLAIN_H
#define SMBFUSE_FS_EXPLAIN_H

#include <stdio.h>

#include "fs_opts.h"
#include "log.h"

/* Exit statuses besides 0 (every reply verified, or the server does not
 * sign and the walk-through says so). */
#define SFS_EXPLAIN_BAD_MAC 2  /* a reply's MAC did not verify */
#define SFS_EXPLAIN_FAILED  32 /* could not connect, log on or make the requests */

/* Connects with o as a mount would (o's password is wiped), makes a tree
 * connect, a listing and a small read, disconnects, and prints the
 * walk-through to out. Returns 0 or one of the statuses above. */
int sfs_explain(struct sfs_options *o, struct smb1_log *lg, FILE *out);

#endif
