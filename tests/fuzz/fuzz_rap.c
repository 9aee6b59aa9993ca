/* libFuzzer: RAP enumeration replies. The first byte chooses how many of
 * the next bytes are the parameter block (status, converter, counts); the
 * rest is the data block. Both NetShareEnum (SHARE_INFO_1) and
 * NetServerEnum2 (SERVER_INFO_1, with and without a restart name) decode
 * it; every string pointer must stay inside the data. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "rpc/browse.h"
#include "rpc/share_enum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_share(void *ctx, const char *name, uint32_t type, const char *remark)
{
    (void)ctx;
    (void)type;
    if (strlen(name) > 13 || strlen(remark) > 255)
        __builtin_trap();
    return 0;
}

static int on_server(void *ctx, const char *name, uint32_t type, const char *comment)
{
    (void)ctx;
    (void)type;
    if (strlen(name) > 16 || strlen(comment) > 255)
        __builtin_trap();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t plen = data[0] % 16;
    if (plen > size - 1)
        plen = size - 1;
    const uint8_t *param = data + 1, *d = data + 1 + plen;
    size_t dlen = size - 1 - plen;
    int r = share_enum_decode(param, plen, d, dlen, on_share, NULL);
    if (r != 0 && r != -EIO && r != -EACCES)
        __builtin_trap();
    char last[17];
    bool more;
    r = browse_decode(param, plen, d, dlen, NULL, on_server, NULL, last, &more);
    if (r != 0 && r != -EIO && r != -EACCES)
        __builtin_trap();
    r = browse_decode(param, plen, d, dlen, "M", on_server, NULL, last, &more);
    if (r != 0 && r != -EIO && r != -EACCES)
        __builtin_trap();
    return 0;
}
