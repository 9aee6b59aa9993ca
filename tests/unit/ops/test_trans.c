/* TRANS/TRANS2/NT_TRANSACT: request layout and the reassembly of replies
 * that come in fragments, including fragments a hostile server crafts. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "fake_smb.h"
#include "log.h"
#include "link/msg.h"
#include "smb1.h"
#include "wire/smb1_proto.h"
#include "ops/trans.h"

/* A fake SMB message of 512 bytes whose byte i is (i * 7) & 0xFF, so each
 * fragment's copied bytes can be checked. */
static uint8_t smb[512];

static void fill(void)
{
    for (size_t i = 0; i < sizeof(smb); i++)
        smb[i] = (uint8_t)(i * 7);
}

static struct trans_frag frag(uint32_t tp, uint32_t td, uint32_t pc, uint32_t po, uint32_t pd,
                              uint32_t dc, uint32_t dof, uint32_t dd)
{
    struct trans_frag f;
    memset(&f, 0, sizeof(f));
    f.total_param = tp;
    f.total_data = td;
    f.param_count = pc;
    f.param_off = po;
    f.param_disp = pd;
    f.data_count = dc;
    f.data_off = dof;
    f.data_disp = dd;
    return f;
}

Test(trans, single_fragment_completes)
{
    fill();
    struct trans_reasm ra;
    trans_reasm_init(&ra, 100, 100);
    struct trans_frag f = frag(10, 20, 10, 40, 0, 20, 60, 0);
    cr_assert_eq(trans_reasm_add(&ra, &f, smb, sizeof(smb)), 0);
    struct trans_resp rs;
    memset(&rs, 0, sizeof(rs));
    trans_reasm_take(&ra, &rs);
    cr_assert_eq(rs.param_len, 10);
    cr_assert_eq(rs.data_len, 20);
    cr_assert(memcmp(rs.param, smb + 40, 10) == 0);
    cr_assert(memcmp(rs.data, smb + 60, 20) == 0);
    trans_resp_free(&rs);
    trans_reasm_free(&ra);
}

Test(trans, fragments_out_of_order)
{
    fill();
    struct trans_reasm ra;
    trans_reasm_init(&ra, 100, 300);
    /* Data second half first, then parameters with the first half. */
    struct trans_frag f1 = frag(4, 200, 0, 0, 0, 100, 200, 100);
    struct trans_frag f2 = frag(4, 200, 4, 36, 0, 100, 300, 0);
    cr_assert_eq(trans_reasm_add(&ra, &f1, smb, sizeof(smb)), 1);
    cr_assert_eq(trans_reasm_add(&ra, &f2, smb, sizeof(smb)), 0);
    cr_assert(memcmp(ra.data, smb + 300, 100) == 0);
    cr_assert(memcmp(ra.data + 100, smb + 200, 100) == 0);
    cr_assert(memcmp(ra.param, smb + 36, 4) == 0);
    trans_reasm_free(&ra);
}

Test(trans, overlapping_fragment_rejected)
{
    fill();
    struct trans_reasm ra;
    trans_reasm_init(&ra, 100, 300);
    struct trans_frag f1 = frag(0, 200, 0, 0, 0, 100, 100, 0);
    struct trans_frag f2 = frag(0, 200, 0, 0, 0, 100, 100, 99);
    cr_assert_eq(trans_reasm_add(&ra, &f1, smb, sizeof(smb)), 1);
    cr_assert_eq(trans_reasm_add(&ra, &f2, smb, sizeof(smb)), -EIO);
    trans_reasm_free(&ra);
    /* The same fragment twice: the totals would be reached by repetition. */
    trans_reasm_init(&ra, 100, 300);
    struct trans_frag h = frag(0, 200, 0, 0, 0, 100, 100, 0);
    cr_assert_eq(trans_reasm_add(&ra, &h, smb, sizeof(smb)), 1);
    cr_assert_eq(trans_reasm_add(&ra, &h, smb, sizeof(smb)), -EIO);
    trans_reasm_free(&ra);
}

