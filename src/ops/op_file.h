/* Open files: NT_CREATE_ANDX (or SMB_POSIX_PATH_OPEN), READ_ANDX,
 * WRITE_ANDX, FLUSH, CLOSE, LOCKING_ANDX (MS-CIFS 2.2.4.64, 2.2.4.42,
 * 2.2.4.43, 2.2.4.6, 2.2.4.5, 2.2.4.32). op_file.c opens, reopens and
 * closes; op_io.c reads, writes and flushes; op_lock.c locks.
 *
 * A struct smb1_file survives reconnections: it remembers how it was
 * opened, and before each use its FID's epoch is compared with the
 * connection's; a stale FID is replaced by reopening the file (disposition
 * OPEN: never create, never truncate). Requests that name a FID are never
 * marked idempotent for the connection layer and never reconnect inside
 * conn_call (CONN_FID), because a FID must not be sent on a newer
 * connection, where the same number may name another file; this module
 * re-establishes the connection first, reopens, and retries them itself
 * (reads and writes at an offset are safe to repeat).
 *
 * Residual race: if another thread completes a whole reconnect between
 * file_get_fid() and the send, the old FID still goes out on the new
 * connection. Closing it needs the connection layer to compare the
 * request's epoch under its send lock (a conn_call variant taking the
 * expected epoch).
 */
#ifndef SMBFUSE_OP_FILE_H
#define SMBFUSE_OP_FILE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "session/conn.h"
#include "smb1.h"

struct plock_range;
struct ops_tree;

struct file_lock_rec {
    struct file_lock_rec *next;
    uint64_t off, len;
    bool shared;
};

/* An unlock owed to the server (op_lock.c): a lock request of the handle
 * on fid in epoch whose outcome is unknown. */
struct file_lock_owed {
    struct file_lock_owed *next;
    uint64_t off, len;
    uint64_t epoch;
    uint16_t fid;
    bool large;
};

struct smb1_file {
    struct smb1_tree *t;
    struct smb1_file *prev, *next; /* protected by the tree's ops_tree lock */
    pthread_mutex_t lock; /* protects path, fid, epoch, locks, locks_lost, lock_owed, open_st */
    char *path;           /* '/' path; moved by rename */
    /* What the create's reply said (open_kept: not used yet, nothing went
     * through f since; smb1_file_open_stat). */
    bool open_kept;
    struct smb1_stat open_st;
    uint32_t access, share, create_options;
    bool posix;      /* opened with SMB_POSIX_PATH_OPEN */
    int posix_flags; /* O_ACCMODE (and O_DIRECTORY) for a POSIX reopen */
    bool is_dir;
    uint16_t fid;
    uint64_t epoch;
    /* Byte ranges this handle holds, taken again after a reopen: a server
     * restart drops them, and the program still believes it has them. */
    struct file_lock_rec *locks;
    /* One could not be taken again (someone else has the range now): I/O
     * through this handle fails with EIO rather than go on unprotected. */
    bool locks_lost;
    /* Ranges a LOCKING_ANDX of this handle may have locked on the server
     * although the program was told it failed (it timed out or was
     * interrupted: the server may have granted it, or may yet). Each is
     * unlocked, on its epoch, before the next lock request of the handle
     * goes out (op_lock.c), oldest first; a new epoch drops them (the
     * server dropped the handle's locks with the connection). */
    struct file_lock_owed *lock_owed;
    /* Orders the handle's LOCKING_ANDX (op_lock.c): held by a lock
     * request across the owed unlocks it sends first and its own round
     * trip, and by the closer thread's retry of the owed unlocks (which
     * only tries it), so an owed unlock never passes a later lock of the
     * range. Taken before the ops_tree lock and lock. */
    pthread_mutex_t lock_io;
    /* Never reopened after a reconnect: a print job's spool file (opening
     * the name again would start another job). The handle fails instead. */
    bool no_reopen;
    /* The POSIX view of the locks (op_plock.c); protected by the tree's
     * ops_tree plock_lock. */
    struct plock_range *plocks;
    /* Ranges unlocked here whose server-side lock Samba may keep (see
     * op_plock.h); protected by plock_lock. */
    struct plock_range *plock_stale;
    bool plock_closed; /* protected by plock_lock */

