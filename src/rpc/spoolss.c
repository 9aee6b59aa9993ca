#include "rpc/spoolss.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpc/dcerpc.h"
#include "rpc/ndr.h"
#include "session/conn.h"
#include "wire/text.h"

#define SPOOLSS_OPNUM_SETJOB       2
#define SPOOLSS_OPNUM_OPENPRINTER  1
#define SPOOLSS_OPNUM_ENUMJOBS     4
#define SPOOLSS_OPNUM_CLOSEPRINTER 29
#define PRINTER_ACCESS_USE         0x00000008
#define JOB_CONTROL_DELETE         5
#define SPOOLSS_HANDLE_LEN         20
#define SPOOLSS_MAX_JOBS           4096
/* RpcEnumJobs sends the buffer it offers in the request as well: pages
 * of at most this many jobs in a buffer that keeps the request in one
 * fragment. Samba 4.17 answers a NULL buffer with a fault, so one is
 * always offered. */
#define SPOOLSS_PAGE_JOBS 16
#define SPOOLSS_PAGE_BUF  3968

#define WERR_ACCESS_DENIED        5
#define WERR_INVALID_PARAMETER    87
#define WERR_INSUFFICIENT_BUFFER  122
#define WERR_INVALID_PRINTER_NAME 1801

/* JOB_STATUS_* (MS-RPRN 2.2.3.12) */
#define JOB_STATUS_PAUSED   0x001
#define JOB_STATUS_ERROR    0x002
#define JOB_STATUS_SPOOLING 0x008
#define JOB_STATUS_PRINTING 0x010
#define JOB_STATUS_PROBLEMS 0x662 /* error, offline, paper out, blocked, intervention */

/* 12345678-1234-abcd-ef00-0123456789ab v1.0 */
static const struct dcerpc_syntax spoolss_iface = {
    {0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0xcd, 0xab, 0xef, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89,
     0xab},
    1,
    0,
};

static int werr_errno(uint32_t werr)
{
    switch (werr) {
    case 0:
        return 0;
    case WERR_ACCESS_DENIED:
        return -EPERM;
    case WERR_INVALID_PARAMETER:
    case WERR_INVALID_PRINTER_NAME:
        return -ENOENT;
    default:
        return -EIO;
    }
}

static enum smb1_job_status job_status(uint32_t st)
{
    if (st & JOB_STATUS_PROBLEMS)
        return SMB1_JOB_ERROR;
    if (st & JOB_STATUS_PAUSED)
        return SMB1_JOB_PAUSED;
    if (st & JOB_STATUS_PRINTING)
        return SMB1_JOB_PRINTING;
    if (st & JOB_STATUS_SPOOLING)
        return SMB1_JOB_SPOOLING;
    return SMB1_JOB_QUEUED;
}

/* The UTF-16 string at base + off (relative to the entry) into dst; an
 * offset of 0 is an absent string. -EIO when it leaves the buffer. */
static int rel_string(const uint8_t *buf, size_t len, size_t base, uint32_t off, char *dst,
                      size_t cap)
{
    dst[0] = 0;
    if (off == 0)
        return 0;
    if (off > len - base)
        return -EIO;
    size_t at = base + off, n = 0;
    while (len - at - n >= 2 && (buf[at + n] | buf[at + n + 1]))
        n += 2;
    if (len - at - n < 2)
        return -EIO;
    int err = 0;
    char *s = text_utf16_to_utf8(buf + at, n, &err);
    if (!s)
        return err == -ENOMEM ? -ENOMEM : -EIO;
    snprintf(dst, cap, "%s", s);
    free(s);
    return 0;
}

static time_t systemtime(struct wire_reader *r)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = wire_u16(r) - 1900;
    tm.tm_mon = wire_u16(r) - 1;
    (void)wire_u16(r); /* wDayOfWeek */
    tm.tm_mday = wire_u16(r);
    tm.tm_hour = wire_u16(r);
    tm.tm_min = wire_u16(r);
    tm.tm_sec = wire_u16(r);
    (void)wire_u16(r); /* wMilliseconds */
    if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31)
        return 0;
    return timegm(&tm);
}

