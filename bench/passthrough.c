/* The FUSE ceiling for bench.sh: a minimal multithreaded high-level
 * passthrough of a local directory, with the same kernel settings as
 * smbfuse (1 MiB writes, no writeback cache), so the gap between the two
 * is what the network and SMB1 cost.
 *
 * usage: passthrough SOURCE MOUNTPOINT [fuse options]
 */
#define FUSE_USE_VERSION 314
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int root_fd;

static const char *rel(const char *path)
{
    while (*path == '/')
        path++;
    return *path ? path : ".";
}

static void *pt_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    cfg->entry_timeout = cfg->attr_timeout = cfg->negative_timeout = 1.0;
    conn->max_write = 1u << 20;
    /* PT_WRITEBACK=1: with the kernel's writeback cache, for the figures
     * of src/README.md (bench/bigio.sh). */
    const char *wb = getenv("PT_WRITEBACK");
    if (wb && *wb == '1' && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
        conn->want |= FUSE_CAP_WRITEBACK_CACHE;
    else
        conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    return NULL;
}

static int pt_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    int r = fi ? fstat((int)fi->fh, st) : fstatat(root_fd, rel(path), st, AT_SYMLINK_NOFOLLOW);
    return r ? -errno : 0;
}

static int pt_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    int fd = openat(root_fd, rel(path), O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -errno;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            filler(buf, e->d_name, &st, 0, FUSE_FILL_DIR_PLUS);
    }
    closedir(d);
    return 0;
}

static int pt_open(const char *path, struct fuse_file_info *fi)
{
    int fd = openat(root_fd, rel(path), fi->flags & ~O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    fi->fh = (uint64_t)fd;
    return 0;
}

static int pt_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    int fd = openat(root_fd, rel(path), fi->flags | O_CREAT, mode);
    if (fd < 0)
        return -errno;
    fi->fh = (uint64_t)fd;
    return 0;
}

static int pt_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    ssize_t n = pread((int)fi->fh, buf, size, off);
    return n < 0 ? -errno : (int)n;
}

static int pt_write(const char *path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    ssize_t n = pwrite((int)fi->fh, buf, size, off);
    return n < 0 ? -errno : (int)n;
}

static int pt_release(const char *path, struct fuse_file_info *fi)
{
    close((int)fi->fh);
    return 0;
}

static int pt_unlink(const char *path)
{
    return unlinkat(root_fd, rel(path), 0) ? -errno : 0;
}

static int pt_mkdir(const char *path, mode_t mode)
{
    return mkdirat(root_fd, rel(path), mode) ? -errno : 0;
}

static int pt_rmdir(const char *path)
{
    return unlinkat(root_fd, rel(path), AT_REMOVEDIR) ? -errno : 0;
}

static int pt_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    if (fi)
        return ftruncate((int)fi->fh, size) ? -errno : 0;
    int fd = openat(root_fd, rel(path), O_WRONLY);
    if (fd < 0)
        return -errno;
    int r = ftruncate(fd, size) ? -errno : 0;
    close(fd);
    return r;
}

static int pt_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    return utimensat(root_fd, rel(path), tv, AT_SYMLINK_NOFOLLOW) ? -errno : 0;
}

static int pt_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    return fchmodat(root_fd, rel(path), mode, 0) ? -errno : 0;
}

static int pt_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    return fchownat(root_fd, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW) ? -errno : 0;
}

static int pt_rename(const char *from, const char *to, unsigned int flags)
{
    return renameat2(root_fd, rel(from), root_fd, rel(to), flags) ? -errno : 0;
}

static const struct fuse_operations pt_ops = {
    .init = pt_init,
    .getattr = pt_getattr,
    .readdir = pt_readdir,
    .open = pt_open,
    .create = pt_create,
    .read = pt_read,
    .write = pt_write,
    .release = pt_release,
    .unlink = pt_unlink,
    .mkdir = pt_mkdir,
    .rmdir = pt_rmdir,
    .truncate = pt_truncate,
    .utimens = pt_utimens,
    .chmod = pt_chmod,
    .chown = pt_chown,
    .rename = pt_rename,
};

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SOURCE MOUNTPOINT [fuse options]\n", argv[0]);
        return 1;
    }
    root_fd = open(argv[1], O_RDONLY | O_DIRECTORY);
    if (root_fd < 0) {
        perror(argv[1]);
        return 1;
    }
    argv[1] = argv[0];
    return fuse_main(argc - 1, argv + 1, &pt_ops, NULL);
}
