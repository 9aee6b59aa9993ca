/* SPNEGO (RFC 4178, MS-SPNG) DER wrapping for NTLMSSP tokens. Parsers are
 * strict DER walkers over untrusted input: every length is checked against
 * what encloses it, lengths take at most 4 bytes, the indefinite form and
 * multi-byte tags are refused, and nothing may follow the token. */
#ifndef SMBFUSE_SPNEGO_H
#define SMBFUSE_SPNEGO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum spnego_state {
    SPNEGO_ABSENT = -1,
    SPNEGO_ACCEPT_COMPLETED = 0,
    SPNEGO_ACCEPT_INCOMPLETE = 1,
    SPNEGO_REJECT = 2,
    SPNEGO_REQUEST_MIC = 3,
};

/* GSS InitialContextToken with negTokenInit{mechTypes=[NTLMSSP], mechToken}.
 * Returns 0, -EINVAL (token over 16 MiB), -ENOMEM. */
int spnego_wrap_init(const uint8_t *token, size_t n, uint8_t **out, size_t *out_len);
/* negTokenResp{responseToken[, mechListMIC]}; a field with length 0 is
 * left out. Returns 0, -EINVAL, -ENOMEM. */
int spnego_wrap_resp(const uint8_t *token, size_t n, const uint8_t *mic, size_t mic_len,
                     uint8_t **out, size_t *out_len);

/* The DER MechTypeList that spnego_wrap_init sends (SEQUENCE { NTLMSSP }):
 * what a mechListMIC signs. */
void spnego_mech_list(const uint8_t **p, size_t *n);

struct spnego_resp {
    int neg_state; /* enum spnego_state */
    bool has_mech;
    bool mech_is_ntlmssp;
    const uint8_t *token; /* aliases the input; NULL if absent */
    size_t token_len;
    const uint8_t *mic;
    size_t mic_len;
};

/* Parses a negTokenResp (the server's replies): fields in tag order, each
 * at most once, negState one of the four values. Returns 0 or -EINVAL. */
int spnego_parse_resp(const uint8_t *p, size_t n, struct spnego_resp *out);
/* Parses the negotiate reply's NegTokenInit2 hint (an empty blob is fine:
 * *offers_ntlmssp = true); *offers_ntlmssp tells whether mechTypes lists
 * NTLMSSP. Returns 0 or -EINVAL. */
int spnego_parse_hint(const uint8_t *p, size_t n, bool *offers_ntlmssp);

#endif
