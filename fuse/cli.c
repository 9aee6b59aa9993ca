#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smb1.h"

static int make_resolver(const struct sfs_options *o, struct smb1_log *lg, struct smb1_resolver **r)
{
    struct smb1_resolve_config rc = {
        .order = o->resolve, .wins_timeout_ms = o->wins_timeout, .wins = o->wins, .log = lg};
    char why[256] = "";
    int e = smb1_resolver_new(&rc, r, why, sizeof(why));
    if (e)
        log_err(lg, "%s", why[0] ? why : strerror(-e));
    return e;
}

/* Connects as the options say, through resolver r; with anon, as nobody
 * (a null session) whatever credentials were given. */
static int connect_to(const struct sfs_options *o, struct smb1_resolver *r, const char *host,
                      const char *ip, const char *nbname, bool anon, struct smb1_log *lg,
                      struct smb1_conn **c, char *why, size_t why_len)
{
    struct smb1_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    sfs_opts_to_config(o, &cfg);
    cfg.host = host;
    cfg.ip = ip;
    if (nbname && nbname[0])
        cfg.server_netbios_name = nbname;
    cfg.resolver = r;
    cfg.log = lg;
    cfg.connect_timeout_ms = 5000;
    if (anon) {
        cfg.sec = SMB1_SEC_NONE;
        cfg.user = "";
        cfg.password = NULL;
    }
    return smb1_conn_new(&cfg, c, why, why_len);
}

static const char *share_type(uint32_t t)
{
    switch (t & 0xFF) {
    case SMB1_SHARE_TYPE_DISK:
        return "disk";
    case SMB1_SHARE_TYPE_PRINT:
        return "printer";
    case SMB1_SHARE_TYPE_DEVICE:
        return "device";
    case SMB1_SHARE_TYPE_IPC:
        return "ipc";
    default:
        return "other";
    }
}

static int print_share(void *ctx, const char *name, uint32_t type, const char *remark)
{
    FILE *out = ctx;
    size_t n = strlen(name);
    bool hidden = n > 0 && name[n - 1] == '$';
    char t[24];
    snprintf(t, sizeof(t), "%s%s", share_type(type), hidden ? ",hidden" : "");
    fprintf(out, "%-24s %-14s %s\n", name, t, remark);
    return 0;
}

static int cli_list(struct sfs_options *o, struct smb1_resolver *r, struct smb1_log *lg, FILE *out)
{
    struct smb1_conn *c = NULL;
    char why[256] = "";
    int e = connect_to(o, r, o->host, o->ip, o->servernetbiosname, o->sec == SMB1_SEC_NONE, lg, &c,
                       why, sizeof(why));
    sfs_opts_wipe_password(o);
    if (e) {
        log_err(lg, "cannot connect to %s: %s", o->host, why[0] ? why : strerror(-e));
        return e == -ENOENT ? SFS_EXIT_NOTFOUND : SFS_EXIT_FAIL;
    }
    fprintf(out, "%-24s %-14s %s\n", "Share", "Type", "Comment");
    e = smb1_share_enum(c, print_share, out);
    smb1_conn_free(c);
    if (e) {
        log_err(lg, "cannot list the shares of %s: %s", o->host, strerror(-e));
        return SFS_EXIT_FAIL;
    }
    return SFS_EXIT_OK;
}

struct browse_out {
    FILE *out;
    const struct smb1_master *m;
    bool domains; /* a list of workgroups */
};

static int print_server(void *ctx, const char *name, uint32_t type, const char *comment)
{
    struct browse_out *b = ctx;
    /* A workgroup's comment is its master's name; a browser fresh from
     * its election may not have filled in its own yet. */
    (void)type;
    if (b->domains && !comment[0] && strcasecmp(name, b->m->workgroup) == 0)
        comment = b->m->name;
    fprintf(b->out, "%-16s %s\n", name, comment);
    return 0;
}

