#include "ops/trans.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/ntstatus.h"
#include "wire/smb1_proto.h"

bool trans_status_is_error(uint32_t status)
{
    return NT_STATUS_IS_DOS(status) || (status & 0xC0000000u) == 0xC0000000u;
}

static uint16_t clip16(uint32_t v)
{
    return v > 0xFFFF ? 0xFFFF : (uint16_t)v;
}

static uint8_t secondary_cmd(uint8_t cmd)
{
    switch (cmd) {
    case SMB1_COM_TRANSACTION:
        return SMB1_COM_TRANSACTION_SECONDARY;
    case SMB1_COM_TRANSACTION2:
        return SMB1_COM_TRANSACTION2_SECONDARY;
    default:
        return SMB1_COM_NT_TRANSACT_SECONDARY;
    }
}

/* Where the next message's share of the blocks starts. */
struct trans_cursor {
    uint32_t param_sent, data_sent;
};

/* Builds one message of rq: the primary when cur is at the start, else a
 * secondary. It carries parameter bytes first, then data bytes once every
 * parameter byte has gone, as many as fit in max_buffer (0: no limit). */
static int build_one(const struct trans_req *rq, bool unicode, uint32_t max_buffer,
                     struct trans_cursor *cur, struct msg_out *m)
{
    bool nt = rq->cmd == SMB1_COM_NT_TRANSACT;
    bool secondary = cur->param_sent || cur->data_sent;
    uint32_t prem = rq->param_len - cur->param_sent;
    uint32_t drem = rq->data_len - cur->data_sent;
    size_t name_len = 0;
    if (!secondary && rq->cmd == SMB1_COM_TRANSACTION && rq->name)
        name_len = (strlen(rq->name) + 1) * 2;
    size_t body = (size_t)prem + drem;
    if (max_buffer && body > max_buffer)
        body = max_buffer;
    if (body > 0xFFFF)
        body = 0xFFFF; /* a message's ByteCount */
    size_t cap =
        SMB1_HDR_LEN + 1 + 2 * (19 + (size_t)TRANS_MAX_SETUP) + 2 + name_len + 8 + body + 8;
    int r = msg_out_init(m, secondary ? secondary_cmd(rq->cmd) : rq->cmd, cap);
    if (r)
        return r;
    struct wire_writer *w = &m->w;
    size_t at_pcount, at_dcount;
    msg_words_begin(m);
    if (nt) {
        if (secondary) {
            wire_put_zeros(w, 3); /* Reserved1 */
        } else {
            wire_put_u8(w, rq->setup_count); /* MaxSetupCount */
            wire_put_u16(w, 0);              /* Reserved1 */
        }
        wire_put_u32(w, rq->param_len);
        wire_put_u32(w, rq->data_len);
        if (!secondary) {
            wire_put_u32(w, rq->max_param);
            wire_put_u32(w, rq->max_data);
        }
        at_pcount = w->pos;
        wire_put_u32(w, 0); /* ParameterCount */
        wire_put_u32(w, 0); /* ParameterOffset */
        if (secondary)
            wire_put_u32(w, cur->param_sent); /* ParameterDisplacement */
        at_dcount = w->pos;
        wire_put_u32(w, 0); /* DataCount */
        wire_put_u32(w, 0); /* DataOffset */
        if (secondary) {
            wire_put_u32(w, cur->data_sent); /* DataDisplacement */
            wire_put_u8(w, 0);               /* Reserved2 */
        } else {
            wire_put_u8(w, rq->setup_count);
            wire_put_u16(w, rq->function);
        }
    } else {
        wire_put_u16(w, (uint16_t)rq->param_len);
        wire_put_u16(w, (uint16_t)rq->data_len);
        if (!secondary) {
            wire_put_u16(w, clip16(rq->max_param));
            wire_put_u16(w, clip16(rq->max_data));
            wire_put_u8(w, rq->setup_count); /* MaxSetupCount */
            wire_put_u8(w, 0);
            wire_put_u16(w, 0); /* Flags */
            wire_put_u32(w, 0); /* Timeout */
            wire_put_u16(w, 0);
        }
        at_pcount = w->pos;
        wire_put_u16(w, 0); /* ParameterCount */
        wire_put_u16(w, 0); /* ParameterOffset */
        if (secondary)
            wire_put_u16(w, (uint16_t)cur->param_sent);
        at_dcount = w->pos;
        wire_put_u16(w, 0); /* DataCount */
        wire_put_u16(w, 0); /* DataOffset */
        if (secondary) {
            wire_put_u16(w, (uint16_t)cur->data_sent);
            /* FID: "present but not used" (MS-CIFS 2.2.4.47.1). */
            if (rq->cmd == SMB1_COM_TRANSACTION2)
                wire_put_u16(w, 0xFFFF);
        } else {
            wire_put_u8(w, rq->setup_count);
            wire_put_u8(w, 0);
        }
    }
    if (!secondary)
        for (uint8_t i = 0; i < rq->setup_count; i++)
            wire_put_u16(w, rq->setup[i]);
    msg_words_end(m);

