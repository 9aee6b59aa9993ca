/* Write-behind of the small files we create: the writes of a file we
 * created (O_CREAT|O_EXCL) are kept here, up to what one WRITE_ANDX + CLOSE
 * chain can carry, and go out with its close(2) as that one request
 * (smb1_write_close), with the mtime tar set in the CLOSE. Not for an
 * O_SYNC/O_DSYNC open, nor while the handle holds byte-range locks
 * (smb1_write_close_max is 0 then: a CLOSE would drop them). A file of
 * untar or cp -r then costs its create and that request.
 *
 * What close(2) promises holds: the data is on the server, and visible to
 * every other client, when flush returns, and a failure to write it is
 * what close(2) returns. Until then nothing on the server shows the data,
 * so every request of ours that could see the file goes after it:
 * wb_settle writes out what is kept for a path (or below it) before a
 * stat that goes to the server, an open, rename, unlink, link, truncate or
 * listing; and a read, fsync, lock or truncate through the handle writes
 * its own out first (wb_push). A write that fails there is reported by the
 * next write, fsync or close of the handle, and logged.
 *
 * Locks: wb_lock (per handle) is taken after files_lock, never before; a
 * settle holds a reference (refs, under files_lock) instead of files_lock
 * across its round trip, and a release waits for those to go.
 */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_ops_int.h"

/* Writes out what h keeps, and with behind waits for its writes on their
 * way (smb1_write_behind); wb_lock held. Returns 0 or the failure, which
 * also stays in wb_err for the next write, fsync or close. */
static int push_held_locked(struct sfs_fs *fs, struct sfs_handle *h, bool behind)
{
    size_t done = 0;
    int r = 0;
    while (done < h->wb_len) {
        ssize_t n = smb1_write(h->f, h->wb + done, h->wb_len - done, h->wb_off + done);
        if (n <= 0) {
            r = n < 0 ? (int)n : -EIO;
            break;
        }
        done += (size_t)n;
    }
    if (r)
        log_warn(fs->log, "write of %zu bytes kept for %s failed: %s", h->wb_len, h->path,
                 strerror(-r));
    int rb = behind && h->behind ? smb1_write_wait(h->f) : 0; /* logged by the core */
    if (!r)
        r = rb;
    if (r && !h->wb_err)
        h->wb_err = r;
    h->wb_len = 0;
    return r;
}

static int push_locked(struct sfs_fs *fs, struct sfs_handle *h)
{
    return push_held_locked(fs, h, true);
}

static void clear_pending(struct sfs_fs *fs, struct sfs_handle *h)
{
    pthread_mutex_lock(&fs->files_lock);
    /* Writes of another thread may be on their way already: a settle
     * waits for them (cheaply when there are none). */
    h->wb_pending = h->went_behind;
    pthread_mutex_unlock(&fs->files_lock);
}

int wb_push(struct sfs_fs *fs, struct sfs_handle *h)
{
    pthread_mutex_lock(&h->wb_lock);
    int r = push_locked(fs, h);
    pthread_mutex_unlock(&h->wb_lock);
    clear_pending(fs, h);
    return r;
}

int wb_write(struct sfs_fs *fs, struct sfs_handle *h, const char *buf, size_t size, off_t off)
{
    pthread_mutex_lock(&fs->files_lock);
    bool mine = h->keep_writes && h->writable;
    pthread_mutex_unlock(&fs->files_lock);
    size_t max = mine ? smb1_write_close_max(h->f) : 0;
    int r = 0;
    pthread_mutex_lock(&h->wb_lock);
    if (h->wb_err) {
        r = h->wb_err;
        h->wb_err = 0;
        goto out_unlock;
    }
    if (max && size <= max && h->wb_len + size <= max &&
        (h->wb_len == 0 || (uint64_t)off == h->wb_off + h->wb_len)) {
        if (!h->wb && !(h->wb = malloc(max)))
            goto out_push;
        if (h->wb_len == 0)
            h->wb_off = (uint64_t)off;
        memcpy(h->wb + h->wb_len, buf, size);
        h->wb_len += size;
        pthread_mutex_unlock(&h->wb_lock);
        pthread_mutex_lock(&fs->files_lock);
        h->wb_pending = true;
        pthread_mutex_unlock(&fs->files_lock);
        return (int)size;
    }
out_push:
    /* What is on its way stays so: it goes before anything we send. */
    r = push_held_locked(fs, h, false);
    if (r)
        h->wb_err = 0; /* reported now */
out_unlock:
    pthread_mutex_unlock(&h->wb_lock);
    clear_pending(fs, h);
    if (r == 0 && h->behind) {
        /* The caller's smb1_write_behind: what could observe the file
         * waits for it (wb_settle), from now on until the release. */
        pthread_mutex_lock(&fs->files_lock);
        h->wb_pending = h->went_behind = true;
        pthread_mutex_unlock(&fs->files_lock);
    }
    return r;
}

