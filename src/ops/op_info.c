#include "ops/op_info.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ops/mfsymlink.h"
#include "ops/path.h"
#include "ops/tree_state.h"
#include "wire/nttime.h"
#include "wire/ntstatus.h"
#include "wire/smb1_proto.h"
#include "wire/unix_rec.h"

/* ---- decoders ---- */

void info_synth_mode(struct smb1_stat *st)
{
    if (st->is_dir)
        st->mode = S_IFDIR | 0755;
    else
        st->mode = S_IFREG | ((st->attrs & SMB1_ATTR_READONLY) ? 0444 : 0644);
    if (!st->nlink)
        st->nlink = 1;
}

int info_decode_basic(const uint8_t *d, size_t n, struct smb1_stat *st)
{
    struct wire_reader r;
    wire_reader_init(&r, d, n);
    st->btime = nttime_to_timespec(wire_u64(&r));
    st->atime = nttime_to_timespec(wire_u64(&r));
    st->mtime = nttime_to_timespec(wire_u64(&r));
    st->ctime = nttime_to_timespec(wire_u64(&r));
    st->attrs = wire_u32(&r);
    st->is_dir = (st->attrs & SMB1_ATTR_DIRECTORY) != 0;
    return wire_ok(&r) ? 0 : -EIO;
}

int info_decode_standard(const uint8_t *d, size_t n, struct smb1_stat *st)
{
    struct wire_reader r;
    wire_reader_init(&r, d, n);
    st->alloc = wire_u64(&r);
    st->size = wire_u64(&r);
    st->nlink = wire_u32(&r);
    wire_skip(&r, 1); /* DeletePending */
    if (wire_u8(&r))
        st->is_dir = true;
    return wire_ok(&r) ? 0 : -EIO;
}

int info_decode_all(const uint8_t *d, size_t n, struct smb1_stat *st)
{
    if (n < INFO_ALL_MIN_LEN)
        return -EIO;
    memset(st, 0, sizeof(*st));
    if (info_decode_basic(d, 40, st) || info_decode_standard(d + 40, 22, st))
        return -EIO;
    info_synth_mode(st);
    return 0;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
    if (a && b > UINT64_MAX / a)
        return UINT64_MAX;
    return a * b;
}

int info_decode_fs_size(const uint8_t *d, size_t n, struct smb1_statfs *sf)
{
    struct wire_reader r;
    wire_reader_init(&r, d, n);
    uint64_t total = wire_u64(&r), avail = wire_u64(&r);
    uint64_t unit = (uint64_t)wire_u32(&r) * wire_u32(&r);
    if (!wire_ok(&r) || unit == 0)
        return -EIO;
    sf->total_bytes = mul_sat(total, unit);
    sf->free_bytes = sf->avail_bytes = mul_sat(avail, unit);
    sf->block_size = unit > 0x40000000 ? 0x40000000 : (uint32_t)unit;
    return 0;
}

int info_decode_fs_full_size(const uint8_t *d, size_t n, struct smb1_statfs *sf)
{
    struct wire_reader r;
    wire_reader_init(&r, d, n);
    uint64_t total = wire_u64(&r), caller = wire_u64(&r), actual = wire_u64(&r);
    uint64_t unit = (uint64_t)wire_u32(&r) * wire_u32(&r);
    if (!wire_ok(&r) || unit == 0)
        return -EIO;
    sf->total_bytes = mul_sat(total, unit);
    sf->avail_bytes = mul_sat(caller, unit);
    sf->free_bytes = mul_sat(actual, unit);
    sf->block_size = unit > 0x40000000 ? 0x40000000 : (uint32_t)unit;
    return 0;
}

int info_decode_fs_attr(const uint8_t *d, size_t n, uint32_t *attrs, uint32_t *name_max)
{
    struct wire_reader r;
    wire_reader_init(&r, d, n);
    *attrs = wire_u32(&r);
    *name_max = wire_u32(&r);
    uint32_t fslen = wire_u32(&r);
    wire_skip(&r, fslen);
    return wire_ok(&r) ? 0 : -EIO;
}

