#include "rpc/rap.h"

#include <errno.h>

#include "wire/ntstatus.h"
#include "wire/smb1_proto.h"
#include "wire/wire.h"

int rap_call(struct smb1_tree *ipc, const void *param, uint32_t plen, uint32_t max_data,
             struct trans_resp *rs, unsigned flags)
{
    struct trans_req rq = {
        .cmd = SMB1_COM_TRANSACTION,
        .name = "\\PIPE\\LANMAN",
        .param = param,
        .param_len = plen,
        .max_param = 64,
        .max_data = max_data,
    };
    int r = trans_call(ipc, &rq, rs, flags);
    if (r)
        return r;
    if (rs->status != NT_STATUS_OK && rs->status != NT_STATUS_BUFFER_OVERFLOW) {
        /* A server without RAP has no \PIPE\LANMAN to transact on. */
        uint32_t st = rs->status;
        trans_resp_free(rs);
        if (st == NT_STATUS_OBJECT_NAME_NOT_FOUND || st == NT_STATUS_NOT_SUPPORTED)
            return -EOPNOTSUPP;
        r = ntstatus_to_errno(st);
        return r ? r : -EIO;
    }
    return 0;
}

int rap_status_errno(uint16_t status)
{
    switch (status) {
    case RAP_NERR_SUCCESS:
    case RAP_ERR_MORE_DATA:
        return 0;
    case RAP_ERR_ACCESS_DENIED:
        return -EPERM;
    case RAP_NERR_QNOTFOUND:
    case RAP_NERR_JOBNOTFOUND:
        return -ENOENT;
    case 1:   /* ERROR_INVALID_FUNCTION */
    case 50:  /* ERROR_NOT_SUPPORTED */
    case 124: /* ERROR_INVALID_LEVEL */
        return -EOPNOTSUPP;
    default:
        return -EIO;
    }
}

void rap_string(const uint8_t *data, size_t dlen, uint16_t converter, uint32_t ptr, char *dst,
                size_t cap)
{
    size_t o = 0;
    uint16_t lo = (uint16_t)(ptr & 0xFFFF);
    if (cap == 0)
        return;
    if (ptr != 0 && lo >= converter && (size_t)(lo - converter) < dlen) {
        const uint8_t *p = data + (lo - converter);
        size_t n = dlen - (lo - converter);
        for (size_t i = 0; i < n && p[i] && o + 1 < cap; i++)
            dst[o++] = (p[i] >= 0x20 && p[i] < 0x7F) ? (char)p[i] : '?';
    }
    dst[o] = 0;
}

int rap_enum_head(const uint8_t *param, size_t plen, uint16_t *converter, uint16_t *count,
                  bool *more)
{
    struct wire_reader pr;
    wire_reader_init(&pr, param, plen);
    uint16_t status = wire_u16(&pr);
    *converter = wire_u16(&pr);
    *count = wire_u16(&pr);
    (void)wire_u16(&pr); /* EntriesAvailable */
    if (!wire_ok(&pr))
        return -EIO;
    *more = status == RAP_ERR_MORE_DATA;
    if (status != RAP_NERR_SUCCESS && status != RAP_ERR_MORE_DATA)
        return status == RAP_ERR_ACCESS_DENIED ? -EACCES : -EIO;
    return 0;
}

void rap_name(char *dst, size_t cap, const uint8_t *p, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && p[i] && o + 1 < cap; i++)
        dst[o++] = (p[i] >= 0x20 && p[i] < 0x7F) ? (char)p[i] : '?';
    if (cap)
        dst[o] = 0;
}
