#include "link/msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/ntstatus.h"
#include "link/rxpool.h"
#include "wire/smb1_proto.h"
#include "wire/text.h"

static const uint8_t smb_magic[4] = {0xFF, 'S', 'M', 'B'};

int msg_out_init(struct msg_out *m, uint8_t cmd, size_t cap)
{
    return msg_out_init_buf(m, cmd, cap, NULL, 0);
}

int msg_out_init_buf(struct msg_out *m, uint8_t cmd, size_t cap, uint8_t *buf, size_t bufcap)
{
    memset(m, 0, sizeof(*m));
    if (cap < SMB1_HDR_LEN || cap > SIZE_MAX - MSG_XPORT_HDR) {
        free(buf);
        return -EINVAL;
    }
    if (buf && bufcap < MSG_XPORT_HDR + cap) {
        free(buf);
        buf = NULL;
    }
    /* Every byte sent is written first (the header below, then words and
     * bytes in order): a large request (a WRITE_ANDX) is not zeroed first. */
    if (buf)
        m->buf = buf;
    else
        m->buf = cap > 4096 ? malloc(MSG_XPORT_HDR + cap) : calloc(1, MSG_XPORT_HDR + cap);
    if (!m->buf)
        return -ENOMEM;
    m->cap = buf ? bufcap : MSG_XPORT_HDR + cap;
    m->cmd = cmd;
    wire_writer_init(&m->w, m->buf, m->cap);
    wire_put_zeros(&m->w, MSG_XPORT_HDR);
    wire_put_bytes(&m->w, smb_magic, sizeof(smb_magic));
    wire_put_u8(&m->w, cmd);
    wire_put_u32(&m->w, 0); /* Status */
    /* Flags 0: case-sensitive names, as the Linux client sends by default. */
    wire_put_u8(&m->w, 0);
    wire_put_u16(&m->w, 0); /* Flags2: filled in by the connection */
    wire_put_u16(&m->w, 0); /* PIDHigh */
    wire_put_zeros(&m->w, SMB1_SIG_LEN);
    wire_put_u16(&m->w, 0); /* Reserved */
    wire_put_u16(&m->w, 0); /* TID */
    wire_put_u16(&m->w, 0); /* PIDLow */
    wire_put_u16(&m->w, 0); /* UID */
    wire_put_u16(&m->w, 0); /* MID */
    return 0;
}

void msg_out_free(struct msg_out *m)
{
    free(m->buf);
    m->buf = NULL;
    m->cap = 0;
    wire_writer_init(&m->w, NULL, 0);
}

void msg_set_tid(struct msg_out *m, uint16_t tid)
{
    wire_patch_u16(&m->w, MSG_XPORT_HDR + SMB1_HDR_TID, tid);
}

void msg_set_pid(struct msg_out *m, uint32_t pid)
{
    wire_patch_u16(&m->w, MSG_XPORT_HDR + SMB1_HDR_PIDHIGH, (uint16_t)(pid >> 16));
    wire_patch_u16(&m->w, MSG_XPORT_HDR + SMB1_HDR_PIDLOW, (uint16_t)pid);
}

void msg_words_begin(struct msg_out *m)
{
    m->wc_pos = m->w.pos;
    wire_put_u8(&m->w, 0);
}

void msg_words_end(struct msg_out *m)
{
    if (m->w.err)
        return;
    size_t n = m->w.pos - m->wc_pos - 1;
    /* WordCount counts 16-bit words in one byte: anything else is a bug in
     * the request builder, reported through msg_out_error(). */
    if (n % 2 || n / 2 > 0xFF) {
        m->w.err = true;
        return;
    }
    wire_patch_u8(&m->w, m->wc_pos, (uint8_t)(n / 2));
}

void msg_bytes_begin(struct msg_out *m)
{
    m->bc_pos = m->w.pos;
    wire_put_u16(&m->w, 0);
}

void msg_bytes_end(struct msg_out *m)
{
    if (m->w.err)
        return;
    size_t n = m->w.pos - m->bc_pos - 2;
    if (n > 0xFFFF) {
        m->w.err = true;
        return;
    }
    wire_patch_u16(&m->w, m->bc_pos, (uint16_t)n);
}

void msg_align(struct msg_out *m, size_t align)
{
    wire_align(&m->w, MSG_XPORT_HDR, align);
}

int msg_put_utf16z(struct msg_out *m, const char *s)
{
    struct wire_writer *w = &m->w;
    if (w->err)
        return -EMSGSIZE;
    size_t n = 0;
    int r = text_utf8_to_utf16(s, strlen(s), w->buf + w->pos, w->cap - w->pos, &n);
    if (r) {
        w->err = true;
        return r == -ENAMETOOLONG ? -EMSGSIZE : r;
    }
    w->pos += n;
    wire_put_u16(w, 0);
    return w->err ? -EMSGSIZE : 0;
}

int msg_out_error(const struct msg_out *m)
{
    return m->w.err ? -EMSGSIZE : 0;
}

/* Sets *why and returns -EIO: the one way out of msg_in_parse on bad input. */
static int bad(const char **why, const char *what)
{
    if (why)
        *why = what;
    return -EIO;
}

int msg_in_parse(struct msg_in *in, uint8_t *frame, size_t len, const char **why)
{
    return msg_in_parse_split(in, frame, len, NULL, 0, why);
}

