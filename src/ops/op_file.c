/* Open files. Lock order: ops_tree.lock before smb1_file.lock. A file's
 * lock is held across the reopen round trips after a reconnect, so that
 * threads sharing the handle wait for one reopen instead of racing. */
#include "ops/op_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "wire/ntstatus.h"
#include "ops/op_info.h"
#include "ops/op_ns.h"
#include "support/iopool.h"
#include "ops/path.h"
#include "wire/smb1_proto.h"
#include "ops/unix.h"

/* Requests of one smb1_read/smb1_write in flight at once. Measured on
 * loopback against Samba 4.17 with signing, 1 MiB calls split into
 * ~124 KiB chunks: 1 in flight wrote 75 MiB/s and read 99 MiB/s, 4 in
 * flight 130 and 169 MiB/s. */
#define FILE_IO_PARALLEL 4
/* READ_ANDX in flight for one large read (io_read_pipelined): 1 MiB in
 * 60 KiB pieces, and at most half the server's slots, so other requests
 * and other reads still find some. */
#define FILE_IO_WINDOW 18
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
    uint8_t *name = malloc(PATH_WIRE_MAX);
    if (!name)
        return -ENOMEM;
    size_t n = 0;
    int r = path_to_wire(&pc, path, NULL, name, PATH_WIRE_MAX, &n);
    if (r)
        goto out_free_name;
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
    uint64_t e0 = p.epoch;
    r = conn_call(t->conn, t, &m, &resp, 0);
    if (r)
        goto out_free_name;
    if (resp.status != NT_STATUS_OK) {
        if (status)
            *status = resp.status;
        r = ntstatus_to_errno(resp.status);
        goto out_free_resp;
    }
    struct wire_reader wr;
    msg_in_words(&resp, &wr);
    if (resp.wct < 34) {
        r = -EIO;
        goto out_free_resp;
    }
    wire_skip(&wr, 4); /* AndX */
    wire_skip(&wr, 1); /* OpLockLevel */
    *fid = wire_u16(&wr);
    wire_skip(&wr, 4); /* CreateAction */
    struct smb1_stat s;
    memset(&s, 0, sizeof(s));
    uint8_t basic[INFO_BASIC_LEN];
    wire_copy(&wr, basic, 36);
    memset(basic + 36, 0, 4);
    s.alloc = wire_u64(&wr);
    s.size = wire_u64(&wr);
    wire_skip(&wr, 4); /* ResourceType, NMPipeStatus */
    uint8_t isdir = wire_u8(&wr);
    if (!wire_ok(&wr) || info_decode_basic(basic, sizeof(basic), &s)) {
        r = -EIO;
        goto out_free_resp;
    }
    if (isdir)
        s.is_dir = true;
    info_synth_mode(&s);
    if (st)
        *st = s;
    /* The FID belongs to the connection that answered; if the epoch moved
     * meanwhile we cannot tell which, so it counts as stale. */
    *epoch = cur_epoch(t) == e0 ? e0 : e0 - 1;
    r = 0;
out_free_resp:
    msg_in_free(&resp);
out_free_name:
    free(name);
    return r;
}

/* A command whose only word is a FID (FLUSH, FIND_CLOSE2's SID), or
 * CLOSE with its time word. */
static int fid_cmd(struct smb1_tree *t, uint8_t cmd, uint16_t fid, bool close, uint64_t epoch)
{
    struct msg_out m;
    struct msg_in resp;
    int r = msg_out_init(&m, cmd, SMB1_HDR_LEN + 1 + 6 + 2 + 8);
    if (r)
        return r;
    msg_words_begin(&m);
    wire_put_u16(&m.w, fid);
    if (close)
        wire_put_u32(&m.w, 0xFFFFFFFF); /* LastTimeModified: leave unchanged */
    msg_words_end(&m);
    msg_bytes_begin(&m);
    msg_bytes_end(&m);
    m.want_epoch = epoch;
    r = conn_call(t->conn, t, &m, &resp, CONN_FID);
    if (r)
        return r;
    r = ntstatus_to_errno(resp.status);
    msg_in_free(&resp);
    return r;
}

int file_fid_cmd(struct smb1_tree *t, uint8_t cmd, uint16_t fid)
{
    return fid_cmd(t, cmd, fid, false, 0);
}

