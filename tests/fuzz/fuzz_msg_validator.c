/* libFuzzer: the reply validator (msg_in_parse), the security boundary for
 * every frame from the server. Whatever it accepts must have its words and
 * bytes inside the frame, and reading them in full must stay in bounds. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "link/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drain(struct wire_reader *r, size_t want)
{
    if (!wire_ok(r) || wire_remaining(r) != want)
        __builtin_trap();
    unsigned sum = 0;
    while (wire_remaining(r))
        sum += wire_u8(r);
    (void)wire_u8(r); /* one past the end: must fail, not read */
    if (wire_ok(r))
        __builtin_trap();
    (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    if (size)
        memcpy(p, data, size);
    struct msg_in in;
    const char *why = NULL;
    int k = msg_in_parse(&in, p, size, &why);
    if (k < 0) {
        if (k != -EIO || !why || in.frame)
            __builtin_trap();
        free(p);
        return 0;
    }
    if (k != MSG_REPLY && k != MSG_OPLOCK_BREAK)
        __builtin_trap();
    if (in.frame != p || in.len != size || in.bytes_off > size || in.bcc > size - in.bytes_off ||
        in.words_off + 2 * (size_t)in.wct + 2 != in.bytes_off)
        __builtin_trap();
    struct wire_reader w, b, s;
    msg_in_words(&in, &w);
    drain(&w, 2 * (size_t)in.wct);
    msg_in_bytes(&in, &b);
    drain(&b, in.bcc);
    msg_in_smb(&in, &s);
    drain(&s, size);
    msg_in_free(&in);
    return 0;
}
