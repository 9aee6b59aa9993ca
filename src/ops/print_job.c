#include "ops/print_job.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_file.h"
#include "ops/op_info.h"
#include "wire/ntstatus.h"
#include "wire/smb1_proto.h"

struct smb1_print_job {
    struct smb1_file *f;  /* the spool file; writes go through op_file.c */
    bool open_print_file; /* opened with OPEN_PRINT_FILE: CLOSE_PRINT_FILE ends it */
    uint32_t id;          /* the server's job id, 0 when unknown */
    atomic_bool failed;   /* a write failed: the job is abandoned at close */
};

/* Access for a spool file: what smbclient's print asks for. */
#define PRINT_ACCESS (SMB1_GENERIC_WRITE | SMB1_FILE_READ_ATTRIBUTES)

static int open_print_file(struct smb1_tree *t, const char *name, uint16_t *fid, uint64_t *epoch)
{
    struct conn_params p;
    conn_get_params(t->conn, &p);
    size_t n = strlen(name);
    struct msg_out m;
    struct msg_in resp;
    int r = msg_out_init(&m, SMB1_COM_OPEN_PRINT_FILE, SMB1_HDR_LEN + 1 + 4 + 2 + 2 + 2 * n + 8);
    if (r)
        return r;
    msg_words_begin(&m);
    wire_put_u16(&m.w, 0); /* SetupLength: no printer set-up data */
    wire_put_u16(&m.w, 1); /* Mode: binary, the data goes to the printer unchanged */
    msg_words_end(&m);
    msg_bytes_begin(&m);
    wire_put_u8(&m.w, 0x04);
    if (p.unicode) {
        msg_align(&m, 2);
        r = msg_put_utf16z(&m, name);
    } else {
        wire_put_bytes(&m.w, name, n + 1);
    }
    msg_bytes_end(&m);
    if (r || (r = msg_out_error(&m))) {
        msg_out_free(&m);
        return r;
    }
    uint64_t e0 = p.epoch;
    r = conn_call(t->conn, t, &m, &resp, 0);
    if (r)
        return r;
    if (resp.status != NT_STATUS_OK) {
        r = ntstatus_to_errno(resp.status);
        msg_in_free(&resp);
        return r ? r : -EIO;
    }
    struct wire_reader wr;
    msg_in_words(&resp, &wr);
    *fid = wire_u16(&wr);
    r = wire_ok(&wr) ? 0 : -EIO;
    msg_in_free(&resp);
    conn_get_params(t->conn, &p);
    *epoch = p.epoch == e0 ? e0 : e0 - 1;
    return r;
}

int print_ioctl_job_id(const struct msg_in *resp)
{
    if (resp->status != NT_STATUS_OK || resp->wct < 8)
        return -EIO;
    struct wire_reader wr, smb, data;
    msg_in_words(resp, &wr);
    wire_skip(&wr, 10); /* totals, parameter count, offset, displacement */
    uint16_t dcount = wire_u16(&wr);
    uint16_t doff = wire_u16(&wr);
    msg_in_smb(resp, &smb);
    if (!wire_ok(&wr) || dcount < 2)
        return -EIO;
    wire_sub(&smb, doff, dcount, &data);
    uint16_t id = wire_u16(&data);
    return wire_ok(&data) && id ? id : -EIO;
}

/* The server's id of the job open as fid (Samba answers; others may not). */
static int query_job_id(struct smb1_tree *t, uint16_t fid, uint64_t epoch)
{
    struct msg_out m;
    struct msg_in resp;
    int r = msg_out_init(&m, SMB1_COM_IOCTL, SMB1_HDR_LEN + 1 + 28 + 2 + 8);
    if (r)
        return r;
    msg_words_begin(&m);
    wire_put_u16(&m.w, fid);
    wire_put_u16(&m.w, PRINT_IOCTL_CATEGORY);
    wire_put_u16(&m.w, PRINT_IOCTL_JOB_INFO);
    wire_put_u16(&m.w, 0);                 /* TotalParameterCount */
    wire_put_u16(&m.w, 0);                 /* TotalDataCount */
    wire_put_u16(&m.w, 0);                 /* MaxParameterCount */
    wire_put_u16(&m.w, PRINT_IOCTL_REPLY); /* MaxDataCount */
    wire_put_u32(&m.w, 0);                 /* Timeout */
    wire_put_u16(&m.w, 0);                 /* Reserved */
    wire_put_u16(&m.w, 0);                 /* ParameterCount */
    wire_put_u16(&m.w, 0);                 /* ParameterOffset */
    wire_put_u16(&m.w, 0);                 /* DataCount */
    wire_put_u16(&m.w, 0);                 /* DataOffset */
    msg_words_end(&m);
    msg_bytes_begin(&m);
    msg_bytes_end(&m);
    m.want_epoch = epoch;
    r = conn_call(t->conn, t, &m, &resp, CONN_FID);
    if (r)
        return r;
    r = print_ioctl_job_id(&resp);
    msg_in_free(&resp);
    return r;
}

