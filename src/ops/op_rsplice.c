/* Spliced reads (io_read_pipe, behind smb1_read_pipe).
 *
 * Where the connection neither signs nor is observed, the data of a
 * READ_ANDX reply goes from the socket into the caller's pipe by
 * splice(2) (mux_reader.c, read_split), and FUSE takes it on from that
 * pipe into /dev/fuse (libfuse's splice of a reply): the bytes never come
 * into user space, where the direct read copied them twice (socket to
 * libfuse's buffer, that buffer to /dev/fuse).
 *
 * Only a read that is one READ_ANDX (or two, where MaxCount would be 0:
 * read_len_unsafe) goes this way, its pieces one after another, each
 * appended to the pipe: a pipeline's replies may come in any order. The
 * pipe then holds exactly the data read so far (done bytes), and
 * whatever goes wrong puts it back to that: a failed piece whose data
 * went partly into the pipe (the connection died in the middle of it),
 * a reply read whole (the reader decides per frame: a short frame, an
 * observer), a pipe that filled before its bytes were all there (small
 * socket buffers take a slot each). From then on the read goes on in
 * the caller's buffer, as smb1_read would (rs_to_mem), and so does
 * everything but a full or final piece: a short reply (the end of the
 * file, a server that ignores MaxCountHigh, nothing at all) is finished
 * by io_read, which knows those cases; the data stays in the pipe when
 * that found nothing more.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ops/op_file.h"
#include "ops/op_io_int.h"
#include "support/pipekeep.h"

/* A read under way into a pipe. */
struct rs_state {
    int rd, wr;   /* the caller's pipe */
    uint8_t *buf; /* the caller's buffer: where the data goes when not in the pipe */
    size_t done;  /* bytes of the read so far: in the pipe (piped), else in buf */
    bool piped;   /* the data so far is in the pipe */
    /* The pipe held what the read does not know of (a request sent again
     * inside conn_call after part of its data had come): emptied, and the
     * read starts again in buf. */
    bool restart;
    uint32_t plen; /* the piece under way: plen bytes at poff */
    uint64_t poff;
    bool large;
};

/* Bytes waiting in pipe fd; -errno. */
static ssize_t rs_bytes(int fd)
{
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 ? (ssize_t)n : -errno;
}

int io_pipe_drain(int fd)
{
    uint8_t sink[16384];
    for (;;) {
        ssize_t n = rs_bytes(fd);
        if (n <= 0)
            return (int)n;
        int r = pipe_read_n(fd, sink, (size_t)n < sizeof(sink) ? (size_t)n : sizeof(sink));
        if (r)
            return r;
    }
}

/* The first n bytes in the pipe are the read's first n: into buf, and the
 * read goes on there; whatever follows them in the pipe is dropped. */
static int rs_to_mem(struct rs_state *s, size_t n)
{
    ssize_t have = rs_bytes(s->rd);
    if (have < 0 || (size_t)have < n)
        return -EIO;
    int r = pipe_read_n(s->rd, s->buf, n);
    s->piped = false;
    return r ? r : io_pipe_drain(s->rd);
}

/* A piece failed: the pipe holds what it held before (or nothing, and
 * the read goes on in buf). */
static int rs_clean(struct rs_state *s)
{
    if (!s->piped)
        return 0;
    ssize_t have = rs_bytes(s->rd);
    if (have >= 0 && (size_t)have == s->done)
        return 0;
    return s->done ? rs_to_mem(s, s->done) : io_pipe_drain(s->rd);
}

/* Writes what came in memory (d, n) after the data in the pipe: n bytes
 * that came whole (a short frame). All of it, or the read goes on in
 * buf. */
