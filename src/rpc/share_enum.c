#include "rpc/share_enum.h"

#include <errno.h>
#include <string.h>

#include <stdlib.h>

#include "session/conn.h"
#include "wire/ntstatus.h"
#include "ops/op_file.h"
#include "wire/text.h"
#include "wire/smb1_proto.h"
#include "ops/trans.h"

/* OEM bytes to a printable UTF-8 string (ASCII kept, others '?'). */
static void oem_copy(char *dst, size_t cap, const uint8_t *p, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && p[i] && o + 1 < cap; i++)
        dst[o++] = (p[i] >= 0x20 && p[i] < 0x7F) ? (char)p[i] : '?';
    dst[o] = 0;
}

int share_enum_decode(const uint8_t *param, size_t plen, const uint8_t *data, size_t dlen,
                      smb1_share_cb cb, void *ctx)
{
    struct wire_reader pr;
    wire_reader_init(&pr, param, plen);
    uint16_t status = wire_u16(&pr);
    uint16_t converter = wire_u16(&pr);
    uint16_t count = wire_u16(&pr);
    (void)wire_u16(&pr); /* EntriesAvailable */
    if (!wire_ok(&pr))
        return -EIO;
    if (status != 0 && status != RAP_ERROR_MORE_DATA)
        return status == 5 ? -EACCES : -EIO;
    struct wire_reader dr;
    wire_reader_init(&dr, data, dlen);
    for (uint16_t i = 0; i < count; i++) {
        const uint8_t *name = wire_bytes(&dr, 13);
        wire_skip(&dr, 1);
        uint16_t type = wire_u16(&dr);
        uint32_t roff = wire_u32(&dr);
        if (!wire_ok(&dr))
            return -EIO;
        char sname[14], remark[256];
        oem_copy(sname, sizeof(sname), name, 13);
        remark[0] = 0;
        /* The remark pointer is relative to the converter word; an
         * out-of-range one gives an empty remark rather than a failure. */
        uint32_t lo = roff & 0xFFFF;
        if (lo >= converter && lo - converter < dlen) {
            size_t at = lo - converter;
            oem_copy(remark, sizeof(remark), data + at, dlen - at);
        }
        if (!sname[0])
            continue;
        int r = cb(ctx, sname, type & 0x7FFF, remark);
        if (r)
            return r;
    }
    return 0;
}

/* ---- srvsvc over DCE/RPC (C706 12.6; MS-RPCE 2.2.2) ---- */

#define RPC_HDR_LEN                16
#define RPC_PTYPE_REQUEST          0
#define RPC_PTYPE_RESPONSE         2
#define RPC_PTYPE_FAULT            3
#define RPC_PTYPE_BIND             11
#define RPC_PTYPE_BIND_ACK         12
#define RPC_LAST_FRAG              0x02
#define SRVSVC_OPNUM_NETRSHAREENUM 15
#define TRANS_TRANSACT_NMPIPE      0x0026

static void rpc_header(struct wire_writer *w, uint8_t ptype, uint16_t frag_len, uint32_t call_id)
{
    wire_put_u8(w, 5);
    wire_put_u8(w, 0);
    wire_put_u8(w, ptype);
    wire_put_u8(w, 0x03);                     /* first and last fragment */
    wire_put_bytes(w, "\x10\x00\x00\x00", 4); /* little-endian, ASCII, IEEE */
    wire_put_u16(w, frag_len);
    wire_put_u16(w, 0);
    wire_put_u32(w, call_id);
}

/* One NDR string (conformant varying, UTF-16) at r's position, aligned. */
static char *ndr_string(struct wire_reader *r, size_t base, int *err)
{
    wire_skip(r, (4 - ((r->pos - base) & 3)) & 3);
    uint32_t max = wire_u32(r);
    uint32_t off = wire_u32(r);
    uint32_t actual = wire_u32(r);
    if (!wire_ok(r) || off != 0 || actual > max || actual > 0x8000) {
        *err = -EIO;
        return NULL;
    }
    const uint8_t *p = wire_bytes(r, (size_t)actual * 2);
    if (!p) {
        *err = -EIO;
        return NULL;
    }
    return text_utf16_to_utf8(p, (size_t)actual * 2, err);
}

