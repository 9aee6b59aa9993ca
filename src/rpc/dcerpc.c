#include "rpc/dcerpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_file.h"
#include "ops/trans.h"
#include "session/conn.h"
#include "wire/ntstatus.h"
#include "wire/smb1_proto.h"
#include "wire/wire.h"

#define TRANS_TRANSACT_NMPIPE 0x0026 /* MS-CIFS 2.2.5.6 */
#define PIPE_ACCESS           0x0002019F
#define DCERPC_MAX_READS      512

/* NDR transfer syntax 8a885d04-1ceb-11c9-9fe8-08002b104860 v2 */
static const uint8_t ndr_uuid[16] = {0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11,
                                     0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60};

static void put_header(struct wire_writer *w, uint8_t ptype, uint8_t flags, uint16_t frag_len,
                       uint32_t call_id)
{
    wire_put_u8(w, 5);
    wire_put_u8(w, 0);
    wire_put_u8(w, ptype);
    wire_put_u8(w, flags);
    wire_put_bytes(w, "\x10\x00\x00\x00", 4); /* little-endian, ASCII, IEEE */
    wire_put_u16(w, frag_len);
    wire_put_u16(w, 0); /* auth_length */
    wire_put_u32(w, call_id);
}

size_t dcerpc_build_bind(uint8_t *buf, size_t cap, uint32_t call_id,
                         const struct dcerpc_syntax *iface)
{
    struct wire_writer w;
    wire_writer_init(&w, buf, cap);
    put_header(&w, DCERPC_PTYPE_BIND, DCERPC_FIRST_FRAG | DCERPC_LAST_FRAG, 72, call_id);
    wire_put_u16(&w, DCERPC_MAX_FRAG);
    wire_put_u16(&w, DCERPC_MAX_FRAG);
    wire_put_u32(&w, 0); /* assoc_group_id */
    wire_put_u8(&w, 1);  /* one context */
    wire_put_zeros(&w, 3);
    wire_put_u16(&w, 0); /* p_cont_id */
    wire_put_u8(&w, 1);  /* one transfer syntax */
    wire_put_u8(&w, 0);
    wire_put_bytes(&w, iface->uuid, 16);
    wire_put_u16(&w, iface->vmajor);
    wire_put_u16(&w, iface->vminor);
    wire_put_bytes(&w, ndr_uuid, 16);
    wire_put_u32(&w, 2);
    return wire_wok(&w) ? w.pos : 0;
}

/* The common header: version, little-endian data, a fragment length
 * that fits. Returns the ptype or -EIO. */
static int check_header(struct wire_reader *r, uint8_t *flags, uint16_t *frag_len,
                        uint32_t *call_id)
{
    uint8_t vers = wire_u8(r);
    uint8_t minor = wire_u8(r);
    uint8_t ptype = wire_u8(r);
    *flags = wire_u8(r);
    uint8_t drep = wire_u8(r);
    wire_skip(r, 3);
    *frag_len = wire_u16(r);
    uint16_t auth_len = wire_u16(r);
    *call_id = wire_u32(r);
    if (!wire_ok(r) || vers != 5 || minor != 0 || drep != 0x10 || auth_len != 0 ||
        *frag_len < DCERPC_HDR_LEN)
        return -EIO;
    return ptype;
}

int dcerpc_parse_bind_ack(const uint8_t *pdu, size_t len, uint32_t call_id, uint16_t *max_xmit)
{
    struct wire_reader r;
    wire_reader_init(&r, pdu, len);
    uint8_t flags;
    uint16_t frag_len;
    uint32_t cid;
    int pt = check_header(&r, &flags, &frag_len, &cid);
    if (pt < 0 || frag_len > len || cid != call_id)
        return -EIO;
    if (pt == DCERPC_PTYPE_BIND_NAK)
        return -EPROTONOSUPPORT;
    if (pt != DCERPC_PTYPE_BIND_ACK)
        return -EIO;
    (void)wire_u16(&r); /* max_xmit_frag: what the server sends */
    uint16_t recv = wire_u16(&r);
    (void)wire_u32(&r); /* assoc_group_id */
    uint16_t addr_len = wire_u16(&r);
    wire_skip(&r, addr_len);
    wire_skip(&r, (4 - (r.pos & 3)) & 3);
    uint8_t nres = wire_u8(&r);
    wire_skip(&r, 3);
    uint16_t result = wire_u16(&r);
    if (!wire_ok(&r) || r.pos > frag_len || nres < 1)
        return -EIO;
    if (result != 0)
        return -EPROTONOSUPPORT;
    if (recv < DCERPC_REQ_HDR_LEN + 8)
        return -EIO;
    *max_xmit = recv < DCERPC_MAX_FRAG ? recv : DCERPC_MAX_FRAG;
    return 0;
}

