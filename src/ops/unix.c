#include "ops/unix.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wire/nttime.h"
#include "wire/ntstatus.h"
#include "ops/op_info.h"
#include "ops/path.h"
#include "wire/smb1_proto.h"
#include "wire/text.h"
#include "ops/trans.h"

int unix_negotiate(struct smb1_tree *t, uint64_t wanted, uint64_t *caps)
{
    uint8_t pp[4];
    struct trans_resp rs;
    *caps = 0;
    wire_st16(pp, SMB_QUERY_CIFS_UNIX_INFO);
    /* Runs from the tree's set-up on a fresh connection: never reconnect
     * from here (a server that fails this would have each reconnect set
     * up, fail and reconnect again, one inside the other). */
    int r = trans2_call(t, SMB1_TRANS2_QUERY_FS_INFO, pp, 2, NULL, 0, 16, 64, &rs,
                        CONN_IDEMPOTENT | CONN_NO_RECONNECT);
    if (r)
        return r;
    if (rs.status != NT_STATUS_OK) {
        trans_resp_free(&rs);
        return -EOPNOTSUPP;
    }
    uint16_t major, minor;
    uint64_t server;
    r = unix_info_decode(rs.data, rs.data_len, &major, &minor, &server);
    trans_resp_free(&rs);
    if (r)
        return r;
    if (major != 1)
        return -EOPNOTSUPP;
    uint64_t use = server & wanted;
    uint8_t d[12];
    wire_st16(d, major);
    wire_st16(d + 2, minor);
    wire_st32(d + 4, (uint32_t)use);
    wire_st32(d + 8, (uint32_t)(use >> 32));
    wire_st16(pp, 0); /* FID: unused */
    wire_st16(pp + 2, SMB_SET_CIFS_UNIX_INFO);
    r = trans2_call(t, SMB1_TRANS2_SET_FS_INFO, pp, 4, d, sizeof(d), 16, 16, &rs,
                    CONN_NO_RECONNECT);
    if (r)
        return r;
    uint32_t st = rs.status;
    trans_resp_free(&rs);
    if (st != NT_STATUS_OK)
        return ntstatus_to_errno(st);
    /* The caller records the result: it is per connection and must be
     * announced again after every reconnect. */
    *caps = use;
    return 0;
}

int unix_posix_open(struct smb1_tree *t, const char *path, int flags, mode_t mode, uint16_t *fid,
                    uint64_t *epoch, struct smb1_stat *st)
{
    uint32_t pf = 0;
    switch (flags & O_ACCMODE) {
    case O_WRONLY:
        pf = SMB_O_WRONLY;
        break;
    case O_RDWR:
        pf = SMB_O_RDWR;
        break;
    default:
        pf = SMB_O_RDONLY;
        break;
    }
    if (flags & O_CREAT)
        pf |= SMB_O_CREAT;
    if (flags & O_EXCL)
        pf |= SMB_O_EXCL;
    if (flags & O_TRUNC)
        pf |= SMB_O_TRUNC;
    if (flags & O_DIRECTORY)
        pf |= SMB_O_DIRECTORY;
    uint8_t d[18];
    wire_st32(d, 0); /* no oplock */
    wire_st32(d + 4, pf);
    wire_st32(d + 8, mode & 07777);
    wire_st32(d + 12, 0);
    wire_st16(d + 16, SMB_QUERY_FILE_UNIX_BASIC);
    struct trans_resp rs;
    uint32_t status = 0;
    int r = info_set_path(t, path, SMB_POSIX_PATH_OPEN, d, sizeof(d), &status, &rs);
    if (r)
        return status ? info_path_errno(t, path, status) : r;
    if (epoch)
        *epoch = rs.epoch; /* the connection that answered: exact */
    r = unix_posix_open_decode(rs.data, rs.data_len, fid, st);
    trans_resp_free(&rs);
    return r;
}

int unix_info_decode(const uint8_t *d, size_t n, uint16_t *major, uint16_t *minor, uint64_t *caps)
{
    struct wire_reader wr;
    wire_reader_init(&wr, d, n);
    *major = wire_u16(&wr);
    *minor = wire_u16(&wr);
    *caps = wire_u64(&wr);
    return wire_ok(&wr) ? 0 : -EIO;
}

int unix_posix_open_decode(const uint8_t *d, size_t n, uint16_t *fid, struct smb1_stat *st)
{
    struct wire_reader wr;
    wire_reader_init(&wr, d, n);
    wire_skip(&wr, 2); /* OplockFlags */
    *fid = wire_u16(&wr);
    wire_skip(&wr, 4); /* CreateAction */
    uint16_t level = wire_u16(&wr);
    wire_skip(&wr, 2);
    if (!wire_ok(&wr))
        return -EIO;
    if (!st)
        return 0;
    memset(st, 0, sizeof(*st));
    if (level == SMB_QUERY_FILE_UNIX_BASIC)
        return unix_basic_decode(&wr, st);
    return -ENODATA; /* caller queries the handle */
}

