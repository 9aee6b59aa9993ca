#include "netbios/resolve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "netbios/nbquery.h"
#include "support/clock.h"

enum method { M_HOST, M_WINS, M_BCAST };
static const char *const method_names[] = {"host", "wins", "bcast"};

struct cache_ent {
    struct cache_ent *next;
    uint8_t raw[16];
    int64_t expires_ms;
    struct smb1_resolved res;
};

struct smb1_resolver {
    struct nbq_opts q; /* immutable after new */
    enum method order[3];
    unsigned norder;
    struct in_addr wins[RESOLVE_MAX_WINS];
    unsigned nwins;
    pthread_mutex_t lock;    /* protects cache and ncache */
    struct cache_ent *cache; /* most recently stored first */
    unsigned ncache;
};

static void say(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t n, const char *fmt, ...)
{
    if (!why || !n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
}

bool resolve_is_address(const char *s)
{
    struct in_addr a4;
    struct in6_addr a6;
    char b[64];
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']' && n - 2 < sizeof(b)) {
        memcpy(b, s + 1, n - 2);
        b[n - 2] = 0;
        s = b;
    }
    return inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1;
}

int smb1_resolver_new(const struct smb1_resolve_config *rc, struct smb1_resolver **out, char *why,
                      size_t why_len)
{
    *out = NULL;
    struct smb1_resolver *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->q.ucast_timeout_ms = (SMB1_WINS_TIMEOUT_MS + NBQ_UCAST_RETRIES - 1) / NBQ_UCAST_RETRIES;
    if (rc) {
        r->q.port = rc->nbns_port;
        r->q.bcast_timeout_ms = rc->bcast_timeout_ms;
        r->q.ucast_timeout_ms = rc->ucast_timeout_ms;
        if (!r->q.ucast_timeout_ms) {
            int total = rc->wins_timeout_ms > 0 ? rc->wins_timeout_ms : SMB1_WINS_TIMEOUT_MS;
            r->q.ucast_timeout_ms = (total + NBQ_UCAST_RETRIES - 1) / NBQ_UCAST_RETRIES;
        }
        r->q.log = rc->log;
    }
    const char *order = rc && rc->order && rc->order[0] ? rc->order : "host,wins,bcast";
    char word[16];
    for (const char *p = order; *p;) {
        size_t n = strcspn(p, ", ");
        if (n == 0 || n >= sizeof(word)) {
            if (n == 0) {
                p++;
                continue;
            }
            goto bad_order;
        }
        memcpy(word, p, n);
        word[n] = 0;
        p += n;
        int m = -1;
        for (int i = 0; i < 3; i++)
            if (strcasecmp(word, method_names[i]) == 0)
                m = i;
        if (m < 0)
            goto bad_order;
        bool dup = false;
        for (unsigned i = 0; i < r->norder; i++)
            dup |= r->order[i] == (enum method)m;
        if (!dup)
            r->order[r->norder++] = (enum method)m;
    }
    if (!r->norder)
        goto bad_order;
    if (rc && rc->wins) {
        for (const char *p = rc->wins; *p;) {
            size_t n = strcspn(p, ", ");
            if (n == 0) {
                p++;
                continue;
            }
            char a[64];
            if (n >= sizeof(a) || r->nwins >= RESOLVE_MAX_WINS) {
                say(why, why_len, "wins=: too many or too long addresses");
                free(r);
                return -EINVAL;
            }
            memcpy(a, p, n);
            a[n] = 0;
            p += n;
            if (inet_pton(AF_INET, a, &r->wins[r->nwins]) != 1) {
                say(why, why_len, "wins=%s: not an IPv4 address", a);
                free(r);
                return -EINVAL;
            }
            r->nwins++;
        }
    }
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return 0;
bad_order:
    say(why, why_len, "resolve=%s: use host, wins and bcast, separated by commas", order);
    free(r);
    return -EINVAL;
}

