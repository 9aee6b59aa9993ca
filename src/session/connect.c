/* Where and how a connection reaches its server: the host's addresses
 * through the resolver (DNS, WINS, broadcast; again on every reconnect,
 * since DHCP moves devices), the ports (445 direct, then 139 NetBIOS),
 * and on 139 the called name, learnt by node status when the user gave
 * an address and no servernetbiosname. */
#include "session/conn_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "link/nbt.h"
#include "netbios/nbname.h"
#include "netbios/resolve.h"

int connect_init(struct smb1_conn *c, char *why, size_t why_len)
{
    if (c->cfg.resolver) {
        c->resolver = c->cfg.resolver;
        return 0;
    }
    struct smb1_resolve_config rc = {
        .order = c->cfg.resolve_order,
        .wins = c->cfg.wins,
        .wins_timeout_ms = c->cfg.wins_timeout_ms,
        .log = c->log,
    };
    int r = smb1_resolver_new(&rc, &c->resolver, why, why_len);
    c->own_resolver = r == 0;
    return r;
}

void connect_free(struct smb1_conn *c)
{
    if (c->own_resolver)
        smb1_resolver_free(c->resolver);
    c->resolver = NULL;
    c->own_resolver = false;
}

/* The NetBIOS name to call on port 139: configured, else the host's first
 * label; for an address, the <20> name its node status shows. */
static void called_name(struct smb1_conn *c, const char *addr, char *out, size_t n)
{
    out[0] = 0;
    if (c->srv_nbname) {
        snprintf(out, n, "%s", c->srv_nbname);
        return;
    }
    if (!resolve_is_address(c->host)) {
        snprintf(out, n, "%.15s", c->host);
        char *dot = strchr(out, '.');
        if (dot)
            *dot = 0;
        return;
    }
    struct smb1_node_status st;
    if (c->resolver && smb1_node_status(c->resolver, addr, &st) == 0 && st.server[0]) {
        log_debug(c->log, "%s calls itself %s (workgroup %s)", addr, st.server,
                  st.workgroup[0] ? st.workgroup : "-");
        snprintf(out, n, "%s", st.server);
    }
}

static int resolve_targets(struct smb1_conn *c, struct smb1_resolved *res, char *why,
                           size_t why_len)
{
    if (c->ip) {
        memset(res, 0, sizeof(*res));
        snprintf(res->addr[0], sizeof(res->addr[0]), "%s", c->ip);
        res->count = 1;
        return 0;
    }
    pthread_mutex_lock(&c->lock);
    bool again = c->state == CONN_RECONNECTING;
    pthread_mutex_unlock(&c->lock);
    int r = smb1_resolve(c->resolver, c->host, NBNAME_SUFFIX_SERVER, again ? SMB1_RESOLVE_FRESH : 0,
                         res, why, why_len);
    if (r)
        return r;
    if (strcmp(res->method, "ip") != 0)
        log_debug(c->log, "%s is %s (%s%s%s%s)", c->host, res->addr[0], res->method,
                  res->source[0] ? " " : "", res->source, res->cached ? ", cached" : "");
    return 0;
}

int connect_transport(struct smb1_conn *c, int *fd_out, bool *nbt_out, char *why, size_t why_len)
{
    int tmo = c->cfg.connect_timeout_ms > 0 ? c->cfg.connect_timeout_ms : 10000;
    uint16_t ports[2];
    bool nbt[2];
    int n = 0;
    switch (c->cfg.transport) {
    case SMB1_TRANSPORT_DIRECT:
        ports[n] = c->cfg.port ? c->cfg.port : 445;
        nbt[n++] = false;
        break;
    case SMB1_TRANSPORT_NETBIOS:
        ports[n] = c->cfg.port ? c->cfg.port : 139;
        nbt[n++] = true;
        break;
    default:
        if (c->cfg.port) {
            ports[n] = c->cfg.port;
            nbt[n++] = c->cfg.port == 139;
        } else {
            ports[n] = 445;
            nbt[n++] = false;
            ports[n] = 139;
            nbt[n++] = true;
        }
        break;
    }
    struct smb1_resolved res;
    int r = resolve_targets(c, &res, why, why_len);
    if (r)
        return r;
    r = -ECONNREFUSED;
    for (int i = 0; i < n; i++) {
        for (unsigned a = 0; a < res.count; a++) {
            const char *target = res.addr[a];
            /* A reconnect made for an operation ends within its deadline. */
            int w = conn_op_wait_ms(c, tmo);
            if (w == 0) {
                conn_why(why, why_len, "no time left to connect to %s", target);
                return -ETIMEDOUT;
            }
            int fd = nbt_tcp_connect(target, ports[i], w);
            if (fd < 0) {
                r = fd;
                conn_why(why, why_len, "cannot connect to %s port %u: %s", target, ports[i],
                         strerror(-r));
                continue;
            }
            if (nbt[i]) {
                char called[32];
                called_name(c, target, called, sizeof(called));
                r = nbt_session_request(&fd, target, ports[i], conn_op_wait_ms(c, tmo) + 1,
                                        called[0] ? called : NULL, c->cli_nbname);
                if (r) {
                    conn_why(why, why_len, "NetBIOS session request to %s port %u refused: %s",
                             target, ports[i], strerror(-r));
                    if (fd >= 0)
                        close(fd);
                    continue;
                }
            }
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            int rt = c->cfg.request_timeout_ms > 0 ? c->cfg.request_timeout_ms : 30000;
            struct timeval tv = {rt / 1000, (rt % 1000) * 1000};
            /* A server that stops reading must not hold the send lock forever. */
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
            *fd_out = fd;
            *nbt_out = nbt[i];
            return 0;
        }
    }
    return r;
}
