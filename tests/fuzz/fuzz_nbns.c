/* libFuzzer: NetBIOS name service replies. The input is one datagram; it
 * is parsed as the reply to a name query for NBSRV<20> and to a node
 * status request, with the TRN_ID taken from its own first bytes so the
 * parser gets past the "not ours" checks. Names are also decoded from
 * every offset (labels, pointers, scope). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "netbios/nbname.h"
#include "netbios/nbns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint16_t id = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0;
    uint8_t raw[16], star[16];
    nbname_raw("NBSRV", 0x20, raw);
    nbname_raw("*", 0x00, star);
    struct nbns_reply rep;
    int r = nbns_parse_reply(data, size, id, raw, NBNS_TYPE_NB, &rep);
    if (r != 0 && r != -EIO && r != -EAGAIN)
        __builtin_trap();
    if (r == 0 && (rep.naddrs > NBNS_MAX_ADDRS || (rep.kind == NBNS_POSITIVE && !rep.naddrs)))
        __builtin_trap();
    if (r == 0 && rep.kind == NBNS_WACK && rep.ttl > NBNS_WACK_MAX_S)
        __builtin_trap();
    r = nbns_parse_reply(data, size, id, star, NBNS_TYPE_NBSTAT, &rep);
    if (r == 0 && rep.nnames > NBNS_MAX_NAMES)
        __builtin_trap();
    for (size_t off = 0; off < size && off < 64; off++) {
        struct wire_reader rd;
        wire_reader_init(&rd, data, size);
        wire_seek(&rd, off);
        char scope[64];
        uint8_t got[16];
        if (nbname_decode(&rd, got, scope, sizeof(scope)) == 0 &&
            (rd.pos > size || strlen(scope) >= sizeof(scope)))
            __builtin_trap();
    }
    return 0;
}
