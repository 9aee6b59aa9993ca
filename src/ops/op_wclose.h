/* WRITE_ANDX + CLOSE in one AndX chain (op_wclose.c); the builder and
 * the reply decoder, for the unit tests. */
#ifndef SMBFUSE_OP_WCLOSE_H
#define SMBFUSE_OP_WCLOSE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

#include "link/msg.h"
#include "ops/op_file.h"
#include "wire/smb1_proto.h"

/* WRITE_ANDX with OffsetHigh (14 words), then CLOSE (3 words). */
#define WCLOSE_OVERHEAD (SMB1_HDR_LEN + 1 + 28 + 2 + 4 + 1 + 6 + 2 + 8)

/* A set of the file's attributes sent just before the chain, pipelined
 * with it: one wait for both (op_wclose.c). */
struct wclose_set {
    uint16_t level;     /* SMB_SET_FILE_BASIC_INFO, SMB_SET_FILE_UNIX_BASIC; 0: none */
    const uint8_t *rec; /* the level's record (wclose_send's own: NULL after) */
    uint32_t len;
    const char *path; /* SET_PATH_INFORMATION of path; NULL: SET_FILE_INFORMATION of the FID */
    int err;          /* out: the set's result (0 before it was sent) */
    bool sent;        /* out: its reply came */
};

struct wclose_req {
    const uint8_t *buf;
    uint32_t len;
    uint64_t off;
    uint32_t utime; /* the CLOSE's LastTimeModified */
    int close_err;  /* out: the CLOSE's status, once the write went through */
    uint16_t fid;   /* out: the FID the chain closed */
    uint64_t epoch;
    struct wclose_set *set; /* NULL: none */
};

/* 0 or -ENOMEM/-EMSGSIZE. */
int wclose_build(struct msg_out *m, uint16_t fid, uint64_t epoch, const struct wclose_req *q);
/* Bytes written, with q->close_err the CLOSE's result; or -errno when the
 * write failed (and the FID is still open). */
ssize_t wclose_parse(const struct msg_in *resp, struct wclose_req *q);
/* The chain of f, with set before it in the same wait when set->level
 * is not 0. mtime as smb1_write_close: on the CLOSE where it can carry it
 * (a POSIX open), else on the handle: as set itself when set has no level
 * (set->level then says SMB_SET_FILE_BASIC_INFO), else in a request of its
 * own before. 0 or the write's or the CLOSE's failure; the set's result
 * is set->err (sent: its reply came; the chain went whatever it said). */
int wclose_send(struct smb1_file *f, const void *buf, size_t len, uint64_t off,
                const struct timespec *mtime, struct wclose_set *set);

#endif
