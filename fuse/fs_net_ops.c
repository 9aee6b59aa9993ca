/* The FUSE callbacks of the network mount: the top three levels
 * (workgroups, servers, shares) answered from fs_net.c's lists, anything
 * inside a share handed to the single-share callbacks of fs_ops.c on that
 * share's own sfs_fs (see fs_net.c). */
#include "fs_net_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Runs one inner callback on the share's own sfs_fs. */
#define IN_SHARE(net, sh, call)                                                                    \
    ({                                                                                             \
        struct fuse_context *ctx_ = fuse_get_context();                                            \
        void *saved_ = ctx_->private_data;                                                         \
        ctx_->private_data = (sh)->fs;                                                             \
        int r_ = (call);                                                                           \
        ctx_->private_data = saved_;                                                               \
        r_;                                                                                        \
    })

/* Resolves path to its share; returns from the calling callback with the
 * error when it is not inside one. */
#define ENTER(path, p, sh, top_err)                                                                \
    struct sfs_net *net = net_get();                                                               \
    struct net_path p;                                                                             \
    struct net_share *sh;                                                                          \
    do {                                                                                           \
        int e_ = net_split((path), &p);                                                            \
        if (e_)                                                                                    \
            return e_;                                                                             \
        if (p.depth < 3)                                                                           \
            return (top_err);                                                                      \
        e_ = net_share_enter(net, &p, &sh);                                                        \
        if (e_)                                                                                    \
            return e_;                                                                             \
    } while (0)

/* ---- callbacks ---- */

static void *net_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    struct sfs_net *net = net_get();
    double t = net->opts->actimeo;
    cfg->entry_timeout = t;
    cfg->attr_timeout = t;
    cfg->negative_timeout = 0;
    cfg->use_ino = 0; /* servers' inode numbers would collide */
    cfg->hard_remove = 0;
    /* Paths for every call (no nullpath_ok, unlike the share mount): each
     * callback finds its server and share in the path, and without lock
     * callbacks no call waits long on a name that a rename would need. */
    cfg->nullpath_ok = 0;
    cfg->kernel_cache = 0;
    cfg->auto_cache = 0;
    cfg->direct_io = net->opts->cache == SFS_CACHE_NONE;
    conn->max_write = 1u << 20;
    if (conn->capable & FUSE_CAP_ASYNC_READ)
        conn->want |= FUSE_CAP_ASYNC_READ;
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    return net;
}

static int net_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct sfs_net *net = net_get();
    struct net_path p;
    int r = net_split(path, &p);
    if (r)
        return r;
    if (p.depth < 3) {
        r = net_check_dir(net, &p);
        if (!r)
            net_dir_stat(net, st);
        return r;
    }
    struct net_share *sh;
    r = net_share_enter(net, &p, &sh);
    if (r)
        return r;
    r = IN_SHARE(net, sh, net->inner->getattr(p.rest, st, fi));
    net_share_leave(net, sh, 0);
    return r;
}

static int net_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                       struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    struct sfs_net *net = net_get();
    struct net_path p;
    int r = net_split(path, &p);
    if (r)
        return r;
    if (p.depth >= 3) {
        struct net_share *sh;
        r = net_share_enter(net, &p, &sh);
        if (r)
            return r;
        r = IN_SHARE(net, sh, net->inner->readdir(p.rest, buf, filler, off, fi, flags));
        net_share_leave(net, sh, 0);
        return r;
    }
    char key[NET_NAME_MAX + 1];
    if (p.depth == 0)
        key[0] = 0;
    else if (p.depth == 1)
        snprintf(key, sizeof(key), "%s", p.wg);
    else
        snprintf(key, sizeof(key), "\\%s", p.server);
    if (p.depth > 0 && (r = net_check_dir(net, &p)) != 0)
        return r;
    char(*names)[NET_NAME_MAX];
    size_t n;
    r = net_list_get(net, key, &names, &n);
    if (r)
        return r;
    struct stat st;
    net_dir_stat(net, &st);
    filler(buf, ".", &st, 0, 0);
    filler(buf, "..", &st, 0, 0);
    for (size_t i = 0; i < n; i++)
        if (filler(buf, names[i], &st, 0, 0))
            break;
    free(names);
    return 0;
}

static int net_open(const char *path, struct fuse_file_info *fi)
{
    ENTER(path, p, sh, -EISDIR);
    int r = IN_SHARE(net, sh, net->inner->open(p.rest, fi));
    net_share_leave(net, sh, r == 0);
    return r;
}

static int net_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    ENTER(path, p, sh, -EACCES);
    int r = IN_SHARE(net, sh, net->inner->create(p.rest, mode, fi));
    net_share_leave(net, sh, r == 0);
    return r;
}

static int net_release(const char *path, struct fuse_file_info *fi)
{
    ENTER(path, p, sh, 0);
    int r = IN_SHARE(net, sh, net->inner->release(p.rest, fi));
    net_share_leave(net, sh, -1);
    return r;
}

