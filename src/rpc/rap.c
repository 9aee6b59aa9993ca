#include "rpc/rap.h"

#include <errno.h>

#include "wire/ntstatus.h"
#include "wire/smb1_proto.h"

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
