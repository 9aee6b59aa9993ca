/* SPNEGO DER: exact encodings, round trips through the parser, server
 * hints (a Samba-style NegTokenInit2), truncation at every byte, and the
 * DER forms the parser must refuse. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/spnego.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    cr_assert(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        cr_assert(sscanf(hex + 2 * i, "%2x", &v) == 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

#define NTLMSSP_OID "060a2b06010401823702020a"

Test(spnego, wrap_init_exact_bytes)
{
    const uint8_t tok[4] = {1, 2, 3, 4};
    uint8_t *out;
    size_t len;
    cr_assert_eq(spnego_wrap_init(tok, sizeof(tok), &out, &len), 0);
    uint8_t exp[64];
    /* DIGEST 8.4 layout. */
    size_t n = unhex("602406062b0601050502a01a3018a00e300c" NTLMSSP_OID "a20604040102030"
                     "4",
                     exp, sizeof(exp));
    cr_assert_eq(len, n);
    cr_assert(memcmp(out, exp, n) == 0);
    free(out);
}

Test(spnego, wrap_init_long_forms)
{
    /* 200 and 70000 bytes: one- and three-byte long-form lengths. */
    size_t sizes[] = {127, 128, 200, 255, 256, 70000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *tok = malloc(sizes[i]);
        memset(tok, 0x5a, sizes[i]);
        uint8_t *out;
        size_t len;
        cr_assert_eq(spnego_wrap_init(tok, sizes[i], &out, &len), 0);
        cr_assert_eq(out[0], 0x60);
        /* The token is the last thing, after 04 <len>. */
        cr_assert(memcmp(out + len - sizes[i], tok, sizes[i]) == 0);
        bool ntlm = false;
        /* A client init token is also a valid hint-shaped NegTokenInit. */
        cr_assert_eq(spnego_parse_hint(out, len, &ntlm), 0, "size %zu", sizes[i]);
        cr_assert(ntlm);
        free(out);
        free(tok);
    }
}

Test(spnego, wrap_resp_exact_bytes)
{
    const uint8_t tok[3] = {0xaa, 0xbb, 0xcc};
    const uint8_t mic[2] = {0x11, 0x22};
    uint8_t *out, exp[64];
    size_t len, n;
    cr_assert_eq(spnego_wrap_resp(tok, 3, NULL, 0, &out, &len), 0);
    n = unhex("a1093007a2050403aabbcc", exp, sizeof(exp));
    cr_assert_eq(len, n);
    cr_assert(memcmp(out, exp, n) == 0);
    free(out);
    cr_assert_eq(spnego_wrap_resp(tok, 3, mic, 2, &out, &len), 0);
    n = unhex("a10f300da2050403aabbcca30404021122", exp, sizeof(exp));
    cr_assert_eq(len, n);
    cr_assert(memcmp(out, exp, n) == 0);
    free(out);
}

Test(spnego, resp_roundtrip)
{
    size_t sizes[] = {0, 1, 127, 128, 300, 65536};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *tok = malloc(sizes[i] + 1);
        for (size_t k = 0; k < sizes[i]; k++)
            tok[k] = (uint8_t)k;
        const uint8_t mic[16] = {9, 9, 9};
        uint8_t *out;
        size_t len;
        cr_assert_eq(spnego_wrap_resp(tok, sizes[i], mic, 16, &out, &len), 0);
        struct spnego_resp r;
        cr_assert_eq(spnego_parse_resp(out, len, &r), 0);
        cr_assert_eq(r.neg_state, SPNEGO_ABSENT);
        cr_assert_not(r.has_mech);
        cr_assert_eq(r.token_len, sizes[i]);
        if (sizes[i]) {
            cr_assert(memcmp(r.token, tok, sizes[i]) == 0);
            cr_assert(r.token > out && r.token + r.token_len <= out + len);
        } else {
            cr_assert_null(r.token);
        }
        cr_assert_eq(r.mic_len, 16);
        cr_assert(memcmp(r.mic, mic, 16) == 0);
        free(out);
        free(tok);
    }
}

/* The server's first reply as Samba sends it: accept-incomplete, NTLMSSP,
 * a CHALLENGE (shortened here). */
#define SERVER_REPLY "a1253023a0030a0101a10c" NTLMSSP_OID "a20e040c4e544c4d5353500002000000"

