/* SMB1 messages: the request builder and the reply validator.
 *
 * An outgoing message is built in one buffer that starts with 4 bytes of
 * room for the transport header (NBT or direct TCP), then the 32-byte SMB
 * header, the parameter block (WordCount + words) and the data block
 * (ByteCount + bytes). The dispatcher fills UID, MID and the signature.
 * Offsets that go on the wire (DataOffset, ParameterOffset, ...) are measured
 * from the SMB header: use msg_offset().
 *
 * An incoming frame is validated by msg_in_parse() before anything reads it:
 * magic, header length, WordCount and ByteCount against the frame, the
 * REPLY flag. Only then may words and bytes be read, through wire readers.
 */
#ifndef SMBFUSE_MSG_H
#define SMBFUSE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/ntstatus.h"
#include "wire/wire.h"

#define MSG_XPORT_HDR 4

struct msg_out {
    uint8_t *buf; /* MSG_XPORT_HDR + SMB; owned */
    size_t cap;
    struct wire_writer w; /* over the whole of buf */
    size_t wc_pos;        /* absolute position of WordCount */
    size_t bc_pos;        /* absolute position of ByteCount */
    uint8_t cmd;
    /* Non-zero: the connection epoch this request belongs to (it names a
     * FID or search handle of that epoch). conn_call refuses to send it on
     * any other connection: -ECONNRESET, so the caller reopens first. */
    uint64_t want_epoch;
    /* A frame whose last tail_len bytes are not in buf but wait in the
     * pipe tail_fd (a WRITE_ANDX's data that FUSE spliced to us): the
     * send splices them to the socket after buf, no copy in user space
     * (mux_start; unsigned only). tail_sent: how many it took from the
     * pipe, also when the send failed. tail_len 0: none. */
    int tail_fd;
    uint32_t tail_len, tail_sent;
    /* Or, tail_mem set: those tail_len bytes are in memory there, a
     * buffer the caller lent (a FUSE request's, smb1_write_lent), and the
     * send gathers them behind buf (writev: no copy in user space; a run
     * of such frames goes in one call, unsigned and unobserved only). */
    const uint8_t *tail_mem;
    /* A READ_ANDX whose reply's data may be received straight into rx_dst
     * (rx_cap bytes, the caller's buffer) instead of a receive buffer: the
     * reply then comes split (msg_in.ext). NULL: as any other reply. The
     * dispatcher never writes it once the request's wait has returned. */
    uint8_t *rx_dst;
    uint32_t rx_cap;
    /* With rx_dst, on a connection that does not sign: the data may be
     * spliced from the socket into the pipe rx_pipe instead (never
     * through user space); the reply then says how much of it went there
     * (msg_in.ext_piped). rx_to_pipe false: rx_pipe means nothing. */
    bool rx_to_pipe;
    int rx_pipe;
};

/* Starts a request for cmd with room for cap bytes of SMB (header
 * included). Flags2 is left 0: the connection fills it when sending.
 * Returns 0 or -ENOMEM. */
int msg_out_init(struct msg_out *m, uint8_t cmd, size_t cap);
/* msg_out_init into buf, a malloc'd buffer of bufcap bytes used again
 * (owned from now on: freed when too small, or on failure); NULL: a new
 * one. */
int msg_out_init_buf(struct msg_out *m, uint8_t cmd, size_t cap, uint8_t *buf, size_t bufcap);
void msg_out_free(struct msg_out *m);
void msg_set_tid(struct msg_out *m, uint16_t tid);
void msg_set_pid(struct msg_out *m, uint32_t pid);
void msg_words_begin(struct msg_out *m);
void msg_words_end(struct msg_out *m); /* patches WordCount */
void msg_bytes_begin(struct msg_out *m);
void msg_bytes_end(struct msg_out *m); /* patches ByteCount */
/* Offset of the next byte from the start of the SMB header. */
static inline size_t msg_offset(const struct msg_out *m)
{
    return m->w.pos - MSG_XPORT_HDR;
}
/* Pads to an alignment relative to the SMB header (Unicode strings: 2). */
void msg_align(struct msg_out *m, size_t align);
/* Writes a UTF-8 string as NUL-terminated UTF-16LE (no alignment pad). */
int msg_put_utf16z(struct msg_out *m, const char *s);
/* -EMSGSIZE if the message overflowed its buffer, else 0. */
int msg_out_error(const struct msg_out *m);
/* Pointer to and length of the SMB (without transport header). */
static inline uint8_t *msg_smb(struct msg_out *m)
{
    return m->buf + MSG_XPORT_HDR;
}
static inline size_t msg_smb_len(const struct msg_out *m)
{
    return m->w.pos - MSG_XPORT_HDR;
}

struct msg_in {
    uint8_t *frame; /* the SMB, starting at \xFFSMB; owned (free with msg_in_free) */
    size_t len;
    struct rxpool *pool; /* frame came from it, and msg_in_free gives it back; or NULL */
    uint8_t cmd;
    uint32_t status; /* NTSTATUS; DOS errors are folded in with NT_STATUS_DOS() */
    uint8_t flags;
    uint16_t flags2;
    uint16_t tid;
    uint32_t pid;
    uint16_t uid;
    uint16_t mid;
    uint8_t wct;
    size_t words_off; /* offset of the first word from the SMB header */
    uint16_t bcc;
    size_t bytes_off; /* offset of the first data byte from the SMB header */
    /* A split reply (msg_out.rx_dst): the SMB is frame[0..len) followed
     * by ext[0..ext_len), the READ_ANDX data received straight into the
     * request's buffer (not owned). The readers below see frame only. */
    const uint8_t *ext;
    size_t ext_len;
    /* Of the split data, the first ext_piped bytes are not in ext but in
     * the request's pipe (msg_out.rx_to_pipe); the rest is in ext at
     * that same offset (the pipe filled before all of it went). */
    size_t ext_piped;
    /* The connection epoch that answered (set by conn_call; 0 when not
     * known): a FID or search ID in the reply belongs to it. */
    uint64_t epoch;
};

enum msg_kind {
    MSG_REPLY,        /* a response to one of our requests */
    MSG_OPLOCK_BREAK, /* server-initiated LOCKING_ANDX request */
};

/* Validates frame (len bytes) and fills in; does not take ownership of
 * frame. Returns the message kind (>= 0) or -EIO when the frame is
 * malformed; *why (if not NULL) then names the check that fired. An error
 * reply may carry WordCount 0 and ByteCount 0 whatever its command. */
int msg_in_parse(struct msg_in *in, uint8_t *frame, size_t len, const char **why);
/* msg_in_parse of the SMB frame[0..len) followed by ext[0..ext_len) (a
 * split reply): ByteCount is checked against both. */
int msg_in_parse_split(struct msg_in *in, uint8_t *frame, size_t len, const uint8_t *ext,
                       size_t ext_len, const char **why);
/* Readers over the parameter words, the data bytes, and the whole SMB (for
 * fields that are absolute offsets from the header). */
void msg_in_words(const struct msg_in *in, struct wire_reader *r);
void msg_in_bytes(const struct msg_in *in, struct wire_reader *r);
void msg_in_smb(const struct msg_in *in, struct wire_reader *r);
void msg_in_free(struct msg_in *in);
/* Command name for logs ("READ_ANDX"). */
const char *msg_cmd_name(uint8_t cmd);

#endif