int share_srvsvc_decode(const uint8_t *stub, size_t len, smb1_share_cb cb, void *ctx)
{
    struct wire_reader r;
    wire_reader_init(&r, stub, len);
    uint32_t level = wire_u32(&r);
    uint32_t disc = wire_u32(&r);
    uint32_t cptr = wire_u32(&r);
    if (!wire_ok(&r) || level != 1 || disc != 1 || cptr == 0)
        return -EIO;
    uint32_t count = wire_u32(&r);
    uint32_t aptr = wire_u32(&r);
    if (!wire_ok(&r) || count > SRVSVC_MAX_ENTRIES || (count && !aptr))
        return -EIO;
    struct entry {
        uint32_t name_ptr, type, remark_ptr;
    } *ents = NULL;
    int ret = 0;
    if (aptr) {
        uint32_t max = wire_u32(&r);
        if (!wire_ok(&r) || max < count)
            return -EIO;
        if (count && wire_remaining(&r) / 12 < count)
            return -EIO;
        ents = calloc(count ? count : 1, sizeof(*ents));
        if (!ents)
            return -ENOMEM;
        for (uint32_t i = 0; i < count; i++) {
            ents[i].name_ptr = wire_u32(&r);
            ents[i].type = wire_u32(&r);
            ents[i].remark_ptr = wire_u32(&r);
        }
        for (uint32_t i = 0; i < count && ret == 0; i++) {
            int err = 0;
            char *name = ents[i].name_ptr ? ndr_string(&r, 0, &err) : NULL;
            char *remark = NULL;
            if (!err && ents[i].remark_ptr)
                remark = ndr_string(&r, 0, &err);
            if (err)
                ret = err == -ENOMEM ? -ENOMEM : -EIO;
            else if (cb && name && name[0])
                ret = cb(ctx, name, ents[i].type & 0xFFFF, remark ? remark : "");
            free(name);
            free(remark);
        }
        free(ents);
        if (ret)
            return ret;
    }
    wire_skip(&r, (4 - (r.pos & 3)) & 3);
    (void)wire_u32(&r); /* TotalEntries */
    if (wire_u32(&r))   /* ResumeHandle pointer */
        (void)wire_u32(&r);
    uint32_t werr = wire_u32(&r);
    if (!wire_ok(&r))
        return -EIO;
    if (werr != 0)
        return werr == 5 ? -EACCES : -EIO;
    return 0;
}

int share_rpc_stubs(const uint8_t *buf, size_t len, uint8_t **stub, size_t *stub_len)
{
    size_t off = 0, total = 0;
    uint8_t *out = NULL;
    for (;;) {
        if (len - off < RPC_HDR_LEN)
            break;
        const uint8_t *h = buf + off;
        uint16_t frag_len = wire_le16(h + 8);
        if (h[0] != 5 || frag_len < RPC_HDR_LEN + 8 || h[4] != 0x10) {
            free(out);
            return -EIO;
        }
        if (frag_len > len - off)
            break;
        if (h[2] == RPC_PTYPE_FAULT || h[2] != RPC_PTYPE_RESPONSE) {
            free(out);
            return -EIO;
        }
        size_t n = frag_len - RPC_HDR_LEN - 8;
        if (total + n > SRVSVC_MAX_REPLY) {
            free(out);
            return -EIO;
        }
        uint8_t *no = realloc(out, total + n ? total + n : 1);
        if (!no) {
            free(out);
            return -ENOMEM;
        }
        out = no;
        memcpy(out + total, h + RPC_HDR_LEN + 8, n);
        total += n;
        off += frag_len;
        if (h[3] & RPC_LAST_FRAG) {
            *stub = out;
            *stub_len = total;
            return 1;
        }
    }
    free(out);
    return 0;
}

