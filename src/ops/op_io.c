/* Reads and writes of open files: READ_ANDX / WRITE_ANDX, one request or
 * a large one in pieces (a pipeline of reads, writes on the I/O pool),
 * and FLUSH. */
#include "ops/op_file.h"
#include "ops/op_io_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ops/tree_state.h"
#include "support/iopool.h"
#include "wire/ntstatus.h"
#include "wire/smb1_proto.h"
#include "wire/unix_rec.h"

/* Requests of one smb1_read/smb1_write in flight at once. Measured on
 * loopback against Samba 4.17 with signing, 1 MiB calls split into
 * ~124 KiB chunks: 1 in flight wrote 75 MiB/s and read 99 MiB/s, 4 in
 * flight 130 and 169 MiB/s. */
#define FILE_IO_PARALLEL 4
/* READ_ANDX in flight for one large read (io_read_pipelined): 1 MiB in
 * 60 KiB pieces, and at most half the server's slots, so other requests
 * and other reads still find some. */
#define FILE_IO_WINDOW 18

/* ---- READ_ANDX / WRITE_ANDX ---- */

uint32_t chunk_size(const struct conn_params *p, bool write)
{
    if (!write && p->big_read && (p->unix_caps & UNIX_CAP_LARGE_READ))
        return p->big_read;
    uint32_t v = write ? p->max_write : p->max_read;
    if (!v) {
        /* Without the LARGE caps: the buffer less the headers. */
        v = p->max_buffer > 256 ? p->max_buffer - 128 : 4096;
        if (v > 0xFFFF)
            v = 0xF000;
    }
    return v;
}

/* The most a READ_ANDX may ask for when the server may ignore MaxCountHigh:
 * MaxCount alone says it all. */
#define READ_PLAIN_MAX 0xF000u

/* A read larger than 64 KiB whose MaxCount (the low 16 bits) is 0: a
 * server that ignores MaxCountHigh answers it with 0 bytes, which looks
 * like the end of the file. Such a request is never sent. */
bool read_len_unsafe(uint32_t len)
{
    return len > 0xFFFF && (len & 0xFFFF) == 0;
}

/* A READ_ANDX for io (MS-CIFS 2.2.4.42.1, MS-SMB 2.2.4.2.1) on fid. */
int read_build(struct msg_out *m, uint16_t fid, uint64_t epoch, const struct io_req *io)
{
    if (read_len_unsafe(io->len))
        return -EINVAL; /* io_once splits such a read; nothing else may send one */
    int r = msg_out_init(m, SMB1_COM_READ_ANDX, SMB1_HDR_LEN + 1 + 24 + 2 + 8);
    if (r)
        return r;
    struct wire_writer *w = &m->w;
    msg_words_begin(m);
    wire_put_u8(w, SMB1_COM_NONE);
    wire_put_u8(w, 0);
    wire_put_u16(w, 0);
    wire_put_u16(w, fid);
    wire_put_u32(w, (uint32_t)io->off);
    wire_put_u16(w, (uint16_t)io->len);
    wire_put_u16(w, (uint16_t)io->len); /* MinCount */
    wire_put_u32(w, io->len >> 16);     /* MaxCountHigh (MS-SMB 2.2.4.2.1) */
    wire_put_u16(w, 0);                 /* Remaining */
    if (io->large)
        wire_put_u32(w, (uint32_t)(io->off >> 32));
    msg_words_end(m);
    msg_bytes_begin(m);
    msg_bytes_end(m);
    m->want_epoch = epoch;
    /* The reply's data may go straight into the caller's buffer. */
    m->rx_dst = io->rbuf;
    m->rx_cap = io->len;
    return 0;
}

