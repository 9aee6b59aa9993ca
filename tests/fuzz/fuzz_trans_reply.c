/* libFuzzer: TRANSACTION / TRANSACTION2 / NT_TRANSACT replies in
 * fragments. The input is a series of frames, each a 2-byte little-endian
 * length and that many bytes of SMB; every frame that the validator
 * accepts has its fragment description decoded and is added to one
 * reassembly, as trans.c does with the frames of one reply. The first
 * byte picks the command. Whatever completes lies inside what the totals
 * announced. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "link/msg.h"
#include "ops/trans.h"
#include "wire/smb1_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const uint8_t cmds[] = {SMB1_COM_TRANSACTION, SMB1_COM_TRANSACTION2,
                                   SMB1_COM_NT_TRANSACT};
    uint8_t cmd = cmds[data[0] % 3];
    struct trans_reasm ra;
    trans_reasm_init(&ra, 0xFFFF, 0x10000);
    size_t pos = 1;
    int r = 1;
    while (r == 1 && size - pos >= 2) {
        size_t len = (size_t)data[pos] | (size_t)data[pos + 1] << 8;
        pos += 2;
        if (len > size - pos)
            break;
        uint8_t *f = malloc(len ? len : 1);
        if (!f)
            break;
        memcpy(f, data + pos, len);
        pos += len;
        struct msg_in in;
        const char *why = NULL;
        if (msg_in_parse(&in, f, len, &why) < 0) {
            free(f);
            continue;
        }
        struct wire_reader w;
        struct trans_frag fr;
        msg_in_words(&in, &w);
        if (trans_frag_decode(cmd, &w, in.wct, &fr) == 0)
            r = trans_reasm_add(&ra, &fr, in.frame, in.len);
        msg_in_free(&in);
    }
    if (r == 0) {
        struct trans_resp rs;
        memset(&rs, 0, sizeof(rs));
        trans_reasm_take(&ra, &rs);
        if (rs.param_len > 0xFFFF || rs.data_len > 0x10000)
            __builtin_trap();
        volatile uint8_t x = 0;
        for (uint32_t i = 0; i < rs.param_len; i++)
            x ^= rs.param[i];
        for (uint32_t i = 0; i < rs.data_len; i++)
            x ^= rs.data[i];
        (void)x;
        trans_resp_free(&rs);
    }
    trans_reasm_free(&ra);
    return 0;
}
