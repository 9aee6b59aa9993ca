/* TRANSACTION, TRANSACTION2 and NT_TRANSACT: the request builder and the
 * reassembly of replies that come in several fragments (MS-CIFS 2.2.4.33,
 * 2.2.4.46, 2.2.4.62; 3.2.5.x).
 *
 * A reply fragment names where its parameter and data bytes sit in the
 * frame (offset, count) and where they go in the whole (displacement,
 * total). Every one of these is checked: against the frame, against the
 * totals (which may shrink, never grow), against what we asked for, and
 * against the bytes already received (no overlap). The reply is complete
 * when exactly the totals have arrived.
 *
 * Requests must fit one message (no secondary requests): what we send is
 * small, and a larger one fails with -EMSGSIZE.
 */
#ifndef SMBFUSE_TRANS_H
#define SMBFUSE_TRANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "msg.h"

#define TRANS_MAX_SETUP 8
/* Bound on the fragments of one reply: a server that keeps sending empty
 * fragments must not keep us forever. */
#define TRANS_MAX_FRAGS 4096

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
};

/* Builds the primary request into m (which the caller then sends).
 * Returns 0, -ENOMEM, -EMSGSIZE when it exceeds max_buffer, -EINVAL. */
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