int file_read_decode(const struct msg_in *resp, uint32_t max, const uint8_t **data, uint32_t *len)
{
    *data = NULL;
    *len = 0;
    if (resp->status == NT_STATUS_END_OF_FILE)
        return 0;
    if (resp->status != NT_STATUS_OK && resp->status != NT_STATUS_BUFFER_OVERFLOW)
        return ntstatus_to_errno(resp->status);
    if (resp->wct < 12)
        return -EIO;
    struct wire_reader wr, smb, d;
    msg_in_words(resp, &wr);
    wire_skip(&wr, 10);
    uint32_t dlen = wire_u16(&wr);
    uint32_t doff = wire_u16(&wr);
    dlen |= (uint32_t)wire_u16(&wr) << 16;
    msg_in_smb(resp, &smb);
    if (!wire_ok(&wr) || dlen > max)
        return -EIO;
    /* The data follows the parameter words and ByteCount: an offset into
     * the header or the words would hand header bytes over as file data. */
    if (dlen && doff < resp->bytes_off)
        return -EIO;
    if (resp->ext_len) {
        /* A split reply (msg_in.ext): the data is all of what follows
         * the frame, which ends where DataOffset points. */
        if (doff != resp->len || dlen != resp->ext_len || !resp->ext)
            return -EIO;
        *data = resp->ext;
        *len = dlen;
        return 0;
    }
    wire_sub(&smb, doff, dlen, &d);
    const uint8_t *p = wire_bytes(&d, dlen);
    if (!wire_ok(&d))
        return -EIO;
    *data = p;
    *len = dlen;
    return 0;
}

/* Bytes a READ_ANDX reply put into io->rbuf, or -errno. */
static ssize_t read_parse(const struct msg_in *resp, const struct io_req *io)
{
    const uint8_t *d;
    uint32_t n;
    int r = file_read_decode(resp, io->len, &d, &n);
    if (r)
        return r;
    /* Already there when it came straight into the buffer. */
    if (n && d != io->rbuf)
        memcpy(io->rbuf, d, n);
    return (ssize_t)n;
}

static ssize_t read_op(struct smb1_tree *t, uint16_t fid, uint64_t epoch, void *arg)
{
    const struct io_req *io = arg;
    struct msg_out m;
    struct msg_in resp;
    int r = read_build(&m, fid, epoch, io);
    if (r)
        return r;
    r = conn_call(t->conn, t, &m, &resp, CONN_FID);
    if (r)
        return r;
    ssize_t res = read_parse(&resp, io);
    msg_in_free(&resp);
    return res;
}

/* A WRITE_ANDX of io (MS-CIFS 2.2.4.43.1) on fid. */
int write_build(struct msg_out *m, uint16_t fid, uint64_t epoch, const struct io_req *io)
{
    return write_build_buf(m, fid, epoch, io, NULL, 0);
}

/* A WRITE_ANDX of io: its data copied from io->wbuf, left for the caller
 * to fill (wbuf NULL), in the pipe tail_fd (>= 0: not in m at all), or
 * (tail_mem) its first head bytes left for the caller to fill and the
 * rest at tail_mem. */
static int write_build_any(struct msg_out *m, uint16_t fid, uint64_t epoch, const struct io_req *io,
                           uint8_t *buf, size_t bufcap, int tail_fd, const uint8_t *tail_mem,
                           uint32_t head)
{
    size_t data = tail_fd >= 0 ? 0 : tail_mem ? head : io->len;
    int r = msg_out_init_buf(m, SMB1_COM_WRITE_ANDX, SMB1_HDR_LEN + 1 + 28 + 2 + 4 + data + 8, buf,
                             bufcap);
    if (r)
        return r;
    struct wire_writer *w = &m->w;
    msg_words_begin(m);
    wire_put_u8(w, SMB1_COM_NONE);
    wire_put_u8(w, 0);
    wire_put_u16(w, 0);
    wire_put_u16(w, fid);
    wire_put_u32(w, (uint32_t)io->off);
    wire_put_u32(w, 0); /* Timeout */
    wire_put_u16(w, 0); /* WriteMode */
    wire_put_u16(w, 0); /* Remaining */
    wire_put_u16(w, (uint16_t)(io->len >> 16));
    wire_put_u16(w, (uint16_t)io->len);
    size_t at_doff = w->pos;
    wire_put_u16(w, 0);
    if (io->large)
        wire_put_u32(w, (uint32_t)(io->off >> 32));
    msg_words_end(m);
    msg_bytes_begin(m);
    msg_align(m, 4);
    wire_patch_u16(w, at_doff, (uint16_t)msg_offset(m));
    if (tail_fd >= 0) {
        m->tail_fd = tail_fd;
        m->tail_len = io->len;
    } else if (tail_mem) {
        (void)wire_put_space(w, head);
        m->tail_fd = -1;
        m->tail_mem = tail_mem;
        m->tail_len = io->len - head;
    } else if (io->wbuf) {
        wire_put_bytes(w, io->wbuf, io->len);
    } else {
        (void)wire_put_space(w, io->len);
    }
    /* With CAP_LARGE_WRITEX the data may exceed what ByteCount can hold:
     * it carries the low 16 bits, as the Linux client sends and Samba
     * expects (the length is in DataLength/DataLengthHigh). */
    wire_patch_u16(w, m->bc_pos, (uint16_t)(w->pos - m->bc_pos - 2 + m->tail_len));
    if ((r = msg_out_error(m))) {
        msg_out_free(m);
        return r;
    }
    m->want_epoch = epoch;
    return 0;
}

