/* NTLMSSP (MS-NLMP 2.2.1, 3.1.5.1): NEGOTIATE, CHALLENGE, AUTHENTICATE for a
 * client that always uses NTLMv2 with extended session security and key
 * exchange. It refuses a CHALLENGE that does not allow that. */
#ifndef SMBFUSE_NTLMSSP_H
#define SMBFUSE_NTLMSSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntlm.h"

#define NTLMSSP_NEGOTIATE_UNICODE       0x00000001u
#define NTLMSSP_NEGOTIATE_OEM           0x00000002u
#define NTLMSSP_REQUEST_TARGET          0x00000004u
#define NTLMSSP_NEGOTIATE_SIGN          0x00000010u
#define NTLMSSP_NEGOTIATE_SEAL          0x00000020u
#define NTLMSSP_NEGOTIATE_LM_KEY        0x00000080u
#define NTLMSSP_NEGOTIATE_NTLM          0x00000200u
#define NTLMSSP_ANONYMOUS               0x00000800u
#define NTLMSSP_NEGOTIATE_ALWAYS_SIGN   0x00008000u
#define NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY 0x00080000u
#define NTLMSSP_NEGOTIATE_TARGET_INFO   0x00800000u
#define NTLMSSP_NEGOTIATE_VERSION       0x02000000u
#define NTLMSSP_NEGOTIATE_128           0x20000000u
#define NTLMSSP_NEGOTIATE_KEY_EXCH      0x40000000u
#define NTLMSSP_NEGOTIATE_56            0x80000000u

/* A parsed CHALLENGE_MESSAGE; pointers alias the input buffer. */
struct ntlmssp_challenge {
    uint32_t flags;
    uint8_t server_challenge[8];
    const uint8_t *target_name;
    size_t target_name_len;
    const uint8_t *target_info;   /* AV pairs */
    size_t target_info_len;
    bool has_timestamp;           /* MsvAvTimestamp present */
    uint64_t timestamp;
};

/* Parses and validates a CHALLENGE_MESSAGE (signature, type, every
 * length/offset pair within the message, AV pair list well-formed and
 * ended by MsvAvEOL). Returns 0 or -EINVAL. */
int ntlmssp_parse_challenge(const uint8_t *p, size_t n, struct ntlmssp_challenge *out);

struct ntlmssp_client {
    const struct ntlm_creds *creds;   /* borrowed */
    bool anonymous;
    uint8_t *negotiate;           /* our NEGOTIATE_MESSAGE, kept for the MIC */
    size_t negotiate_len;
    uint8_t exported_session_key[16];
    bool have_key;
};

/* Builds the NEGOTIATE_MESSAGE (malloc'd *out). anonymous: empty
 * credentials (sec=none). Returns 0 or -ENOMEM. */
int ntlmssp_client_negotiate(struct ntlmssp_client *c, const struct ntlm_creds *creds,
                             bool anonymous, uint8_t **out, size_t *out_len);
/* Parses the CHALLENGE and builds the AUTHENTICATE_MESSAGE (NTLMv2, with a
 * MIC when the server sent a timestamp, with KEY_EXCH). now_filetime is
 * used when the server sent no timestamp. Returns 0, -EINVAL (bad or too
 * weak challenge), -ENOMEM, -EIO. */
int ntlmssp_client_authenticate(struct ntlmssp_client *c, const uint8_t *chal, size_t chal_len,
                                uint64_t now_filetime, uint8_t **out, size_t *out_len);
/* Wipes keys and frees buffers. */
void ntlmssp_client_free(struct ntlmssp_client *c);

#endif
