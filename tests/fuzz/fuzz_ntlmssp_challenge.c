/* libFuzzer: the CHALLENGE parser and the AUTHENTICATE built from whatever
 * it accepts (AV pairs echoed, MIC over the input). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/ntlm.h"
#include "auth/ntlmssp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size heap copy, so any overread is caught by ASan. */
    uint8_t *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);

    struct ntlmssp_challenge ch;
    if (ntlmssp_parse_challenge(p, size, &ch) == 0) {
        if (ch.target_name_len &&
            (ch.target_name < p || ch.target_name + ch.target_name_len > p + size))
            __builtin_trap();
        if (ch.target_info_len &&
            (ch.target_info < p || ch.target_info + ch.target_info_len > p + size))
            __builtin_trap();
    }

    struct ntlm_creds cr;
    if (ntlm_creds_init(&cr, "User", "Domain", "WS", "Password", true) == 0) {
        for (int anon = 0; anon < 2; anon++) {
            struct ntlmssp_client c;
            uint8_t *neg = NULL, *auth = NULL;
            size_t nl, al;
            if (ntlmssp_client_negotiate(&c, &cr, anon, &neg, &nl) == 0 &&
                ntlmssp_client_authenticate(&c, p, size, 1, &auth, &al) == 0) {
                if (al < 72 || (anon && c.have_key))
                    __builtin_trap();
                uint8_t mic[16];
                int rc = ntlmssp_client_sign_mech_list(&c, p, size, mic);
                if (c.sent_mic && rc != 0)
                    __builtin_trap();
                if (size >= 16)
                    (void)ntlmssp_client_check_mech_list(&c, p + 16, size - 16, p, 16);
            }
            free(auth);
            free(neg);
            ntlmssp_client_free(&c);
        }
        ntlm_creds_free(&cr);
    }
    free(p);
    return 0;
}
