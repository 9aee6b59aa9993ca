/* DCE/RPC connection-oriented PDUs over an SMB named pipe (C706 12.6;
 * MS-RPCE 2.2.2; pipes as in MS-CIFS 2.2.5.x TRANS_TRANSACT_NMPIPE): open
 * the pipe on an IPC$ tree, bind to one interface with NDR, call
 * operations. The transport of srvsvc (share lists) and spoolss (print
 * jobs).
 *
 * A request larger than the negotiated fragment goes out in fragments:
 * all but the last with WRITE_ANDX, the last with TransactNmPipe, whose
 * reply starts the response. A response in several fragments is joined;
 * what the pipe still holds after the transaction (STATUS_BUFFER_OVERFLOW)
 * is read with READ_ANDX. A fault PDU ends the call with -EPROTO and its
 * status. Every length in a PDU is checked against what arrived. */
#ifndef SMBFUSE_DCERPC_H
#define SMBFUSE_DCERPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smb1.h"

#define DCERPC_HDR_LEN     16
#define DCERPC_REQ_HDR_LEN 24 /* header + alloc_hint, p_cont_id, opnum */
#define DCERPC_MAX_FRAG    4280
#define DCERPC_MAX_REPLY   (1u << 20) /* bound on one whole response stub */

#define DCERPC_PTYPE_REQUEST  0
#define DCERPC_PTYPE_RESPONSE 2
#define DCERPC_PTYPE_FAULT    3
#define DCERPC_PTYPE_BIND     11
#define DCERPC_PTYPE_BIND_ACK 12
#define DCERPC_PTYPE_BIND_NAK 13
#define DCERPC_FIRST_FRAG     0x01
#define DCERPC_LAST_FRAG      0x02

/* An interface: UUID in wire form (first three fields little-endian) and
 * version. */
struct dcerpc_syntax {
    uint8_t uuid[16];
    uint16_t vmajor, vminor;
};

struct dcerpc_pipe {
    struct smb1_tree *t;
    uint16_t fid;
    uint64_t epoch;
    uint32_t call_id;  /* of the last call */
    uint16_t max_xmit; /* largest fragment we may send */
};

/* Opens \name (e.g. "srvsvc", "spoolss") on the IPC$ tree ipc and binds
 * to iface. Returns 0, -EPROTONOSUPPORT (the server refused the binding),
 * -ENOENT (no such pipe), -EIO (malformed answer) or -errno. */
int dcerpc_open(struct smb1_tree *ipc, const char *name, const struct dcerpc_syntax *iface,
                struct dcerpc_pipe *out);
/* Calls operation opnum with the NDR stub. On 0, *out (malloc'd) holds
 * the joined response stub. -EPROTO: the server answered with a fault,
 * its status in *fault (if not NULL). -EIO: malformed; or -errno. */
int dcerpc_call(struct dcerpc_pipe *p, uint16_t opnum, const uint8_t *stub, size_t len,
                uint8_t **out, size_t *out_len, uint32_t *fault);
void dcerpc_close(struct dcerpc_pipe *p);

/* ---- the codec, also for tests and fuzzing ---- */

/* A bind PDU for iface (72 bytes). Returns the length, or 0 if cap is
 * too small. */
size_t dcerpc_build_bind(uint8_t *buf, size_t cap, uint32_t call_id,
                         const struct dcerpc_syntax *iface);
/* Checks a bind_ack for call_id: the first context accepted. Sets
 * *max_xmit (the server's max_recv_frag, capped to DCERPC_MAX_FRAG).
 * Returns 0, -EPROTONOSUPPORT (bind_nak or rejected) or -EIO. */
int dcerpc_parse_bind_ack(const uint8_t *pdu, size_t len, uint32_t call_id, uint16_t *max_xmit);
/* Header of one request fragment (24 bytes) into buf. */
void dcerpc_put_request_header(uint8_t *buf, uint8_t flags, uint16_t frag_len, uint32_t call_id,
                               uint32_t alloc_hint, uint16_t opnum);
/* Joins the stubs of the response fragments for call_id in buf (len
 * bytes) into a malloc'd *stub. Returns 1 when the last fragment is in,
 * 0 when more bytes are needed, -EPROTO for a fault (status in *fault),
 * -EIO for anything malformed or too large. */
int dcerpc_stubs(const uint8_t *buf, size_t len, uint32_t call_id, uint8_t **stub, size_t *stub_len,
                 uint32_t *fault);

#endif
