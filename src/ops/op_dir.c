#include "ops/op_dir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/nttime.h"
#include "wire/ntstatus.h"
#include "ops/tree_state.h"
#include "ops/op_file.h"
#include "ops/op_info.h"
#include "ops/mfsymlink.h"
#include "ops/path.h"
#include "wire/smb1_proto.h"
#include "ops/trans.h"
#include "ops/unix.h"

#define FIND_FULL_FIXED 68
#define FIND_BOTH_FIXED 94
#define FIND_UNIX_FIXED 108

static size_t fixed_len(uint16_t level)
{
    switch (level) {
    case SMB_FIND_FILE_FULL_DIRECTORY_INFO:
        return FIND_FULL_FIXED;
    case SMB_FIND_FILE_BOTH_DIRECTORY_INFO:
        return FIND_BOTH_FIXED;
    case SMB_FIND_FILE_UNIX:
        return FIND_UNIX_FIXED;
    default:
        return 0;
    }
}

/* Decodes the entry in e (a reader over exactly its bytes). */
static int decode_entry(uint16_t level, bool unicode, struct wire_reader *e, struct dir_entry *de)
{
    memset(de, 0, sizeof(*de));
    wire_skip(e, 8); /* NextEntryOffset, FileIndex/ResumeKey */
    if (level == SMB_FIND_FILE_UNIX) {
        if (unix_basic_decode(e, &de->st))
            return -EIO;
        /* The name runs to its terminator within the entry. */
        size_t rest = wire_remaining(e);
        const uint8_t *p = wire_bytes(e, rest);
        size_t n = 0;
        if (unicode) {
            while (n + 1 < rest && (p[n] || p[n + 1]))
                n += 2;
        } else {
            while (n < rest && p[n])
                n++;
        }
        de->name = p;
        de->name_len = n;
        return 0;
    }
    uint8_t basic[INFO_BASIC_LEN];
    wire_copy(e, basic, 32);
    uint64_t eof = wire_u64(e), alloc = wire_u64(e);
    uint32_t attrs = wire_u32(e);
    uint32_t nlen = wire_u32(e);
    wire_skip(e, 4); /* EaSize */
    if (level == SMB_FIND_FILE_BOTH_DIRECTORY_INFO)
        wire_skip(e, 26); /* ShortNameLength, Reserved, ShortName */
    de->name = wire_bytes(e, nlen);
    de->name_len = nlen;
    if (!wire_ok(e))
        return -EIO;
    wire_st32(basic + 32, attrs);
    wire_st32(basic + 36, 0);
    if (info_decode_basic(basic, sizeof(basic), &de->st))
        return -EIO;
    de->st.size = eof;
    de->st.alloc = alloc;
    info_synth_mode(&de->st);
    /* Trim a terminator the server counted in. */
    if (unicode && de->name_len >= 2 && !de->name[de->name_len - 1] && !de->name[de->name_len - 2])
        de->name_len -= 2;
    else if (!unicode && de->name_len && !de->name[de->name_len - 1])
        de->name_len--;
    return 0;
}

int dir_parse(uint16_t level, bool unicode, const uint8_t *data, size_t len, unsigned max_count,
              dir_entry_fn fn, void *arg)
{
    size_t fixed = fixed_len(level);
    if (!fixed)
        return -EINVAL;
    struct wire_reader all;
    wire_reader_init(&all, data, len);
    size_t off = 0;
    int count = 0;
    while ((unsigned)count < max_count && off < len) {
        if (len - off < fixed)
            return -EIO;
        uint32_t neo = wire_le32(data + off);
        size_t elen;
        if (neo == 0) {
            elen = len - off;
        } else {
            /* Forward by at least one fixed part, inside the block: the
             * walk cannot loop or go back. */
            if (neo < fixed || neo > len - off)
                return -EIO;
            elen = neo;
        }
        struct wire_reader e;
        wire_sub(&all, off, elen, &e);
        struct dir_entry de;
        if (!wire_ok(&e) || decode_entry(level, unicode, &e, &de))
            return -EIO;
        count++;
        int r = fn(arg, &de);
        if (r)
            return r;
        if (neo == 0)
            break;
        off += neo;
    }
    return count;
}

/* Names already delivered, so that a listing started again after a lost
 * connection does not repeat them. Open addressing over strdup'd names. */
