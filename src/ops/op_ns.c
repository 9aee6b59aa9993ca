#include "ops/op_ns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "session/conn.h"
#include "wire/ntstatus.h"
#include "ops/tree_state.h"
#include "ops/op_file.h"
#include "ops/mfsymlink.h"
#include "ops/op_info.h"
#include "ops/path.h"
#include "wire/smb1_proto.h"
#include "ops/unix.h"
#include "wire/unix_rec.h"

#define SEARCH_ALL (SMB1_ATTR_HIDDEN | SMB1_ATTR_SYSTEM | SMB1_ATTR_DIRECTORY)

/* Writes a BufferFormat 0x04 string (a path) into the bytes block. */
static void put_path(struct msg_out *m, const struct path_ctx *pc, const uint8_t *w, size_t n)
{
    wire_put_u8(&m->w, 0x04);
    if (pc->unicode)
        msg_align(m, 2);
    wire_put_bytes(&m->w, w, n);
}

/* Sends a path command: words (count given, the bytes of which are in
 * words), then one or two paths. *status receives the reply's status. */
static int path_cmd(struct smb1_tree *t, uint8_t cmd, const uint16_t *words, unsigned nwords,
                    const char *p1, const char *p2, uint32_t *status)
{
    struct path_ctx pc;
    struct msg_out m;
    struct msg_in resp;
    *status = 0;
    path_ctx_get(t, &pc, NULL);
    uint8_t *b1, *b2 = NULL;
    size_t n1, n2 = 0;
    int r = path_to_wire_alloc(&pc, p1, NULL, 0, &b1, &n1);
    if (r)
        return r;
    if (p2 && (r = path_to_wire_alloc(&pc, p2, NULL, 0, &b2, &n2)))
        goto out_free;
    r = msg_out_init(&m, cmd, SMB1_HDR_LEN + 1 + 2 * nwords + 2 + 4 + n1 + n2 + 8);
    if (r)
        goto out_free;
    msg_words_begin(&m);
    for (unsigned i = 0; i < nwords; i++)
        wire_put_u16(&m.w, words[i]);
    msg_words_end(&m);
    msg_bytes_begin(&m);
    put_path(&m, &pc, b1, n1);
    if (p2)
        put_path(&m, &pc, b2, n2);
    msg_bytes_end(&m);
    if ((r = msg_out_error(&m))) {
        msg_out_free(&m);
        goto out_free;
    }
    r = conn_call(t->conn, t, &m, &resp, 0);
    if (r)
        goto out_free;
    *status = resp.status;
    r = ntstatus_to_errno(resp.status);
    msg_in_free(&resp);
out_free:
    free(b1);
    free(b2);
    return r;
}

static bool posix_ops(struct smb1_tree *t)
{
    struct conn_params p;
    conn_get_params(t->conn, &p);
    return (p.unix_caps & UNIX_CAP_POSIX_PATH_OPERATIONS) != 0;
}

/* DELETE opens the file without sharing (Samba does), so it fails while
 * the file is open elsewhere, for example by us. POSIX unlinks it anyway:
 * mark it delete-on-close through a handle of our own instead; the name
 * then answers as deleted and the data goes at the last close. */
static int unlink_open(struct smb1_tree *t, const char *path)
{
    for (int attempt = 0;; attempt++) {
        uint16_t fid;
        uint64_t ep;
        uint32_t status = 0;
        int r = file_open_temp(t, path, SMB1_DELETE | SMB1_SYNCHRONIZE | SMB1_FILE_READ_ATTRIBUTES,
                               false, &fid, &ep, &status);
        if (r)
            return status ? info_path_errno(t, path, status) : r;
        /* The handle is pinned to its connection: after a reconnect its
         * number may name another file. Marking it again is harmless. */
        uint8_t pending = 1;
        r = info_set_fid_at(t, fid, SMB_SET_FILE_DISPOSITION_INFO, &pending, 1, NULL, ep);
        int rc = file_close_fid_at(t, fid, ep);
        if (r == -ECONNRESET && attempt == 0)
            continue;
        /* A close lost with its connection closes the handle all the same. */
        return r ? r : rc == -ECONNRESET ? 0 : rc;
    }
}

static int plain_rename(struct smb1_tree *t, const char *from, const char *to, uint32_t *status);
static char *parent_of(const char *path);

