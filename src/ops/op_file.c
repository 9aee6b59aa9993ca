/* Open files. Lock order: ops_tree.lock before smb1_file.lock. A file's
 * lock is held across the reopen round trips after a reconnect, so that
 * threads sharing the handle wait for one reopen instead of racing. */
#include "ops/op_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_info.h"
#include "ops/path.h"
#include "ops/tree_state.h"
#include "ops/unix.h"
#include "support/iopool.h"
#include "wire/ntstatus.h"
#include "wire/smb1_proto.h"

/* Attempts of one request across reconnections. */
#define FILE_RETRIES 4

#define FILE_READ_ACCESS                                                                           \
    (SMB1_FILE_READ_DATA | SMB1_FILE_READ_ATTRIBUTES | SMB1_FILE_READ_EA | SMB1_READ_CONTROL |     \
     SMB1_SYNCHRONIZE)
#define FILE_WRITE_ACCESS                                                                          \
    (SMB1_FILE_WRITE_DATA | SMB1_FILE_APPEND_DATA | SMB1_FILE_WRITE_ATTRIBUTES | SMB1_FILE_WRITE_EA)
#define FILE_SHARE_ALL (SMB1_SHARE_READ | SMB1_SHARE_WRITE | SMB1_SHARE_DELETE)

static uint64_t cur_epoch(struct smb1_tree *t)
{
    struct conn_params p;
    conn_get_params(t->conn, &p);
    return p.epoch;
}

int file_nt_create_decode(const struct msg_in *resp, uint16_t *fid, struct smb1_stat *st)
{
    if (resp->wct < 34)
        return -EIO;
    struct wire_reader wr;
    msg_in_words(resp, &wr);
    wire_skip(&wr, 4); /* AndX */
    wire_skip(&wr, 1); /* OpLockLevel */
    *fid = wire_u16(&wr);
    wire_skip(&wr, 4); /* CreateAction */
    memset(st, 0, sizeof(*st));
    uint8_t basic[INFO_BASIC_LEN];
    wire_copy(&wr, basic, 36);
    memset(basic + 36, 0, 4);
    st->alloc = wire_u64(&wr);
    st->size = wire_u64(&wr);
    wire_skip(&wr, 4); /* ResourceType, NMPipeStatus */
    uint8_t isdir = wire_u8(&wr);
    if (!wire_ok(&wr) || info_decode_basic(basic, sizeof(basic), st))
        return -EIO;
    if (isdir)
        st->is_dir = true;
    info_synth_mode(st);
    return 0;
}

int file_nt_create(struct smb1_tree *t, const char *path, const struct file_create *fc,
                   uint16_t *fid, struct smb1_stat *st, uint64_t *epoch, uint32_t *status)
{
    struct path_ctx pc;
    struct conn_params p;
    struct msg_out m;
    struct msg_in resp;
    if (status)
        *status = 0;
    path_ctx_get(t, &pc, &p);
    uint8_t *name;
    size_t n;
    int r = path_to_wire_alloc(&pc, path, NULL, 0, &name, &n);
    if (r)
        return r;
    r = msg_out_init(&m, SMB1_COM_NT_CREATE_ANDX, SMB1_HDR_LEN + 1 + 48 + 2 + 1 + n + 8);
    if (r)
        goto out_free_name;
    struct wire_writer *w = &m.w;
    msg_words_begin(&m);
    wire_put_u8(w, SMB1_COM_NONE); /* no AndX */
    wire_put_u8(w, 0);
    wire_put_u16(w, 0);
    wire_put_u8(w, 0);
    wire_put_u16(w, (uint16_t)n); /* NameLength, terminator included */
    wire_put_u32(w, 0);           /* Flags: no oplocks (DIGEST 4.7) */
    wire_put_u32(w, 0);           /* RootDirectoryFID */
    wire_put_u32(w, fc->access);
    wire_put_u64(w, 0); /* AllocationSize */
    wire_put_u32(w, fc->attrs);
    wire_put_u32(w, fc->share);
    wire_put_u32(w, fc->disposition);
    wire_put_u32(w, fc->options);
    wire_put_u32(w, 2); /* SEC_IMPERSONATE */
    wire_put_u8(w, 0);  /* SecurityFlags */
    msg_words_end(&m);
    msg_bytes_begin(&m);
    if (pc.unicode)
        msg_align(&m, 2);
    wire_put_bytes(w, name, n);
    msg_bytes_end(&m);
    if ((r = msg_out_error(&m))) {
        msg_out_free(&m);
        goto out_free_name;
    }
    r = conn_call(t->conn, t, &m, &resp, 0);
    if (r)
        goto out_free_name;
    if (resp.status != NT_STATUS_OK) {
        if (status)
            *status = resp.status;
        r = ntstatus_to_errno(resp.status);
        goto out_free_resp;
    }
    struct smb1_stat s;
    r = file_nt_create_decode(&resp, fid, &s);
    if (r) {
        /* The server opened it: a reply we cannot use must not leave the
         * handle open there. */
        if (r == -EIO && resp.wct >= 34)
            (void)file_close_fid_at(t, *fid, resp.epoch);
        goto out_free_resp;
    }
    if (st)
        *st = s;
    /* The FID belongs to the connection that answered, also when that is
     * a newer one than the call started on (it reconnected first): exact,
     * so the handle is neither leaked nor taken for another. */
    *epoch = resp.epoch;
    r = 0;
out_free_resp:
    msg_in_free(&resp);
out_free_name:
    free(name);
    return r;
}

