/* The print queue decoders: RAP DosPrintJobEnum level 2 and spoolss
 * EnumJobs level 2 (JOB_INFO_2), on well-formed replies and on every
 * truncation and bad offset of them; the smb1:// device URI of the CUPS
 * backend is tested in test_backend_uri.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "rpc/print_queue.h"
#include "rpc/spoolss.h"
#include "wire/wire.h"

struct seen {
    int n;
    struct smb1_print_job_info last[4];
};

static int collect(void *ctx, const struct smb1_print_job_info *ji)
{
    struct seen *s = ctx;
    if (s->n < 4)
        s->last[s->n] = *ji;
    s->n++;
    return 0;
}

/* Two PRJINFO_2 entries and their strings; converter 0x1000. */
static size_t rap_reply(uint8_t *param, uint8_t *data, size_t cap)
{
    struct wire_writer w;
    wire_writer_init(&w, param, 8);
    wire_put_u16(&w, 0);      /* status */
    wire_put_u16(&w, 0x1000); /* converter */
    wire_put_u16(&w, 2);
    wire_put_u16(&w, 2);
    const size_t strs = 2 * PRINTQ_RAP_JOB2_LEN;
    wire_writer_init(&w, data, cap);
    /* job 7: user "alice", doc "report.pdf", printing, 1234 bytes */
    wire_put_u16(&w, 7);
    wire_put_u16(&w, 1);
    wire_put_u32(&w, 0x1000 + strs);
    wire_put_u16(&w, 1);
    wire_put_u16(&w, 3); /* PRJ_QS_PRINTING */
    wire_put_u32(&w, 1700000000);
    wire_put_u32(&w, 1234);
    wire_put_u32(&w, 0);
    wire_put_u32(&w, 0x1000 + strs + 6);
    /* job 9: user "alice", doc out of range (empty), queued, with an error bit */
    wire_put_u16(&w, 9);
    wire_put_u16(&w, 1);
    wire_put_u32(&w, 0x1000 + strs);
    wire_put_u16(&w, 2);
    wire_put_u16(&w, 0x10);
    wire_put_u32(&w, 1700000100);
    wire_put_u32(&w, 99);
    wire_put_u32(&w, 0);
    wire_put_u32(&w, 0x9000);
    wire_put_bytes(&w, "alice", 6);
    wire_put_bytes(&w, "report.pdf", 11);
    return w.pos;
}

Test(print_decode, rap_job_enum)
{
    uint8_t param[8], data[256];
    size_t n = rap_reply(param, data, sizeof(data));
    struct seen s = {0};
    cr_assert_eq(printq_rap_decode(param, 8, data, n, collect, &s), 0);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.last[0].id, 7);
    cr_assert_str_eq(s.last[0].user, "alice");
    cr_assert_str_eq(s.last[0].name, "report.pdf");
    cr_assert_eq(s.last[0].size, 1234);
    cr_assert_eq(s.last[0].submitted, 1700000000);
    cr_assert_eq(s.last[0].status, SMB1_JOB_PRINTING);
    cr_assert_eq(s.last[0].position, 1);
    cr_assert_eq(s.last[1].id, 9);
    cr_assert_str_eq(s.last[1].name, "");
    cr_assert_eq(s.last[1].status, SMB1_JOB_ERROR);
}

Test(print_decode, rap_job_enum_truncated_and_errors)
{
    uint8_t param[8], data[256];
    size_t n = rap_reply(param, data, sizeof(data));
    /* Entries cut short: malformed; strings cut short: shorter strings. */
    for (size_t k = 0; k < 2 * PRINTQ_RAP_JOB2_LEN; k++)
        cr_assert_eq(printq_rap_decode(param, 8, data, k, NULL, NULL), -EIO, "len %zu", k);
    for (size_t k = 2 * PRINTQ_RAP_JOB2_LEN; k <= n; k++)
        cr_assert_eq(printq_rap_decode(param, 8, data, k, NULL, NULL), 0, "len %zu", k);
    for (size_t k = 0; k < 8; k++)
        cr_assert_eq(printq_rap_decode(param, k, data, n, NULL, NULL), -EIO);
    wire_st16(param, 5); /* ERROR_ACCESS_DENIED */
    cr_assert_eq(printq_rap_decode(param, 8, data, n, NULL, NULL), -EPERM);
    wire_st16(param, 2150); /* NERR_QNotFound */
    cr_assert_eq(printq_rap_decode(param, 8, data, n, NULL, NULL), -ENOENT);
    wire_st16(param, 234); /* ERROR_MORE_DATA: what came is listed */
    cr_assert_eq(printq_rap_decode(param, 8, data, n, NULL, NULL), 0);
    wire_st16(param, 0);
    wire_st16(param + 4, 0xFFFF); /* more entries than bytes */
    cr_assert_eq(printq_rap_decode(param, 8, data, n, NULL, NULL), -EIO);
}

