/* rpc: fixed byte vectors for what browse.c, dcerpc.c, ndr.c and srvsvc.c
 * put on the wire and read from it: NetServerEnum2/3 requests and
 * SERVER_INFO_1 replies (with the restart name skipped), the bind PDU,
 * bind_ack / bind_nak, request fragment headers, response fragments with
 * call ids and faults, the NetrShareEnum request stub and NDR strings. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/browse.h"
#include "rpc/dcerpc.h"
#include "rpc/ndr.h"
#include "rpc/rap.h"
#include "rpc/srvsvc.h"

static void st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void st32(uint8_t *p, uint32_t v)
{
    st16(p, (uint16_t)v);
    st16(p + 2, (uint16_t)(v >> 16));
}

Test(browse, netserverenum_requests)
{
    uint8_t b[128];
    int n = browse_build_enum(b, sizeof(b), RAP_RECV_BUF, 0xFFFFFFFFu, "TESTGRP", NULL);
    static const uint8_t want2[] = "\x68\x00"
                                   "WrLehDz\0"
                                   "B16BBDz\0"
                                   "\x01\x00\xe0\xff\xff\xff\xff\xff"
                                   "TESTGRP";
    cr_assert_eq(n, (int)sizeof(want2));
    cr_assert_arr_eq(b, want2, sizeof(want2));
    n = browse_build_enum(b, sizeof(b), RAP_RECV_BUF, 0x80000000u, "TESTGRP", "NBCLI");
    static const uint8_t want3[] = "\xd7\x00"
                                   "WrLehDzz\0"
                                   "B16BBDz\0"
                                   "\x01\x00\xe0\xff\x00\x00\x00\x80"
                                   "TESTGRP\0"
                                   "NBCLI";
    cr_assert_eq(n, (int)sizeof(want3));
    cr_assert_arr_eq(b, want3, sizeof(want3));
}

struct servers {
    int n;
    char name[4][17];
    uint32_t type[4];
    char comment[4][64];
};

static int on_server(void *ctx, const char *name, uint32_t type, const char *comment)
{
    struct servers *s = ctx;
    if (s->n < 4) {
        strcpy(s->name[s->n], name);
        s->type[s->n] = type;
        snprintf(s->comment[s->n], sizeof(s->comment[0]), "%s", comment);
    }
    s->n++;
    return 0;
}

/* Two SERVER_INFO_1 (26 bytes each) and their comments after them. */
static size_t server_reply(uint8_t *param, uint8_t *data, uint16_t status)
{
    st16(param, status);
    st16(param + 2, 0x1000); /* converter */
    st16(param + 4, 2);
    st16(param + 6, 3);
    memset(data, 0, 52);
    memcpy(data, "NBCLI", 5);
    data[16] = 4;
    data[17] = 9;
    st32(data + 18, 0x00011003);
    st32(data + 22, 0x1000 + 52);
    memcpy(data + 26, "NBSRV", 5);
    st32(data + 26 + 18, 0x0005102b);
    st32(data + 26 + 22, 0x1000 + 52 + 10);
    memcpy(data + 52, "lab NBCLI\0lab NBSRV\0", 20);
    return 72;
}

Test(browse, server_info_1_reply)
{
    uint8_t param[8], data[128];
    size_t dlen = server_reply(param, data, 234);
    struct servers s = {0};
    char last[17];
    bool more;
    cr_assert_eq(browse_decode(param, 8, data, dlen, NULL, on_server, &s, last, &more), 0);
    cr_assert(more, "ERROR_MORE_DATA");
    cr_assert_eq(s.n, 2);
    cr_assert_str_eq(s.name[1], "NBSRV");
    cr_assert_eq(s.type[1], 0x0005102b);
    cr_assert_str_eq(s.comment[0], "lab NBCLI");
    cr_assert_str_eq(s.comment[1], "lab NBSRV");
    cr_assert_str_eq(last, "NBSRV");
    /* NetServerEnum3 restarts at the name given: not delivered twice. */
    struct servers t = {0};
    cr_assert_eq(browse_decode(param, 8, data, dlen, "NBCLI", on_server, &t, last, &more), 0);
    cr_assert_eq(t.n, 1);
    cr_assert_str_eq(t.name[0], "NBSRV");
    /* Truncations: the entries are checked, a comment pointer outside
     * the data only empties the comment. */
    for (size_t k = 0; k < 52; k++) {
        struct servers u = {0};
        cr_assert_eq(browse_decode(param, 8, data, k, NULL, on_server, &u, last, &more), -EIO,
                     "cut at %zu", k);
    }
    st32(data + 22, 0x0FFF);
    struct servers u = {0};
    cr_assert_eq(browse_decode(param, 8, data, dlen, NULL, on_server, &u, last, &more), 0);
    cr_assert_str_eq(u.comment[0], "");
    cr_assert_eq(browse_decode(param, 7, data, dlen, NULL, on_server, &u, last, &more), -EIO);
    st16(param, 5);
    cr_assert_eq(browse_decode(param, 8, data, dlen, NULL, on_server, &u, last, &more), -EACCES);
}

