/* libFuzzer: NetBIOS / direct-TCP framing. The input is a byte stream from
 * the server: it goes through a socketpair into nbt_read_frame() until the
 * stream ends, with a small frame cap so the length check is exercised.
 * Every 4-byte window is also fed to nbt_parse_header(). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "link/nbt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i + 4 <= size && i < 64; i++) {
        uint8_t type;
        size_t len;
        if (nbt_parse_header(data + i, &type, &len) == 0 && len > NBT_MAX_DIRECT_FRAME)
            __builtin_trap();
    }

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return 0;
    /* -max_len keeps inputs far below the socket buffer: one write fits. */
    if (size && nbt_write_all(sv[1], data, size) != 0) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    close(sv[1]);
    size_t consumed = 0;
    for (;;) {
        uint8_t *f = NULL;
        size_t len = 0;
        const char *why = NULL;
        int r = nbt_read_frame(sv[0], 1024, &f, &len, &why);
        if (r != 0) {
            if (f || len)
                __builtin_trap();
            if (r == -EIO && !why)
                __builtin_trap();
            if (r != -EIO && r != -ECONNRESET)
                __builtin_trap();
            break;
        }
        if (!f || len == 0 || len > 1024)
            __builtin_trap();
        consumed += 4 + len;
        if (consumed > size)
            __builtin_trap();
        free(f);
    }
    close(sv[0]);
    return 0;
}
