#include "share_enum.h"

#include <errno.h>
#include <string.h>

#include "conn.h"
#include "ntstatus.h"
#include "smb1_proto.h"
#include "trans.h"

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

int smb1_share_enum(struct smb1_conn *c, smb1_share_cb cb, void *ctx)
{
    struct smb1_tree *t;
    int r = smb1_tree_connect(c, "IPC$", &t);
    if (r)
        return r;
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
    smb1_tree_free(t);
    return r;
}
