/* The write callbacks. libfuse hands a write over in memory (write: in
 * the buffer our loop read the request into, which it lends to the core
 * with the write, smb1_write_lent, so that the write-behind sends from
 * it: fs_loop.c) or,
 * with FUSE_CAP_SPLICE_READ (asked for in sfs_init), still in the pipe it
 * spliced the request into from /dev/fuse (write_buf): the core then
 * takes the data from the pipe itself (smb1_write_pipe), read straight
 * into its requests or, for a direct-I/O write on an unsigned
 * connection, spliced on to the socket without a copy in user space.
 *
 * Whether the pipe's pages may be held after the write returns: the
 * kernel copies a direct-I/O write's data into fresh pages for the pipe
 * (it cannot control how long a pipe keeps user pages), while a write
 * through the page cache puts references to the cached pages themselves
 * in it, which the next write(2) may change while a spliced copy still
 * waits in the socket. So only a direct-I/O open's writes (set_open_flags
 * in fs_ops.c, sfs_direct_io below: the two cannot differ) are spliced,
 * and never a write of mapped pages (writepage).
 */
#include "fs_ops_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "fs_bufpool.h"
#include "smb1_cache.h"

bool sfs_pipe_holds(size_t bytes)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return false;
    bool ok = fcntl(p[0], F_SETPIPE_SZ, (int)bytes) >= (int)bytes;
    close(p[0]);
    close(p[1]);
    return ok;
}

/* Why whole writes win over splicing where a pipe holds 1 MiB (the limit
 * without CAP_SYS_RESOURCE, /proc/sys/fs/pipe-max-size): libfuse splices
 * a request only when its pipe holds max_write and a page of headers, and
 * the kernel copies a write into the pipe as a page of headers and then
 * the data in pages of its own: a 1 MiB write takes 257 of the 256 slots
 * of a 1 MiB pipe. There a spliced write is at most 1020 KiB, and each
 * MiB of dd became two FUSE writes (1020 + 4 KiB), the second waiting
 * for the answer to the first (a direct-I/O write through FUSE goes one
 * request at a time) and both sending their pieces on the writer's own
 * thread. Whole 1 MiB writes read out of /dev/fuse and copied into the
 * requests, sent by the pump, made 512 MiB of dd 12 % faster on average
 * taking turns with splicing (src/README.md, "Big files"). */
uint32_t sfs_max_write(const struct sfs_options *o)
{
    return o->max_write ? o->max_write : SFS_MAX_WRITE;
}

bool sfs_splice_writes(struct smb1_conn *conn, uint32_t max_write)
{
    return smb1_conn_splice_ok(conn) && sfs_pipe_holds((size_t)max_write + 4096);
}

bool sfs_direct_io(const struct sfs_fs *fs, int flags)
{
    return fs->opts->cache == SFS_CACHE_NONE || (flags & O_ACCMODE) == O_WRONLY;
}

/* After a write of path (or a failed one) through h: the attributes
 * cached are stale, also those of its other names when it wrote. */
static void wrote(struct sfs_fs *fs, const char *fpath, struct smb1_file *h, bool ok)
{
    HPATH(path, fpath, h);
    if (!path)
        return;
    cache_changed(fs->cache, path);
    if (ok)
        links_changed(fs, path);
}

/* A write of buf, lent to the core when loan (see fs_loop.c). */
static int write_mem(const char *path, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi, struct smb1_loan *loan)
{
    struct sfs_fs *fs = get_fs();
    struct smb1_file *h = get_handle(fi);
    size_t done = 0;
    while (done < size) {
        ssize_t n = smb1_write_lent(h, buf + done, size - done, (uint64_t)off + done, loan);
        if (n < 0) {
            wrote(fs, path, h, false);
            return (int)n;
        }
        if (n == 0)
            return -EIO;
        done += (size_t)n;
    }
    wrote(fs, path, h, true);
    return (int)done;
}

int sfs_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    return write_mem(path, buf, size, off, fi, NULL);
}

int sfs_write_buf(const char *path, struct fuse_bufvec *buf, off_t off, struct fuse_file_info *fi)
{
    atomic_fetch_add_explicit(&get_fs()->fuse_writes, 1, memory_order_relaxed);
    size_t size = fuse_buf_size(buf);
    const struct fuse_buf *b = &buf->buf[buf->idx];
    if (buf->count == 1 && buf->off == 0 && b->size == size && (b->flags & FUSE_BUF_IS_FD) &&
        !(b->flags & FUSE_BUF_FD_SEEK)) {
        struct sfs_fs *fs = get_fs();
        bool priv = sfs_direct_io(fs, fi->flags) && !fi->writepage;
        struct smb1_file *h = get_handle(fi);
        ssize_t n = smb1_write_pipe(h, b->fd, size, (uint64_t)off, priv);
        wrote(fs, path, h, n >= 0);
        if (n < 0)
            return (int)n;     /* what is left in the pipe: libfuse empties it */
        buf->idx = buf->count; /* all taken */
        return (int)n;
    }
    if (buf->count == 1 && !(b->flags & FUSE_BUF_IS_FD)) {
        /* Read by our loop into a buffer it lends (fs_loop.c): the
         * write-behind may send the data from there. */
        const char *mem = (const char *)b->mem + buf->off;
        return write_mem(path, mem, size, off, fi, sfs_rbuf_lend(mem, size));
    }
    /* Anything else (libfuse sends none): flattened first. */
    char *mem = malloc(size ? size : 1);
    if (!mem)
        return -ENOMEM;
    struct fuse_bufvec dst = FUSE_BUFVEC_INIT(size);
    dst.buf[0].mem = mem;
    ssize_t got = fuse_buf_copy(&dst, buf, 0);
    int r = got < 0 ? (int)got : sfs_write(path, mem, (size_t)got, off, fi);
    free(mem);
    return r;
}
