/* NTLM hashes and responses against the MS-NLMP 4.2.x sample values and,
 * for LM / NTLMv1, against libntlm as an independent implementation. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/ntlm.h"

/* libntlm's <ntlm.h> has the same name as ours, so its two functions are
 * declared here (libntlm 1.6 smbencrypt.c; uint8 is unsigned char). */
void ntlm_smb_encrypt(const char *passwd, const unsigned char *challenge, unsigned char *answer);
void ntlm_smb_nt_encrypt(const char *passwd, const unsigned char *challenge, unsigned char *answer);

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    cr_assert(n <= cap, "hex too long for buffer");
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        cr_assert(sscanf(hex + 2 * i, "%2x", &v) == 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

#define expect_hex(buf, len, hex)                                                                  \
    do {                                                                                           \
        uint8_t exp_[512];                                                                         \
        size_t n_ = unhex((hex), exp_, sizeof(exp_));                                              \
        cr_assert_eq((size_t)(len), n_, "length %zu, expected %zu", (size_t)(len), n_);            \
        cr_assert(memcmp((buf), exp_, n_) == 0, "bytes differ from %s", (hex));                    \
    } while (0)

/* MS-NLMP 4.2.1 common values (vectors/ntlm_common.json). */
static const uint8_t server_chal[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
static const uint8_t client_chal[8] = {0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};
static const uint8_t random_key[16] = {0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
                                       0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55};

#define V1_LMOWF    "e52cac67419a9a224a3b108f3fa6cb6d"
#define V1_NTOWF    "a4f49c406510bdcab6824ee7c30fd852"
#define V1_SBK      "d87262b0cde4b1cb7499becccdf10784"
#define V1_NT_RESP  "67c43011f30298a2ad35ece64f16331c44bdbed927841f94"
#define V1_LM_RESP  "98def7b87f88aa5dafe2df779688a172def11c7d5ccdef13"
#define V1_ENC_KEY  "518822b1b3f350c8958682ecbb3e3cb7"
#define ESS_KXKEY   "eb93429a8bd952f8b89c55b87f475edc"
#define ESS_NT_RESP "7537f803ae367128ca458204bde7caf81e97ed2683267232"
#define V2_NTOWF    "0c868a403bfd7a93a3001ef22ef02e3f"
#define V2_AVPAIRS  "02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000"
#define V2_TEMP                                                                                    \
    "01010000000000000000000000000000aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e000100" \
    "0c005300650072007600650072000000000000000000"
#define V2_PROOF   "68cd0ab851e51c96aabc927bebef6a1c"
#define V2_LM_RESP "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa"
#define V2_SBK     "8de40ccadbc14a82f15cb0ad0de95ca3"
#define V2_ENC_KEY "c5dad2544fc9799094ce1ce90bc9d03e"

Test(ntlm, v1_hashes_match_ms_nlmp_4_2_2)
{
    uint8_t lm[16], nt[16], sbk[16];
    cr_assert_eq(ntlm_lmowf_v1("Password", lm), 0);
    expect_hex(lm, 16, V1_LMOWF);
    cr_assert_eq(ntlm_ntowf_v1("Password", nt), 0);
    expect_hex(nt, 16, V1_NTOWF);
    cr_assert_eq(ntlm_md4(nt, 16, sbk), 0);
    expect_hex(sbk, 16, V1_SBK);
}

Test(ntlm, v1_responses_and_key_exchange_match_ms_nlmp_4_2_2)
{
    uint8_t lm[16], nt[16], resp[24], sbk[16], enc[16], back[16];
    unhex(V1_LMOWF, lm, 16);
    unhex(V1_NTOWF, nt, 16);
    cr_assert_eq(ntlm_desl(nt, server_chal, resp), 0);
    expect_hex(resp, 24, V1_NT_RESP);
    cr_assert_eq(ntlm_desl(lm, server_chal, resp), 0);
    expect_hex(resp, 24, V1_LM_RESP);
    /* KXKEY without LM_KEY / NON_NT_SESSION_KEY is the SessionBaseKey. */
    unhex(V1_SBK, sbk, 16);
    cr_assert_eq(ntlm_rc4(sbk, random_key, 16, enc), 0);
    expect_hex(enc, 16, V1_ENC_KEY);
    cr_assert_eq(ntlm_rc4(sbk, enc, 16, back), 0);
    cr_assert(memcmp(back, random_key, 16) == 0);
}

Test(ntlm, ess_pieces_match_ms_nlmp_4_2_3)
{
    uint8_t nt[16], sc_cc[16], h[16], resp[24], sbk[16], kx[16];
    unhex(V1_NTOWF, nt, 16);
    memcpy(sc_cc, server_chal, 8);
    memcpy(sc_cc + 8, client_chal, 8);
    cr_assert_eq(ntlm_md5(sc_cc, 16, h), 0);
    cr_assert_eq(ntlm_desl(nt, h, resp), 0);
    expect_hex(resp, 24, ESS_NT_RESP);
    /* KXKEY = HMAC_MD5(SessionBaseKey, ServerChallenge || LmResponse[0..7]),
     * and the ESS LM response starts with the client challenge. */
    cr_assert_eq(ntlm_md4(nt, 16, sbk), 0);
    struct ntlm_iov v[2] = {{server_chal, 8}, {client_chal, 8}};
    cr_assert_eq(ntlm_hmac_md5_v(sbk, 16, v, 2, kx), 0);
    expect_hex(kx, 16, ESS_KXKEY);
    uint8_t kx1[16];
    cr_assert_eq(ntlm_hmac_md5(sbk, 16, sc_cc, 16, kx1), 0);
    cr_assert(memcmp(kx, kx1, 16) == 0, "vector HMAC and one-shot HMAC differ");
}

Test(ntlm, v2_matches_ms_nlmp_4_2_4)
{
    uint8_t nt[16], v2[16], av[64], lm[24], sbk[16], enc[16];
    size_t av_len = unhex(V2_AVPAIRS, av, sizeof(av));
    cr_assert_eq(ntlm_ntowf_v1("Password", nt), 0);
    cr_assert_eq(ntlm_ntowf_v2(nt, "User", "Domain", v2), 0);
    expect_hex(v2, 16, V2_NTOWF);
    /* Upper-casing the user is part of NTOWFv2: "user" must give the same. */
    uint8_t v2b[16];
    cr_assert_eq(ntlm_ntowf_v2(nt, "user", "Domain", v2b), 0);
    cr_assert(memcmp(v2, v2b, 16) == 0);
    /* ... but the domain is not upper-cased. */
    cr_assert_eq(ntlm_ntowf_v2(nt, "User", "DOMAIN", v2b), 0);
    cr_assert(memcmp(v2, v2b, 16) != 0);

    uint8_t *resp = NULL;
    size_t resp_len = 0;
    cr_assert_eq(
        ntlm_v2_responses(v2, server_chal, client_chal, 0, av, av_len, &resp, &resp_len, lm, sbk),
        0);
    expect_hex(resp, 16, V2_PROOF);
    expect_hex(resp + 16, resp_len - 16, V2_TEMP);
    expect_hex(lm, 24, V2_LM_RESP);
    expect_hex(sbk, 16, V2_SBK);
    cr_assert_eq(ntlm_rc4(sbk, random_key, 16, enc), 0);
    expect_hex(enc, 16, V2_ENC_KEY);
    free(resp);
}

/* Only sec=lanman keeps the LM hash: for every other method the daemon's
 * memory never holds it, not even for a password that has one. */
Test(ntlm, creds_init_without_lm_keeps_no_lm_hash)
{
    static const uint8_t zero[16];
    struct ntlm_creds c;
    cr_assert_eq(ntlm_creds_init(&c, "User", "Domain", "COMPUTER", "Password", false), 0);
    expect_hex(c.nt_hash, 16, V1_NTOWF);
    cr_assert_not(c.have_lm);
    cr_assert(memcmp(c.lm_hash, zero, 16) == 0);
    struct ntlm_plain_auth a;
    uint8_t chal[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    cr_assert_eq(ntlm_plain_auth(SMB1_SEC_LANMAN, &c, chal, "", 0, &a), -EINVAL);
    ntlm_creds_free(&c);
}

Test(ntlm, creds_init_keeps_hashes_only)
{
    struct ntlm_creds c;
    cr_assert_eq(ntlm_creds_init(&c, "User", "Domain", "COMPUTER", "Password", true), 0);
    expect_hex(c.nt_hash, 16, V1_NTOWF);
    expect_hex(c.lm_hash, 16, V1_LMOWF);
    cr_assert(c.have_lm);
    cr_assert_str_eq(c.user, "User");
    cr_assert_str_eq(c.domain, "Domain");
    cr_assert_str_eq(c.workstation, "COMPUTER");
    ntlm_creds_free(&c);
    cr_assert_null(c.user);

    /* 15 characters: no LM hash, NT hash still there. */
    cr_assert_eq(ntlm_creds_init(&c, "u", NULL, NULL, "123456789012345", true), 0);
    cr_assert_not(c.have_lm);
    cr_assert_str_eq(c.domain, "");
    uint8_t nt[16];
    cr_assert_eq(ntlm_ntowf_v1("123456789012345", nt), 0);
    cr_assert(memcmp(nt, c.nt_hash, 16) == 0);
    ntlm_creds_free(&c);

    /* Exactly 14 has one; non-ASCII has none (no OEM code page). */
    cr_assert_eq(ntlm_creds_init(&c, "u", "", "", "12345678901234", true), 0);
    cr_assert(c.have_lm);
    ntlm_creds_free(&c);
    cr_assert_eq(ntlm_creds_init(&c, "u", "", "", "p\xc3\xa4ss", true), 0);
    cr_assert_not(c.have_lm);
    ntlm_creds_free(&c);

    cr_assert_eq(ntlm_creds_init(&c, "u", "", "", "bad\xc3", true), -EINVAL);
}

Test(ntlm, utf16_conversion_and_upper_case)
{
    uint8_t *u;
    size_t n;
    /* "üser€😀" upper-cased: ü -> Ü, ser -> SER, € stays, the emoji
     * becomes a surrogate pair. */
    cr_assert_eq(ntlm_utf16le("\xc3\xbcser\xe2\x82\xac\xf0\x9f\x98\x80", true, &u, &n), 0);
    expect_hex(u, n, "dc00530045005200ac203dd800de");
    free(u);
    cr_assert_eq(ntlm_utf16le("", false, &u, &n), 0);
    cr_assert_not_null(u);
    cr_assert_eq(n, 0);
    free(u);
    /* Overlong, surrogate, truncated and out-of-range forms are refused. */
    const char *bad[] = {"\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80", "\xff"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(ntlm_utf16le(bad[i], false, &u, &n), -EINVAL, "case %zu", i);
}

Test(ntlm, lm_too_long_is_einval)
{
    uint8_t out[16];
    cr_assert_eq(ntlm_lmowf_v1("123456789012345", out), -EINVAL);
}

/* Our LM and NTLMv1 responses against libntlm's for ASCII passwords (libntlm
 * widens bytes to UTF-16 and upper-cases ASCII, so it agrees only there). */
Test(ntlm, v1_responses_match_libntlm)
{
    const char *pw[] = {
        "", "a", "Password", "SecREt01", "14characters!!", "with space", "~`!@#$%^&*()_+"};
    const uint8_t chal[8] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x11, 0x22, 0x33};
    for (size_t i = 0; i < sizeof(pw) / sizeof(pw[0]); i++) {
        struct ntlm_creds c;
        cr_assert_eq(ntlm_creds_init(&c, "user", "DOM", "WS", pw[i], true), 0);
        cr_assert(c.have_lm, "%s", pw[i]);
        uint8_t lib_lm[24], lib_nt[24];
        ntlm_smb_encrypt(pw[i], chal, lib_lm);
        ntlm_smb_nt_encrypt(pw[i], chal, lib_nt);

        struct ntlm_plain_auth a;
        cr_assert_eq(ntlm_plain_auth(SMB1_SEC_NTLM, &c, chal, "", 0, &a), 0);
        cr_assert_eq(a.nt_len, 24);
        cr_assert(memcmp(a.nt_resp, lib_nt, 24) == 0, "NT response for \"%s\"", pw[i]);
        cr_assert_eq(a.lm_len, 24);
        cr_assert(memcmp(a.lm_resp, lib_nt, 24) == 0, "NT response in the LM field");
        ntlm_plain_auth_wipe(&a);

        cr_assert_eq(ntlm_plain_auth(SMB1_SEC_LANMAN, &c, chal, "", 0, &a), 0);
        cr_assert_eq(a.nt_len, 0);
        cr_assert(memcmp(a.lm_resp, lib_lm, 24) == 0, "LANMAN response for \"%s\"", pw[i]);
        ntlm_plain_auth_wipe(&a);
        ntlm_creds_free(&c);
    }
}

Test(ntlm, plain_ntlm_mac_key_is_md4_of_nt_hash_with_nt_response)
{
    struct ntlm_creds c;
    cr_assert_eq(ntlm_creds_init(&c, "User", "Domain", "COMPUTER", "Password", true), 0);
    struct ntlm_plain_auth a;
    cr_assert_eq(ntlm_plain_auth(SMB1_SEC_NTLM, &c, server_chal, NULL, 0, &a), 0);
    /* vectors/smb1_signing_derived.json: ntlmv1_nonextended_mac_key */
    expect_hex(a.mac_session_key, 16, V1_SBK);
    cr_assert_eq(a.mac_resp, a.nt_resp);
    expect_hex(a.mac_resp, a.mac_resp_len, V1_NT_RESP);
    /* No LM response although the password has an LM hash: the LM field
     * repeats the NT response, so the LM key is never taken. */
    cr_assert(c.have_lm);
    expect_hex(a.lm_resp, a.lm_len, V1_NT_RESP);
    cr_assert_not(a.lm_resp_is_lm);
    cr_assert_eq(ntlm_plain_use_lanman_key(&a, &c), 0);
    expect_hex(a.mac_session_key, 16, V1_SBK);
    cr_assert_eq(a.mac_resp, a.nt_resp);
    ntlm_plain_auth_wipe(&a);
    cr_assert_null(a.nt_resp);
    ntlm_creds_free(&c);
}

Test(ntlm, plain_ntlm_without_lm_hash_repeats_nt_response)
{
    struct ntlm_creds c;
    cr_assert_eq(ntlm_creds_init(&c, "User", "", "", "a rather long password", true), 0);
    struct ntlm_plain_auth a;
    cr_assert_eq(ntlm_plain_auth(SMB1_SEC_NTLM, &c, server_chal, NULL, 0, &a), 0);
    cr_assert_eq(a.lm_len, 24);
    cr_assert(memcmp(a.lm_resp, a.nt_resp, 24) == 0);
    cr_assert_not(a.lm_resp_is_lm);
    /* The LAN Manager key must not be taken: no LM response was sent. */
    uint8_t before[16];
    memcpy(before, a.mac_session_key, 16);
    cr_assert_eq(ntlm_plain_use_lanman_key(&a, &c), 0);
    cr_assert(memcmp(before, a.mac_session_key, 16) == 0);
    cr_assert_eq(a.mac_resp, a.nt_resp);
    ntlm_plain_auth_wipe(&a);

    /* LANMAN cannot be done at all: never a silent downgrade or upgrade. */
    cr_assert_eq(ntlm_plain_auth(SMB1_SEC_LANMAN, &c, server_chal, NULL, 0, &a), -EINVAL);
    cr_assert_null(a.nt_resp);
    ntlm_creds_free(&c);
}

Test(ntlm, plain_lanman_key)
{
    struct ntlm_creds c;
    cr_assert_eq(ntlm_creds_init(&c, "User", "Domain", "COMPUTER", "Password", true), 0);
    struct ntlm_plain_auth a;
    cr_assert_eq(ntlm_plain_auth(SMB1_SEC_LANMAN, &c, server_chal, NULL, 0, &a), 0);
    expect_hex(a.lm_resp, a.lm_len, V1_LM_RESP);
    expect_hex(a.mac_session_key, 16, "e52cac67419a9a220000000000000000");
    cr_assert_eq(a.mac_resp, a.lm_resp);
    cr_assert_null(a.nt_resp);
    cr_assert(a.lm_resp_is_lm);
    /* SMB_SETUP_USE_LANMAN_KEY after an LM logon: LMOWF[0..7] || Z(8) with
     * the LM response, i.e. what is already there. */
    cr_assert_eq(ntlm_plain_use_lanman_key(&a, &c), 0);
    expect_hex(a.mac_session_key, 16, "e52cac67419a9a220000000000000000");
    cr_assert_eq(a.mac_resp, a.lm_resp);
    cr_assert_eq(a.mac_resp_len, 24);
    ntlm_plain_auth_wipe(&a);
    ntlm_creds_free(&c);
}

Test(ntlm, plain_ntlmv2_layout_and_keys)
{
    struct ntlm_creds c;
    cr_assert_eq(ntlm_creds_init(&c, "User", "Domain", "COMPUTER", "Password", true), 0);
    struct ntlm_plain_auth a;
    const uint64_t now = 0x01d2c3b4a5968778ull;
    cr_assert_eq(ntlm_plain_auth(SMB1_SEC_NTLMV2, &c, server_chal, "Domain", now, &a), 0);
    /* NTProofStr(16) temp: 0101 Z6 time(8) cc(8) Z4 [2, 12, "Domain"] [EOL] Z4 */
    cr_assert_eq(a.nt_len, 16 + 28 + 4 + 12 + 4 + 4);
    const uint8_t *t = a.nt_resp + 16;
    expect_hex(t, 8, "0101000000000000");
    expect_hex(t + 8, 8, "788796a5b4c3d201");
    const uint8_t *cc = t + 16;
    expect_hex(t + 24, 4, "00000000");
    expect_hex(t + 28, 4 + 12 + 4 + 4, "02000c0044006f006d00610069006e000000000000000000");
    cr_assert_not(a.lm_resp_is_lm);
    cr_assert(memcmp(a.lm_resp + 16, cc, 8) == 0, "LMv2 ends with the client challenge");

    /* Recompute from the vector NTOWFv2 and the client challenge we sent. */
    uint8_t v2[16], lm[24], sbk[16], av[32];
    size_t av_len = unhex("02000c0044006f006d00610069006e0000000000", av, sizeof(av));
    unhex(V2_NTOWF, v2, 16);
    uint8_t *resp;
    size_t resp_len;
    cr_assert_eq(ntlm_v2_responses(v2, server_chal, cc, now, av, av_len, &resp, &resp_len, lm, sbk),
                 0);
    cr_assert_eq(resp_len, a.nt_len);
    cr_assert(memcmp(resp, a.nt_resp, resp_len) == 0);
    cr_assert(memcmp(lm, a.lm_resp, 24) == 0);
    cr_assert(memcmp(sbk, a.mac_session_key, 16) == 0);
    cr_assert_eq(a.mac_resp, a.nt_resp);
    cr_assert_eq(a.mac_resp_len, a.nt_len);
    free(resp);

    /* LMv2 was sent: SMB_SETUP_USE_LANMAN_KEY changes nothing. */
    cr_assert_eq(ntlm_plain_use_lanman_key(&a, &c), 0);
    cr_assert(memcmp(sbk, a.mac_session_key, 16) == 0);
    ntlm_plain_auth_wipe(&a);

    /* No hint: the AV pairs are just MsvAvEOL. */
    cr_assert_eq(ntlm_plain_auth(SMB1_SEC_NTLMV2, &c, server_chal, "", now, &a), 0);
    cr_assert_eq(a.nt_len, 16 + 28 + 4 + 4);
    ntlm_plain_auth_wipe(&a);
    ntlm_creds_free(&c);
}

Test(ntlm, plain_ntlmv2_client_challenge_is_random)
{
    struct ntlm_creds c;
    cr_assert_eq(ntlm_creds_init(&c, "User", "Domain", "COMPUTER", "Password", true), 0);
    struct ntlm_plain_auth a, b;
    cr_assert_eq(ntlm_plain_auth(SMB1_SEC_NTLMV2, &c, server_chal, "", 1, &a), 0);
    cr_assert_eq(ntlm_plain_auth(SMB1_SEC_NTLMV2, &c, server_chal, "", 1, &b), 0);
    cr_assert(memcmp(a.nt_resp + 32, b.nt_resp + 32, 8) != 0);
    ntlm_plain_auth_wipe(&a);
    ntlm_plain_auth_wipe(&b);
    ntlm_creds_free(&c);
}

Test(ntlm, plain_none_and_bad_sec)
{
    struct ntlm_creds c;
    cr_assert_eq(ntlm_creds_init(&c, "", "", "", "", true), 0);
    struct ntlm_plain_auth a;
    cr_assert_eq(ntlm_plain_auth(SMB1_SEC_NONE, &c, server_chal, "", 0, &a), 0);
    cr_assert_eq(a.lm_len, 0);
    cr_assert_eq(a.nt_len, 0);
    cr_assert_eq(a.mac_resp_len, 0);
    ntlm_plain_auth_wipe(&a);
    cr_assert_eq(ntlm_plain_auth(SMB1_SEC_NTLMSSP, &c, server_chal, "", 0, &a), -EINVAL);
    ntlm_creds_free(&c);
}

/* The shared vector files, when the checkout has them next to it. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = malloc(65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = 0;
    return buf;
}

static void json_hex(const char *json, const char *key, char *out, size_t cap)
{
    char pat[128];
    snprintf(pat, sizeof(pat), "\"%s\": \"", key);
    const char *p = strstr(json, pat);
    cr_assert_not_null(p, "key %s", key);
    p += strlen(pat);
    size_t n = strcspn(p, "\"");
    cr_assert_lt(n, cap);
    memcpy(out, p, n);
    out[n] = 0;
}

Test(ntlm, vector_files_agree_with_embedded_values)
{
#ifdef SMBFUSE_SOURCE_DIR
    const char *dir = SMBFUSE_SOURCE_DIR "/../shared/protocol/vectors";
#else
    const char *dir = "/nonexistent";
#endif
    char path[512], hex[1024];
    snprintf(path, sizeof(path), "%s/ntlmv1.json", dir);
    char *v1 = slurp(path);
    if (!v1) {
        cr_log_info("no vector files at %s; embedded values were checked", dir);
        return;
    }
    snprintf(path, sizeof(path), "%s/ntlmv2.json", dir);
    char *v2 = slurp(path);
    snprintf(path, sizeof(path), "%s/ntlmv1_ess.json", dir);
    char *ess = slurp(path);
    cr_assert(v2 && ess);
    const struct {
        const char *json, *key, *value;
    } checks[] = {
        {v1, "lmowfv1", V1_LMOWF},
        {v1, "ntowfv1", V1_NTOWF},
        {v1, "session_base_key", V1_SBK},
        {v1, "ntlmv1_response", V1_NT_RESP},
        {v1, "lmv1_response", V1_LM_RESP},
        {v1, "encrypted_session_key", V1_ENC_KEY},
        {ess, "key_exchange_key", ESS_KXKEY},
        {ess, "ntlmv1_response", ESS_NT_RESP},
        {v2, "ntowfv2", V2_NTOWF},
        {v2, "temp", V2_TEMP},
        {v2, "ntproofstr", V2_PROOF},
        {v2, "lmv2_response", V2_LM_RESP},
        {v2, "session_base_key", V2_SBK},
        {v2, "encrypted_session_key", V2_ENC_KEY},
        {v2, "av_pairs_as_sent_in_temp", V2_AVPAIRS},
    };
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        json_hex(checks[i].json, checks[i].key, hex, sizeof(hex));
        cr_assert_str_eq(hex, checks[i].value, "%s", checks[i].key);
    }
    free(v1);
    free(v2);
    free(ess);
}