Test(trans, displacement_past_total_rejected)
{
    fill();
    struct trans_reasm ra;
    trans_reasm_init(&ra, 100, 300);
    struct trans_frag f = frag(0, 200, 0, 0, 0, 100, 100, 101);
    cr_assert_eq(trans_reasm_add(&ra, &f, smb, sizeof(smb)), -EIO);
    trans_reasm_free(&ra);
    trans_reasm_init(&ra, 100, 300);
    /* Huge displacement: no wrap-around of disp + count. */
    struct trans_frag g = frag(0, 200, 0, 0, 0, 100, 100, 0xFFFFFFF0u);
    cr_assert_eq(trans_reasm_add(&ra, &g, smb, sizeof(smb)), -EIO);
    trans_reasm_free(&ra);
    trans_reasm_init(&ra, 100, 300);
    struct trans_frag p = frag(8, 0, 8, 40, 4, 0, 0, 0);
    cr_assert_eq(trans_reasm_add(&ra, &p, smb, sizeof(smb)), -EIO);
    trans_reasm_free(&ra);
}

Test(trans, offsets_outside_frame_rejected)
{
    fill();
    struct trans_reasm ra;
    struct trans_frag cases[] = {
        frag(0, 100, 0, 0, 0, 100, 500, 0),         /* runs past the end */
        frag(0, 100, 0, 0, 0, 100, 600, 0),         /* starts past the end */
        frag(0, 100, 0, 0, 0, 100, 0xFFFFFFFFu, 0), /* would wrap */
        frag(0, 100, 0, 0, 0, 100, 4, 0),           /* inside the header */
        frag(10, 0, 10, 508, 0, 0, 0, 0),           /* parameters past the end */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        trans_reasm_init(&ra, 100, 100);
        cr_assert_eq(trans_reasm_add(&ra, &cases[i], smb, sizeof(smb)), -EIO, "case %zu", i);
        trans_reasm_free(&ra);
    }
}

Test(trans, totals_may_shrink_never_grow)
{
    fill();
    struct trans_reasm ra;
    trans_reasm_init(&ra, 100, 300);
    struct trans_frag f1 = frag(0, 200, 0, 0, 0, 50, 100, 0);
    cr_assert_eq(trans_reasm_add(&ra, &f1, smb, sizeof(smb)), 1);
    /* Shrinks to 80: the second fragment completes it. */
    struct trans_frag f2 = frag(0, 80, 0, 0, 0, 30, 200, 50);
    cr_assert_eq(trans_reasm_add(&ra, &f2, smb, sizeof(smb)), 0);
    struct trans_resp rs;
    memset(&rs, 0, sizeof(rs));
    trans_reasm_take(&ra, &rs);
    cr_assert_eq(rs.data_len, 80);
    cr_assert(memcmp(rs.data + 50, smb + 200, 30) == 0);
    trans_resp_free(&rs);
    trans_reasm_free(&ra);

    /* Growth past the first total. */
    trans_reasm_init(&ra, 100, 300);
    struct trans_frag g1 = frag(0, 100, 0, 0, 0, 50, 100, 0);
    struct trans_frag g2 = frag(0, 150, 0, 0, 0, 50, 200, 50);
    cr_assert_eq(trans_reasm_add(&ra, &g1, smb, sizeof(smb)), 1);
    cr_assert_eq(trans_reasm_add(&ra, &g2, smb, sizeof(smb)), -EIO);
    trans_reasm_free(&ra);

    /* Shrink below what already arrived. */
    trans_reasm_init(&ra, 100, 300);
    struct trans_frag s1 = frag(0, 100, 0, 0, 0, 60, 100, 40);
    struct trans_frag s2 = frag(0, 50, 0, 0, 0, 10, 200, 0);
    cr_assert_eq(trans_reasm_add(&ra, &s1, smb, sizeof(smb)), 1);
    cr_assert_eq(trans_reasm_add(&ra, &s2, smb, sizeof(smb)), -EIO);
    trans_reasm_free(&ra);
}

Test(trans, totals_above_request_rejected)
{
    fill();
    struct trans_reasm ra;
    trans_reasm_init(&ra, 10, 10);
    struct trans_frag f = frag(0, 11, 0, 0, 0, 11, 100, 0);
    cr_assert_eq(trans_reasm_add(&ra, &f, smb, sizeof(smb)), -EIO);
    trans_reasm_free(&ra);
}

Test(trans, endless_empty_fragments_end)
{
    fill();
    struct trans_reasm ra;
    trans_reasm_init(&ra, 10, 10);
    struct trans_frag f = frag(0, 10, 0, 0, 0, 0, 0, 0);
    int r = 1;
    unsigned n = 0;
    while (r == 1 && n < TRANS_MAX_FRAGS * 2) {
        r = trans_reasm_add(&ra, &f, smb, sizeof(smb));
        n++;
    }
    cr_assert_eq(r, -EIO);
    cr_assert_leq(n, TRANS_MAX_FRAGS + 1);
    trans_reasm_free(&ra);
}

