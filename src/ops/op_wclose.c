/* The last write of a small file and its CLOSE in one request: a
 * WRITE_ANDX whose AndX chain continues with SMB_COM_CLOSE (MS-CIFS
 * 2.2.4.43: READ, READ_ANDX, LOCK_AND_READ, WRITE_ANDX and CLOSE may
 * follow a WRITE_ANDX; 2.2.3.4: the whole chain within the server's
 * MaxBufferSize, one header, signed as one message).
 *
 * Replies (3.3.5.1.3 / Samba's chain processing): a chain stops at the
 * first command that fails and the header carries that status. So an
 * error with the WRITE_ANDX response block in front (WordCount 6,
 * AndXCommand CLOSE) is the CLOSE's: the data is written, the FID is gone;
 * an error without it is the write's: nothing was closed, and the caller
 * closes as usual.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_wclose.h"
#include "ops/op_info.h"
#include "ops/trans.h"
#include "wire/ntstatus.h"
#include "wire/smb1_proto.h"

int wclose_build(struct msg_out *m, uint16_t fid, uint64_t epoch, const struct wclose_req *q)
{
    int r = msg_out_init(m, SMB1_COM_WRITE_ANDX, WCLOSE_OVERHEAD + q->len);
    if (r)
        return r;
    struct wire_writer *w = &m->w;
    msg_words_begin(m);
    wire_put_u8(w, SMB1_COM_CLOSE);
    wire_put_u8(w, 0);
    size_t at_andx = w->pos;
    wire_put_u16(w, 0); /* AndXOffset, patched below */
    wire_put_u16(w, fid);
    wire_put_u32(w, (uint32_t)q->off);
    wire_put_u32(w, 0); /* Timeout */
    wire_put_u16(w, 0); /* WriteMode */
    wire_put_u16(w, 0); /* Remaining */
    wire_put_u16(w, 0); /* DataLengthHigh: at most MaxBufferSize here */
    wire_put_u16(w, (uint16_t)q->len);
    size_t at_doff = w->pos;
    wire_put_u16(w, 0);
    wire_put_u32(w, (uint32_t)(q->off >> 32));
    msg_words_end(m);
    msg_bytes_begin(m);
    msg_align(m, 4);
    wire_patch_u16(w, at_doff, (uint16_t)msg_offset(m));
    wire_put_bytes(w, q->buf, q->len);
    msg_bytes_end(m);
    /* The CLOSE block, on an even offset from the header. */
    msg_align(m, 2);
    wire_patch_u16(w, at_andx, (uint16_t)msg_offset(m));
    wire_put_u8(w, 3); /* WordCount */
    wire_put_u16(w, fid);
    wire_put_u32(w, q->utime);
    wire_put_u16(w, 0); /* ByteCount */
    if ((r = msg_out_error(m))) {
        msg_out_free(m);
        return r;
    }
    m->want_epoch = epoch;
    return 0;
}

ssize_t wclose_parse(const struct msg_in *resp, struct wclose_req *q)
{
    struct wire_reader wr;
    msg_in_words(resp, &wr);
    bool wrote = resp->wct >= 6 && wire_u8(&wr) == SMB1_COM_CLOSE;
    if (!wrote)
        return resp->status != NT_STATUS_OK ? ntstatus_to_errno(resp->status) : -EIO;
    wire_skip(&wr, 3);
    uint32_t cnt = wire_u16(&wr);
    wire_skip(&wr, 2);
    cnt |= (uint32_t)wire_u16(&wr) << 16;
    if (cnt > q->len)
        cnt &= 0xFFFF; /* garbage in CountHigh, as in op_io.c */
    /* More than was sent is a lie, as in op_io.c (fuzz_replies). */
    if (!wire_ok(&wr) || cnt > q->len)
        return -EIO;
    q->close_err = resp->status != NT_STATUS_OK ? ntstatus_to_errno(resp->status) : 0;
    return (ssize_t)cnt;
}

/* The set before the chain as one TRANS2 message, pinned to the chain's
 * epoch (both go on that connection or neither). */
static int set_build(struct smb1_tree *t, uint16_t fid, uint64_t epoch, const struct wclose_set *s,
                     struct msg_out *m)
{
    struct conn_params p;
    conn_get_params(t->conn, &p);
    uint8_t fp[6];
    uint8_t *pp = fp;
    uint32_t plen = sizeof(fp);
    uint16_t sub = SMB1_TRANS2_SET_FILE_INFO;
    if (s->path) {
        int r = info_path_params(t, s->level, s->path, &pp, &plen);
        if (r)
            return r;
        sub = SMB1_TRANS2_SET_PATH_INFO;
    } else {
        wire_st16(fp, fid);
        wire_st16(fp + 2, s->level);
        wire_st16(fp + 4, 0);
    }
    struct trans_req rq = {
        .cmd = SMB1_COM_TRANSACTION2,
        .setup = &sub,
        .setup_count = 1,
        .param = pp,
        .param_len = plen,
        .data = s->rec,
        .data_len = s->len,
        .max_param = 16,
        .epoch = epoch,
    };
    int r = trans_build(&rq, p.unicode, p.max_buffer, m);
    if (pp != fp)
        free(pp);
    return r;
}

/* The set's result from its reply (a TRANS2 reply in one frame: a set
 * answers at most two parameter bytes). */
