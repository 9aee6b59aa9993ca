/* nbt: NetBIOS names (RFC 1002 4.1 vector), header parsing, the frame
 * reader over a socketpair (keepalives, caps, truncation, EOF), writes to a
 * closed peer, TCP connect, and the session request with its retry rule
 * against a scripted listener on 127.0.0.1. */
#include <criterion/criterion.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "link/nbt.h"
#include "netbios/nbname.h"
#include "support/clock.h"

Test(nbt, rfc1002_fred_vector)
{
    /* vectors/netbios_name.json: "FRED" + 12 spaces (the 16th byte is the
     * space, i.e. suffix 0x20); wire_labels_hex starts 0x20 + 32 chars. */
    uint8_t out[34];
    cr_assert_eq(nbname_encode("FRED", 0x20, out), 0);
    cr_assert_eq(out[0], 0x20);
    cr_assert_arr_eq(out + 1, "EGFCEFEECACACACACACACACACACACACA", 32);
    cr_assert_eq(out[33], 0);
    cr_assert_eq(nbname_encode("fred", 0x20, out), 0, "names are upper-cased");
    cr_assert_arr_eq(out + 1, "EGFCEFEECACACACACACACACACACACACA", 32);
}

Test(nbt, wildcard_and_limits)
{
    uint8_t out[34];
    /* DIGEST 1.4: "*" + 15 NULs -> CKAAAA... */
    cr_assert_eq(nbname_encode("*", 0x00, out), 0);
    cr_assert_arr_eq(out + 1, "CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 32);
    cr_assert_eq(nbname_encode("*SMBSERVER", 0x20, out), 0);
    cr_assert_arr_eq(out + 1, "CKFDENECFDEFFCFGEFFCCACACACACACA", 32);
    cr_assert_eq(nbname_encode("ABCDEFGHIJKLMNO", 0x1D, out), 0);
    cr_assert_eq(out[31], 'B');
    cr_assert_eq(out[32], 'N');
    cr_assert_eq(nbname_encode("ABCDEFGHIJKLMNOP", 0x20, out), -EINVAL);
    cr_assert_eq(nbname_encode("", 0x20, out), -EINVAL);
    cr_assert_eq(nbname_encode(NULL, 0x20, out), -EINVAL);
}

Test(nbt, header_parse)
{
    uint8_t h[4], type;
    size_t len;
    nbt_put_header(h, 0x1234);
    static const uint8_t want[4] = {0, 0, 0x12, 0x34};
    cr_assert_arr_eq(h, want, 4);
    cr_assert_eq(nbt_parse_header(h, &type, &len), 0);
    cr_assert_eq(type, 0);
    cr_assert_eq(len, 0x1234);
    nbt_put_header(h, 0x1FFFF); /* NBT: E bit set */
    cr_assert_eq(h[1], 0x01);
    cr_assert_eq(nbt_parse_header(h, &type, &len), 0);
    cr_assert_eq(len, 0x1FFFF);
    nbt_put_header(h, 0xFFFFFF); /* direct TCP: 24 bits */
    cr_assert_eq(nbt_parse_header(h, &type, &len), 0);
    cr_assert_eq(len, 0xFFFFFF);
    static const uint8_t ka[4] = {0x85, 0, 0, 0};
    cr_assert_eq(nbt_parse_header(ka, &type, &len), 0);
    cr_assert_eq(type, 0x85);
    static const uint8_t ka_bad_flags[4] = {0x85, 0x02, 0, 0};
    cr_assert_eq(nbt_parse_header(ka_bad_flags, &type, &len), -EIO);
    static const uint8_t neg[4] = {0x83, 0x01, 0, 1}; /* E bit is legal */
    cr_assert_eq(nbt_parse_header(neg, &type, &len), 0);
    cr_assert_eq(len, 0x10001);
    static const uint8_t unknown[4] = {0x86, 0, 0, 0};
    cr_assert_eq(nbt_parse_header(unknown, &type, &len), -EIO);
    static const uint8_t smb2ish[4] = {0xFE, 'S', 'M', 'B'};
    cr_assert_eq(nbt_parse_header(smb2ish, &type, &len), -EIO);
}

static void pair(int sv[2])
{
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static void feed(int fd, const void *p, size_t n)
{
    cr_assert_eq(nbt_write_all(fd, p, n), 0);
}

Test(nbt, reader_skips_keepalives)
{
    int sv[2];
    pair(sv);
    static const uint8_t in[] = {0x85, 0,   0,    0, 0x85, 0, 0,   0,   0, 0, 0, 3, 'a',
                                 'b',  'c', 0x85, 0, 0,    2, 'x', 'y', 0, 0, 0, 1, 'z'};
    feed(sv[1], in, sizeof(in));
    uint8_t *f;
    size_t len;
    const char *why;
    cr_assert_eq(nbt_read_frame(sv[0], 1024, &f, &len, &why), 0);
    cr_assert_eq(len, 3);
    cr_assert_arr_eq(f, "abc", 3);
    free(f);
    /* A keepalive carrying a payload is tolerated and its bytes dropped. */
    cr_assert_eq(nbt_read_frame(sv[0], 1024, &f, &len, &why), 0);
    cr_assert_eq(len, 1);
    cr_assert_eq(f[0], 'z');
    free(f);
    close(sv[1]);
    cr_assert_eq(nbt_read_frame(sv[0], 1024, &f, &len, &why), -ECONNRESET);
    cr_assert_null(f);
    close(sv[0]);
}

Test(nbt, reader_rejects_oversized_and_odd_types)
{
    int sv[2];
    pair(sv);
    uint8_t h[4];
    nbt_put_header(h, 1025);
    feed(sv[1], h, 4);
    uint8_t *f = (uint8_t *)1;
    size_t len = 7;
    const char *why = NULL;
    cr_assert_eq(nbt_read_frame(sv[0], 1024, &f, &len, &why), -EIO);
    cr_assert_str_eq(why, "frame too long");
    cr_assert_null(f);
    cr_assert_eq(len, 0);
    close(sv[0]);
    close(sv[1]);

    pair(sv);
    static const uint8_t huge[4] = {0, 0xFF, 0xFF, 0xFF};
    feed(sv[1], huge, 4);
    cr_assert_eq(nbt_read_frame(sv[0], 0xFFFF, &f, &len, &why), -EIO);
    cr_assert_str_eq(why, "frame too long");
    close(sv[0]);
    close(sv[1]);

    pair(sv);
    static const uint8_t pos[4] = {0x82, 0, 0, 0};
    feed(sv[1], pos, 4);
    why = NULL;
    cr_assert_eq(nbt_read_frame(sv[0], 1024, &f, &len, &why), -EIO);
    cr_assert_not_null(why);
    close(sv[0]);
    close(sv[1]);

    pair(sv);
    static const uint8_t empty[4] = {0, 0, 0, 0};
    feed(sv[1], empty, 4);
    cr_assert_eq(nbt_read_frame(sv[0], 1024, &f, &len, &why), -EIO);
    close(sv[0]);
    close(sv[1]);
}

Test(nbt, cap_zero_means_the_24_bit_limit)
{
    int sv[2];
    pair(sv);
    uint8_t h[4];
    nbt_put_header(h, 5000);
    feed(sv[1], h, 4);
    static uint8_t body[5000];
    memset(body, 0x42, sizeof(body));
    feed(sv[1], body, sizeof(body));
    uint8_t *f;
    size_t len;
    cr_assert_eq(nbt_read_frame(sv[0], 0, &f, &len, NULL), 0);
    cr_assert_eq(len, 5000);
    cr_assert_eq(f[4999], 0x42);
    free(f);
    close(sv[0]);
    close(sv[1]);
}

Test(nbt, truncated_frame_is_connreset)
{
    for (size_t cut = 0; cut < 4 + 10; cut++) {
        int sv[2];
        pair(sv);
        uint8_t buf[14];
        nbt_put_header(buf, 10);
        memset(buf + 4, 0x11, 10);
        if (cut)
            feed(sv[1], buf, cut);
        close(sv[1]);
        uint8_t *f;
        size_t len;
        cr_assert_eq(nbt_read_frame(sv[0], 1024, &f, &len, NULL), -ECONNRESET, "cut %zu", cut);
        cr_assert_null(f);
        close(sv[0]);
    }
}

Test(nbt, write_to_closed_peer_is_epipe_not_sigpipe)
{
    int sv[2];
    pair(sv);
    close(sv[1]);
    static const uint8_t b[64];
    cr_assert_eq(nbt_write_all(sv[0], b, sizeof(b)), -EPIPE);
    close(sv[0]);
}

struct drain {
    int fd;
    size_t got;
};

static void *drain_main(void *arg)
{
    struct drain *d = arg;
    uint8_t buf[4096];
    ssize_t r;
    while ((r = read(d->fd, buf, sizeof(buf))) > 0)
        d->got += (size_t)r;
    return NULL;
}

Test(nbt, write_all_handles_short_writes)
{
    int sv[2];
    pair(sv);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    struct drain d = {.fd = sv[1]};
    pthread_t t;
    pthread_create(&t, NULL, drain_main, &d);
    size_t n = 1 << 20;
    uint8_t *big = calloc(1, n);
    cr_assert_eq(nbt_write_all(sv[0], big, n), 0);
    close(sv[0]);
    pthread_join(t, NULL);
    cr_assert_eq(d.got, n);
    close(sv[1]);
    free(big);
}

static int listener(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(fd, 8), 0);
    socklen_t sl = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &sl);
    *port = ntohs(a.sin_port);
    return fd;
}