Test(spnego, parse_server_reply)
{
    uint8_t b[128];
    size_t n = unhex(SERVER_REPLY, b, sizeof(b));
    struct spnego_resp r;
    cr_assert_eq(spnego_parse_resp(b, n, &r), 0);
    cr_assert_eq(r.neg_state, SPNEGO_ACCEPT_INCOMPLETE);
    cr_assert(r.has_mech);
    cr_assert(r.mech_is_ntlmssp);
    cr_assert_eq(r.token_len, 12);
    cr_assert(memcmp(r.token, "NTLMSSP", 8) == 0);
    cr_assert_null(r.mic);

    /* Final: accept-completed only. */
    n = unhex("a1073005a0030a0100", b, sizeof(b));
    cr_assert_eq(spnego_parse_resp(b, n, &r), 0);
    cr_assert_eq(r.neg_state, SPNEGO_ACCEPT_COMPLETED);
    cr_assert_null(r.token);

    /* Kerberos as the supported mech is not NTLMSSP. */
    n = unhex("a1143012a0030a0101a10b06092a864886f712010202", b, sizeof(b));
    cr_assert_eq(spnego_parse_resp(b, n, &r), 0);
    cr_assert(r.has_mech);
    cr_assert_not(r.mech_is_ntlmssp);
}

Test(spnego, truncated_reply_is_einval_at_every_length)
{
    uint8_t b[128];
    size_t n = unhex(SERVER_REPLY, b, sizeof(b));
    for (size_t k = 0; k < n; k++) {
        uint8_t *t = malloc(k ? k : 1);
        memcpy(t, b, k);
        struct spnego_resp r;
        cr_assert_eq(spnego_parse_resp(t, k, &r), -EINVAL, "length %zu", k);
        free(t);
    }
}

static void resp_bad(const char *hex, const char *what)
{
    uint8_t b[128];
    size_t n = unhex(hex, b, sizeof(b));
    struct spnego_resp r;
    cr_assert_eq(spnego_parse_resp(b, n, &r), -EINVAL, "%s accepted", what);
}

Test(spnego, malformed_replies_are_refused)
{
    resp_bad("a1800000", "indefinite length");
    resp_bad("a1073005a0030a0104", "negState 4");
    resp_bad("a1083006a0040a020001", "two-byte negState");
    resp_bad("a10c300aa2030401aaa0030a0101", "fields out of order");
    resp_bad("a10a3008a2020400a2020400", "field twice");
    resp_bad("a1073005a4030a0100", "unknown field [4]");
    resp_bad("a1093007a0030a01000000", "trailing bytes inside");
    resp_bad("a1073005a0030a0100ff", "trailing bytes after");
    resp_bad("a1073005a0030a01", "cut value");
    resp_bad("a18500000000073005a0030a0100", "5-byte length");
    resp_bad("a1083006a0040a0101ff", "negState wrapper too long");
    resp_bad("a1073005a2030601aa", "token not an OCTET STRING");
    resp_bad("bf01073005a0030a0100", "multi-byte tag");
    resp_bad("a2073005a0030a0100", "not a negTokenResp");
    resp_bad("", "empty");
    /* Long-form lengths are fine when consistent (not required minimal). */
    uint8_t b[32];
    size_t n = unhex("a1820008308105a0030a0101", b, sizeof(b));
    struct spnego_resp r;
    cr_assert_eq(spnego_parse_resp(b, n, &r), 0);
    cr_assert_eq(r.neg_state, SPNEGO_ACCEPT_INCOMPLETE);
}

/* A NegTokenInit2 as Samba's smbd sends in its SMB1 negotiate reply:
 * mechTypes = [MS-KRB5, KRB5, NTLMSSP], negHints = "not_defined_in_RFC4178@
 * please_ignore". */
#define SAMBA_HINT                                                                                 \
    "605e06062b0601050502a0543052a0243022"                                                         \
    "06092a864882f712010202"                                                                       \
    "06092a864886f712010202" NTLMSSP_OID "a32a3028a0261b246e6f745f646566696e65645f696e5f52464334"  \
    "313738407"                                                                                    \
    "06c656173655f69676e6f7265"

Test(spnego, parse_samba_hint)
{
    uint8_t b[256];
    size_t n = unhex(SAMBA_HINT, b, sizeof(b));
    bool ntlm = false;
    cr_assert_eq(spnego_parse_hint(b, n, &ntlm), 0);
    cr_assert(ntlm);

    /* Same hint with Kerberos only. */
    uint8_t k[64];
    n = unhex("602606062b0601050502a01c301aa018301606092a864882f71201020206092a864886f712"
              "010202",
              k, sizeof(k));
    ntlm = true;
    cr_assert_eq(spnego_parse_hint(k, n, &ntlm), 0);
    cr_assert_not(ntlm);

    ntlm = false;
    cr_assert_eq(spnego_parse_hint(NULL, 0, &ntlm), 0);
    cr_assert(ntlm, "no hint: free choice");
}

