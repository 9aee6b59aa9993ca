/* The share argument of smbfuse: //server/share[/prefix], "//" (or "/",
 * as mount(8) passes "//" on) for the network mount, //server alone for
 * --list. */
#include "fs_opts_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* //server/share[/prefix] (or \\server\share\prefix); server may be
 * [IPv6]. */
int parse_source(struct parse_state *ps, const char *arg)
{
    struct sfs_options *o = ps->o;
    char *s = strdup(arg), *host, *share, *rest, *p;
    int rc;

    if (!s)
        return fail(ps, -ENOMEM, "out of memory");
    for (p = s; *p; p++)
        if (*p == '\\')
            *p = '/';
    /* mount(8) hands a source of "//" on as the path it canonicalizes
     * to, "/": no share is called that, so it is the network too. */
    if (strcmp(s, "/") == 0 && o->mode == SFS_MODE_MOUNT) {
        free(s);
        s = strdup("//");
        if (!s)
            return fail(ps, -ENOMEM, "out of memory");
    }
    if (strncmp(s, "//", 2) != 0) {
        rc = fail(ps, -EINVAL, "'%s' is not a share: expected //server/share", arg);
        goto out_free;
    }
    if (!s[2] || strcmp(s, "///") == 0) {
        if (o->mode != SFS_MODE_MOUNT) {
            rc = fail(ps, -EINVAL, "'%s' names no server", arg);
            goto out_free;
        }
        /* "//": the network itself. */
        o->mode = SFS_MODE_NETMOUNT;
        free(o->source);
        o->source = s;
        return 0;
    }
    host = s + 2;
    if (*host == '[') {
        p = strchr(host, ']');
        if (!p || (p[1] && p[1] != '/') || p == host + 1) {
            rc = fail(ps, -EINVAL, "'%s': bad [address] in server name", arg);
            goto out_free;
        }
        rc = set_str(ps, &o->host, host + 1, (size_t)(p - host - 1));
        share = p[1] ? p + 2 : p + 1;
    } else {
        p = strchr(host, '/');
        if (p == host) {
            rc = fail(ps, -EINVAL, "'%s' has no server name: expected //server/share", arg);
            goto out_free;
        }
        rc = set_str(ps, &o->host, host, p ? (size_t)(p - host) : strlen(host));
        share = p ? p + 1 : host + strlen(host);
    }
    if (rc)
        goto out_free;
    rest = strchr(share, '/');
    if (o->mode == SFS_MODE_LIST && !*share) {
        free(o->source);
        o->source = s;
        return 0;
    }
    if ((rest ? rest == share : !*share)) {
        rc = fail(ps, -EINVAL, "'%s' has no share name: expected //server/share", arg);
        goto out_free;
    }
    rc = set_str(ps, &o->share, share, rest ? (size_t)(rest - share) : strlen(share));
    if (rc)
        goto out_free;
    while (rest && *rest == '/')
        rest++;
    rc = set_str(ps, &o->prefix, rest ? rest : "", rest ? strlen(rest) : 0);
    if (rc)
        goto out_free;
    for (size_t n = strlen(o->prefix); n > 0 && o->prefix[n - 1] == '/'; n--)
        o->prefix[n - 1] = '\0';
    free(o->source);
    o->source = s;
    return 0;

out_free:
    free(s);
    return rc;
}