Test(nbt, tcp_connect_options_and_errors)
{
    uint16_t port;
    int lfd = listener(&port);
    int fd = nbt_tcp_connect("127.0.0.1", port, 2000);
    cr_assert_geq(fd, 0, "%s", strerror(-fd));
    int v = 0;
    socklen_t sl = sizeof(v);
    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &sl);
    cr_assert(v);
    v = 0;
    getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &sl);
    cr_assert(v);
    close(fd);
    close(lfd); /* now nothing listens there */
    cr_assert_eq(nbt_tcp_connect("127.0.0.1", port, 2000), -ECONNREFUSED);
    cr_assert_eq(nbt_tcp_connect("", 445, 2000), -ENOENT);
    cr_assert_eq(nbt_tcp_connect(NULL, 445, 2000), -ENOENT);
}

/* A body read by a thread (nbt_read_body) from the client end of a
 * loopback TCP connection while the test sends it in parts. */
struct body_rd {
    int fd;
    uint8_t *buf;
    size_t n;
    int r;
};

static void *body_main(void *arg)
{
    struct body_rd *b = arg;
    b->r = nbt_read_body(b->fd, b->buf, b->n, clock_mono_ms() + 10000, NULL);
    return NULL;
}

static int lowat_of(int fd)
{
    int v = -1;
    socklen_t sl = sizeof(v);
    cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, &sl), 0);
    return v;
}