/* A command whose only word is a FID (FLUSH, FIND_CLOSE2's SID), or
 * CLOSE with its time word (MS-CIFS 2.2.4.5.1: a UTIME, 0xFFFFFFFF
 * leaves the time as it is). */
static int fid_cmd(struct smb1_tree *t, uint8_t cmd, uint16_t fid, bool close, uint32_t utime,
                   uint64_t epoch, unsigned flags)
{
    struct msg_out m;
    struct msg_in resp;
    int r = msg_out_init(&m, cmd, SMB1_HDR_LEN + 1 + 6 + 2 + 8);
    if (r)
        return r;
    msg_words_begin(&m);
    wire_put_u16(&m.w, fid);
    if (close)
        wire_put_u32(&m.w, utime);
    msg_words_end(&m);
    msg_bytes_begin(&m);
    msg_bytes_end(&m);
    m.want_epoch = epoch;
    r = conn_call(t->conn, t, &m, &resp, CONN_FID | flags);
    if (r)
        return r;
    r = ntstatus_to_errno(resp.status);
    msg_in_free(&resp);
    return r;
}

int file_fid_cmd_at(struct smb1_tree *t, uint8_t cmd, uint16_t fid, uint64_t epoch)
{
    return fid_cmd(t, cmd, fid, false, 0, epoch, 0);
}

int file_fid_cmd_brief(struct smb1_tree *t, uint8_t cmd, uint16_t fid, uint64_t epoch)
{
    return fid_cmd(t, cmd, fid, false, 0, epoch, CONN_BRIEF);
}

int file_close_fid_at(struct smb1_tree *t, uint16_t fid, uint64_t epoch)
{
    return fid_cmd(t, SMB1_COM_CLOSE, fid, true, 0xFFFFFFFF, epoch, CONN_CLEANUP);
}

int file_open_temp(struct smb1_tree *t, const char *path, uint32_t access, bool dir_ok,
                   uint16_t *fid, uint64_t *epoch, uint32_t *status)
{
    struct file_create fc = {
        .access = access,
        .share = FILE_SHARE_ALL,
        .disposition = SMB1_FILE_OPEN,
        .options = dir_ok ? 0 : SMB1_FILE_NON_DIRECTORY_FILE,
        .attrs = 0,
    };
    return file_nt_create(t, path, &fc, fid, NULL, epoch, status);
}

/* A file unlinked while open (moved to a hidden name, op_ns.c) was to go
 * at its last close; that delete-on-close died with the old connection's
 * handles, so ask for it again, or the hidden file would stay forever. */
static void redelete(struct smb1_tree *t, const char *path)
{
    uint16_t fid;
    uint64_t ep;
    if (file_open_temp(t, path, SMB1_DELETE | SMB1_SYNCHRONIZE | SMB1_FILE_READ_ATTRIBUTES, false,
                       &fid, &ep, NULL))
        return;
    uint8_t pending = 1;
    if (info_set_fid_at(t, fid, SMB_SET_FILE_DISPOSITION_INFO, &pending, 1, NULL, ep))
        log_warn(conn_log(t->conn), "%s stays on the server: delete-on-close refused", path);
    (void)file_close_fid_at(t, fid, ep);
}