static int set_result(const struct wclose_set *s, const struct msg_in *resp)
{
    uint32_t st = resp->status;
    /* As info_set_path: Samba answers a path set of a missing file with
     * INVALID_HANDLE. */
    if (s->path && st == NT_STATUS_INVALID_HANDLE)
        st = NT_STATUS_OBJECT_PATH_NOT_FOUND;
    if (st != NT_STATUS_OK)
        return ntstatus_to_errno(st);
    return resp->wct ? 0 : -EIO;
}

static ssize_t wclose_op(struct smb1_tree *t, uint16_t fid, uint64_t epoch, void *arg)
{
    struct wclose_req *q = arg;
    struct msg_out m[2];
    struct msg_in resp[2];
    int res[2];
    size_t n = q->set ? 2 : 1;
    int r = q->set ? set_build(t, fid, epoch, q->set, &m[0]) : 0;
    if (r)
        return r;
    r = wclose_build(&m[n - 1], fid, epoch, q);
    if (r) {
        if (n == 2)
            msg_out_free(&m[0]);
        return r;
    }
    if (n == 1) {
        res[0] = conn_call(t->conn, t, &m[0], &resp[0], CONN_FID);
    } else {
        /* Back to back, one wait: smbd runs a connection's requests in
         * order, and a TRANS2 set synchronously, so the set lands before
         * the write and the CLOSE. As tickets, whose replies this thread
         * reads itself (conn_call_many's second reply went to the reader
         * thread, two wake-ups more a file). */
        struct conn_ticket tk[2];
        int g = conn_start(t->conn, t, m, 2, true, CONN_FID, tk);
        for (int i = 0; i < 2; i++) {
            if (g < 0)
                res[i] = g;
            else if (i < g)
                res[i] = conn_finish(t->conn, &tk[i], &m[i], &resp[i]);
            else
                res[i] = conn_call(t->conn, t, &m[i], &resp[i], CONN_FID); /* no slot */
            if (g < 0 || i < g)
                msg_out_free(&m[i]);
        }
        q->set->sent = res[0] == 0;
        q->set->err = res[0] ? res[0] : set_result(q->set, &resp[0]);
        if (res[0] == 0)
            msg_in_free(&resp[0]);
    }
    if (res[n - 1])
        return res[n - 1]; /* file_call may open again and send both again */
    q->fid = fid;
    q->epoch = epoch;
    ssize_t res_n = wclose_parse(&resp[n - 1], q);
    msg_in_free(&resp[n - 1]);
    return res_n;
}

size_t smb1_write_close_max(struct smb1_file *f)
{
    struct conn_params p;
    conn_get_params(f->t->conn, &p);
    pthread_mutex_lock(&f->lock);
    bool ok = !f->locks && !f->locks_lost && !f->is_dir && !f->no_reopen;
    pthread_mutex_unlock(&f->lock);
    if (!ok || !p.large_files || p.max_buffer <= WCLOSE_OVERHEAD)
        return 0;
    return p.max_buffer - WCLOSE_OVERHEAD;
}

int wclose_send(struct smb1_file *f, const void *buf, size_t len, uint64_t off,
                const struct timespec *mtime, struct wclose_set *set)
{
    if (len == 0 || len > smb1_write_close_max(f))
        return -EINVAL;
    struct wclose_req q = {buf, (uint32_t)len, off, 0, 0, 0, 0, NULL};
    if (mtime && smb1_close_sets_mtime(f))
        q.utime = file_close_utime(f->t, mtime);
    /* A time the CLOSE cannot carry is set on the handle (Samba keeps it
     * through the write: its sticky write time), in the same wait; where
     * the caller's own set goes there, on its own before. */
    uint8_t times[INFO_BASIC_LEN];
    if (mtime && !q.utime) {
        if (set->level) {
            int r = smb1_utimens(f->t, NULL, f, NULL, mtime);
            if (r)
                return r;
        } else {
            info_encode_basic(times, NULL, mtime, 0);
            *set =
                (struct wclose_set){SMB_SET_FILE_BASIC_INFO, times, sizeof(times), NULL, 0, false};
        }
    }
    set->err = 0;
    set->sent = false;
    q.set = set->level ? set : NULL;
    if (!q.utime)
        q.utime = 0xFFFFFFFF; /* leave the time as the write made it */
    ssize_t n = file_call(f, wclose_op, &q);
    if (set->rec == times)
        set->rec = NULL; /* this frame's: the caller sees the level and result only */
    if (n < 0)
        return (int)n;
    /* Whatever the CLOSE said, that FID is gone: the next use of f opens
     * the file again (file_get_fid treats it as one of an old epoch). */
    pthread_mutex_lock(&f->lock);
    if (f->fid == q.fid && f->epoch == q.epoch)
        f->epoch = 0;
    pthread_mutex_unlock(&f->lock);
    if ((size_t)n != len)
        return -EIO;
    return q.close_err;
}

int smb1_write_close(struct smb1_file *f, const void *buf, size_t len, uint64_t off,
                     const struct timespec *mtime)
{
    CONN_OP(f ? f->t->conn : NULL);
    struct wclose_set set = {0};
    int r = wclose_send(f, buf, len, off, mtime, &set);
    return r ? r : set.err;
}
