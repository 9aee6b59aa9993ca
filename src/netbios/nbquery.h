/* NetBIOS name service queries over UDP (RFC 1001 15, RFC 1002 4.2): a
 * name query broadcast on every IPv4 interface or sent to a name server
 * (WINS), and node status. One socket per call, no state kept between
 * calls (the resolver above caches).
 *
 * Broadcasts go to each up, non-loopback interface's directed broadcast
 * address, never to 255.255.255.255 (which has no route in a namespace or
 * on a host without a default route). Retransmissions reuse the TRN_ID
 * (RFC 1002 4.2.1.1), so a late answer to the first copy still counts.
 */
#ifndef SMBFUSE_NBQUERY_H
#define SMBFUSE_NBQUERY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "netbios/nbns.h"

#define NBQ_BCAST_TIMEOUT_MS  250  /* RFC 1002 6: BCAST_REQ_RETRY_TIMEOUT */
#define NBQ_BCAST_RETRIES     3    /* BCAST_REQ_RETRY_COUNT */
#define NBQ_UCAST_TIMEOUT_MS  5000 /* UCAST_REQ_RETRY_TIMEOUT */
#define NBQ_UCAST_RETRIES     3    /* UCAST_REQ_RETRY_COUNT */
#define NBQ_STATUS_TIMEOUT_MS 1000 /* node status to a host: Samba's 1 s x 2 */
#define NBQ_STATUS_RETRIES    2
#define NBQ_MAX_REDIRECTS     3
#define NBQ_MAX_BCAST         16 /* interfaces broadcast on */

struct nbq_opts {
    uint16_t port;         /* 0: 137 */
    int bcast_timeout_ms;  /* 0: NBQ_BCAST_TIMEOUT_MS */
    int bcast_retries;     /* 0: NBQ_BCAST_RETRIES */
    int ucast_timeout_ms;  /* 0: NBQ_UCAST_TIMEOUT_MS */
    int ucast_retries;     /* 0: NBQ_UCAST_RETRIES */
    int status_timeout_ms; /* 0: NBQ_STATUS_TIMEOUT_MS */
    int status_retries;    /* 0: NBQ_STATUS_RETRIES */
    /* Tests only: "broadcast" to these instead of the interfaces'. */
    const struct in_addr *bcast_override;
    unsigned nbcast_override;
    struct smb1_log *log; /* may be NULL */
};

struct nbq_result {
    unsigned naddrs;
    struct in_addr addrs[NBNS_MAX_ADDRS];
    bool group;   /* a group name (several owners possible) */
    uint32_t ttl; /* seconds, as answered */
};

/* Asks the name server at server for name<suffix>. Follows REDIRECT (up
 * to NBQ_MAX_REDIRECTS) and waits as a WACK says. Returns 0, -ENOENT (a
 * negative answer: the name is not registered), -ETIMEDOUT (no answer),
 * -ECONNREFUSED (nothing listens there), -EIO (only malformed or error
 * answers), -EINVAL (not a NetBIOS name) or another -errno. */
int nbq_unicast(const struct nbq_opts *o, struct in_addr server, const char *name, uint8_t suffix,
                struct nbq_result *out);

/* Broadcasts a query for name<suffix> on every interface. A unique name
 * returns with the first answer; a group name collects the answers of
 * the whole retry interval. Returns 0, -ENOENT (nobody answered),
 * -ENETUNREACH (no interface can broadcast), -EINVAL or -errno. */
int nbq_broadcast(const struct nbq_opts *o, const char *name, uint8_t suffix,
                  struct nbq_result *out);

/* Node status of host: its names (out->names) and unit ID. Returns 0,
 * -ETIMEDOUT, -ECONNREFUSED, -EIO or -errno. */
int nbq_status(const struct nbq_opts *o, struct in_addr host, struct nbns_reply *out);

#endif