/* Opens f as remembered; f->lock held. */
static int reopen_locked(struct smb1_file *f)
{
    struct smb1_tree *t = f->t;
    uint16_t fid = 0;
    uint64_t ep = 0;
    int r;
    struct conn_params p;
    conn_get_params(t->conn, &p);
    if (f->posix && !(p.unix_caps & UNIX_CAP_POSIX_PATH_OPERATIONS)) {
        /* The new connection has not (yet) announced the UNIX
         * capabilities: reopen the NT way, with the same access. */
        int acc = f->posix_flags & O_ACCMODE;
        f->access = FILE_READ_ACCESS;
        if (acc == O_WRONLY)
            f->access = FILE_WRITE_ACCESS | SMB1_FILE_READ_ATTRIBUTES | SMB1_SYNCHRONIZE;
        else if (acc == O_RDWR)
            f->access |= FILE_WRITE_ACCESS;
        f->share = FILE_SHARE_ALL;
        f->create_options = (f->posix_flags & O_DIRECTORY) ? SMB1_FILE_DIRECTORY_FILE : 0;
        f->posix = false;
    }
    if (f->posix) {
        r = unix_posix_open(t, f->path, f->posix_flags, 0, &fid, &ep, NULL);
    } else {
        struct file_create fc = {
            .access = f->access,
            .share = f->share,
            .disposition = SMB1_FILE_OPEN,
            .options = f->create_options,
            .attrs = 0,
        };
        r = file_nt_create(t, f->path, &fc, &fid, NULL, &ep, NULL);
    }
    if (r) {
        log_warn(conn_log(t->conn), "reopen of %s after reconnect failed: %d", f->path, r);
        /* The file is gone or changed under us: the handle is stale. */
        return r == -ENOENT ? -ESTALE : r;
    }
    log_info(conn_log(t->conn), "reopened %s after reconnect", f->path);
    f->fid = fid;
    f->epoch = ep;
    if (strncmp(path_basename(f->path), SMB1_DELETED_PREFIX, strlen(SMB1_DELETED_PREFIX)) == 0)
        redelete(t, f->path);
    relock_locked(f);
    return 0;
}

int file_get_fid(struct smb1_file *f, uint16_t *fid, uint64_t *epoch)
{
    int r = 0;
    pthread_mutex_lock(&f->lock);
    f->open_kept = false;
    for (int i = 0;; i++) {
        if (f->locks_lost) {
            r = -EIO;
            break;
        }
        /* Live first: a broken connection is re-established here, never
         * inside a request that names a FID (CONN_FID), so a FID is only
         * sent on the connection it belongs to. */
        uint64_t now = 0;
        if ((r = conn_ensure(f->t->conn, f->t, &now)))
            break;
        if (f->epoch == now) {
            *fid = f->fid;
            *epoch = f->epoch;
            r = 0;
            break;
        }
        if (i >= FILE_RETRIES || f->no_reopen) {
            if (!r)
                r = -EIO;
            break;
        }
        r = reopen_locked(f);
        /* A file that is gone stays gone; other failures (the connection
         * broke again, its setup was not finished) are worth a retry. */
        if (r == -ESTALE || r == -EACCES)
            break;
    }
    pthread_mutex_unlock(&f->lock);
    return r;
}

bool file_should_retry(struct smb1_file *f, uint64_t epoch, int err)
{
    if (err == -ECONNRESET)
        return true;
    /* A FID refused, or a reply lost, across a reconnect: the request
     * went to (or was meant for) the old connection. */
    if (err == -EBADF || err == -EIO)
        return cur_epoch(f->t) != epoch;
    return false;
}

void file_for_each_writer(struct smb1_tree *t, const char *path,
                          void (*fn)(struct smb1_file *f, void *arg), void *arg)
{
    struct ops_tree *ot = ops_tree_get(t);
    if (!ot)
        return;
    /* Under the list lock: a handle cannot be closed (unlinked from the
     * list) while fn uses it. */
    pthread_mutex_lock(&ot->lock);
    for (struct smb1_file *f = ot->files; f; f = f->next) {
        bool match;
        pthread_mutex_lock(&f->lock);
        match = !f->released && strcmp(f->path, path) == 0 &&
                (f->posix ? (f->posix_flags & O_ACCMODE) != O_RDONLY
                          : (f->access & SMB1_FILE_WRITE_DATA) != 0);
        pthread_mutex_unlock(&f->lock);
        if (match)
            fn(f, arg);
    }
    pthread_mutex_unlock(&ot->lock);
}