/* Until the reader waits with a low-water mark above 1 (5 s at most). */
static int lowat_seen(int fd)
{
    for (int i = 0; i < 500; i++) {
        int v = lowat_of(fd);
        if (v > 1)
            return v;
        poll(NULL, 0, 10);
    }
    return 1;
}

static void tcp_pair(int *cfd, int *sfd)
{
    uint16_t port;
    int lfd = listener(&port);
    *cfd = nbt_tcp_connect("127.0.0.1", port, 2000);
    cr_assert_geq(*cfd, 0);
    *sfd = accept(lfd, NULL, NULL);
    cr_assert_geq(*sfd, 0);
    close(lfd);
}

/* A large body waits to be woken once the rest of it is there, not at
 * every segment (SO_RCVLOWAT: the rest, never more, which would wait for
 * the next frame), and leaves the socket's mark at 1 for the next head,
 * also when the body fails. */
Test(nbt, body_wait_wakes_once_the_rest_is_there)
{
    enum { N = 256 << 10, FIRST = 64 << 10 };
    int cfd, sfd;
    tcp_pair(&cfd, &sfd);
    uint8_t *out = malloc(N), *in = calloc(1, N);
    cr_assert(out && in);
    for (size_t i = 0; i < N; i++)
        out[i] = (uint8_t)(i * 7 + i / 251);
    struct body_rd b = {.fd = cfd, .buf = in, .n = N};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, body_main, &b), 0);
    feed(sfd, out, FIRST);
    int v = lowat_seen(cfd);
    cr_assert(v >= N - FIRST && v <= N, "waiting for the rest of %d bytes with SO_RCVLOWAT %d",
              N - FIRST, v);
    feed(sfd, out + FIRST, N - FIRST);
    pthread_join(t, NULL);
    cr_assert_eq(b.r, 0);
    cr_assert_arr_eq(in, out, N);
    cr_assert_eq(lowat_of(cfd), 1, "the mark is back at 1");

    /* The peer closes halfway through: -ECONNRESET, the mark at 1 again. */
    memset(in, 0, N);
    b.r = 1;
    cr_assert_eq(pthread_create(&t, NULL, body_main, &b), 0);
    feed(sfd, out, FIRST);
    cr_assert_gt(lowat_seen(cfd), 1);
    close(sfd);
    pthread_join(t, NULL);
    cr_assert_eq(b.r, -ECONNRESET);
    cr_assert_eq(lowat_of(cfd), 1);
    close(cfd);
    free(out);
    free(in);
}

/* A scripted port-139 listener: answers each SESSION REQUEST positively
 * only when the called name is in `accept`, and records what it saw. */
struct nbss {
    int lfd;
    int conns;
    const char *accept; /* NULL: refuse everything */
    char called[4][33];
    char calling[4][33];
    int seen;
};

