#include "netbios/nbns.h"

#include <errno.h>
#include <string.h>

#include "wire/wire.h"

static int build(uint8_t *buf, size_t cap, uint16_t trn_id, uint16_t flags, const char *name,
                 uint8_t suffix, uint16_t qtype)
{
    uint8_t enc[NBNAME_ENC_LEN];
    if (nbname_encode(name, suffix, enc))
        return -EINVAL;
    struct wire_writer w;
    wire_writer_init(&w, buf, cap);
    wire_put_be16(&w, trn_id);
    wire_put_be16(&w, flags);
    wire_put_be16(&w, 1); /* QDCOUNT */
    wire_put_be16(&w, 0);
    wire_put_be16(&w, 0);
    wire_put_be16(&w, 0);
    wire_put_bytes(&w, enc, sizeof(enc));
    wire_put_be16(&w, qtype);
    wire_put_be16(&w, NBNS_CLASS_IN);
    return wire_wok(&w) ? (int)w.pos : -EINVAL;
}

int nbns_build_query(uint8_t *buf, size_t cap, uint16_t trn_id, const char *name, uint8_t suffix,
                     bool broadcast)
{
    /* 4.2.12: RD set; B only on a broadcast. */
    uint16_t flags = NBNS_RD | (broadcast ? NBNS_B : 0);
    return build(buf, cap, trn_id, flags, name, suffix, NBNS_TYPE_NB);
}

int nbns_build_status(uint8_t *buf, size_t cap, uint16_t trn_id)
{
    return build(buf, cap, trn_id, 0, "*", 0x00, NBNS_TYPE_NBSTAT);
}

/* Reads one resource record's head: name, type, class, TTL, RDLENGTH and
 * a sub-reader over RDATA. *same says whether its name is raw (no scope). */
static void read_rr(struct wire_reader *r, const uint8_t raw[16], bool *same, uint16_t *type,
                    uint16_t *cls, uint32_t *ttl, struct wire_reader *rdata)
{
    uint8_t got[16];
    char scope[2];
    *same =
        nbname_decode(r, got, scope, sizeof(scope)) == 0 && !scope[0] && memcmp(got, raw, 16) == 0;
    *type = wire_be16(r);
    *cls = wire_be16(r);
    *ttl = wire_be32(r);
    uint16_t rdlen = wire_be16(r);
    wire_take(r, rdlen, rdata);
}

/* The next record, which must name our question: 0, -EAGAIN (another
 * name) or -EIO (none left, or malformed). */
static int our_rr(struct wire_reader *r, uint16_t count, const uint8_t raw[16], uint16_t *type,
                  uint16_t *cls, uint32_t *ttl, struct wire_reader *rd)
{
    bool same;
    if (count < 1)
        return -EIO;
    read_rr(r, raw, &same, type, cls, ttl, rd);
    if (!wire_ok(r))
        return -EIO;
    return same ? 0 : -EAGAIN;
}

