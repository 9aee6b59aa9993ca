/* Attributes through open files and paths: fstat, truncate, times, mode
 * and owner (the public smb1_fstat ... smb1_chown), over op_info.c's
 * requests and op_file.c's handles. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ops/op_file.h"
#include "ops/op_info.h"
#include "ops/op_own.h"
#include "ops/op_setown.h"
#include "ops/op_wb.h"
#include "ops/path.h"
#include "ops/tree_state.h"
#include "wire/ntstatus.h"
#include "wire/smb1_proto.h"
#include "wire/unix_rec.h"

static ssize_t fstat_op(struct smb1_tree *t, uint16_t fid, uint64_t epoch, void *arg)
{
    struct conn_params p;
    conn_get_params(t->conn, &p);
    uint16_t level = p.unix_caps ? SMB_QUERY_FILE_UNIX_BASIC : SMB_QUERY_FILE_ALL_INFO;
    struct trans_resp rs;
    int r = info_query_fid_at(t, fid, level, INFO_MAX_DATA, &rs, epoch);
    if (r)
        return r;
    r = info_decode_stat(level, &rs, arg);
    trans_resp_free(&rs);
    return r;
}

int smb1_fstat(struct smb1_file *f, struct smb1_stat *st)
{
    CONN_OP(f ? f->t->conn : NULL);
    int r = wb_push(f);
    if (r)
        return r;
    r = (int)file_call(f, fstat_op, st);
    if (r == 0 && !st->is_dir)
        file_size_note(f, st->size, true);
    return r;
}

static int set_eof_fid(struct smb1_tree *t, uint16_t fid, uint64_t size, uint64_t epoch)
{
    uint8_t d[8];
    struct wire_writer w;
    wire_writer_init(&w, d, sizeof(d));
    wire_put_u64(&w, size);
    return info_set_fid_at(t, fid, SMB_SET_FILE_END_OF_FILE_INFO, d, sizeof(d), NULL, epoch);
}

static ssize_t eof_op(struct smb1_tree *t, uint16_t fid, uint64_t epoch, void *arg)
{
    return set_eof_fid(t, fid, *(const uint64_t *)arg, epoch);
}

int smb1_ftruncate(struct smb1_file *f, uint64_t size)
{
    CONN_OP(f ? f->t->conn : NULL);
    if (size > INT64_MAX)
        return -EFBIG;
    int r = wb_push(f);
    if (r)
        return r;
    r = (int)file_call(f, eof_op, &size);
    if (r == 0)
        file_size_note(f, size, true);
    return r;
}

int smb1_truncate(struct smb1_tree *t, const char *path, uint64_t size)
{
    CONN_OP(t ? t->conn : NULL);
    int rs = ops_settle(t, path, OPS_SETTLE_WRITES);
    if (rs)
        return rs;
    uint16_t fid;
    uint64_t ep;
    uint32_t status = 0;
    if (size > INT64_MAX)
        return -EFBIG;
    for (int attempt = 0;; attempt++) {
        int r = file_open_temp(t, path, SMB1_FILE_WRITE_DATA | SMB1_FILE_READ_ATTRIBUTES, false,
                               &fid, &ep, &status);
        if (r)
            return status ? info_path_errno(t, path, status) : r;
        /* Pinned to the handle's connection; a size set twice is the same. */
        r = set_eof_fid(t, fid, size, ep);
        int rc = file_close_fid_at(t, fid, ep);
        if (r == -ECONNRESET && attempt == 0)
            continue;
        return r ? r : rc == -ECONNRESET ? 0 : rc;
    }
}

/* UTIME_NOW / UTIME_OMIT -> a time or NULL. */
static const struct timespec *resolve_time(const struct timespec *in, struct timespec *buf)
{
    if (!in || in->tv_nsec == UTIME_OMIT)
        return NULL;
    if (in->tv_nsec == UTIME_NOW) {
        clock_gettime(CLOCK_REALTIME, buf);
        return buf;
    }
    return in;
}

static ssize_t basic_op(struct smb1_tree *t, uint16_t fid, uint64_t epoch, void *arg)
{
    return info_set_fid_at(t, fid, SMB_SET_FILE_BASIC_INFO, arg, INFO_BASIC_LEN, NULL, epoch);
}

struct times_on_handle {
    const uint8_t *rec;
    int first; /* result of the set on the first handle; 1 before it */
};

static void set_times_on(struct smb1_file *f, void *arg)
{
    struct times_on_handle *th = arg;
    if (th->first == 1) {
        th->first = (int)file_call(f, basic_op, (void *)th->rec);
        return;
    }
    /* Best effort: the times already reached the file through the first
     * handle; this only makes them stick on this one too. */
    (void)file_call(f, basic_op, (void *)th->rec);
}

