/* Splitting a TRANSACTION / TRANSACTION2 / NT_TRANSACT request into a
 * primary and secondaries (MS-CIFS 2.2.4.34, 2.2.4.47, 2.2.4.63): every
 * message is read back field by field, as a server would, and the blocks
 * it carries are put back together by displacement. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "link/msg.h"
#include "wire/smb1_proto.h"
#include "ops/trans.h"

struct part {
    uint8_t cmd, wct;
    uint32_t tp, td, pc, po, pd, dc, doff, dd;
};

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16;
}

/* Reads the block description of one message the way smbd does. */
static void decode(const struct msg_out *m, struct part *p)
{
    const uint8_t *s = m->buf + MSG_XPORT_HDR;
    size_t len = msg_smb_len(m);
    memset(p, 0, sizeof(*p));
    p->cmd = s[SMB1_HDR_CMD];
    p->wct = s[32];
    const uint8_t *w = s + 33;
    cr_assert_leq(33 + 2 * (size_t)p->wct + 2, len);
    size_t bcc = le16(w + 2 * p->wct);
    cr_assert_eq(33 + 2 * (size_t)p->wct + 2 + bcc, len, "ByteCount covers the rest");
    switch (p->cmd) {
    case SMB1_COM_TRANSACTION:
    case SMB1_COM_TRANSACTION2:
        cr_assert_geq(p->wct, 14);
        p->tp = le16(w);
        p->td = le16(w + 2);
        p->pc = le16(w + 18);
        p->po = le16(w + 20);
        p->dc = le16(w + 22);
        p->doff = le16(w + 24);
        cr_assert_eq(p->wct, 14 + w[26], "WordCount = 14 + SetupCount");
        break;
    case SMB1_COM_TRANSACTION_SECONDARY:
    case SMB1_COM_TRANSACTION2_SECONDARY:
        cr_assert_eq(p->wct, p->cmd == SMB1_COM_TRANSACTION2_SECONDARY ? 9 : 8);
        p->tp = le16(w);
        p->td = le16(w + 2);
        p->pc = le16(w + 4);
        p->po = le16(w + 6);
        p->pd = le16(w + 8);
        p->dc = le16(w + 10);
        p->doff = le16(w + 12);
        p->dd = le16(w + 14);
        break;
    case SMB1_COM_NT_TRANSACT:
        cr_assert_geq(p->wct, 19);
        p->tp = le32(w + 3);
        p->td = le32(w + 7);
        p->pc = le32(w + 19);
        p->po = le32(w + 23);
        p->dc = le32(w + 27);
        p->doff = le32(w + 31);
        cr_assert_eq(p->wct, 19 + w[35]);
        break;
    case SMB1_COM_NT_TRANSACT_SECONDARY:
        cr_assert_eq(p->wct, 18);
        p->tp = le32(w + 3);
        p->td = le32(w + 7);
        p->pc = le32(w + 11);
        p->po = le32(w + 15);
        p->pd = le32(w + 19);
        p->dc = le32(w + 23);
        p->doff = le32(w + 27);
        p->dd = le32(w + 31);
        break;
    default:
        cr_assert_fail("unexpected command 0x%02x", p->cmd);
    }
    if (p->pc) {
        cr_assert_eq(p->po % 4, 0);
        cr_assert_geq(p->po, 33 + 2 * (size_t)p->wct + 2);
        cr_assert_leq((size_t)p->po + p->pc, len);
    }
    if (p->dc) {
        cr_assert_eq(p->doff % 4, 0);
        cr_assert_geq(p->doff, (size_t)p->po + p->pc);
        cr_assert_leq((size_t)p->doff + p->dc, len);
    } else {
        cr_assert_eq(p->doff, 0, "DataOffset 0 without data");
    }
}

static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31 + seed + (i >> 8));
    return p;
}

/* Builds rq, checks every message and the reassembled blocks; returns the
 * number of messages. */
