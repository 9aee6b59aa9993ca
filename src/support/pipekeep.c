/* A keep of byte runs held as page references in pipes (pipekeep.h). */
#include "support/pipekeep.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

void pk_init(struct pipekeep *k, size_t want)
{
    for (int p = 0; p < PK_PIPES; p++) {
        k->fd[p][0] = k->fd[p][1] = -1;
        k->cap[p] = k->used[p] = 0;
    }
    k->null_fd = -1;
    k->want = want;
    atomic_init(&k->bad, false);
}

void pk_close(struct pipekeep *k)
{
    for (int p = 0; p < PK_PIPES; p++)
        for (int e = 0; e < 2; e++)
            if (k->fd[p][e] >= 0)
                close(k->fd[p][e]);
    if (k->null_fd >= 0)
        close(k->null_fd);
    pk_init(k, k->want);
}

uint32_t pk_slots(uint32_t n)
{
    return n / PK_PAGE + (n % PK_PAGE ? 1 : 0) + 1;
}

/* Makes pipe p, as large as allowed: false when it cannot be made. */
static bool make_pipe(struct pipekeep *k, int p)
{
    if (pipe2(k->fd[p], O_CLOEXEC | O_NONBLOCK) != 0) {
        k->fd[p][0] = k->fd[p][1] = -1;
        return false;
    }
    int sz = fcntl(k->fd[p][0], F_SETPIPE_SZ, (int)k->want);
    if (sz < 0)
        sz = fcntl(k->fd[p][0], F_SETPIPE_SZ, 1 << 20);
    if (sz < 0)
        sz = fcntl(k->fd[p][0], F_GETPIPE_SZ);
    k->cap[p] = sz > 0 ? (uint32_t)sz / PK_PAGE : 0;
    k->used[p] = 0;
    return true;
}

int pk_reserve(struct pipekeep *k, uint32_t need)
{
    if (atomic_load(&k->bad))
        return -2;
    if (k->null_fd < 0 && (k->null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
        return -2;
    for (int p = 0; p < PK_PIPES; p++) {
        if (k->fd[p][0] < 0 && !make_pipe(k, p))
            return p ? -1 : -2;
        if (need > k->cap[p])
            return -2; /* every pipe is as large as the first */
        if (k->used[p] + need <= k->cap[p]) {
            k->used[p] += need;
            return p;
        }
    }
    return -1;
}

void pk_release(struct pipekeep *k, int p, uint32_t need)
{
    if (p >= 0 && p < PK_PIPES)
        k->used[p] = k->used[p] >= need ? k->used[p] - need : 0;
}

int pk_put(struct pipekeep *k, int p, int src, uint32_t n)
{
    if (atomic_load(&k->bad))
        return -EIO;
    ssize_t t;
    do
        t = tee(src, k->fd[p][1], n, SPLICE_F_NONBLOCK);
    while (t < 0 && errno == EINTR);
    if (t == (ssize_t)n)
        return 0;
    /* Part of it at the pipe's end: the runs there are out of step. */
    if (t > 0)
        atomic_store(&k->bad, true);
    return -EIO;
}

int pk_take(struct pipekeep *k, int p, void *dst, uint32_t n)
{
    if (atomic_load(&k->bad) || pipe_read_n(k->fd[p][0], dst, n)) {
        atomic_store(&k->bad, true);
        return -EIO;
    }
    return 0;
}

int pk_drop(struct pipekeep *k, int p, uint32_t n)
{
    if (atomic_load(&k->bad) || pipe_skip_n(k->fd[p][0], k->null_fd, n)) {
        atomic_store(&k->bad, true);
        return -EIO;
    }
    return 0;
}

int pipe_read_n(int fd, void *dst, size_t n)
{
    uint8_t *b = dst;
    while (n) {
        ssize_t r = read(fd, b, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -EIO;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

int pipe_skip_n(int fd, int null_fd, size_t n)
{
    while (n) {
        ssize_t r = splice(fd, NULL, null_fd, NULL, n, SPLICE_F_NONBLOCK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -EIO;
        n -= (size_t)r;
    }
    return 0;
}
