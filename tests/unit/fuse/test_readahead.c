/* The readahead window of the mount (fuse/fs_readahead.c): the size of
 * the kernel's reads from what INIT answered, and a window of whole
 * reads of it. */
#include <criterion/criterion.h>

#include "fs_readahead.h"

Test(readahead, read_pages_follow_max_write_and_max_read)
{
    cr_assert_eq(sfs_read_pages(1u << 20, 0), 256);
    /* Where writes are spliced and a pipe holds 1 MiB at most. */
    cr_assert_eq(sfs_read_pages((1u << 20) - 4096, 0), 255);
    cr_assert_eq(sfs_read_pages((1u << 20) - 100, 0), 256);
    cr_assert_eq(sfs_read_pages(1u << 20, 131072), 32);
    cr_assert_eq(sfs_read_pages(1u << 20, 100000), 24);
    cr_assert_eq(sfs_read_pages(1u << 20, 1000), 1);
    cr_assert_eq(sfs_read_pages(0, 0), 1);
}

Test(readahead, the_window_is_whole_reads)
{
    /* 4096 KiB in reads of 1020 KiB was four reads and one of 16 KiB. */
    cr_assert_eq(sfs_readahead_kb(1020), 4080);
    cr_assert_eq(sfs_readahead_kb(1024), 4096);
    cr_assert_eq(sfs_readahead_kb(128), 4096);
    cr_assert_eq(sfs_readahead_kb(96), 4032);
    cr_assert_eq(sfs_readahead_kb(4), 4096);
    cr_assert_eq(sfs_readahead_kb(0), 4096);
    cr_assert_eq(sfs_readahead_kb(8192), 4096);
    for (unsigned kb = 4; kb <= 4096; kb += 4) {
        unsigned w = sfs_readahead_kb(kb);
        cr_assert(w % kb == 0 && w <= 4096 && w + kb > 4096, "%u KiB reads: %u", kb, w);
    }
}