int wb_flush(struct sfs_fs *fs, struct sfs_handle *h)
{
    /* The chain closes the server's handle: only for the one handle on a
     * file of ours without locks (a later use opens it again). */
    pthread_mutex_lock(&fs->files_lock);
    struct sfs_handle *o = sole_created_locked(fs, h->path);
    bool chain = o == h;
    bool has_mt = h->mtime_pending;
    struct timespec mt = h->close_mtime;
    pthread_mutex_unlock(&fs->files_lock);
    pthread_mutex_lock(&h->wb_lock);
    int r = h->wb_err;
    h->wb_err = 0;
    if (h->wb_len && !r && chain) {
        int rc = smb1_write_close(h->f, h->wb, h->wb_len, h->wb_off, has_mt ? &mt : NULL);
        if (rc != -EINVAL) {
            if (rc)
                log_warn(fs->log, "write and close of %s failed: %s", h->path, strerror(-rc));
            h->wb_len = 0;
            r = rc;
            if (rc == 0 && has_mt) {
                pthread_mutex_lock(&fs->files_lock);
                h->mtime_pending = false;
                pthread_mutex_unlock(&fs->files_lock);
            }
        }
    }
    if (h->wb_len || h->behind) {
        int rp = push_locked(fs, h);
        h->wb_err = 0;
        if (!r)
            r = rp;
    }
    pthread_mutex_unlock(&h->wb_lock);
    clear_pending(fs, h);
    return r;
}

void wb_settle(struct sfs_fs *fs, const char *path, bool below)
{
    size_t n = strlen(path);
    pthread_mutex_lock(&fs->files_lock);
    /* Each handle once: one with writes on their way stays pending. */
    uint64_t seq = ++fs->settle_seq;
    pthread_mutex_unlock(&fs->files_lock);
    for (;;) {
        struct sfs_handle *h;
        pthread_mutex_lock(&fs->files_lock);
        for (h = fs->files.next; h != &fs->files; h = h->next) {
            if (!h->wb_pending || h->settled == seq)
                continue;
            if (strcmp(h->path, path) == 0)
                break;
            if (below && strncmp(h->path, path, n) == 0 &&
                (h->path[n] == '/' || (n == 1 && path[0] == '/')))
                break;
        }
        if (h == &fs->files) {
            pthread_mutex_unlock(&fs->files_lock);
            return;
        }
        h->refs++;
        h->settled = seq;
        pthread_mutex_unlock(&fs->files_lock);
        (void)wb_push(fs, h);
        pthread_mutex_lock(&fs->files_lock);
        h->refs--;
        pthread_cond_broadcast(&fs->files_cond);
        pthread_mutex_unlock(&fs->files_lock);
    }
}

int wb_release(struct sfs_fs *fs, struct sfs_handle *h)
{
    /* h is off the list: no settle finds it any more; wait for those that
     * did. */
    pthread_mutex_lock(&fs->files_lock);
    while (h->refs)
        pthread_cond_wait(&fs->files_cond, &fs->files_lock);
    pthread_mutex_unlock(&fs->files_lock);
    pthread_mutex_lock(&h->wb_lock);
    int r = h->wb_len || h->behind ? push_locked(fs, h) : 0;
    if (!r)
        r = h->wb_err;
    h->wb_err = 0;
    pthread_mutex_unlock(&h->wb_lock);
    return r;
}