int smb1_deleted_name(char *out, size_t cap, const char *dir, unsigned n)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return snprintf(out, cap, "%s%s" SMB1_DELETED_PREFIX "%lx%lx%x", dir, dir[0] ? "/" : "",
                    (unsigned long)now.tv_sec, (unsigned long)now.tv_nsec, n);
}

/* Unlinks a file that is open (by us or another client) without UNIX
 * extensions: Windows semantics keep a delete-pending name until the
 * last close, which POSIX programs do not expect (the name must be free
 * at once). So, as the Linux client does, move it to a hidden name first
 * and let it go at its last close there. The hidden name goes to the
 * share's root when the server allows, so that the directory it left can
 * be removed at once as on a local disk; else next to where it was. */
static int unlink_busy(struct smb1_tree *t, const char *path)
{
    char *parent = parent_of(path);
    if (!parent)
        return -ENOMEM;
    size_t cap = strlen(parent) + sizeof(SMB1_DELETED_PREFIX) + 64;
    char *tmp = malloc(cap);
    if (!tmp) {
        free(parent);
        return -ENOMEM;
    }
    uint32_t status = 0;
    int r = -EEXIST;
    const char *dirs[2] = {"", parent};
    for (int d = 0; d < (parent[0] ? 2 : 1) && r; d++) {
        r = -EEXIST;
        for (int i = 0; i < 4 && r == -EEXIST; i++) {
            smb1_deleted_name(tmp, cap, dirs[d], (unsigned)i);
            r = plain_rename(t, path, tmp, &status);
        }
    }
    free(parent);
    if (r) {
        free(tmp);
        return status ? info_path_errno(t, path, status) : r;
    }
    file_renamed(t, path, tmp);
    r = unlink_open(t, tmp);
    if (r) {
        /* Not deletable after all: put it back. */
        if (plain_rename(t, tmp, path, &status) == 0)
            file_renamed(t, tmp, path);
    }
    free(tmp);
    return r;
}

/* Removes the file path by del (DELETE or the POSIX unlink). One that the
 * server keeps for its read-only attribute loses the attribute first, as
 * cifs.ko does: on Linux only the directory decides an unlink. Known
 * read-only (attrs, a listing's), before the first try; else once the
 * server refused it. Should the removal still fail, the attribute is put
 * back. *status: the last DELETE's. */
typedef int (*unlink_fn)(struct smb1_tree *t, const char *path, uint32_t *status);
static int del_posix(struct smb1_tree *t, const char *path, uint32_t *status);

static int remove_readonly(struct smb1_tree *t, const char *path, uint32_t attrs, unlink_fn del,
                           uint32_t *status)
{
    *status = 0;
    bool known = (attrs & SMB1_ATTR_READONLY) && !(attrs & SMB1_ATTR_DIRECTORY);
    int r;
    if (known && info_set_attrs(t, path, attrs & ~(uint32_t)SMB1_ATTR_READONLY) != 0)
        known = false; /* the server will say why */
    if (!known) {
        r = del(t, path, status);
        if (r != -EACCES || info_clear_readonly(t, path, &attrs) != 0)
            return r;
    }
    uint32_t again = 0;
    r = del(t, path, &again);
    /* Not after a DELETE whose answer was lost: it may have gone through. */
    if (r && (again || del == del_posix))
        (void)info_set_attrs(t, path, attrs);
    *status = again;
    return r;
}

/* DELETE, refused as EACCES: a file the server keeps for its read-only
 * attribute (CANNOT_DELETE, or ACCESS_DENIED). */
static int del_file(struct smb1_tree *t, const char *path, uint32_t *status)
{
    uint16_t w = SMB1_ATTR_HIDDEN | SMB1_ATTR_SYSTEM;
    *status = 0;
    int r = path_cmd(t, SMB1_COM_DELETE, &w, 1, path, NULL, status);
    if (r && (*status == NT_STATUS_CANNOT_DELETE || *status == NT_STATUS_ACCESS_DENIED))
        return -EACCES;
    return r;
}

static int del_posix(struct smb1_tree *t, const char *path, uint32_t *status)
{
    *status = 0;
    return unix_posix_unlink(t, path, false);
}

