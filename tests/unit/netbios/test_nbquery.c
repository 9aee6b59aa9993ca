/* nbquery and the resolver against a small UDP responder of our own on
 * 127.0.0.1 (and 127.0.0.2 for a redirect): what nmbd never sends. WACK
 * (wait instead of giving up), REDIRECT, answers with a wrong TRN_ID or
 * name (ignored), truncated RDATA, negative answers, retransmissions with
 * the same TRN_ID, several answers to a group broadcast; then the
 * resolver's order, cache and failure message. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netbios/nbname.h"
#include "netbios/nbns.h"
#include "netbios/nbquery.h"
#include "smb1.h"

enum script {
    S_POSITIVE,    /* answer at once */
    S_THIRD,       /* ignore two copies, answer the third */
    S_WACK,        /* WACK (TTL 1 s), then the answer 600 ms later */
    S_REDIRECT,    /* REDIRECT to 127.0.0.2 */
    S_WRONG_FIRST, /* wrong TRN_ID, then wrong name, then the answer */
    S_TRUNCATED,   /* RDLENGTH 6 with 3 bytes of RDATA */
    S_NEGATIVE,    /* RCODE 3 */
    S_SILENT,      /* never answer */
    S_GROUP,       /* two answers from "two hosts" with the G bit */
};

struct responder {
    int fd;
    uint16_t port;
    enum script script;
    uint8_t answer_ip[4];
    pthread_t th;
    atomic_bool stop;
    atomic_int requests;
    uint16_t ids[8];
};

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The reply header + RR name copied from the request's question. */
static size_t reply_head(uint8_t *o, const uint8_t *req, uint16_t id, uint16_t flags, int an,
                         int ns, int ar)
{
    o[0] = (uint8_t)(id >> 8);
    o[1] = (uint8_t)id;
    o[2] = (uint8_t)(flags >> 8);
    o[3] = (uint8_t)flags;
    memset(o + 4, 0, 8);
    o[7] = (uint8_t)an;
    o[9] = (uint8_t)ns;
    o[11] = (uint8_t)ar;
    memcpy(o + 12, req + 12, 34);
    return 46;
}

static size_t positive(uint8_t *o, const uint8_t *req, uint16_t id, const uint8_t ip[4],
                       uint16_t nbflags)
{
    size_t n = reply_head(o, req, id, 0x8500, 1, 0, 0);
    memcpy(o + n, "\x00\x20\x00\x01\x00\x00\x00\x3c\x00\x06", 10);
    n += 10;
    o[n++] = (uint8_t)(nbflags >> 8);
    o[n++] = (uint8_t)nbflags;
    memcpy(o + n, ip, 4);
    return n + 4;
}