int file_fid_cmd_at(struct smb1_tree *t, uint8_t cmd, uint16_t fid, uint64_t epoch)
{
    return fid_cmd(t, cmd, fid, false, epoch);
}

int file_close_fid(struct smb1_tree *t, uint16_t fid)
{
    return fid_cmd(t, SMB1_COM_CLOSE, fid, true, 0);
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
    if (info_set_fid(t, fid, SMB_SET_FILE_DISPOSITION_INFO, &pending, 1, NULL))
        log_warn(conn_log(t->conn), "%s stays on the server: delete-on-close refused", path);
    (void)file_close_fid(t, fid);
}

static void relock_locked(struct smb1_file *f);

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
        uint64_t e0 = cur_epoch(t);
        r = unix_posix_open(t, f->path, f->posix_flags, 0, &fid, NULL);
        ep = cur_epoch(t) == e0 ? e0 : e0 - 1;
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
    if (strncmp(path_basename(f->path), NS_DELETED_PREFIX, strlen(NS_DELETED_PREFIX)) == 0)
        redelete(t, f->path);
    relock_locked(f);
    return 0;
}

int file_get_fid(struct smb1_file *f, uint16_t *fid, uint64_t *epoch)
{
    int r = 0;
    pthread_mutex_lock(&f->lock);
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
        if (i >= FILE_RETRIES) {
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
        match = strcmp(f->path, path) == 0 && (f->posix ? (f->posix_flags & O_ACCMODE) != O_RDONLY
                                                        : (f->access & SMB1_FILE_WRITE_DATA) != 0);
        pthread_mutex_unlock(&f->lock);
        if (match)
            fn(f, arg);
    }
    pthread_mutex_unlock(&ot->lock);
}

bool file_is_open(struct smb1_tree *t, const char *path)
{
    struct ops_tree *ot = ops_tree_get(t);
    bool found = false;
    if (!ot)
        return false;
    pthread_mutex_lock(&ot->lock);
    for (struct smb1_file *f = ot->files; f && !found; f = f->next) {
        pthread_mutex_lock(&f->lock);
        found = strcmp(f->path, path) == 0;
        pthread_mutex_unlock(&f->lock);
    }
    pthread_mutex_unlock(&ot->lock);
    return found;
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
    while (f->locks) {
        struct file_lock_rec *l = f->locks;
        f->locks = l->next;
        free(l);
    }
    pthread_mutex_destroy(&f->lock);
    free(f->path);
    free(f);
}

int smb1_open(struct smb1_tree *t, const char *path, int flags, mode_t mode, struct smb1_file **out,
              struct smb1_stat *st)
{
    struct conn_params p;
    struct smb1_stat s;
    int r;
    *out = NULL;
    struct ops_tree *ot = ops_tree_get(t);
    struct smb1_file *f = calloc(1, sizeof(*f));
    if (!f || !ot || !(f->path = strdup(path ? path : ""))) {
        free(f);
        return -ENOMEM;
    }
    pthread_mutex_init(&f->lock, NULL);
    f->t = t;
    memset(&s, 0, sizeof(s));
    conn_get_params(t->conn, &p);
    int acc = flags & O_ACCMODE;

