/* netbios: name encoding (RFC 1002 4.1 vector), label decoding with
 * scope and compression pointers, and the name service codec on fixed
 * byte vectors: query and node status requests, positive (unique and
 * group), negative, WACK, REDIRECT and node status replies, replies that
 * are not ours, and every truncation of each reply. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "netbios/nbname.h"
#include "netbios/nbns.h"

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = 0;
    for (; h[0] && h[1]; h += 2) {
        unsigned v;
        sscanf(h, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* "FRED"<20>, first-level encoded: the RFC 1002 4.1 example. */
#define FRED_ENC                                                                                   \
    "\x20"                                                                                         \
    "EGFCEFEECACACACACACACACACACACACA"                                                             \
    "\x00"
/* "*"<00> padded with NULs: the node status question. */
#define STAR_ENC                                                                                   \
    "\x20"                                                                                         \
    "CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"                                                             \
    "\x00"

Test(nbname, rfc1002_vector_with_scope)
{
    /* shared/protocol/vectors/netbios_name.json, wire_labels_hex */
    uint8_t pkt[64];
    size_t n = unhex("204547464345464545434143414341434143414341434143414341434143414341074e"
                     "455442494f5303434f4d00",
                     pkt);
    struct wire_reader r;
    wire_reader_init(&r, pkt, n);
    uint8_t raw[16];
    char scope[32];
    cr_assert_eq(nbname_decode(&r, raw, scope, sizeof(scope)), 0);
    cr_assert_arr_eq(raw, "FRED            ", 16);
    cr_assert_str_eq(scope, "NETBIOS.COM");
    cr_assert_eq(r.pos, n);
    char shown[24];
    nbname_format(raw, shown);
    cr_assert_str_eq(shown, "FRED<20>");
    char enc[32];
    nbname_encode_raw(raw, enc);
    cr_assert_arr_eq(enc, "EGFCEFEECACACACACACACACACACACACA", 32);
}