struct seen_set {
    char **slots;
    size_t cap, count;
};

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* 1 when name was there, 0 when added, -ENOMEM. */
static int seen_add(struct seen_set *ss, const char *name)
{
    if (ss->count * 2 >= ss->cap) {
        size_t ncap = ss->cap ? ss->cap * 2 : 256;
        char **ns = calloc(ncap, sizeof(*ns));
        if (!ns)
            return -ENOMEM;
        for (size_t i = 0; i < ss->cap; i++) {
            if (!ss->slots[i])
                continue;
            size_t k = name_hash(ss->slots[i]) & (ncap - 1);
            while (ns[k])
                k = (k + 1) & (ncap - 1);
            ns[k] = ss->slots[i];
        }
        free(ss->slots);
        ss->slots = ns;
        ss->cap = ncap;
    }
    size_t k = name_hash(name) & (ss->cap - 1);
    while (ss->slots[k]) {
        if (strcmp(ss->slots[k], name) == 0)
            return 1;
        k = (k + 1) & (ss->cap - 1);
    }
    if (!(ss->slots[k] = strdup(name)))
        return -ENOMEM;
    ss->count++;
    return 0;
}

static void seen_free(struct seen_set *ss)
{
    for (size_t i = 0; i < ss->cap; i++)
        free(ss->slots[i]);
    free(ss->slots);
    memset(ss, 0, sizeof(*ss));
}

struct readdir_ctx {
    struct seen_set seen;
    struct path_ctx pc;
    smb1_dir_cb cb;
    void *cb_ctx;
    int cb_ret;    /* non-zero: the caller asked to stop */
    uint8_t *last; /* wire name of the last entry, terminated */
    size_t last_len;
    struct smb1_log *log;
    unsigned fresh;   /* names of the current page not seen before */
    uint64_t entries; /* entries walked in this listing, all passes */
    uint64_t rounds;  /* FIND_FIRST2/FIND_NEXT2 round trips, all passes */
};