void info_encode_basic(uint8_t out[INFO_BASIC_LEN], const struct timespec *atime,
                       const struct timespec *mtime, uint32_t attrs)
{
    struct wire_writer w;
    wire_writer_init(&w, out, INFO_BASIC_LEN);
    wire_put_u64(&w, 0); /* CreationTime: unchanged */
    wire_put_u64(&w, atime ? nttime_from_timespec(*atime) : 0);
    wire_put_u64(&w, mtime ? nttime_from_timespec(*mtime) : 0);
    wire_put_u64(&w, 0); /* ChangeTime: the server's */
    wire_put_u32(&w, attrs);
    wire_put_u32(&w, 0);
}

int info_decode_stat(uint16_t level, const struct trans_resp *rs, struct smb1_stat *st)
{
    memset(st, 0, sizeof(*st));
    if (level == SMB_QUERY_FILE_UNIX_BASIC) {
        struct wire_reader wr;
        wire_reader_init(&wr, rs->data, rs->data_len);
        return unix_basic_decode(&wr, st);
    }
    return info_decode_all(rs->data, rs->data_len, st);
}

/* ---- requests ---- */

/* 0 for a successful reply; else frees its blocks (keeping the status)
 * and returns the status as -errno. */
static int resp_errno(struct trans_resp *rs)
{
    if (rs->status == NT_STATUS_OK)
        return 0;
    uint32_t st = rs->status;
    trans_resp_free(rs);
    rs->status = st;
    return ntstatus_to_errno(st);
}

int info_path_params(struct smb1_tree *t, uint16_t level, const char *path, uint8_t **out,
                     uint32_t *len)
{
    struct path_ctx pc;
    path_ctx_get(t, &pc, NULL);
    uint8_t *buf;
    size_t n;
    int r = path_to_wire_alloc(&pc, path, NULL, 6, &buf, &n);
    if (r)
        return r;
    wire_st16(buf, level);
    wire_st32(buf + 2, 0);
    *out = buf;
    *len = (uint32_t)(6 + n);
    return 0;
}

int info_query_path(struct smb1_tree *t, const char *path, uint16_t level, uint32_t max_data,
                    struct trans_resp *rs)
{
    uint8_t *pp;
    uint32_t plen;
    memset(rs, 0, sizeof(*rs));
    int r = info_path_params(t, level, path, &pp, &plen);
    if (r)
        return r;
    r = trans2_call(t, SMB1_TRANS2_QUERY_PATH_INFO, pp, plen, NULL, 0, 16, max_data, rs,
                    CONN_IDEMPOTENT);
    free(pp);
    if (r)
        return r;
    return resp_errno(rs);
}

int info_query_fid_at(struct smb1_tree *t, uint16_t fid, uint16_t level, uint32_t max_data,
                      struct trans_resp *rs, uint64_t epoch)
{
    uint8_t pp[4];
    wire_st16(pp, fid);
    wire_st16(pp + 2, level);
    int r = trans2_call_at(t, SMB1_TRANS2_QUERY_FILE_INFO, pp, sizeof(pp), NULL, 0, 16, max_data,
                           rs, CONN_FID, epoch);
    if (r)
        return r;
    return resp_errno(rs);
}

int info_set_path(struct smb1_tree *t, const char *path, uint16_t level, const void *data,
                  uint32_t len, uint32_t *status, struct trans_resp *out)
{
    uint8_t *pp;
    uint32_t plen;
    struct trans_resp rs;
    if (status)
        *status = 0;
    int r = info_path_params(t, level, path, &pp, &plen);
    if (r)
        return r;
    r = trans2_call(t, SMB1_TRANS2_SET_PATH_INFO, pp, plen, data, len, 16, out ? INFO_MAX_DATA : 0,
                    &rs, 0);
    free(pp);
    if (r)
        return r;
    /* A path-based request names no handle, yet Samba answers one for a
     * missing file with INVALID_HANDLE (its internal open failed): that
     * is a path that was not found. */
    if (rs.status == NT_STATUS_INVALID_HANDLE)
        rs.status = NT_STATUS_OBJECT_PATH_NOT_FOUND;
    if (status)
        *status = rs.status;
    r = ntstatus_to_errno(rs.status);
    if (out && r == 0)
        *out = rs;
    else
        trans_resp_free(&rs);
    return r;
}

