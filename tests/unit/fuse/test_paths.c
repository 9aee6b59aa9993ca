/* The server path of a FUSE path (fuse/fs_paths.c sfs_spath): the
 * mount's prefix before it, the leading '/' dropped, a component over
 * NAME_MAX or a result that does not fit refused with ENAMETOOLONG. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "fs_ops_int.h"
#include "fs_opts.h"

static struct sfs_options opts;
static struct sfs_fs fs;

static void with_prefix(const char *prefix)
{
    memset(&opts, 0, sizeof(opts));
    memset(&fs, 0, sizeof(fs));
    opts.prefix = (char *)prefix;
    fs.opts = &opts;
    pthread_mutex_init(&fs.ghosts_lock, NULL);
}

Test(paths, server_path_without_prefix)
{
    char out[64];
    with_prefix(NULL);
    cr_assert_eq(sfs_spath(&fs, "/a/b.txt", out, sizeof(out)), 0);
    cr_assert_str_eq(out, "a/b.txt");
    cr_assert_eq(sfs_spath(&fs, "/", out, sizeof(out)), 0);
    cr_assert_str_eq(out, "");
    with_prefix("");
    cr_assert_eq(sfs_spath(&fs, "/x", out, sizeof(out)), 0);
    cr_assert_str_eq(out, "x");
}

Test(paths, server_path_with_prefix)
{
    char out[64];
    with_prefix("sub/dir");
    cr_assert_eq(sfs_spath(&fs, "/a/b.txt", out, sizeof(out)), 0);
    cr_assert_str_eq(out, "sub/dir/a/b.txt");
    /* The mount's root is the prefix itself, without a trailing '/'. */
    cr_assert_eq(sfs_spath(&fs, "/", out, sizeof(out)), 0);
    cr_assert_str_eq(out, "sub/dir");
}

Test(paths, server_path_that_does_not_fit)
{
    char out[16];
    with_prefix("pre");
    /* "pre/" + 12 bytes and the NUL: 17, one too many; 11 fill it. */
    cr_assert_eq(sfs_spath(&fs, "/abcdefghijkl", out, sizeof(out)), -ENAMETOOLONG);
    cr_assert_eq(sfs_spath(&fs, "/abcdefghijk", out, sizeof(out)), 0);
    cr_assert_str_eq(out, "pre/abcdefghijk");
    with_prefix(NULL);
    cr_assert_eq(sfs_spath(&fs, "/abcdefghijklmnop", out, sizeof(out)), -ENAMETOOLONG);
    cr_assert_eq(sfs_spath(&fs, "/abcdefghijklmno", out, sizeof(out)), 0);
    cr_assert_str_eq(out, "abcdefghijklmno");
    with_prefix("a-prefix-too-long-alone");
    cr_assert_eq(sfs_spath(&fs, "/", out, sizeof(out)), -ENAMETOOLONG);
}

Test(paths, component_over_name_max)
{
    static char path[SFS_NAME_MAX + 8], out[SFS_SPATH_MAX];
    with_prefix(NULL);
    path[0] = '/';
    memset(path + 1, 'n', SFS_NAME_MAX);
    cr_assert_eq(sfs_spath(&fs, path, out, sizeof(out)), 0);
    cr_assert_eq(strlen(out), SFS_NAME_MAX);
    path[SFS_NAME_MAX + 1] = 'n';
    cr_assert_eq(sfs_spath(&fs, path, out, sizeof(out)), -ENAMETOOLONG);
}
