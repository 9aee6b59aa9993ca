/* The network as a mount: smbfuse // MOUNTPOINT shows
 *
 *     /WORKGROUP/SERVER/SHARE/...
 *
 * Workgroups and their servers come from the master browsers
 * (smb1_find_master + smb1_server_enum), a server's disk shares from
 * smb1_share_enum; each list is cached for NET_LIST_TTL_S, a failure for
 * NET_ERR_TTL_S, so a dead server answers its next lookups at once. No
 * lock is held across the network: two lookups of the same list may both
 * ask, and the later answer is kept.
 *
 * Below SHARE every call goes to the single-share mount's callbacks
 * (fs_ops.c) on that share's own struct sfs_fs: the same caches, signing,
 * reconnects and handles. Those callbacks find their sfs_fs in the FUSE
 * context's private_data; for the length of one call we put the share's
 * there (the context belongs to the calling thread and the request) and
 * restore ours after. A share connects on first access (one connection
 * per server, shared by its shares) and is released after idle_timeout=
 * seconds (60) with no open file and no call in progress; the server's
 * connection goes with its last share.
 */
#include "fs_net_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NET_LIST_TTL_S  30
#define NET_ERR_TTL_S   10
#define NET_CONNECT_MS  3000
#define NET_MAX_ENTRIES 4096

/* A cached list: the workgroups (key ""), a workgroup's servers (key
 * "WG"), or a server's disk shares (key "\\SERVER"); key "=SERVER" is an
 * empty list that says whether an unlisted server's name resolves. */
struct net_list {
    struct net_list *next;
    char key[NET_NAME_MAX];
    char (*names)[NET_NAME_MAX];
    size_t n;
    int err;
    int64_t at_ms;
};