static void *responder_main(void *arg)
{
    struct responder *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        uint8_t req[600], o[600];
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(s->fd, req, sizeof(req), 0, (struct sockaddr *)&from, &fl);
        if (n < 50)
            continue;
        int k = atomic_fetch_add(&s->requests, 1);
        uint16_t id = (uint16_t)(req[0] << 8 | req[1]);
        if (k < 8)
            s->ids[k] = id;
        size_t len = 0;
#define SEND() sendto(s->fd, o, len, 0, (struct sockaddr *)&from, fl)
        switch (s->script) {
        case S_POSITIVE:
            len = positive(o, req, id, s->answer_ip, 0);
            SEND();
            break;
        case S_THIRD:
            if (k == 2) {
                len = positive(o, req, id, s->answer_ip, 0);
                SEND();
            }
            break;
        case S_WACK:
            len = reply_head(o, req, id, 0xBC00, 1, 0, 0);
            memcpy(o + len, "\x00\x0a\x00\x01\x00\x00\x00\x01\x00\x02\x01\x00", 12);
            len += 12;
            SEND();
            msleep(600);
            len = positive(o, req, id, s->answer_ip, 0);
            SEND();
            break;
        case S_REDIRECT:
            len = reply_head(o, req, id, 0x8180, 0, 1, 1);
            memcpy(o + len,
                   "\x00\x02\x00\x01\x00\x00\x00\x00\x00\x05\x03NS2\x00"
                   "\x03NS2\x00\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04\x7f\x00\x00\x02",
                   34);
            len += 34;
            SEND();
            break;
        case S_WRONG_FIRST: {
            len = positive(o, req, (uint16_t)(id + 1), (const uint8_t *)"\x01\x01\x01\x01", 0);
            SEND();
            len = positive(o, req, id, (const uint8_t *)"\x02\x02\x02\x02", 0);
            o[13] = 'B'; /* another name */
            SEND();
            len = positive(o, req, id, s->answer_ip, 0);
            SEND();
            break;
        }
        case S_TRUNCATED:
            len = positive(o, req, id, s->answer_ip, 0) - 3;
            SEND();
            break;
        case S_NEGATIVE:
            len = reply_head(o, req, id, 0x8503, 1, 0, 0);
            memcpy(o + len, "\x00\x20\x00\x01\x00\x00\x00\x00\x00\x00", 10);
            len += 10;
            SEND();
            break;
        case S_SILENT:
            break;
        case S_GROUP:
            len = positive(o, req, id, (const uint8_t *)"\x0a\x00\x00\x01", 0x8000);
            SEND();
            len = positive(o, req, id, (const uint8_t *)"\x0a\x00\x00\x02", 0x8000);
            SEND();
            break;
        }
#undef SEND
    }
    return NULL;
}