void dcerpc_put_request_header(uint8_t *buf, uint8_t flags, uint16_t frag_len, uint32_t call_id,
                               uint32_t alloc_hint, uint16_t opnum)
{
    struct wire_writer w;
    wire_writer_init(&w, buf, DCERPC_REQ_HDR_LEN);
    put_header(&w, DCERPC_PTYPE_REQUEST, flags, frag_len, call_id);
    wire_put_u32(&w, alloc_hint);
    wire_put_u16(&w, 0); /* p_cont_id */
    wire_put_u16(&w, opnum);
}

int dcerpc_stubs(const uint8_t *buf, size_t len, uint32_t call_id, uint8_t **stub, size_t *stub_len,
                 uint32_t *fault)
{
    size_t off = 0, total = 0;
    uint8_t *out = NULL;
    int ret = 0;
    for (bool first = true;; first = false) {
        if (len - off < DCERPC_HDR_LEN)
            break;
        struct wire_reader r;
        wire_reader_init(&r, buf + off, len - off);
        uint8_t flags;
        uint16_t frag_len;
        uint32_t cid;
        int pt = check_header(&r, &flags, &frag_len, &cid);
        if (pt < 0 || cid != call_id || frag_len < DCERPC_HDR_LEN + 8 ||
            (first && !(flags & DCERPC_FIRST_FRAG))) {
            ret = -EIO;
            goto out_free;
        }
        if (frag_len > len - off)
            break;
        (void)wire_u32(&r); /* alloc_hint */
        (void)wire_u16(&r); /* p_cont_id */
        (void)wire_u8(&r);  /* cancel_count */
        (void)wire_u8(&r);
        if (pt == DCERPC_PTYPE_FAULT) {
            uint32_t st = wire_u32(&r);
            if (!wire_ok(&r) || r.pos > frag_len) {
                ret = -EIO;
                goto out_free;
            }
            if (fault)
                *fault = st;
            ret = -EPROTO;
            goto out_free;
        }
        if (pt != DCERPC_PTYPE_RESPONSE) {
            ret = -EIO;
            goto out_free;
        }
        size_t n = frag_len - (DCERPC_HDR_LEN + 8);
        if (n > DCERPC_MAX_REPLY - total) {
            ret = -EIO;
            goto out_free;
        }
        uint8_t *no = realloc(out, total + n ? total + n : 1);
        if (!no) {
            ret = -ENOMEM;
            goto out_free;
        }
        out = no;
        memcpy(out + total, buf + off + DCERPC_HDR_LEN + 8, n);
        total += n;
        off += frag_len;
        if (flags & DCERPC_LAST_FRAG) {
            *stub = out;
            *stub_len = total;
            return 1;
        }
    }
out_free:
    free(out);
    return ret;
}

/* One TransactNmPipe: sends pdu, returns the reply bytes in *rs. */
static int transact(struct dcerpc_pipe *p, const uint8_t *pdu, size_t n, struct trans_resp *rs)
{
    uint16_t setup[2] = {TRANS_TRANSACT_NMPIPE, p->fid};
    struct trans_req rq = {
        .cmd = SMB1_COM_TRANSACTION,
        .name = "\\PIPE\\",
        .setup = setup,
        .setup_count = 2,
        .data = pdu,
        .data_len = (uint32_t)n,
        .max_param = 0,
        .max_data = DCERPC_MAX_FRAG,
        .epoch = p->epoch,
    };
    int r = trans_call(p->t, &rq, rs, CONN_FID);
    if (r)
        return r;
    if (rs->status != NT_STATUS_OK && rs->status != NT_STATUS_BUFFER_OVERFLOW) {
        r = ntstatus_to_errno(rs->status);
        trans_resp_free(rs);
        return r;
    }
    return 0;
}

