/* The readahead of the mount's backing device. The kernel proposes
 * 128 KiB at FUSE INIT and caps the device to what the reply accepts, so
 * a bigger window can only be set once INIT is done. Sequential reads
 * then keep several large READ_ANDX in flight instead of one 128 KiB
 * request at a time. */
#include "fs_readahead.h"

#include <stdio.h>
#include <sys/sysmacros.h>

/* 4 MiB rather than 1: signed 512 MiB reads went from 259-301 to 317-345
 * MB/s (dd bs=1M; cat alike), with a third less CPU at 128 KiB. */
#define SFS_READAHEAD_KB 4096

unsigned sfs_read_pages(uint32_t max_write, uint32_t max_read)
{
    unsigned pages = (unsigned)((max_write + 4095ull) / 4096);
    if (max_read && max_read / 4096 < pages)
        pages = max_read / 4096 ? max_read / 4096 : 1;
    return pages ? pages : 1;
}

/* The kernel cuts a window into reads of at most read_kb: 4096 KiB in
 * reads of 1020 KiB (max_write=1044480, which splices writes) was
 * four reads and one of 16 KiB, a FUSE request and a READ_ANDX round
 * trip for 0.4 % of the data; 4080 KiB is four. */
unsigned sfs_readahead_kb(unsigned read_kb)
{
    if (!read_kb || read_kb >= SFS_READAHEAD_KB)
        return SFS_READAHEAD_KB;
    return SFS_READAHEAD_KB / read_kb * read_kb;
}

void sfs_raise_readahead(dev_t dev, unsigned kb, struct smb1_log *lg)
{
    char p[96];
    snprintf(p, sizeof(p), "/sys/class/bdi/%u:%u/read_ahead_kb", major(dev), minor(dev));
    FILE *f = fopen(p, "r+");
    if (!f)
        return;
    unsigned cur = 0;
    if (fscanf(f, "%u", &cur) == 1 && cur < kb) {
        rewind(f);
        if (fprintf(f, "%u\n", kb) < 0 || fflush(f) != 0)
            log_debug(lg, "cannot raise readahead in %s", p);
    }
    fclose(f);
}
