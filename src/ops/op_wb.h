/* Held writes and background CLOSEs (op_wb.c): the per-file state that
 * makes a small file we created cost its create and one WRITE_ANDX+CLOSE
 * chain, and a release return before its CLOSE is answered. */
#ifndef SMBFUSE_OP_WB_H
#define SMBFUSE_OP_WB_H

#include "ops/op_file.h"

/* Writes out what f holds (before a request through f that could
 * observe it: read, fstat, truncate, lock, FLUSH). 0 or the failure,
 * which f also reports at its next write, flush or close. */
int wb_push(struct smb1_file *f);
/* Marks f as having writes on their way (op_wbehind.c) or not, for the
 * settles. */
void wb_behind_busy(struct smb1_file *f, bool busy);

#endif
