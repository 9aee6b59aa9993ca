/* MD5 of several independent messages at once (RFC 1321).
 *
 * SMB1 signing hashes every byte of every reply with MD5, whose blocks
 * depend on each other: one message cannot go faster than one core's
 * latency-bound chain. Independent messages can. This computes up to
 * MD5_MULTI_LANES of them side by side in the lanes of vector registers
 * (AVX2 when the CPU has it), which is several times the throughput of one
 * scalar MD5 per core. It is used to verify a batch of replies that arrived
 * together (mux.c); a lone message is cheaper through OpenSSL.
 *
 * Messages are given as pieces (iovec), so the signed form of a reply (key,
 * header, sequence number, rest) is hashed without building a copy.
 */
#ifndef SMBFUSE_MD5_MULTI_H
#define SMBFUSE_MD5_MULTI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define MD5_MULTI_LANES 8

struct md5_multi_job {
    const struct iovec *iov; /* the message, piece by piece */
    int iovcnt;
    uint8_t digest[16]; /* out */
};

/* True when the vector path is worth using on this CPU (x86-64 with
 * AVX2); callers hash lone messages with OpenSSL either way. */
bool md5_multi_fast(void);
/* Computes the digest of each of the n jobs (any n, any lengths). Never
 * fails: it needs no memory beyond the stack. */
void md5_multi(struct md5_multi_job *jobs, size_t n);
/* The same with the baseline vector code only (what a CPU without AVX2
 * runs), so that tests check both on any machine. */
void md5_multi_portable(struct md5_multi_job *jobs, size_t n);
/* The same with the AVX2 code even where AVX-512VL would be taken (the
 * baseline where the CPU has no AVX2): for tests, which check every path
 * this CPU can run. */
void md5_multi_avx2(struct md5_multi_job *jobs, size_t n);

#endif
