/* SMB1 signing.
 *
 * Invariants:
 * - The MAC covers the SMB exactly as sent except the 8-byte signature
 *   field, for which the sequence number (LE32, then 4 zero bytes) is hashed
 *   instead. sign_mac() feeds the three pieces to MD5 separately, so the
 *   received frame is never written to: verification may run in any thread
 *   holding a read-only view of a reply.
 * - Comparison is constant time (CRYPTO_memcmp), and any failure to compute
 *   a MAC fails verification: signing fails closed.
 * - Which sequence number a frame must carry is the dispatcher's business
 *   (mux.c); this file only computes and checks.
 */
#include "link/sign.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "link/md5_multi.h"
#include "wire/smb1_proto.h"
#include "wire/wire.h"

/* MS-CIFS 3.2.5.3: the signing session key is at most 16 bytes, zero padded. */
#define SIGN_SESSION_KEY_LEN 16

static pthread_once_t md5_once = PTHREAD_ONCE_INIT;
static EVP_MD *md5_md; /* written once under md5_once, read-only afterwards */

static void md5_fetch(void)
{
    md5_md = EVP_MD_fetch(NULL, "MD5", NULL);
}

int sign_key_init(struct sign_key *k, const uint8_t *session_key, size_t sk_len,
                  const uint8_t *resp, size_t resp_len)
{
    memset(k, 0, sizeof(*k));
    if (!session_key || sk_len == 0 || sk_len > SIGN_SESSION_KEY_LEN ||
        resp_len > SIGN_MAX_KEY - SIGN_SESSION_KEY_LEN || (resp_len && !resp))
        return -EINVAL;
    memcpy(k->key, session_key, sk_len);
    if (resp_len)
        memcpy(k->key + SIGN_SESSION_KEY_LEN, resp, resp_len);
    k->len = SIGN_SESSION_KEY_LEN + resp_len;
    return 0;
}

void sign_key_wipe(struct sign_key *k)
{
    OPENSSL_cleanse(k, sizeof(*k));
}

/* Returns 0 or -EIO (no MD5, or a frame too short to hold a header). */
static int compute(const struct sign_key *k, const uint8_t *smb, size_t len, const uint8_t *ext,
                   size_t ext_len, uint32_t seq, uint8_t mac[8])
{
    uint8_t seqbuf[SMB1_SIG_LEN] = {0};
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    const size_t sig_end = SMB1_HDR_SIGNATURE + SMB1_SIG_LEN;
    memset(mac, 0, 8);
    if (len < SMB1_HDR_LEN || k->len == 0 || k->len > SIGN_MAX_KEY)
        return -EIO;
    pthread_once(&md5_once, md5_fetch);
    if (!md5_md)
        return -EIO;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return -EIO;
    wire_st32(seqbuf, seq);
    int ok = EVP_DigestInit_ex(ctx, md5_md, NULL) && EVP_DigestUpdate(ctx, k->key, k->len) &&
             EVP_DigestUpdate(ctx, smb, SMB1_HDR_SIGNATURE) &&
             EVP_DigestUpdate(ctx, seqbuf, sizeof(seqbuf)) &&
             EVP_DigestUpdate(ctx, smb + sig_end, len - sig_end) &&
             (!ext_len || EVP_DigestUpdate(ctx, ext, ext_len)) &&
             EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen >= 8;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return -EIO;
    memcpy(mac, md, 8);
    OPENSSL_cleanse(md, sizeof(md));
    return 0;
}

void sign_mac(const struct sign_key *k, const uint8_t *smb, size_t len, uint32_t seq,
              uint8_t mac[8])
{
    (void)compute(k, smb, len, NULL, 0, seq, mac);
}

void sign_apply(const struct sign_key *k, uint8_t *smb, size_t len, uint32_t seq)
{
    uint8_t mac[8];
    if (len < SMB1_HDR_LEN)
        return;
    wire_st16(smb + SMB1_HDR_FLAGS2,
              (uint16_t)(wire_le16(smb + SMB1_HDR_FLAGS2) | SMB1_FLAGS2_SECURITY_SIGNATURE));
    /* On failure mac is zero: the peer rejects the frame, which is the
     * closed way to fail. */
    (void)compute(k, smb, len, NULL, 0, seq, mac);
    memcpy(smb + SMB1_HDR_SIGNATURE, mac, sizeof(mac));
}