static size_t check_split(const struct trans_req *rq, uint32_t max_buffer)
{
    struct trans_msgs tm;
    int r = trans_build_msgs(rq, true, max_buffer, &tm);
    cr_assert_eq(r, 0, "build: %d", r);
    cr_assert_geq(tm.n, 1);
    uint8_t *param = calloc(1, rq->param_len + 1), *data = calloc(1, rq->data_len + 1);
    uint32_t psum = 0, dsum = 0;
    uint8_t sec = rq->cmd == SMB1_COM_TRANSACTION    ? SMB1_COM_TRANSACTION_SECONDARY
                  : rq->cmd == SMB1_COM_TRANSACTION2 ? SMB1_COM_TRANSACTION2_SECONDARY
                                                     : SMB1_COM_NT_TRANSACT_SECONDARY;
    for (size_t i = 0; i < tm.n; i++) {
        const struct msg_out *m = &tm.m[i];
        cr_assert_leq(msg_smb_len(m), max_buffer, "message %zu: %zu > %u", i, msg_smb_len(m),
                      max_buffer);
        cr_assert_eq(m->want_epoch, i == 0 ? rq->epoch : 0);
        struct part p;
        decode(m, &p);
        cr_assert_eq(p.cmd, i == 0 ? rq->cmd : sec, "message %zu command", i);
        cr_assert_eq(p.tp, rq->param_len);
        cr_assert_eq(p.td, rq->data_len);
        /* Blocks go in order, parameters first, with no gap or overlap. */
        cr_assert_eq(p.pd, psum, "message %zu ParameterDisplacement", i);
        cr_assert_eq(p.dd, dsum, "message %zu DataDisplacement", i);
        if (p.dc)
            cr_assert_eq(psum + p.pc, rq->param_len, "data before all parameters");
        if (i > 0)
            cr_assert_gt(p.pc + p.dc, 0, "an empty secondary");
        const uint8_t *s = m->buf + MSG_XPORT_HDR;
        memcpy(param + p.pd, s + p.po, p.pc);
        memcpy(data + p.dd, s + p.doff, p.dc);
        psum += p.pc;
        dsum += p.dc;
        /* A message other than the last is filled: nothing more fits. */
        if (i + 1 < tm.n && max_buffer < 0xFFFF)
            cr_assert_gt(msg_smb_len(m) + 4, max_buffer, "message %zu is only %zu bytes", i,
                         msg_smb_len(m));
    }
    cr_assert_eq(psum, rq->param_len);
    cr_assert_eq(dsum, rq->data_len);
    cr_assert(rq->param_len == 0 || memcmp(param, rq->param, rq->param_len) == 0);
    cr_assert(rq->data_len == 0 || memcmp(data, rq->data, rq->data_len) == 0);
    free(param);
    free(data);
    size_t n = tm.n;
    trans_msgs_free(&tm);
    return n;
}

static struct trans_req trans2(const uint8_t *param, uint32_t pl, const uint8_t *data, uint32_t dl)
{
    static uint16_t sub = SMB1_TRANS2_SET_PATH_INFO;
    struct trans_req rq = {
        .cmd = SMB1_COM_TRANSACTION2,
        .setup = &sub,
        .setup_count = 1,
        .param = param,
        .param_len = pl,
        .data = data,
        .data_len = dl,
        .max_param = 16,
        .max_data = 0,
        .epoch = 7,
    };
    return rq;
}

/* The length of the one message that carries pl + dl bytes. */
static size_t one_len(uint32_t pl, uint32_t dl)
{
    uint8_t *p = pattern(pl, 1), *d = pattern(dl, 2);
    struct trans_req rq = trans2(p, pl, d, dl);
    struct msg_out m;
    cr_assert_eq(trans_build(&rq, true, 0, &m), 0);
    size_t n = msg_smb_len(&m);
    msg_out_free(&m);
    free(p);
    free(d);
    return n;
}

