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

/* What the user asked for with sec= (mount.cifs's names). The order is the
 * strength: a response weaker than the one configured is never sent. */
enum smb1_sec {
    SMB1_SEC_NONE = 0,    /* anonymous / guest: empty responses */
    SMB1_SEC_LANMAN,      /* LM response only (old devices; only when asked) */
    SMB1_SEC_NTLM,        /* NTLMv1 (+ LM response field = NT response) */
    SMB1_SEC_NTLMV2,      /* NTLMv2 + LMv2 (default) */
    SMB1_SEC_NTLMSSP,     /* NTLMSSP in SPNEGO with NTLMv2, ESS, KEY_EXCH */
};

/* The password itself is never kept: ntlm_creds_init() turns it
 * into the two hashes at start-up (the caller then wipes the password), and
 * a reconnect authenticates from the hashes. */
struct ntlm_creds {
    char *user;               /* malloc'd; "" for anonymous */
    char *domain;             /* malloc'd; "" when none */
    char *workstation;        /* malloc'd; our NetBIOS name */
    uint8_t nt_hash[16];      /* NTOWFv1 */
    uint8_t lm_hash[16];      /* LMOWFv1, valid when have_lm */
    bool have_lm;             /* false when the password is over 14 OEM bytes */
};

/* Copies the names and computes the hashes. Returns 0 or -ENOMEM / -EIO. */
int ntlm_creds_init(struct ntlm_creds *c, const char *user, const char *domain,
                    const char *workstation, const char *password);
/* Wipes the hashes and frees the names. */
void ntlm_creds_free(struct ntlm_creds *c);

/* Hashes and primitives. Return 0, -EINVAL (LM: password longer than 14
 * OEM bytes), -ENOMEM or -EIO (crypto library failure). */
int ntlm_lmowf_v1(const char *password, uint8_t out[16]);
int ntlm_ntowf_v1(const char *password, uint8_t out[16]);
int ntlm_ntowf_v2(const uint8_t ntowf_v1[16], const char *user, const char *domain,
                  uint8_t out[16]);
int ntlm_md4(const void *p, size_t n, uint8_t out[16]);
int ntlm_md5(const void *p, size_t n, uint8_t out[16]);
int ntlm_hmac_md5(const uint8_t *key, size_t klen, const void *p, size_t n, uint8_t out[16]);
int ntlm_rc4(const uint8_t key[16], const uint8_t *in, size_t n, uint8_t *out);
/* DESL (MS-NLMP 6): 24-byte response from a 16-byte hash and 8 bytes. */
int ntlm_desl(const uint8_t key[16], const uint8_t data[8], uint8_t out[24]);
int ntlm_random(uint8_t *p, size_t n);

/* NTLMv2 (MS-NLMP 3.3.2). temp = 0x0101 Z(6) time cc Z(4) avpairs Z(4).
 * nt_resp receives NTProofStr || temp (malloc'd, *nt_len set), lm_resp the
 * LMv2 response, key the SessionBaseKey. */
int ntlm_v2_responses(const uint8_t ntowf_v2[16], const uint8_t server_chal[8],
                      const uint8_t client_chal[8], uint64_t filetime,
                      const uint8_t *avpairs, size_t av_len,
                      uint8_t **nt_resp, size_t *nt_len, uint8_t lm_resp[24],
                      uint8_t session_base_key[16]);

/* Result of a non-extended SESSION_SETUP authentication (MS-CIFS 3.2.4.2.4). */
struct ntlm_plain_auth {
    uint8_t lm_resp[24];      /* OEMPassword field */
    size_t lm_len;            /* 0 or 24 */
    uint8_t *nt_resp;         /* UnicodePassword field (malloc'd) */
    size_t nt_len;
    /* Signing (MS-CIFS 3.2.5.3 / DIGEST 7.2): session key and the response
     * appended after it. */
    uint8_t mac_session_key[16];
    const uint8_t *mac_resp;  /* points at lm_resp or nt_resp */
    size_t mac_resp_len;
};

/* Computes the responses for sec (LANMAN, NTLM or NTLMV2; NONE gives empty
 * responses) against an 8-byte challenge. domain_hint is the domain the
 * server named in its negotiate reply (used for NTLMv2's AV pairs).
 * Returns 0, -EINVAL (e.g. LM with a password over 14 characters), -ENOMEM,
 * -EIO. */
int ntlm_plain_auth(enum smb1_sec sec, const struct ntlm_creds *c,
                    const uint8_t challenge[8], const char *domain_hint,
                    uint64_t now_filetime, struct ntlm_plain_auth *out);
/* If the server answers with SMB_SETUP_USE_LANMAN_KEY for an LM logon,
 * switches the MAC key to the LM session key (MS-CIFS 3.2.5.3). */
int ntlm_plain_use_lanman_key(struct ntlm_plain_auth *a, const struct ntlm_creds *c);
void ntlm_plain_auth_wipe(struct ntlm_plain_auth *a);

/* Overwrites memory in a way the compiler keeps. */
void ntlm_wipe(void *p, size_t n);

#endif
