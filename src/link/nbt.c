#include "link/nbt.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "link/rxpool.h"
#include "netbios/nbname.h"
#include "support/clock.h"
#include "wire/smb1_proto.h"

/* Milliseconds left until deadline for poll(): -1 for none, 0 when past. */
static int left_ms(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t d = deadline - clock_mono_ms();
    if (d <= 0)
        return 0;
    return d > 0x7FFFFFFF ? 0x7FFFFFFF : (int)d;
}

/* Waits for events on fd until deadline. Returns 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, left_ms(deadline));
        if (r > 0)
            return 0;
        if (r == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

static int connect_one(const struct addrinfo *ai, int64_t deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0)
        return -errno;
    int r = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS && errno != EINTR) {
            r = -errno;
            goto out_close;
        }
        r = wait_fd(fd, POLLOUT, deadline);
        if (r)
            goto out_close;
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
            r = -errno;
            goto out_close;
        }
        if (soerr) {
            r = -soerr;
            goto out_close;
        }
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        r = -errno;
        goto out_close;
    }
    int one = 1;
    /* Requests are small and latency-bound; dead peers must be noticed. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    return fd;
out_close:
    close(fd);
    return r;
}

int nbt_tcp_connect(const char *host, uint16_t port, int timeout_ms)
{
    if (!host || !*host)
        return -ENOENT;
    char name[256];
    size_t hl = strlen(host);
    /* Accept "[::1]" as well as "::1". */
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        if (hl - 2 >= sizeof(name))
            return -ENOENT;
        memcpy(name, host + 1, hl - 2);
        name[hl - 2] = '\0';
    } else {
        if (hl >= sizeof(name))
            return -ENOENT;
        memcpy(name, host, hl + 1);
    }
    char serv[8];
    snprintf(serv, sizeof(serv), "%u", (unsigned)port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int g = getaddrinfo(name, serv, &hints, &res);
    if (g != 0) {
        switch (g) {
        case EAI_MEMORY:
            return -ENOMEM;
        case EAI_AGAIN:
            return -EAGAIN;
        case EAI_SYSTEM:
            return errno ? -errno : -EIO;
        default:
            return -ENOENT;
        }
    }
    int64_t deadline = timeout_ms > 0 ? clock_mono_ms() + timeout_ms : -1;
    int r = -EHOSTUNREACH;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        r = connect_one(ai, deadline);
        if (r >= 0 || r == -ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);
    return r;
}

void nbt_put_header(uint8_t hdr[4], size_t len)
{
    hdr[0] = NBT_SESSION_MESSAGE;
    hdr[1] = (uint8_t)(len >> 16);
    hdr[2] = (uint8_t)(len >> 8);
    hdr[3] = (uint8_t)len;
}

int nbt_parse_header(const uint8_t hdr[4], uint8_t *type, size_t *len)
{
    *type = hdr[0];
    *len = (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
    switch (hdr[0]) {
    case NBT_SESSION_MESSAGE:
        /* Direct TCP uses all 24 bits; NBT only the low 17 (E bit), a subset. */
        return 0;
    case NBT_SESSION_REQUEST:
    case NBT_POSITIVE_RESPONSE:
    case NBT_NEGATIVE_RESPONSE:
    case NBT_RETARGET_RESPONSE:
    case NBT_KEEPALIVE:
        /* NetBIOS-only types: flag bits other than E are reserved (zero). */
        return (hdr[1] & 0xFE) ? -EIO : 0;
    default:
        return -EIO;
    }
}

int nbt_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == ENOTSOCK)
            w = write(fd, b, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            /* SO_SNDTIMEO expired: the server stopped reading. */
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return -ETIMEDOUT;
            return -errno;
        }
        if (w == 0)
            return -EIO;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