int write_build_buf(struct msg_out *m, uint16_t fid, uint64_t epoch, const struct io_req *io,
                    uint8_t *buf, size_t bufcap)
{
    return write_build_any(m, fid, epoch, io, buf, bufcap, -1, NULL, 0);
}

int write_build_tail(struct msg_out *m, uint16_t fid, uint64_t epoch, const struct io_req *io,
                     int fd)
{
    return fd < 0 ? -EINVAL : write_build_any(m, fid, epoch, io, NULL, 0, fd, NULL, 0);
}

int write_build_lent(struct msg_out *m, uint16_t fid, uint64_t epoch, const struct io_req *io,
                     uint32_t head, const uint8_t *tail)
{
    return !tail || head >= io->len ? -EINVAL
                                    : write_build_any(m, fid, epoch, io, NULL, 0, -1, tail, head);
}

ssize_t file_write_decode(const struct msg_in *resp, uint32_t len)
{
    if (resp->status != NT_STATUS_OK)
        return ntstatus_to_errno(resp->status);
    if (resp->wct < 6)
        return -EIO;
    struct wire_reader wr;
    msg_in_words(resp, &wr);
    wire_skip(&wr, 4);
    uint32_t cnt = wire_u16(&wr);
    wire_skip(&wr, 2);
    cnt |= (uint32_t)wire_u16(&wr) << 16;
    /* Some servers put garbage in CountHigh (as the Linux client notes):
     * a count above the request is taken modulo 64 KiB. */
    if (cnt > len)
        cnt &= 0xFFFF;
    return !wire_ok(&wr) || cnt > len ? -EIO : (ssize_t)cnt;
}

ssize_t write_op(struct smb1_tree *t, uint16_t fid, uint64_t epoch, void *arg)
{
    const struct io_req *io = arg;
    struct msg_out m;
    struct msg_in resp;
    int r = write_build(&m, fid, epoch, io);
    if (r)
        return r;
    r = conn_call(t->conn, t, &m, &resp, CONN_FID);
    if (r)
        return r;
    ssize_t res = file_write_decode(&resp, io->len);
    msg_in_free(&resp);
    return res;
}

ssize_t file_read_fid(struct smb1_tree *t, uint16_t fid, uint64_t epoch, void *buf, uint32_t len,
                      uint64_t off)
{
    struct conn_params p;
    conn_get_params(t->conn, &p);
    struct io_req io = {buf, NULL, len, off, p.large_files};
    return read_op(t, fid, epoch, &io);
}

ssize_t file_write_fid(struct smb1_tree *t, uint16_t fid, uint64_t epoch, const void *buf,
                       uint32_t len, uint64_t off)
{
    struct conn_params p;
    conn_get_params(t->conn, &p);
    struct io_req io = {NULL, buf, len, off, p.large_files};
    return write_op(t, fid, epoch, &io);
}

/* Reads len bytes at off in requests of at most READ_PLAIN_MAX, which every
 * server answers in full up to the end of the file: returns the bytes
 * read (short only at the end of the file) or -errno. */
