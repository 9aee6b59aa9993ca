/* The pcap writer: file and record headers, synthesised IPv4/TCP headers
 * whose lengths and sequence numbers add up, the NetBIOS length in front of
 * each SMB, large SMBs split into segments, the size bound, and a clean
 * error for a path that cannot be written. (tshark decodes real captures
 * in fs_explain.test.sh.) */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "link/pcap.h"
#include "wire/wire.h"

struct rec {
    uint32_t caplen;
    const uint8_t *pkt;
};

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)sz + 1);
    cr_assert_eq(fread(b, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return b;
}

static size_t records(const uint8_t *b, size_t n, struct rec *out, size_t max)
{
    size_t k = 0, off = 24;
    while (off + 16 <= n) {
        uint32_t cap = wire_le32(b + off + 8);
        cr_assert_eq(cap, wire_le32(b + off + 12));
        cr_assert(off + 16 + cap <= n);
        cr_assert(k < max);
        out[k].caplen = cap;
        out[k].pkt = b + off + 16;
        k++;
        off += 16 + cap;
    }
    cr_assert_eq(off, n, "records fill the file exactly");
    return k;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static char tmpl[64];

static const char *tmp_path(void)
{
    snprintf(tmpl, sizeof(tmpl), "/tmp/test_pcap.%d.pcap", (int)getpid());
    return tmpl;
}

Test(pcap, frames_and_segments)
{
    int err = 0;
    const char *path = tmp_path();
    struct pcap_writer *p = pcap_open(path, 0, false, &err);
    cr_assert(p, "open: %d", err);
    uint8_t smb[64] = {0xFF, 'S', 'M', 'B', 0x72};
    cr_assert_eq(pcap_write_smb(p, true, smb, sizeof(smb)), 0);
    smb[9] = 0x80;
    cr_assert_eq(pcap_write_smb(p, false, smb, 40), 0);
    size_t big_len = 200000;
    uint8_t *big = calloc(1, big_len);
    memcpy(big, "\xFFSMB\x2e", 5);
    big[big_len - 1] = 0x5A;
    cr_assert_eq(pcap_write_smb(p, false, big, big_len), 0);
    pcap_close(p);

    size_t n;
    uint8_t *b = slurp(path, &n);
    cr_assert_eq(wire_le32(b), 0xa1b2c3d4);
    cr_assert_eq(wire_le32(b + 20), 1);
    struct rec r[32];
    size_t k = records(b, n, r, 32);
    /* 3 handshake packets, 1 + 1 for the small SMBs, 7 for 200004 bytes. */
    cr_assert_eq(k, 3 + 2 + 7);
    uint32_t next[2] = {0, 0};
    size_t big_seen = 0;
    for (size_t i = 0; i < k; i++) {
        const uint8_t *ip = r[i].pkt + 14;
        const uint8_t *tcp = ip + 20;
        cr_assert_eq(be16(r[i].pkt + 12), 0x0800);
        cr_assert_eq(be16(ip + 2), r[i].caplen - 14, "IP total length");
        int d = ip[15] == 1 ? 0 : 1; /* source 10.0.0.1: client */
        uint32_t seq = be32(tcp + 4);
        size_t payload = r[i].caplen - 54;
        if (i >= 2)
            cr_assert_eq(seq, next[d], "packet %zu continues its direction", i);
        next[d] = seq + (uint32_t)payload + ((tcp[13] & 0x02) ? 1 : 0);
        if (i == 3) {
            cr_assert_eq(be16(tcp + 2), 445);
            cr_assert_eq(payload, 68);
            cr_assert_eq(memcmp(tcp + 20, "\0\0\0\x40\xFFSMB\x72", 9), 0);
        }
        if (i >= 5) {
            if (i == 5)
                cr_assert_eq(memcmp(tcp + 20, "\x00\x03\x0d\x40\xFFSMB", 8), 0);
            big_seen += payload;
        }
    }
    cr_assert_eq(big_seen, big_len + 4);
    cr_assert_eq(r[k - 1].pkt[r[k - 1].caplen - 1], 0x5A);
    free(b);
    free(big);
    unlink(path);
}

Test(pcap, bound_stops_the_capture)
{
    int err = 0;
    const char *path = tmp_path();
    struct pcap_writer *p = pcap_open(path, 1000, true, &err);
    cr_assert(p);
    uint8_t smb[300] = {0xFF, 'S', 'M', 'B'};
    int ok = 0, r;
    while ((r = pcap_write_smb(p, true, smb, sizeof(smb))) == 0)
        ok++;
    cr_assert_eq(r, -EFBIG);
    cr_assert_eq(ok, 2); /* 24 + 3 x 70 + 2 x 374 = 982 bytes */
    bool trunc = false;
    uint64_t bytes = pcap_bytes(p, &trunc);
    cr_assert(trunc);
    cr_assert_leq(bytes, 1000);
    cr_assert_eq(pcap_write_smb(p, false, smb, 10), -EFBIG, "nothing after the bound");
    pcap_close(p);
    size_t n;
    uint8_t *b = slurp(path, &n);
    cr_assert_eq(n, bytes);
    struct rec rr[8];
    cr_assert_eq(records(b, n, rr, 8), 5);
    cr_assert_eq(be16(rr[3].pkt + 14 + 20 + 2), 139, "NetBIOS port");
    free(b);
    unlink(path);
}

Test(pcap, unwritable_path)
{
    int err = 0;
    cr_assert_null(pcap_open("/nonexistent-dir/x.pcap", 0, false, &err));
    cr_assert_eq(err, -ENOENT);
}

Test(pcap, a_new_stream_per_connection)
{
    int err = 0;
    const char *path = tmp_path();
    struct pcap_writer *p = pcap_open(path, 0, false, &err);
    cr_assert(p);
    uint8_t smb[40] = {0xFF, 'S', 'M', 'B', 0x72};
    cr_assert_eq(pcap_write_smb(p, true, smb, sizeof(smb)), 0);
    cr_assert_eq(pcap_new_stream(p), 0);
    cr_assert_eq(pcap_write_smb(p, true, smb, sizeof(smb)), 0);
    pcap_close(p);
    size_t n;
    uint8_t *b = slurp(path, &n);
    struct rec r[16];
    /* handshake, SMB, FIN, handshake, SMB */
    cr_assert_eq(records(b, n, r, 16), 3 + 1 + 1 + 3 + 1);
    const uint8_t *fin = r[4].pkt + 34, *syn = r[5].pkt + 34, *last = r[8].pkt + 34;
    cr_assert_eq(fin[13] & 0x01, 0x01, "FIN ends the first stream");
    cr_assert_eq(be16(fin), 49152);
    cr_assert_eq(syn[13], 0x02, "SYN starts the second");
    cr_assert_eq(be16(syn), 49153);
    cr_assert_eq(be16(last), 49153);
    cr_assert_eq(be32(last + 4), be32(syn + 4) + 1, "the new stream's data follows its SYN");
    free(b);
    unlink(path);
}