int unix_posix_unlink(struct smb1_tree *t, const char *path, bool dir)
{
    uint8_t d[2];
    wire_st16(d, dir ? 1 : 0);
    uint32_t status = 0;
    int r = info_set_path(t, path, SMB_POSIX_PATH_UNLINK, d, sizeof(d), &status, NULL);
    return r && status ? info_path_errno(t, path, status) : r;
}

int unix_set_basic_path(struct smb1_tree *t, const char *path, const uint8_t rec[UNIX_BASIC_LEN])
{
    uint32_t status = 0;
    int r = info_set_path(t, path, SMB_SET_FILE_UNIX_BASIC, rec, UNIX_BASIC_LEN, &status, NULL);
    return r && status ? info_path_errno(t, path, status) : r;
}

int unix_set_basic_fid(struct smb1_tree *t, uint16_t fid, uint64_t epoch,
                       const uint8_t rec[UNIX_BASIC_LEN])
{
    return info_set_fid_at(t, fid, SMB_SET_FILE_UNIX_BASIC, rec, UNIX_BASIC_LEN, NULL, epoch);
}

/* The target of a symlink travels as a wire path string: '/' separators
 * are kept as they are (POSIX pathnames), no mapping. */
static int encode_target(struct smb1_tree *t, const char *target, uint8_t **out, uint32_t *len)
{
    struct conn_params p;
    conn_get_params(t->conn, &p);
    size_t tl = strlen(target);
    if (tl >= 4096)
        return -ENAMETOOLONG;
    uint8_t *buf = malloc(tl * 2 + 2);
    if (!buf)
        return -ENOMEM;
    size_t n = 0;
    int r;
    if (p.unicode) {
        r = text_utf8_to_utf16(target, tl, buf, tl * 2, &n);
        if (r) {
            free(buf);
            return r;
        }
        buf[n] = buf[n + 1] = 0;
        n += 2;
    } else {
        memcpy(buf, target, tl + 1);
        n = tl + 1;
    }
    *out = buf;
    *len = (uint32_t)n;
    return 0;
}

int unix_symlink(struct smb1_tree *t, const char *target, const char *path)
{
    struct conn_params p;
    conn_get_params(t->conn, &p);
    if (!p.unix_caps)
        return -EPERM;
    uint8_t *d;
    uint32_t dl;
    int r = encode_target(t, target, &d, &dl);
    if (r)
        return r;
    uint32_t status = 0;
    r = info_set_path(t, path, SMB_SET_FILE_UNIX_LINK, d, dl, &status, NULL);
    free(d);
    return r && status ? info_path_errno(t, path, status) : r;
}

ssize_t unix_readlink(struct smb1_tree *t, const char *path, char *buf, size_t size)
{
    struct conn_params p;
    conn_get_params(t->conn, &p);
    if (!p.unix_caps)
        return -EINVAL;
    struct trans_resp rs;
    int r = info_query_path(t, path, SMB_QUERY_FILE_UNIX_LINK, 8192, &rs);
    if (r)
        return rs.status ? info_path_errno(t, path, rs.status) : r;
    char *s;
    if (p.unicode) {
        int e = 0;
        s = text_utf16_to_utf8(rs.data, rs.data_len, &e);
        if (!s) {
            trans_resp_free(&rs);
            return e ? e : -ENOMEM;
        }
    } else {
        s = malloc(rs.data_len + 1);
        if (!s) {
            trans_resp_free(&rs);
            return -ENOMEM;
        }
        memcpy(s, rs.data, rs.data_len);
        s[rs.data_len] = 0;
    }
    trans_resp_free(&rs);
    size_t n = strlen(s);
    if (size) {
        size_t c = n < size - 1 ? n : size - 1;
        memcpy(buf, s, c);
        buf[c] = 0;
    }
    free(s);
    return (ssize_t)n;
}

int unix_hardlink(struct smb1_tree *t, const char *from, const char *to)
{
    struct path_ctx pc;
    path_ctx_get(t, &pc, NULL);
    uint8_t *d;
    size_t n;
    int r = path_to_wire_alloc(&pc, from, NULL, 0, &d, &n);
    if (r)
        return r;
    uint32_t status = 0;
    /* SET_PATH names the new link; the data is the existing file. */
    r = info_set_path(t, to, SMB_SET_FILE_UNIX_HLINK, d, (uint32_t)n, &status, NULL);
    free(d);
    return r && status ? info_path_errno(t, to, status) : r;
}