/* One TRANSACT_NMPIPE exchange: sends pdu, returns the reply bytes
 * (*more set when the pipe holds more: BUFFER_OVERFLOW). */
static int nmpipe_transact(struct smb1_tree *t, uint16_t fid, const uint8_t *pdu, size_t n,
                           struct trans_resp *rs, bool *more)
{
    uint16_t setup[2] = {TRANS_TRANSACT_NMPIPE, fid};
    struct trans_req rq = {
        .cmd = SMB1_COM_TRANSACTION,
        .name = "\\PIPE\\",
        .setup = setup,
        .setup_count = 2,
        .data = pdu,
        .data_len = (uint32_t)n,
        .max_param = 0,
        .max_data = SRVSVC_MAX_FRAG,
    };
    int r = trans_call(t, &rq, rs, CONN_FID);
    if (r)
        return r;
    *more = rs->status == NT_STATUS_BUFFER_OVERFLOW;
    if (rs->status != NT_STATUS_OK && !*more) {
        r = ntstatus_to_errno(rs->status);
        trans_resp_free(rs);
        return r;
    }
    return 0;
}

int share_enum_srvsvc(struct smb1_tree *t, smb1_share_cb cb, void *ctx)
{
    uint16_t fid;
    uint64_t ep;
    uint32_t status = 0;
    int r = file_open_temp(t, "srvsvc", 0x0002019F, true, &fid, &ep, &status);
    if (r)
        return r;
    uint8_t pdu[128];
    struct wire_writer w;
    wire_writer_init(&w, pdu, sizeof(pdu));
    rpc_header(&w, RPC_PTYPE_BIND, 72, 1);
    wire_put_u16(&w, SRVSVC_MAX_FRAG);
    wire_put_u16(&w, SRVSVC_MAX_FRAG);
    wire_put_u32(&w, 0); /* assoc_group_id */
    wire_put_u8(&w, 1);  /* one context */
    wire_put_zeros(&w, 3);
    wire_put_u16(&w, 0); /* p_cont_id */
    wire_put_u8(&w, 1);  /* one transfer syntax */
    wire_put_u8(&w, 0);
    /* srvsvc 4b324fc8-1670-01d3-1278-5a47bf6ee188 v3.0; NDR v2 */
    wire_put_bytes(&w, "\xc8\x4f\x32\x4b\x70\x16\xd3\x01\x12\x78\x5a\x47\xbf\x6e\xe1\x88", 16);
    wire_put_u32(&w, 3);
    wire_put_bytes(&w, "\x04\x5d\x88\x8a\xeb\x1c\xc9\x11\x9f\xe8\x08\x00\x2b\x10\x48\x60", 16);
    wire_put_u32(&w, 2);
    struct trans_resp rs;
    bool more = false;
    r = nmpipe_transact(t, fid, pdu, w.pos, &rs, &more);
    if (r)
        goto out_close;
    bool ok = rs.data_len >= RPC_HDR_LEN + 8 && rs.data[0] == 5 &&
              rs.data[2] == RPC_PTYPE_BIND_ACK && !more;
    trans_resp_free(&rs);
    if (!ok) {
        r = -EPROTONOSUPPORT;
        goto out_close;
    }
    /* NetrShareEnum(NULL server, level 1, empty container, all, resume 0) */
    wire_writer_init(&w, pdu, sizeof(pdu));
    rpc_header(&w, RPC_PTYPE_REQUEST, RPC_HDR_LEN + 8 + 36, 2);
    wire_put_u32(&w, 36); /* alloc_hint */
    wire_put_u16(&w, 0);
    wire_put_u16(&w, SRVSVC_OPNUM_NETRSHAREENUM);
    wire_put_u32(&w, 0);          /* ServerName: NULL */
    wire_put_u32(&w, 1);          /* Level */
    wire_put_u32(&w, 1);          /* union discriminant */
    wire_put_u32(&w, 0x00020000); /* container referent */
    wire_put_u32(&w, 0);          /* EntriesRead */
    wire_put_u32(&w, 0);          /* Buffer: NULL */
    wire_put_u32(&w, 0xFFFFFFFF); /* PreferedMaximumLength */
    wire_put_u32(&w, 0x00020004); /* ResumeHandle referent */
    wire_put_u32(&w, 0);
    r = nmpipe_transact(t, fid, pdu, w.pos, &rs, &more);
    if (r)
        goto out_close;
    uint8_t *buf = rs.data;
    size_t len = rs.data_len;
    rs.data = NULL;
    trans_resp_free(&rs);
    uint8_t *stub = NULL;
    size_t stub_len = 0;
    for (int reads = 0;; reads++) {
        r = share_rpc_stubs(buf, len, &stub, &stub_len);
        if (r != 0)
            break;
        /* The rest of the reply waits in the pipe. */
        uint8_t *nb =
            len < SRVSVC_MAX_REPLY && reads < 512 ? realloc(buf, len + SRVSVC_MAX_FRAG) : NULL;
        if (!nb) {
            r = -EIO;
            break;
        }
        buf = nb;
        ssize_t n = file_read_fid(t, fid, buf + len, SRVSVC_MAX_FRAG, 0);
        if (n <= 0) {
            r = n < 0 ? (int)n : -EIO;
            break;
        }
        len += (size_t)n;
    }
    free(buf);
    if (r == 1) {
        /* Validate all of it before the caller sees any of it. */
        r = share_srvsvc_decode(stub, stub_len, NULL, NULL);
        if (r == 0)
            r = share_srvsvc_decode(stub, stub_len, cb, ctx);
        free(stub);
    }
out_close:
    (void)file_close_fid(t, fid);
    return r;
}