static void *nbss_main(void *arg)
{
    struct nbss *s = arg;
    for (int i = 0; i < s->conns; i++) {
        int c = accept(s->lfd, NULL, NULL);
        if (c < 0)
            return NULL;
        uint8_t req[72];
        if (nbt_read_all(c, req, sizeof(req)) == 0 && req[0] == 0x81 && req[3] == 68) {
            memcpy(s->called[s->seen], req + 5, 32);
            s->called[s->seen][32] = 0;
            memcpy(s->calling[s->seen], req + 4 + 34 + 1, 32);
            s->calling[s->seen][32] = 0;
            uint8_t want[34];
            bool ok = false;
            if (s->accept && nbname_encode(s->accept, 0x20, want) == 0)
                ok = memcmp(want + 1, req + 5, 32) == 0;
            s->seen++;
            static const uint8_t pos[4] = {0x82, 0, 0, 0};
            static const uint8_t neg[5] = {0x83, 0, 0, 1, 0x82};
            if (ok)
                nbt_write_all(c, pos, sizeof(pos));
            else
                nbt_write_all(c, neg, sizeof(neg));
        }
        /* Keep the accepted socket open until the client is done. */
        uint8_t x;
        while (read(c, &x, 1) > 0)
            ;
        close(c);
    }
    return NULL;
}

static const char *enc32(const char *name, uint8_t suffix, char out[33])
{
    uint8_t b[34];
    cr_assert_eq(nbname_encode(name, suffix, b), 0);
    memcpy(out, b + 1, 32);
    out[32] = 0;
    return out;
}

Test(nbt, session_request_retries_with_smbserver)
{
    struct nbss s = {.conns = 2, .accept = "*SMBSERVER"};
    uint16_t port;
    s.lfd = listener(&port);
    pthread_t t;
    pthread_create(&t, NULL, nbss_main, &s);
    int fd = nbt_tcp_connect("127.0.0.1", port, 2000);
    cr_assert_geq(fd, 0);
    cr_assert_eq(nbt_session_request(&fd, "127.0.0.1", port, 2000, "FILESRV", "MYHOST"), 0);
    cr_assert_geq(fd, 0);
    close(fd);
    pthread_join(t, NULL);
    close(s.lfd);
    char e[33];
    cr_assert_eq(s.seen, 2);
    cr_assert_str_eq(s.called[0], enc32("FILESRV", 0x20, e));
    cr_assert_str_eq(s.called[1], enc32("*SMBSERVER", 0x20, e));
    cr_assert_str_eq(s.calling[1], enc32("MYHOST", 0x00, e));
}

Test(nbt, session_request_named_accepted_first_time)
{
    struct nbss s = {.conns = 1, .accept = "FILESRV"};
    uint16_t port;
    s.lfd = listener(&port);
    pthread_t t;
    pthread_create(&t, NULL, nbss_main, &s);
    int fd = nbt_tcp_connect("127.0.0.1", port, 2000);
    int orig = fd;
    cr_assert_eq(nbt_session_request(&fd, "127.0.0.1", port, 2000, "filesrv", NULL), 0);
    cr_assert_eq(fd, orig, "no reconnect after a positive answer");
    close(fd);
    pthread_join(t, NULL);
    close(s.lfd);
    cr_assert_eq(s.seen, 1);
}

Test(nbt, session_request_all_refused)
{
    struct nbss s = {.conns = 2, .accept = NULL};
    uint16_t port;
    s.lfd = listener(&port);
    pthread_t t;
    pthread_create(&t, NULL, nbss_main, &s);
    int fd = nbt_tcp_connect("127.0.0.1", port, 2000);
    cr_assert_eq(nbt_session_request(&fd, "127.0.0.1", port, 2000, "FILESRV", "ME"), -ECONNREFUSED);
    close(fd);
    pthread_join(t, NULL);
    close(s.lfd);
    cr_assert_eq(s.seen, 2);
    /* With no called name and a numeric host there is only one form. */
    struct nbss s2 = {.conns = 1, .accept = NULL};
    s2.lfd = listener(&port);
    pthread_create(&t, NULL, nbss_main, &s2);
    fd = nbt_tcp_connect("127.0.0.1", port, 2000);
    cr_assert_eq(nbt_session_request(&fd, "127.0.0.1", port, 2000, NULL, "ME"), -ECONNREFUSED);
    close(fd);
    pthread_join(t, NULL);
    close(s2.lfd);
    char e[33];
    cr_assert_eq(s2.seen, 1);
    cr_assert_str_eq(s2.called[0], enc32("*SMBSERVER", 0x20, e));
}

Test(nbt, session_request_times_out_on_silent_server)
{
    uint16_t port;
    int lfd = listener(&port);
    int fd = nbt_tcp_connect("127.0.0.1", port, 2000); /* queued, never answered */
    cr_assert_geq(fd, 0);
    cr_assert_eq(nbt_session_request(&fd, "127.0.0.1", port, 200, "X", "Y"), -ETIMEDOUT);
    close(fd);
    close(lfd);
}