Test(nbname, validity_and_raw)
{
    cr_assert(nbname_valid("NBSRV"));
    cr_assert(nbname_valid("ABCDEFGHIJKLMNO"));
    cr_assert_not(nbname_valid("ABCDEFGHIJKLMNOP"), "16 characters is a DNS name");
    cr_assert_not(nbname_valid("nas.local"), "a dot makes a DNS name");
    cr_assert_not(nbname_valid(""));
    uint8_t raw[16];
    cr_assert_eq(nbname_raw("testgrp", 0x1D, raw), 0);
    cr_assert_arr_eq(raw, "TESTGRP        \x1d", 16);
    cr_assert_eq(nbname_raw("*", 0, raw), 0);
    cr_assert_arr_eq(raw, "*\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    cr_assert_eq(nbname_raw(NBNAME_MSBROWSE, 1, raw), 0);
    cr_assert_arr_eq(raw, "\x01\x02__MSBROWSE__\x02\x01", 16);
}

Test(nbname, pointers_and_bad_labels)
{
    /* A name at 12, then a pointer to it at 46. */
    uint8_t pkt[64] = {0};
    memcpy(pkt + 12, FRED_ENC, 34);
    pkt[46] = 0xC0;
    pkt[47] = 12;
    struct wire_reader r;
    wire_reader_init(&r, pkt, 48);
    wire_seek(&r, 46);
    uint8_t raw[16];
    char scope[8];
    cr_assert_eq(nbname_decode(&r, raw, scope, sizeof(scope)), 0);
    cr_assert_eq(r.pos, 48, "a pointer takes two bytes of the record");
    cr_assert_arr_eq(raw, "FRED            ", 16);
    /* A pointer to itself or forwards is refused (no loops). */
    pkt[47] = 46;
    wire_reader_init(&r, pkt, 48);
    wire_seek(&r, 46);
    cr_assert_eq(nbname_decode(&r, raw, scope, sizeof(scope)), -EIO);
    /* A first label of other than 32 characters, or outside 'A'..'P'. */
    uint8_t bad[40];
    memcpy(bad, FRED_ENC, 34);
    bad[5] = 'Q';
    wire_reader_init(&r, bad, 34);
    cr_assert_eq(nbname_decode(&r, raw, scope, sizeof(scope)), -EIO);
    bad[0] = 31;
    wire_reader_init(&r, bad, 34);
    cr_assert_eq(nbname_decode(&r, raw, scope, sizeof(scope)), -EIO);
    for (size_t n = 0; n < 34; n++) {
        wire_reader_init(&r, FRED_ENC, n);
        cr_assert_eq(nbname_decode(&r, raw, scope, sizeof(scope)), -EIO, "cut at %zu", n);
    }
}

Test(nbns, query_request_bytes)
{
    uint8_t b[NBNS_MAX_PKT];
    int n = nbns_build_query(b, sizeof(b), 0x1234, "fred", 0x20, true);
    static const uint8_t want[] =
        "\x12\x34\x01\x10\x00\x01\x00\x00\x00\x00\x00\x00" FRED_ENC "\x00\x20\x00\x01";
    cr_assert_eq(n, 50);
    cr_assert_arr_eq(b, want, 50);
    n = nbns_build_query(b, sizeof(b), 0x1234, "FRED", 0x20, false);
    cr_assert_eq(n, 50);
    cr_assert_eq(b[2], 0x01, "unicast: RD");
    cr_assert_eq(b[3], 0x00, "unicast: no B");
    cr_assert_eq(nbns_build_query(b, sizeof(b), 1, "ABCDEFGHIJKLMNOP", 0x20, true), -EINVAL);
    n = nbns_build_status(b, sizeof(b), 0xBEEF);
    static const uint8_t st[] =
        "\xbe\xef\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00" STAR_ENC "\x00\x21\x00\x01";
    cr_assert_eq(n, 50);
    cr_assert_arr_eq(b, st, 50);
}

static const uint8_t fred_raw[16] = "FRED            ";

/* A positive answer for FRED<20> from 10.231.0.2 (unique), TTL 300000. */
static const uint8_t positive[] = "\x12\x34\x85\x00\x00\x00\x00\x01\x00\x00\x00\x00" FRED_ENC
                                  "\x00\x20\x00\x01\x00\x04\x93\xe0\x00\x06"
                                  "\x00\x00\x0a\xe7\x00\x02";
#define POSITIVE_LEN (12 + 34 + 10 + 6)

Test(nbns, positive_reply)
{
    struct nbns_reply rep;
    cr_assert_eq(nbns_parse_reply(positive, POSITIVE_LEN, 0x1234, fred_raw, NBNS_TYPE_NB, &rep), 0);
    cr_assert_eq(rep.kind, NBNS_POSITIVE);
    cr_assert_eq(rep.ttl, 300000);
    cr_assert_eq(rep.naddrs, 1);
    cr_assert_arr_eq(rep.addrs[0].addr, "\x0a\xe7\x00\x02", 4);
    cr_assert_eq(rep.addrs[0].flags & NBNS_NB_GROUP, 0);
    for (size_t n = 0; n < POSITIVE_LEN; n++) {
        int r = nbns_parse_reply(positive, n, 0x1234, fred_raw, NBNS_TYPE_NB, &rep);
        cr_assert(r == -EIO || r == -EAGAIN, "cut at %zu: %d", n, r);
    }
}

Test(nbns, group_reply_several_addresses)
{
    uint8_t b[128];
    memcpy(b, positive, POSITIVE_LEN - 6);
    size_t n = POSITIVE_LEN - 6;
    b[n - 1] = 18; /* RDLENGTH: three entries */
    memcpy(b + n, "\x80\x00\x0a\x00\x00\x01\x80\x00\x0a\x00\x00\x02\x80\x00\x0a\x00\x00\x03", 18);
    n += 18;
    struct nbns_reply rep;
    cr_assert_eq(nbns_parse_reply(b, n, 0x1234, fred_raw, NBNS_TYPE_NB, &rep), 0);
    cr_assert_eq(rep.naddrs, 3);
    cr_assert(rep.addrs[2].flags & NBNS_NB_GROUP);
    cr_assert_arr_eq(rep.addrs[2].addr, "\x0a\x00\x00\x03", 4);
    /* RDATA that is not a whole number of entries: truncated. */
    b[n - 18 - 1] = 17;
    cr_assert_eq(nbns_parse_reply(b, n - 1, 0x1234, fred_raw, NBNS_TYPE_NB, &rep), -EIO);
    /* RDLENGTH beyond the datagram. */
    b[n - 18 - 1] = 24;
    cr_assert_eq(nbns_parse_reply(b, n, 0x1234, fred_raw, NBNS_TYPE_NB, &rep), -EIO);
}

Test(nbns, not_ours)
{
    struct nbns_reply rep;
    /* Another TRN_ID. */
    cr_assert_eq(nbns_parse_reply(positive, POSITIVE_LEN, 0x1235, fred_raw, NBNS_TYPE_NB, &rep),
                 -EAGAIN);
    /* Another name with our TRN_ID. */
    uint8_t other[16];
    nbname_raw("BARNEY", 0x20, other);
    cr_assert_eq(nbns_parse_reply(positive, POSITIVE_LEN, 0x1234, other, NBNS_TYPE_NB, &rep),
                 -EAGAIN);
    /* The same name with another suffix. */
    nbname_raw("FRED", 0x00, other);
    cr_assert_eq(nbns_parse_reply(positive, POSITIVE_LEN, 0x1234, other, NBNS_TYPE_NB, &rep),
                 -EAGAIN);
    /* A request (R clear), e.g. our own broadcast coming back. */
    uint8_t b[NBNS_MAX_PKT];
    int n = nbns_build_query(b, sizeof(b), 0x1234, "FRED", 0x20, true);
    cr_assert_eq(nbns_parse_reply(b, (size_t)n, 0x1234, fred_raw, NBNS_TYPE_NB, &rep), -EAGAIN);
    /* A registration response (opcode 5). */
    memcpy(b, positive, POSITIVE_LEN);
    b[2] = 0xAD;
    cr_assert_eq(nbns_parse_reply(b, POSITIVE_LEN, 0x1234, fred_raw, NBNS_TYPE_NB, &rep), -EAGAIN);
}

Test(nbns, negative_reply)
{
    /* RFC 1002 4.2.14: RCODE 3, the RR names the question, no RDATA. */
    static const uint8_t neg[] = "\x12\x34\x85\x03\x00\x00\x00\x01\x00\x00\x00\x00" FRED_ENC
                                 "\x00\x20\x00\x01\x00\x00\x00\x00\x00\x00";
    struct nbns_reply rep;
    cr_assert_eq(nbns_parse_reply(neg, 12 + 34 + 10, 0x1234, fred_raw, NBNS_TYPE_NB, &rep), 0);
    cr_assert_eq(rep.kind, NBNS_NEGATIVE);
    cr_assert_eq(rep.rcode, NBNS_RCODE_NAM_ERR);
}

Test(nbns, wack_reply)
{
    /* RFC 1002 4.2.16: opcode 7, RR_TYPE NULL, TTL 2 s, RDATA = our flags. */
    static const uint8_t wack[] = "\x12\x34\xbc\x00\x00\x00\x00\x01\x00\x00\x00\x00" FRED_ENC
                                  "\x00\x0a\x00\x01\x00\x00\x00\x02\x00\x02\x01\x00";
    struct nbns_reply rep;
    cr_assert_eq(nbns_parse_reply(wack, 12 + 34 + 12, 0x1234, fred_raw, NBNS_TYPE_NB, &rep), 0);
    cr_assert_eq(rep.kind, NBNS_WACK);
    cr_assert_eq(rep.ttl, 2);
    uint8_t b[64];
    memcpy(b, wack, 58);
    b[52] = 0x7F; /* TTL huge: capped */
    cr_assert_eq(nbns_parse_reply(b, 58, 0x1234, fred_raw, NBNS_TYPE_NB, &rep), 0);
    cr_assert_eq(rep.ttl, NBNS_WACK_MAX_S);
}

Test(nbns, redirect_reply)
{
    /* RFC 1002 4.2.15: NS record for our name, A record 10.0.0.9. */
    static const uint8_t red[] = "\x12\x34\x81\x80\x00\x00\x00\x00\x00\x01\x00\x01" FRED_ENC
                                 "\x00\x02\x00\x01\x00\x00\x00\x00\x00\x05\x03NS1\x00"
                                 "\x03NS1\x00\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04"
                                 "\x0a\x00\x00\x09";
    size_t n = 12 + 34 + 10 + 5 + 5 + 10 + 4;
    struct nbns_reply rep;
    cr_assert_eq(nbns_parse_reply(red, n, 0x1234, fred_raw, NBNS_TYPE_NB, &rep), 0);
    cr_assert_eq(rep.kind, NBNS_REDIRECT);
    cr_assert_arr_eq(rep.redirect, "\x0a\x00\x00\x09", 4);
    for (size_t i = 0; i < n; i++) {
        int r = nbns_parse_reply(red, i, 0x1234, fred_raw, NBNS_TYPE_NB, &rep);
        cr_assert(r == -EIO || r == -EAGAIN, "cut at %zu: %d", i, r);
    }
}

/* Node status of NBSRV: NBSRV<00>, NBSRV<20>, TESTGRP<00> group, MAC. */
static size_t status_reply(uint8_t *b)
{
    static const uint8_t head[] = "\x0b\x0b\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00" STAR_ENC
                                  "\x00\x21\x00\x01\x00\x00\x00\x00";
    size_t n = 12 + 34 + 8;
    memcpy(b, head, n);
    size_t rdlen_at = n;
    n += 2;
    b[n++] = 3;
    memcpy(b + n, "NBSRV          \x00\x04\x00", 18);
    n += 18;
    memcpy(b + n, "NBSRV          \x20\x04\x00", 18);
    n += 18;
    memcpy(b + n, "TESTGRP        \x00\x84\x00", 18);
    n += 18;
    memcpy(b + n, "\x00\x11\x22\x33\x44\x55", 6);
    n += 6;
    memset(b + n, 0, 40); /* the rest of STATISTICS */
    n += 40;
    b[rdlen_at] = (uint8_t)((n - rdlen_at - 2) >> 8);
    b[rdlen_at + 1] = (uint8_t)(n - rdlen_at - 2);
    return n;
}

Test(nbns, node_status_reply)
{
    uint8_t b[256], star[16];
    size_t n = status_reply(b);
    nbname_raw("*", 0, star);
    struct nbns_reply rep;
    cr_assert_eq(nbns_parse_reply(b, n, 0x0b0b, star, NBNS_TYPE_NBSTAT, &rep), 0);
    cr_assert_eq(rep.kind, NBNS_STATUS);
    cr_assert_eq(rep.nnames, 3);
    cr_assert_arr_eq(rep.names[1].raw, "NBSRV          \x20", 16);
    cr_assert_eq(rep.names[1].flags, NBNS_NAME_ACTIVE);
    cr_assert_eq(rep.names[2].flags, NBNS_NAME_GROUP | NBNS_NAME_ACTIVE);
    cr_assert_arr_eq(rep.mac, "\x00\x11\x22\x33\x44\x55", 6);
    /* Without the statistics it is still a list of names. */
    size_t cut = 12 + 34 + 10 + 1 + 54;
    b[12 + 34 + 8] = 0;
    b[12 + 34 + 9] = 55;
    cr_assert_eq(nbns_parse_reply(b, cut, 0x0b0b, star, NBNS_TYPE_NBSTAT, &rep), 0);
    cr_assert_eq(rep.nnames, 3);
    /* NUM_NAMES larger than the names present. */
    b[12 + 34 + 10] = 4;
    cr_assert_eq(nbns_parse_reply(b, cut, 0x0b0b, star, NBNS_TYPE_NBSTAT, &rep), -EIO);
    n = status_reply(b);
    for (size_t i = 0; i < 12 + 34 + 10 + 1 + 54; i++) {
        int r = nbns_parse_reply(b, i, 0x0b0b, star, NBNS_TYPE_NBSTAT, &rep);
        cr_assert(r == -EIO || r == -EAGAIN, "cut at %zu: %d", i, r);
    }
}