Test(trans, empty_reply_completes)
{
    struct trans_reasm ra;
    trans_reasm_init(&ra, 10, 10);
    struct trans_frag f = frag(0, 0, 0, 0, 0, 0, 0, 0);
    cr_assert_eq(trans_reasm_add(&ra, &f, smb, sizeof(smb)), 0);
    trans_reasm_free(&ra);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

Test(trans, frag_decode_checks_word_count)
{
    uint8_t w[40];
    memset(w, 0, sizeof(w));
    put16(w + 0, 4);   /* TotalParameterCount */
    put16(w + 2, 8);   /* TotalDataCount */
    put16(w + 6, 4);   /* ParameterCount */
    put16(w + 8, 56);  /* ParameterOffset */
    put16(w + 12, 8);  /* DataCount */
    put16(w + 14, 60); /* DataOffset */
    w[18] = 1;         /* SetupCount */
    put16(w + 20, 0xABCD);
    struct wire_reader r;
    struct trans_frag f;
    wire_reader_init(&r, w, 22);
    cr_assert_eq(trans_frag_decode(SMB1_COM_TRANSACTION2, &r, 11, &f), 0);
    cr_assert_eq(f.total_param, 4);
    cr_assert_eq(f.data_off, 60);
    cr_assert_eq(f.setup_count, 1);
    cr_assert_eq(f.setup[0], 0xABCD);
    /* SetupCount beyond WordCount. */
    wire_reader_init(&r, w, 22);
    cr_assert_eq(trans_frag_decode(SMB1_COM_TRANSACTION2, &r, 10, &f), -EIO);
    /* WordCount too small for the fixed words. */
    wire_reader_init(&r, w, 18);
    cr_assert_eq(trans_frag_decode(SMB1_COM_TRANSACTION2, &r, 9, &f), -EIO);
    /* Words shorter than claimed: the sticky reader catches it. */
    for (size_t n = 0; n < 22; n++) {
        wire_reader_init(&r, w, n);
        cr_assert_eq(trans_frag_decode(SMB1_COM_TRANSACTION2, &r, 11, &f), -EIO, "len %zu", n);
    }
    /* NT_TRANSACT needs 18 words. */
    wire_reader_init(&r, w, sizeof(w));
    cr_assert_eq(trans_frag_decode(SMB1_COM_NT_TRANSACT, &r, 17, &f), -EIO);
}

Test(trans, build_trans2_layout)
{
    const uint8_t param[6] = {1, 2, 3, 4, 5, 6};
    const uint8_t data[3] = {7, 8, 9};
    uint16_t sub = SMB1_TRANS2_QUERY_PATH_INFO;
    struct trans_req rq = {
        .cmd = SMB1_COM_TRANSACTION2,
        .setup = &sub,
        .setup_count = 1,
        .param = param,
        .param_len = 6,
        .data = data,
        .data_len = 3,
        .max_param = 16,
        .max_data = 0x10000,
    };
    struct msg_out m;
    cr_assert_eq(trans_build(&rq, true, 16644, &m), 0);
    const uint8_t *s = msg_smb(&m);
    size_t len = msg_smb_len(&m);
    cr_assert_eq(s[SMB1_HDR_CMD], SMB1_COM_TRANSACTION2);
    cr_assert_eq(s[32], 15); /* WordCount */
    const uint8_t *w = s + 33;
    cr_assert_eq(wire_le16(w + 0), 6);
    cr_assert_eq(wire_le16(w + 2), 3);
    cr_assert_eq(wire_le16(w + 6), 0xFFFF); /* MaxDataCount clipped */
    uint16_t pc = wire_le16(w + 18), po = wire_le16(w + 20);
    uint16_t dc = wire_le16(w + 22), dof = wire_le16(w + 24);
    cr_assert_eq(w[26], 1);
    cr_assert_eq(wire_le16(w + 28), SMB1_TRANS2_QUERY_PATH_INFO);
    cr_assert_eq(pc, 6);
    cr_assert_eq(dc, 3);
    cr_assert_eq(po % 4, 0);
    cr_assert_eq(dof % 4, 0);
    cr_assert_leq(po + pc, len);
    cr_assert_leq(dof + dc, len);
    cr_assert(memcmp(s + po, param, 6) == 0);
    cr_assert(memcmp(s + dof, data, 3) == 0);
    uint16_t bcc = wire_le16(s + 33 + 30);
    cr_assert_eq(33 + 30 + 2 + bcc, len);
    msg_out_free(&m);
}

Test(trans, build_refuses_oversized)
{
    static uint8_t big[20000];
    uint16_t sub = SMB1_TRANS2_SET_PATH_INFO;
    struct trans_req rq = {
        .cmd = SMB1_COM_TRANSACTION2,
        .setup = &sub,
        .setup_count = 1,
        .param = big,
        .param_len = 10,
        .data = big,
        .data_len = sizeof(big),
        .max_param = 16,
        .max_data = 16,
    };
    struct msg_out m;
    cr_assert_eq(trans_build(&rq, true, 16644, &m), -EMSGSIZE);
    rq.data_len = 0x10000;
    cr_assert_eq(trans_build(&rq, true, 0, &m), -EMSGSIZE);
}

Test(trans, status_classes)
{
    cr_assert(trans_status_is_error(0xC0000034u));
    cr_assert(!trans_status_is_error(0x80000005u));
    cr_assert(!trans_status_is_error(0));
    cr_assert(trans_status_is_error(NT_STATUS_DOS(1, 2)));
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

Test(trans, frag_decode_nt_transact)
{
    uint8_t w[40];
    memset(w, 0, sizeof(w));
    put32(w + 3, 70000); /* TotalParameterCount: beyond 16 bits */
    put32(w + 7, 5);     /* TotalDataCount */
    put32(w + 11, 100);  /* ParameterCount */
    put32(w + 15, 72);   /* ParameterOffset */
    put32(w + 19, 200);  /* ParameterDisplacement */
    put32(w + 23, 5);    /* DataCount */
    put32(w + 27, 180);  /* DataOffset */
    put32(w + 31, 0);    /* DataDisplacement */
    w[35] = 0;           /* SetupCount */
    struct wire_reader r;
    struct trans_frag f;
    wire_reader_init(&r, w, 36);
    cr_assert_eq(trans_frag_decode(SMB1_COM_NT_TRANSACT, &r, 18, &f), 0);
    cr_assert_eq(f.total_param, 70000);
    cr_assert_eq(f.param_disp, 200);
    cr_assert_eq(f.data_off, 180);
    for (size_t n = 0; n < 36; n++) {
        wire_reader_init(&r, w, n);
        cr_assert_eq(trans_frag_decode(SMB1_COM_NT_TRANSACT, &r, 18, &f), -EIO, "len %zu", n);
    }
}

Test(trans, build_transaction_named_pipe)
{
    const uint8_t param[4] = {0, 0, 'W', 'r'};
    struct trans_req rq = {
        .cmd = SMB1_COM_TRANSACTION,
        .name = "\\PIPE\\LANMAN",
        .param = param,
        .param_len = 4,
        .max_param = 8,
        .max_data = 0xFFE0,
    };
    struct msg_out m;
    cr_assert_eq(trans_build(&rq, true, 16644, &m), 0);
    const uint8_t *s = msg_smb(&m);
    cr_assert_eq(s[32], 14); /* no setup words */
    const uint8_t *w = s + 33;
    uint16_t po = wire_le16(w + 20);
    cr_assert(memcmp(s + po, param, 4) == 0);
    /* The name follows ByteCount, Unicode-aligned, NUL-terminated. */
    size_t at = 33 + 28 + 2;
    if (at % 2)
        at++;
    cr_assert_eq(s[at], '\\');
    cr_assert_eq(s[at + 1], 0);
    cr_assert_eq(s[at + 2], 'P');
    cr_assert_eq(wire_le16(s + at + 2 * 12), 0);
    msg_out_free(&m);
}

Test(trans, build_nt_transact_layout)
{
    const uint8_t param[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint16_t setup[4] = {1, 2, 3, 4};
    struct trans_req rq = {
        .cmd = SMB1_COM_NT_TRANSACT,
        .function = 4,
        .setup = setup,
        .setup_count = 4,
        .param = param,
        .param_len = 8,
        .max_param = 4096,
        .max_data = 0,
    };
    struct msg_out m;
    cr_assert_eq(trans_build(&rq, true, 16644, &m), 0);
    const uint8_t *s = msg_smb(&m);
    cr_assert_eq(s[32], 19 + 4);
    const uint8_t *w = s + 33;
    cr_assert_eq(wire_le32(w + 3), 8);     /* TotalParameterCount */
    cr_assert_eq(wire_le32(w + 11), 4096); /* MaxParameterCount */
    uint32_t po = wire_le32(w + 23);
    cr_assert_eq(wire_le32(w + 19), 8);
    cr_assert_eq(po % 4, 0);
    cr_assert(memcmp(s + po, param, 8) == 0);
    cr_assert_eq(w[35], 4);             /* SetupCount */
    cr_assert_eq(wire_le16(w + 36), 4); /* Function */
    cr_assert_eq(wire_le16(w + 38), 1);
    msg_out_free(&m);
}

/* End to end through the connection: the fake server answers any
 * TRANSACTION2 with three signed fragments (tests/fake). */

Test(trans, three_fragments_through_the_connection)
{
    struct fake_opts o = {.user = "alice",
                          .domain = "WORKGROUP",
                          .password = "s3cret pass",
                          .sign_enabled = true,
                          .sign_required = true};
    uint16_t port = 0;
    struct fake_server *fs = fake_start(&o, &port);
    cr_assert_not_null(fs);
    struct smb1_log lg;
    log_init(&lg, LOG_ERR, NULL, NULL);
    struct smb1_config c;
    memset(&c, 0, sizeof(c));
    c.host = "127.0.0.1";
    c.port = port;
    c.transport = SMB1_TRANSPORT_DIRECT;
    c.user = o.user;
    c.domain = o.domain;
    c.password = o.password;
    c.sec = SMB1_SEC_NTLMV2;
    c.sign = SMB1_SIGN_REQUIRED;
    c.unix_ext = 0;
    c.log = &lg;
    struct smb1_conn *conn = NULL;
    char why[256] = "";
    cr_assert_eq(smb1_conn_new(&c, &conn, why, sizeof(why)), 0, "%s", why);
    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, "share", &t), 0);
    uint8_t pp[2] = {1, 1};
    struct trans_resp rs;
    int r = trans2_call(t, SMB1_TRANS2_QUERY_FS_INFO, pp, 2, NULL, 0, 16, 4096, &rs, 0);
    cr_assert_eq(r, 0, "trans2_call: %d", r);
    cr_assert_eq(rs.status, 0);
    cr_assert_eq(rs.param_len, 2);
    cr_assert_eq(wire_le16(rs.param), 0x0102);
    cr_assert_eq(rs.data_len, FAKE_TRANS2_DATA);
    for (uint32_t i = 0; i < FAKE_TRANS2_DATA; i++)
        cr_assert_eq(rs.data[i], fake_pattern(i), "byte %u", i);
    trans_resp_free(&rs);
    /* Two fragments, half the third, and the connection closes: the
     * request (idempotent) goes again on the next connection, and the
     * reply is that one's alone, not the first one's fragments mixed in
     * (a large FIND_FIRST2 across a reconnect failed with EIO so). */
    struct smb1_stats st0, st;
    smb1_conn_get_stats(conn, &st0);
    fake_inject(fs, FAKE_DISCONNECT_MID, 0);
    r = trans2_call(t, SMB1_TRANS2_QUERY_FS_INFO, pp, 2, NULL, 0, 16, 4096, &rs, CONN_IDEMPOTENT);
    cr_assert_eq(r, 0, "trans2_call after a cut-off reply: %d", r);
    cr_assert_eq(rs.data_len, FAKE_TRANS2_DATA);
    for (uint32_t i = 0; i < FAKE_TRANS2_DATA; i++)
        cr_assert_eq(rs.data[i], fake_pattern(i), "byte %u", i);
    trans_resp_free(&rs);
    smb1_conn_get_stats(conn, &st);
    cr_assert_eq(st.reconnects, st0.reconnects + 1, "the reply was cut off");
    /* A reply larger than the caller accepts is refused, not truncated. */
    r = trans2_call(t, SMB1_TRANS2_QUERY_FS_INFO, pp, 2, NULL, 0, 16, 1000, &rs, 0);
    cr_assert_lt(r, 0);
    smb1_tree_free(t);
    smb1_conn_free(conn);
    fake_stop(fs);
    log_destroy(&lg);
}