static int unlink_common(struct smb1_tree *t, const char *path, bool known_nondir, uint32_t attrs)
{
    uint32_t status;
    if (posix_ops(t)) {
        /* The POSIX unlink removes an (empty) directory as well: unlink(2)
         * must not, so the type is checked first unless the caller did. */
        if (!known_nondir) {
            struct smb1_stat st;
            int r = smb1_stat(t, path, &st);
            if (r)
                return r;
            if (st.is_dir)
                return -EISDIR;
        }
        /* The POSIX unlink, as cifs.ko: the name goes at once even while
         * other clients have the file open. (DELETE costs smbd less, but
         * it shares nothing: such a file waits out Samba's second for a
         * sharing violation first.) */
        return remove_readonly(t, path, attrs, del_posix, &status);
    }
    /* An open file: DELETE would wait (a second, in Samba) for a sharing
     * violation. */
    if (file_is_open(t, path, false))
        return unlink_busy(t, path);
    int r = remove_readonly(t, path, attrs, del_file, &status);
    if (r && status == NT_STATUS_SHARING_VIOLATION)
        return unlink_busy(t, path);
    if (r && status)
        r = info_path_errno(t, path, status);
    if (r && status == NT_STATUS_INTERNAL_ERROR && strchr(path_basename(path), '~')) {
        /* A name smbd lists 8.3-mangled ("TIXEP6~1": its own users gave it
         * a trailing space or a character Windows forbids): smbd cannot
         * delete or open it by that name. Not an I/O error: say so. */
        log_warn(conn_log(t->conn),
                 "%s: the server shows this name 8.3-mangled and cannot delete it by that "
                 "name; remove it on the server",
                 path);
        r = -EACCES;
    }
    return r;
}

int smb1_unlink(struct smb1_tree *t, const char *path)
{
    CONN_OP(t ? t->conn : NULL);
    int rs = ops_settle(t, path, OPS_SETTLE_WRITES);
    if (rs)
        return rs;
    return unlink_common(t, path, false, 0);
}

int smb1_unlink_nondir(struct smb1_tree *t, const char *path, uint32_t attrs)
{
    CONN_OP(t ? t->conn : NULL);
    int rs = ops_settle(t, path, OPS_SETTLE_WRITES);
    if (rs)
        return rs;
    return unlink_common(t, path, true, attrs);
}

int smb1_rmdir(struct smb1_tree *t, const char *path)
{
    CONN_OP(t ? t->conn : NULL);
    int rs = ops_settle(t, path, OPS_SETTLE_WRITES | OPS_SETTLE_BELOW);
    if (rs)
        return rs;
    if (posix_ops(t))
        return unix_posix_unlink(t, path, true);
    uint32_t status;
    int r = path_cmd(t, SMB1_COM_DELETE_DIRECTORY, NULL, 0, path, NULL, &status);
    if (r && status)
        r = info_path_errno(t, path, status);
    return r;
}

int smb1_mkdir(struct smb1_tree *t, const char *path, mode_t mode)
{
    CONN_OP(t ? t->conn : NULL);
    return smb1_mkdir_stat(t, path, mode, NULL);
}

int smb1_mkdir_stat(struct smb1_tree *t, const char *path, mode_t mode, struct smb1_stat *st)
{
    CONN_OP(t ? t->conn : NULL);
    if (st)
        memset(st, 0, sizeof(*st));
    if (posix_ops(t)) {
        uint16_t fid;
        struct smb1_stat s;
        /* Samba creates the directory and keeps no handle (no FID); the
         * reply describes it (UNIX_BASIC, as for a POSIX open). */
        int r = unix_posix_open(t, path, O_CREAT | O_EXCL | O_DIRECTORY | O_RDONLY, mode, &fid,
                                NULL, &s);
        if (r == 0 && st && s.has_unix && s.is_dir)
            *st = s;
        if (r != -EOPNOTSUPP && r != -ENOSYS)
            return r;
    }
    uint32_t status;
    int r = path_cmd(t, SMB1_COM_CREATE_DIRECTORY, NULL, 0, path, NULL, &status);
    if (r && status)
        r = info_path_errno(t, path, status);
    return r;
}

static int plain_rename(struct smb1_tree *t, const char *from, const char *to, uint32_t *status)
{
    uint16_t w = SEARCH_ALL;
    return path_cmd(t, SMB1_COM_RENAME, &w, 1, from, to, status);
}

static char *parent_of(const char *path)
{
    const char *s = strrchr(path, '/');
    size_t n = s ? (size_t)(s - path) : 0;
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = 0;
    }
    return d;
}

