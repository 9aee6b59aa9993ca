/* The pcap writer: classic libpcap format (magic 0xa1b2c3d4, version 2.4,
 * microsecond stamps, link type 1 = Ethernet), little-endian as written by
 * wire_st*. See pcap.h for what goes into each record. */
#include "link/pcap.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wire/wire.h"

#define ETH_LEN 14
#define IP_LEN  20
#define TCP_LEN 20
#define HDRS    (ETH_LEN + IP_LEN + TCP_LEN)
/* TCP payload per synthesised segment: well inside IPv4's 65535. */
#define SEG_MAX 32768
#define REC_HDR 16

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_PSH 0x08
#define TCP_ACK 0x10

#define CLIENT_PORT 49152 /* of the first stream; each new one takes the next */

struct pcap_writer {
    pthread_mutex_t lock; /* protects everything below and writes to fd */
    int fd;
    uint64_t max, written;
    bool full;  /* the bound was reached */
    int failed; /* a write failed: -errno, nothing more is written */
    uint16_t server_port, client_port;
    uint32_t seq[2]; /* next TCP sequence number: [0] client, [1] server */
    uint16_t ip_id;
};

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    put_be16(p, (uint16_t)(v >> 16));
    put_be16(p + 2, (uint16_t)v);
}

static uint16_t ip_checksum(const uint8_t *h, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(h[i] << 8 | h[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}

/* One packet: headers for a segment of the given direction and flags,
 * then the payload pieces a (transport header) and b (SMB bytes).
 * Caller holds the lock. */
static int put_packet(struct pcap_writer *p, bool to_server, uint8_t flags, const uint8_t *a,
                      size_t alen, const uint8_t *b, size_t blen)
{
    uint8_t h[REC_HDR + HDRS];
    size_t payload = alen + blen;
    size_t caplen = HDRS + payload;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    wire_st32(h, (uint32_t)ts.tv_sec);
    wire_st32(h + 4, (uint32_t)(ts.tv_nsec / 1000));
    wire_st32(h + 8, (uint32_t)caplen);
    wire_st32(h + 12, (uint32_t)caplen);
    uint8_t *e = h + REC_HDR;
    static const uint8_t mac_c[6] = {0x02, 0, 0, 0, 0, 1}, mac_s[6] = {0x02, 0, 0, 0, 0, 2};
    memcpy(e, to_server ? mac_s : mac_c, 6);
    memcpy(e + 6, to_server ? mac_c : mac_s, 6);
    put_be16(e + 12, 0x0800);
    uint8_t *ip = e + ETH_LEN;
    memset(ip, 0, IP_LEN);
    ip[0] = 0x45;
    put_be16(ip + 2, (uint16_t)(IP_LEN + TCP_LEN + payload));
    put_be16(ip + 4, p->ip_id++);
    put_be16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = 6;
    static const uint8_t ip_c[4] = {10, 0, 0, 1}, ip_s[4] = {10, 0, 0, 2};
    memcpy(ip + 12, to_server ? ip_c : ip_s, 4);
    memcpy(ip + 16, to_server ? ip_s : ip_c, 4);
    put_be16(ip + 10, ip_checksum(ip, IP_LEN));
    uint8_t *tcp = ip + IP_LEN;
    memset(tcp, 0, TCP_LEN);
    put_be16(tcp, to_server ? p->client_port : p->server_port);
    put_be16(tcp + 2, to_server ? p->server_port : p->client_port);
    int d = to_server ? 0 : 1;
    put_be32(tcp + 4, p->seq[d]);
    put_be32(tcp + 8, (flags & TCP_ACK) ? p->seq[1 - d] : 0);
    tcp[12] = (TCP_LEN / 4) << 4;
    tcp[13] = flags;
    put_be16(tcp + 14, 65535);
    /* Checksum left 0: Wireshark does not check it unless asked to. */
    p->seq[d] += (uint32_t)payload + ((flags & (TCP_SYN | TCP_FIN)) ? 1 : 0);
    int r = write_all(p->fd, h, sizeof(h));
    if (r == 0 && alen)
        r = write_all(p->fd, a, alen);
    if (r == 0 && blen)
        r = write_all(p->fd, b, blen);
    if (r == 0)
        p->written += REC_HDR + caplen;
    return r;
}

/* SYN, SYN-ACK, ACK. Caller holds the lock (or owns p alone). */
static int handshake(struct pcap_writer *p)
{
    int r = put_packet(p, true, TCP_SYN, NULL, 0, NULL, 0);
    if (r == 0)
        r = put_packet(p, false, TCP_SYN | TCP_ACK, NULL, 0, NULL, 0);
    if (r == 0)
        r = put_packet(p, true, TCP_ACK, NULL, 0, NULL, 0);
    return r;
}

struct pcap_writer *pcap_open(const char *path, uint64_t max_bytes, bool netbios, int *err)
{
    struct pcap_writer *p = calloc(1, sizeof(*p));
    if (!p) {
        *err = -ENOMEM;
        return NULL;
    }
    p->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (p->fd < 0) {
        *err = -errno;
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    p->max = max_bytes ? max_bytes : PCAP_DEFAULT_MAX;
    p->server_port = netbios ? 139 : 445;
    p->client_port = CLIENT_PORT;
    p->seq[0] = 0x10000000;
    p->seq[1] = 0x20000000;
    uint8_t gh[24];
    wire_st32(gh, 0xa1b2c3d4);
    wire_st16(gh + 4, 2);
    wire_st16(gh + 6, 4);
    wire_st32(gh + 8, 0);
    wire_st32(gh + 12, 0);
    wire_st32(gh + 16, 262144); /* snaplen */
    wire_st32(gh + 20, 1);      /* LINKTYPE_ETHERNET */
    int r = write_all(p->fd, gh, sizeof(gh));
    p->written = sizeof(gh);
    if (r == 0)
        r = handshake(p);
    if (r) {
        *err = r;
        pcap_close(p);
        return NULL;
    }
    return p;
}

int pcap_write_smb(struct pcap_writer *p, bool to_server, const uint8_t *smb, size_t len)
{
    if (len > 0xFFFFFF)
        return -EMSGSIZE;
    uint8_t nbt[4] = {0, (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    pthread_mutex_lock(&p->lock);
    int r = p->failed ? p->failed : p->full ? -EFBIG : 0;
    size_t nseg = (len + 4 + SEG_MAX - 1) / SEG_MAX;
    uint64_t need = (uint64_t)nseg * (REC_HDR + HDRS) + len + 4;
    if (r == 0 && (p->written >= p->max || need > p->max - p->written)) {
        p->full = true;
        r = -EFBIG;
    }
    /* The first segment carries the 4-byte header and the start of the
     * SMB; later ones the rest. */
    size_t off = 0;
    bool first = true;
    while (r == 0 && (first || off < len)) {
        size_t room = SEG_MAX - (first ? 4 : 0);
        size_t n = len - off < room ? len - off : room;
        r = put_packet(p, to_server, TCP_PSH | TCP_ACK, first ? nbt : NULL, first ? 4 : 0,
                       smb + off, n);
        off += n;
        first = false;
    }
    if (r && r != -EFBIG)
        p->failed = r;
    pthread_mutex_unlock(&p->lock);
    return r;
}

int pcap_new_stream(struct pcap_writer *p)
{
    pthread_mutex_lock(&p->lock);
    int r = p->failed ? p->failed : p->full ? -EFBIG : 0;
    if (r == 0 && (p->written >= p->max || 5 * (REC_HDR + HDRS) > p->max - p->written)) {
        p->full = true;
        r = -EFBIG;
    }
    if (r == 0)
        r = put_packet(p, true, TCP_FIN | TCP_ACK, NULL, 0, NULL, 0);
    if (r == 0) {
        p->client_port = (uint16_t)(p->client_port == 65535 ? CLIENT_PORT : p->client_port + 1);
        p->seq[0] += 0x01000000;
        p->seq[1] += 0x01000000;
        r = handshake(p);
    }
    if (r && r != -EFBIG)
        p->failed = r;
    pthread_mutex_unlock(&p->lock);
    return r;
}

uint64_t pcap_bytes(struct pcap_writer *p, bool *truncated)
{
    pthread_mutex_lock(&p->lock);
    uint64_t n = p->written;
    if (truncated)
        *truncated = p->full;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void pcap_close(struct pcap_writer *p)
{
    if (!p)
        return;
    if (p->fd >= 0)
        close(p->fd);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
