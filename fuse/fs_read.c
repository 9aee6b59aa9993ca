/* The read callback. libfuse hands a read's reply to the kernel from
 * memory (writev, pinning the buffer's pages) or, with
 * FUSE_CAP_SPLICE_WRITE (asked for in sfs_init where the connection
 * neither signs nor is observed), by splice(2) from a pipe. read_buf
 * lets the core put a READ_ANDX reply's data into a pipe of this thread
 * straight from the socket (smb1_read_pipe, src/ops/op_rsplice.c), and
 * libfuse moves it from there into /dev/fuse: the data never comes into
 * user space, where it was copied from the socket into libfuse's buffer
 * and from there into /dev/fuse. Where it cannot (a read of several
 * READ_ANDX, a pipe that filled, a reply read whole), the core says the
 * data is in the buffer instead, and libfuse sends that as before.
 */
#include "fs_ops_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The pipe of each FUSE thread: 1 MiB, which a process may make without
 * CAP_SYS_RESOURCE (/proc/sys/fs/pipe-max-size), and what the largest
 * read is (max_write, sfs_init). */
#define SFS_RPIPE_SIZE (1u << 20)
/* Smaller reads go through memory: libfuse copies a reply of less than
 * two pages out of the pipe anyway, and the mux reads replies of less
 * than 8 KiB whole. */
#define SFS_RPIPE_MIN (16u * 1024)

struct rpipe {
    int fd[2];
    size_t cap;
};

static pthread_key_t rpipe_key;
static pthread_once_t rpipe_once = PTHREAD_ONCE_INIT;
static bool rpipe_key_ok;

static void rpipe_close(struct rpipe *p)
{
    close(p->fd[0]);
    close(p->fd[1]);
    free(p);
}

static void rpipe_free(void *v)
{
    if (v)
        rpipe_close(v);
}

static void rpipe_key_init(void)
{
    rpipe_key_ok = pthread_key_create(&rpipe_key, rpipe_free) == 0;
}

static struct rpipe *rpipe_new(void)
{
    struct rpipe *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    if (pipe2(p->fd, O_CLOEXEC | O_NONBLOCK) != 0) {
        free(p);
        return NULL;
    }
    int c = fcntl(p->fd[0], F_SETPIPE_SZ, (int)SFS_RPIPE_SIZE);
    p->cap = c > 0 ? (size_t)c : 0;
    return p;
}

/* This thread's pipe, empty, if it holds size bytes; else NULL. A reply
 * libfuse could not send whole may have left bytes in it: such a pipe is
 * replaced. */
static struct rpipe *rpipe_get(size_t size)
{
    pthread_once(&rpipe_once, rpipe_key_init);
    if (!rpipe_key_ok)
        return NULL;
    struct rpipe *p = pthread_getspecific(rpipe_key);
    int n = 0;
    if (p && (ioctl(p->fd[0], FIONREAD, &n) != 0 || n != 0)) {
        pthread_setspecific(rpipe_key, NULL);
        rpipe_close(p);
        p = NULL;
    }
    if (!p) {
        p = rpipe_new();
        if (!p)
            return NULL;
        if (pthread_setspecific(rpipe_key, p) != 0) {
            rpipe_close(p);
            return NULL;
        }
    }
    return p->cap >= size ? p : NULL;
}

size_t sfs_splice_read_max(void)
{
    /* libfuse (3.14) splices a reply only through a pipe of its own that
     * holds the data, the header and three pages more
     * (fuse_send_data_iov); where it cannot make one, it reads the data
     * back out of ours into memory: worse than no pipe. */
    size_t max = SFS_RPIPE_SIZE;
    while (max > SFS_RPIPE_MIN && !sfs_pipe_holds(max + 3 * 4096 + 16))
        max -= 4096;
    return max > SFS_RPIPE_MIN ? max : 0;
}

uint32_t sfs_splice_read_cap(uint32_t max_write)
{
    size_t max = sfs_splice_read_max();
    return max && max < max_write ? (uint32_t)max : 0;
}

int sfs_read_buf(const char *path, struct fuse_bufvec **bufp, size_t size, off_t off,
                 struct fuse_file_info *fi)
{
    (void)path;
    struct sfs_fs *fs = get_fs();
    struct smb1_file *h = get_handle(fi);
    struct fuse_bufvec *bv = malloc(sizeof(*bv));
    void *mem = malloc(size ? size : 1);
    if (!bv || !mem) {
        free(bv);
        free(mem);
        return -ENOMEM;
    }
    *bv = (struct fuse_bufvec)FUSE_BUFVEC_INIT(size);
    size_t max = atomic_load(&fs->splice_read_max);
    struct rpipe *p = size >= SFS_RPIPE_MIN && size <= max ? rpipe_get(size) : NULL;
    bool in_pipe = false;
    /* smb1_read reads up to the end of the file: a short count is EOF. */
    ssize_t r = p ? smb1_read_pipe(h, p->fd[0], p->fd[1], mem, size, (uint64_t)off, &in_pipe)
                  : smb1_read(h, mem, size, (uint64_t)off);
    if (r < 0) {
        free(bv);
        free(mem);
        return (int)r;
    }
    bv->buf[0].size = (size_t)r;
    if (in_pipe) {
        free(mem);
        bv->buf[0].mem = NULL;
        bv->buf[0].flags = FUSE_BUF_IS_FD;
        bv->buf[0].fd = p->fd[0];
    } else {
        bv->buf[0].mem = mem;
    }
    *bufp = bv;
    return 0;
}