Test(print_decode, rap_enum_request)
{
    uint8_t buf[64];
    int n = printq_rap_enum_req("lp", buf, sizeof(buf));
    cr_assert_eq(n, 2 + 7 + 10 + 3 + 4);
    cr_assert_eq(wire_le16(buf), 76);
    cr_assert_eq(memcmp(buf + 2, "zWrLeh\0WWzWWDDzz\0lp\0", 20), 0);
    cr_assert_eq(wire_le16(buf + 22), 2);
    cr_assert_eq(printq_rap_enum_req("lp", buf, 10), -ENAMETOOLONG);
}

static void put_utf16(struct wire_writer *w, const char *s)
{
    for (; *s; s++)
        wire_put_u16(w, (uint8_t)*s);
    wire_put_u16(w, 0);
}

/* One JOB_INFO_2 with user and document strings after it. */
static size_t spoolss_buf(uint8_t *buf, size_t cap, uint32_t doc_off)
{
    struct wire_writer w;
    wire_writer_init(&w, buf, cap);
    wire_put_u32(&w, 42);
    uint32_t user_off = SPOOLSS_JOB_INFO_2_LEN;
    for (int k = 0; k < 12; k++)
        wire_put_u32(&w, k == 2 ? user_off : k == 3 ? doc_off : 0);
    wire_put_u32(&w, 0x10); /* PRINTING */
    wire_put_u32(&w, 1);    /* Priority */
    wire_put_u32(&w, 3);    /* Position */
    wire_put_zeros(&w, 12);
    wire_put_u32(&w, 4096); /* Size */
    /* 2023-11-14 22:13:20 UTC */
    const uint16_t st[8] = {2023, 11, 2, 14, 22, 13, 20, 0};
    for (int k = 0; k < 8; k++)
        wire_put_u16(&w, st[k]);
    wire_put_u32(&w, 0);
    wire_put_u32(&w, 0);
    put_utf16(&w, "bob");
    put_utf16(&w, "letter.txt");
    return w.pos;
}

Test(print_decode, spoolss_jobs2)
{
    uint8_t buf[256];
    size_t n = spoolss_buf(buf, sizeof(buf), SPOOLSS_JOB_INFO_2_LEN + 8);
    struct seen s = {0};
    cr_assert_eq(spoolss_jobs2_decode(buf, n, 1, collect, &s), 0);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.last[0].id, 42);
    cr_assert_str_eq(s.last[0].user, "bob");
    cr_assert_str_eq(s.last[0].name, "letter.txt");
    cr_assert_eq(s.last[0].size, 4096);
    cr_assert_eq(s.last[0].position, 3);
    cr_assert_eq(s.last[0].status, SMB1_JOB_PRINTING);
    cr_assert_eq(s.last[0].submitted, 1700000000);
    for (size_t k = 0; k < n; k++)
        cr_assert_eq(spoolss_jobs2_decode(buf, k, 1, NULL, NULL), -EIO, "len %zu", k);
    cr_assert_eq(spoolss_jobs2_decode(buf, n, 2, NULL, NULL), -EIO);
    cr_assert_eq(spoolss_jobs2_decode(buf, n, 0, collect, &s), 0);
    /* A string offset past the end, or one whose string never ends. */
    n = spoolss_buf(buf, sizeof(buf), 4000);
    cr_assert_eq(spoolss_jobs2_decode(buf, n, 1, NULL, NULL), -EIO);
    n = spoolss_buf(buf, sizeof(buf), SPOOLSS_JOB_INFO_2_LEN + 8);
    cr_assert_eq(spoolss_jobs2_decode(buf, n - 1, 1, NULL, NULL), -EIO);
}