int share_enum_rap(struct smb1_tree *t, smb1_share_cb cb, void *ctx)
{
    int r;
    uint8_t pp[2 + 6 + 7 + 2 + 2];
    struct wire_writer w;
    wire_writer_init(&w, pp, sizeof(pp));
    wire_put_u16(&w, RAP_NetShareEnum);
    wire_put_bytes(&w, "WrLeh", 6);
    wire_put_bytes(&w, "B13BWz", 7);
    wire_put_u16(&w, 1); /* InfoLevel */
    wire_put_u16(&w, RAP_RECV_BUF);
    struct trans_req rq = {
        .cmd = SMB1_COM_TRANSACTION,
        .name = "\\PIPE\\LANMAN",
        .param = pp,
        .param_len = (uint32_t)w.pos,
        .max_param = 8,
        .max_data = RAP_RECV_BUF,
    };
    struct trans_resp rs;
    r = trans_call(t, &rq, &rs, CONN_IDEMPOTENT);
    if (r == 0) {
        if (rs.status != NT_STATUS_OK && rs.status != NT_STATUS_BUFFER_OVERFLOW)
            r = ntstatus_to_errno(rs.status);
        else
            r = share_enum_decode(rs.param, rs.param_len, rs.data, rs.data_len, cb, ctx);
        trans_resp_free(&rs);
    }
    return r;
}

/* A callback's own non-zero return, told apart from our failures. */
struct enum_guard {
    smb1_share_cb cb;
    void *ctx;
    int cb_ret;
};

static int guard_cb(void *ctx, const char *name, uint32_t type, const char *remark)
{
    struct enum_guard *g = ctx;
    g->cb_ret = g->cb(g->ctx, name, type, remark);
    return g->cb_ret;
}

int smb1_share_enum(struct smb1_conn *c, smb1_share_cb cb, void *ctx)
{
    struct smb1_tree *t;
    int r = smb1_tree_connect(c, "IPC$", &t);
    if (r)
        return r;
    struct enum_guard g = {cb, ctx, 0};
    r = share_enum_srvsvc(t, guard_cb, &g);
    /* No srvsvc (or a broken one) and nothing delivered yet: RAP. */
    if (r && !g.cb_ret && r != -ENOMEM) {
        log_debug(conn_log(c), "srvsvc share enumeration failed (%d); trying RAP", r);
        r = share_enum_rap(t, cb, ctx);
    }
    smb1_tree_free(t);
    return r;
}