static int rs_append(struct rs_state *s, const uint8_t *d, size_t n)
{
    size_t put = 0;
    while (put < n) {
        ssize_t k = write(s->wr, d + put, n - put);
        if (k > 0) {
            put += (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        break; /* full (the pipe is O_NONBLOCK) or broken */
    }
    if (put == n)
        return 0;
    /* d may be buf + done itself (the direct buffer): the bytes read back
     * from the pipe to there are the same ones. */
    int r = rs_to_mem(s, s->done + put);
    if (!r)
        memmove(s->buf + s->done + put, d + put, n - put);
    return r;
}

/* A file_op_fn: one READ_ANDX of the piece under way, its data appended
 * to what the read has (pipe or buf). */
static ssize_t rs_op(struct smb1_tree *t, uint16_t fid, uint64_t epoch, void *arg)
{
    struct rs_state *s = arg;
    struct io_req io = {s->buf + s->done, NULL, s->plen, s->poff, s->large};
    struct msg_out m;
    struct msg_in resp;
    int r = read_build(&m, fid, epoch, &io);
    if (r)
        return r;
    /* Its data into the pipe while the read is there (msg_in.ext_piped
     * says how much went). */
    m.rx_to_pipe = s->piped;
    m.rx_pipe = s->wr;
    r = conn_call(t->conn, t, &m, &resp, CONN_FID);
    if (r) {
        int c = rs_clean(s);
        return c ? c : r;
    }
    const uint8_t *d;
    uint32_t n;
    r = file_read_decode(&resp, io.len, &d, &n);
    size_t piped = resp.ext_len ? resp.ext_piped : 0;
    if (r) {
        int c = rs_clean(s);
        msg_in_free(&resp);
        return c ? c : r;
    }
    ssize_t have = s->piped ? rs_bytes(s->rd) : 0;
    if (s->piped && (have < 0 || (size_t)have != s->done + piped)) {
        s->piped = false;
        s->restart = true;
        msg_in_free(&resp);
        return io_pipe_drain(s->rd);
    }
    if (!s->piped) {
        if (n && d != io.rbuf)
            memcpy(io.rbuf, d, n);
    } else if (piped < n) {
        /* The split data is in buf at its place (d is buf + done): what
         * came whole is appended to the pipe, else the pipe filled. */
        r = piped ? rs_to_mem(s, s->done + piped) : rs_append(s, d, n);
    }
    msg_in_free(&resp);
    return r ? r : (ssize_t)n;
}

ssize_t io_read_pipe(struct smb1_file *f, int rd, int wr, void *buf, size_t len, uint64_t off,
                     bool *in_pipe)
{
    *in_pipe = false;
    struct conn_params p;
    conn_get_params(f->t->conn, &p);
    ssize_t have = rs_bytes(rd);
    if (len == 0 || len > chunk_size(&p, false) || !conn_splice_ok(f->t->conn) || have != 0)
        return io_read(f, buf, len, off);
    if (!p.large_files && (off > 0xFFFFFFFFu || len > 0xFFFFFFFFu - off))
        return -EFBIG;
    struct rs_state s = {.rd = rd, .wr = wr, .buf = buf, .piped = true, .large = p.large_files};
    /* Two pieces where one would ask for a multiple of 64 KiB. */
    size_t first = read_len_unsafe((uint32_t)len) ? len - 0x1000 : len;
    size_t pieces[2] = {first, len - first};
    ssize_t r = 0;
    for (int i = 0; i < 2 && pieces[i] && r >= 0; i++) {
        s.plen = (uint32_t)pieces[i];
        s.poff = off + s.done;
        r = file_call(f, rs_op, &s);
        if (r >= 0 && s.restart)
            return io_read(f, buf, len, off);
        if (r >= 0)
            s.done += (size_t)r;
        if (r >= 0 && (size_t)r < pieces[i])
            break;
    }
    if (r >= 0 && s.done < len) {
        /* Short: the end of the file, or a server that ignores
         * MaxCountHigh; io_read tells them apart (its read_plain and
         * read_at_end) and reads on into buf. */
        ssize_t more = io_read(f, (uint8_t *)buf + s.done, len - s.done, off + s.done);
        if (more > 0 && s.piped)
            r = rs_to_mem(&s, s.done);
        r = more < 0 ? more : r;
        if (more > 0)
            s.done += (size_t)more;
    }
    if (r < 0) {
        io_pipe_drain(rd);
        return r;
    }
    *in_pipe = s.piped;
    return (ssize_t)s.done;
}
