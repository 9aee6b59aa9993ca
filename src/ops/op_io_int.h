/* What the reads and writes of op_io.c share with the write-behind of
 * op_wbehind.c. */
#ifndef SMBFUSE_OP_IO_INT_H
#define SMBFUSE_OP_IO_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "session/conn.h"
#include "smb1.h"

/* One READ_ANDX or WRITE_ANDX. */
struct io_req {
    uint8_t *rbuf;
    const uint8_t *wbuf;
    uint32_t len;
    uint64_t off;
    bool large; /* CAP_LARGE_FILES: the OffsetHigh word forms */
};

/* A READ_ANDX for io on fid of connection epoch (pinned to it). */
int read_build(struct msg_out *m, uint16_t fid, uint64_t epoch, const struct io_req *io);
/* A read larger than 64 KiB whose MaxCount (the low 16 bits) would be 0:
 * never sent as one READ_ANDX (a server that ignores MaxCountHigh would
 * answer 0 bytes, the end of the file). */
bool read_len_unsafe(uint32_t len);

/* The most one READ_ANDX (write false) or WRITE_ANDX carries. */
uint32_t chunk_size(const struct conn_params *p, bool write);
/* A WRITE_ANDX of io on fid of connection epoch (pinned to it); its data
 * is the last io->len bytes written into m. */
int write_build(struct msg_out *m, uint16_t fid, uint64_t epoch, const struct io_req *io);
/* write_build into buf (msg_out_init_buf); io->wbuf NULL: the data is
 * left for the caller to fill in (the last io->len bytes of m). */
int write_build_buf(struct msg_out *m, uint16_t fid, uint64_t epoch, const struct io_req *io,
                    uint8_t *buf, size_t bufcap);
/* write_build of a WRITE_ANDX whose io->len bytes of data wait in the pipe
 * fd: only the header is in m (msg_out.tail_len, spliced by the send). */
int write_build_tail(struct msg_out *m, uint16_t fid, uint64_t epoch, const struct io_req *io,
                     int fd);
/* write_build of a WRITE_ANDX whose data is not all in m: its first head
 * bytes are (left for the caller to fill: the last head bytes of m), the
 * other io->len - head are at tail, memory that must stay until the
 * request is answered (msg_out.tail_mem, gathered by the send). */
int write_build_lent(struct msg_out *m, uint16_t fid, uint64_t epoch, const struct io_req *io,
                     uint32_t head, const uint8_t *tail);
/* The write verdict. A server that answers everything but writes (a
 * smbd stuck on its disk for writes) costs a write its whole bound, and
 * the kernel sends one write or fsync of a file at a time: programs
 * queued behind it would each wait a bound after another. So once a write
 * went its whole bound unanswered (a WRITE_ANDX of io_write or of
 * write-behind: io_wstall_note with -ETIMEDOUT), writes on the tree that
 * start within a probe interval (a quarter of the bound, 1 to 10 s) fail
 * at once with ETIMEDOUT (io_wstall_on), as the connection's stall
 * verdict (session/conn_stall.c) does for every request when nothing at
 * all is answered; a write answered (io_wstall_note with 0) lifts it.
 * Kept in the tree's ops_tree.wstall_ms. */
bool io_wstall_on(struct smb1_file *f);
void io_wstall_note(struct smb1_file *f, int r);
/* A file_op_fn: one WRITE_ANDX of the io_req arg, and its reply. */
ssize_t write_op(struct smb1_tree *t, uint16_t fid, uint64_t epoch, void *arg);

#endif
