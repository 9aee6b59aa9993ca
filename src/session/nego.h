/* The NEGOTIATE reply (MS-CIFS 2.2.4.52.2, MS-SMB 2.2.4.5.2) as session.c
 * uses it: decoded apart from the round trip so that the decoder can be
 * fuzzed on its own (tests/fuzz/fuzz_session_replies.c). */
#ifndef SMBFUSE_NEGO_H
#define SMBFUSE_NEGO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link/msg.h"
#include "wire/wire.h"

struct nego {
    uint8_t secmode;
    uint16_t max_mpx;
    uint32_t max_buffer;
    uint32_t session_key;
    uint32_t caps;
    int16_t tz;
    bool ext; /* the reply is the extended form */
    bool unicode;
    uint8_t challenge[8];
    char domain[64], server[64];
    bool sign;          /* decided: sign this connection */
    bool sign_required; /* by our policy or the server's */
    bool sign_sticky;   /* required because an earlier connection signed */
    bool key_exch;      /* NTLMSSP: the AUTHENTICATE carried a random session key */
    bool placeholder;   /* the final SESSION_SETUP reply had "BSRSPYL " */
};

/* Decodes an NT LM 0.12 NEGOTIATE reply into ng; with extended security
 * *blob (malloc'd, NULL when empty) receives the SPNEGO hint. Refuses
 * plaintext passwords and share-level security. Returns 0,
 * -EPROTONOSUPPORT, -EIO (malformed) or -ENOMEM, with a reason in why.
 * The signing decision is the caller's. */
int nego_decode(const struct msg_in *in, struct nego *ng, uint8_t **blob, size_t *blob_len,
                char *why, size_t why_len);
/* The security blob of an extended SESSION_SETUP_ANDX reply (MS-SMB
 * 2.2.4.6.2): *p points into in's bytes. Returns 0 or -EIO when the
 * SecurityBlobLength runs past them. */
int nego_setup_blob(const struct msg_in *in, const uint8_t **p, size_t *n);
/* Reads a NUL-terminated string (UTF-16LE when unicode, else OEM/ASCII)
 * from r into out (n bytes, cut to fit); a missing string leaves out
 * empty. */
void nego_read_string(struct wire_reader *r, bool unicode, char *out, size_t n);

#endif