void smb1_resolver_free(struct smb1_resolver *r)
{
    if (!r)
        return;
    while (r->cache) {
        struct cache_ent *e = r->cache;
        r->cache = e->next;
        free(e);
    }
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* A cached answer: live ones only, or (stale) any. */
static bool cache_get(struct smb1_resolver *r, const uint8_t raw[16], bool stale,
                      struct smb1_resolved *out)
{
    bool hit = false;
    int64_t now = clock_mono_ms();
    pthread_mutex_lock(&r->lock);
    for (struct cache_ent *e = r->cache; e; e = e->next) {
        if (memcmp(e->raw, raw, 16) == 0 && (stale || e->expires_ms > now)) {
            *out = e->res;
            out->cached = true;
            hit = true;
            break;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return hit;
}

static void cache_put(struct smb1_resolver *r, const uint8_t raw[16],
                      const struct smb1_resolved *res)
{
    uint32_t ttl = res->ttl ? res->ttl : RESOLVE_TTL_ZERO_S;
    if (ttl > SMB1_RESOLVE_CACHE_MAX_S)
        ttl = SMB1_RESOLVE_CACHE_MAX_S;
    struct cache_ent *ne = calloc(1, sizeof(*ne));
    if (!ne)
        return; /* a cache that cannot grow only costs a query */
    memcpy(ne->raw, raw, 16);
    ne->expires_ms = clock_mono_ms() + (int64_t)ttl * 1000;
    ne->res = *res;
    pthread_mutex_lock(&r->lock);
    struct cache_ent **pp = &r->cache;
    while (*pp) {
        if (memcmp((*pp)->raw, raw, 16) == 0) {
            struct cache_ent *old = *pp;
            *pp = old->next;
            free(old);
            r->ncache--;
            continue;
        }
        pp = &(*pp)->next;
    }
    ne->next = r->cache;
    r->cache = ne;
    r->ncache++;
    if (r->ncache > RESOLVE_CACHE_ENTRIES) {
        /* Drop the oldest (the tail). */
        struct cache_ent **tail = &r->cache;
        while ((*tail)->next)
            tail = &(*tail)->next;
        free(*tail);
        *tail = NULL;
        r->ncache--;
    }
    pthread_mutex_unlock(&r->lock);
}

static int by_host(const char *name, struct smb1_resolved *out)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(name, NULL, &hints, &res);
    if (g != 0)
        return g == EAI_MEMORY ? -ENOMEM : g == EAI_AGAIN ? -EAGAIN : -ENOENT;
    for (struct addrinfo *ai = res; ai && out->count < SMB1_RESOLVE_MAX; ai = ai->ai_next) {
        char a[48];
        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, a, sizeof(a), NULL, 0, NI_NUMERICHOST))
            continue;
        bool dup = false;
        for (unsigned i = 0; i < out->count && !dup; i++)
            dup = strcmp(out->addr[i], a) == 0;
        if (!dup)
            snprintf(out->addr[out->count++], sizeof(out->addr[0]), "%s", a);
    }
    freeaddrinfo(res);
    return out->count ? 0 : -ENOENT;
}

static void from_nbq(const struct nbq_result *q, struct smb1_resolved *out)
{
    for (unsigned i = 0; i < q->naddrs && out->count < SMB1_RESOLVE_MAX; i++)
        inet_ntop(AF_INET, &q->addrs[i], out->addr[out->count++], sizeof(out->addr[0]));
    out->group = q->group;
    out->ttl = q->ttl;
}

static const char *err_word(int e)
{
    switch (e) {
    case -ENOENT:
        return "not found";
    case -ETIMEDOUT:
        return "no answer";
    case -ECONNREFUSED:
        return "refused";
    case -ENETUNREACH:
        return "no broadcast interface";
    case -EIO:
        return "bad answer";
    case -EAGAIN:
        return "no DNS answer";
    default:
        return strerror(-e);
    }
}

/* Appends "what (how)" to the tried list. */
static void tried_add(char *t, size_t cap, const char *what, int e)
{
    size_t n = strlen(t);
    snprintf(t + n, cap - n, "%s%s (%s)", n ? ", " : "", what, err_word(e));
}

