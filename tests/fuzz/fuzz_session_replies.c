/* libFuzzer: NEGOTIATE replies (nego_decode), the first message a server
 * sends and one no signature protects. The input is the SMB of a reply;
 * what the validator accepts is decoded; the names read from it are
 * terminated within their fields, and a security blob lies inside the
 * frame. */
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
    msg_in_free(&in);
    return 0;
}