int nbt_read_all(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    while (n) {
        ssize_t r = read(fd, b, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return -ETIMEDOUT;
            return -errno;
        }
        if (r == 0)
            return -ECONNRESET;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

/* A wait for at least this much of a frame wakes once all of it is there
 * (SO_RCVLOWAT), not at every segment: a reply of 1020 KiB comes in
 * segments of 64 KiB on loopback, and the daemon woke for each. */
#define NBT_LOWAT_MIN 32768

/* Sets fd's SO_RCVLOWAT to v unless *cur says it is v already. */
static void set_lowat(int fd, size_t v, int *cur)
{
    int x = v > INT_MAX ? INT_MAX : (int)v;
    if (x != *cur && setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &x, sizeof(x)) == 0)
        *cur = x;
}

/* read_deadline's loop; *lowat is the SO_RCVLOWAT it has set. */
static int read_deadline_lowat(int fd, uint8_t *p, size_t n, int64_t deadline, int *lowat)
{
    bool sock = true;
    while (n) {
        /* What has come is taken at once: poll only when nothing has (the
         * rest of a frame is usually there already, one system call). */
        ssize_t k = sock ? recv(fd, p, n, MSG_DONTWAIT) : -1;
        if (k < 0 && sock && errno == ENOTSOCK)
            sock = false;
        if (!sock || (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
            /* Poll reports the socket readable once the rest is there (or
             * it closed, or failed); TCP also wakes it before, should its
             * receive window close. Only the rest: more would wait for the
             * next frame, which may never come. */
            if (sock && n >= NBT_LOWAT_MIN)
                set_lowat(fd, n, lowat);
            int r = wait_fd(fd, POLLIN, deadline);
            if (r)
                return r;
            if (sock)
                continue;
            k = read(fd, p, n);
        }
        if (k < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -errno;
        }
        if (k == 0)
            return -ECONNRESET;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads exactly n bytes before deadline (-1: none). */
static int read_deadline(int fd, uint8_t *p, size_t n, int64_t deadline)
{
    if (deadline < 0)
        return nbt_read_all(fd, p, n);
    int lowat = 1;
    int r = read_deadline_lowat(fd, p, n, deadline, &lowat);
    /* Back to the default for whoever waits next (a frame's head). */
    set_lowat(fd, 1, &lowat);
    return r;
}

/* Reads and drops n bytes (the payload of a packet we ignore). */
static int discard(int fd, size_t n, int64_t deadline)
{
    uint8_t sink[512];
    while (n) {
        size_t k = n < sizeof(sink) ? n : sizeof(sink);
        int r = read_deadline(fd, sink, k, deadline);
        if (r)
            return r;
        n -= k;
    }
    return 0;
}

int nbt_read_frame(int fd, size_t cap, uint8_t **frame, size_t *len, const char **why)
{
    bool pooled;
    return nbt_read_frame_pool(fd, cap, NULL, frame, len, &pooled, why);
}

int nbt_read_frame_pool(int fd, size_t cap, struct rxpool *pool, uint8_t **frame, size_t *len,
                        bool *pooled, const char **why)
{
    return nbt_read_frame_paced(fd, cap, pool, 0, 0, frame, len, pooled, why);
}

/* The deadline of a frame of n bytes whose first byte came at t0. */
static int64_t pace_deadline(int64_t t0, int grace_ms, unsigned min_rate, size_t n)
{
    if (grace_ms <= 0)
        return -1;
    return t0 + grace_ms + (min_rate ? (int64_t)(n / min_rate) * 1000 : 0);
}

int nbt_read_head_paced(int fd, size_t cap, int grace_ms, unsigned min_rate, size_t *len,
                        int64_t *deadline, const char **why)
{
    *len = 0;
    *deadline = -1;
    if (why)
        *why = NULL;
    if (cap == 0 || cap > NBT_MAX_DIRECT_FRAME)
        cap = NBT_MAX_DIRECT_FRAME;
    for (;;) {
        uint8_t hdr[4];
        /* Blocks until a frame begins; takes as much of the header as has
         * come (every frame has the 4 bytes: nothing of the next is read). */
        ssize_t got;
        do {
            got = read(fd, hdr, sizeof(hdr));
        } while (got < 0 && errno == EINTR);
        int r = got < 0    ? (errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno)
                : got == 0 ? -ECONNRESET
                           : 0;
        int64_t t0 = clock_mono_ms();
        if (r == 0 && got < 4)
            r = read_deadline(fd, hdr + got, 4 - (size_t)got,
                              pace_deadline(t0, grace_ms, min_rate, 4));
        if (r == -ETIMEDOUT && why)
            *why = "a frame header trickles in too slowly";
        if (r)
            return r;
        uint8_t type;
        size_t n;
        if (nbt_parse_header(hdr, &type, &n)) {
            if (why)
                *why = "bad transport header";
            return -EIO;
        }
        if (type == NBT_KEEPALIVE) {
            /* RFC 1002 gives it no payload; drop any that a peer sends. */
            if (n > NBT_MAX_NBT_FRAME) {
                if (why)
                    *why = "keepalive too long";
                return -EIO;
            }
            r = discard(fd, n, pace_deadline(t0, grace_ms, min_rate, n));
            if (r == -ETIMEDOUT && why)
                *why = "a keepalive trickles in too slowly";
            if (r)
                return r;
            continue;
        }
        if (type != NBT_SESSION_MESSAGE) {
            if (why)
                *why = "unexpected NetBIOS packet type";
            return -EIO;
        }
        if (n > cap) {
            if (why)
                *why = "frame too long";
            return -EIO;
        }
        if (n == 0) {
            if (why)
                *why = "empty frame";
            return -EIO;
        }
        *len = n;
        *deadline = pace_deadline(t0, grace_ms, min_rate, n);
        return 0;
    }
}

int nbt_read_body(int fd, void *p, size_t n, int64_t deadline, const char **why)
{
    int r = read_deadline(fd, p, n, deadline);
    if (r == -ETIMEDOUT && why)
        *why = "a frame trickles in too slowly";
    return r;
}

int nbt_splice_body(int fd, int pipe_wr, size_t n, int64_t deadline, size_t *moved,
                    const char **why)
{
    *moved = 0;
    int lowat = 1, r = 0;
    while (n) {
        /* Only once something is there: a splice from a socket that has
         * nothing waits in the kernel, past any deadline. Poll says so
         * once the whole rest has come (SO_RCVLOWAT, as read_deadline). */
        if (n >= NBT_LOWAT_MIN)
            set_lowat(fd, n, &lowat);
        if ((r = wait_fd(fd, POLLIN, deadline)))
            break;
        ssize_t k = splice(fd, NULL, pipe_wr, NULL, n, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (k > 0) {
            *moved += (size_t)k;
            n -= (size_t)k;
            continue;
        }
        if (k == 0) {
            r = -ECONNRESET;
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN) {
            r = -errno;
            break;
        }
        /* The socket has data (poll said so): the pipe is full, which
         * small socket buffers (a page fragment each) can make it before
         * its bytes are all used. */
        struct pollfd pw = {.fd = pipe_wr, .events = POLLOUT};
        if (poll(&pw, 1, 0) == 0) {
            r = -ENOSPC;
            break;
        }
    }
    set_lowat(fd, 1, &lowat);
    if (r == -ETIMEDOUT && why)
        *why = "a frame trickles in too slowly";
    return r;
}

int nbt_read_frame_paced(int fd, size_t cap, struct rxpool *pool, int grace_ms, unsigned min_rate,
                         uint8_t **frame, size_t *len, bool *pooled, const char **why)
{
    *pooled = false;
    *frame = NULL;
    *len = 0;
    size_t n;
    int64_t deadline;
    int r = nbt_read_head_paced(fd, cap, grace_ms, min_rate, &n, &deadline, why);
    if (r)
        return r;
    bool from_pool = pool && n >= RXPOOL_MIN;
    uint8_t *buf = from_pool ? rxpool_get(pool, n) : malloc(n);
    if (!buf)
        return -ENOMEM;
    r = nbt_read_body(fd, buf, n, deadline, why);
    if (r) {
        if (from_pool)
            rxpool_put(pool, buf);
        else
            free(buf);
        return r;
    }
    *frame = buf;
    *len = n;
    *pooled = from_pool;
    return 0;
}

/* One SESSION REQUEST / response exchange on fd. Returns 0 (positive),
 * -ECONNREFUSED (negative), -EIO (anything else), or a transport error. */
static int session_exchange(int fd, const char *called, const char *calling, int timeout_ms)
{
    uint8_t pkt[4 + 68];
    pkt[0] = NBT_SESSION_REQUEST;
    pkt[1] = 0;
    pkt[2] = 0;
    pkt[3] = 68;
    if (nbname_encode(called, NBNAME_SUFFIX_SERVER, pkt + 4) ||
        nbname_encode(calling, NBNAME_SUFFIX_WKSTA, pkt + 4 + 34))
        return -EINVAL;
    int r = nbt_write_all(fd, pkt, sizeof(pkt));
    if (r)
        return r;
    int64_t deadline = timeout_ms > 0 ? clock_mono_ms() + timeout_ms : -1;
    uint8_t hdr[4];
    r = read_deadline(fd, hdr, sizeof(hdr), deadline);
    if (r)
        return r;
    uint8_t type;
    size_t n;
    if (nbt_parse_header(hdr, &type, &n))
        return -EIO;
    if (type == NBT_POSITIVE_RESPONSE)
        return n == 0 ? 0 : -EIO;
    if (type == NBT_NEGATIVE_RESPONSE && n == 1) {
        uint8_t code;
        r = read_deadline(fd, &code, 1, deadline);
        return r ? r : -ECONNREFUSED;
    }
    /* RETARGET is not followed: no server we target sends it. */
    return -EIO;
}

/* The first DNS label of host, upper-cased and cut to 15 chars, or "" when
 * host is a numeric address (no NetBIOS name can be guessed from it). */
static void host_label(const char *host, char out[NBNAME_LEN + 1])
{
    out[0] = '\0';
    struct in6_addr a6;
    struct in_addr a4;
    if (!host || inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1 ||
        host[0] == '[')
        return;
    size_t i = 0;
    for (; host[i] && host[i] != '.' && i < NBNAME_LEN; i++)
        out[i] = (char)toupper((unsigned char)host[i]);
    out[i] = '\0';
}

int nbt_session_request(int *fd, const char *host, uint16_t port, int timeout_ms,
                        const char *called, const char *calling)
{
    char label[NBNAME_LEN + 1];
    char me[NBNAME_LEN + 1];
    if (!calling || !*calling) {
        char hn[256];
        if (gethostname(hn, sizeof(hn)) == 0) {
            hn[sizeof(hn) - 1] = '\0';
            host_label(hn, me);
        } else {
            me[0] = '\0';
        }
        calling = me[0] ? me : "SMBFUSE";
    }
    /* Two candidate called names: the one given (or "*SMBSERVER"), then the
     * other form, tried on a fresh connection as a server closes the
     * session after a negative response. */
    const char *names[2];
    int count = 0;
    host_label(host, label);
    if (called && *called && strcmp(called, "*SMBSERVER") != 0) {
        names[count++] = called;
        names[count++] = "*SMBSERVER";
    } else {
        names[count++] = "*SMBSERVER";
        if (label[0])
            names[count++] = label;
    }
    int r = -EIO;
    for (int i = 0; i < count; i++) {
        if (i > 0) {
            close(*fd);
            *fd = nbt_tcp_connect(host, port, timeout_ms);
            if (*fd < 0) {
                r = *fd;
                *fd = -1;
                return r;
            }
        }
        r = session_exchange(*fd, names[i], calling, timeout_ms);
        if (r != -ECONNREFUSED)
            break;
    }
    return r;
}
