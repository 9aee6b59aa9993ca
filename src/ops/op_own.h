/* What we know of a file we created while its one handle is open
 * (op_own.c; the public side is smb1_own_* in smb1.h). */
#ifndef SMBFUSE_OP_OWN_H
#define SMBFUSE_OP_OWN_H

#include "ops/op_file.h"
#include "ops/tree_state.h"

/* The one handle open on path when it created the file, while its
 * attributes are to be trusted (else NULL); ot->lock held. */
struct smb1_file *own_locked(struct ops_tree *ot, const char *path);

#endif