/* The callbacks whose only path is inside a share. */
#define NET_PASS(name, args, call_args, top_err)                                                   \
    static int net_##name args                                                                     \
    {                                                                                              \
        ENTER(path, p, sh, top_err);                                                               \
        int r = IN_SHARE(net, sh, net->inner->name call_args);                                     \
        net_share_leave(net, sh, 0);                                                               \
        return r;                                                                                  \
    }

NET_PASS(read, (const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi),
         (p.rest, buf, size, off, fi), -EISDIR)
NET_PASS(write,
         (const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi),
         (p.rest, buf, size, off, fi), -EISDIR)
NET_PASS(flush, (const char *path, struct fuse_file_info *fi), (p.rest, fi), 0)
NET_PASS(fsync, (const char *path, int ds, struct fuse_file_info *fi), (p.rest, ds, fi), 0)
NET_PASS(truncate, (const char *path, off_t size, struct fuse_file_info *fi), (p.rest, size, fi),
         -EISDIR)
NET_PASS(unlink, (const char *path), (p.rest), -EACCES)
NET_PASS(mkdir, (const char *path, mode_t mode), (p.rest, mode), -EACCES)
NET_PASS(rmdir, (const char *path), (p.rest), -EACCES)
NET_PASS(readlink, (const char *path, char *buf, size_t size), (p.rest, buf, size), -EINVAL)
NET_PASS(utimens, (const char *path, const struct timespec tv[2], struct fuse_file_info *fi),
         (p.rest, tv, fi), -EACCES)
NET_PASS(chmod, (const char *path, mode_t mode, struct fuse_file_info *fi), (p.rest, mode, fi),
         -EACCES)
NET_PASS(chown, (const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi),
         (p.rest, uid, gid, fi), -EACCES)
NET_PASS(statfs, (const char *path, struct statvfs *sv), (p.rest, sv),
         (memset(sv, 0, sizeof(*sv)), 0))

static int net_symlink(const char *target, const char *path)
{
    ENTER(path, p, sh, -EACCES);
    int r = IN_SHARE(net, sh, net->inner->symlink(target, p.rest));
    net_share_leave(net, sh, 0);
    return r;
}

/* Two paths: both in the same share, else -EXDEV. */
static int two_paths(const char *from, const char *to, struct net_path *pf, struct net_path *pt)
{
    int r = net_split(from, pf);
    if (!r)
        r = net_split(to, pt);
    if (r)
        return r;
    if (pf->depth < 3 || pt->depth < 3)
        return -EACCES;
    if (strcasecmp(pf->server, pt->server) != 0 || strcasecmp(pf->share, pt->share) != 0)
        return -EXDEV;
    return 0;
}

/* Both paths split and in one share, which is entered. */
static int enter_two(struct sfs_net *net, const char *from, const char *to, struct net_path *pf,
                     struct net_path *pt, struct net_share **sh)
{
    int r = two_paths(from, to, pf, pt);
    return r ? r : net_share_enter(net, pf, sh);
}

static int net_rename(const char *from, const char *to, unsigned int flags)
{
    struct sfs_net *net = net_get();
    struct net_path pf, pt;
    struct net_share *sh;
    int r = enter_two(net, from, to, &pf, &pt, &sh);
    if (r)
        return r;
    r = IN_SHARE(net, sh, net->inner->rename(pf.rest, pt.rest, flags));
    net_share_leave(net, sh, 0);
    return r;
}

static int net_link(const char *from, const char *to)
{
    struct sfs_net *net = net_get();
    struct net_path pf, pt;
    struct net_share *sh;
    int r = enter_two(net, from, to, &pf, &pt, &sh);
    if (!r) {
        r = IN_SHARE(net, sh, net->inner->link(pf.rest, pt.rest));
        net_share_leave(net, sh, 0);
    }
    return r;
}

static int net_access(const char *path, int mask)
{
    struct sfs_net *net = net_get();
    struct net_path p;
    int r = net_split(path, &p);
    if (r)
        return r;
    if (p.depth < 3)
        return (mask & W_OK) ? -EACCES : net_check_dir(net, &p);
    struct net_share *sh;
    if ((r = net_share_enter(net, &p, &sh)) != 0)
        return r;
    r = IN_SHARE(net, sh, net->inner->access(p.rest, mask));
    net_share_leave(net, sh, 0);
    return r;
}

static const struct fuse_operations net_ops = {
    .init = net_init,
    .getattr = net_getattr,
    .readdir = net_readdir,
    .open = net_open,
    .create = net_create,
    .read = net_read,
    .write = net_write,
    .flush = net_flush,
    .fsync = net_fsync,
    .release = net_release,
    .truncate = net_truncate,
    .unlink = net_unlink,
    .rename = net_rename,
    .mkdir = net_mkdir,
    .rmdir = net_rmdir,
    .symlink = net_symlink,
    .readlink = net_readlink,
    .link = net_link,
    .utimens = net_utimens,
    .chmod = net_chmod,
    .chown = net_chown,
    .statfs = net_statfs,
    .access = net_access,
};

const struct fuse_operations *sfs_net_operations(void)
{
    return &net_ops;
}