static bool is_dot(const struct dir_entry *e, bool unicode)
{
    const uint8_t *p = e->name;
    size_t n = e->name_len;
    if (unicode) {
        if (n == 2)
            return p[0] == '.' && !p[1];
        return n == 4 && p[0] == '.' && !p[1] && p[2] == '.' && !p[3];
    }
    return (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.');
}

static int on_entry(void *arg, const struct dir_entry *e)
{
    struct readdir_ctx *rc = arg;
    size_t nul = path_nul_len(&rc->pc);
    uint8_t *l = realloc(rc->last, e->name_len + nul);
    if (!l)
        return -ENOMEM;
    memcpy(l, e->name, e->name_len);
    memset(l + e->name_len, 0, nul);
    rc->last = l;
    rc->last_len = e->name_len + nul;
    if (++rc->entries > FIND_MAX_ENTRIES)
        return -EFBIG;
    if (is_dot(e, rc->pc.unicode))
        return 0;
    int err = 0;
    char *name = path_name_from_wire(&rc->pc, e->name, e->name_len, &err);
    /* Our own unlinked-while-open files are not there for POSIX (but they
     * are progress of the listing). */
    if (name && strncmp(name, SMB1_DELETED_PREFIX, strlen(SMB1_DELETED_PREFIX)) == 0) {
        int dup = seen_add(&rc->seen, name);
        free(name);
        if (dup == 0)
            rc->fresh++;
        return dup < 0 ? dup : 0;
    }
    if (!name) {
        if (err == -ENOMEM)
            return err;
        /* One name we cannot show must not hide the rest. */
        log_warn(rc->log, "skipping a directory entry whose name cannot be a file name");
        return 0;
    }
    int dup = seen_add(&rc->seen, name);
    if (dup) {
        free(name);
        return dup < 0 ? dup : 0;
    }
    rc->fresh++;
    int r = rc->cb(rc->cb_ctx, name, &e->st);
    free(name);
    if (r) {
        rc->cb_ret = r;
        return 1;
    }
    return 0;
}

/* A search ID belongs to the connection that answered FIND_FIRST2: it is
 * used on that one only (after a reconnect the same number may name
 * another thread's search). */
static int find_close(struct smb1_tree *t, uint16_t sid, uint64_t epoch)
{
    /* Only ever after the listing failed or stopped: its error must not
     * wait a whole bound more for a server that does not answer this. */
    return file_fid_cmd_brief(t, SMB1_COM_FIND_CLOSE2, sid, epoch);
}

/* The errno of a FIND_FIRST2 failure on dir. */
static int find_errno(struct smb1_tree *t, const char *path, uint32_t status)
{
    if (status == NT_STATUS_OBJECT_PATH_NOT_FOUND || status == NT_STATUS_OBJECT_NAME_NOT_FOUND ||
        status == NT_STATUS_NOT_A_DIRECTORY) {
        struct smb1_stat st;
        int r = smb1_stat(t, path, &st);
        if (r == 0)
            return st.is_dir ? -EIO : -ENOTDIR;
        return r;
    }
    return ntstatus_to_errno(status);
}

/* One FIND_FIRST2 / FIND_NEXT2 sequence. */
static int readdir_pass(struct smb1_tree *t, const char *path, struct readdir_ctx *rc)
{
    struct conn_params p;
    path_ctx_get(t, &rc->pc, &p);
    uint16_t level = p.unix_caps ? SMB_FIND_FILE_UNIX : SMB_FIND_FILE_FULL_DIRECTORY_INFO;
    uint8_t *pp;
    size_t n;
    int r = path_to_wire_alloc(&rc->pc, path, "*", 12, &pp, &n);
    if (r)
        goto out_free;
    struct trans_resp rs;
    for (int tries = 0;; tries++) {
        wire_st16(pp, SMB1_ATTR_HIDDEN | SMB1_ATTR_SYSTEM | SMB1_ATTR_DIRECTORY);
        wire_st16(pp + 2, FIND_SEARCH_COUNT);
        wire_st16(pp + 4, FIND_FLAG_CLOSE_AT_EOS | FIND_FLAG_RETURN_RESUME_KEYS);
        wire_st16(pp + 6, level);
        wire_st32(pp + 8, 0);
        rc->rounds++;
        r = trans2_call(t, SMB1_TRANS2_FIND_FIRST2, pp, (uint32_t)(12 + n), NULL, 0, 16,
                        FIND_MAX_DATA, &rs, CONN_IDEMPOTENT);
        if (r)
            goto out_free;
        if (tries == 0 && level == SMB_FIND_FILE_FULL_DIRECTORY_INFO &&
            (rs.status == NT_STATUS_INVALID_INFO_CLASS || rs.status == NT_STATUS_NOT_SUPPORTED ||
             rs.status == NT_STATUS_INVALID_PARAMETER)) {
            trans_resp_free(&rs);
            level = SMB_FIND_FILE_BOTH_DIRECTORY_INFO;
            continue;
        }
        break;
    }
    if (rs.status == NT_STATUS_NO_SUCH_FILE || rs.status == NT_STATUS_NO_MORE_FILES) {
        /* Nothing matched: an empty listing. */
        trans_resp_free(&rs);
        r = 0;
        goto out_free;
    }
    if (rs.status != NT_STATUS_OK) {
        uint32_t st = rs.status;
        trans_resp_free(&rs);
        r = find_errno(t, path, st);
        goto out_free;
    }
    struct wire_reader wr;
    wire_reader_init(&wr, rs.param, rs.param_len);
    uint16_t sid = wire_u16(&wr);
    uint16_t count = wire_u16(&wr);
    uint16_t eos = wire_u16(&wr);
    uint64_t sid_epoch = rs.epoch;
    if (!wire_ok(&wr)) {
        trans_resp_free(&rs);
        r = -EIO;
        goto out_free;
    }
    int stalls = 0;
    /* The pages of one search come within one request bound: a server
     * that sends new names for ever, a few at a time, reaches neither cap
     * below for hours. (A pass ends with its connection, so this is time
     * the server spent answering, never a wait for a reconnect.) */
    /* Within the operation's deadline too (conn_wait_end: a little before
     * it), so that a server sending pages for ever is told apart (EIO) from
     * one too slow to answer the last page in time (ETIMEDOUT). */
    int64_t pass_start = mux_now_ms();
    int64_t pass_end = conn_wait_end(t->conn);
    for (;;) {
        rc->fresh = 0;
        r = dir_parse(level, rc->pc.unicode, rs.data, rs.data_len, count, on_entry, rc);
        trans_resp_free(&rs);
        if (r == -EFBIG) {
            log_warn(rc->log, "listing of %s passed %u entries without an end: giving up", path,
                     FIND_MAX_ENTRIES);
            r = -EIO;
        }
        if (r < 0) {
            if (!eos)
                (void)find_close(t, sid, sid_epoch);
            break;
        }
        if (r > 0 && rc->cb_ret) {
            r = rc->cb_ret;
            if (!eos)
                (void)find_close(t, sid, sid_epoch);
            break;
        }
        if (eos) {
            r = 0;
            break;
        }
        /* A server that makes no progress would keep us here forever: an
         * empty page, or one of names already seen (the same page again,
         * or two pages in turn), is a stall. */
        if (rc->fresh == 0 || !rc->last) {
            if (++stalls >= FIND_MAX_STALLS) {
                log_warn(rc->log,
                         "listing of %s makes no progress (the server sends no new names "
                         "and never ends the search)",
                         path);
                (void)find_close(t, sid, sid_epoch);
                r = -EIO;
                break;
            }
        } else {
            stalls = 0;
        }
        if (mux_now_ms() > pass_end) {
            log_warn(rc->log,
                     "listing of %s did not end within %d ms (%llu entries, %llu round trips): "
                     "giving up",
                     path, (int)(mux_now_ms() - pass_start), (unsigned long long)rc->entries,
                     (unsigned long long)rc->rounds);
            (void)find_close(t, sid, sid_epoch);
            r = -EIO;
            break;
        }
        if (rc->rounds >= FIND_MAX_ROUNDS) {
            log_warn(rc->log, "listing of %s took %u round trips without an end: giving up", path,
                     FIND_MAX_ROUNDS);
            (void)find_close(t, sid, sid_epoch);
            r = -EIO;
            break;
        }
        size_t nl = rc->last ? rc->last_len : path_nul_len(&rc->pc);
        uint8_t *np = malloc(12 + nl);
        if (!np) {
            (void)find_close(t, sid, sid_epoch);
            r = -ENOMEM;
            break;
        }
        wire_st16(np, sid);
        wire_st16(np + 2, FIND_SEARCH_COUNT);
        wire_st16(np + 4, level);
        wire_st32(np + 6, 0);
        wire_st16(np + 10, FIND_FLAG_CLOSE_AT_EOS | FIND_FLAG_RETURN_RESUME_KEYS |
                               FIND_FLAG_CONTINUE_FROM_LAST);
        if (rc->last)
            memcpy(np + 12, rc->last, nl);
        else
            memset(np + 12, 0, nl);
        rc->rounds++;
        r = trans2_call_at(t, SMB1_TRANS2_FIND_NEXT2, np, (uint32_t)(12 + nl), NULL, 0, 16,
                           FIND_MAX_DATA, &rs, CONN_FID, sid_epoch);
        free(np);
        if (r) {
            /* A timeout or a bad reply may leave the connection up, and
             * the search with it (on a lost connection this fails fast). */
            if (r != -ECONNRESET)
                (void)find_close(t, sid, sid_epoch);
            break;
        }
        if (rs.status == NT_STATUS_NO_MORE_FILES || rs.status == NT_STATUS_NO_SUCH_FILE) {
            trans_resp_free(&rs);
            r = 0;
            break;
        }
        if (rs.status != NT_STATUS_OK) {
            r = ntstatus_to_errno(rs.status);
            trans_resp_free(&rs);
            (void)find_close(t, sid, sid_epoch);
            break;
        }
        wire_reader_init(&wr, rs.param, rs.param_len);
        count = wire_u16(&wr);
        eos = wire_u16(&wr);
        if (!wire_ok(&wr)) {
            trans_resp_free(&rs);
            (void)find_close(t, sid, sid_epoch);
            r = -EIO;
            break;
        }
    }
out_free:
    free(rc->last);
    rc->last = NULL;
    rc->last_len = 0;
    free(pp);
    return r;
}

/* With mfsymlinks, an entry of a link file's size is read to tell a link
 * from a file (as cifs.ko does). */
struct mfsym_dir {
    struct smb1_tree *t;
    const char *dir;
    smb1_dir_cb cb;
    void *ctx;
};

static int mfsym_dir_cb(void *ctx, const char *name, const struct smb1_stat *st)
{
    struct mfsym_dir *md = ctx;
    if (st->is_dir || st->size != MFSYM_FILE_SIZE)
        return md->cb(md->ctx, name, st);
    size_t dl = strlen(md->dir), nl = strlen(name);
    char *full = malloc(dl + nl + 2);
    if (!full)
        return md->cb(md->ctx, name, st);
    snprintf(full, dl + nl + 2, "%s%s%s", md->dir, dl && md->dir[dl - 1] != '/' ? "/" : "", name);
    struct smb1_stat s = *st;
    mfsym_fix_stat(md->t, full, &s);
    free(full);
    return md->cb(md->ctx, name, &s);
}

static int readdir_plain(struct smb1_tree *t, const char *path, smb1_dir_cb cb, void *ctx);

int smb1_readdir(struct smb1_tree *t, const char *path, smb1_dir_cb cb, void *ctx)
{
    CONN_OP(t ? t->conn : NULL);
    int rs = ops_settle(t, path, OPS_SETTLE_WRITES | OPS_SETTLE_BELOW);
    if (rs)
        return rs;
    if (!mfsym_active(t))
        return readdir_plain(t, path, cb, ctx);
    struct mfsym_dir md = {t, path, cb, ctx};
    return readdir_plain(t, path, mfsym_dir_cb, &md);
}

static int readdir_plain(struct smb1_tree *t, const char *path, smb1_dir_cb cb, void *ctx)
{
    struct readdir_ctx rc;
    memset(&rc, 0, sizeof(rc));
    rc.cb = cb;
    rc.cb_ctx = ctx;
    rc.log = conn_log(t->conn);
    int r;
    for (int pass = 0;; pass++) {
        r = readdir_pass(t, path, &rc);
        /* The search died with the connection (its ID belongs to it):
         * list again from the start, passing over what was delivered. */
        if ((r == -ECONNRESET || r == -EBADF) && !rc.cb_ret && pass < 2) {
            log_info(rc.log, "listing of %s interrupted (%d); starting it again", path, r);
            continue;
        }
        break;
    }
    seen_free(&rc.seen);
    return r;
}