bool sign_verify(const struct sign_key *k, const uint8_t *smb, size_t len, uint32_t seq)
{
    return sign_verify_split(k, smb, len, NULL, 0, seq);
}

bool sign_verify_split(const struct sign_key *k, const uint8_t *smb, size_t len, const uint8_t *ext,
                       size_t ext_len, uint32_t seq)
{
    uint8_t mac[8];
    if ((ext_len && !ext) || compute(k, smb, len, ext, ext_len, seq, mac) != 0)
        return false;
    return CRYPTO_memcmp(mac, smb + SMB1_HDR_SIGNATURE, sizeof(mac)) == 0;
}

/* The MACs of n frames, into c[i].mac, in md5_multi passes; c[i].ok says
 * whether one was computed (not for a frame that cannot hold a header). */
static void macs_many(const struct sign_key *k, struct sign_check *c, size_t n)
{
    enum { CHUNK = 2 * MD5_MULTI_LANES };
    const size_t sig_end = SMB1_HDR_SIGNATURE + SMB1_SIG_LEN;
    while (n > 0) {
        struct md5_multi_job jobs[CHUNK];
        struct iovec iov[CHUNK][5];
        uint8_t seqbuf[CHUNK][SMB1_SIG_LEN];
        size_t idx[CHUNK];
        size_t take = n < CHUNK ? n : CHUNK, nj = 0;
        for (size_t i = 0; i < take; i++) {
            c[i].ok = false;
            memset(c[i].mac, 0, sizeof(c[i].mac));
            if (c[i].len < SMB1_HDR_LEN || k->len == 0 || k->len > SIGN_MAX_KEY ||
                (c[i].ext_len && !c[i].ext))
                continue;
            memset(seqbuf[nj], 0, SMB1_SIG_LEN);
            wire_st32(seqbuf[nj], c[i].seq);
            iov[nj][0] = (struct iovec){.iov_base = (void *)k->key, .iov_len = k->len};
            iov[nj][1] = (struct iovec){.iov_base = c[i].smb, .iov_len = SMB1_HDR_SIGNATURE};
            iov[nj][2] = (struct iovec){.iov_base = seqbuf[nj], .iov_len = SMB1_SIG_LEN};
            iov[nj][3] =
                (struct iovec){.iov_base = c[i].smb + sig_end, .iov_len = c[i].len - sig_end};
            jobs[nj].iov = iov[nj];
            jobs[nj].iovcnt = 4;
            if (c[i].ext_len)
                iov[nj][jobs[nj].iovcnt++] =
                    (struct iovec){.iov_base = (void *)c[i].ext, .iov_len = c[i].ext_len};
            idx[nj++] = i;
        }
        md5_multi(jobs, nj);
        for (size_t j = 0; j < nj; j++) {
            memcpy(c[idx[j]].mac, jobs[j].digest, sizeof(c[idx[j]].mac));
            c[idx[j]].ok = true;
            OPENSSL_cleanse(jobs[j].digest, sizeof(jobs[j].digest));
        }
        c += take;
        n -= take;
    }
}

void sign_verify_many(const struct sign_key *k, struct sign_check *c, size_t n)
{
    macs_many(k, c, n);
    for (size_t i = 0; i < n; i++)
        c[i].ok = c[i].ok && CRYPTO_memcmp(c[i].mac, c[i].smb + SMB1_HDR_SIGNATURE, 8) == 0;
}

void sign_apply_many(const struct sign_key *k, struct sign_check *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (c[i].len >= SMB1_HDR_LEN)
            wire_st16(c[i].smb + SMB1_HDR_FLAGS2, (uint16_t)(wire_le16(c[i].smb + SMB1_HDR_FLAGS2) |
                                                             SMB1_FLAGS2_SECURITY_SIGNATURE));
    macs_many(k, c, n);
    /* A frame too short is left alone, as sign_apply does. */
    for (size_t i = 0; i < n; i++)
        if (c[i].ok)
            memcpy(c[i].smb + SMB1_HDR_SIGNATURE, c[i].mac, 8);
}
