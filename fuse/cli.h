/* smbfuse's command-line tools: --list (a server's shares), --browse
 * (workgroups, or a workgroup's servers, from its master browser) and
 * --lookup (a NetBIOS name's addresses, or an address's names). */
#ifndef SMBFUSE_CLI_H
#define SMBFUSE_CLI_H

#include <stdio.h>

#include "fs_opts.h"
#include "log.h"

#define SFS_EXIT_OK       0
#define SFS_EXIT_USAGE    1
#define SFS_EXIT_NOTFOUND 2  /* a name or master browser not found */
#define SFS_EXIT_FAIL     32 /* cannot connect, log on or list (mount's code) */

/* Runs the tool o->mode names, printing to out and errors to lg. Wipes
 * the password. Returns the exit status. */
int sfs_cli_run(struct sfs_options *o, struct smb1_log *lg, FILE *out);

#endif
