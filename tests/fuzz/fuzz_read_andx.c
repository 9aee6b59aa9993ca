/* libFuzzer: READ_ANDX and NT_CREATE_ANDX replies. The input is the SMB of
 * a reply; what the validator accepts goes to file_nt_create_decode and to
 * file_read_decode, whose data must lie inside
 * the frame and after the parameter words (never header bytes handed over
 * as file data), and no longer than asked for (the first two bytes of the
 * input, little-endian, times 4, as the request's count); then the same
 * frame split after its words (the second byte says where), as the mux's
 * reader receives READ_ANDX data straight into the caller's buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "link/msg.h"
#include "ops/op_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint32_t max = ((uint32_t)data[0] | (uint32_t)data[1] << 8) * 4;
    size_t n = size - 2;
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        return 0;
    memcpy(p, data + 2, n);
    struct msg_in in;
    const char *why = NULL;
    if (msg_in_parse(&in, p, n, &why) < 0) {
        free(p);
        return 0;
    }
    uint16_t fid;
    struct smb1_stat st;
    (void)file_nt_create_decode(&in, &fid, &st);
    const uint8_t *d = NULL;
    uint32_t len = 0;
    if (file_read_decode(&in, max, &d, &len) == 0 && len) {
        if (len > max || d < in.frame + in.bytes_off || d > in.frame + in.len ||
            len > (size_t)(in.frame + in.len - d))
            __builtin_trap();
        volatile uint8_t x = 0;
        for (uint32_t i = 0; i < len; i++)
            x ^= d[i];
        (void)x;
    }
    /* The same frame split as the mux's reader splits a READ_ANDX reply
     * (msg_in.ext): a head up to somewhere after the words, the rest in a
     * buffer of its own. Data must then be all of the rest, never the
     * head's bytes nor beyond either buffer. */
    size_t cut = in.bytes_off + (data[1] & 0x3F);
    msg_in_free(&in);
    if (cut >= n)
        return 0;
    uint8_t *head = malloc(cut), *rest = malloc(n - cut);
    if (!head || !rest) {
        free(head);
        free(rest);
        return 0;
    }
    memcpy(head, data + 2, cut);
    memcpy(rest, data + 2 + cut, n - cut);
    if (msg_in_parse_split(&in, head, cut, rest, n - cut, &why) < 0) {
        free(head);
        free(rest);
        return 0;
    }
    if (file_read_decode(&in, max, &d, &len) == 0 && len) {
        if (len > max || d != rest || len != n - cut)
            __builtin_trap();
        volatile uint8_t x = 0;
        for (uint32_t i = 0; i < len; i++)
            x ^= d[i];
        (void)x;
    }
    msg_in_free(&in);
    free(rest);
    return 0;
}
