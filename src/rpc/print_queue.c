#include "rpc/print_queue.h"

#include <errno.h>
#include <string.h>

#include "ops/print_job.h"
#include "rpc/rap.h"
#include "rpc/spoolss.h"
#include "session/conn.h"
#include "wire/wire.h"

#define PRJ_QS_MASK      0x0003
#define PRJ_ERROR        0x0010 /* MS-RAP 2.5.10.1: an error occurred */
#define PRJ_INTERV       0x0020
#define PRJ_DESTOFFLINE  0x0040
#define PRJ_DESTNOPAPER  0x0100
#define PRJ_PROBLEM_BITS (PRJ_ERROR | PRJ_INTERV | PRJ_DESTOFFLINE | PRJ_DESTNOPAPER)

enum smb1_job_status printq_rap_status(uint16_t st)
{
    if (st & PRJ_PROBLEM_BITS)
        return SMB1_JOB_ERROR;
    return (enum smb1_job_status)(st & PRJ_QS_MASK);
}

int printq_rap_enum_req(const char *queue, uint8_t *buf, size_t cap)
{
    size_t qn = strlen(queue);
    if (qn > 256)
        return -ENAMETOOLONG;
    struct wire_writer w;
    wire_writer_init(&w, buf, cap);
    wire_put_u16(&w, RAP_WPrintJobEnum);
    wire_put_bytes(&w, "zWrLeh", 7);
    wire_put_bytes(&w, "WWzWWDDzz", 10);
    wire_put_bytes(&w, queue, qn + 1);
    wire_put_u16(&w, 2); /* InfoLevel */
    wire_put_u16(&w, PRINTQ_RAP_RECV_BUF);
    return wire_wok(&w) ? (int)w.pos : -ENAMETOOLONG;
}

int printq_rap_decode(const uint8_t *param, size_t plen, const uint8_t *data, size_t dlen,
                      smb1_job_cb cb, void *ctx)
{
    struct wire_reader pr;
    wire_reader_init(&pr, param, plen);
    uint16_t status = wire_u16(&pr);
    uint16_t converter = wire_u16(&pr);
    uint16_t count = wire_u16(&pr);
    (void)wire_u16(&pr); /* EntriesAvailable */
    if (!wire_ok(&pr))
        return -EIO;
    int r = rap_status_errno(status);
    if (r)
        return r;
    if (count > PRINTQ_MAX_JOBS || dlen / PRINTQ_RAP_JOB2_LEN < count)
        return -EIO;
    struct wire_reader dr;
    wire_reader_init(&dr, data, dlen);
    for (uint16_t i = 0; i < count; i++) {
        struct smb1_print_job_info ji;
        memset(&ji, 0, sizeof(ji));
        ji.id = wire_u16(&dr);
        (void)wire_u16(&dr); /* Priority */
        uint32_t user = wire_u32(&dr);
        ji.position = wire_u16(&dr);
        ji.status = printq_rap_status(wire_u16(&dr));
        ji.submitted = (time_t)wire_u32(&dr);
        ji.size = wire_u32(&dr);
        (void)wire_u32(&dr); /* Comment */
        uint32_t doc = wire_u32(&dr);
        if (!wire_ok(&dr))
            return -EIO;
        rap_string(data, dlen, converter, user, ji.user, sizeof(ji.user));
        rap_string(data, dlen, converter, doc, ji.name, sizeof(ji.name));
        if (cb) {
            r = cb(ctx, &ji);
            if (r)
                return r;
        }
    }
    return 0;
}

/* The IPC$ tree of t's connection, for the queue calls. */
static int ipc_open(struct smb1_tree *t, struct smb1_tree **ipc)
{
    if (t->type != SMB1_TREE_PRINTER)
        return -ENOTSUP;
    return smb1_tree_connect(t->conn, "IPC$", ipc);
}

static int rap_enum(struct smb1_tree *ipc, const char *queue, smb1_job_cb cb, void *ctx)
{
    uint8_t req[RAP_MAX_PARAM];
    int n = printq_rap_enum_req(queue, req, sizeof(req));
    if (n < 0)
        return n;
    struct trans_resp rs;
    int r = rap_call(ipc, req, (uint32_t)n, PRINTQ_RAP_RECV_BUF, &rs, CONN_IDEMPOTENT);
    if (r)
        return r;
    r = printq_rap_decode(rs.param, rs.param_len, rs.data, rs.data_len, NULL, NULL);
    if (r == 0)
        r = printq_rap_decode(rs.param, rs.param_len, rs.data, rs.data_len, cb, ctx);
    trans_resp_free(&rs);
    return r;
}

/* Samba names a job created with NT_CREATE_ANDX "Remote Downlevel
 * Document NAME": the name is what the program chose. */
#define SAMBA_DOC_PREFIX "Remote Downlevel Document "

/* Between the decoders and the caller: marks where the ids come from,
 * gives the document its own name back, and tells the callback's own
 * non-zero return apart from our failures. */
struct queue_guard {
    smb1_job_cb cb;
    void *ctx;
    enum smb1_queue_via via;
    int cb_ret;
    int delivered;
};