static int cli_browse(struct sfs_options *o, struct smb1_resolver *r, struct smb1_log *lg,
                      FILE *out)
{
    const char *wg = o->target;
    struct smb1_master m;
    char why[256] = "";
    int e = smb1_find_master(r, wg, &m, why, sizeof(why));
    if (e) {
        sfs_opts_wipe_password(o);
        log_err(lg, "%s%s%s", wg ? wg : "", wg ? ": " : "", why[0] ? why : strerror(-e));
        return e == -ENOENT ? SFS_EXIT_NOTFOUND : SFS_EXIT_FAIL;
    }
    log_info(lg, "master browser %s (%s) found as %s", m.name[0] ? m.name : "?", m.addr, m.how);
    const char *host = m.name[0] ? m.name : m.addr;
    /* Anonymous first (a browser answers a null session); then the
     * credentials, if any were given. */
    struct smb1_conn *c = NULL;
    bool anon = true;
    for (;;) {
        e = connect_to(o, r, host, m.addr, m.name, anon, lg, &c, why, sizeof(why));
        if (e == 0) {
            const char *ask = wg ? wg : m.workgroup;
            uint32_t types = wg ? SMB1_SV_TYPE_ALL : SMB1_SV_TYPE_DOMAIN_ENUM;
            if (anon || !wg)
                fprintf(out, "%-16s %s\n", wg ? "Server" : "Workgroup", wg ? "Comment" : "Master");
            struct browse_out bo = {out, &m, !wg};
            e = smb1_server_enum(c, ask, types, print_server, &bo);
            smb1_conn_free(c);
            c = NULL;
            if (e)
                snprintf(why, sizeof(why), "the browse list: %s", strerror(-e));
        }
        if (e == 0 || !anon || o->anon_default || e != -EACCES)
            break;
        anon = false;
    }
    sfs_opts_wipe_password(o);
    if (e) {
        log_err(lg, "cannot browse %s (%s): %s", host, m.addr, why[0] ? why : strerror(-e));
        return SFS_EXIT_FAIL;
    }
    return SFS_EXIT_OK;
}

static int cli_lookup(struct sfs_options *o, struct smb1_resolver *r, struct smb1_log *lg,
                      FILE *out)
{
    sfs_opts_wipe_password(o);
    struct smb1_resolved res;
    char why[256] = "";
    /* NAME or NAME#XX (nmblookup's way to give a suffix). */
    char name[64];
    unsigned suffix = 0x20;
    snprintf(name, sizeof(name), "%s", o->target);
    char *hash = strchr(name, '#');
    if (hash) {
        char *end;
        suffix = (unsigned)strtoul(hash + 1, &end, 16);
        if (!hash[1] || *end || suffix > 0xFF) {
            log_err(lg, "%s: expected NAME or NAME#XX (a hex suffix)", o->target);
            return SFS_EXIT_USAGE;
        }
        *hash = 0;
    }
    int e = smb1_resolve(r, name, (uint8_t)suffix, 0, &res, why, sizeof(why));
    if (e) {
        log_err(lg, "%s", why[0] ? why : strerror(-e));
        return e == -ENOENT ? SFS_EXIT_NOTFOUND : SFS_EXIT_FAIL;
    }
    if (strcmp(res.method, "ip") != 0) {
        for (unsigned i = 0; i < res.count; i++)
            fprintf(out, "%s %s<%02x>%s via %s%s%s\n", res.addr[i], name, suffix,
                    res.group ? " (group)" : "", res.method, res.source[0] ? " " : "", res.source);
        return SFS_EXIT_OK;
    }
    /* An address: its names, by node status (nmblookup -A). */
    struct smb1_node_status st;
    e = smb1_node_status(r, res.addr[0], &st);
    if (e) {
        log_err(lg, "no node status from %s: %s", res.addr[0], strerror(-e));
        return e == -ETIMEDOUT ? SFS_EXIT_NOTFOUND : SFS_EXIT_FAIL;
    }
    fprintf(out, "Names of %s:\n", res.addr[0]);
    for (unsigned i = 0; i < st.count; i++)
        fprintf(out, "  %-15s <%02x> %s%s\n", st.names[i].name, st.names[i].suffix,
                st.names[i].group ? "group" : "unique", st.names[i].active ? "" : " (inactive)");
    fprintf(out, "  MAC %02x:%02x:%02x:%02x:%02x:%02x\n", st.mac[0], st.mac[1], st.mac[2],
            st.mac[3], st.mac[4], st.mac[5]);
    return SFS_EXIT_OK;
}

int sfs_cli_run(struct sfs_options *o, struct smb1_log *lg, FILE *out)
{
    struct smb1_resolver *r = NULL;
    if (make_resolver(o, lg, &r)) {
        sfs_opts_wipe_password(o);
        return SFS_EXIT_USAGE;
    }
    int st;
    switch (o->mode) {
    case SFS_MODE_LIST:
        st = cli_list(o, r, lg, out);
        break;
    case SFS_MODE_BROWSE:
        st = cli_browse(o, r, lg, out);
        break;
    case SFS_MODE_LOOKUP:
        st = cli_lookup(o, r, lg, out);
        break;
    default:
        st = SFS_EXIT_USAGE;
        break;
    }
    fflush(out);
    smb1_resolver_free(r);
    return st;
}
