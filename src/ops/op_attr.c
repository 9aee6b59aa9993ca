/* Attributes through open files and paths: fstat, truncate, times, mode
 * and owner (the public smb1_fstat ... smb1_chown), over op_info.c's
 * requests and op_file.c's handles. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ops/op_file.h"
#include "ops/op_info.h"
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
    ops_settle(t, path, OPS_SETTLE_WRITES);
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
    struct timespec ab, mb;
    atime = resolve_time(atime, &ab);
    mtime = resolve_time(mtime, &mb);
    if (!atime && !mtime)
        return 0;
    if (path)
        ops_settle(t, path, 0);
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

int smb1_chmod(struct smb1_tree *t, const char *path, mode_t mode)
{
    ops_settle(t, path, 0);
    struct conn_params p;
    conn_get_params(t->conn, &p);
    uint32_t status = 0;
    int r;
    if (p.unix_caps) {
        uint8_t rec[UNIX_BASIC_LEN];
        unix_basic_encode_set(rec, UNIX_NO_CHANGE64, NULL, NULL, UNIX_NO_CHANGE64, UNIX_NO_CHANGE64,
                              mode & 07777);
        r = info_set_path(t, path, SMB_SET_FILE_UNIX_BASIC, rec, sizeof(rec), &status, NULL);
        return r && status ? unix_set_errno(t, path, status) : r;
    }
    /* Without UNIX extensions the owner write bit is the READONLY
     * attribute; the other bits have no place on the server. */
    struct smb1_stat st;
    r = smb1_stat(t, path, &st);
    if (r)
        return r;
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

int smb1_chown(struct smb1_tree *t, const char *path, int64_t uid, int64_t gid)
{
    struct conn_params p;
    conn_get_params(t->conn, &p);
    if (uid < 0 && gid < 0)
        return 0;
    /* Without UNIX extensions a file has no owner we could set. */
    if (!p.unix_caps)
        return -EPERM;
    ops_settle(t, path, 0);
    uint8_t rec[UNIX_BASIC_LEN];
    unix_basic_encode_set(rec, UNIX_NO_CHANGE64, NULL, NULL,
                          uid < 0 ? UNIX_NO_CHANGE64 : (uint64_t)uid,
                          gid < 0 ? UNIX_NO_CHANGE64 : (uint64_t)gid, UNIX_NO_CHANGE64);
    uint32_t status = 0;
    int r = info_set_path(t, path, SMB_SET_FILE_UNIX_BASIC, rec, sizeof(rec), &status, NULL);
    return r && status ? unix_set_errno(t, path, status) : r;
}