Test(spnego, truncated_hint_is_einval_at_every_length)
{
    uint8_t b[256];
    size_t n = unhex(SAMBA_HINT, b, sizeof(b));
    for (size_t k = 1; k < n; k++) {
        uint8_t *t = malloc(k);
        memcpy(t, b, k);
        bool ntlm;
        cr_assert_eq(spnego_parse_hint(t, k, &ntlm), -EINVAL, "length %zu", k);
        cr_assert_not(ntlm);
        free(t);
    }
}

Test(spnego, malformed_hints_are_refused)
{
    uint8_t b[256];
    size_t n = unhex(SAMBA_HINT, b, sizeof(b));
    bool ntlm;
    b[5] = 0x03; /* SPNEGO OID changed: 1.3.6.1.5.5.3 */
    cr_assert_eq(spnego_parse_hint(b, n, &ntlm), -EINVAL);
    n = unhex(SAMBA_HINT, b, sizeof(b));
    b[n] = 0;
    cr_assert_eq(spnego_parse_hint(b, n + 1, &ntlm), -EINVAL, "trailing byte");
    /* Empty mechTypes list. */
    n = unhex("601006062b0601050502a0063004a0023000", b, sizeof(b));
    cr_assert_eq(spnego_parse_hint(b, n, &ntlm), -EINVAL);
    /* mechTypes holding an OCTET STRING. */
    n = unhex("601206062b0601050502a0083006a0043002040100", b, sizeof(b));
    cr_assert_eq(spnego_parse_hint(b, n, &ntlm), -EINVAL);
    /* Not a GSS token at all (a raw NTLMSSP message). */
    n = unhex("4e544c4d5353500001000000", b, sizeof(b));
    cr_assert_eq(spnego_parse_hint(b, n, &ntlm), -EINVAL);
}

Test(spnego, mech_list_is_what_wrap_init_sends)
{
    const uint8_t *ml;
    size_t n;
    spnego_mech_list(&ml, &n);
    uint8_t exp[32];
    size_t en = unhex("300c" NTLMSSP_OID, exp, sizeof(exp));
    cr_assert_eq(n, en);
    cr_assert(memcmp(ml, exp, n) == 0);
    uint8_t *out;
    size_t len;
    cr_assert_eq(spnego_wrap_init((const uint8_t *)"x", 1, &out, &len), 0);
    cr_assert_not_null(memmem(out, len, ml, n));
    free(out);
}

/* Captured from smbd 4.17 (NT1, extended security) on 127.0.0.1: the
 * negotiate hint, the first SESSION_SETUP reply (a CHALLENGE inside, long-
 * form lengths) and the final reply with the server's mechListMIC. */
#define SMBD_HINT                                                                                  \
    "604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa32a3028a0261b246e6f745f64656669" \
    "6e65645f696e5f5246433431373840706c656173655f69676e6f7265"
#define SMBD_REPLY1                                                                                \
    "a181a83081a5a0030a0101a10c060a2b06010401823702020aa2818f04818c4e544c4d5353500002000000100010" \
    "003800000015828ae2bce45abd456bff0300000000000000004400440048000000060100000000000f41005500"   \
    "54004800540045005300540002001000410055005400480054004500530054000100100041005500540048005400" \
    "450053005400040000000300040076006d00070008003eaee1a03f7cdd0100000000"
#define SMBD_REPLY2 "a11b3019a0030a0100a31204100100000025edf1793b6458c700000000"

Test(spnego, captured_smbd_blobs)
{
    uint8_t b[256];
    size_t n = unhex(SMBD_HINT, b, sizeof(b));
    bool ntlm = false;
    cr_assert_eq(spnego_parse_hint(b, n, &ntlm), 0);
    cr_assert(ntlm);

    n = unhex(SMBD_REPLY1, b, sizeof(b));
    struct spnego_resp r;
    cr_assert_eq(spnego_parse_resp(b, n, &r), 0);
    cr_assert_eq(r.neg_state, SPNEGO_ACCEPT_INCOMPLETE);
    cr_assert(r.mech_is_ntlmssp);
    cr_assert_eq(r.token_len, 140);
    cr_assert(memcmp(r.token, "NTLMSSP\0\2\0\0\0", 12) == 0);
    cr_assert_null(r.mic);
    for (size_t k = 0; k < n; k++)
        cr_assert_eq(spnego_parse_resp(b, k, &r), -EINVAL, "length %zu", k);

    n = unhex(SMBD_REPLY2, b, sizeof(b));
    cr_assert_eq(spnego_parse_resp(b, n, &r), 0);
    cr_assert_eq(r.neg_state, SPNEGO_ACCEPT_COMPLETED);
    cr_assert_null(r.token);
    cr_assert_eq(r.mic_len, 16);
    cr_assert_eq(r.mic[0], 1, "NTLMSSP signature version 1");
}