int dcerpc_open(struct smb1_tree *ipc, const char *name, const struct dcerpc_syntax *iface,
                struct dcerpc_pipe *out)
{
    memset(out, 0, sizeof(*out));
    out->t = ipc;
    uint32_t status = 0;
    int r = file_open_temp(ipc, name, PIPE_ACCESS, true, &out->fid, &out->epoch, &status);
    if (r)
        return r;
    uint8_t pdu[96];
    size_t n = dcerpc_build_bind(pdu, sizeof(pdu), ++out->call_id, iface);
    struct trans_resp rs;
    r = transact(out, pdu, n, &rs);
    if (r)
        goto out_close;
    r = dcerpc_parse_bind_ack(rs.data, rs.data_len, out->call_id, &out->max_xmit);
    if (r == 0 && rs.status == NT_STATUS_BUFFER_OVERFLOW)
        r = -EIO; /* a bind_ack never needs more than one fragment */
    trans_resp_free(&rs);
    if (r)
        goto out_close;
    return 0;
out_close:
    (void)file_close_fid_at(ipc, out->fid, out->epoch);
    return r;
}

void dcerpc_close(struct dcerpc_pipe *p)
{
    if (p->t)
        (void)file_close_fid_at(p->t, p->fid, p->epoch);
    p->t = NULL;
}

int dcerpc_call(struct dcerpc_pipe *p, uint16_t opnum, const uint8_t *stub, size_t len,
                uint8_t **out, size_t *out_len, uint32_t *fault)
{
    *out = NULL;
    *out_len = 0;
    if (len > DCERPC_MAX_REPLY)
        return -EMSGSIZE;
    uint32_t cid = ++p->call_id;
    size_t room = (size_t)p->max_xmit - DCERPC_REQ_HDR_LEN;
    room &= ~(size_t)7; /* fragments of the stub stay 8-aligned */
    uint8_t *frag = malloc(DCERPC_REQ_HDR_LEN + (len < room ? len : room));
    if (!frag)
        return -ENOMEM;
    size_t done = 0;
    struct trans_resp rs;
    int r;
    for (;;) {
        size_t n = len - done < room ? len - done : room;
        bool last = done + n == len;
        uint8_t flags = (done == 0 ? DCERPC_FIRST_FRAG : 0) | (last ? DCERPC_LAST_FRAG : 0);
        dcerpc_put_request_header(frag, flags, (uint16_t)(DCERPC_REQ_HDR_LEN + n), cid,
                                  (uint32_t)(len - done), opnum);
        memcpy(frag + DCERPC_REQ_HDR_LEN, stub + done, n);
        if (last) {
            r = transact(p, frag, DCERPC_REQ_HDR_LEN + n, &rs);
            break;
        }
        ssize_t w =
            file_write_fid(p->t, p->fid, p->epoch, frag, (uint32_t)(DCERPC_REQ_HDR_LEN + n), 0);
        if (w != (ssize_t)(DCERPC_REQ_HDR_LEN + n)) {
            r = w < 0 ? (int)w : -EIO;
            break;
        }
        done += n;
    }
    free(frag);
    if (r)
        return r;
    uint8_t *buf = rs.data;
    size_t blen = rs.data_len;
    rs.data = NULL;
    trans_resp_free(&rs);
    for (int reads = 0;; reads++) {
        r = dcerpc_stubs(buf, blen, cid, out, out_len, fault);
        if (r != 0)
            break;
        /* The rest of the response waits in the pipe. */
        uint8_t *nb = blen < DCERPC_MAX_REPLY && reads < DCERPC_MAX_READS
                          ? realloc(buf, blen + DCERPC_MAX_FRAG)
                          : NULL;
        if (!nb) {
            r = -EIO;
            break;
        }
        buf = nb;
        ssize_t n = file_read_fid(p->t, p->fid, p->epoch, buf + blen, DCERPC_MAX_FRAG, 0);
        if (n <= 0) {
            r = n < 0 ? (int)n : -EIO;
            break;
        }
        blen += (size_t)n;
    }
    free(buf);
    return r == 1 ? 0 : r;
}