bool file_is_open(struct smb1_tree *t, const char *path, bool below)
{
    struct ops_tree *ot = ops_tree_get(t);
    bool found = false;
    if (!ot)
        return false;
    pthread_mutex_lock(&ot->lock);
    for (struct smb1_file *f = ot->files; f && !found; f = f->next)
        found = !f->released && file_path_matches(f, path, below);
    pthread_mutex_unlock(&ot->lock);
    return found;
}

bool smb1_path_is_open(struct smb1_tree *t, const char *path, bool below)
{
    return file_is_open(t, path, below);
}

bool smb1_file_open_stat(struct smb1_file *f, struct smb1_stat *st)
{
    pthread_mutex_lock(&f->lock);
    bool kept = f->open_kept;
    if (kept)
        *st = f->open_st;
    f->open_kept = false;
    pthread_mutex_unlock(&f->lock);
    return kept;
}

void file_open_stat_drop(struct smb1_file *f)
{
    pthread_mutex_lock(&f->lock);
    f->open_kept = false;
    pthread_mutex_unlock(&f->lock);
}

/* f's path into buf of size bytes, cut to fit; false when it was cut.
 * A copy, not snprintf: it runs for several FUSE requests of every file. */
static bool path_copy_locked(const struct smb1_file *f, char *buf, size_t size)
{
    if (!size)
        return false;
    size_t n = strlen(f->path);
    bool whole = n < size;
    if (!whole)
        n = size - 1;
    memcpy(buf, f->path, n);
    buf[n] = '\0';
    return whole;
}

int smb1_file_path(struct smb1_file *f, char *buf, size_t size)
{
    pthread_mutex_lock(&f->lock);
    bool whole = path_copy_locked(f, buf, size);
    pthread_mutex_unlock(&f->lock);
    return whole ? 0 : -ENAMETOOLONG;
}

void file_path_copy(struct smb1_file *f, char *buf, size_t size)
{
    pthread_mutex_lock(&f->lock);
    (void)path_copy_locked(f, buf, size);
    pthread_mutex_unlock(&f->lock);
}

void file_renamed(struct smb1_tree *t, const char *from, const char *to)
{
    struct ops_tree *ot = ops_tree_get(t);
    if (!ot)
        return;
    size_t fl = strlen(from);
    pthread_mutex_lock(&ot->lock);
    for (struct smb1_file *f = ot->files; f; f = f->next) {
        pthread_mutex_lock(&f->lock);
        if (strncmp(f->path, from, fl) == 0 && (f->path[fl] == 0 || f->path[fl] == '/')) {
            size_t rest = strlen(f->path + fl);
            char *np = malloc(strlen(to) + rest + 1);
            if (np) {
                memcpy(np, to, strlen(to));
                memcpy(np + strlen(to), f->path + fl, rest + 1);
                free(f->path);
                f->path = np;
            }
        }
        pthread_mutex_unlock(&f->lock);
    }
    pthread_mutex_unlock(&ot->lock);
}

static void file_free(struct smb1_file *f)
{
    file_wb_free(f);
    while (f->locks) {
        struct file_lock_rec *l = f->locks;
        f->locks = l->next;
        free(l);
    }
    while (f->lock_owed) {
        struct file_lock_owed *o = f->lock_owed;
        f->lock_owed = o->next;
        free(o);
    }
    pthread_mutex_destroy(&f->lock);
    pthread_mutex_destroy(&f->wb_lock);
    pthread_mutex_destroy(&f->lock_io);
    free(f->wb);
    free(f->path);
    free(f);
}

void file_release(struct smb1_file *f)
{
    file_free(f);
}

void file_destroy(struct smb1_file *f)
{
    file_free(f);
}

