#include "netbios/nbquery.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <poll.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "support/clock.h"

static uint16_t new_trn_id(void)
{
    uint16_t id = 0;
    if (getrandom(&id, sizeof(id), 0) != sizeof(id)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        id = (uint16_t)(ts.tv_nsec ^ (ts.tv_nsec >> 16) ^ getpid());
    }
    return id;
}

static int opt_or(int v, int dflt)
{
    return v > 0 ? v : dflt;
}

static const char *ip_str(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
    return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN) ? buf : "?";
}

static struct sockaddr_in dest_of(const struct nbq_opts *o, struct in_addr a)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = a};
    sa.sin_port = htons(o->port ? o->port : NBNS_PORT);
    return sa;
}

/* Waits for one datagram until deadline. Returns its length, 0 on timeout
 * or -errno (-ECONNREFUSED: an ICMP port unreachable on a connected
 * socket). */
static ssize_t recv_until(int fd, uint8_t *buf, size_t cap, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - clock_mono_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            continue;
        ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return -errno;
        if (n > 0)
            return n;
    }
}

static void take_addrs(const struct nbns_reply *rep, struct nbq_result *out)
{
    for (unsigned i = 0; i < rep->naddrs; i++) {
        struct in_addr a;
        memcpy(&a.s_addr, rep->addrs[i].addr, 4);
        if (rep->addrs[i].flags & NBNS_NB_GROUP)
            out->group = true;
        bool dup = false;
        for (unsigned j = 0; j < out->naddrs && !dup; j++)
            dup = out->addrs[j].s_addr == a.s_addr;
        if (!dup && out->naddrs < NBNS_MAX_ADDRS)
            out->addrs[out->naddrs++] = a;
    }
    if (!out->ttl || rep->ttl < out->ttl)
        out->ttl = rep->ttl;
}

/* One unicast exchange with one server: sends pkt up to retries times,
 * each waiting timeout_ms (or as long as a WACK asks). */
static int ucast_exchange(const struct nbq_opts *o, struct in_addr server, const uint8_t *pkt,
                          size_t len, uint16_t trn_id, const uint8_t raw[16], uint16_t qtype,
                          int timeout_ms, int retries, struct nbns_reply *rep)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in sa = dest_of(o, server);
    int ret = -ETIMEDOUT;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        ret = -errno;
        goto out_close;
    }
    bool malformed = false;
    char ips[INET_ADDRSTRLEN];
    for (int attempt = 0; attempt < retries; attempt++) {
        if (send(fd, pkt, len, 0) < 0) {
            ret = -errno;
            goto out_close;
        }
        int64_t deadline = clock_mono_ms() + timeout_ms;
        for (;;) {
            uint8_t buf[NBNS_MAX_PKT * 2];
            ssize_t n = recv_until(fd, buf, sizeof(buf), deadline);
            if (n == 0)
                break;
            if (n < 0) {
                ret = (int)n;
                goto out_close;
            }
            int r = nbns_parse_reply(buf, (size_t)n, trn_id, raw, qtype, rep);
            if (r == -EAGAIN)
                continue;
            if (r) {
                malformed = true;
                log_debug(o->log, "NBNS: malformed reply from %s ignored", ip_str(server, ips));
                continue;
            }
            if (rep->kind == NBNS_WACK) {
                /* RFC 1002 5.1.1.3: stop retransmitting and wait. */
                log_debug(o->log, "NBNS: %s asks to wait %u s", ip_str(server, ips), rep->ttl);
                deadline = clock_mono_ms() + (int64_t)(rep->ttl ? rep->ttl : 1) * 1000;
                attempt = retries;
                continue;
            }
            ret = 0;
            goto out_close;
        }
    }
    ret = malformed ? -EIO : -ETIMEDOUT;
out_close:
    close(fd);
    return ret;
}

int nbq_unicast(const struct nbq_opts *o, struct in_addr server, const char *name, uint8_t suffix,
                struct nbq_result *out)
{
    uint8_t raw[16];
    if (!nbname_valid(name) || nbname_raw(name, suffix, raw))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    for (int hop = 0; hop <= NBQ_MAX_REDIRECTS; hop++) {
        uint8_t pkt[NBNS_MAX_PKT];
        uint16_t id = new_trn_id();
        int len = nbns_build_query(pkt, sizeof(pkt), id, name, suffix, false);
        if (len < 0)
            return len;
        struct nbns_reply rep;
        int r = ucast_exchange(o, server, pkt, (size_t)len, id, raw, NBNS_TYPE_NB,
                               opt_or(o->ucast_timeout_ms, NBQ_UCAST_TIMEOUT_MS),
                               opt_or(o->ucast_retries, NBQ_UCAST_RETRIES), &rep);
        if (r)
            return r;
        switch (rep.kind) {
        case NBNS_POSITIVE:
            take_addrs(&rep, out);
            return 0;
        case NBNS_NEGATIVE:
            return rep.rcode == NBNS_RCODE_NAM_ERR ? -ENOENT : -EIO;
        case NBNS_REDIRECT:
            memcpy(&server.s_addr, rep.redirect, 4);
            char ips[INET_ADDRSTRLEN];
            log_debug(o->log, "NBNS: redirected to %s", ip_str(server, ips));
            continue;
        default:
            return -EIO;
        }
    }
    return -EIO;
}

