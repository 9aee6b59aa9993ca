#include "rpc/share_enum.h"

#include <errno.h>
#include <string.h>

#include "rpc/rap.h"
#include "wire/wire.h"
#include "rpc/srvsvc.h"
#include "session/conn.h"

int share_enum_decode(const uint8_t *param, size_t plen, const uint8_t *data, size_t dlen,
                      smb1_share_cb cb, void *ctx)
{
    uint16_t converter, count;
    bool more;
    int e = rap_enum_head(param, plen, &converter, &count, &more);
    if (e)
        return e;
    struct wire_reader dr;
    wire_reader_init(&dr, data, dlen);
    for (uint16_t i = 0; i < count; i++) {
        const uint8_t *name = wire_bytes(&dr, 13);
        wire_skip(&dr, 1);
        uint16_t type = wire_u16(&dr);
        uint32_t rptr = wire_u32(&dr);
        if (!wire_ok(&dr))
            return -EIO;
        char sname[14], remark[256];
        rap_name(sname, sizeof(sname), name, 13);
        rap_string(data, dlen, converter, rptr, remark, sizeof(remark));
        if (!sname[0])
            continue;
        int r = cb(ctx, sname, type & 0x7FFF, remark);
        if (r)
            return r;
    }
    return 0;
}

int share_enum_rap(struct smb1_tree *t, smb1_share_cb cb, void *ctx)
{
    uint8_t pp[2 + 6 + 7 + 2 + 2];
    struct wire_writer w;
    wire_writer_init(&w, pp, sizeof(pp));
    wire_put_u16(&w, RAP_NetShareEnum);
    wire_put_bytes(&w, "WrLeh", 6);
    wire_put_bytes(&w, "B13BWz", 7);
    wire_put_u16(&w, 1); /* InfoLevel */
    wire_put_u16(&w, RAP_RECV_BUF);
    struct trans_resp rs;
    int r = rap_call(t, pp, (uint32_t)w.pos, RAP_RECV_BUF, &rs, CONN_IDEMPOTENT);
    if (r)
        return r;
    r = share_enum_decode(rs.param, rs.param_len, rs.data, rs.data_len, cb, ctx);
    trans_resp_free(&rs);
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
    CONN_OP(c);
    struct smb1_tree *t;
    int r = smb1_tree_connect(c, "IPC$", &t);
    if (r)
        return r;
    struct enum_guard g = {cb, ctx, 0};
    r = srvsvc_share_enum(t, guard_cb, &g);
    /* No srvsvc (or a broken one) and nothing delivered yet: RAP. */
    if (r && !g.cb_ret && r != -ENOMEM) {
        log_debug(conn_log(c), "srvsvc share enumeration failed (%d); trying RAP", r);
        r = share_enum_rap(t, cb, ctx);
    }
    smb1_tree_free(t);
    return r;
}