int spoolss_jobs2_decode(const uint8_t *buf, size_t len, uint32_t count, smb1_job_cb cb, void *ctx)
{
    if (count > SPOOLSS_MAX_JOBS || len / SPOOLSS_JOB_INFO_2_LEN < count)
        return -EIO;
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    for (uint32_t i = 0; i < count; i++) {
        size_t base = (size_t)i * SPOOLSS_JOB_INFO_2_LEN;
        wire_seek(&r, base);
        struct smb1_print_job_info ji;
        memset(&ji, 0, sizeof(ji));
        ji.id = wire_u32(&r);
        uint32_t offs[12];
        for (int k = 0; k < 12; k++)
            offs[k] = wire_u32(&r);
        ji.status = job_status(wire_u32(&r));
        (void)wire_u32(&r); /* Priority */
        ji.position = wire_u32(&r);
        wire_skip(&r, 12); /* StartTime, UntilTime, TotalPages */
        ji.size = wire_u32(&r);
        ji.submitted = systemtime(&r);
        if (!wire_ok(&r))
            return -EIO;
        /* pUserName is offs[2], pDocument offs[3] */
        int e = rel_string(buf, len, base, offs[2], ji.user, sizeof(ji.user));
        if (!e)
            e = rel_string(buf, len, base, offs[3], ji.name, sizeof(ji.name));
        if (e)
            return e;
        if (cb) {
            int rc = cb(ctx, &ji);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int spoolss_enum_jobs_stub(const uint8_t *stub, size_t n, const uint8_t **jobs, uint32_t *jlen,
                           uint32_t *returned, uint32_t *werr)
{
    /* pJob (unique: referent, then conformant bytes), pcbNeeded,
     * pcReturned, WERROR */
    struct wire_reader rd;
    wire_reader_init(&rd, stub, n);
    *jobs = NULL;
    *jlen = 0;
    if (wire_u32(&rd)) {
        *jlen = wire_u32(&rd);
        *jobs = wire_bytes(&rd, *jlen);
        wire_skip(&rd, (4 - (rd.pos & 3)) & 3);
    }
    (void)wire_u32(&rd); /* pcbNeeded */
    *returned = wire_u32(&rd);
    *werr = wire_u32(&rd);
    if (wire_ok(&rd))
        return 0;
    *jobs = NULL;
    *jlen = 0;
    return -EIO;
}

/* Reads the WERROR that ends a reply stub. */
static int stub_werr(const uint8_t *stub, size_t len)
{
    if (len < 4)
        return -EIO;
    return werr_errno(wire_le32(stub + len - 4));
}

static int open_printer(struct dcerpc_pipe *p, const char *name, uint8_t *handle)
{
    size_t cap = 64 + 2 * strlen(name);
    uint8_t *req = malloc(cap);
    if (!req)
        return -ENOMEM;
    struct wire_writer w;
    wire_writer_init(&w, req, cap);
    uint32_t ref = 0x00020000;
    int r = ndr_put_unique_wstring(&w, name, &ref);
    wire_put_u32(&w, 0); /* pDatatype: NULL */
    wire_put_u32(&w, 0); /* DEVMODE_CONTAINER.cbBuf */
    wire_put_u32(&w, 0); /* DEVMODE_CONTAINER.pDevMode: NULL */
    wire_put_u32(&w, PRINTER_ACCESS_USE);
    uint8_t *stub = NULL;
    size_t n = 0;
    if (!r)
        r = wire_wok(&w) ? dcerpc_call(p, SPOOLSS_OPNUM_OPENPRINTER, req, w.pos, &stub, &n, NULL)
                         : -ENAMETOOLONG;
    free(req);
    if (r)
        return r;
    r = n == SPOOLSS_HANDLE_LEN + 4 ? stub_werr(stub, n) : -EIO;
    if (r == 0)
        memcpy(handle, stub, SPOOLSS_HANDLE_LEN);
    else
        log_debug(conn_log(p->t->conn), "spoolss OpenPrinter %s: %zu stub bytes, %d", name, n, r);
    free(stub);
    return r;
}

static void close_printer(struct dcerpc_pipe *p, const uint8_t *handle)
{
    uint8_t *stub = NULL;
    size_t n = 0;
    if (dcerpc_call(p, SPOOLSS_OPNUM_CLOSEPRINTER, handle, SPOOLSS_HANDLE_LEN, &stub, &n, NULL) ==
        0)
        free(stub);
}

/* Opens the pipe and the printer: \\server\printer first, then the bare
 * name (Samba takes both; the server's name as we know it may not be one
 * it answers to). */
static int printer_open(struct smb1_tree *ipc, const char *printer, struct dcerpc_pipe *p,
                        uint8_t *handle)
{
    int r = dcerpc_open(ipc, "spoolss", &spoolss_iface, p);
    if (r)
        return r;
    size_t n = strlen(ipc->unc) + strlen(printer) + 2;
    char *full = malloc(n);
    if (!full) {
        dcerpc_close(p);
        return -ENOMEM;
    }
    /* ipc->unc is \\host\IPC$: keep \\host\ */
    snprintf(full, n, "%s", ipc->unc);
    char *sep = strrchr(full, '\\');
    if (sep && sep > full + 1)
        snprintf(sep + 1, n - (size_t)(sep + 1 - full), "%s", printer);
    r = open_printer(p, printer, handle);
    if (r == -ENOENT)
        r = open_printer(p, full, handle);
    free(full);
    if (r)
        dcerpc_close(p);
    return r;
}

static int enum_jobs_call(struct dcerpc_pipe *p, const uint8_t *handle, uint32_t first,
                          uint32_t num, uint32_t cb_buf, uint8_t **stub, size_t *n)
{
    size_t cap = SPOOLSS_HANDLE_LEN + 32 + cb_buf;
    uint8_t *req = calloc(1, cap);
    if (!req)
        return -ENOMEM;
    struct wire_writer w;
    wire_writer_init(&w, req, cap);
    wire_put_bytes(&w, handle, SPOOLSS_HANDLE_LEN);
    wire_put_u32(&w, first);
    wire_put_u32(&w, num);
    wire_put_u32(&w, 2); /* Level */
    if (cb_buf) {
        wire_put_u32(&w, 0x00020000);
        wire_put_u32(&w, cb_buf);
        wire_put_zeros(&w, cb_buf);
        wire_put_zeros(&w, (4 - (w.pos & 3)) & 3);
    } else {
        wire_put_u32(&w, 0);
    }
    wire_put_u32(&w, cb_buf);
    int r = dcerpc_call(p, SPOOLSS_OPNUM_ENUMJOBS, req, w.pos, stub, n, NULL);
    free(req);
    return r;
}

int spoolss_enum_jobs(struct smb1_tree *ipc, const char *printer, smb1_job_cb cb, void *ctx)
{
    struct dcerpc_pipe p;
    uint8_t handle[SPOOLSS_HANDLE_LEN];
    int r = printer_open(ipc, printer, &p, handle);
    if (r)
        return r;
    uint32_t first = 0, num = SPOOLSS_PAGE_JOBS;
    while (r == 0 && first < SPOOLSS_MAX_JOBS) {
        uint8_t *stub = NULL;
        size_t n = 0;
        r = enum_jobs_call(&p, handle, first, num, SPOOLSS_PAGE_BUF, &stub, &n);
        if (r)
            break;
        const uint8_t *jobs = NULL;
        uint32_t jlen = 0, returned = 0, werr = 0;
        int bad = spoolss_enum_jobs_stub(stub, n, &jobs, &jlen, &returned, &werr);
        log_debug(conn_log(ipc->conn), "spoolss EnumJobs from %u: %u jobs in %u bytes, WERROR %u",
                  first, returned, jlen, werr);
        if (bad || returned > num) {
            r = -EIO;
        } else if (werr == WERR_INSUFFICIENT_BUFFER) {
            /* Fewer at a time; one job that does not fit is too big. */
            r = num > 1 ? 0 : -EIO;
            num /= 2;
            returned = 0;
        } else if (werr) {
            r = werr_errno(werr);
        } else {
            r = spoolss_jobs2_decode(jobs, jlen, returned, NULL, NULL);
            if (r == 0)
                r = spoolss_jobs2_decode(jobs, jlen, returned, cb, ctx);
            if (r == 0 && returned < num)
                first = SPOOLSS_MAX_JOBS; /* the last page */
        }
        free(stub);
        first += returned;
    }
    close_printer(&p, handle);
    dcerpc_close(&p);
    return r;
}

int spoolss_delete_job(struct smb1_tree *ipc, const char *printer, uint32_t id)
{
    struct dcerpc_pipe p;
    uint8_t handle[SPOOLSS_HANDLE_LEN];
    int r = printer_open(ipc, printer, &p, handle);
    if (r)
        return r;
    uint8_t req[SPOOLSS_HANDLE_LEN + 12];
    struct wire_writer w;
    wire_writer_init(&w, req, sizeof(req));
    wire_put_bytes(&w, handle, SPOOLSS_HANDLE_LEN);
    wire_put_u32(&w, id);
    wire_put_u32(&w, 0); /* pJobContainer: NULL */
    wire_put_u32(&w, JOB_CONTROL_DELETE);
    uint8_t *stub = NULL;
    size_t n = 0;
    r = dcerpc_call(&p, SPOOLSS_OPNUM_SETJOB, req, w.pos, &stub, &n, NULL);
    if (r == 0) {
        r = n == 4 ? stub_werr(stub, n) : -EIO;
        free(stub);
    }
    close_printer(&p, handle);
    dcerpc_close(&p);
    return r;
}
