/* The readahead of the mount (fs_readahead.c): how large a read the
 * kernel sends, and the window cut into whole reads of it. */
#ifndef SFS_READAHEAD_H
#define SFS_READAHEAD_H

#include <stdint.h>
#include <sys/types.h>

#include "log.h"

/* The most the kernel asks in one FUSE read, in pages, for the max_write
 * and max_read (0: none) that INIT answered: libfuse (3.14) offers
 * max_pages from max_write alone, and max_read caps it. */
unsigned sfs_read_pages(uint32_t max_write, uint32_t max_read);

/* The readahead window (KiB) for reads of at most read_kb KiB (0:
 * unknown): the most whole reads within SFS_READAHEAD_KB. */
unsigned sfs_readahead_kb(unsigned read_kb);

/* Raises the read_ahead_kb of the backing device dev (a FUSE mount's,
 * once INIT is done) to kb. Root only (sysfs); a failure is logged at
 * debug. */
void sfs_raise_readahead(dev_t dev, unsigned kb, struct smb1_log *lg);

#endif
