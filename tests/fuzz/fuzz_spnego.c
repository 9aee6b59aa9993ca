/* libFuzzer: negTokenResp and NegTokenInit2 hint parsers; whatever parses
 * must point inside the input, and a token re-wrapped parses back the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/spnego.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const uint8_t *p, size_t n, const uint8_t *x, size_t xn)
{
    if (xn && (x < p || x > p + n || xn > (size_t)(p + n - x)))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);

    struct spnego_resp r;
    if (spnego_parse_resp(p, size, &r) == 0) {
        inside(p, size, r.token, r.token_len);
        inside(p, size, r.mic, r.mic_len);
        if (r.neg_state < SPNEGO_ABSENT || r.neg_state > SPNEGO_REQUEST_MIC)
            __builtin_trap();
        uint8_t *w;
        size_t wl;
        if (spnego_wrap_resp(r.token, r.token_len, r.mic, r.mic_len, &w, &wl) == 0) {
            struct spnego_resp back;
            if (spnego_parse_resp(w, wl, &back) != 0 || back.token_len != r.token_len ||
                back.mic_len != r.mic_len ||
                (r.token_len && memcmp(back.token, r.token, r.token_len) != 0))
                __builtin_trap();
            free(w);
        }
    }
    bool ntlm;
    (void)spnego_parse_hint(p, size, &ntlm);

    /* The input as a token to wrap, then unwrap as a hint. */
    uint8_t *w;
    size_t wl;
    if (spnego_wrap_init(p, size, &w, &wl) == 0) {
        if (spnego_parse_hint(w, wl, &ntlm) != 0 || !ntlm)
            __builtin_trap();
        free(w);
    }
    free(p);
    return 0;
}