static unsigned bcast_addrs(const struct nbq_opts *o, struct in_addr *out)
{
    if (o->nbcast_override) {
        unsigned n = o->nbcast_override < NBQ_MAX_BCAST ? o->nbcast_override : NBQ_MAX_BCAST;
        memcpy(out, o->bcast_override, n * sizeof(*out));
        return n;
    }
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) < 0)
        return 0;
    unsigned n = 0;
    for (struct ifaddrs *i = ifs; i && n < NBQ_MAX_BCAST; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !i->ifa_broadaddr)
            continue;
        if (!(i->ifa_flags & IFF_UP) || !(i->ifa_flags & IFF_BROADCAST) ||
            (i->ifa_flags & IFF_LOOPBACK))
            continue;
        struct sockaddr_in sin;
        memcpy(&sin, i->ifa_broadaddr, sizeof(sin));
        struct in_addr b = sin.sin_addr;
        bool dup = false;
        for (unsigned j = 0; j < n && !dup; j++)
            dup = out[j].s_addr == b.s_addr;
        if (!dup && b.s_addr != INADDR_ANY)
            out[n++] = b;
    }
    freeifaddrs(ifs);
    return n;
}

int nbq_broadcast(const struct nbq_opts *o, const char *name, uint8_t suffix,
                  struct nbq_result *out)
{
    uint8_t raw[16];
    if (!nbname_valid(name) && strcmp(name, NBNAME_MSBROWSE) != 0)
        return -EINVAL;
    if (nbname_raw(name, suffix, raw))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    struct in_addr dst[NBQ_MAX_BCAST];
    unsigned ndst = bcast_addrs(o, dst);
    if (!ndst)
        return -ENETUNREACH;
    uint8_t pkt[NBNS_MAX_PKT];
    uint16_t id = new_trn_id();
    int len = nbns_build_query(pkt, sizeof(pkt), id, name, suffix, true);
    if (len < 0)
        return len;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    int ret = -ENOENT;
    if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0) {
        ret = -errno;
        goto out_close;
    }
    int retries = opt_or(o->bcast_retries, NBQ_BCAST_RETRIES);
    int tmo = opt_or(o->bcast_timeout_ms, NBQ_BCAST_TIMEOUT_MS);
    for (int attempt = 0; attempt < retries; attempt++) {
        unsigned sent = 0;
        int send_err = 0;
        for (unsigned i = 0; i < ndst; i++) {
            struct sockaddr_in sa = dest_of(o, dst[i]);
            if (sendto(fd, pkt, (size_t)len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                send_err = -errno;
            else
                sent++;
        }
        if (!sent) {
            ret = send_err ? send_err : -ENETUNREACH;
            goto out_close;
        }
        int64_t deadline = clock_mono_ms() + tmo;
        for (;;) {
            uint8_t buf[NBNS_MAX_PKT * 2];
            ssize_t n = recv_until(fd, buf, sizeof(buf), deadline);
            if (n == 0)
                break;
            if (n < 0)
                continue; /* an ICMP error from one network says nothing */
            struct nbns_reply rep;
            if (nbns_parse_reply(buf, (size_t)n, id, raw, NBNS_TYPE_NB, &rep) != 0)
                continue;
            /* Only owners answer a broadcast (B-node); a negative one,
             * a WACK or a REDIRECT there is not for us. */
            if (rep.kind != NBNS_POSITIVE)
                continue;
            take_addrs(&rep, out);
            if (!out->group)
                break;
        }
        if (out->naddrs) {
            ret = 0;
            goto out_close;
        }
    }
out_close:
    close(fd);
    return ret;
}

int nbq_status(const struct nbq_opts *o, struct in_addr host, struct nbns_reply *out)
{
    uint8_t raw[16];
    nbname_raw("*", 0x00, raw);
    uint8_t pkt[NBNS_MAX_PKT];
    uint16_t id = new_trn_id();
    int len = nbns_build_status(pkt, sizeof(pkt), id);
    if (len < 0)
        return len;
    int r = ucast_exchange(o, host, pkt, (size_t)len, id, raw, NBNS_TYPE_NBSTAT,
                           opt_or(o->status_timeout_ms, NBQ_STATUS_TIMEOUT_MS),
                           opt_or(o->status_retries, NBQ_STATUS_RETRIES), out);
    if (r)
        return r;
    return out->kind == NBNS_STATUS ? 0 : -EIO;
}
