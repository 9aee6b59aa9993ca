/* The multi-threaded FUSE loop (fs_loop.h), over libfuse's public calls:
 * fuse_session_receive_buf reads a request into a fuse_buf whose mem is
 * set (3.14: read whole into mem, se->bufsize bytes, or, spliced, left in
 * its pipe with mem untouched), fuse_session_process_buf handles it.
 *
 * Why not fuse_loop_mt. Its workers read every request into one buffer
 * each, used again for the next, so a write's data had to be copied out
 * before the write returned: into the write-behind's pieces, 16.5 % of
 * the daemon's CPU under dd. Here a worker reads into a buffer of a pool
 * (fs_bufpool.c) and, while it handles the request, names it as this
 * thread's current one; a write lends it to the core (smb1_write_lent),
 * whose pieces send the data from it, and the worker then reads its next
 * request into another buffer. The buffer goes back to the pool with the
 * last piece that points into it.
 *
 * What stays as in fuse_loop_mt (3.14): the count of workers grows with
 * demand (a new one starts when the last waiting for a request took one;
 * a request can block for long: F_SETLKW, flock, a server gone, and must
 * not keep the others from being read) up to max_threads, and one that
 * finds more than max_idle idle ends; FORGETs do not count as busy. The
 * workers start with every signal blocked, so a stop signal interrupts
 * the main thread, which waits for the session to end, then cancels the
 * workers (a read of the device is the only place they can be cancelled)
 * and joins them; a request under way is answered first. The splice of
 * requests (FUSE_CAP_SPLICE_READ) and of replies is libfuse's, as
 * before. fuse_loop_mt's cleanup thread (-o remember) is started and
 * stopped the same way.
 *
 * Locks: lp->lock protects the list of workers, the counts, exit and
 * error.
 */
#include "fs_loop.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "fs_bufpool.h"

/* Idle buffers the pool keeps beyond those the workers hold: a stream of
 * 1 MiB writes has the write-behind's window (~3 MiB) in flight. */
#define SFS_LOOP_KEEP_BUFS 8
/* Where in a buffer a request is read: a write's data (after 80 bytes of
 * headers) then starts on a page. */
#define SFS_LOOP_DATA_AT (4096 - sizeof(struct fuse_in_header) - sizeof(struct fuse_write_in))

struct loop;

struct worker {
    struct worker *prev, *next;
    pthread_t thread;
    struct loop *lp;
    struct sfs_rbuf *buf; /* the worker's; NULL between a lent one and the next */
};

struct loop {
    struct fuse_session *se;
    struct sfs_bufpool *pool;
    size_t bufsize; /* what libfuse reads into a buffer, at SFS_LOOP_DATA_AT */
    pthread_mutex_t lock;
    struct worker head; /* the list of workers not ended on their own */
    unsigned workers, avail, max_threads, max_idle;
    bool exit;
    int error;
    sem_t finish; /* posted by a worker that leaves because the session ended */
};

static void *worker_main(void *arg);

/* lp->lock held. */
static int start_worker(struct loop *lp)
{
    struct worker *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->lp = lp;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int r = pthread_create(&w->thread, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r) {
        free(w);
        return -r;
    }
    w->next = lp->head.next;
    w->prev = &lp->head;
    lp->head.next->prev = w;
    lp->head.next = w;
    lp->workers++;
    lp->avail++;
    return 0;
}

/* lp->lock held. */
static void unlist(struct worker *w)
{
    w->prev->next = w->next;
    w->next->prev = w->prev;
}

static void drop_buf(void *arg)
{
    struct worker *w = arg;
    if (w->buf)
        sfs_rbuf_put(w->buf);
    w->buf = NULL;
}