/* A statement that the server does not take NT_CREATE on a printer tree
 * (as opposed to refusing the job): the old command may still work. */
static bool nt_create_unsupported(int r, uint32_t status)
{
    if (status == NT_STATUS_ACCESS_DENIED || r == -ENOMEM || r == -ECONNRESET || r == -ETIMEDOUT)
        return false;
    return status != 0 || r == -EIO;
}

int smb1_print_open(struct smb1_tree *t, const char *name, unsigned flags,
                    struct smb1_print_job **out)
{
    CONN_OP(t ? t->conn : NULL);
    *out = NULL;
    if (t->type != SMB1_TREE_PRINTER)
        return -ENOTSUP;
    struct smb1_print_job *j = calloc(1, sizeof(*j));
    struct smb1_file *f = calloc(1, sizeof(*f));
    if (!j || !f || !(f->path = strdup(name ? name : ""))) {
        free(j);
        free(f);
        return -ENOMEM;
    }
    pthread_mutex_init(&f->lock, NULL);
    pthread_mutex_init(&f->lock_io, NULL);
    f->t = t;
    f->access = PRINT_ACCESS;
    f->no_reopen = true;
    j->f = f;
    int r = -EOPNOTSUPP;
    uint32_t status = 0;
    if (!(flags & SMB1_PRINT_OPEN_PRINT_FILE)) {
        struct file_create fc = {
            .access = PRINT_ACCESS,
            .share = SMB1_SHARE_READ | SMB1_SHARE_WRITE,
            .disposition = SMB1_FILE_OVERWRITE_IF,
            .options = SMB1_FILE_NON_DIRECTORY_FILE,
            .attrs = SMB1_ATTR_NORMAL,
        };
        r = file_nt_create(t, f->path, &fc, &f->fid, NULL, &f->epoch, &status);
        if (r && nt_create_unsupported(r, status))
            log_info(conn_log(t->conn), "print: NT_CREATE on %s refused (%s); OPEN_PRINT_FILE",
                     t->share, ntstatus_name(status));
    }
    if (r && (flags & SMB1_PRINT_OPEN_PRINT_FILE || nt_create_unsupported(r, status))) {
        r = open_print_file(t, f->path, &f->fid, &f->epoch);
        j->open_print_file = r == 0;
    }
    if (r) {
        pthread_mutex_destroy(&f->lock);
        free(f->path);
        free(f);
        free(j);
        return r;
    }
    int id = query_job_id(t, f->fid, f->epoch);
    j->id = id > 0 ? (uint32_t)id : 0;
    log_debug(conn_log(t->conn), "print: job %u (%s) open on %s with %s", j->id, name, t->share,
              j->open_print_file ? "OPEN_PRINT_FILE" : "NT_CREATE_ANDX");
    *out = j;
    return 0;
}

ssize_t smb1_print_write(struct smb1_print_job *j, const void *buf, size_t len, uint64_t off)
{
    CONN_OP(j ? j->f->t->conn : NULL);
    if (atomic_load(&j->failed))
        return -EIO;
    ssize_t r = smb1_write(j->f, buf, len, off);
    if (r < 0)
        atomic_store(&j->failed, true);
    return r;
}

uint32_t smb1_print_job_id(const struct smb1_print_job *j)
{
    return j->id;
}

/* A spool file's FID and epoch are set at open and never change (it is
 * never reopened), so they are read without its lock. */
int print_job_cancel_on_close(struct smb1_print_job *j)
{
    uint8_t pending = 1;
    return info_set_fid_at(j->f->t, j->f->fid, SMB_SET_FILE_DISPOSITION_INFO, &pending, 1, NULL,
                           j->f->epoch);
}

bool print_job_failed(const struct smb1_print_job *j)
{
    return atomic_load(&j->failed);
}

struct smb1_tree *print_job_tree(const struct smb1_print_job *j)
{
    return j->f->t;
}

int print_job_end(struct smb1_print_job *j)
{
    struct smb1_file *f = j->f;
    uint16_t fid = f->fid;
    uint64_t ep = f->epoch;
    int r = j->open_print_file ? file_fid_cmd_at(f->t, SMB1_COM_CLOSE_PRINT_FILE, fid, ep)
                               : file_close_fid_at(f->t, fid, ep);
    /* The spool file died with its connection: whatever became of the
     * job, it is not the one the program wrote. */
    if (r == -ECONNRESET)
        r = -EIO;
    file_release(f);
    free(j);
    return r;
}
