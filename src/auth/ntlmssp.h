/* NTLMSSP (MS-NLMP 2.2.1, 3.1.5.1): NEGOTIATE, CHALLENGE, AUTHENTICATE for a
 * client that always answers with NTLMv2 (never v1, whatever the server
 * offers), with key exchange when the server agrees to it. It refuses a
 * CHALLENGE that is malformed or does not offer Unicode. */
#ifndef SMBFUSE_NTLMSSP_H
#define SMBFUSE_NTLMSSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/ntlm.h"

#define NTLMSSP_NEGOTIATE_UNICODE                  0x00000001u
#define NTLMSSP_NEGOTIATE_OEM                      0x00000002u
#define NTLMSSP_REQUEST_TARGET                     0x00000004u
#define NTLMSSP_NEGOTIATE_SIGN                     0x00000010u
#define NTLMSSP_NEGOTIATE_SEAL                     0x00000020u
#define NTLMSSP_NEGOTIATE_LM_KEY                   0x00000080u
#define NTLMSSP_NEGOTIATE_NTLM                     0x00000200u
#define NTLMSSP_ANONYMOUS                          0x00000800u
#define NTLMSSP_NEGOTIATE_ALWAYS_SIGN              0x00008000u
#define NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY 0x00080000u
#define NTLMSSP_NEGOTIATE_TARGET_INFO              0x00800000u
#define NTLMSSP_NEGOTIATE_VERSION                  0x02000000u
#define NTLMSSP_NEGOTIATE_128                      0x20000000u
#define NTLMSSP_NEGOTIATE_KEY_EXCH                 0x40000000u
#define NTLMSSP_NEGOTIATE_56                       0x80000000u

/* AV_PAIR ids (MS-NLMP 2.2.2.1) and the MsvAvFlags bit for a MIC. */
#define NTLMSSP_AV_EOL              0x0000
#define NTLMSSP_AV_NB_COMPUTER_NAME 0x0001
#define NTLMSSP_AV_NB_DOMAIN_NAME   0x0002
#define NTLMSSP_AV_FLAGS            0x0006
#define NTLMSSP_AV_TIMESTAMP        0x0007
#define NTLMSSP_AVFLAG_MIC          0x00000002u

/* Byte offsets in an AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3). */
#define NTLMSSP_AUTH_MIC_OFFSET 72
#define NTLMSSP_AUTH_HEADER_LEN 72 /* through Version, without MIC */

/* A parsed CHALLENGE_MESSAGE; pointers alias the input buffer. */
struct ntlmssp_challenge {
    uint32_t flags;
    uint8_t server_challenge[8];
    const uint8_t *target_name;
    size_t target_name_len;
    const uint8_t *target_info; /* AV pairs, through MsvAvEOL; NULL if none */
    size_t target_info_len;
    bool has_timestamp; /* MsvAvTimestamp present */
    uint64_t timestamp;
};

/* Parses and validates a CHALLENGE_MESSAGE (signature, type, every
 * length/offset pair within the message and clear of the fixed header, a
 * Unicode target name of even length, AV pair list well-formed and ended by
 * MsvAvEOL, MsvAvTimestamp 8 bytes and MsvAvFlags 4 bytes). MaxLen fields are
 * ignored, as Samba does. The 32-byte form without Reserved/TargetInfo that
 * some servers send when TARGET_INFO is clear is accepted.
 * Returns 0 or -EINVAL. */
int ntlmssp_parse_challenge(const uint8_t *p, size_t n, struct ntlmssp_challenge *out);

struct ntlmssp_client {
    const struct ntlm_creds *creds; /* borrowed */
    bool anonymous;
    uint8_t *negotiate; /* our NEGOTIATE_MESSAGE, kept for the MIC */
    size_t negotiate_len;
    uint8_t exported_session_key[16];
    bool have_key;  /* never for anonymous */
    bool sent_mic;  /* the AUTHENTICATE carried a MIC */
    uint32_t flags; /* flags of the AUTHENTICATE we sent */
};

/* Builds the NEGOTIATE_MESSAGE (malloc'd *out). anonymous: empty
 * credentials (sec=none). Returns 0 or -ENOMEM. */
int ntlmssp_client_negotiate(struct ntlmssp_client *c, const struct ntlm_creds *creds,
                             bool anonymous, uint8_t **out, size_t *out_len);
/* Parses the CHALLENGE and builds the AUTHENTICATE_MESSAGE: NTLMv2; when the
 * server sent MsvAvTimestamp, that time and LmChallengeResponse Z(24), plus
 * a MIC (MsvAvFlags 0x2 added) when extended session security and 128-bit
 * keys were agreed (what the mechListMIC below needs); otherwise
 * now_filetime and LMv2. With
 * KEY_EXCH a random ExportedSessionKey goes RC4-encrypted under the
 * SessionBaseKey. Anonymous: empty responses and names, no key kept.
 * Returns 0, -EINVAL (bad challenge, or no NEGOTIATE sent yet), -ENOMEM,
 * -EIO. */
int ntlmssp_client_authenticate(struct ntlmssp_client *c, const uint8_t *chal, size_t chal_len,
                                uint64_t now_filetime, uint8_t **out, size_t *out_len);
/* SPNEGO's mechListMIC (RFC 4178 5, MS-SPNG 3.1.5.1): once an AUTHENTICATE
 * carried a MIC (sent_mic), servers such as Samba require the client to
 * send a mechListMIC over the DER mechTypes list (spnego_mech_list()) in the
 * same negTokenResp, and send their own back. Both are NTLMSSP message
 * signatures with extended session security (MS-NLMP 3.4.4.2): version 1,
 * HMAC-MD5 over sequence number 0 and the message with the direction's
 * signing key, RC4-sealed with its sealing key under KEY_EXCH.
 * sign: out receives the 16-byte signature; returns 0, -EINVAL (no key),
 * -EIO. check: returns 0 when mic is the server's valid signature of msg,
 * -EACCES when it is not, -EINVAL (no key, wrong length), -EIO. */
int ntlmssp_client_sign_mech_list(const struct ntlmssp_client *c, const uint8_t *msg, size_t n,
                                  uint8_t out[16]);
int ntlmssp_client_check_mech_list(const struct ntlmssp_client *c, const uint8_t *msg, size_t n,
                                   const uint8_t *mic, size_t mic_len);
/* Wipes keys and frees buffers. */
void ntlmssp_client_free(struct ntlmssp_client *c);

#endif
