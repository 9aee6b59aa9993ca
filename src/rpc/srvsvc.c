#include "rpc/srvsvc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/ndr.h"
#include "wire/wire.h"

const struct dcerpc_syntax srvsvc_syntax = {
    {0xc8, 0x4f, 0x32, 0x4b, 0x70, 0x16, 0xd3, 0x01, 0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1,
     0x88},
    3,
    0,
};

int srvsvc_build_share_enum(uint8_t *buf, size_t cap, const char *server)
{
    struct wire_writer w;
    wire_writer_init(&w, buf, cap);
    uint32_t ref = 0x20000;
    if (ndr_put_unique_wstring(&w, server, &ref))
        return -EINVAL;
    ndr_put_align(&w, 4);
    wire_put_u32(&w, 1);          /* Level */
    wire_put_u32(&w, 1);          /* union discriminant */
    wire_put_u32(&w, ref += 4);   /* container referent */
    wire_put_u32(&w, 0);          /* EntriesRead */
    wire_put_u32(&w, 0);          /* Buffer: NULL */
    wire_put_u32(&w, 0xFFFFFFFF); /* PreferedMaximumLength */
    wire_put_u32(&w, ref += 4);   /* ResumeHandle referent */
    wire_put_u32(&w, 0);
    return wire_wok(&w) ? (int)w.pos : -EINVAL;
}

struct share_ent {
    uint32_t name_ptr, type, remark_ptr;
};

int srvsvc_decode_share_enum(const uint8_t *stub, size_t len, smb1_share_cb cb, void *ctx)
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
    int ret = 0;
    if (aptr) {
        uint32_t max = wire_u32(&r);
        if (!wire_ok(&r) || max < count)
            return -EIO;
        if (count && wire_remaining(&r) / 12 < count)
            return -EIO;
        struct share_ent *ents = calloc(count ? count : 1, sizeof(*ents));
        if (!ents)
            return -ENOMEM;
        for (uint32_t i = 0; i < count; i++) {
            ents[i].name_ptr = wire_u32(&r);
            ents[i].type = wire_u32(&r);
            ents[i].remark_ptr = wire_u32(&r);
        }
        for (uint32_t i = 0; i < count && ret == 0; i++) {
            int err = 0;
            char *name = ents[i].name_ptr ? ndr_get_wstring(&r, &err) : NULL;
            char *remark = NULL;
            if (!err && ents[i].remark_ptr)
                remark = ndr_get_wstring(&r, &err);
            if (err)
                ret = err;
            else if (cb && name && name[0])
                ret = cb(ctx, name, ents[i].type & 0xFFFF, remark ? remark : "");
            free(name);
            free(remark);
        }
        free(ents);
        if (ret)
            return ret;
    }
    ndr_align(&r, 4);
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

int srvsvc_share_enum(struct smb1_tree *ipc, smb1_share_cb cb, void *ctx)
{
    struct dcerpc_pipe p;
    int r = dcerpc_open(ipc, "srvsvc", &srvsvc_syntax, &p);
    if (r)
        return r;
    uint8_t req[64];
    int n = srvsvc_build_share_enum(req, sizeof(req), NULL);
    uint8_t *stub = NULL;
    size_t slen = 0;
    r = n < 0 ? n : dcerpc_call(&p, SRVSVC_OPNUM_NETRSHAREENUM, req, (size_t)n, &stub, &slen, NULL);
    dcerpc_close(&p);
    if (r)
        return r == -EPROTO ? -EIO : r;
    /* Validate all of it before the caller sees any of it. */
    r = srvsvc_decode_share_enum(stub, slen, NULL, NULL);
    if (r == 0)
        r = srvsvc_decode_share_enum(stub, slen, cb, ctx);
    free(stub);
    return r;
}