    msg_bytes_begin(m);
    /* The end no message may pass: MaxBufferSize, and the 16-bit ByteCount
     * even when the server's buffer is larger. */
    size_t lim = msg_offset(m) + 0xFFFF;
    if (max_buffer && max_buffer < lim)
        lim = max_buffer;
    if (!secondary && rq->cmd == SMB1_COM_TRANSACTION) {
        const char *name = rq->name ? rq->name : "";
        if (unicode) {
            msg_align(m, 2);
            r = msg_put_utf16z(m, name);
            if (r)
                goto out_free;
        } else {
            wire_put_bytes(w, name, strlen(name) + 1);
        }
    } else if (!secondary && rq->cmd == SMB1_COM_TRANSACTION2) {
        /* The Name field of TRANSACTION2 is an empty string. */
        if (unicode) {
            msg_align(m, 2);
            wire_put_u16(w, 0);
        } else {
            wire_put_u8(w, 0);
        }
    }
    msg_align(m, 4);
    size_t poff = msg_offset(m);
    uint32_t pc = poff >= lim ? 0 : (uint32_t)(lim - poff < prem ? lim - poff : prem);
    if (pc)
        wire_put_bytes(w, (const uint8_t *)rq->param + cur->param_sent, pc);
    size_t doff = (poff + pc + 3) & ~(size_t)3;
    uint32_t dc = 0;
    if (pc == prem && doff < lim)
        dc = lim - doff >= drem ? drem : (uint32_t)(lim - doff);
    /* The pad before the data block, unless it alone would overflow. */
    if (dc || doff <= lim)
        msg_align(m, 4);
    if (dc)
        wire_put_bytes(w, (const uint8_t *)rq->data + cur->data_sent, dc);
    msg_bytes_end(m);
    if (nt) {
        wire_patch_u32(w, at_pcount, pc);
        wire_patch_u32(w, at_pcount + 4, (uint32_t)poff);
        wire_patch_u32(w, at_dcount, dc);
        wire_patch_u32(w, at_dcount + 4, dc ? (uint32_t)doff : 0);
    } else {
        wire_patch_u16(w, at_pcount, (uint16_t)pc);
        wire_patch_u16(w, at_pcount + 2, (uint16_t)poff);
        wire_patch_u16(w, at_dcount, (uint16_t)dc);
        wire_patch_u16(w, at_dcount + 2, dc ? (uint16_t)doff : 0);
    }
    r = msg_out_error(m);
    if (r)
        goto out_free;
    /* Every message must fit, and every secondary must carry something:
     * a MaxBufferSize too small for that cannot carry the request. */
    if (msg_smb_len(m) > lim || (pc == 0 && dc == 0 && (prem || drem))) {
        r = -EMSGSIZE;
        goto out_free;
    }
    cur->param_sent += pc;
    cur->data_sent += dc;
    return 0;

out_free:
    msg_out_free(m);
    return r;
}

