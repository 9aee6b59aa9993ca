/* NTLM one-way functions, responses and session keys (MS-NLMP 3.3, 3.4.5),
 * and the responses for a non-extended SMB1 SESSION_SETUP.
 *
 * Everything is computed from the hashes kept in ntlm_creds; libntlm serves
 * as an independent oracle in the unit tests. MD4, MD5, HMAC-MD5, DES, RC4 and
 * the random numbers come from OpenSSL (MD4, DES and RC4 through its legacy
 * provider, loaded once into a private library context). Every buffer that
 * holds a secret is wiped before it is freed or goes out of scope.
 */
#ifndef SMBFUSE_NTLM_H
#define SMBFUSE_NTLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smb1.h" /* enum smb1_sec */

/* The password itself is never kept: ntlm_creds_init() turns it
 * into the two hashes at start-up (the caller then wipes the password), and
 * a reconnect authenticates from the hashes. */
struct ntlm_creds {
    char *user;          /* malloc'd; "" for anonymous */
    char *domain;        /* malloc'd; "" when none */
    char *workstation;   /* malloc'd; our NetBIOS name */
    uint8_t nt_hash[16]; /* NTOWFv1 */
    uint8_t lm_hash[16]; /* LMOWFv1, valid when have_lm */
    bool have_lm;        /* false when the password is over 14 OEM bytes */
};

/* Copies the names (NULL counts as "") and computes the hashes; a NULL
 * password counts as "". The LM hash only with with_lm (sec=lanman: it is
 * as weak as the password, so never kept otherwise); have_lm is false
 * without it, or when the password has no LM hash (over 14 bytes, or not
 * plain ASCII: we carry no OEM code page).
 * Returns 0 or -ENOMEM / -EINVAL (password not valid UTF-8) / -EIO. */
int ntlm_creds_init(struct ntlm_creds *c, const char *user, const char *domain,
                    const char *workstation, const char *password, bool with_lm);
/* Wipes the hashes and frees the names. Safe on a zeroed struct. */
void ntlm_creds_free(struct ntlm_creds *c);

/* Hashes and primitives. Return 0, -EINVAL (LM: password longer than 14
 * OEM bytes or not ASCII; a string that is not UTF-8), -ENOMEM or -EIO
 * (crypto library failure). */
int ntlm_lmowf_v1(const char *password, uint8_t out[16]);
int ntlm_ntowf_v1(const char *password, uint8_t out[16]);
int ntlm_ntowf_v2(const uint8_t ntowf_v1[16], const char *user, const char *domain,
                  uint8_t out[16]);
int ntlm_md4(const void *p, size_t n, uint8_t out[16]);
int ntlm_md5(const void *p, size_t n, uint8_t out[16]);
int ntlm_hmac_md5(const uint8_t *key, size_t klen, const void *p, size_t n, uint8_t out[16]);

/* One piece of a message hashed in several parts. */
struct ntlm_iov {
    const void *p;
    size_t n;
};
/* HMAC-MD5 over the concatenation of nv pieces (the MIC covers three
 * messages that live in different buffers). */
int ntlm_hmac_md5_v(const uint8_t *key, size_t klen, const struct ntlm_iov *v, size_t nv,
                    uint8_t out[16]);
int ntlm_rc4(const uint8_t key[16], const uint8_t *in, size_t n, uint8_t *out);
/* DESL (MS-NLMP 6): 24-byte response from a 16-byte hash and 8 bytes. */
int ntlm_desl(const uint8_t key[16], const uint8_t data[8], uint8_t out[24]);
int ntlm_random(uint8_t *p, size_t n);

/* UTF-8 to a malloc'd UTF-16LE string (no terminator; *out is non-NULL even
 * for ""), upper-cased with Unicode simple case mapping when upper is set
 * (NTOWFv2 upper-cases the user name). Returns 0, -EINVAL (not UTF-8),
 * -ENOMEM. */
int ntlm_utf16le(const char *s, bool upper, uint8_t **out, size_t *out_len);

/* NTLMv2 (MS-NLMP 3.3.2). temp = 0x0101 Z(6) time cc Z(4) avpairs Z(4).
 * nt_resp receives NTProofStr || temp (malloc'd, *nt_len set), lm_resp the
 * LMv2 response, key the SessionBaseKey. avpairs must already end with
 * MsvAvEOL. */
int ntlm_v2_responses(const uint8_t ntowf_v2[16], const uint8_t server_chal[8],
                      const uint8_t client_chal[8], uint64_t filetime, const uint8_t *avpairs,
                      size_t av_len, uint8_t **nt_resp, size_t *nt_len, uint8_t lm_resp[24],
                      uint8_t session_base_key[16]);

/* Result of a non-extended SESSION_SETUP authentication (MS-CIFS 3.2.4.2.4).
 * mac_resp points into this struct or at nt_resp: never copy the struct. */
struct ntlm_plain_auth {
    uint8_t lm_resp[24]; /* OEMPassword field */
    size_t lm_len;       /* 0 or 24 */
    uint8_t *nt_resp;    /* UnicodePassword field (malloc'd) */
    size_t nt_len;
    /* Signing (MS-CIFS 3.2.5.3 / DIGEST 7.2): session key and the response
     * appended after it. mac_resp_len 0: nothing to sign with (anonymous). */
    uint8_t mac_session_key[16];
    const uint8_t *mac_resp; /* points at lm_resp or nt_resp */
    size_t mac_resp_len;
    bool lm_resp_is_lm; /* lm_resp holds a real LM (not LMv2) response */
};

/* Computes the responses for sec (LANMAN, NTLM or NTLMV2; NONE gives empty
 * responses) against an 8-byte challenge. domain_hint is the domain the
 * server named in its negotiate reply (used for NTLMv2's AV pairs; NULL or
 * "" for none).
 *
 * Signing keys, following Samba's client (source3/libsmb/cliconnect.c):
 *  - LANMAN: LMOWFv1[0..7] || Z(8) with the 24-byte LM response (Samba's
 *    LANMAN_ONLY build pairs the LM key with the LM response);
 *  - NTLM: MD4(NTOWFv1) with the 24-byte NT response (sent in both the
 *    OEM and the Unicode field: no LM response unless sec=lanman);
 *  - NTLMV2: the v2 SessionBaseKey with the whole NTLMv2 response.
 * Returns 0, -EINVAL (LANMAN without an LM hash; sec not one of the four),
 * -ENOMEM, -EIO. */
int ntlm_plain_auth(enum smb1_sec sec, const struct ntlm_creds *c, const uint8_t challenge[8],
                    const char *domain_hint, uint64_t now_filetime, struct ntlm_plain_auth *out);
/* If the server answers with SMB_SETUP_USE_LANMAN_KEY, MS-CIFS 3.2.5.3 says
 * the LM session key replaces the NT one, but only when a real LM response
 * (not LMv2, not the NT response repeated) was sent; the LM key is then
 * paired with that LM response. Otherwise nothing changes. Returns 0. */
int ntlm_plain_use_lanman_key(struct ntlm_plain_auth *a, const struct ntlm_creds *c);
void ntlm_plain_auth_wipe(struct ntlm_plain_auth *a);

/* Overwrites memory in a way the compiler keeps. */
void ntlm_wipe(void *p, size_t n);

#endif