static bool is_forget(const struct fuse_buf *fb)
{
    if (fb->flags & FUSE_BUF_IS_FD)
        return false;
    const struct fuse_in_header *in = fb->mem;
    return in->opcode == FUSE_FORGET || in->opcode == FUSE_BATCH_FORGET;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct loop *lp = w->lp;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    while (!fuse_session_exited(lp->se)) {
        if (!w->buf && !(w->buf = sfs_bufpool_get(lp->pool))) {
            pthread_mutex_lock(&lp->lock);
            if (!lp->error)
                lp->error = -ENOMEM;
            pthread_mutex_unlock(&lp->lock);
            fuse_session_exit(lp->se);
            break;
        }
        /* A write's data follows 80 bytes of headers (fuse_in_header,
         * fuse_write_in): read so that it starts on a page, where the
         * kernel copies it page by page and the socket's copy reads it
         * aligned. */
        struct fuse_buf fb = {.mem = w->buf->mem + SFS_LOOP_DATA_AT, .size = lp->bufsize};
        int res;
        pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
        pthread_cleanup_push(drop_buf, w);
        res = fuse_session_receive_buf(lp->se, &fb);
        pthread_cleanup_pop(0);
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
        if (res == -EINTR)
            continue;
        if (res <= 0) {
            if (res < 0) {
                fuse_session_exit(lp->se);
                pthread_mutex_lock(&lp->lock);
                if (!lp->error)
                    lp->error = res;
                pthread_mutex_unlock(&lp->lock);
            }
            break;
        }
        bool forget = is_forget(&fb);
        pthread_mutex_lock(&lp->lock);
        if (lp->exit) {
            pthread_mutex_unlock(&lp->lock);
            return NULL; /* joined by the loop */
        }
        if (!forget)
            lp->avail--;
        if (lp->avail == 0 && lp->workers < lp->max_threads)
            (void)start_worker(lp); /* none: the others carry on */
        pthread_mutex_unlock(&lp->lock);

        sfs_rbuf_set_current(w->buf);
        fuse_session_process_buf(lp->se, &fb);
        sfs_rbuf_set_current(NULL);
        /* A write kept pieces in it: the next request goes elsewhere. */
        if (sfs_rbuf_lent(w->buf))
            drop_buf(w);

        pthread_mutex_lock(&lp->lock);
        if (!forget)
            lp->avail++;
        if (lp->avail > lp->max_idle && lp->workers > 1 && !lp->exit) {
            unlist(w);
            lp->avail--;
            lp->workers--;
            pthread_mutex_unlock(&lp->lock);
            pthread_detach(w->thread);
            drop_buf(w);
            free(w);
            return NULL;
        }
        pthread_mutex_unlock(&lp->lock);
    }
    sem_post(&lp->finish);
    return NULL;
}

int sfs_loop_mt(struct fuse *f, unsigned max_threads, unsigned max_idle)
{
    struct loop lp = {.se = fuse_get_session(f),
                      .max_threads = max_threads ? max_threads : 1,
                      .max_idle = max_idle};
    long page = sysconf(_SC_PAGESIZE);
    lp.bufsize = (size_t)SFS_LOOP_BUF_PAGES * (size_t)(page > 0 ? page : 4096);
    lp.pool = sfs_bufpool_new(SFS_LOOP_DATA_AT + lp.bufsize, SFS_LOOP_KEEP_BUFS);
    if (!lp.pool)
        return -ENOMEM;
    lp.head.next = lp.head.prev = &lp.head;
    pthread_mutex_init(&lp.lock, NULL);
    sem_init(&lp.finish, 0, 0);
    int r = fuse_start_cleanup_thread(f);
    if (r == 0) {
        pthread_mutex_lock(&lp.lock);
        r = start_worker(&lp);
        pthread_mutex_unlock(&lp.lock);
        if (r)
            fuse_stop_cleanup_thread(f);
    }
    if (r) {
        sem_destroy(&lp.finish);
        pthread_mutex_destroy(&lp.lock);
        sfs_bufpool_free(lp.pool);
        return r;
    }
    /* A stop signal interrupts the wait (sem_wait is never restarted);
     * the second's timeout only bounds a signal that came between the
     * look and the wait. */
    while (!fuse_session_exited(lp.se)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        (void)sem_timedwait(&lp.finish, &ts);
    }
    pthread_mutex_lock(&lp.lock);
    for (struct worker *w = lp.head.next; w != &lp.head; w = w->next)
        pthread_cancel(w->thread);
    lp.exit = true;
    pthread_mutex_unlock(&lp.lock);
    /* No worker leaves the list on its own once exit is set. */
    while (lp.head.next != &lp.head) {
        struct worker *w = lp.head.next;
        pthread_join(w->thread, NULL);
        unlist(w);
        drop_buf(w);
        free(w);
    }
    fuse_stop_cleanup_thread(f);
    r = lp.error;
    sem_destroy(&lp.finish);
    pthread_mutex_destroy(&lp.lock);
    /* Buffers the write-behind still sends from go back later. */
    sfs_bufpool_free(lp.pool);
    return r;
}