static int check_req(const struct trans_req *rq)
{
    bool nt = rq->cmd == SMB1_COM_NT_TRANSACT;
    if (rq->cmd != SMB1_COM_TRANSACTION && rq->cmd != SMB1_COM_TRANSACTION2 && !nt)
        return -EINVAL;
    if (rq->setup_count > TRANS_MAX_SETUP)
        return -EINVAL;
    if ((rq->param_len && !rq->param) || (rq->data_len && !rq->data))
        return -EINVAL;
    uint32_t lim = nt ? TRANS_NT_MAX_TOTAL : 0xFFFF;
    if (rq->param_len > lim || rq->data_len > lim || rq->param_len + rq->data_len > 2 * lim)
        return -EMSGSIZE;
    return 0;
}

void trans_msgs_free(struct trans_msgs *tm)
{
    for (size_t i = 0; i < tm->n; i++)
        msg_out_free(&tm->m[i]);
    free(tm->m);
    tm->m = NULL;
    tm->n = 0;
}

int trans_build_msgs(const struct trans_req *rq, bool unicode, uint32_t max_buffer,
                     struct trans_msgs *out)
{
    memset(out, 0, sizeof(*out));
    int r = check_req(rq);
    if (r)
        return r;
    size_t cap = 0;
    struct trans_cursor cur = {0, 0};
    do {
        if (out->n == TRANS_MAX_PARTS) {
            r = -EMSGSIZE;
            break;
        }
        if (out->n == cap) {
            size_t nc = cap ? cap * 2 : 4;
            struct msg_out *nm = realloc(out->m, nc * sizeof(*nm));
            if (!nm) {
                r = -ENOMEM;
                break;
            }
            out->m = nm;
            cap = nc;
        }
        r = build_one(rq, unicode, max_buffer, &cur, &out->m[out->n]);
        if (r)
            break;
        out->n++;
    } while (cur.param_sent < rq->param_len || cur.data_sent < rq->data_len);
    if (r) {
        trans_msgs_free(out);
        return r;
    }
    out->m[0].want_epoch = rq->epoch;
    return 0;
}

int trans_build(const struct trans_req *rq, bool unicode, uint32_t max_buffer, struct msg_out *m)
{
    int r = check_req(rq);
    if (r)
        return r;
    struct trans_cursor cur = {0, 0};
    r = build_one(rq, unicode, max_buffer, &cur, m);
    if (r)
        return r;
    if (cur.param_sent < rq->param_len || cur.data_sent < rq->data_len) {
        msg_out_free(m);
        return -EMSGSIZE;
    }
    m->want_epoch = rq->epoch;
    return 0;
}

int trans_frag_decode(uint8_t cmd, struct wire_reader *r, uint8_t wct, struct trans_frag *fr)
{
    memset(fr, 0, sizeof(*fr));
    if (cmd == SMB1_COM_NT_TRANSACT) {
        if (wct < 18)
            return -EIO;
        wire_skip(r, 3);
        fr->total_param = wire_u32(r);
        fr->total_data = wire_u32(r);
        fr->param_count = wire_u32(r);
        fr->param_off = wire_u32(r);
        fr->param_disp = wire_u32(r);
        fr->data_count = wire_u32(r);
        fr->data_off = wire_u32(r);
        fr->data_disp = wire_u32(r);
        fr->setup_count = wire_u8(r);
        if (fr->setup_count > wct - 18)
            return -EIO;
    } else {
        if (wct < 10)
            return -EIO;
        fr->total_param = wire_u16(r);
        fr->total_data = wire_u16(r);
        wire_skip(r, 2);
        fr->param_count = wire_u16(r);
        fr->param_off = wire_u16(r);
        fr->param_disp = wire_u16(r);
        fr->data_count = wire_u16(r);
        fr->data_off = wire_u16(r);
        fr->data_disp = wire_u16(r);
        fr->setup_count = wire_u8(r);
        wire_skip(r, 1);
        if (fr->setup_count > wct - 10)
            return -EIO;
    }
    if (fr->setup_count > TRANS_MAX_SETUP)
        return -EIO;
    for (uint8_t i = 0; i < fr->setup_count; i++)
        fr->setup[i] = wire_u16(r);
    return wire_ok(r) ? 0 : -EIO;
}

