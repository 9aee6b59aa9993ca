/* libFuzzer: DCE/RPC responses and the NDR they carry. The input is what
 * a pipe returned: it goes through dcerpc_stubs (fragments, call id 1,
 * faults), dcerpc_parse_bind_ack, and the joined stub (or the raw input)
 * through the srvsvc NetrShareEnum decoder. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/dcerpc.h"
#include "rpc/srvsvc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_share(void *ctx, const char *name, uint32_t type, const char *remark)
{
    (void)ctx;
    (void)type;
    if (!name[0] || !remark)
        __builtin_trap();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *stub = NULL;
    size_t sl = 0;
    uint32_t fault = 0;
    int r = dcerpc_stubs(data, size, 1, &stub, &sl, &fault);
    if (r != 1 && (stub || (r != 0 && r != -EIO && r != -EPROTO && r != -ENOMEM)))
        __builtin_trap();
    if (r == 1) {
        if (sl > size)
            __builtin_trap();
        (void)srvsvc_decode_share_enum(stub, sl, on_share, NULL);
        free(stub);
    }
    uint16_t mx = 0;
    r = dcerpc_parse_bind_ack(data, size, 1, &mx);
    if (r == 0 && (mx < 32 || mx > DCERPC_MAX_FRAG))
        __builtin_trap();
    r = srvsvc_decode_share_enum(data, size, on_share, NULL);
    if (r != 0 && r != -EIO && r != -EACCES && r != -ENOMEM)
        __builtin_trap();
    return 0;
}
