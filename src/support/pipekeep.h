/* A keep of byte runs held as page references in a few pipes (tee(2)):
 * a copy of data that waits in another pipe, made without copying a byte,
 * for when the original is gone (spliced to a socket) and the data is
 * wanted again. Runs leave each pipe in the order they entered it; a
 * caller that takes runs back oldest first (a queue) keeps track by
 * remembering the pipe of each run.
 *
 * Room is counted in pipe slots (one per page a run touches) and reserved
 * before the copy is made, so a copy never stops halfway: pk_reserve and
 * pk_release run under the caller's lock (they change the counts);
 * pk_put, pk_take and pk_drop are system calls on a reserved run and need
 * none (a pipe takes one writer and one reader at once). Pipes are made
 * on demand, as large as the process may make them (without
 * CAP_SYS_RESOURCE at most /proc/sys/fs/pipe-max-size, 1 MiB by
 * default). After a failed operation the keep is bad: it holds runs
 * nobody can find any more, and every later call fails until pk_close. */
#ifndef SMBFUSE_PIPEKEEP_H
#define SMBFUSE_PIPEKEEP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PK_PIPES 4
#define PK_PAGE  4096u

struct pipekeep {
    int fd[PK_PIPES][2];                    /* -1: not made yet */
    uint32_t cap[PK_PIPES], used[PK_PIPES]; /* slots; the caller's lock */
    int null_fd;                            /* /dev/null, where dropped runs go */
    size_t want;                            /* bytes asked of each pipe */
    atomic_bool bad;
};

/* An empty keep that asks want bytes of each pipe it makes. */
void pk_init(struct pipekeep *k, size_t want);
/* Closes every pipe (dropping what they hold): empty and good again. */
void pk_close(struct pipekeep *k);
/* The slots a run of n bytes may take, wherever in a page it starts
 * (taken from one pipe whose buffers are pages; a run gathered from
 * several pipes takes at most the sum of its parts). */
uint32_t pk_slots(uint32_t n);
/* Reserves room for a run of at most slots slots: the pipe's index
 * (>= 0), -1 when every pipe is full now (room comes back with
 * pk_release), -2 when none ever can take it (too large, no pipe can be
 * made, or the keep is bad). */
int pk_reserve(struct pipekeep *k, uint32_t slots);
/* Gives back the room of a run reserved with slots in pipe p (reserved,
 * taken or dropped). */
void pk_release(struct pipekeep *k, int p, uint32_t slots);
/* Copies the next n bytes of the pipe src into pipe p (room reserved),
 * leaving them in src: 0, or -EIO with the keep bad unless nothing was
 * copied (then the room is the caller's to release). */
int pk_put(struct pipekeep *k, int p, int src, uint32_t n);
/* The oldest run of pipe p, n bytes: read into dst, or dropped. 0 or
 * -EIO (the keep is bad). */
int pk_take(struct pipekeep *k, int p, void *dst, uint32_t n);
int pk_drop(struct pipekeep *k, int p, uint32_t n);

/* Reads n bytes that are in the pipe fd (never waits for more): 0 or
 * -EIO. */
int pipe_read_n(int fd, void *dst, size_t n);
/* Drops the next n bytes of the pipe fd into null_fd: 0 or -EIO. */
int pipe_skip_n(int fd, int null_fd, size_t n);

#endif