static void responder_start(struct responder *s, const char *ip, uint16_t port, enum script script)
{
    memset(s, 0, sizeof(*s));
    s->script = script;
    memcpy(s->answer_ip, "\x0a\xe7\x00\x02", 4);
    s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(s->fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    cr_assert_eq(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind %s:%u", ip, port);
    socklen_t sl = sizeof(sa);
    getsockname(s->fd, (struct sockaddr *)&sa, &sl);
    s->port = ntohs(sa.sin_port);
    atomic_init(&s->stop, false);
    atomic_init(&s->requests, 0);
    cr_assert_eq(pthread_create(&s->th, NULL, responder_main, s), 0);
}

static void responder_stop(struct responder *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->th, NULL);
    close(s->fd);
}

static struct in_addr lo(void)
{
    struct in_addr a;
    inet_pton(AF_INET, "127.0.0.1", &a);
    return a;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int query(enum script sc, int tmo_ms, struct nbq_result *res, struct responder *s)
{
    responder_start(s, "127.0.0.1", 0, sc);
    struct nbq_opts o = {.port = s->port, .ucast_timeout_ms = tmo_ms};
    int r = nbq_unicast(&o, lo(), "NBSRV", 0x20, res);
    responder_stop(s);
    return r;
}

Test(nbquery, positive_unicast)
{
    struct responder s;
    struct nbq_result res;
    cr_assert_eq(query(S_POSITIVE, 200, &res, &s), 0);
    cr_assert_eq(res.naddrs, 1);
    cr_assert_eq(res.addrs[0].s_addr, htonl(0x0ae70002));
    cr_assert_eq(res.ttl, 60);
    cr_assert_not(res.group);
}

Test(nbquery, retries_keep_the_trn_id)
{
    struct responder s;
    struct nbq_result res;
    cr_assert_eq(query(S_THIRD, 100, &res, &s), 0);
    cr_assert_eq(atomic_load(&s.requests), 3);
    cr_assert_eq(s.ids[0], s.ids[1]);
    cr_assert_eq(s.ids[1], s.ids[2]);
}

Test(nbquery, wack_waits_past_the_retry_timeout)
{
    /* 100 ms x 3 would give up after 300 ms; the WACK asks for 1 s and
     * the answer comes at 600 ms. */
    struct responder s;
    struct nbq_result res;
    int64_t t0 = mono_ms();
    cr_assert_eq(query(S_WACK, 100, &res, &s), 0);
    cr_assert_geq(mono_ms() - t0, 550);
    cr_assert_eq(res.naddrs, 1);
    cr_assert_eq(atomic_load(&s.requests), 1, "no retransmission after a WACK");
}

Test(nbquery, redirect_asks_the_other_server)
{
    struct responder a, b;
    responder_start(&a, "127.0.0.1", 0, S_REDIRECT);
    responder_start(&b, "127.0.0.2", a.port, S_POSITIVE);
    memcpy(b.answer_ip, "\x0a\x00\x00\x63", 4);
    struct nbq_opts o = {.port = a.port, .ucast_timeout_ms = 200};
    struct nbq_result res;
    int r = nbq_unicast(&o, lo(), "NBSRV", 0x20, &res);
    responder_stop(&a);
    responder_stop(&b);
    cr_assert_eq(r, 0);
    cr_assert_eq(res.addrs[0].s_addr, htonl(0x0a000063));
    cr_assert_eq(atomic_load(&b.requests), 1);
}

Test(nbquery, wrong_trn_id_and_name_ignored)
{
    struct responder s;
    struct nbq_result res;
    cr_assert_eq(query(S_WRONG_FIRST, 200, &res, &s), 0);
    cr_assert_eq(res.naddrs, 1);
    cr_assert_eq(res.addrs[0].s_addr, htonl(0x0ae70002));
}

Test(nbquery, truncated_rdata_is_an_error)
{
    struct responder s;
    struct nbq_result res;
    cr_assert_eq(query(S_TRUNCATED, 50, &res, &s), -EIO);
}

Test(nbquery, negative_and_silence)
{
    struct responder s;
    struct nbq_result res;
    int64_t t0 = mono_ms();
    cr_assert_eq(query(S_NEGATIVE, 1000, &res, &s), -ENOENT);
    cr_assert_lt(mono_ms() - t0, 500, "a negative answer ends the query at once");
    t0 = mono_ms();
    cr_assert_eq(query(S_SILENT, 80, &res, &s), -ETIMEDOUT);
    cr_assert_geq(mono_ms() - t0, 230);
    cr_assert_eq(atomic_load(&s.requests), 3);
}

Test(nbquery, nobody_listening)
{
    /* A closed port answers with ICMP port unreachable. */
    struct responder s;
    responder_start(&s, "127.0.0.1", 0, S_SILENT);
    uint16_t port = s.port;
    responder_stop(&s);
    struct nbq_opts o = {.port = port, .ucast_timeout_ms = 2000};
    struct nbq_result res;
    int64_t t0 = mono_ms();
    cr_assert_eq(nbq_unicast(&o, lo(), "NBSRV", 0x20, &res), -ECONNREFUSED);
    cr_assert_lt(mono_ms() - t0, 1000);
}

Test(nbquery, group_broadcast_collects_answers)
{
    struct responder s;
    responder_start(&s, "127.0.0.1", 0, S_GROUP);
    struct in_addr b = lo();
    struct nbq_opts o = {.port = s.port, .bcast_override = &b, .nbcast_override = 1};
    struct nbq_result res;
    int r = nbq_broadcast(&o, "TESTGRP", 0x00, &res);
    responder_stop(&s);
    cr_assert_eq(r, 0);
    cr_assert(res.group);
    cr_assert_eq(res.naddrs, 2);
    /* Unknown name by broadcast: 3 x the timeout, then -ENOENT. */
    responder_start(&s, "127.0.0.1", 0, S_SILENT);
    o.port = s.port;
    o.bcast_timeout_ms = 50;
    int64_t t0 = mono_ms();
    r = nbq_broadcast(&o, "NOSUCH", 0x20, &res);
    responder_stop(&s);
    cr_assert_eq(r, -ENOENT);
    cr_assert_geq(mono_ms() - t0, 140);
    cr_assert_eq(atomic_load(&s.requests), 3);
}

Test(resolve, wins_cache_and_message)
{
    struct responder s;
    responder_start(&s, "127.0.0.1", 0, S_POSITIVE);
    struct smb1_resolve_config rc = {.order = "wins", .wins = "127.0.0.1", .nbns_port = s.port};
    struct smb1_resolver *r;
    char why[256];
    cr_assert_eq(smb1_resolver_new(&rc, &r, why, sizeof(why)), 0);
    struct smb1_resolved res;
    cr_assert_eq(smb1_resolve(r, "nbsrv", 0x20, 0, &res, why, sizeof(why)), 0);
    cr_assert_str_eq(res.addr[0], "10.231.0.2");
    cr_assert_str_eq(res.method, "wins");
    cr_assert_str_eq(res.source, "127.0.0.1");
    cr_assert_not(res.cached);
    cr_assert_eq(smb1_resolve(r, "NBSRV", 0x20, 0, &res, why, sizeof(why)), 0);
    cr_assert(res.cached);
    cr_assert_eq(atomic_load(&s.requests), 1);
    /* A reconnect asks again. */
    cr_assert_eq(smb1_resolve(r, "NBSRV", 0x20, SMB1_RESOLVE_FRESH, &res, why, sizeof(why)), 0);
    cr_assert_not(res.cached);
    cr_assert_eq(atomic_load(&s.requests), 2);
    /* Another suffix is another name. */
    cr_assert_eq(smb1_resolve(r, "NBSRV", 0x00, 0, &res, why, sizeof(why)), 0);
    cr_assert_eq(atomic_load(&s.requests), 3);
    responder_stop(&s);
    /* The server gone, a fresh query fails: the last known address. */
    cr_assert_eq(smb1_resolve(r, "NBSRV", 0x20, SMB1_RESOLVE_FRESH, &res, why, sizeof(why)), 0);
    cr_assert(res.cached);
    /* Addresses pass through; dotted names are DNS only. */
    cr_assert_eq(smb1_resolve(r, "10.0.0.7", 0x20, 0, &res, why, sizeof(why)), 0);
    cr_assert_str_eq(res.method, "ip");
    cr_assert_eq(smb1_resolve(r, "[::1]", 0x20, 0, &res, why, sizeof(why)), 0);
    cr_assert_str_eq(res.addr[0], "::1");
    cr_assert_eq(smb1_resolve(r, "nas.example", 0x20, 0, &res, why, sizeof(why)), -ENOENT);
    cr_assert(strstr(why, "nas.example"), "%s", why);
    smb1_resolver_free(r);
}

Test(resolve, unknown_name_names_methods)
{
    struct responder s;
    responder_start(&s, "127.0.0.1", 0, S_NEGATIVE);
    struct in_addr b = lo();
    (void)b;
    struct smb1_resolve_config rc = {
        .order = "wins,bcast", .wins = "127.0.0.1", .nbns_port = s.port, .bcast_timeout_ms = 30};
    struct smb1_resolver *r;
    char why[256];
    cr_assert_eq(smb1_resolver_new(&rc, &r, why, sizeof(why)), 0);
    struct smb1_resolved res;
    int64_t t0 = mono_ms();
    cr_assert_eq(smb1_resolve(r, "NOSUCHBOX", 0x20, 0, &res, why, sizeof(why)), -ENOENT);
    cr_assert_lt(mono_ms() - t0, 1000);
    cr_assert(strstr(why, "NOSUCHBOX<20>"), "%s", why);
    cr_assert(strstr(why, "wins 127.0.0.1 (not found)"), "%s", why);
    cr_assert(strstr(why, "bcast"), "%s", why);
    smb1_resolver_free(r);
    responder_stop(&s);
}

Test(resolve, bad_options)
{
    struct smb1_resolver *r;
    char why[256];
    struct smb1_resolve_config rc = {.order = "host,lmhosts"};
    cr_assert_eq(smb1_resolver_new(&rc, &r, why, sizeof(why)), -EINVAL);
    cr_assert(strstr(why, "resolve="), "%s", why);
    struct smb1_resolve_config rc2 = {.wins = "10.0.0.1,wins.example"};
    cr_assert_eq(smb1_resolver_new(&rc2, &r, why, sizeof(why)), -EINVAL);
    cr_assert(strstr(why, "wins.example"), "%s", why);
    cr_assert_eq(smb1_resolver_new(NULL, &r, why, sizeof(why)), 0);
    smb1_resolver_free(r);
}
