/* WRITE_ANDX + CLOSE in one AndX chain (op_wclose.c); the builder and
 * the reply decoder, for the unit tests. */
#ifndef SMBFUSE_OP_WCLOSE_H
#define SMBFUSE_OP_WCLOSE_H

#include <stdint.h>
#include <sys/types.h>

#include "link/msg.h"
#include "ops/op_file.h"
#include "wire/smb1_proto.h"

/* WRITE_ANDX with OffsetHigh (14 words), then CLOSE (3 words). */
#define WCLOSE_OVERHEAD (SMB1_HDR_LEN + 1 + 28 + 2 + 4 + 1 + 6 + 2 + 8)

struct wclose_req {
    const uint8_t *buf;
    uint32_t len;
    uint64_t off;
    uint32_t utime; /* the CLOSE's LastTimeModified */
    int close_err;  /* out: the CLOSE's status, once the write went through */
    uint16_t fid;   /* out: the FID the chain closed */
    uint64_t epoch;
};

/* 0 or -ENOMEM/-EMSGSIZE. */
int wclose_build(struct msg_out *m, uint16_t fid, uint64_t epoch, const struct wclose_req *q);
/* Bytes written, with q->close_err the CLOSE's result; or -errno when the
 * write failed (and the FID is still open). */
ssize_t wclose_parse(const struct msg_in *resp, struct wclose_req *q);

#endif