static ssize_t read_plain(struct smb1_file *f, uint8_t *rbuf, size_t len, uint64_t off)
{
    struct conn_params p;
    conn_get_params(f->t->conn, &p);
    size_t done = 0;
    while (done < len) {
        uint32_t n = len - done < READ_PLAIN_MAX ? (uint32_t)(len - done) : READ_PLAIN_MAX;
        struct io_req io = {rbuf + done, NULL, n, off + done, p.large_files};
        ssize_t r = file_call(f, read_op, &io);
        if (r < 0)
            return r;
        done += (size_t)r;
        if ((uint32_t)r < n)
            break;
    }
    return (ssize_t)done;
}

/* One READ_ANDX or WRITE_ANDX of at most the negotiated size. A big read
 * the server refuses (Samba says NOT_SUPPORTED when it signs,
 * INVALID_PARAMETER above its limit) turns big reads off for the
 * connection and sets *refused: io_run then reads again in small pieces. */
static ssize_t io_once(struct smb1_file *f, uint8_t *rbuf, const uint8_t *wbuf, uint32_t len,
                       uint64_t off, atomic_bool *refused)
{
    struct conn_params p;
    conn_get_params(f->t->conn, &p);
    if (!p.large_files && (off > 0xFFFFFFFFu || len > 0xFFFFFFFFu - off))
        return -EFBIG;
    if (rbuf && read_len_unsafe(len)) {
        /* 64 KiB, 128 KiB...: two requests whose MaxCount is never 0. */
        ssize_t a = io_once(f, rbuf, NULL, len - 0x1000, off, refused);
        if (a < (ssize_t)(len - 0x1000))
            return a;
        ssize_t b = io_once(f, rbuf + a, NULL, 0x1000, off + (uint64_t)a, refused);
        return b < 0 ? b : a + b;
    }
    struct io_req io = {rbuf, wbuf, len, off, p.large_files};
    ssize_t r = file_call(f, rbuf ? read_op : write_op, &io);
    if (rbuf && len > p.max_read && (r == -EOPNOTSUPP || r == -EINVAL)) {
        conn_refuse_big_reads(f->t->conn, p.epoch);
        atomic_store(refused, true);
    }
    if (rbuf && r >= 0 && (uint32_t)r < len && len > 0xFFFF && (uint32_t)r <= (len & 0xFFFF)) {
        /* No more than MaxCount came back: a server that ignores
         * MaxCountHigh, or the end of the file. A short read is taken for
         * the end of the file, so the rest is read in requests that every
         * server answers in full; only they may say where the file ends. */
        log_debug(conn_log(f->t->conn), "READ_ANDX of %u bytes at %llu gave %zd: reading the rest",
                  len, (unsigned long long)off, r);
        ssize_t more = read_plain(f, rbuf + r, len - (uint32_t)r, off + (uint64_t)r);
        return more < 0 ? more : r + more;
    }
    return r;
}

struct io_job {
    struct smb1_file *f;
    uint8_t *rbuf;
    const uint8_t *wbuf;
    size_t len;
    uint64_t off;
    uint32_t chunk;
    size_t nchunks;
    pthread_mutex_t lock; /* protects next */
    size_t next;
    ssize_t *res;        /* one per chunk, written by the thread that ran it */
    atomic_bool refused; /* a big read was refused: read again in small pieces */
};

static size_t chunk_len(const struct io_job *j, size_t i)
{
    size_t start = i * (size_t)j->chunk;
    size_t rest = j->len - start;
    return rest < j->chunk ? rest : j->chunk;
}

static void io_worker(void *arg)
{
    struct io_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        size_t i = j->next++;
        pthread_mutex_unlock(&j->lock);
        if (i >= j->nchunks)
            break;
        size_t start = i * (size_t)j->chunk;
        uint32_t n = (uint32_t)chunk_len(j, i);
        j->res[i] = io_once(j->f, j->rbuf ? j->rbuf + start : NULL,
                            j->wbuf ? j->wbuf + start : NULL, n, j->off + start, &j->refused);
    }
}

