/* Transport framing: NetBIOS session service (RFC 1002 4.3) on port 139 and
 * direct TCP (MS-SMB 2.1) on 445. Both put 4 bytes before each SMB; NBT
 * additionally has a session request and keepalives. */
#ifndef SMBFUSE_NBT_H
#define SMBFUSE_NBT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NBT_MAX_NBT_FRAME    0x1FFFF  /* RFC 1002 4.3.1: 17-bit length */
#define NBT_MAX_DIRECT_FRAME 0xFFFFFF /* 24-bit length */

/* Connects to host:port with a timeout in ms. Returns fd or -errno
 * (-ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, -ENOENT for an unknown host,
 * -EAGAIN when name resolution failed for now). */
int nbt_tcp_connect(const char *host, uint16_t port, int timeout_ms);

/* On port 139: sends the SESSION REQUEST and reads the answer. called may be
 * NULL: then "*SMBSERVER" is tried, then (host not numeric) the first label
 * of host. On a negative answer with a named called name, the other form is
 * tried on a fresh connection, so *fd may be replaced (it is -1 if that
 * connect fails). calling NULL: our host name. Returns 0, -ECONNREFUSED
 * (negative response), -EIO (other answer), -EINVAL (a name longer than 15
 * chars), or a transport error (-ETIMEDOUT, -ECONNRESET, ...). */
int nbt_session_request(int *fd, const char *host, uint16_t port, int timeout_ms,
                        const char *called, const char *calling);

/* Writes the 4-byte frame header into hdr for an SMB of len bytes. */
void nbt_put_header(uint8_t hdr[4], size_t len);

/* Reads one frame: skips keepalives, rejects frames longer than cap and
 * non-message types with -EIO (an error string in *why). On success
 * returns 0 with *frame malloc'd (the SMB, no header) and *len set.
 * -ECONNRESET on EOF. */
int nbt_read_frame(int fd, size_t cap, uint8_t **frame, size_t *len, const char **why);
/* The same, taking a frame of RXPOOL_MIN bytes or more from pool (when not
 * NULL): *pooled says whether it did, and the frame then goes back with
 * rxpool_put. */
struct rxpool;
int nbt_read_frame_pool(int fd, size_t cap, struct rxpool *pool, uint8_t **frame, size_t *len,
                        bool *pooled, const char **why);
/* nbt_read_frame_pool for a peer that must not trickle: the wait for a
 * frame's first byte is unbounded, but once it has come, the whole frame
 * must be there within grace_ms plus len / min_rate seconds (min_rate in
 * bytes per second), else -ETIMEDOUT ("trickles" in *why). grace_ms 0:
 * no bound, as nbt_read_frame_pool. */
int nbt_read_frame_paced(int fd, size_t cap, struct rxpool *pool, int grace_ms, unsigned min_rate,
                         uint8_t **frame, size_t *len, bool *pooled, const char **why);
/* nbt_read_frame_paced in two steps, for a reader that puts the body
 * where its first bytes say (mux_reader.c: READ_ANDX data straight into
 * the request's buffer). The head: skips keepalives, checks the type and
 * length against cap, and gives the SMB's length (> 0) and the deadline
 * (monotonic ms, -1: none) by which all of it must have come. */
int nbt_read_head_paced(int fd, size_t cap, int grace_ms, unsigned min_rate, size_t *len,
                        int64_t *deadline, const char **why);
/* Reads n bytes of the body by deadline (-1: none); -ETIMEDOUT when it
 * trickles ("trickles" in *why), -ECONNRESET on EOF. */
int nbt_read_body(int fd, void *p, size_t n, int64_t deadline, const char **why);
/* nbt_read_body into a pipe: n bytes of the body spliced from the socket
 * into pipe_wr (its data never in user space), by deadline. *moved: how
 * many went, also on failure. -ENOSPC: the pipe is full before all of it
 * went (the rest is still in the socket; the caller reads it as it
 * will); -ETIMEDOUT when it trickles, -ECONNRESET on EOF. */
int nbt_splice_body(int fd, int pipe_wr, size_t n, int64_t deadline, size_t *moved,
                    const char **why);
/* Parses a 4-byte header: type and length. Returns 0 or -EIO. */
int nbt_parse_header(const uint8_t hdr[4], uint8_t *type, size_t *len);

/* Writes all bytes (retrying short writes and EINTR). Returns 0 or -errno. */
int nbt_write_all(int fd, const void *p, size_t n);
/* Reads exactly n bytes; -ECONNRESET on EOF. */
int nbt_read_all(int fd, void *p, size_t n);

#endif