int smb1_utimens(struct smb1_tree *t, const char *path, struct smb1_file *f,
                 const struct timespec *atime, const struct timespec *mtime)
{
    CONN_OP(t ? t->conn : f ? f->t->conn : NULL);
    struct timespec ab, mb;
    atime = resolve_time(atime, &ab);
    mtime = resolve_time(mtime, &mb);
    if (!atime && !mtime)
        return 0;
    /* Data of ours still held or on its way goes first: written after
     * the times, Samba keeps the times set on the handle on disk but
     * reports the write's time to every query until the CLOSE, and the
     * kernel's RELEASE comes after close(2) returns, so a stat right
     * after write, utimes, close showed the time of the write (and one
     * before the close, for the mtime alone: touch -m, make). tar sets the
     * mtime alone on a file it still writes: its data stays held for the
     * WRITE+CLOSE chain, which leaves no such window after close(2)
     * (fs_untar_requests counts it); writes on their way (write-behind)
     * go first then too (fs_ops_checks: 8 files, 1 to 3 failed without). */
    int rs = path ? ops_settle(t, path, mtime && atime ? OPS_SETTLE_WRITES : OPS_SETTLE_BEHIND) : 0;
    if (rs)
        return rs;
    uint8_t rec[INFO_BASIC_LEN];
    info_encode_basic(rec, atime, mtime, 0);
    if (f) {
        /* On the handle: the server then keeps these times when a write
         * handle is closed later (Samba's sticky write time). A handle
         * opened without FILE_WRITE_ATTRIBUTES falls back to the path. */
        int r = (int)file_call(f, basic_op, rec);
        if (r != -EACCES || !path)
            return r;
    }
    /* Samba stamps the write time when a handle that wrote is closed,
     * unless the times were set on that handle: so they go on our open
     * write handles of the file. When one takes them, the file has them
     * and a set by path would be one more request for nothing (untar
     * sets the times of every file it is still writing). */
    struct times_on_handle th = {rec, 1};
    file_for_each_writer(t, path, set_times_on, &th);
    if (th.first == 0)
        return 0;
    uint32_t status = 0;
    int r = info_set_path(t, path, SMB_SET_FILE_BASIC_INFO, rec, sizeof(rec), &status, NULL);
    return r && status ? info_path_errno(t, path, status) : r;
}

/* SET UNIX_BASIC on a missing path is a request to create a special file
 * to Samba, which refuses it with ACCESS_DENIED: tell the two apart. */
static int unix_set_errno(struct smb1_tree *t, const char *path, uint32_t status)
{
    int r = info_path_errno(t, path, status);
    /* One of our handles holds the file open under that name: it is
     * there, and the refusal is one (tar's chown of each file it is
     * still writing, as a user the server will not let give files away). */
    if (r == -EACCES && !file_is_open(t, path, false)) {
        struct smb1_stat st;
        int r2 = smb1_stat(t, path, &st);
        if (r2 == -ENOENT || r2 == -ENOTDIR)
            return r2;
    }
    return r;
}

/* A file we created and hold open on path whose writes are held (so its
 * owner change can be: op_setown.c), with a reference a release waits
 * for, and what we know of it in *st; NULL if none. own_put drops it. */
static struct smb1_file *own_get(struct smb1_tree *t, const char *path, struct smb1_stat *st)
{
    struct ops_tree *ot = ops_tree_get(t);
    if (!ot)
        return NULL;
    pthread_mutex_lock(&ot->lock);
    struct smb1_file *f = own_locked(ot, path);
    if (f && (!atomic_load(&f->hold) || !f->own_st.has_unix))
        f = NULL;
    if (f) {
        f->refs++;
        *st = f->own_st;
    }
    pthread_mutex_unlock(&ot->lock);
    return f;
}

static void own_put(struct smb1_tree *t, struct smb1_file *f)
{
    struct ops_tree *ot = ops_tree_get(t);
    if (!f || !ot)
        return;
    pthread_mutex_lock(&ot->lock);
    f->refs--;
    pthread_cond_broadcast(&ot->cond);
    pthread_mutex_unlock(&ot->lock);
}

/* One SET_FILE_UNIX_BASIC of path (-1: unchanged), errno as a set. */
static int set_unix(struct smb1_tree *t, const char *path, int64_t uid, int64_t gid, int mode)
{
    uint32_t status;
    int r = setown_send(t, path, uid, gid, mode, &status);
    return r && status ? unix_set_errno(t, path, status) : r;
}

/* chmod with the UNIX extensions. Of a file we created and hold, whose
 * writes are held (op_setown.c), the mode is held too, for close(2):
 * there it goes in one set with the owner change held before it, back to
 * back with the WRITE+CLOSE chain (op_wb.c), one wait for all. Samba
 * sets the mode before the owner, and a chown may clear set-id bits:
 * such a mode goes now, after what was held. */