/* Reads the chunks of j from this thread with up to window READ_ANDX in
 * flight (conn_call_many): a large read is one pipeline rather than a
 * thread per request, its requests go out (and are signed) in runs, and
 * the replies come back to back, which the reader verifies in batches. A
 * chunk that fails is read again on its own through io_once, whose
 * retries (reopen after a reconnect) apply as they would to a lone read;
 * a big read refused sets j->refused for io_run. */
static void io_read_pipelined(struct io_job *j, size_t window)
{
    struct smb1_tree *t = j->f->t;
    struct conn_params p;
    conn_get_params(t->conn, &p);
    size_t n = j->nchunks;
    struct msg_out *reqs = calloc(n, sizeof(*reqs));
    struct msg_in *resps = calloc(n, sizeof(*resps));
    struct io_req *io = calloc(n, sizeof(*io));
    int *res = calloc(n, sizeof(*res));
    uint16_t fid;
    uint64_t ep = 0;
    int r = !reqs || !resps || !io || !res ? -ENOMEM : file_get_fid(j->f, &fid, &ep);
    size_t built = 0;
    while (r == 0 && built < n) {
        size_t start = built * (size_t)j->chunk;
        io[built] = (struct io_req){j->rbuf + start, NULL, (uint32_t)chunk_len(j, built),
                                    j->off + start, p.large_files};
        r = read_build(&reqs[built], fid, ep, &io[built]);
        if (r == 0)
            built++;
    }
    if (r == 0) {
        conn_call_many(t->conn, t, reqs, n, window, resps, res, CONN_FID);
        bool failed = false;
        for (size_t i = 0; i < n; i++) {
            ssize_t got = res[i] ? res[i] : read_parse(&resps[i], &io[i]);
            if (res[i] == 0)
                msg_in_free(&resps[i]);
            bool refused_big = io[i].len > p.max_read && (got == -EOPNOTSUPP || got == -EINVAL);
            if (refused_big && !atomic_load(&j->refused)) {
                conn_refuse_big_reads(t->conn, p.epoch);
                atomic_store(&j->refused, true);
            }
            /* No more than MaxCount: io_once tells a server that ignores
             * MaxCountHigh from the end of the file. */
            if (got >= 0 && (uint32_t)got < io[i].len && io[i].len > 0xFFFF &&
                (uint32_t)got <= (io[i].len & 0xFFFF))
                got = io_once(j->f, io[i].rbuf, NULL, io[i].len, io[i].off, &j->refused);
            /* After a chunk that failed for good the read fails anyway
             * (io_run): no point reading the rest again. */
            if (got < 0 && !failed && !refused_big && file_should_retry(j->f, ep, (int)got))
                got = io_once(j->f, io[i].rbuf, NULL, io[i].len, io[i].off, &j->refused);
            failed |= got < 0;
            j->res[i] = got;
        }
    } else {
        /* Nothing was sent: each chunk goes the usual way, which reports
         * the error (or gets past it) as a lone read would. */
        for (size_t i = 0; i < built; i++)
            msg_out_free(&reqs[i]);
        io_worker(j);
    }
    free(reqs);
    free(resps);
    free(io);
    free(res);
}

/* Runs the chunks of a large request: a read as one pipeline from this
 * thread (io_read_pipelined); a write on up to FILE_IO_PARALLEL threads (the
 * caller and the tree's pool), which build and send their pieces in
 * parallel: one pipeline would copy the whole write into its requests
 * before the first goes out (measured: 166 against 176 MB/s signed). The
 * result is the contiguous prefix up to the first short chunk; a failed
 * chunk fails a read, and a write when nothing before it was written. */