static bool same_parent(const char *a, const char *b)
{
    while (*a == '/')
        a++;
    while (*b == '/')
        b++;
    const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
    size_t na = sa ? (size_t)(sa - a) : 0, nb = sb ? (size_t)(sb - b) : 0;
    return na == nb && memcmp(a, b, na) == 0;
}

/* Renames from (opened) to the last component of to, in from's own
 * directory, replacing an existing target: SMB1's FileRenameInformation
 * takes only a name in the same directory (as Samba implements it). */
static int replace_same_dir(struct smb1_tree *t, const char *from, const char *to, uint32_t *status)
{
    struct path_ctx pc;
    struct conn_params p;
    path_ctx_get(t, &pc, &p);
    *status = 0;
    if (!(p.caps & SMB1_CAP_INFOLEVEL_PASSTHRU))
        return -EOPNOTSUPP;
    uint8_t *d;
    size_t n;
    int r = path_to_wire_alloc(&pc, path_basename(to), NULL, 12, &d, &n);
    if (r)
        return r;
    n -= path_nul_len(&pc);
    d[0] = 1; /* ReplaceIfExists */
    d[1] = d[2] = d[3] = 0;
    wire_st32(d + 4, 0); /* RootDirectory */
    wire_st32(d + 8, (uint32_t)n);
    uint16_t fid;
    uint64_t ep;
    r = file_open_temp(t, from, SMB1_DELETE | SMB1_SYNCHRONIZE | SMB1_FILE_READ_ATTRIBUTES, true,
                       &fid, &ep, status);
    if (r)
        goto out_free;
    r = info_set_fid_at(t, fid, SMB_PASSTHRU_FILE_RENAME, d, (uint32_t)(12 + n), status, ep);
    (void)file_close_fid_at(t, fid, ep);
out_free:
    free(d);
    return r;
}

/* For a server without the pass-through levels: not atomic (the target
 * is missing for a moment), but the only way left. */
static int replace_by_delete(struct smb1_tree *t, const char *from, const char *to)
{
    uint32_t status = 0;
    int r = smb1_unlink(t, to);
    if (r && r != -ENOENT)
        return r;
    r = plain_rename(t, from, to, &status);
    return r && status ? info_path_errno(t, from, status) : r;
}

/* Moves from next to the target under a temporary name, then replaces
 * within that directory. The target never disappears. */
static int replace_via_temp(struct smb1_tree *t, const char *from, const char *to)
{
    uint32_t status = 0;
    int r;
    char *dir = parent_of(to);
    if (!dir)
        return -ENOMEM;
    char tmp[PATH_NAME_MAX + 1];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    size_t dl = strlen(dir);
    char *tpath = malloc(dl + sizeof(tmp) + 2);
    if (!tpath) {
        free(dir);
        return -ENOMEM;
    }
    for (int i = 0; i < 4; i++) {
        snprintf(tmp, sizeof(tmp), NS_TMP_PREFIX "%lx%lx%x", (unsigned long)now.tv_sec,
                 (unsigned long)now.tv_nsec, i);
        snprintf(tpath, dl + sizeof(tmp) + 2, "%s%s%s", dir, dl ? "/" : "", tmp);
        r = plain_rename(t, from, tpath, &status);
        if (r != -EEXIST)
            break;
    }
    if (r) {
        r = status ? info_path_errno(t, from, status) : r;
        goto out_free;
    }
    r = replace_same_dir(t, tpath, to, &status);
    if (r == -EOPNOTSUPP)
        r = replace_by_delete(t, tpath, to);
    else if (r && status)
        r = info_path_errno(t, tpath, status);
    if (r) {
        /* Put it back where it was. */
        uint32_t s2;
        (void)plain_rename(t, tpath, from, &s2);
    }
out_free:
    free(tpath);
    free(dir);
    return r;
}