int info_set_fid_at(struct smb1_tree *t, uint16_t fid, uint16_t level, const void *data,
                    uint32_t len, uint32_t *status, uint64_t epoch)
{
    uint8_t pp[6];
    struct trans_resp rs;
    wire_st16(pp, fid);
    wire_st16(pp + 2, level);
    wire_st16(pp + 4, 0);
    if (status)
        *status = 0;
    int r = trans2_call_at(t, SMB1_TRANS2_SET_FILE_INFO, pp, sizeof(pp), data, len, 16, 0, &rs,
                           CONN_FID, epoch);
    if (r)
        return r;
    if (status)
        *status = rs.status;
    trans_resp_free(&rs);
    return ntstatus_to_errno(rs.status);
}

/* Queries one path's attributes; *status receives the reply's status. */
static bool level_unsupported(uint32_t status)
{
    return status == NT_STATUS_INVALID_INFO_CLASS || status == NT_STATUS_NOT_SUPPORTED ||
           status == NT_STATUS_NOT_IMPLEMENTED || status == NT_STATUS_DOS(1, 124);
}

/* For servers without QUERY_FILE_ALL_INFO: BASIC then STANDARD. */
static int stat_basic_standard(struct smb1_tree *t, const char *path, struct smb1_stat *st,
                               uint32_t *status)
{
    struct trans_resp rs;
    memset(st, 0, sizeof(*st));
    int r = info_query_path(t, path, SMB_QUERY_FILE_BASIC_INFO, INFO_MAX_DATA, &rs);
    *status = rs.status;
    if (r)
        return r;
    r = info_decode_basic(rs.data, rs.data_len, st);
    trans_resp_free(&rs);
    if (r)
        return r;
    r = info_query_path(t, path, SMB_QUERY_FILE_STANDARD_INFO, INFO_MAX_DATA, &rs);
    *status = rs.status;
    if (r)
        return r;
    r = info_decode_standard(rs.data, rs.data_len, st);
    trans_resp_free(&rs);
    if (r == 0)
        info_synth_mode(st);
    return r;
}

static int stat_query(struct smb1_tree *t, const char *path, struct smb1_stat *st, uint32_t *status)
{
    struct conn_params p;
    struct trans_resp rs;
    conn_get_params(t->conn, &p);
    bool ux = p.unix_caps != 0;
    int r = info_query_path(t, path, ux ? SMB_QUERY_FILE_UNIX_BASIC : SMB_QUERY_FILE_ALL_INFO,
                            INFO_MAX_DATA, &rs);
    *status = rs.status;
    if (!ux && level_unsupported(rs.status))
        return stat_basic_standard(t, path, st, status);
    if (r)
        return r;
    r = info_decode_stat(ux ? SMB_QUERY_FILE_UNIX_BASIC : SMB_QUERY_FILE_ALL_INFO, &rs, st);
    trans_resp_free(&rs);
    return r;
}

int info_path_errno(struct smb1_tree *t, const char *path, uint32_t status)
{
    int err = ntstatus_to_errno(status);
    if (status != NT_STATUS_OBJECT_PATH_NOT_FOUND)
        return err;
    /* Windows semantics report a missing parent and a parent that is a
     * file alike; POSIX tells them apart. Walk up to the first ancestor
     * that exists. Only on this error path, so it costs nothing normally. */
    char *dup = strdup(path);
    if (!dup)
        return err;
    for (int depth = 0; depth < 64; depth++) {
        char *slash = strrchr(dup, '/');
        if (!slash)
            break;
        *slash = 0;
        if (!dup[0])
            break;
        struct smb1_stat st;
        uint32_t s2 = 0;
        if (stat_query(t, dup, &st, &s2) == 0) {
            if (!st.is_dir)
                err = -ENOTDIR;
            break;
        }
        if (s2 != NT_STATUS_OBJECT_PATH_NOT_FOUND && s2 != NT_STATUS_OBJECT_NAME_NOT_FOUND)
            break;
    }
    free(dup);
    return err;
}

