/* Files unlinked while open (op_hide.c). */
#ifndef SMBFUSE_OP_HIDE_H
#define SMBFUSE_OP_HIDE_H

#include "smb1.h"

/* A hidden file's handle on path was closed (and is off the list): the
 * last one deletes the file. */
void hide_closed(struct smb1_tree *t, const char *path);

#endif
