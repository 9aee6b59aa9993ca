/* The name resolver behind smb1_resolve (smb1.h): resolve order, DNS,
 * WINS and broadcast through nbquery.c, and a small TTL cache. */
#ifndef SMBFUSE_RESOLVE_H
#define SMBFUSE_RESOLVE_H

#include "smb1.h"

#define RESOLVE_CACHE_ENTRIES 64
#define RESOLVE_MAX_WINS      8
#define RESOLVE_TTL_ZERO_S    60 /* kept this long when an answer says TTL 0 */

/* Whether s is an IPv4 or IPv6 address literal ("[v6]" too). */
bool resolve_is_address(const char *s);

/* The WINS servers of r (wins=), as numeric addresses: how many were
 * copied into out (at most max). */
unsigned resolver_wins(const struct smb1_resolver *r, char (*out)[16], unsigned max);

#endif