Test(trans_parts, exactly_one_message_and_one_byte_over)
{
    const uint32_t pl = 10;
    size_t base = one_len(pl, 1000);
    uint32_t mb = (uint32_t)base; /* the message fills MaxBufferSize exactly */
    uint8_t *p = pattern(pl, 3), *d = pattern(2000, 4);
    struct trans_req rq = trans2(p, pl, d, 1000);
    cr_assert_eq(check_split(&rq, mb), 1);
    struct msg_out m;
    cr_assert_eq(trans_build(&rq, true, mb, &m), 0);
    cr_assert_eq(msg_smb_len(&m), mb);
    msg_out_free(&m);
    /* One byte more: a secondary carries exactly it. */
    rq.data_len = 1001;
    cr_assert_eq(check_split(&rq, mb), 2);
    struct trans_msgs tm;
    cr_assert_eq(trans_build_msgs(&rq, true, mb, &tm), 0);
    struct part sp;
    decode(&tm.m[1], &sp);
    cr_assert_eq(sp.pc, 0);
    cr_assert_eq(sp.dc, 1);
    cr_assert_eq(sp.dd, 1000);
    cr_assert_eq(d[1000], *(tm.m[1].buf + MSG_XPORT_HDR + sp.doff));
    trans_msgs_free(&tm);
    /* The single-message builder refuses it. */
    cr_assert_eq(trans_build(&rq, true, mb, &m), -EMSGSIZE);
    free(p);
    free(d);
}

Test(trans_parts, ea_list_of_65535_bytes_at_smbd_buffer)
{
    uint8_t *p = pattern(20, 5), *d = pattern(0xFFFF, 6);
    struct trans_req rq = trans2(p, 20, d, 0xFFFF);
    /* 65535 bytes in messages of at most 16644: 4 messages carry it. */
    cr_assert_eq(check_split(&rq, 16644), 4);
    rq.data_len = 0x10000;
    struct trans_msgs tm;
    cr_assert_eq(trans_build_msgs(&rq, true, 16644, &tm), -EMSGSIZE, "16-bit totals");
    cr_assert_null(tm.m);
    free(p);
    free(d);
}

Test(trans_parts, many_parts_and_parameters_across_messages)
{
    uint8_t *p = pattern(3000, 7), *d = pattern(40000, 8);
    struct trans_req rq = trans2(p, 3000, d, 40000);
    /* Parameters alone span three messages of 1024 bytes. */
    size_t n = check_split(&rq, 1024);
    cr_assert_geq(n, 43, "%zu messages", n);
    for (uint32_t mb = 200; mb < 1200; mb += 37)
        check_split(&rq, mb);
    /* Only parameters, only data, and neither. */
    rq.data_len = 0;
    check_split(&rq, 500);
    rq = trans2(p, 0, d, 5000);
    check_split(&rq, 500);
    rq = trans2(p, 0, d, 0);
    cr_assert_eq(check_split(&rq, 500), 1);
    free(p);
    free(d);
}

Test(trans_parts, too_small_a_buffer_is_emsgsize)
{
    uint8_t *d = pattern(100, 9);
    struct trans_req rq = trans2(d, 4, d, 100);
    struct trans_msgs tm;
    /* The primary's header and words alone do not fit. */
    cr_assert_eq(trans_build_msgs(&rq, true, 60, &tm), -EMSGSIZE);
    cr_assert_eq(tm.n, 0);
    /* Carrying 100 bytes one or two at a time takes more than allowed. */
    static uint8_t big[0xFFFF];
    rq.data = big;
    rq.data_len = sizeof(big);
    cr_assert_eq(trans_build_msgs(&rq, true, 90, &tm), -EMSGSIZE);
    free(d);
}

Test(trans_parts, transaction_and_nt_transact)
{
    uint8_t *p = pattern(5000, 10), *d = pattern(70000, 11);
    struct trans_req rq = {
        .cmd = SMB1_COM_TRANSACTION,
        .name = "\\PIPE\\",
        .param = p,
        .param_len = 5000,
        .data = d,
        .data_len = 9000,
        .max_param = 100,
        .max_data = 100,
    };
    cr_assert_geq(check_split(&rq, 4356), 4);
    uint16_t setup[2] = {1, 2};
    struct trans_req nt = {
        .cmd = SMB1_COM_NT_TRANSACT,
        .function = 1,
        .setup = setup,
        .setup_count = 2,
        .param = p,
        .param_len = 5000,
        .data = d,
        .data_len = 70000, /* beyond 16 bits: NT_TRANSACT counts in 32 */
        .max_param = 100,
        .max_data = 100,
    };
    cr_assert_geq(check_split(&nt, 16644), 5);
    /* A buffer larger than 64 KiB: the 16-bit ByteCount still splits. */
    cr_assert_eq(check_split(&nt, 100000), 2);
    nt.data_len = 60000;
    cr_assert_eq(check_split(&nt, 100000), 1);
    free(p);
    free(d);
}