    r = -EOPNOTSUPP;
    if (p.unix_caps & UNIX_CAP_POSIX_PATH_OPERATIONS) {
        uint64_t e0 = p.epoch;
        r = unix_posix_open(t, path, flags & (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_DIRECTORY),
                            mode, &f->fid, &s);
        if (r == 0 || r == -ENODATA) {
            f->epoch = cur_epoch(t) == e0 ? e0 : e0 - 1;
            f->posix = true;
            f->posix_flags = flags & (O_ACCMODE | O_DIRECTORY);
            if (r == -ENODATA) {
                r = smb1_fstat(f, &s);
                if (r) {
                    (void)file_close_fid(t, f->fid);
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
    pthread_mutex_lock(&ot->lock);
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

int smb1_close(struct smb1_file *f)
{
    if (!f)
        return 0;
    struct ops_tree *ot = ops_tree_get(f->t);
    if (ot) {
        pthread_mutex_lock(&ot->lock);
        if (f->prev)
            f->prev->next = f->next;
        else if (ot->files == f)
            ot->files = f->next;
        if (f->next)
            f->next->prev = f->prev;
        pthread_mutex_unlock(&ot->lock);
    }
    int r = 0;
    pthread_mutex_lock(&f->lock);
    bool live = f->epoch == cur_epoch(f->t);
    uint16_t fid = f->fid;
    pthread_mutex_unlock(&f->lock);
    /* A FID of an earlier connection died with it. */
    if (live) {
        r = file_close_fid(f->t, fid);
        if (r == -ECONNRESET)
            r = 0;
    }
    file_free(f);
    return r;
}

/* ---- READ_ANDX / WRITE_ANDX ---- */

static uint32_t chunk_size(const struct conn_params *p, bool write)
{
    if (!write && p->big_read && (p->unix_caps & UNIX_CAP_LARGE_READ))
        return p->big_read;
    uint32_t v = write ? p->max_write : p->max_read;
    if (!v) {
        /* Without the LARGE caps: the buffer less the headers. */
        v = p->max_buffer > 256 ? p->max_buffer - 128 : 4096;
        if (v > 0xFFFF)
            v = 0xF000;
    }
    return v;
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

struct io_req {
    uint8_t *rbuf;
    const uint8_t *wbuf;
    uint32_t len;
    uint64_t off;
    bool large; /* CAP_LARGE_FILES: the OffsetHigh word forms */
};

/* A READ_ANDX for io (MS-CIFS 2.2.4.42.1, MS-SMB 2.2.4.2.1) on fid. */
static int read_build(struct msg_out *m, uint16_t fid, uint64_t epoch, const struct io_req *io)
{
    int r = msg_out_init(m, SMB1_COM_READ_ANDX, SMB1_HDR_LEN + 1 + 24 + 2 + 8);
    if (r)
        return r;
    struct wire_writer *w = &m->w;
    msg_words_begin(m);
    wire_put_u8(w, SMB1_COM_NONE);
    wire_put_u8(w, 0);
    wire_put_u16(w, 0);
    wire_put_u16(w, fid);
    wire_put_u32(w, (uint32_t)io->off);
    wire_put_u16(w, (uint16_t)io->len);
    wire_put_u16(w, (uint16_t)io->len); /* MinCount */
    wire_put_u32(w, io->len >> 16);     /* MaxCountHigh (MS-SMB 2.2.4.2.1) */
    wire_put_u16(w, 0);                 /* Remaining */
    if (io->large)
        wire_put_u32(w, (uint32_t)(io->off >> 32));
    msg_words_end(m);
    msg_bytes_begin(m);
    msg_bytes_end(m);
    m->want_epoch = epoch;
    return 0;
}

/* Bytes a READ_ANDX reply put into io->rbuf, or -errno. */
static ssize_t read_parse(const struct msg_in *resp, const struct io_req *io)
{
    if (resp->status == NT_STATUS_END_OF_FILE)
        return 0;
    if (resp->status != NT_STATUS_OK && resp->status != NT_STATUS_BUFFER_OVERFLOW)
        return ntstatus_to_errno(resp->status);
    if (resp->wct < 12)
        return -EIO;
    struct wire_reader wr, smb, data;
    msg_in_words(resp, &wr);
    wire_skip(&wr, 10);
    uint32_t dlen = wire_u16(&wr);
    uint32_t doff = wire_u16(&wr);
    dlen |= (uint32_t)wire_u16(&wr) << 16;
    msg_in_smb(resp, &smb);
    if (!wire_ok(&wr) || dlen > io->len)
        return -EIO;
    wire_sub(&smb, doff, dlen, &data);
    wire_copy(&data, io->rbuf, dlen);
    return wire_ok(&data) ? (ssize_t)dlen : -EIO;
}

static ssize_t read_op(struct smb1_tree *t, uint16_t fid, uint64_t epoch, void *arg)
{
    const struct io_req *io = arg;
    struct msg_out m;
    struct msg_in resp;
    int r = read_build(&m, fid, epoch, io);
    if (r)
        return r;
    r = conn_call(t->conn, t, &m, &resp, CONN_FID);
    if (r)
        return r;
    ssize_t res = read_parse(&resp, io);
    msg_in_free(&resp);
    return res;
}

/* A WRITE_ANDX of io (MS-CIFS 2.2.4.43.1) on fid. */
static int write_build(struct msg_out *m, uint16_t fid, uint64_t epoch, const struct io_req *io)
{
    int r = msg_out_init(m, SMB1_COM_WRITE_ANDX, SMB1_HDR_LEN + 1 + 28 + 2 + 4 + io->len + 8);
    if (r)
        return r;
    struct wire_writer *w = &m->w;
    msg_words_begin(m);
    wire_put_u8(w, SMB1_COM_NONE);
    wire_put_u8(w, 0);
    wire_put_u16(w, 0);
    wire_put_u16(w, fid);
    wire_put_u32(w, (uint32_t)io->off);
    wire_put_u32(w, 0); /* Timeout */
    wire_put_u16(w, 0); /* WriteMode */
    wire_put_u16(w, 0); /* Remaining */
    wire_put_u16(w, (uint16_t)(io->len >> 16));
    wire_put_u16(w, (uint16_t)io->len);
    size_t at_doff = w->pos;
    wire_put_u16(w, 0);
    if (io->large)
        wire_put_u32(w, (uint32_t)(io->off >> 32));
    msg_words_end(m);
    msg_bytes_begin(m);
    msg_align(m, 4);
    wire_patch_u16(w, at_doff, (uint16_t)msg_offset(m));
    wire_put_bytes(w, io->wbuf, io->len);
    /* With CAP_LARGE_WRITEX the data may exceed what ByteCount can hold:
     * it carries the low 16 bits, as the Linux client sends and Samba
     * expects (the length is in DataLength/DataLengthHigh). */
    wire_patch_u16(w, m->bc_pos, (uint16_t)(w->pos - m->bc_pos - 2));
    if ((r = msg_out_error(m))) {
        msg_out_free(m);
        return r;
    }
    m->want_epoch = epoch;
    return 0;
}

/* Bytes a WRITE_ANDX reply says were written, or -errno. */
static ssize_t write_parse(const struct msg_in *resp, const struct io_req *io)
{
    if (resp->status != NT_STATUS_OK)
        return ntstatus_to_errno(resp->status);
    if (resp->wct < 6)
        return -EIO;
    struct wire_reader wr;
    msg_in_words(resp, &wr);
    wire_skip(&wr, 4);
    uint32_t cnt = wire_u16(&wr);
    wire_skip(&wr, 2);
    cnt |= (uint32_t)wire_u16(&wr) << 16;
    /* Some servers put garbage in CountHigh (as the Linux client notes):
     * a count above the request is taken modulo 64 KiB. */
    if (cnt > io->len)
        cnt &= 0xFFFF;
    return !wire_ok(&wr) || cnt > io->len ? -EIO : (ssize_t)cnt;
}

static ssize_t write_op(struct smb1_tree *t, uint16_t fid, uint64_t epoch, void *arg)
{
    const struct io_req *io = arg;
    struct msg_out m;
    struct msg_in resp;
    int r = write_build(&m, fid, epoch, io);
    if (r)
        return r;
    r = conn_call(t->conn, t, &m, &resp, CONN_FID);
    if (r)
        return r;
    ssize_t res = write_parse(&resp, io);
    msg_in_free(&resp);
    return res;
}

ssize_t file_read_fid(struct smb1_tree *t, uint16_t fid, void *buf, uint32_t len, uint64_t off)
{
    struct conn_params p;
    conn_get_params(t->conn, &p);
    struct io_req io = {buf, NULL, len, off, p.large_files};
    return read_op(t, fid, 0, &io);
}

static ssize_t io_run(struct smb1_file *f, uint8_t *rbuf, const uint8_t *wbuf, size_t len,
                      uint64_t off);

/* One READ_ANDX or WRITE_ANDX of at most the negotiated size. */
static ssize_t io_once(struct smb1_file *f, uint8_t *rbuf, const uint8_t *wbuf, uint32_t len,
                       uint64_t off)
{
    struct conn_params p;
    conn_get_params(f->t->conn, &p);
    if (!p.large_files && (off > 0xFFFFFFFFu || len > 0xFFFFFFFFu - off))
        return -EFBIG;
    struct io_req io = {rbuf, wbuf, len, off, p.large_files};
    ssize_t r = file_call(f, rbuf ? read_op : write_op, &io);
    if (rbuf && len > p.max_read && (r == -EOPNOTSUPP || r == -EINVAL)) {
        /* A big read refused (Samba says NOT_SUPPORTED when it signs,
         * INVALID_PARAMETER above its limit): ask again in small ones. */
        conn_refuse_big_reads(f->t->conn, p.epoch);
        return io_run(f, rbuf, NULL, len, off);
    }
    return r;
}

struct io_job {
    struct smb1_file *f;
    uint8_t *rbuf;
    const uint8_t *wbuf;
    size_t len;
    uint64_t off;
    uint32_t chunk;
    size_t nchunks;
    pthread_mutex_t lock; /* protects next */
    size_t next;
    ssize_t *res; /* one per chunk, written by the thread that ran it */
};

static size_t chunk_len(const struct io_job *j, size_t i)
{
    size_t start = i * (size_t)j->chunk;
    size_t rest = j->len - start;
    return rest < j->chunk ? rest : j->chunk;
}

static void io_worker(void *arg)
{
    struct io_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        size_t i = j->next++;
        pthread_mutex_unlock(&j->lock);
        if (i >= j->nchunks)
            break;
        size_t start = i * (size_t)j->chunk;
        uint32_t n = (uint32_t)chunk_len(j, i);
        j->res[i] = io_once(j->f, j->rbuf ? j->rbuf + start : NULL,
                            j->wbuf ? j->wbuf + start : NULL, n, j->off + start);
    }
}

/* Reads the chunks of j from this thread with up to window READ_ANDX in
 * flight (conn_call_many): a large read is one pipeline rather than a
 * thread per request, its requests go out (and are signed) in runs, and
 * the replies come back to back, which the reader verifies in batches. A
 * chunk that fails is read again on its own through io_once, whose
 * retries (reopen after a reconnect, big reads refused) apply as they
 * would to a lone read. */
static void io_read_pipelined(struct io_job *j, size_t window)
{
    struct smb1_tree *t = j->f->t;
    struct conn_params p;
    conn_get_params(t->conn, &p);
    size_t n = j->nchunks;
    struct msg_out *reqs = calloc(n, sizeof(*reqs));
    struct msg_in *resps = calloc(n, sizeof(*resps));
    struct io_req *io = calloc(n, sizeof(*io));
    int *res = calloc(n, sizeof(*res));
    uint16_t fid;
    uint64_t ep = 0;
    int r = !reqs || !resps || !io || !res ? -ENOMEM : file_get_fid(j->f, &fid, &ep);
    size_t built = 0;
    while (r == 0 && built < n) {
        size_t start = built * (size_t)j->chunk;
        io[built] = (struct io_req){j->rbuf + start, NULL, (uint32_t)chunk_len(j, built),
                                    j->off + start, p.large_files};
        r = read_build(&reqs[built], fid, ep, &io[built]);
        if (r == 0)
            built++;
    }
    if (r == 0) {
        conn_call_many(t->conn, t, reqs, n, window, resps, res, CONN_FID);
        bool failed = false;
        for (size_t i = 0; i < n; i++) {
            ssize_t got = res[i] ? res[i] : read_parse(&resps[i], &io[i]);
            if (res[i] == 0)
                msg_in_free(&resps[i]);
            bool refused_big = io[i].len > p.max_read && (got == -EOPNOTSUPP || got == -EINVAL);
            /* After a chunk that failed for good the read fails anyway
             * (io_run): no point reading the rest again. */
            if (got < 0 && !failed && (refused_big || file_should_retry(j->f, ep, (int)got)))
                got = io_once(j->f, io[i].rbuf, NULL, io[i].len, io[i].off);
            failed |= got < 0;
            j->res[i] = got;
        }
    } else {
        /* Nothing was sent: each chunk goes the usual way, which reports
         * the error (or gets past it) as a lone read would. */
        for (size_t i = 0; i < built; i++)
            msg_out_free(&reqs[i]);
        io_worker(j);
    }
    free(reqs);
    free(resps);
    free(io);
    free(res);
}

/* Runs the chunks of a large request: a read as one pipeline from this
 * thread (io_read_pipelined); a write on up to FILE_IO_PARALLEL threads (the
 * caller and the tree's pool), which build and send their pieces in
 * parallel: one pipeline would copy the whole write into its requests
 * before the first goes out (measured: 166 against 176 MB/s signed). The
 * result is the contiguous prefix up to the first short chunk; a failed
 * chunk fails a read, and a write when nothing before it was written. */
static ssize_t io_run(struct smb1_file *f, uint8_t *rbuf, const uint8_t *wbuf, size_t len,
                      uint64_t off)
{
    struct conn_params p;
    conn_get_params(f->t->conn, &p);
    if (len == 0)
        return 0;
    if (len > SSIZE_MAX)
        len = SSIZE_MAX;
    if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off)
        return -EFBIG;
    uint32_t chunk = chunk_size(&p, wbuf != NULL);
    if (len <= chunk)
        return io_once(f, rbuf, wbuf, (uint32_t)len, off);
    /* Even, page-aligned pieces: 1 MiB at most 0xFF000 a request is two
     * halves in parallel, not 1020 KiB and then 4 KiB. */
    size_t pieces = (len + chunk - 1) / chunk;
    size_t even = (len + pieces - 1) / pieces;
    even = (even + 4095) & ~(size_t)4095;
    if (even < chunk)
        chunk = (uint32_t)even;
    struct io_job j = {
        .f = f,
        .rbuf = rbuf,
        .wbuf = wbuf,
        .len = len,
        .off = off,
        .chunk = chunk,
        .nchunks = (len + chunk - 1) / chunk,
        .next = 0,
    };
    j.res = calloc(j.nchunks, sizeof(*j.res));
    if (!j.res)
        return -ENOMEM;
    pthread_mutex_init(&j.lock, NULL);
    size_t want = j.nchunks < FILE_IO_PARALLEL ? j.nchunks : FILE_IO_PARALLEL;
    /* Leave a slot for other requests; with one slot (impacket's
     * server) there is nothing to overlap, and chunks go in order. */
    if (p.max_mpx <= 2)
        want = 1;
    else if (want > (size_t)p.max_mpx - 1)
        want = (size_t)p.max_mpx - 1;
    struct ops_tree *ot = ops_tree_get(f->t);
    if (rbuf && want > 1)
        io_read_pipelined(&j, p.max_mpx / 2 < FILE_IO_WINDOW ? p.max_mpx / 2 : FILE_IO_WINDOW);
    else if (ot && ot->iopool && want > 1)
        iopool_run(ot->iopool, io_worker, &j, (unsigned)(want - 1));
    else
        io_worker(&j);
    pthread_mutex_destroy(&j.lock);
    ssize_t total = 0;
    for (size_t i = 0; i < j.nchunks; i++) {
        if (j.res[i] < 0) {
            /* A read that stops short is taken for the end of the file
             * (FUSE shrinks the cached size to it): a piece that failed
             * fails the whole read. A write may report what it did. */
            if (total == 0 || rbuf)
                total = j.res[i];
            break;
        }
        total += j.res[i];
        if ((size_t)j.res[i] < chunk_len(&j, i))
            break;
    }
    free(j.res);
    return total;
}

ssize_t smb1_read(struct smb1_file *f, void *buf, size_t len, uint64_t off)
{
    return io_run(f, buf, NULL, len, off);
}

ssize_t smb1_write(struct smb1_file *f, const void *buf, size_t len, uint64_t off)
{
    return io_run(f, NULL, buf, len, off);
}

static ssize_t flush_op(struct smb1_tree *t, uint16_t fid, uint64_t epoch, void *arg)
{
    (void)arg;
    return file_fid_cmd_at(t, SMB1_COM_FLUSH, fid, epoch);
}

int smb1_flush(struct smb1_file *f)
{
    return (int)file_call(f, flush_op, NULL);
}

/* ---- LOCKING_ANDX ---- */

struct lock_req {
    uint64_t off, len;
    int type;
    bool wait, large;
};

static ssize_t lock_op(struct smb1_tree *t, uint16_t fid, uint64_t epoch, void *arg)
{
    const struct lock_req *lk = arg;
    struct msg_out m;
    struct msg_in resp;
    int r = msg_out_init(&m, SMB1_COM_LOCKING_ANDX, SMB1_HDR_LEN + 1 + 16 + 2 + 20 + 8);
    if (r)
        return r;
    struct wire_writer *w = &m.w;
    bool unlock = lk->type == F_UNLCK;
    uint8_t lt =
        (lk->large ? SMB1_LOCK_LARGE_FILES : 0) | (lk->type == F_RDLCK ? SMB1_LOCK_SHARED : 0);
    msg_words_begin(&m);
    wire_put_u8(w, SMB1_COM_NONE);
    wire_put_u8(w, 0);
    wire_put_u16(w, 0);
    wire_put_u16(w, fid);
    wire_put_u8(w, lt);
    wire_put_u8(w, 0);
    wire_put_u32(w, !unlock && lk->wait ? 0xFFFFFFFFu : 0);
    wire_put_u16(w, unlock ? 1 : 0);
    wire_put_u16(w, unlock ? 0 : 1);
    msg_words_end(&m);
    msg_bytes_begin(&m);
    wire_put_u16(w, 0); /* PID of the range: one owner per handle */
    if (lk->large) {
        wire_put_u16(w, 0);
        wire_put_u32(w, (uint32_t)(lk->off >> 32));
        wire_put_u32(w, (uint32_t)lk->off);
        wire_put_u32(w, (uint32_t)(lk->len >> 32));
        wire_put_u32(w, (uint32_t)lk->len);
    } else {
        wire_put_u32(w, (uint32_t)lk->off);
        wire_put_u32(w, (uint32_t)lk->len);
    }
    msg_bytes_end(&m);
    if ((r = msg_out_error(&m))) {
        msg_out_free(&m);
        return r;
    }
    m.want_epoch = epoch;
    r = conn_call(t->conn, t, &m, &resp, CONN_FID | (!unlock && lk->wait ? CONN_NO_TIMEOUT : 0));
    if (r)
        return r;
    uint32_t st = resp.status;
    msg_in_free(&resp);
    /* Unlocking what is not locked succeeds in POSIX. */
    if (unlock && st == NT_STATUS_RANGE_NOT_LOCKED)
        return 0;
    /* Both conflict codes mean "held by another handle". */
    if (st == NT_STATUS_LOCK_NOT_GRANTED || st == NT_STATUS_FILE_LOCK_CONFLICT)
        return -EAGAIN;
    return ntstatus_to_errno(st);
}

/* Takes f's ranges again on its new FID; f->lock held. Without waiting:
 * a range someone else took while we were away is lost, and said so. */
static void relock_locked(struct smb1_file *f)
{
    struct conn_params p;
    conn_get_params(f->t->conn, &p);
    for (struct file_lock_rec *l = f->locks; l && !f->locks_lost; l = l->next) {
        struct lock_req lk = {l->off, l->len, l->shared ? F_RDLCK : F_WRLCK, false, p.large_files};
        ssize_t r = lock_op(f->t, f->fid, f->epoch, &lk);
        if (r == 0)
            continue;
        /* The connection broke again: the next use reopens and retries. */
        if (r == -ECONNRESET)
            break;
        f->locks_lost = true;
        log_err(conn_log(f->t->conn),
                "lock on %s (%llu bytes at %llu) lost across the reconnect: %s; its I/O now "
                "fails",
                f->path, (unsigned long long)l->len, (unsigned long long)l->off, strerror((int)-r));
    }
}

/* Remembers a range granted, or forgets one released (SMB unlocks only an
 * exact range). */
static void lock_record(struct smb1_file *f, uint64_t off, uint64_t len, int type)
{
    pthread_mutex_lock(&f->lock);
    if (type == F_UNLCK) {
        for (struct file_lock_rec **lp = &f->locks; *lp; lp = &(*lp)->next) {
            if ((*lp)->off == off && (*lp)->len == len) {
                struct file_lock_rec *l = *lp;
                *lp = l->next;
                free(l);
                break;
            }
        }
    } else {
        struct file_lock_rec *l = malloc(sizeof(*l));
        if (l) {
            *l = (struct file_lock_rec){f->locks, off, len, type == F_RDLCK};
            f->locks = l;
        } else {
            log_warn(conn_log(f->t->conn),
                     "out of memory: a lock on %s would not survive a reconnect", f->path);
        }
    }
    pthread_mutex_unlock(&f->lock);
}

int smb1_lock(struct smb1_file *f, uint64_t off, uint64_t len, int type, bool wait)
{
    struct conn_params p;
    conn_get_params(f->t->conn, &p);
    if (type != F_RDLCK && type != F_WRLCK && type != F_UNLCK)
        return -EINVAL;
    /* POSIX length 0: to the end of any file. */
    if (len == 0 || len > UINT64_MAX - off)
        len = UINT64_MAX - off;
    if (!p.large_files) {
        if (off > 0xFFFFFFFFu)
            return -EOVERFLOW;
        if (len > 0xFFFFFFFFu - off)
            len = 0xFFFFFFFFu - off;
    }
    struct lock_req lk = {off, len, type, wait, p.large_files};
    int r = (int)file_call(f, lock_op, &lk);
    if (r == 0)
        lock_record(f, off, len, type);
    return r;
}