static int chmod_unix(struct smb1_tree *t, const char *path, mode_t mode)
{
    struct smb1_stat st = {0};
    struct smb1_file *f = own_get(t, path, &st);
    if (f && !(mode & (S_ISUID | S_ISGID))) {
        pthread_mutex_lock(&f->wb_lock);
        f->mode_held = true;
        f->mode_val = mode & 07777;
        pthread_mutex_unlock(&f->wb_lock);
        wb_held(f);
        own_put(t, f);
        return 0;
    }
    if (f)
        wb_push_owner(f);
    own_put(t, f);
    return set_unix(t, path, -1, -1, (int)(mode & 07777));
}

/* smb1_chmod, and smb1_chmod_known with known (NULL: nothing known). */
static int chmod_common(struct smb1_tree *t, const char *path, mode_t mode,
                        const struct smb1_stat *known)
{
    int rs = ops_settle(t, path, 0);
    if (rs)
        return rs;
    struct conn_params p;
    conn_get_params(t->conn, &p);
    if (p.unix_caps)
        return chmod_unix(t, path, mode);
    /* Without UNIX extensions the owner write bit is the READONLY
     * attribute; the other bits have no place on the server. The
     * attributes it goes with are the caller's, or asked (which also
     * sends held writes first: a created file's would miss their chain). */
    struct smb1_stat st;
    if (known) {
        st = *known;
    } else {
        int r = smb1_stat(t, path, &st);
        if (r)
            return r;
    }
    if (st.is_dir)
        return 0;
    uint32_t attrs = st.attrs & ~(uint32_t)SMB1_ATTR_NORMAL;
    if (mode & S_IWUSR)
        attrs &= ~(uint32_t)SMB1_ATTR_READONLY;
    else
        attrs |= SMB1_ATTR_READONLY;
    if (attrs == (st.attrs & ~(uint32_t)SMB1_ATTR_NORMAL))
        return 0;
    return info_set_attrs(t, path, attrs);
}

int smb1_chmod(struct smb1_tree *t, const char *path, mode_t mode)
{
    CONN_OP(t ? t->conn : NULL);
    return chmod_common(t, path, mode, NULL);
}

int smb1_chmod_known(struct smb1_tree *t, const char *path, mode_t mode,
                     const struct smb1_stat *known)
{
    CONN_OP(t ? t->conn : NULL);
    return chmod_common(t, path, mode, known);
}

/* smb1_chown, and smb1_chown_known with known (NULL: nothing known). */
static int chown_common(struct smb1_tree *t, const char *path, int64_t uid, int64_t gid,
                        const struct smb1_stat *known)
{
    struct conn_params p;
    conn_get_params(t->conn, &p);
    if (uid < 0 && gid < 0)
        return 0;
    /* Without UNIX extensions a file has no owner we could set. */
    if (!p.unix_caps)
        return -EPERM;
    int rs = ops_settle(t, path, 0);
    if (rs)
        return rs;
    /* A file we created and hold: a change whose outcome is known is held
     * for the chmod that follows, or refused as before (op_setown.c). */
    struct smb1_stat st = {0};
    struct smb1_file *f = own_get(t, path, &st);
    if (!f && known)
        st = *known;
    uint64_t to_uid = uid < 0 ? st.uid : (uint64_t)uid;
    uint64_t to_gid = gid < 0 ? st.gid : (uint64_t)gid;
    int r;
    if ((f || known) && setown_known(t, st.uid, st.gid, to_uid, to_gid, &r)) {
        /* Held for a file of ours; refused again for anything. */
        if (f && r == 0)
            wb_hold_owner(f, st.uid, st.gid, to_uid, to_gid);
        if (f || r) {
            own_put(t, f);
            return r;
        }
    }
    if (f)
        wb_push_owner(f); /* an owner change held before goes first */
    uint32_t status = 0;
    r = setown_send(t, path, uid, gid, -1, &status);
    /* A path the caller knows to be there was refused, not missing. */
    if (r && status)
        r = known ? info_path_errno(t, path, status) : unix_set_errno(t, path, status);
    if ((f || known) && (r == 0 || r == -EPERM || r == -EACCES))
        setown_learn(t, st.uid, st.gid, to_uid, to_gid, r);
    own_put(t, f);
    return r;
}

int smb1_chown(struct smb1_tree *t, const char *path, int64_t uid, int64_t gid)
{
    CONN_OP(t ? t->conn : NULL);
    return chown_common(t, path, uid, gid, NULL);
}

int smb1_chown_known(struct smb1_tree *t, const char *path, int64_t uid, int64_t gid,
                     const struct smb1_stat *known)
{
    CONN_OP(t ? t->conn : NULL);
    return chown_common(t, path, uid, gid, known);
}