bool file_path_matches(struct smb1_file *f, const char *path, bool below)
{
    size_t n = strlen(path);
    pthread_mutex_lock(&f->lock);
    bool m = strncmp(f->path, path, n) == 0 &&
             (f->path[n] == '\0' || (below && (n == 0 || f->path[n] == '/')));
    pthread_mutex_unlock(&f->lock);
    return m;
}

void file_unlist_locked(struct ops_tree *ot, struct smb1_file *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else if (ot->files == f)
        ot->files = f->next;
    if (f->next)
        f->next->prev = f->prev;
    f->prev = f->next = NULL;
}

void file_unlist(struct smb1_file *f)
{
    struct ops_tree *ot = ops_tree_get(f->t);
    if (!ot)
        return;
    pthread_mutex_lock(&ot->lock);
    file_unlist_locked(ot, f);
    pthread_cond_broadcast(&ot->cond); /* smb1_close_all may wait for it */
    pthread_mutex_unlock(&ot->lock);
}

int smb1_open(struct smb1_tree *t, const char *path, int flags, mode_t mode, struct smb1_file **out,
              struct smb1_stat *st)
{
    CONN_OP(t ? t->conn : NULL);
    struct conn_params p;
    struct smb1_stat s;
    int r;
    *out = NULL;
    if (path && (r = ops_settle(t, path, OPS_SETTLE_WRITES)))
        return r;
    struct ops_tree *ot = ops_tree_get(t);
    struct smb1_file *f = calloc(1, sizeof(*f));
    if (!f || !ot || !(f->path = strdup(path ? path : ""))) {
        free(f);
        return -ENOMEM;
    }
    pthread_mutex_init(&f->lock, NULL);
    pthread_mutex_init(&f->wb_lock, NULL);
    pthread_mutex_init(&f->lock_io, NULL);
    f->t = t;
    memset(&s, 0, sizeof(s));
    conn_get_params(t->conn, &p);
    int acc = flags & O_ACCMODE;