int smb1_stat(struct smb1_tree *t, const char *path, struct smb1_stat *st)
{
    CONN_OP(t ? t->conn : NULL);
    int rs = ops_settle(t, path, OPS_SETTLE_WRITES);
    if (rs)
        return rs;
    uint32_t status = 0;
    int r = stat_query(t, path, st, &status);
    if (r && status)
        r = info_path_errno(t, path, status);
    if (r == 0)
        mfsym_fix_stat(t, path, st);
    return r;
}
int info_set_attrs(struct smb1_tree *t, const char *path, uint32_t attrs)
{
    attrs &= ~(uint32_t)SMB1_ATTR_NORMAL;
    if (!attrs)
        attrs = SMB1_ATTR_NORMAL; /* 0 would mean "leave unchanged" */
    uint8_t rec[INFO_BASIC_LEN];
    info_encode_basic(rec, NULL, NULL, attrs);
    uint32_t status = 0;
    int r = info_set_path(t, path, SMB_SET_FILE_BASIC_INFO, rec, sizeof(rec), &status, NULL);
    return r && status ? info_path_errno(t, path, status) : r;
}

int info_clear_readonly(struct smb1_tree *t, const char *path, uint32_t *attrs)
{
    struct trans_resp rs;
    int r = info_query_path(t, path, SMB_QUERY_FILE_BASIC_INFO, INFO_MAX_DATA, &rs);
    if (r)
        return r;
    struct smb1_stat st;
    r = info_decode_basic(rs.data, rs.data_len, &st);
    trans_resp_free(&rs);
    if (r)
        return r;
    if (!(st.attrs & SMB1_ATTR_READONLY) || (st.attrs & SMB1_ATTR_DIRECTORY))
        return -EACCES;
    *attrs = st.attrs;
    return info_set_attrs(t, path, st.attrs & ~(uint32_t)SMB1_ATTR_READONLY);
}

static int query_fs(struct smb1_tree *t, uint16_t level, struct trans_resp *rs)
{
    uint8_t pp[2];
    wire_st16(pp, level);
    int r = trans2_call(t, SMB1_TRANS2_QUERY_FS_INFO, pp, sizeof(pp), NULL, 0, 16, INFO_MAX_DATA,
                        rs, CONN_IDEMPOTENT);
    if (r)
        return r;
    return resp_errno(rs);
}

/* An error of the connection rather than a refusal of the level: trying
 * another level would only wait for the server once more. */
static bool conn_failed(int r)
{
    return r == -ETIMEDOUT || r == -ECONNRESET || r == -EINTR || r == -ENOTCONN || r == -EIO;
}

int smb1_statfs(struct smb1_tree *t, struct smb1_statfs *sf)
{
    CONN_OP(t ? t->conn : NULL);
    struct conn_params p;
    struct trans_resp rs;
    int r = -EOPNOTSUPP;
    memset(sf, 0, sizeof(*sf));
    conn_get_params(t->conn, &p);
    if (p.caps & SMB1_CAP_INFOLEVEL_PASSTHRU) {
        r = query_fs(t, SMB_PASSTHRU_FS_FULL_SIZE, &rs);
        if (r == 0) {
            r = info_decode_fs_full_size(rs.data, rs.data_len, sf);
            trans_resp_free(&rs);
        } else if (conn_failed(r)) {
            return r;
        }
    }
    if (r) {
        r = query_fs(t, SMB_QUERY_FS_SIZE_INFO, &rs);
        if (r)
            return r;
        r = info_decode_fs_size(rs.data, rs.data_len, sf);
        trans_resp_free(&rs);
        if (r)
            return r;
    }
    sf->name_max = PATH_NAME_MAX;
    if (query_fs(t, SMB_QUERY_FS_ATTRIBUTE_INFO, &rs) == 0) {
        uint32_t attrs, nm;
        if (info_decode_fs_attr(rs.data, rs.data_len, &attrs, &nm) == 0) {
            if (nm && nm < sf->name_max)
                sf->name_max = nm;
            pthread_mutex_lock(&t->lock);
            t->fs_attrs = attrs;
            pthread_mutex_unlock(&t->lock);
            struct ops_tree *ot = ops_tree_get(t);
            if (ot)
                atomic_store(&ot->name_max, sf->name_max);
        }
        trans_resp_free(&rs);
    }
    return 0;
}