int msg_in_parse_split(struct msg_in *in, uint8_t *frame, size_t len, const uint8_t *ext,
                       size_t ext_len, const char **why)
{
    memset(in, 0, sizeof(*in));
    if (why)
        *why = NULL;
    if (!frame || len < SMB1_HDR_LEN + 1 + 2)
        return bad(why, "frame shorter than an SMB header with empty blocks");

    struct wire_reader r;
    wire_reader_init(&r, frame, len);
    const uint8_t *magic = wire_bytes(&r, 4);
    if (!magic || memcmp(magic, smb_magic, 4) != 0)
        return bad(why, "no \\xFFSMB magic");
    in->cmd = wire_u8(&r);
    uint32_t raw_status = wire_u32(&r);
    in->flags = wire_u8(&r);
    in->flags2 = wire_u16(&r);
    uint16_t pid_high = wire_u16(&r);
    wire_skip(&r, SMB1_SIG_LEN);
    wire_skip(&r, 2);
    in->tid = wire_u16(&r);
    uint16_t pid_low = wire_u16(&r);
    in->uid = wire_u16(&r);
    in->mid = wire_u16(&r);
    in->pid = (uint32_t)pid_high << 16 | pid_low;
    in->wct = wire_u8(&r);
    in->words_off = wire_ok(&r) ? r.pos : 0;
    wire_skip(&r, 2 * (size_t)in->wct);
    in->bcc = wire_u16(&r);
    if (!wire_ok(&r))
        return bad(why, "WordCount runs past the end of the frame");
    in->bytes_off = r.pos;
    /* Trailing bytes after the data block are allowed (padding, and large
     * READ_ANDX replies whose data outgrows the 16-bit ByteCount). */
    if (in->bcc > wire_remaining(&r) + ext_len)
        return bad(why, "ByteCount runs past the end of the frame");

    int kind = MSG_REPLY;
    if (!(in->flags & SMB1_FLAGS_REPLY)) {
        if (in->cmd != SMB1_COM_LOCKING_ANDX || in->mid != 0xFFFF)
            return bad(why, "REPLY flag clear on a frame that is not an oplock break");
        kind = MSG_OPLOCK_BREAK;
    }

    if (in->flags2 & SMB1_FLAGS2_NT_STATUS)
        in->status = raw_status;
    else
        in->status = ntstatus_from_dos((uint8_t)raw_status, (uint16_t)(raw_status >> 16));
    in->frame = frame;
    in->len = len;
    in->ext = ext_len ? ext : NULL;
    in->ext_len = ext_len;
    return kind;
}

void msg_in_words(const struct msg_in *in, struct wire_reader *r)
{
    struct wire_reader all;
    msg_in_smb(in, &all);
    wire_sub(&all, in->words_off, 2 * (size_t)in->wct, r);
}

void msg_in_bytes(const struct msg_in *in, struct wire_reader *r)
{
    struct wire_reader all;
    msg_in_smb(in, &all);
    wire_sub(&all, in->bytes_off, in->bcc, r);
}

void msg_in_smb(const struct msg_in *in, struct wire_reader *r)
{
    wire_reader_init(r, in->frame, in->frame ? in->len : 0);
}

void msg_in_free(struct msg_in *in)
{
    if (in->pool)
        rxpool_put(in->pool, in->frame);
    else
        free(in->frame);
    in->pool = NULL;
    in->frame = NULL;
    in->len = 0;
    in->ext = NULL;
    in->ext_len = 0;
}

struct cmd_name {
    uint8_t cmd;
    const char *name;
};

static const struct cmd_name cmd_names[] = {
    {SMB1_COM_CREATE_DIRECTORY, "CREATE_DIRECTORY"},
    {SMB1_COM_DELETE_DIRECTORY, "DELETE_DIRECTORY"},
    {SMB1_COM_CLOSE, "CLOSE"},
    {SMB1_COM_FLUSH, "FLUSH"},
    {SMB1_COM_DELETE, "DELETE"},
    {SMB1_COM_RENAME, "RENAME"},
    {SMB1_COM_CHECK_DIRECTORY, "CHECK_DIRECTORY"},
    {SMB1_COM_LOCKING_ANDX, "LOCKING_ANDX"},
    {SMB1_COM_TRANSACTION, "TRANSACTION"},
    {SMB1_COM_TRANSACTION_SECONDARY, "TRANSACTION_SECONDARY"},
    {SMB1_COM_ECHO, "ECHO"},
    {SMB1_COM_READ_ANDX, "READ_ANDX"},
    {SMB1_COM_WRITE_ANDX, "WRITE_ANDX"},
    {SMB1_COM_TRANSACTION2, "TRANSACTION2"},
    {SMB1_COM_TRANSACTION2_SECONDARY, "TRANSACTION2_SECONDARY"},
    {SMB1_COM_FIND_CLOSE2, "FIND_CLOSE2"},
    {SMB1_COM_TREE_DISCONNECT, "TREE_DISCONNECT"},
    {SMB1_COM_NEGOTIATE, "NEGOTIATE"},
    {SMB1_COM_SESSION_SETUP_ANDX, "SESSION_SETUP_ANDX"},
    {SMB1_COM_LOGOFF_ANDX, "LOGOFF_ANDX"},
    {SMB1_COM_TREE_CONNECT_ANDX, "TREE_CONNECT_ANDX"},
    {SMB1_COM_NT_TRANSACT, "NT_TRANSACT"},
    {SMB1_COM_NT_TRANSACT_SECONDARY, "NT_TRANSACT_SECONDARY"},
    {SMB1_COM_NT_CREATE_ANDX, "NT_CREATE_ANDX"},
    {SMB1_COM_NT_CANCEL, "NT_CANCEL"},
    {SMB1_COM_NT_RENAME, "NT_RENAME"},
    {SMB1_COM_NONE, "NONE"},
};

const char *msg_cmd_name(uint8_t cmd)
{
    for (size_t i = 0; i < sizeof(cmd_names) / sizeof(cmd_names[0]); i++)
        if (cmd_names[i].cmd == cmd)
            return cmd_names[i].name;
    return "UNKNOWN";
}