static int guard_cb(void *ctx, const struct smb1_print_job_info *ji)
{
    struct queue_guard *g = ctx;
    struct smb1_print_job_info out = *ji;
    out.via = g->via;
    size_t pn = strlen(SAMBA_DOC_PREFIX);
    if (!strncmp(out.name, SAMBA_DOC_PREFIX, pn) && out.name[pn])
        memmove(out.name, out.name + pn, strlen(out.name + pn) + 1);
    g->delivered++;
    g->cb_ret = g->cb(g->ctx, &out);
    return g->cb_ret;
}

int smb1_print_queue(struct smb1_tree *t, smb1_job_cb cb, void *ctx)
{
    CONN_OP(t ? t->conn : NULL);
    struct smb1_tree *ipc;
    int r = ipc_open(t, &ipc);
    if (r)
        return r;
    /* spoolss first: its names are Unicode (RAP's are OEM, so a UTF-8
     * name would come back as '?') and its ids 32 bits. RAP where spoolss
     * is missing or fails before it delivered anything. */
    struct queue_guard g = {cb, ctx, SMB1_QUEUE_SPOOLSS, 0, 0};
    r = spoolss_enum_jobs(ipc, t->share, guard_cb, &g);
    if (r && !g.delivered && r != -ENOMEM) {
        log_debug(conn_log(t->conn), "print: spoolss job list of %s failed (%d); RAP", t->share, r);
        g.via = SMB1_QUEUE_RAP;
        r = rap_enum(ipc, t->share, guard_cb, &g);
    }
    smb1_tree_free(ipc);
    return r;
}

static int rap_delete(struct smb1_tree *ipc, uint32_t id)
{
    if (id > 0xFFFF)
        return -ENOENT;
    uint8_t req[16];
    struct wire_writer w;
    wire_writer_init(&w, req, sizeof(req));
    wire_put_u16(&w, RAP_WPrintJobDel);
    wire_put_bytes(&w, "W", 2);
    wire_put_bytes(&w, "", 1);
    wire_put_u16(&w, (uint16_t)id);
    struct trans_resp rs;
    int r = rap_call(ipc, req, (uint32_t)w.pos, 0, &rs, 0);
    if (r == 0) {
        struct wire_reader pr;
        wire_reader_init(&pr, rs.param, rs.param_len);
        uint16_t status = wire_u16(&pr);
        r = wire_ok(&pr) ? rap_status_errno(status) : -EIO;
        trans_resp_free(&rs);
    }
    return r;
}

/* The spoolss job that is the RAP-listed job want: the one job with the
 * same document, owner and size. */
struct spoolss_match {
    const struct smb1_print_job_info *want;
    uint32_t id;
    int n;
};

static int match_job(void *ctx, const struct smb1_print_job_info *ji)
{
    struct spoolss_match *m = ctx;
    if (!strcmp(ji->name, m->want->name) && !strcmp(ji->user, m->want->user) &&
        ji->size == m->want->size) {
        m->id = ji->id;
        m->n++;
    }
    return 0;
}

int smb1_print_cancel(struct smb1_tree *t, const struct smb1_print_job_info *job)
{
    CONN_OP(t ? t->conn : NULL);
    if (job->id == 0)
        return -ENOENT;
    struct smb1_tree *ipc;
    int r = ipc_open(t, &ipc);
    if (r)
        return r;
    if (job->via == SMB1_QUEUE_SPOOLSS) {
        r = spoolss_delete_job(ipc, t->share, job->id);
    } else {
        r = rap_delete(ipc, job->id);
        /* Samba refuses DosPrintJobDel to its users but lets them delete
         * their own jobs with spoolss, which numbers jobs its own way:
         * the job is found there by its document, owner and size, and
         * deleted only when exactly one matches. */
        if (r == -EPERM && job->name[0]) {
            struct spoolss_match m = {job, 0, 0};
            struct queue_guard g = {match_job, &m, SMB1_QUEUE_SPOOLSS, 0, 0};
            if (spoolss_enum_jobs(ipc, t->share, guard_cb, &g) == 0 && m.n == 1)
                r = spoolss_delete_job(ipc, t->share, m.id);
        }
    }
    smb1_tree_free(ipc);
    return r;
}

void smb1_print_abort(struct smb1_print_job *j)
{
    CONN_OP(j ? print_job_tree(j)->conn : NULL);
    if (!j)
        return;
    struct smb1_tree *t = print_job_tree(j);
    uint32_t id = smb1_print_job_id(j);
    /* Cancel before the close, which would queue it. */
    int r = print_job_cancel_on_close(j);
    if (r && id) {
        struct smb1_print_job_info ji = {.id = id, .via = SMB1_QUEUE_RAP};
        r = smb1_print_cancel(t, &ji);
    }
    log_info(conn_log(t->conn), "print: job %u on %s abandoned (%s)", id, t->share,
             r == 0 ? "cancelled" : "could not cancel it");
    (void)print_job_end(j);
}

int smb1_print_close(struct smb1_print_job *j)
{
    CONN_OP(j ? print_job_tree(j)->conn : NULL);
    if (!j)
        return 0;
    if (print_job_failed(j)) {
        smb1_print_abort(j);
        return -EIO;
    }
    struct smb1_tree *t = print_job_tree(j);
    uint32_t id = smb1_print_job_id(j);
    int r = print_job_end(j);
    if (r)
        log_warn(conn_log(t->conn), "print: job %u on %s not submitted: %d", id, t->share, r);
    return r;
}