int smb1_resolve(struct smb1_resolver *r, const char *name, uint8_t suffix, unsigned flags,
                 struct smb1_resolved *out, char *why, size_t why_len)
{
    memset(out, 0, sizeof(*out));
    if (!name || !name[0]) {
        say(why, why_len, "no name given");
        return -EINVAL;
    }
    if (resolve_is_address(name)) {
        size_t n = strlen(name);
        if (name[0] == '[' && n >= 2)
            snprintf(out->addr[0], sizeof(out->addr[0]), "%.*s", (int)(n - 2), name + 1);
        else
            snprintf(out->addr[0], sizeof(out->addr[0]), "%s", name);
        out->count = 1;
        snprintf(out->method, sizeof(out->method), "ip");
        return 0;
    }
    bool netbios = nbname_valid(name);
    uint8_t raw[16];
    if (netbios) {
        nbname_raw(name, suffix, raw);
        if (!(flags & SMB1_RESOLVE_FRESH) && cache_get(r, raw, false, out))
            return 0;
    }
    char tried[256] = "";
    int last = -ENOENT;
    for (unsigned i = 0; i < r->norder; i++) {
        int e = last; /* a method not handled leaves last as it was */
        switch (r->order[i]) {
        case M_HOST:
            if (suffix != NBNAME_SUFFIX_SERVER && suffix != NBNAME_SUFFIX_WKSTA)
                continue;
            e = by_host(name, out);
            if (e == 0) {
                snprintf(out->method, sizeof(out->method), "host");
                return 0;
            }
            tried_add(tried, sizeof(tried), "host", e);
            break;
        case M_WINS:
            if (!netbios)
                continue;
            if (!r->nwins) {
                continue;
            }
            for (unsigned w = 0; w < r->nwins; w++) {
                struct nbq_result q;
                char ws[INET_ADDRSTRLEN], what[40];
                inet_ntop(AF_INET, &r->wins[w], ws, sizeof(ws));
                e = nbq_unicast(&r->q, r->wins[w], name, suffix, &q);
                if (e == 0) {
                    from_nbq(&q, out);
                    snprintf(out->method, sizeof(out->method), "wins");
                    snprintf(out->source, sizeof(out->source), "%s", ws);
                    cache_put(r, raw, out);
                    return 0;
                }
                snprintf(what, sizeof(what), "wins %s", ws);
                tried_add(tried, sizeof(tried), what, e);
                /* A negative answer is the WINS database's word. */
                if (e == -ENOENT)
                    break;
            }
            break;
        case M_BCAST: {
            if (!netbios)
                continue;
            struct nbq_result q;
            e = nbq_broadcast(&r->q, name, suffix, &q);
            if (e == 0) {
                from_nbq(&q, out);
                snprintf(out->method, sizeof(out->method), "bcast");
                cache_put(r, raw, out);
                return 0;
            }
            tried_add(tried, sizeof(tried), "bcast", e == -ENOENT ? -ETIMEDOUT : e);
            break;
        }
        }
        last = e;
    }
    if (netbios && cache_get(r, raw, true, out)) {
        log_info(r->q.log, "%s: no fresh answer (%s); using the last known address %s", name, tried,
                 out->addr[0]);
        return 0;
    }
    if (last == -ENOMEM)
        return -ENOMEM;
    char shown[24];
    if (netbios) {
        nbname_format(raw, shown);
    } else {
        snprintf(shown, sizeof(shown), "%.20s", name);
    }
    if (!tried[0])
        say(why, why_len, "cannot resolve %s: %s", netbios ? shown : name,
            netbios ? "no method in resolve= applies (wins= not set?)"
                    : "not a NetBIOS name (over 15 characters or dotted) and resolve= has no host");
    else
        say(why, why_len, "cannot resolve %s: tried %s", netbios ? shown : name, tried);
    return -ENOENT;
}

unsigned resolver_wins(const struct smb1_resolver *r, char (*out)[16], unsigned max)
{
    unsigned n = 0;
    for (; n < r->nwins && n < max; n++)
        inet_ntop(AF_INET, &r->wins[n], out[n], 16);
    return n;
}

int smb1_node_status(struct smb1_resolver *r, const char *ip, struct smb1_node_status *out)
{
    memset(out, 0, sizeof(*out));
    struct in_addr a;
    if (inet_pton(AF_INET, ip, &a) != 1)
        return -EINVAL;
    struct nbns_reply rep;
    int e = nbq_status(&r->q, a, &rep);
    if (e)
        return e;
    for (unsigned i = 0; i < rep.nnames && i < sizeof(out->names) / sizeof(out->names[0]); i++) {
        struct smb1_node_name *n = &out->names[out->count++];
        nbname_strip(rep.names[i].raw, n->name);
        n->suffix = rep.names[i].raw[15];
        n->group = rep.names[i].flags & NBNS_NAME_GROUP;
        n->active = rep.names[i].flags & NBNS_NAME_ACTIVE;
        if (!n->group && n->suffix == NBNAME_SUFFIX_SERVER && !out->server[0])
            snprintf(out->server, sizeof(out->server), "%s", n->name);
        if (n->group && n->suffix == NBNAME_SUFFIX_WKSTA && !out->workgroup[0])
            snprintf(out->workgroup, sizeof(out->workgroup), "%s", n->name);
    }
    memcpy(out->mac, rep.mac, 6);
    return 0;
}