    r = -EOPNOTSUPP;
    if (p.unix_caps & UNIX_CAP_POSIX_PATH_OPERATIONS) {
        r = unix_posix_open(t, path, flags & (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_DIRECTORY),
                            mode, &f->fid, &f->epoch, &s);
        if (r == 0 || r == -ENODATA) {
            f->posix = true;
            f->posix_flags = flags & (O_ACCMODE | O_DIRECTORY);
            if (r == -ENODATA) {
                r = smb1_fstat(f, &s);
                if (r) {
                    (void)file_close_fid_at(t, f->fid, f->epoch);
                    goto out_free;
                }
            }
            f->is_dir = s.is_dir;
        }
    }
    if (r == -EOPNOTSUPP || r == -ENOSYS) {
        struct file_create fc;
        fc.access = FILE_READ_ACCESS;
        if (acc == O_WRONLY)
            fc.access = FILE_WRITE_ACCESS | SMB1_FILE_READ_ATTRIBUTES | SMB1_SYNCHRONIZE;
        else if (acc == O_RDWR)
            fc.access |= FILE_WRITE_ACCESS;
        fc.share = FILE_SHARE_ALL;
        if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
            fc.disposition = SMB1_FILE_CREATE;
        else if ((flags & (O_CREAT | O_TRUNC)) == (O_CREAT | O_TRUNC))
            fc.disposition = SMB1_FILE_OVERWRITE_IF;
        else if (flags & O_CREAT)
            fc.disposition = SMB1_FILE_OPEN_IF;
        else if (flags & O_TRUNC)
            fc.disposition = SMB1_FILE_OVERWRITE;
        else
            fc.disposition = SMB1_FILE_OPEN;
        /* open(2) of a directory for reading is fine; writing or creating
         * must not land on one. */
        if (flags & O_DIRECTORY)
            fc.options = SMB1_FILE_DIRECTORY_FILE;
        else if (acc != O_RDONLY || (flags & O_CREAT))
            fc.options = SMB1_FILE_NON_DIRECTORY_FILE;
        else
            fc.options = 0;
        fc.attrs = SMB1_ATTR_NORMAL;
        uint32_t status = 0;
        r = file_nt_create(t, path, &fc, &f->fid, &s, &f->epoch, &status);
        if (r) {
            if (status)
                r = info_path_errno(t, path, status);
            goto out_free;
        }
        f->access = fc.access;
        f->share = fc.share;
        f->create_options = fc.options;
        f->is_dir = s.is_dir;
        if (p.unix_caps) {
            /* UNIX extensions without POSIX open: the reply lacks modes. */
            int r2 = smb1_fstat(f, &s);
            if (r2 == 0 && (flags & O_CREAT) && (s.mode & 07777) != (mode & 07777) &&
                smb1_chmod(t, path, mode) == 0)
                s.mode = (s.mode & ~07777u) | (mode & 07777);
        }
    } else if (r) {
        goto out_free;
    }
    f->created = (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
    f->writable = acc != O_RDONLY;
    /* A reply that shows a truncated file anything but empty was not made
     * after the truncation: not kept. */
    f->open_kept = (flags & O_CREAT) && !((flags & O_TRUNC) && s.size != 0);
    f->open_st = s;
    if (!f->is_dir)
        file_size_note(f, s.size, true);
    pthread_mutex_lock(&ot->lock);
    if (f->created) {
        /* The create's reply is all there is to know of it (op_own.c). */
        f->own_st = s;
        f->own_ns = ops_now_ns();
        f->own_exact = true;
    }
    f->next = ot->files;
    if (ot->files)
        ot->files->prev = f;
    ot->files = f;
    pthread_mutex_unlock(&ot->lock);
    if (st)
        *st = s;
    *out = f;
    return 0;

out_free:
    file_free(f);
    return r;
}

/* The CLOSE word for mtime, or 0 when it cannot carry it: a UTIME has
 * whole seconds, and Samba reads it as the server's local time (its
 * srv_make_unix_date3 adds the zone offset it announced in the negotiate
 * reply), as Windows does; 0 and 0xFFFFFFFF mean "no time". */
uint32_t file_close_utime(struct smb1_tree *t, const struct timespec *mtime)
{
    struct conn_params p;
    if (!mtime || mtime->tv_nsec != 0)
        return 0;
    conn_get_params(t->conn, &p);
    int64_t v = (int64_t)mtime->tv_sec - (int64_t)p.server_tz_min * 60;
    if (v <= 0 || v >= 0xFFFFFFFF)
        return 0;
    return (uint32_t)v;
}

bool smb1_close_sets_mtime(struct smb1_file *f)
{
    pthread_mutex_lock(&f->lock);
    bool posix = f->posix;
    pthread_mutex_unlock(&f->lock);
    return posix;
}

int file_close_send(struct smb1_file *f, const struct timespec *mtime)
{
    int r = 0;
    uint32_t utime = smb1_close_sets_mtime(f) ? file_close_utime(f->t, mtime) : 0;
    if (mtime && !utime) {
        /* Not a time CLOSE can carry: set it on the handle first. */
        r = smb1_utimens(f->t, NULL, f, NULL, mtime);
        mtime = NULL;
    }
    pthread_mutex_lock(&f->lock);
    uint64_t epoch = f->epoch;
    bool live = epoch == cur_epoch(f->t);
    uint16_t fid = f->fid;
    pthread_mutex_unlock(&f->lock);
    /* A FID of an earlier connection died with it. Sent also when the
     * operation is out of time (CONN_CLEANUP): else the handle would stay
     * open on the server until the connection ends. */
    int rc = live ? fid_cmd(f->t, SMB1_COM_CLOSE, fid, true, utime ? utime : 0xFFFFFFFF, epoch,
                            CONN_CLEANUP)
                  : -ECONNRESET;
    if (rc == -ECONNRESET) {
        rc = 0;
        /* The file was closed by the connection's end, without the time. */
        if (mtime) {
            pthread_mutex_lock(&f->lock);
            char *path = strdup(f->path);
            pthread_mutex_unlock(&f->lock);
            rc = path ? smb1_utimens(f->t, path, NULL, NULL, mtime) : -ENOMEM;
            free(path);
        }
    }
    return r ? r : rc;
}

ssize_t file_call(struct smb1_file *f, file_op_fn op, void *arg)
{
    for (int attempt = 0;; attempt++) {
        uint16_t fid;
        uint64_t ep;
        int r = file_get_fid(f, &fid, &ep);
        if (r)
            return r;
        ssize_t res = op(f->t, fid, ep, arg);
        if (res < 0 && attempt < FILE_RETRIES && file_should_retry(f, ep, (int)res))
            continue;
        return res;
    }
}