    /* Opened with O_CREAT|O_EXCL (the file is ours) and for writing;
     * constant after smb1_open. */
    bool created, writable;

    /* Held writes (op_wb.c). hold is set once, before the first write
     * (smb1_hold_writes). wb_lock protects wb, wb_len, wb_cap, wb_off and wb_err;
     * it is taken with no other lock held and kept across the round trips
     * that push the data (ot->lock and f->lock nest inside it). */
    _Atomic bool hold;
    pthread_mutex_t wb_lock;
    uint8_t *wb;
    size_t wb_len, wb_cap;
    uint64_t wb_off;
    int wb_err;
    /* An owner change held for the chmod that follows (op_setown.c): from
     * chown_fuid, chown_fgid (the owner before it: its outcome is learnt
     * under those) to chown_uid, chown_gid; under wb_lock. */
    bool chown_held;
    uint64_t chown_uid, chown_gid, chown_fuid, chown_fgid;
    /* A mode set held for close(2) (op_setown.c), sent with the owner
     * change held and the WRITE+CLOSE chain; under wb_lock. */
    bool mode_held;
    unsigned mode_val;
    /* Protected by the tree's ops_tree lock: held data is waiting (what
     * a settle looks for), settles using f (a release waits for them),
     * released by the program (no longer open: what the registry's
     * lookups skip), its CLOSE queued or under way in the background,
     * the background queue's link. */
    bool held;
    unsigned refs;
    bool released;
    bool closing;
    struct smb1_file *close_next;

    /* What is known of a file we created while this is its one handle
     * (op_own.c): the create's attributes followed through our own
     * changes, trusted for the tree's own_ttl_ns after own_ns (monotonic;
     * 0 once unsure); own_exact: the mtime too. A last-write time for the
     * CLOSE to carry (mtime_pending). All under the ops_tree lock. */
    struct smb1_stat own_st;
    uint64_t own_ns;
    bool own_exact;
    bool mtime_pending;
    struct timespec close_mtime;
    bool wrote;  /* a write through f went through (or is held); ops_tree lock */
    bool hidden; /* moved to a hidden name, deleted at the last close (op_hide.c); ops_tree lock */

    /* What the server said the file holds (at the open, the last fstat or
     * ftruncate), raised by the writes through this handle; atomic (the
     * __atomic builtins; file_size_note). A read answered short before it
     * is not taken for the end of the file unchecked (op_io.c). */
    uint64_t known_size;

    /* Write-behind (op_wbehind.c): asked for once, before the first
     * write (smb1_write_behind_on); wbh is set once under lock, its
     * contents under its own lock. behind_busy (ops_tree lock): pieces
     * are queued or in flight, what a settle waits for, as for held. */
    _Atomic bool behind;
    struct file_wbehind *wbh;
    bool behind_busy;
};

/* Notes a size of f: exact (the server's word, which may also shrink it)
 * or a least size (the end of a write). */
