/* libFuzzer: the share and server list decoders (RAP NetShareEnum and
 * NetServerEnum2, srvsvc NetrShareEnum over DCE/RPC, the DCE/RPC bind
 * acknowledgement). The first byte picks one; for the RAP ones the next
 * byte is the parameter block's length, then the parameter block, then
 * the data block. Names handed to the callback are terminated strings. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/browse.h"
#include "rpc/dcerpc.h"
#include "rpc/share_enum.h"
#include "rpc/srvsvc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_item(void *ctx, const char *name, uint32_t type, const char *text)
{
    (void)ctx;
    (void)type;
    /* Both are C strings: strlen must stay inside what was allocated. */
    volatile size_t k = strlen(name) + (text ? strlen(text) : 0);
    (void)k;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t sel = data[0];
    size_t plen = data[1];
    const uint8_t *rest = data + 2;
    size_t n = size - 2;
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        return 0;
    memcpy(p, rest, n);
    switch (sel % 4) {
    case 0:
        if (plen <= n)
            (void)share_enum_decode(p, plen, p + plen, n - plen, on_item, NULL);
        break;
    case 1:
        if (plen <= n) {
            char last[17];
            bool more = false;
            (void)browse_decode(p, plen, p + plen, n - plen, (sel & 0x10) ? "M" : NULL, on_item,
                                NULL, last, &more);
            if (!memchr(last, 0, sizeof(last)))
                __builtin_trap();
        }
        break;
    case 2:
        (void)srvsvc_decode_share_enum(p, n, (sel & 0x10) ? NULL : on_item, NULL);
        break;
    default: {
        uint16_t max_xmit = 0;
        (void)dcerpc_parse_bind_ack(p, n, (uint32_t)plen, &max_xmit);
        break;
    }
    }
    free(p);
    return 0;
}