Test(dcerpc, bind_pdu_bytes)
{
    uint8_t b[96];
    size_t n = dcerpc_build_bind(b, sizeof(b), 1, &srvsvc_syntax);
    static const uint8_t want[] =
        "\x05\x00\x0b\x03\x10\x00\x00\x00\x48\x00\x00\x00\x01\x00\x00\x00" /* header */
        "\xb8\x10\xb8\x10\x00\x00\x00\x00\x01\x00\x00\x00"                 /* frags, group */
        "\x00\x00\x01\x00"                                                 /* context 0 */
        "\xc8\x4f\x32\x4b\x70\x16\xd3\x01\x12\x78\x5a\x47\xbf\x6e\xe1\x88\x03\x00\x00\x00"
        "\x04\x5d\x88\x8a\xeb\x1c\xc9\x11\x9f\xe8\x08\x00\x2b\x10\x48\x60\x02\x00\x00\x00";
    cr_assert_eq(n, 72);
    cr_assert_arr_eq(b, want, 72);
    cr_assert_eq(dcerpc_build_bind(b, 71, 1, &srvsvc_syntax), 0);
}

/* A bind_ack as Samba 4.17 sends it: max frags 4280, \PIPE\srvsvc. */
static size_t bind_ack(uint8_t *b, uint16_t result)
{
    static const uint8_t head[] = "\x05\x00\x0c\x03\x10\x00\x00\x00\x44\x00\x00\x00\x01\x00\x00\x00"
                                  "\xb8\x10\xb8\x10\x53\xf0\x00\x00"
                                  "\x0d\x00\\PIPE\\srvsvc\x00"
                                  "\x00" /* to 4 */
                                  "\x01\x00\x00\x00";
    size_t n = 16 + 8 + 2 + 13 + 1 + 4;
    memcpy(b, head, n);
    st16(b + n, result);
    st16(b + n + 2, 0);
    memcpy(b + n + 4, "\x04\x5d\x88\x8a\xeb\x1c\xc9\x11\x9f\xe8\x08\x00\x2b\x10\x48\x60\x02\0\0\0",
           20);
    n += 24;
    st16(b + 8, (uint16_t)n);
    return n;
}

Test(dcerpc, bind_ack_and_nak)
{
    uint8_t b[128];
    uint16_t mx = 0;
    size_t n = bind_ack(b, 0);
    cr_assert_eq(dcerpc_parse_bind_ack(b, n, 1, &mx), 0);
    cr_assert_eq(mx, 4280);
    cr_assert_eq(dcerpc_parse_bind_ack(b, n, 2, &mx), -EIO, "another call id");
    for (size_t k = 0; k < 44; k++)
        cr_assert_eq(dcerpc_parse_bind_ack(b, k, 1, &mx), -EIO, "cut at %zu", k);
    n = bind_ack(b, 2); /* provider rejection */
    cr_assert_eq(dcerpc_parse_bind_ack(b, n, 1, &mx), -EPROTONOSUPPORT);
    static const uint8_t nak[] = "\x05\x00\x0d\x03\x10\x00\x00\x00\x12\x00\x00\x00\x01\x00\x00\x00"
                                 "\x04\x00";
    cr_assert_eq(dcerpc_parse_bind_ack(nak, 18, 1, &mx), -EPROTONOSUPPORT);
}

Test(dcerpc, request_header_bytes)
{
    uint8_t b[24];
    dcerpc_put_request_header(b, DCERPC_FIRST_FRAG, 24 + 100, 7, 300, 15);
    static const uint8_t want[] = "\x05\x00\x00\x01\x10\x00\x00\x00\x7c\x00\x00\x00\x07\x00\x00\x00"
                                  "\x2c\x01\x00\x00\x00\x00\x0f\x00";
    cr_assert_arr_eq(b, want, 24);
}

