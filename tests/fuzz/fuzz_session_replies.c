/* libFuzzer: NEGOTIATE replies (nego_decode), the first message a server
 * sends and one no signature protects, and SESSION_SETUP_ANDX replies (the
 * security blob, then the NativeOS / NativeLanMan / domain strings after
 * it, as session.c reads them). The input is the SMB of a reply; what the
 * validator accepts is decoded both ways; names are terminated within
 * their fields, blobs lie inside the frame. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "link/msg.h"
#include "session/nego.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    if (size)
        memcpy(p, data, size);
    struct msg_in in;
    const char *why = NULL;
    if (msg_in_parse(&in, p, size, &why) < 0) {
        free(p);
        return 0;
    }
    struct nego ng;
    memset(&ng, 0, sizeof(ng));
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    char reason[256];
    if (nego_decode(&in, &ng, &blob, &blob_len, reason, sizeof(reason)) == 0) {
        if (!memchr(ng.domain, 0, sizeof(ng.domain)) || !memchr(ng.server, 0, sizeof(ng.server)))
            __builtin_trap();
        if (blob_len > in.len)
            __builtin_trap();
        volatile uint8_t x = 0;
        for (size_t i = 0; i < blob_len; i++)
            x ^= blob[i];
        (void)x;
    }
    free(blob);
    const uint8_t *sb;
    size_t sn;
    if (nego_setup_blob(&in, &sb, &sn) == 0) {
        if (sn && (sb < in.frame + in.bytes_off || sn > (size_t)(in.frame + in.len - sb)))
            __builtin_trap();
        struct wire_reader b;
        msg_in_bytes(&in, &b);
        wire_skip(&b, sn);
        bool uni = (in.flags2 & 0x8000) != 0;
        if (uni && ((in.bytes_off + b.pos) & 1))
            wire_skip(&b, 1);
        char tmp[64];
        for (int i = 0; i < 3; i++) {
            nego_read_string(&b, uni, tmp, sizeof(tmp));
            if (!memchr(tmp, 0, sizeof(tmp)))
                __builtin_trap();
        }
    }
    msg_in_free(&in);
    return 0;
}