static int replace_rename(struct smb1_tree *t, const char *from, const char *to)
{
    uint32_t status = 0;
    int r;
    struct smb1_stat ts, fs;
    if ((r = smb1_stat(t, from, &fs)))
        return r;
    bool target_dir = smb1_stat(t, to, &ts) == 0 && ts.is_dir;
    if (fs.is_dir && !target_dir)
        return -ENOTDIR;
    if (target_dir) {
        /* POSIX replaces an empty directory; Windows semantics never
         * replace a directory. Remove it (ENOTEMPTY when it is not). */
        if (!fs.is_dir)
            return -EISDIR;
        if ((r = smb1_rmdir(t, to)))
            return r;
        r = plain_rename(t, from, to, &status);
        return r && status ? info_path_errno(t, from, status) : r;
    }
    if (!same_parent(from, to))
        return replace_via_temp(t, from, to);
    r = replace_same_dir(t, from, to, &status);
    if (r == -EOPNOTSUPP)
        return replace_by_delete(t, from, to);
    /* Samba 4.17 answers NO_SUCH_FILE to FileRenameInformation on a handle
     * whose name starts with a dot (".tmp.1" -> "cfg", the atomic save of
     * editors and config writers) although the handle is open: the same
     * rename from an ordinary name works, so go through one. The handle
     * is open, so the source exists whatever its name. */
    if (r && status == NT_STATUS_NO_SUCH_FILE)
        return replace_via_temp(t, from, to);
    return r && status ? info_path_errno(t, from, status) : r;
}

int smb1_rename(struct smb1_tree *t, const char *from, const char *to, unsigned flags)
{
    CONN_OP(t ? t->conn : NULL);
    uint32_t status = 0;
    if (strcmp(from, to) == 0)
        return 0;
    int rs = ops_settle(t, from, OPS_SETTLE_WRITES | OPS_SETTLE_BELOW);
    if (rs)
        return rs;
    rs = ops_settle(t, to, OPS_SETTLE_WRITES | OPS_SETTLE_BELOW);
    if (rs)
        return rs;
    int r = plain_rename(t, from, to, &status);
    if (r == -EEXIST && !(flags & RENAME_NOREPLACE))
        r = replace_rename(t, from, to);
    else if (r && status)
        r = info_path_errno(t, from, status);
    if (r == 0)
        file_renamed(t, from, to);
    return r;
}

int smb1_mknod(struct smb1_tree *t, const char *path, mode_t mode, dev_t rdev)
{
    CONN_OP(t ? t->conn : NULL);
    enum unix_type type;
    switch (mode & S_IFMT) {
    case S_IFIFO:
        type = UNIX_TYPE_FIFO;
        break;
    case S_IFSOCK:
        type = UNIX_TYPE_SOCKET;
        break;
    case S_IFCHR:
        type = UNIX_TYPE_CHARDEV;
        break;
    case S_IFBLK:
        type = UNIX_TYPE_BLKDEV;
        break;
    case 0:
    case S_IFREG: {
        struct smb1_file *f;
        int r = smb1_open(t, path, O_WRONLY | O_CREAT | O_EXCL, mode & 07777, &f, NULL);
        return r ? r : smb1_close(f);
    }
    default:
        return -EINVAL;
    }
    struct conn_params p;
    conn_get_params(t->conn, &p);
    if (!p.unix_caps)
        return -EPERM; /* SMB has no such files without UNIX extensions */
    /* SET_FILE_UNIX_BASIC on an existing file would change it instead. */
    struct smb1_stat st;
    int r = smb1_stat(t, path, &st);
    if (r == 0)
        return -EEXIST;
    if (r != -ENOENT)
        return r;
    uint8_t rec[UNIX_BASIC_LEN];
    unix_basic_encode_mknod(rec, type, major(rdev), minor(rdev), mode & 07777);
    return unix_set_basic_path(t, path, rec);
}

int smb1_link(struct smb1_tree *t, const char *from, const char *to)
{
    CONN_OP(t ? t->conn : NULL);
    int rs = ops_settle(t, from, OPS_SETTLE_WRITES);
    if (rs)
        return rs;
    struct conn_params p;
    conn_get_params(t->conn, &p);
    if (p.unix_caps)
        return unix_hardlink(t, from, to);
    uint16_t w[4] = {SEARCH_ALL, SMB_NT_RENAME_SET_LINK_INFO, 0, 0};
    uint32_t status;
    int r = path_cmd(t, SMB1_COM_NT_RENAME, w, 4, from, to, &status);
    if (r && status)
        r = info_path_errno(t, from, status);
    return r;
}

int smb1_symlink(struct smb1_tree *t, const char *target, const char *path)
{
    CONN_OP(t ? t->conn : NULL);
    if (mfsym_active(t))
        return mfsym_create(t, target, path);
    return unix_symlink(t, target, path);
}

ssize_t smb1_readlink(struct smb1_tree *t, const char *path, char *buf, size_t size)
{
    CONN_OP(t ? t->conn : NULL);
    if (mfsym_active(t))
        return mfsym_readlink(t, path, buf, size);
    return unix_readlink(t, path, buf, size);
}