static inline void file_size_note(struct smb1_file *f, uint64_t size, bool exact)
{
    if (exact) {
        __atomic_store_n(&f->known_size, size, __ATOMIC_RELAXED);
        return;
    }
    uint64_t cur = __atomic_load_n(&f->known_size, __ATOMIC_RELAXED);
    while (cur < size && !__atomic_compare_exchange_n(&f->known_size, &cur, size, true,
                                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

struct file_create {
    uint32_t access, share, disposition, options, attrs;
};

/* NT_CREATE_ANDX. On 0: *fid, and (if not NULL) *st from the reply,
 * *epoch the connection epoch the FID belongs to. Otherwise -errno (the
 * reply status in *status when one came). */
int file_nt_create(struct smb1_tree *t, const char *path, const struct file_create *fc,
                   uint16_t *fid, struct smb1_stat *st, uint64_t *epoch, uint32_t *status);
/* The FID and attributes of a successful NT_CREATE_ANDX reply (MS-CIFS
 * 2.2.4.64.2). Returns 0 or -EIO (too few words, bad times). */
int file_nt_create_decode(const struct msg_in *resp, uint16_t *fid, struct smb1_stat *st);
/* An operation on an open file's FID; returns a count or -errno. */
/* fid belongs to connection epoch: requests naming it are pinned to that
 * epoch (msg_out.want_epoch), so they never reach a newer connection. */
typedef ssize_t (*file_op_fn)(struct smb1_tree *t, uint16_t fid, uint64_t epoch, void *arg);
/* Runs op with f's FID, and again with a fresh one (after a reopen) when
 * the FID went stale meanwhile; at most a few times. */
ssize_t file_call(struct smb1_file *f, file_op_fn op, void *arg);
/* A command whose one word is a FID (or a search ID): FLUSH, FIND_CLOSE2;
 * pinned to the connection epoch the FID (or SID) belongs to. Every
 * request that names a handle carries its epoch: after another thread's
 * reconnect the same number may name another file or search. */
/* The UTIME word of a CLOSE that sets mtime, or 0 when it cannot. */
uint32_t file_close_utime(struct smb1_tree *t, const struct timespec *mtime);
int file_fid_cmd_at(struct smb1_tree *t, uint8_t cmd, uint16_t fid, uint64_t epoch);
/* file_fid_cmd_at for a clean-up after a failure (CONN_BRIEF): it waits a
 * probe interval for the reply, not a whole request bound. */
int file_fid_cmd_brief(struct smb1_tree *t, uint8_t cmd, uint16_t fid, uint64_t epoch);
/* The data of a READ_ANDX reply (MS-CIFS 2.2.4.42.2, MS-SMB 2.2.4.2.2) of
 * at most max bytes: *data points into resp's frame, after its parameter
 * words; *len 0 at the end of the file. Returns 0, the status as -errno,
 * or -EIO for a malformed reply. */
int file_read_decode(const struct msg_in *resp, uint32_t max, const uint8_t **data, uint32_t *len);
/* The bytes a WRITE_ANDX reply says were written of a request of len
 * (a CountHigh above it is taken as garbage, as the Linux client does), or
 * -errno: the status's, -EIO for a malformed reply or a count above len. */
ssize_t file_write_decode(const struct msg_in *resp, uint32_t len);
/* One READ_ANDX on a raw FID (a named pipe) of connection epoch, never
 * sent on another connection (-ECONNRESET); no reopen. Returns the count
 * read or -errno; BUFFER_OVERFLOW (a pipe message with more to come)
 * counts as success. */
ssize_t file_read_fid(struct smb1_tree *t, uint16_t fid, uint64_t epoch, void *buf, uint32_t len,
                      uint64_t off);
/* One WRITE_ANDX on a raw FID (a named pipe: a request fragment that
 * expects no reply) of connection epoch. Returns the count written or
 * -errno. */
ssize_t file_write_fid(struct smb1_tree *t, uint16_t fid, uint64_t epoch, const void *buf,
                       uint32_t len, uint64_t off);
/* CLOSE of a FID (LastTimeModified "leave unchanged") of connection
 * epoch. */
int file_close_fid_at(struct smb1_tree *t, uint16_t fid, uint64_t epoch);
/* f's path as it is now, into buf (cut to size): another thread's rename
 * replaces (and frees) f->path under f->lock, so it is never read
 * without it, not even for a log line. */
void file_path_copy(struct smb1_file *f, char *buf, size_t size);
/* Frees a handle that is on no tree's list (a print job's) and whose FID
 * was closed or died with its connection, without sending anything. */
void file_release(struct smb1_file *f);
/* f's FID on the current connection, reopening f if it went stale; what
 * the create's reply said of the file is from then on not kept. */
int file_get_fid(struct smb1_file *f, uint16_t *fid, uint64_t *epoch);
/* After a request on a FID of epoch failed with err: true when it should
 * be sent again (with the FID file_get_fid gives then). */
bool file_should_retry(struct smb1_file *f, uint64_t epoch, int err);
/* Opens path for a short metadata operation (truncate, set info, rename),
 * with the given access. */
int file_open_temp(struct smb1_tree *t, const char *path, uint32_t access, bool dir_ok,
                   uint16_t *fid, uint64_t *epoch, uint32_t *status);
/* Calls fn for each open file of t whose path is path and that was opened
 * for writing (with a reference: fn may use the handle). */
void file_for_each_writer(struct smb1_tree *t, const char *path,
                          void (*fn)(struct smb1_file *f, void *arg), void *arg);
/* True when one of our open files of t has this path (below: or lies
 * below it); a file the program released is no longer open. */
bool file_is_open(struct smb1_tree *t, const char *path, bool below);
/* Rename moved from -> to: every open file at or below from follows. */
void file_renamed(struct smb1_tree *t, const char *from, const char *to);

/* Something goes through f: what its create's reply said is no longer
 * kept (smb1_file_open_stat). */
void file_open_stat_drop(struct smb1_file *f);

/* Takes f off its tree's list (ops_tree lock not held). */
void file_unlist(struct smb1_file *f);
/* The same, ops_tree lock held. */
void file_unlist_locked(struct ops_tree *ot, struct smb1_file *f);
/* Sends f's CLOSE (carrying mtime where it can, else setting it first),
 * unless its FID died with an earlier connection; f stays allocated. */
int file_close_send(struct smb1_file *f, const struct timespec *mtime);
/* Frees f, which is on no list and whose FID is closed. */
void file_destroy(struct smb1_file *f);
/* Whether f's path is path, or (below) lies below the directory path
 * (every path lies below ""); f->lock taken. */
bool file_path_matches(struct smb1_file *f, const char *path, bool below);

/* op_io.c: the reads, writes and FLUSH themselves (smb1_read, smb1_write
 * and smb1_flush, in op_wb.c, settle held writes first). */
ssize_t io_read(struct smb1_file *f, void *buf, size_t len, uint64_t off);
/* io_read into the pipe rd/wr where it can (op_rsplice.c, smb1_read_pipe);
 * *in_pipe says where the data is. */
ssize_t io_read_pipe(struct smb1_file *f, int rd, int wr, void *buf, size_t len, uint64_t off,
                     bool *in_pipe);
/* Empties pipe fd (its read end). 0 or -errno. */
int io_pipe_drain(int fd);
ssize_t io_write(struct smb1_file *f, const void *buf, size_t len, uint64_t off);
int io_flush(struct smb1_file *f);

/* op_wbehind.c: waits for f's writes on their way (smb1_write_behind_on).
 * Returns the first failure not reported yet, else 0; report: close(2)
 * reports it now (forgotten), and waits for every piece (else for one
 * bound). file_wb_sync: the same for fsync(2) (one bound; a failure is
 * forgotten once returned). A write never forgets one: the kernel may drop
 * what a FUSE write returns (op_wbehind.c). file_wb_free, at the end of f: waits, and
 * frees what they need. wbehind_write: a write of f through the queue
 * (buf lent with loan, or NULL: see smb1_write_lent and op_wblent.c).
 * wbehind_write_pipe: the same of the next len bytes in the pipe fd, read
 * into the requests or, with splice (nobody changes the pipe's pages),
 * spliced to the socket where the connection allows (op_wbehind.c). pipe_take:
 * reads n bytes that are in the pipe fd into dst (0 or -EIO). */
int file_wb_drain(struct smb1_file *f, bool report);
int file_wb_sync(struct smb1_file *f);
void file_wb_free(struct smb1_file *f);
ssize_t wbehind_write(struct smb1_file *f, const void *buf, size_t len, uint64_t off,
                      struct smb1_loan *loan);
ssize_t wbehind_write_pipe(struct smb1_file *f, int fd, size_t len, uint64_t off, bool splice);
int pipe_take(int fd, void *dst, size_t n);

/* op_lock.c: takes f's ranges again on its new FID after a reopen; f->lock
 * held. */
void relock_locked(struct smb1_file *f);
/* The tree's closer thread (op_wb.c), once a retry is due: sends again
 * the owed unlocks of ot's open files that got no answer (op_lock.c).
 * No lock held. */
void lock_owed_retry(struct ops_tree *ot);
/* op_plock.c: smb1_close forgets f's POSIX lock ranges (the CLOSE releases
 * them on the server). */
void plock_file_closing(struct smb1_file *f);

#endif