/* One server's connection, shared by its shares. */
struct net_server {
    struct net_server *next;
    char name[NET_NAME_MAX];
    struct smb1_conn *conn;
    unsigned users; /* shares on it; protected by net->lock */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct sfs_net *net_get(void)
{
    return fuse_get_context()->private_data;
}

/* ---- lists ---- */

struct collect {
    char (*names)[NET_NAME_MAX];
    size_t n, cap;
    bool hidden;
};

static int collect_add(struct collect *c, const char *name)
{
    if (c->n == c->cap) {
        if (c->cap >= NET_MAX_ENTRIES)
            return 0;
        size_t nc = c->cap ? c->cap * 2 : 16;
        void *p = realloc(c->names, nc * sizeof(*c->names));
        if (!p)
            return -ENOMEM;
        c->names = p;
        c->cap = nc;
    }
    snprintf(c->names[c->n++], NET_NAME_MAX, "%s", name);
    return 0;
}

static int collect_server(void *ctx, const char *name, uint32_t type, const char *comment)
{
    (void)type;
    (void)comment;
    return collect_add(ctx, name);
}

static int collect_share(void *ctx, const char *name, uint32_t type, const char *remark)
{
    (void)remark;
    struct collect *c = ctx;
    size_t n = strlen(name);
    /* Directories are disk shares only: no printers, no IPC$. */
    if ((type & 0xFF) != SMB1_SHARE_TYPE_DISK || strchr(name, '/'))
        return 0;
    if (!c->hidden && n && name[n - 1] == '$')
        return 0;
    return collect_add(c, name);
}

/* servercreds=DIR: DIR/SERVER (as named, upper or lower case) holds the
 * credentials for that server. Returns true with *c filled. */
static bool server_creds(struct sfs_net *net, const char *host, struct sfs_options *c)
{
    const char *dir = net->opts->servercreds;
    if (!dir)
        return false;
    char name[NET_NAME_MAX];
    for (int form = 0; form < 3; form++) {
        size_t n = 0;
        for (; host[n] && n + 1 < sizeof(name); n++)
            name[n] = form == 0   ? host[n]
                      : form == 1 ? (char)toupper((unsigned char)host[n])
                                  : (char)tolower((unsigned char)host[n]);
        name[n] = 0;
        char path[4096], err[256] = "";
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (access(path, F_OK) != 0)
            continue;
        memset(c, 0, sizeof(*c));
        (void)sfs_opts_lock_password(c);
        if (sfs_opts_read_credentials(path, c, err, sizeof(err)) == 0)
            return true;
        log_warn(net->log, "%s", err);
        sfs_opts_free(c);
        return false;
    }
    return false;
}

static int net_connect(struct sfs_net *net, const char *host, const char *ip, bool anon,
                       struct smb1_conn **out)
{
    struct smb1_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    sfs_opts_to_config(net->opts, &cfg);
    struct sfs_options own;
    bool have_own = !anon && server_creds(net, host, &own);
    if (have_own) {
        cfg.user = own.username;
        cfg.domain = own.domain ? own.domain : "";
        cfg.password = sfs_opts_password(&own);
    }
    cfg.host = host;
    cfg.ip = ip;
    cfg.server_netbios_name = NULL;
    cfg.resolver = net->resolver;
    cfg.log = net->log;
    cfg.connect_timeout_ms = NET_CONNECT_MS;
    if (anon) {
        cfg.sec = SMB1_SEC_NONE;
        cfg.user = "";
        cfg.password = NULL;
    }
    char why[256] = "";
    int r = smb1_conn_new(&cfg, out, why, sizeof(why));
    if (have_own)
        sfs_opts_free(&own);
    if (r)
        log_info(net->log, "%s: %s", host, why[0] ? why : strerror(-r));
    return r;
}

/* Asks a master browser: the workgroups (wg NULL) or wg's servers. */
static int browse_list(struct sfs_net *net, const char *wg, struct collect *c)
{
    struct smb1_master m;
    char why[256] = "";
    int r = smb1_find_master(net->resolver, wg, &m, why, sizeof(why));
    if (r) {
        log_info(net->log, "%s", why);
        return r == -ENOENT && wg ? -ENOENT : -EHOSTUNREACH;
    }
    const char *host = m.name[0] ? m.name : m.addr;
    for (int anon = 1; anon >= 0; anon--) {
        struct smb1_conn *conn;
        r = net_connect(net, host, m.addr, anon, &conn);
        if (r == 0) {
            r = smb1_server_enum(conn, wg ? wg : m.workgroup,
                                 wg ? SMB1_SV_TYPE_ALL : SMB1_SV_TYPE_DOMAIN_ENUM, collect_server,
                                 c);
            smb1_conn_free(conn);
        }
        if (r != -EACCES)
            break;
    }
    return r;
}

static struct net_server *server_get_locked(struct sfs_net *net, const char *name)
{
    for (struct net_server *s = net->servers; s; s = s->next)
        if (strcasecmp(s->name, name) == 0)
            return s;
    return NULL;
}

/* A reference to the connection to server (connecting when there is
 * none); give it back with server_put. */
static int server_get(struct sfs_net *net, const char *name, struct net_server **out)
{
    pthread_mutex_lock(&net->lock);
    struct net_server *s = server_get_locked(net, name);
    if (s) {
        s->users++;
        pthread_mutex_unlock(&net->lock);
        *out = s;
        return 0;
    }
    pthread_mutex_unlock(&net->lock);
    struct smb1_conn *conn;
    int r = net_connect(net, name, NULL, false, &conn);
    if (r)
        return r;
    struct net_server *ns = calloc(1, sizeof(*ns));
    if (!ns) {
        smb1_conn_free(conn);
        return -ENOMEM;
    }
    snprintf(ns->name, sizeof(ns->name), "%s", name);
    ns->conn = conn;
    pthread_mutex_lock(&net->lock);
    s = server_get_locked(net, name);
    if (s) {
        /* Another thread connected meanwhile: keep its connection. */
        s->users++;
        pthread_mutex_unlock(&net->lock);
        smb1_conn_free(conn);
        free(ns);
        *out = s;
        return 0;
    }
    ns->users = 1;
    ns->next = net->servers;
    net->servers = ns;
    pthread_mutex_unlock(&net->lock);
    *out = ns;
    return 0;
}

static void server_put(struct sfs_net *net, struct net_server *s)
{
    pthread_mutex_lock(&net->lock);
    s->users--;
    pthread_mutex_unlock(&net->lock);
}

static int shares_list(struct sfs_net *net, const char *server, struct collect *c)
{
    struct net_server *s;
    int r = server_get(net, server, &s);
    if (r)
        return r;
    r = smb1_share_enum(s->conn, collect_share, c);
    server_put(net, s);
    return r;
}

/* The list for key, from the cache or asked for now. Returns 0 with a
 * copy in *names / *n (free it), or the list's error. */
int net_list_get(struct sfs_net *net, const char *key, char (**names)[NET_NAME_MAX], size_t *n)
{
    *names = NULL;
    *n = 0;
    int64_t now = now_ms();
    pthread_mutex_lock(&net->lock);
    for (struct net_list *l = net->lists; l; l = l->next) {
        if (strcasecmp(l->key, key) != 0)
            continue;
        int64_t ttl = (l->err ? NET_ERR_TTL_S : NET_LIST_TTL_S) * 1000;
        if (now - l->at_ms < ttl) {
            int err = l->err;
            if (!err && l->n) {
                *names = malloc(l->n * sizeof(**names));
                if (*names) {
                    memcpy(*names, l->names, l->n * sizeof(**names));
                    *n = l->n;
                } else {
                    err = -ENOMEM;
                }
            }
            pthread_mutex_unlock(&net->lock);
            return err;
        }
    }
    pthread_mutex_unlock(&net->lock);

    struct collect c = {.hidden = net->opts->hidden};
    int r;
    if (key[0] == '\\') {
        r = shares_list(net, key + 1, &c);
    } else if (key[0] == '=') {
        /* Whether a server the browser does not list resolves: cached
         * like a list, so probes of missing names cost one query. */
        struct smb1_resolved res;
        r = smb1_resolve(net->resolver, key + 1, 0x20, 0, &res, NULL, 0) ? -ENOENT : 0;
    } else {
        r = browse_list(net, key[0] ? key : NULL, &c);
    }
    struct net_list *nl = calloc(1, sizeof(*nl));
    if (!nl) {
        free(c.names);
        return -ENOMEM;
    }
    snprintf(nl->key, sizeof(nl->key), "%s", key);
    nl->err = r;
    nl->at_ms = now_ms();
    if (!r) {
        nl->names = c.names;
        nl->n = c.n;
        if (c.n) {
            *names = malloc(c.n * sizeof(**names));
            if (*names) {
                memcpy(*names, c.names, c.n * sizeof(**names));
                *n = c.n;
            }
        }
    } else {
        free(c.names);
    }
    pthread_mutex_lock(&net->lock);
    for (struct net_list **pp = &net->lists; *pp; pp = &(*pp)->next) {
        if (strcasecmp((*pp)->key, key) == 0) {
            struct net_list *old = *pp;
            *pp = old->next;
            free(old->names);
            free(old);
            break;
        }
    }
    nl->next = net->lists;
    net->lists = nl;
    pthread_mutex_unlock(&net->lock);
    return r;
}

static bool list_has(struct sfs_net *net, const char *key, const char *name, int *err)
{
    char(*names)[NET_NAME_MAX];
    size_t n;
    *err = net_list_get(net, key, &names, &n);
    bool found = false;
    for (size_t i = 0; i < n && !found; i++)
        found = strcasecmp(names[i], name) == 0;
    free(names);
    return found;
}

/* ---- paths ---- */

int net_split(const char *path, struct net_path *p)
{
    memset(p, 0, sizeof(*p));
    const char *s = path;
    char *parts[3] = {p->wg, p->server, p->share};
    while (*s == '/')
        s++;
    while (*s && p->depth < 3) {
        size_t n = strcspn(s, "/");
        if (n >= NET_NAME_MAX)
            return -ENAMETOOLONG;
        memcpy(parts[p->depth], s, n);
        parts[p->depth][n] = 0;
        p->depth++;
        s += n;
        if (p->depth == 3) {
            p->rest = *s ? s : "/";
            break;
        }
        while (*s == '/')
            s++;
    }
    return 0;
}

/* Whether the directory of depth 1 or 2 exists. A server the browser
 * does not list is still there when its name resolves (a device that
 * does not announce itself, a list not yet complete). */
int net_check_dir(struct sfs_net *net, const struct net_path *p)
{
    int err;
    /* No workgroup or NetBIOS name starts with a dot: .Trash, .hidden
     * and the like are answered without asking anyone. */
    if ((p->depth >= 1 && p->wg[0] == '.') || (p->depth >= 2 && p->server[0] == '.'))
        return -ENOENT;
    if (p->depth >= 1 && !list_has(net, "", p->wg, &err))
        return err && err != -ENOENT ? err : -ENOENT;
    if (p->depth >= 2 && !list_has(net, p->wg, p->server, &err)) {
        char key[NET_NAME_MAX + 1];
        char(*names)[NET_NAME_MAX];
        size_t n;
        snprintf(key, sizeof(key), "=%s", p->server);
        int r = net_list_get(net, key, &names, &n);
        free(names);
        return r;
    }
    return 0;
}

void net_dir_stat(struct sfs_net *net, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
    st->st_uid = net->opts->uid;
    st->st_gid = net->opts->gid;
}

/* ---- shares ---- */

/* The share (connected now if need be) with one call counted. */
int net_share_enter(struct sfs_net *net, const struct net_path *p, struct net_share **out)
{
    pthread_mutex_lock(&net->lock);
    for (struct net_share *s = net->shares; s; s = s->next) {
        if (strcasecmp(s->srv->name, p->server) == 0 && strcasecmp(s->name, p->share) == 0) {
            s->calls++;
            s->used_ms = now_ms();
            pthread_mutex_unlock(&net->lock);
            *out = s;
            return 0;
        }
    }
    pthread_mutex_unlock(&net->lock);
    /* A name the share list does not show is no directory here (a
     * printer, IPC$, a hidden share without the option). */
    int err;
    char key[NET_NAME_MAX + 1];
    snprintf(key, sizeof(key), "\\%s", p->server);
    if (!list_has(net, key, p->share, &err))
        return err ? err : -ENOENT;
    struct net_server *srv;
    int r = server_get(net, p->server, &srv);
    if (r)
        return r;
    struct smb1_tree *tree;
    r = smb1_tree_connect(srv->conn, p->share, &tree);
    if (r) {
        server_put(net, srv);
        return r;
    }
    struct sfs_fs *fs = sfs_fs_new(srv->conn, tree, net->opts, net->log, &r);
    struct net_share *ns = fs ? calloc(1, sizeof(*ns)) : NULL;
    if (!ns) {
        sfs_fs_free(fs);
        smb1_tree_free(tree);
        server_put(net, srv);
        return fs ? -ENOMEM : r;
    }
    snprintf(ns->name, sizeof(ns->name), "%s", p->share);
    ns->srv = srv;
    ns->tree = tree;
    ns->fs = fs;
    ns->calls = 1;
    ns->used_ms = now_ms();
    pthread_mutex_lock(&net->lock);
    ns->next = net->shares;
    net->shares = ns;
    pthread_mutex_unlock(&net->lock);
    log_info(net->log, "connected to //%s/%s", srv->name, p->share);
    *out = ns;
    return 0;
}

void net_share_leave(struct sfs_net *net, struct net_share *s, int opened)
{
    pthread_mutex_lock(&net->lock);
    s->calls--;
    s->opens = (unsigned)((int)s->opens + opened);
    s->used_ms = now_ms();
    pthread_mutex_unlock(&net->lock);
}

static void share_free(struct net_share *s)
{
    sfs_fs_free(s->fs);
    smb1_tree_free(s->tree);
    free(s);
}

static void *reaper_main(void *arg)
{
    struct sfs_net *net = arg;
    int64_t idle_ms = (int64_t)(net->opts->idle_timeout > 0 ? net->opts->idle_timeout : 60) * 1000;
    pthread_mutex_lock(&net->lock);
    while (!net->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += idle_ms < 10000 ? 1 : 5;
        pthread_cond_timedwait(&net->reaper_cond, &net->lock, &ts);
        if (net->stop)
            break;
        int64_t now = now_ms();
        struct net_share *idle = NULL;
        for (struct net_share **pp = &net->shares; *pp;) {
            struct net_share *s = *pp;
            if (!s->calls && !s->opens && now - s->used_ms >= idle_ms) {
                *pp = s->next;
                s->srv->users--;
                s->next = idle;
                idle = s;
                continue;
            }
            pp = &s->next;
        }
        struct net_server *gone = NULL;
        for (struct net_server **pp = &net->servers; *pp;) {
            struct net_server *s = *pp;
            if (!s->users) {
                *pp = s->next;
                s->next = gone;
                gone = s;
                continue;
            }
            pp = &s->next;
        }
        pthread_mutex_unlock(&net->lock);
        while (idle) {
            struct net_share *s = idle;
            idle = s->next;
            log_info(net->log, "releasing idle //%s/%s", s->srv->name, s->name);
            share_free(s);
        }
        while (gone) {
            struct net_server *s = gone;
            gone = s->next;
            smb1_conn_free(s->conn);
            free(s);
        }
        pthread_mutex_lock(&net->lock);
    }
    pthread_mutex_unlock(&net->lock);
    return NULL;
}

struct sfs_net *sfs_net_new(const struct sfs_options *opts, struct smb1_log *log, int *err)
{
    struct sfs_net *net = calloc(1, sizeof(*net));
    if (!net) {
        *err = -ENOMEM;
        return NULL;
    }
    net->opts = opts;
    net->log = log;
    /* Byte-range locks stay local here: the table has no lock callbacks. */
    net->inner = sfs_fs_operations(false);
    struct smb1_resolve_config rc = {.order = opts->resolve,
                                     .wins_timeout_ms = opts->wins_timeout,
                                     .wins = opts->wins,
                                     .log = log};
    char why[256] = "";
    *err = smb1_resolver_new(&rc, &net->resolver, why, sizeof(why));
    if (*err) {
        log_err(log, "%s", why);
        free(net);
        return NULL;
    }
    pthread_mutex_init(&net->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&net->reaper_cond, &ca);
    pthread_condattr_destroy(&ca);
    net->reaper_running = pthread_create(&net->reaper, NULL, reaper_main, net) == 0;
    return net;
}

void sfs_net_free(struct sfs_net *net)
{
    if (!net)
        return;
    pthread_mutex_lock(&net->lock);
    net->stop = true;
    pthread_cond_signal(&net->reaper_cond);
    pthread_mutex_unlock(&net->lock);
    if (net->reaper_running)
        pthread_join(net->reaper, NULL);
    while (net->shares) {
        struct net_share *s = net->shares;
        net->shares = s->next;
        share_free(s);
    }
    while (net->servers) {
        struct net_server *s = net->servers;
        net->servers = s->next;
        smb1_conn_free(s->conn);
        free(s);
    }
    while (net->lists) {
        struct net_list *l = net->lists;
        net->lists = l->next;
        free(l->names);
        free(l);
    }
    smb1_resolver_free(net->resolver);
    pthread_cond_destroy(&net->reaper_cond);
    pthread_mutex_destroy(&net->lock);
    free(net);
}