static size_t frag(uint8_t *p, uint8_t ptype, uint8_t flags, uint32_t call, const void *stub,
                   size_t n)
{
    memset(p, 0, 24);
    p[0] = 5;
    p[2] = ptype;
    p[3] = flags;
    p[4] = 0x10;
    st16(p + 8, (uint16_t)(24 + n));
    st32(p + 12, call);
    memcpy(p + 24, stub, n);
    return 24 + n;
}

Test(dcerpc, response_fragments)
{
    uint8_t b[256], *stub = NULL;
    size_t sl = 0;
    uint32_t fault = 0;
    size_t n = frag(b, 2, 1, 9, "abc", 3);
    n += frag(b + n, 2, 0, 9, "de", 2);
    cr_assert_eq(dcerpc_stubs(b, n, 9, &stub, &sl, &fault), 0, "no last fragment yet");
    n += frag(b + n, 2, 2, 9, "f", 1);
    cr_assert_eq(dcerpc_stubs(b, n, 9, &stub, &sl, &fault), 1);
    cr_assert_eq(sl, 6);
    cr_assert_arr_eq(stub, "abcdef", 6);
    free(stub);
    cr_assert_eq(dcerpc_stubs(b, n, 8, &stub, &sl, &fault), -EIO, "another call id");
    /* A first fragment without FIRST_FRAG. */
    n = frag(b, 2, 2, 9, "x", 1);
    cr_assert_eq(dcerpc_stubs(b, n, 9, &stub, &sl, &fault), -EIO);
    /* A fault: nca_s_op_rng_error. */
    n = frag(b, 3, 3, 9, "\x02\x00\x01\x1c", 4);
    cr_assert_eq(dcerpc_stubs(b, n, 9, &stub, &sl, &fault), -EPROTO);
    cr_assert_eq(fault, 0x1c010002);
    /* A fault cut short, big-endian data, a length below the header. */
    cr_assert_eq(dcerpc_stubs(b, 26, 9, &stub, &sl, &fault), 0);
    b[4] = 0x00;
    cr_assert_eq(dcerpc_stubs(b, n, 9, &stub, &sl, &fault), -EIO);
    b[4] = 0x10;
    st16(b + 8, 20);
    cr_assert_eq(dcerpc_stubs(b, n, 9, &stub, &sl, &fault), -EIO);
}

Test(srvsvc, share_enum_request_stub)
{
    uint8_t b[64];
    int n = srvsvc_build_share_enum(b, sizeof(b), NULL);
    static const uint8_t want[] = "\x00\x00\x00\x00" /* ServerName NULL */
                                  "\x01\x00\x00\x00\x01\x00\x00\x00\x04\x00\x02\x00"
                                  "\x00\x00\x00\x00\x00\x00\x00\x00"
                                  "\xff\xff\xff\xff"
                                  "\x08\x00\x02\x00\x00\x00\x00\x00";
    cr_assert_eq(n, 36);
    cr_assert_arr_eq(b, want, 36);
    n = srvsvc_build_share_enum(b, sizeof(b), "\\\\NB");
    static const uint8_t named[] =
        "\x04\x00\x02\x00\x05\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00"
        "\\\0\\\0N\0B\0\0\0\0\0"
        "\x01\x00\x00\x00";
    cr_assert_eq(n, 28 + 32);
    cr_assert_arr_eq(b, named, 32);
}

Test(ndr, strings)
{
    uint8_t b[64];
    struct wire_writer w;
    wire_writer_init(&w, b, sizeof(b));
    wire_put_u8(&w, 0xAA); /* misaligned on purpose */
    cr_assert_eq(ndr_put_wstring(&w, "hé"), 0);
    cr_assert_eq(w.pos, 4 + 12 + 6);
    struct wire_reader r;
    wire_reader_init(&r, b, w.pos);
    wire_skip(&r, 1);
    int err = 0;
    char *s = ndr_get_wstring(&r, &err);
    cr_assert_not_null(s);
    cr_assert_str_eq(s, "hé");
    free(s);
    /* actual > max, an offset, a length beyond the buffer. */
    st32(b + 12, 9);
    wire_reader_init(&r, b, w.pos);
    cr_assert_null(ndr_get_wstring(&r, &err));
    cr_assert_eq(err, -EIO);
    st32(b + 12, 3);
    st32(b + 8, 1);
    wire_reader_init(&r, b, w.pos);
    cr_assert_null(ndr_get_wstring(&r, &err));
    st32(b + 8, 0);
    wire_reader_init(&r, b, w.pos - 1);
    cr_assert_null(ndr_get_wstring(&r, &err));
}