static ssize_t io_pass(struct smb1_file *f, uint8_t *rbuf, const uint8_t *wbuf, size_t len,
                       uint64_t off, atomic_bool *refused)
{
    struct conn_params p;
    conn_get_params(f->t->conn, &p);
    if (len == 0)
        return 0;
    if (len > SSIZE_MAX)
        len = SSIZE_MAX;
    if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off)
        return -EFBIG;
    uint32_t chunk = chunk_size(&p, wbuf != NULL);
    if (len <= chunk)
        return io_once(f, rbuf, wbuf, (uint32_t)len, off, refused);
    /* Even, page-aligned pieces: 1 MiB at most 0xFF000 a request is two
     * halves in parallel, not 1020 KiB and then 4 KiB. */
    size_t pieces = (len + chunk - 1) / chunk;
    size_t even = (len + pieces - 1) / pieces;
    even = (even + 4095) & ~(size_t)4095;
    if (even < chunk)
        chunk = (uint32_t)even;
    if (rbuf) {
        /* Neither a piece nor the last one may be a multiple of 64 KiB
         * (read_len_unsafe): 128 KiB goes as 68 + 60 KiB, not 64 + 64. */
        for (int k = 0; k < 8; k++) {
            size_t last = len - ((len + chunk - 1) / chunk - 1) * (size_t)chunk;
            if (!read_len_unsafe(chunk) && !read_len_unsafe((uint32_t)last))
                break;
            chunk = read_len_unsafe(chunk) && chunk + 4096 <= chunk_size(&p, false) ? chunk + 4096
                                                                                    : chunk - 4096;
        }
    }
    struct io_job j = {
        .f = f,
        .rbuf = rbuf,
        .wbuf = wbuf,
        .len = len,
        .off = off,
        .chunk = chunk,
        .nchunks = (len + chunk - 1) / chunk,
        .next = 0,
    };
    j.res = calloc(j.nchunks, sizeof(*j.res));
    if (!j.res)
        return -ENOMEM;
    pthread_mutex_init(&j.lock, NULL);
    atomic_init(&j.refused, false);
    size_t want = j.nchunks < FILE_IO_PARALLEL ? j.nchunks : FILE_IO_PARALLEL;
    /* Leave a slot for other requests; with one slot (impacket's
     * server) there is nothing to overlap, and chunks go in order. */
    if (p.max_mpx <= 2)
        want = 1;
    else if (want > (size_t)p.max_mpx - 1)
        want = (size_t)p.max_mpx - 1;
    struct ops_tree *ot = ops_tree_get(f->t);
    if (rbuf && want > 1)
        io_read_pipelined(&j, p.max_mpx / 2 < FILE_IO_WINDOW ? p.max_mpx / 2 : FILE_IO_WINDOW);
    else if (ot && ot->iopool && want > 1)
        iopool_run(ot->iopool, io_worker, &j, (unsigned)(want - 1));
    else
        io_worker(&j);
    pthread_mutex_destroy(&j.lock);
    ssize_t total = 0;
    for (size_t i = 0; i < j.nchunks; i++) {
        if (j.res[i] < 0) {
            /* A read that stops short is taken for the end of the file
             * (FUSE shrinks the cached size to it): a piece that failed
             * fails the whole read. A write may report what it did. */
            if (total == 0 || rbuf)
                total = j.res[i];
            break;
        }
        total += j.res[i];
        if ((size_t)j.res[i] < chunk_len(&j, i))
            break;
    }
    free(j.res);
    if (atomic_load(&j.refused))
        atomic_store(refused, true);
    return total;
}

/* One read or write: a pass over its pieces, and another in small pieces
 * when the server refused a big read (io_once turned them off; a new
 * connection may offer them again, hence a few passes at most). */
static ssize_t io_run(struct smb1_file *f, uint8_t *rbuf, const uint8_t *wbuf, size_t len,
                      uint64_t off)
{
    for (int pass = 0;; pass++) {
        atomic_bool refused;
        atomic_init(&refused, false);
        ssize_t r = io_pass(f, rbuf, wbuf, len, off, &refused);
        if (!atomic_load(&refused) || pass == 3)
            return r;
    }
}

/* A read found nothing at at, before the size f is known to have (a
 * server that answers 0 bytes with success where there is data, or
 * another client that shrank the file). Returns 1 to read again (the
 * first time), 0 when the server's own size says the file ends there,
 * -EIO when it says it goes on: never a silently short file. */
