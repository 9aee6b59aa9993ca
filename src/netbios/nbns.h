/* NetBIOS name service packets (RFC 1002 4.2): the requests we send (name
 * query, node status) and the replies we accept. Pure codec: no sockets.
 *
 * A reply is taken only when it is a response with our NAME_TRN_ID and its
 * RR_NAME is the name we asked about; anything else is "not ours" and the
 * caller keeps waiting, so a stray or forged packet on port 137 cannot
 * answer a question nobody asked.
 */
#ifndef SMBFUSE_NBNS_H
#define SMBFUSE_NBNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netbios/nbname.h"

#define NBNS_PORT    137
#define NBNS_MAX_PKT 576 /* RFC 1002 4.2.1: UDP datagrams up to 576 bytes */

/* RFC 1002 4.2.1.1 header flags word */
#define NBNS_R            0x8000
#define NBNS_OPCODE_SHIFT 11
#define NBNS_OPCODE_MASK  0x7800
#define NBNS_AA           0x0400
#define NBNS_TC           0x0200
#define NBNS_RD           0x0100
#define NBNS_RA           0x0080
#define NBNS_B            0x0010
#define NBNS_RCODE_MASK   0x000F

#define NBNS_OPCODE_QUERY 0x0
#define NBNS_OPCODE_WACK  0x7 /* RFC 1002 4.2.16 */

#define NBNS_RCODE_FMT_ERR 0x1
#define NBNS_RCODE_SRV_ERR 0x2
#define NBNS_RCODE_NAM_ERR 0x3 /* 4.2.14: the name does not exist */

#define NBNS_TYPE_A      0x0001 /* 4.2.1.3 */
#define NBNS_TYPE_NS     0x0002
#define NBNS_TYPE_NULL   0x000A
#define NBNS_TYPE_NB     0x0020
#define NBNS_TYPE_NBSTAT 0x0021
#define NBNS_CLASS_IN    0x0001

#define NBNS_NB_GROUP      0x8000 /* NB_FLAGS G (4.2.13) */
#define NBNS_NAME_GROUP    0x8000 /* NAME_FLAGS (4.2.18) */
#define NBNS_NAME_DEREG    0x1000
#define NBNS_NAME_CONFLICT 0x0800
#define NBNS_NAME_ACTIVE   0x0400

#define NBNS_MAX_ADDRS  32 /* addresses kept from one positive answer */
#define NBNS_MAX_NAMES  64 /* names kept from one node status answer */
#define NBNS_WACK_MAX_S 30 /* longest WACK wait honoured */

/* Builds a NAME QUERY REQUEST (4.2.12) for name<suffix> into buf (at least
 * NBNS_MAX_PKT bytes): broadcast sets B. Returns the length or -EINVAL. */
int nbns_build_query(uint8_t *buf, size_t cap, uint16_t trn_id, const char *name, uint8_t suffix,
                     bool broadcast);

/* Builds a NODE STATUS REQUEST (4.2.17) for "*"<00>. Returns the length or
 * -EINVAL. */
int nbns_build_status(uint8_t *buf, size_t cap, uint16_t trn_id);

enum nbns_kind {
    NBNS_POSITIVE, /* addrs/naddrs, ttl */
    NBNS_NEGATIVE, /* rcode */
    NBNS_WACK,     /* ttl: seconds to keep waiting (capped) */
    NBNS_REDIRECT, /* redirect: the name server to ask instead (4.2.15) */
    NBNS_STATUS,   /* names/nnames, mac */
};

struct nbns_addr {
    uint16_t flags;  /* NB_FLAGS */
    uint8_t addr[4]; /* IPv4, network order */
};

struct nbns_node_name {
    uint8_t raw[16];
    uint16_t flags; /* NAME_FLAGS */
};

struct nbns_reply {
    enum nbns_kind kind;
    uint8_t rcode;
    uint32_t ttl;
    unsigned naddrs; /* kept (at most NBNS_MAX_ADDRS) */
    struct nbns_addr addrs[NBNS_MAX_ADDRS];
    uint8_t redirect[4];
    unsigned nnames;
    struct nbns_node_name names[NBNS_MAX_NAMES];
    uint8_t mac[6];
};

/* Parses a datagram as the reply to our request trn_id about raw (the 16
 * raw bytes asked for; for node status "*" padded with NULs) of qtype
 * (NBNS_TYPE_NB or NBNS_TYPE_NBSTAT).
 * Returns 0 (out filled), -EAGAIN (not ours: a request, another TRN_ID or
 * another name: keep waiting) or -EIO (ours but malformed). */
int nbns_parse_reply(const uint8_t *pkt, size_t len, uint16_t trn_id, const uint8_t raw[16],
                     uint16_t qtype, struct nbns_reply *out);

#endif
