/* Our mount in /proc/self/mountinfo (fuse/fs_mountinfo.c): the device of
 * the FUSE mount on top of a path, escaped names, and its presence. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "fs_mountinfo.h"

static const char table[] =
    "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
    "30 27 0:40 / /mnt/a\\040b rw,nosuid shared:5 - fuse.smbfuse //srv/s rw,user_id=0\n"
    "31 27 8:1 / /mnt/plain rw - ext4 /dev/sda1 rw\n"
    "32 30 0:41 / /mnt/a\\040b rw,nosuid master:2 propagate_from:1 - fuse.smbfuse //srv/t rw\n"
    "33 27 0:42 / /mnt/plain rw - fuse /dev/fuse rw\n"
    "garbage line\n";

static FILE *text(void)
{
    FILE *f = fmemopen((void *)table, sizeof(table) - 1, "r");
    cr_assert(f);
    return f;
}

Test(mountinfo, finds_the_top_fuse_mount_of_an_escaped_path)
{
    dev_t d = 0;
    FILE *f = text();
    cr_assert_eq(sfs_mountinfo_find(f, "/mnt/a b", &d), 0);
    fclose(f);
    cr_assert_eq(major(d), 0);
    cr_assert_eq(minor(d), 41);
}

Test(mountinfo, only_fuse_mounts_and_whole_paths)
{
    dev_t d = 0;
    FILE *f = text();
    cr_assert_eq(sfs_mountinfo_find(f, "/mnt/plain", &d), 0);
    fclose(f);
    cr_assert_eq(minor(d), 42);
    f = text();
    cr_assert_eq(sfs_mountinfo_find(f, "/mnt/a", &d), -ENOENT);
    fclose(f);
    f = text();
    cr_assert_eq(sfs_mountinfo_find(f, "/proc", &d), -ENOENT);
    fclose(f);
}

Test(mountinfo, presence_by_device)
{
    FILE *f = text();
    cr_assert(sfs_mountinfo_has(f, makedev(0, 40)));
    fclose(f);
    f = text();
    cr_assert_not(sfs_mountinfo_has(f, makedev(0, 43)));
    fclose(f);
}