static int read_at_end(struct smb1_file *f, uint64_t at, bool *retried)
{
    if (at >= __atomic_load_n(&f->known_size, __ATOMIC_RELAXED))
        return 0;
    if (!*retried) {
        *retried = true;
        return 1;
    }
    struct smb1_stat st;
    int r = smb1_fstat(f, &st);
    if (r)
        return r;
    if (st.size <= at)
        return 0;
    pthread_mutex_lock(&f->lock);
    log_warn(conn_log(f->t->conn),
             "%s: READ_ANDX at %llu answered no data twice, but the file has %llu bytes: "
             "failing the read rather than cutting the file short",
             f->path, (unsigned long long)at, (unsigned long long)st.size);
    pthread_mutex_unlock(&f->lock);
    return -EIO;
}

ssize_t io_read(struct smb1_file *f, void *buf, size_t len, uint64_t off)
{
    /* A short count means end of file to a FUSE kernel, which then
     * shrinks its idea of the size: read until the end of the file, and
     * report a failure as such even after partial data. */
    if (len > SSIZE_MAX)
        len = SSIZE_MAX;
    size_t done = 0;
    bool retried = false;
    while (done < len) {
        ssize_t n = io_run(f, (uint8_t *)buf + done, NULL, len - done, off + done);
        if (n < 0)
            return n;
        if (n == 0) {
            int e = read_at_end(f, off + done, &retried);
            if (e < 0)
                return e;
            if (e == 0)
                break;
            continue;
        }
        done += (size_t)n;
    }
    return (ssize_t)done;
}

/* How long the write verdict holds: a probe interval (a quarter of the
 * bound, 1 to 10 s). */
static int wstall_window_ms(struct smb1_file *f)
{
    int p = conn_request_ms(f->t->conn) / 4;
    return p < 1000 ? 1000 : p > 10000 ? 10000 : p;
}

/* Whether writes on f's tree fail at once (the write verdict). */
bool io_wstall_on(struct smb1_file *f)
{
    struct ops_tree *ot = ops_tree_get(f->t);
    int64_t at = ot ? atomic_load(&ot->wstall_ms) : 0;
    return at && mux_now_ms() - at < wstall_window_ms(f);
}

/* A piece of f ended with r: a timeout gives the verdict, an answer
 * lifts it. */
void io_wstall_note(struct smb1_file *f, int r)
{
    struct ops_tree *ot = ops_tree_get(f->t);
    if (!ot || (r && r != -ETIMEDOUT))
        return;
    if (r == 0) {
        atomic_store(&ot->wstall_ms, 0);
        return;
    }
    if (atomic_exchange(&ot->wstall_ms, mux_now_ms()) == 0) {
        char path[256];
        file_path_copy(f, path, sizeof(path));
        log_warn(conn_log(f->t->conn),
                 "a write to %s went unanswered for %d ms: writes fail at once for the next %d ms",
                 path, conn_request_ms(f->t->conn), wstall_window_ms(f));
    }
}

ssize_t io_write(struct smb1_file *f, const void *buf, size_t len, uint64_t off)
{
    if (len && io_wstall_on(f))
        return -ETIMEDOUT;
    int64_t began = mux_now_ms();
    ssize_t r = io_run(f, NULL, buf, len, off);
    if (r > 0)
        file_size_note(f, off + (uint64_t)r, false);
    /* A timeout cut short by the operation's deadline is no verdict on
     * the server: only a wait of at least three quarters of a bound is
     * (as for the stall verdict). */
    if (r > 0 ||
        (r == -ETIMEDOUT && (mux_now_ms() - began) * 4 >= (int64_t)conn_request_ms(f->t->conn) * 3))
        io_wstall_note(f, r > 0 ? 0 : (int)r);
    return r;
}

static ssize_t flush_op(struct smb1_tree *t, uint16_t fid, uint64_t epoch, void *arg)
{
    (void)arg;
    return file_fid_cmd_at(t, SMB1_COM_FLUSH, fid, epoch);
}

int io_flush(struct smb1_file *f)
{
    return (int)file_call(f, flush_op, NULL);
}