void trans_reasm_init(struct trans_reasm *ra, uint32_t max_param, uint32_t max_data)
{
    memset(ra, 0, sizeof(*ra));
    ra->max_param = max_param;
    ra->max_data = max_data;
}

void trans_reasm_free(struct trans_reasm *ra)
{
    free(ra->param);
    free(ra->data);
    free(ra->pr);
    free(ra->dr);
    memset(ra, 0, sizeof(*ra));
}

void trans_reasm_take(struct trans_reasm *ra, struct trans_resp *rs)
{
    rs->param = ra->param;
    rs->param_len = ra->param ? ra->total_param : 0;
    rs->data = ra->data;
    rs->data_len = ra->data ? ra->total_data : 0;
    rs->setup_count = ra->setup_count;
    memcpy(rs->setup, ra->setup, sizeof(rs->setup));
    ra->param = ra->data = NULL;
}

static bool ranges_within(const struct trans_range *rg, size_t n, uint32_t total)
{
    for (size_t i = 0; i < n; i++)
        if (rg[i].end > total)
            return false;
    return true;
}

/* Copies one block fragment into place after checking it against the
 * frame, the total and what has already arrived. */
static int place(uint8_t *dst, uint32_t total, uint32_t *got, struct trans_range **rg, size_t *n,
                 size_t *cap, uint32_t count, uint32_t off, uint32_t disp, const uint8_t *smb,
                 size_t smb_len)
{
    if (count == 0)
        return 0;
    if (off < SMB1_HDR_LEN || off > smb_len || count > smb_len - off)
        return -EIO;
    if (disp > total || count > total - disp)
        return -EIO;
    uint32_t end = disp + count;
    for (size_t i = 0; i < *n; i++)
        if (disp < (*rg)[i].end && (*rg)[i].start < end)
            return -EIO;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        struct trans_range *nr = realloc(*rg, nc * sizeof(*nr));
        if (!nr)
            return -ENOMEM;
        *rg = nr;
        *cap = nc;
    }
    (*rg)[(*n)++] = (struct trans_range){disp, end};
    memcpy(dst + disp, smb + off, count);
    *got += count;
    return 0;
}

int trans_reasm_add(struct trans_reasm *ra, const struct trans_frag *fr, const uint8_t *smb,
                    size_t smb_len)
{
    if (ra->frames >= TRANS_MAX_FRAGS)
        return -EIO;
    ra->frames++;
    if (!ra->started) {
        if (fr->total_param > ra->max_param || fr->total_data > ra->max_data)
            return -EIO;
        ra->total_param = fr->total_param;
        ra->total_data = fr->total_data;
        if (ra->total_param && !(ra->param = malloc(ra->total_param)))
            return -ENOMEM;
        if (ra->total_data && !(ra->data = malloc(ra->total_data)))
            return -ENOMEM;
        ra->setup_count = fr->setup_count;
        memcpy(ra->setup, fr->setup, sizeof(ra->setup));
        ra->started = true;
    } else {
        /* Totals may shrink (the server learns it has less to send), but
         * never grow past the buffers sized from the first fragment nor
         * below what has already arrived. */
        if (fr->total_param > ra->total_param || fr->total_data > ra->total_data)
            return -EIO;
        if (!ranges_within(ra->pr, ra->npr, fr->total_param) ||
            !ranges_within(ra->dr, ra->ndr, fr->total_data))
            return -EIO;
        ra->total_param = fr->total_param;
        ra->total_data = fr->total_data;
    }
    int r = place(ra->param, ra->total_param, &ra->got_param, &ra->pr, &ra->npr, &ra->capr,
                  fr->param_count, fr->param_off, fr->param_disp, smb, smb_len);
    if (r)
        return r;
    r = place(ra->data, ra->total_data, &ra->got_data, &ra->dr, &ra->ndr, &ra->capd, fr->data_count,
              fr->data_off, fr->data_disp, smb, smb_len);
    if (r)
        return r;
    return ra->got_param == ra->total_param && ra->got_data == ra->total_data ? 0 : 1;
}

