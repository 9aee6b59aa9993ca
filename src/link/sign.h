/* SMB1 message signing (MS-CIFS 3.1.4.1, 3.1.5.1; MS-SMB 3.1.4.1).
 *
 * MAC = MD5(key || M') truncated to 8 bytes, where M' is the SMB with the
 * 8-byte signature field replaced by the sequence number (LE32 + 4 zero
 * bytes). The key is SigningSessionKey || SigningChallengeResponse. Verify
 * never modifies the received frame and compares in constant time.
 */
#ifndef SMBFUSE_SIGN_H
#define SMBFUSE_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIGN_MAX_KEY (16 + 1024)

struct sign_key {
    uint8_t key[SIGN_MAX_KEY]; /* session key then challenge response */
    size_t len;
};

/* Builds the MAC key from a session key (1..16 bytes, zero padded to 16 as
 * MS-CIFS 3.2.5.3 stores it) and the challenge response that was sent
 * (resp_len 0 for extended security). Returns 0 or -EINVAL. */
int sign_key_init(struct sign_key *k, const uint8_t *session_key, size_t sk_len,
                  const uint8_t *resp, size_t resp_len);
void sign_key_wipe(struct sign_key *k);
/* Computes the MAC of smb (len bytes, len >= 32) as if its signature field
 * held seq. Does not modify smb. */
void sign_mac(const struct sign_key *k, const uint8_t *smb, size_t len, uint32_t seq,
              uint8_t mac[8]);
/* Sets FLAGS2_SECURITY_SIGNATURE and writes the MAC into smb. */
void sign_apply(const struct sign_key *k, uint8_t *smb, size_t len, uint32_t seq);
/* True when smb carries the right MAC for seq. */
bool sign_verify(const struct sign_key *k, const uint8_t *smb, size_t len, uint32_t seq);
/* sign_verify of the SMB smb[0..len) followed by ext[0..ext_len) (a reply
 * received in two places, msg_in.ext). */
bool sign_verify_split(const struct sign_key *k, const uint8_t *smb, size_t len, const uint8_t *ext,
                       size_t ext_len, uint32_t seq);

/* One frame of a batch for sign_verify_many / sign_apply_many. */
struct sign_check {
    uint8_t *smb; /* written to only by sign_apply_many */
    size_t len;
    /* Verify only: the rest of the SMB after smb[0..len), or NULL. */
    const uint8_t *ext;
    size_t ext_len;
    uint32_t seq;
    bool ok;        /* out (verify): as sign_verify would answer */
    uint8_t mac[8]; /* out: the MAC computed for seq */
};
/* Checks n frames at once with the multi-lane MD5 (md5_multi.h): the same
 * answers as n calls of sign_verify, for less CPU when there are several. */
void sign_verify_many(const struct sign_key *k, struct sign_check *c, size_t n);
/* Signs n frames at once: the same bytes as n calls of sign_apply. */
void sign_apply_many(const struct sign_key *k, struct sign_check *c, size_t n);

#endif