int nbns_parse_reply(const uint8_t *pkt, size_t len, uint16_t trn_id, const uint8_t raw[16],
                     uint16_t qtype, struct nbns_reply *out)
{
    struct wire_reader r;
    wire_reader_init(&r, pkt, len);
    uint16_t id = wire_be16(&r);
    uint16_t flags = wire_be16(&r);
    uint16_t qd = wire_be16(&r);
    uint16_t an = wire_be16(&r);
    uint16_t ns = wire_be16(&r);
    uint16_t ar = wire_be16(&r);
    if (!wire_ok(&r) || id != trn_id || !(flags & NBNS_R))
        return -EAGAIN;
    unsigned opcode = (flags & NBNS_OPCODE_MASK) >> NBNS_OPCODE_SHIFT;
    if (opcode != NBNS_OPCODE_QUERY && opcode != NBNS_OPCODE_WACK)
        return -EAGAIN;
    memset(out, 0, sizeof(*out));
    /* A response carries no question (4.2.13), but tolerate an echoed
     * one: it must be ours too. */
    for (uint16_t i = 0; i < qd; i++) {
        uint8_t got[16];
        char scope[2];
        if (nbname_decode(&r, got, scope, sizeof(scope)))
            return -EIO;
        uint16_t t = wire_be16(&r);
        (void)wire_be16(&r);
        if (!wire_ok(&r))
            return -EIO;
        if (memcmp(got, raw, 16) != 0 || scope[0] || t != qtype)
            return -EAGAIN;
    }
    bool same;
    uint16_t type, cls;
    uint32_t ttl;
    struct wire_reader rd;
    if (opcode == NBNS_OPCODE_WACK) {
        /* 4.2.16: RR_TYPE NULL, TTL = how long to wait, RDATA = our flags. */
        int e = our_rr(&r, an, raw, &type, &cls, &ttl, &rd);
        if (e)
            return e;
        if (type != NBNS_TYPE_NULL)
            return -EIO;
        out->kind = NBNS_WACK;
        out->ttl = ttl > NBNS_WACK_MAX_S ? NBNS_WACK_MAX_S : ttl;
        return 0;
    }
    uint8_t rcode = flags & NBNS_RCODE_MASK;
    if (an == 0 && rcode == 0 && ns >= 1 && ar >= 1) {
        /* 4.2.15 REDIRECT: NS record for our name, A record with the
         * address of the name server to ask. */
        int e = our_rr(&r, ns, raw, &type, &cls, &ttl, &rd);
        if (e)
            return e;
        if (type != NBNS_TYPE_NS)
            return -EIO;
        for (uint16_t i = 1; i < ns; i++) {
            read_rr(&r, raw, &same, &type, &cls, &ttl, &rd);
            if (!wire_ok(&r))
                return -EIO;
        }
        /* The additional record's name is the NS's domain name: any
         * well-formed name (it need not be a NetBIOS one). */
        for (int hops = 0;; hops++) {
            uint8_t l = wire_u8(&r);
            if (!wire_ok(&r) || hops > 64)
                return -EIO;
            if (l == 0)
                break;
            if ((l & 0xC0) == 0xC0) {
                (void)wire_u8(&r);
                break;
            }
            if (l & 0xC0)
                return -EIO;
            wire_skip(&r, l);
        }
        type = wire_be16(&r);
        cls = wire_be16(&r);
        (void)wire_be32(&r);
        uint16_t rdlen = wire_be16(&r);
        wire_take(&r, rdlen, &rd);
        wire_copy(&rd, out->redirect, 4);
        if (!wire_ok(&r) || !wire_ok(&rd) || type != NBNS_TYPE_A)
            return -EIO;
        if (!memcmp(out->redirect, "\0\0\0\0", 4) || !memcmp(out->redirect, "\xff\xff\xff\xff", 4))
            return -EIO;
        out->kind = NBNS_REDIRECT;
        return 0;
    }
    int e = our_rr(&r, an, raw, &type, &cls, &ttl, &rd);
    if (e)
        return e;
    if (rcode != 0) {
        out->kind = NBNS_NEGATIVE;
        out->rcode = rcode;
        return 0;
    }
    if (type != qtype || cls != NBNS_CLASS_IN)
        return -EIO;
    out->ttl = ttl;
    if (qtype == NBNS_TYPE_NB) {
        size_t n = wire_remaining(&rd);
        if (n == 0 || n % 6 != 0)
            return -EIO;
        for (size_t i = 0; i < n / 6; i++) {
            struct nbns_addr a;
            a.flags = wire_be16(&rd);
            wire_copy(&rd, a.addr, 4);
            if (out->naddrs < NBNS_MAX_ADDRS)
                out->addrs[out->naddrs++] = a;
        }
        if (!wire_ok(&rd))
            return -EIO;
        out->kind = NBNS_POSITIVE;
        return 0;
    }
    uint8_t num = wire_u8(&rd);
    for (unsigned i = 0; i < num; i++) {
        struct nbns_node_name nn;
        wire_copy(&rd, nn.raw, 16);
        nn.flags = wire_be16(&rd);
        if (out->nnames < NBNS_MAX_NAMES)
            out->names[out->nnames++] = nn;
    }
    if (!wire_ok(&rd))
        return -EIO;
    /* STATISTICS begin with the unit ID; a reply that stops before it is
     * still a list of names. */
    if (wire_remaining(&rd) >= 6)
        wire_copy(&rd, out->mac, 6);
    out->kind = NBNS_STATUS;
    return 0;
}