struct trans_call_ctx {
    uint8_t cmd;
    uint64_t epoch; /* of the frames so far (0: none yet) */
    uint32_t max_param, max_data;
    struct trans_reasm ra;
    bool error_only; /* the reply was an error without blocks */
};

static int on_frame(void *arg, const struct msg_in *in)
{
    struct trans_call_ctx *cx = arg;
    if (cx->epoch && in->epoch != cx->epoch) {
        /* The connection was lost in the middle of the reply, and
         * conn_call sent the (idempotent) request again on the new one:
         * its reply comes whole again, so the pieces of the first go (a
         * large FIND_FIRST2 cut off after two fragments added to the new
         * reply's made it -EIO). */
        trans_reasm_free(&cx->ra);
        trans_reasm_init(&cx->ra, cx->max_param, cx->max_data);
        cx->error_only = false;
    }
    cx->epoch = in->epoch;
    if (in->wct == 0) {
        /* An error reply carries no blocks. A success without words would
         * be an interim response, which only multi-part requests get. */
        if (trans_status_is_error(in->status)) {
            cx->error_only = true;
            return 0;
        }
        return -EIO;
    }
    /* The final response to a request that ended with a secondary carries
     * the primary's command (MS-CIFS 2.2.4.47.2); a server that answers
     * with the secondary's is read alike, the words are the same. */
    if (in->cmd != cx->cmd && in->cmd != secondary_cmd(cx->cmd))
        return -EIO;
    struct wire_reader w;
    struct trans_frag fr;
    msg_in_words(in, &w);
    if (trans_frag_decode(cx->cmd, &w, in->wct, &fr))
        return -EIO;
    return trans_reasm_add(&cx->ra, &fr, in->frame, in->len);
}

int trans_call(struct smb1_tree *t, const struct trans_req *rq, struct trans_resp *rs,
               unsigned flags)
{
    struct conn_params p;
    struct trans_msgs tm;
    memset(rs, 0, sizeof(*rs));
    conn_get_params(t->conn, &p);
    int r = trans_build_msgs(rq, p.unicode, p.max_buffer, &tm);
    if (r)
        return r;
    struct trans_call_ctx cx;
    cx.cmd = rq->cmd;
    cx.epoch = 0;
    cx.error_only = false;
    cx.max_param = rq->max_param;
    cx.max_data = rq->max_data;
    trans_reasm_init(&cx.ra, rq->max_param, rq->max_data);
    uint32_t status = 0;
    r = conn_call_parts(t->conn, t, tm.m, tm.n, on_frame, &cx, &status, flags);
    trans_msgs_free(&tm);
    if (r == 0) {
        rs->status = status;
        rs->epoch = cx.epoch;
        if (!cx.error_only)
            trans_reasm_take(&cx.ra, rs);
    }
    trans_reasm_free(&cx.ra);
    return r;
}

int trans2_call(struct smb1_tree *t, uint16_t subcmd, const void *param, uint32_t param_len,
                const void *data, uint32_t data_len, uint32_t max_param, uint32_t max_data,
                struct trans_resp *rs, unsigned flags)
{
    return trans2_call_at(t, subcmd, param, param_len, data, data_len, max_param, max_data, rs,
                          flags, 0);
}

int trans2_call_at(struct smb1_tree *t, uint16_t subcmd, const void *param, uint32_t param_len,
                   const void *data, uint32_t data_len, uint32_t max_param, uint32_t max_data,
                   struct trans_resp *rs, unsigned flags, uint64_t epoch)
{
    struct trans_req rq = {
        .cmd = SMB1_COM_TRANSACTION2,
        .setup = &subcmd,
        .setup_count = 1,
        .param = param,
        .param_len = param_len,
        .data = data,
        .data_len = data_len,
        .max_param = max_param,
        .max_data = max_data,
        .epoch = epoch,
    };
    return trans_call(t, &rq, rs, flags);
}

void trans_resp_free(struct trans_resp *rs)
{
    free(rs->param);
    free(rs->data);
    rs->param = rs->data = NULL;
    rs->param_len = rs->data_len = 0;
}
