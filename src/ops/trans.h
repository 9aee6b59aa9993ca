/* TRANSACTION, TRANSACTION2 and NT_TRANSACT: the request builder and the
 * reassembly of replies that come in several fragments (MS-CIFS 2.2.4.33,
 * 2.2.4.34, 2.2.4.46, 2.2.4.47, 2.2.4.62, 2.2.4.63; 3.2.4.1.5, 3.2.5.1.4).
 *
 * A request larger than the server's MaxBufferSize is split: the primary
 * request carries the setup words and as much of the parameter block as
 * fits, then data; TRANSACTION*_SECONDARY messages carry the rest, each
 * with its count, offset and displacement, parameter bytes before data
 * bytes, every message at most MaxBufferSize long. The server answers the
 * primary with an interim response (no words, no bytes, success) before
 * the secondaries are sent, or with an error that ends the transaction (a
 * success instead is -EIO: the server ran a truncated request).
 * Secondaries get no reply; the final response (in fragments, as below)
 * comes on the primary's MID. conn_call_parts / mux_call_parts carry the
 * exchange; the signing numbers are described in mux.c.
 *
 * A reply fragment names where its parameter and data bytes sit in the
 * frame (offset, count) and where they go in the whole (displacement,
 * total). Every one of these is checked: against the frame, against the
 * totals (which may shrink, never grow), against what we asked for, and
 * against the bytes already received (no overlap). The reply is complete
 * when exactly the totals have arrived.
 *
 * Limits: TRANSACTION and TRANSACTION2 count each block in 16 bits, so a
 * request or reply block is at most 65535 bytes (an EA list included);
 * NT_TRANSACT blocks are limited here to TRANS_NT_MAX_TOTAL.
 */
#ifndef SMBFUSE_TRANS_H
#define SMBFUSE_TRANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session/conn.h"
#include "link/msg.h"

#define TRANS_MAX_SETUP 8
/* Bound on the fragments of one reply: a server that keeps sending empty
 * fragments must not keep us forever. */
#define TRANS_MAX_FRAGS 4096
/* Bound on the messages of one request (the primary and its secondaries). */
#define TRANS_MAX_PARTS 1024
/* Bound on an NT_TRANSACT request block (the protocol allows 32 bits). */
#define TRANS_NT_MAX_TOTAL (16u << 20)

struct trans_req {
    uint8_t cmd;       /* SMB1_COM_TRANSACTION, _TRANSACTION2 or NT_TRANSACT */
    uint16_t function; /* NT_TRANSACT Function */
    const char *name;  /* TRANSACTION: e.g. "\\PIPE\\LANMAN" */
    const uint16_t *setup;
    uint8_t setup_count;
    const void *param;
    uint32_t param_len;
    const void *data;
    uint32_t data_len;
    uint32_t max_param; /* largest reply parameter block we accept */
    uint32_t max_data;  /* largest reply data block we accept */
    uint64_t epoch;     /* non-zero: pin to this connection epoch (FID requests) */
};

struct trans_resp {
    uint32_t status; /* of the reply, unmapped */
    uint8_t *param;  /* malloc'd (NULL when empty) */
    uint32_t param_len;
    uint8_t *data;
    uint32_t data_len;
    uint16_t setup[TRANS_MAX_SETUP];
    uint8_t setup_count;
    uint64_t epoch; /* the connection epoch that answered: a FID or SID in it belongs to it */
};

/* The messages of one request: m[0] the primary, m[1..n) its secondaries. */
struct trans_msgs {
    struct msg_out *m;
    size_t n;
};

/* Builds every message of rq, none longer than max_buffer (0: no limit,
 * one message). The primary carries rq->epoch as its want_epoch. Returns
 * 0, -ENOMEM, -EINVAL, or -EMSGSIZE when a block exceeds its protocol
 * limit or max_buffer is too small to carry the request in at most
 * TRANS_MAX_PARTS messages. */
int trans_build_msgs(const struct trans_req *rq, bool unicode, uint32_t max_buffer,
                     struct trans_msgs *out);
void trans_msgs_free(struct trans_msgs *tm);
/* Builds rq as a single message into m; -EMSGSIZE when it needs more. */
int trans_build(const struct trans_req *rq, bool unicode, uint32_t max_buffer, struct msg_out *m);

/* One reply fragment's description as read from its words. */
struct trans_frag {
    uint32_t total_param, total_data;
    uint32_t param_count, param_off, param_disp;
    uint32_t data_count, data_off, data_disp;
    uint8_t setup_count;
    uint16_t setup[TRANS_MAX_SETUP];
};

/* Reads the fragment description of a reply to cmd from words (the
 * parameter words of the reply). Returns 0 or -EIO. */
int trans_frag_decode(uint8_t cmd, struct wire_reader *words, uint8_t wct, struct trans_frag *fr);

struct trans_range {
    uint32_t start, end;
};

struct trans_reasm {
    uint32_t max_param, max_data; /* limits: larger totals are rejected */
    bool started;
    uint32_t total_param, total_data;
    uint8_t *param, *data; /* sized by the first fragment's totals */
    uint32_t got_param, got_data;
    struct trans_range *pr, *dr; /* received ranges */
    size_t npr, ndr, capr, capd;
    unsigned frames;
    uint16_t setup[TRANS_MAX_SETUP];
    uint8_t setup_count;
};

void trans_reasm_init(struct trans_reasm *ra, uint32_t max_param, uint32_t max_data);
/* Adds one fragment whose description is fr and whose bytes are in smb
 * (the whole SMB message, smb_len bytes; offsets are from its start).
 * Returns 1 when more fragments are due, 0 when complete, -EIO when the
 * fragment is inconsistent, -ENOMEM. */
int trans_reasm_add(struct trans_reasm *ra, const struct trans_frag *fr, const uint8_t *smb,
                    size_t smb_len);
/* Moves the assembled blocks into rs (param/data become rs's). */
void trans_reasm_take(struct trans_reasm *ra, struct trans_resp *rs);
void trans_reasm_free(struct trans_reasm *ra);

/* Sends rq on t and assembles the reply into rs. Returns 0 (the reply's
 * status is then in rs->status, with whatever blocks came with it) or the
 * errors of conn_call, -EIO for a malformed reply, -EMSGSIZE. */
int trans_call(struct smb1_tree *t, const struct trans_req *rq, struct trans_resp *rs,
               unsigned flags);
/* TRANSACTION2 with one setup word (the subcommand). */
int trans2_call(struct smb1_tree *t, uint16_t subcmd, const void *param, uint32_t param_len,
                const void *data, uint32_t data_len, uint32_t max_param, uint32_t max_data,
                struct trans_resp *rs, unsigned flags);
/* trans2_call for a request that names a FID or search handle of epoch:
 * never sent on another connection (-ECONNRESET instead). */
int trans2_call_at(struct smb1_tree *t, uint16_t subcmd, const void *param, uint32_t param_len,
                   const void *data, uint32_t data_len, uint32_t max_param, uint32_t max_data,
                   struct trans_resp *rs, unsigned flags, uint64_t epoch);
void trans_resp_free(struct trans_resp *rs);

/* True for a status that carries no reply blocks we can use (an error, as
 * opposed to success or a warning such as BUFFER_OVERFLOW). */
bool trans_status_is_error(uint32_t status);

#endif
