#include "rpc/browse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "netbios/nbname.h"
#include "netbios/resolve.h"
#include "ops/trans.h"
#include "rpc/rap.h"
#include "session/conn.h"
#include "wire/wire.h"

int browse_build_enum(uint8_t *buf, size_t cap, uint16_t bufsize, uint32_t types,
                      const char *workgroup, const char *first)
{
    struct wire_writer w;
    wire_writer_init(&w, buf, cap);
    wire_put_u16(&w, first ? RAP_NetServerEnum3 : RAP_NetServerEnum2);
    const char *pdesc = first ? "WrLehDzz" : "WrLehDz";
    wire_put_bytes(&w, pdesc, strlen(pdesc) + 1);
    wire_put_bytes(&w, "B16BBDz", 8);
    wire_put_u16(&w, 1); /* Level */
    wire_put_u16(&w, bufsize);
    wire_put_u32(&w, types);
    const char *wg = workgroup ? workgroup : "";
    wire_put_bytes(&w, wg, strlen(wg) + 1);
    if (first)
        wire_put_bytes(&w, first, strlen(first) + 1);
    return wire_wok(&w) ? (int)w.pos : -EINVAL;
}

int browse_decode(const uint8_t *param, size_t plen, const uint8_t *data, size_t dlen,
                  const char *skip, smb1_server_cb cb, void *ctx, char last[17], bool *more)
{
    uint16_t converter, count;
    int e = rap_enum_head(param, plen, &converter, &count, more);
    if (e)
        return e;
    struct wire_reader dr;
    wire_reader_init(&dr, data, dlen);
    for (uint16_t i = 0; i < count; i++) {
        const uint8_t *name = wire_bytes(&dr, 16);
        (void)wire_u8(&dr); /* VersionMajor */
        (void)wire_u8(&dr); /* VersionMinor */
        uint32_t type = wire_u32(&dr);
        uint32_t cptr = wire_u32(&dr);
        if (!wire_ok(&dr))
            return -EIO;
        char sname[17], comment[256];
        rap_name(sname, sizeof(sname), name, 16);
        rap_string(data, dlen, converter, cptr, comment, sizeof(comment));
        if (!sname[0])
            continue;
        memcpy(last, sname, strlen(sname) + 1);
        /* NetServerEnum3 starts with the name asked for: seen already. */
        if (skip && strcasecmp(sname, skip) <= 0)
            continue;
        int r = cb(ctx, sname, type, comment);
        if (r)
            return r;
    }
    return 0;
}

int smb1_server_enum(struct smb1_conn *c, const char *workgroup, uint32_t types, smb1_server_cb cb,
                     void *ctx)
{
    CONN_OP(c);
    struct smb1_tree *t;
    int r = smb1_tree_connect(c, "IPC$", &t);
    if (r)
        return r;
    char last[17] = "", skip[17] = "";
    /* A small buffer (browse_bufsize=) makes a server split its list. */
    uint16_t bufsize = conn_config(c)->browse_bufsize;
    if (!bufsize)
        bufsize = RAP_RECV_BUF;
    for (int round = 0; round < BROWSE_MAX_ROUNDS; round++) {
        uint8_t pp[128];
        int n = browse_build_enum(pp, sizeof(pp), bufsize, types, workgroup, round ? skip : NULL);
        if (n < 0) {
            r = n;
            break;
        }
        struct trans_resp rs;
        r = rap_call(t, pp, (uint32_t)n, bufsize, &rs, CONN_IDEMPOTENT);
        if (r)
            break;
        bool more = false;
        r = browse_decode(rs.param, rs.param_len, rs.data, rs.data_len, round ? skip : NULL, cb,
                          ctx, last, &more);
        trans_resp_free(&rs);
        /* Done, failed, or no progress (a server that repeats itself). */
        if (r || !more || !last[0] || strcasecmp(last, skip) == 0)
            break;
        memcpy(skip, last, sizeof(skip));
        log_debug(conn_log(c), "browse list of %s: more data, NetServerEnum3 from %s",
                  workgroup ? workgroup : "-", skip);
    }
    smb1_tree_free(t);
    return r;
}

static int try_master(struct smb1_resolver *r, const char *name, uint8_t suffix,
                      struct smb1_master *out, char *tried, size_t cap)
{
    struct smb1_resolved res;
    char why[256];
    int e = smb1_resolve(r, name, suffix, 0, &res, why, sizeof(why));
    uint8_t raw[16];
    char shown[24];
    nbname_raw(name, suffix, raw);
    nbname_format(raw, shown);
    if (strcmp(name, NBNAME_MSBROWSE) == 0)
        snprintf(shown, sizeof(shown), "__MSBROWSE__<01>");
    if (e) {
        size_t n = strlen(tried);
        snprintf(tried + n, cap - n, "%s%s", n ? ", " : "", shown);
        return e;
    }
    snprintf(out->addr, sizeof(out->addr), "%s", res.addr[0]);
    snprintf(out->how, sizeof(out->how), "%s %s", shown, res.method);
    return 0;
}

/* No workgroup given and no browser answers __MSBROWSE__ (a WINS-only
 * network: that name is only ever broadcast): a WINS server's node
 * status names its workgroup, and WINS knows that workgroup's domain
 * master browser (<1B>). */
static int master_from_wins(struct smb1_resolver *r, struct smb1_master *out, char *tried,
                            size_t cap)
{
    char wins[RESOLVE_MAX_WINS][16];
    unsigned n = resolver_wins(r, wins, RESOLVE_MAX_WINS);
    int e = -ENOENT;
    for (unsigned i = 0; i < n && e; i++) {
        struct smb1_node_status st;
        if (smb1_node_status(r, wins[i], &st) || !st.workgroup[0]) {
            size_t l = strlen(tried);
            snprintf(tried + l, cap - l, "%sthe workgroup of WINS %s", l ? ", " : "", wins[i]);
            continue;
        }
        e = try_master(r, st.workgroup, NBNAME_SUFFIX_DMB, out, tried, cap);
        if (e)
            e = try_master(r, st.workgroup, NBNAME_SUFFIX_LMB, out, tried, cap);
    }
    return e;
}

int smb1_find_master(struct smb1_resolver *r, const char *workgroup, struct smb1_master *out,
                     char *why, size_t why_len)
{
    memset(out, 0, sizeof(*out));
    char tried[192] = "";
    int e = -ENOENT;
    if (workgroup && workgroup[0]) {
        if (!nbname_valid(workgroup)) {
            snprintf(why, why_len, "%s is not a workgroup name (1 to 15 characters, no dot)",
                     workgroup);
            return -EINVAL;
        }
        e = try_master(r, workgroup, NBNAME_SUFFIX_LMB, out, tried, sizeof(tried));
        if (e)
            e = try_master(r, workgroup, NBNAME_SUFFIX_DMB, out, tried, sizeof(tried));
    }
    if (e)
        e = try_master(r, NBNAME_MSBROWSE, NBNAME_SUFFIX_BROWSE, out, tried, sizeof(tried));
    if (e && !(workgroup && workgroup[0]))
        e = master_from_wins(r, out, tried, sizeof(tried));
    if (e) {
        if (why && why_len)
            snprintf(why, why_len, "no master browser found (tried %s)", tried);
        return e == -ENOMEM ? e : -ENOENT;
    }
    struct smb1_node_status st;
    if (smb1_node_status(r, out->addr, &st) == 0) {
        snprintf(out->name, sizeof(out->name), "%s", st.server);
        snprintf(out->workgroup, sizeof(out->workgroup), "%s", st.workgroup);
    }
    return 0;
}
