/* NTLMSSP messages: NEGOTIATE bytes, CHALLENGE parsing (valid, truncated,
 * corrupted), and AUTHENTICATE read back field by field, its NTLMv2 proof,
 * MIC and encrypted session key recomputed independently. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/ntlm.h"
#include "auth/ntlmssp.h"
#include "wire/wire.h"

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

static const uint8_t server_chal[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
/* "Domain" and "Server" in UTF-16LE (MS-NLMP 4.2.1). */
static const char *domain_u16 = "44006f006d00610069006e00";
static const char *server_u16 = "530065007200760065007200";

#define TS_VALUE 0x01d8a1b2c3d4e5f6ull

/* A CHALLENGE_MESSAGE like MS-NLMP 4.2.4.3 (flags 0xE28A8233, target
 * "Domain", AV pairs NbDomainName, NbComputerName), optionally with
 * MsvAvFlags and MsvAvTimestamp before the EOL. */
static size_t make_challenge(uint8_t *buf, size_t cap, uint32_t flags, bool with_flags,
                             uint32_t av_flags, bool with_ts)
{
    uint8_t dom[12], srv[12];
    unhex(domain_u16, dom, sizeof(dom));
    unhex(server_u16, srv, sizeof(srv));
    uint8_t info[128];
    struct wire_writer iw;
    wire_writer_init(&iw, info, sizeof(info));
    wire_put_u16(&iw, 2);
    wire_put_u16(&iw, 12);
    wire_put_bytes(&iw, dom, 12);
    wire_put_u16(&iw, 1);
    wire_put_u16(&iw, 12);
    wire_put_bytes(&iw, srv, 12);
    if (with_flags) {
        wire_put_u16(&iw, 6);
        wire_put_u16(&iw, 4);
        wire_put_u32(&iw, av_flags);
    }
    if (with_ts) {
        wire_put_u16(&iw, 7);
        wire_put_u16(&iw, 8);
        wire_put_u64(&iw, TS_VALUE);
    }
    wire_put_u32(&iw, 0);
    cr_assert(wire_wok(&iw));

    struct wire_writer w;
    wire_writer_init(&w, buf, cap);
    wire_put_bytes(&w, "NTLMSSP", 8);
    wire_put_u32(&w, 2);
    wire_put_u16(&w, 12);
    wire_put_u16(&w, 12);
    wire_put_u32(&w, 56);
    wire_put_u32(&w, flags);
    wire_put_bytes(&w, server_chal, 8);
    wire_put_zeros(&w, 8);
    wire_put_u16(&w, (uint16_t)iw.pos);
    wire_put_u16(&w, (uint16_t)iw.pos);
    wire_put_u32(&w, 56 + 12);
    wire_put_bytes(&w, "\x06\x00\x70\x17\x00\x00\x00\x0f", 8);
    wire_put_bytes(&w, dom, 12);
    wire_put_bytes(&w, info, iw.pos);
    cr_assert(wire_wok(&w));
    return w.pos;
}

#define V2_FLAGS 0xe28a8233u

Test(ntlmssp, negotiate_bytes)
{
    struct ntlm_creds cr;
    cr_assert_eq(ntlm_creds_init(&cr, "User", "Domain", "COMPUTER", "Password", true), 0);
    struct ntlmssp_client c;
    uint8_t *msg;
    size_t len;
    cr_assert_eq(ntlmssp_client_negotiate(&c, &cr, false, &msg, &len), 0);
    uint8_t exp[64];
    size_t n = unhex("4e544c4d5353500001000000178208e2000000002800000000000000280000000601000000"
                     "00000f",
                     exp, sizeof(exp));
    cr_assert_eq(len, n);
    cr_assert(memcmp(msg, exp, n) == 0);
    cr_assert_eq(c.negotiate_len, len);
    cr_assert(memcmp(c.negotiate, msg, len) == 0);
    free(msg);
    ntlmssp_client_free(&c);

    cr_assert_eq(ntlmssp_client_negotiate(&c, &cr, true, &msg, &len), 0);
    cr_assert_eq(wire_le32(msg + 12), 0xE2088217u | NTLMSSP_ANONYMOUS);
    free(msg);
    ntlmssp_client_free(&c);
    ntlm_creds_free(&cr);
}

Test(ntlmssp, parse_challenge_fields)
{
    uint8_t ch[256];
    size_t n = make_challenge(ch, sizeof(ch), V2_FLAGS, false, 0, true);
    struct ntlmssp_challenge p;
    cr_assert_eq(ntlmssp_parse_challenge(ch, n, &p), 0);
    cr_assert_eq(p.flags, V2_FLAGS);
    cr_assert(memcmp(p.server_challenge, server_chal, 8) == 0);
    cr_assert_eq(p.target_name_len, 12);
    cr_assert_eq(p.target_name, ch + 56);
    cr_assert_eq(p.target_info, ch + 68);
    cr_assert_eq(p.target_info_len, n - 68);
    cr_assert(p.has_timestamp);
    cr_assert_eq(p.timestamp, TS_VALUE);

    n = make_challenge(ch, sizeof(ch), V2_FLAGS, false, 0, false);
    cr_assert_eq(ntlmssp_parse_challenge(ch, n, &p), 0);
    cr_assert_not(p.has_timestamp);
}

Test(ntlmssp, parse_ms_nlmp_4_2_3_challenge)
{
    /* vectors/ntlmv1_ess.json challenge_message: no TARGET_INFO. */
    uint8_t ch[128];
    size_t n = unhex("4e544c4d53535000020000000c000c003800000033820a820123456789abcdef00000000000"
                     "000000000000000000000060070170000000f530065007200760065007200",
                     ch, sizeof(ch));
    struct ntlmssp_challenge p;
    cr_assert_eq(ntlmssp_parse_challenge(ch, n, &p), 0);
    cr_assert_eq(p.flags, 0x820a8233u);
    cr_assert(memcmp(p.server_challenge, server_chal, 8) == 0);
    cr_assert_eq(p.target_name_len, 12);
    cr_assert_null(p.target_info);
}

Test(ntlmssp, parse_short_challenge_without_target_info)
{
    /* 32-byte fixed part, target name right after it (Samba bug 10016). */
    uint8_t ch[64];
    struct wire_writer w;
    wire_writer_init(&w, ch, sizeof(ch));
    wire_put_bytes(&w, "NTLMSSP", 8);
    wire_put_u32(&w, 2);
    wire_put_u16(&w, 4);
    wire_put_u16(&w, 4);
    wire_put_u32(&w, 32);
    wire_put_u32(&w, NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_NTLM);
    wire_put_bytes(&w, server_chal, 8);
    wire_put_bytes(&w, "D\0S\0", 4);
    struct ntlmssp_challenge p;
    cr_assert_eq(ntlmssp_parse_challenge(ch, w.pos, &p), 0);
    cr_assert_eq(p.target_name, ch + 32);
    /* With TARGET_INFO announced, the same bytes are too short. */
    wire_st32(ch + 20, NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_TARGET_INFO);
    cr_assert_eq(ntlmssp_parse_challenge(ch, w.pos, &p), -EINVAL);
}

Test(ntlmssp, truncated_challenge_is_einval_at_every_length)
{
    uint8_t ch[256];
    size_t n = make_challenge(ch, sizeof(ch), V2_FLAGS, true, 1, true);
    struct ntlm_creds cr;
    cr_assert_eq(ntlm_creds_init(&cr, "User", "Domain", "COMPUTER", "Password", true), 0);
    for (size_t k = 0; k < n; k++) {
        /* A fresh heap copy of exactly k bytes, so ASan sees any overread. */
        uint8_t *t = malloc(k ? k : 1);
        memcpy(t, ch, k);
        struct ntlmssp_challenge p;
        cr_assert_eq(ntlmssp_parse_challenge(t, k, &p), -EINVAL, "length %zu", k);
        struct ntlmssp_client c;
        uint8_t *neg, *auth = NULL;
        size_t nl, al;
        cr_assert_eq(ntlmssp_client_negotiate(&c, &cr, false, &neg, &nl), 0);
        cr_assert_eq(ntlmssp_client_authenticate(&c, t, k, 0, &auth, &al), -EINVAL);
        cr_assert_null(auth);
        cr_assert_not(c.have_key);
        free(neg);
        ntlmssp_client_free(&c);
        free(t);
    }
    ntlm_creds_free(&cr);
}

Test(ntlmssp, corrupted_challenges_never_crash)
{
    uint8_t ch[256];
    size_t n = make_challenge(ch, sizeof(ch), V2_FLAGS, true, 1, true);
    struct ntlm_creds cr;
    cr_assert_eq(ntlm_creds_init(&cr, "User", "Domain", "COMPUTER", "Password", true), 0);
    const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    int accepted = 0, refused = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t v = 0; v < sizeof(vals); v++) {
            uint8_t *t = malloc(n);
            memcpy(t, ch, n);
            t[i] = vals[v];
            struct ntlmssp_client c;
            uint8_t *neg, *auth = NULL;
            size_t nl, al = 0;
            cr_assert_eq(ntlmssp_client_negotiate(&c, &cr, false, &neg, &nl), 0);
            int rc = ntlmssp_client_authenticate(&c, t, n, 0, &auth, &al);
            cr_assert(rc == 0 || rc == -EINVAL);
            if (rc == 0) {
                accepted++;
                cr_assert_not_null(auth);
            } else {
                refused++;
            }
            free(auth);
            free(neg);
            ntlmssp_client_free(&c);
            free(t);
        }
    }
    cr_assert_gt(accepted, 0);
    cr_assert_gt(refused, 0);
    ntlm_creds_free(&cr);
}

static void expect_bad(const uint8_t *ch, size_t n, const char *what)
{
    struct ntlmssp_challenge p;
    cr_assert_eq(ntlmssp_parse_challenge(ch, n, &p), -EINVAL, "%s accepted", what);
}

Test(ntlmssp, malformed_challenges_are_refused)
{
    uint8_t base[256], ch[256];
    size_t n = make_challenge(base, sizeof(base), V2_FLAGS, false, 0, true);
    size_t info = 68; /* TargetInfo offset */

    memcpy(ch, base, n);
    ch[0] = 'X';
    expect_bad(ch, n, "bad signature");
    memcpy(ch, base, n);
    ch[8] = 3;
    expect_bad(ch, n, "type 3");
    memcpy(ch, base, n);
    wire_st32(ch + 16, 40); /* target name inside the fixed header */
    expect_bad(ch, n, "name offset in header");
    memcpy(ch, base, n);
    wire_st16(ch + 12, 11);
    expect_bad(ch, n, "odd Unicode name");
    memcpy(ch, base, n);
    wire_st32(ch + 16, 0xFFFFFFF0u);
    expect_bad(ch, n, "name offset past end");
    memcpy(ch, base, n);
    wire_st16(ch + 40, (uint16_t)(n - info + 1));
    expect_bad(ch, n, "target info past end");
    memcpy(ch, base, n);
    wire_st16(ch + 40, (uint16_t)(n - info - 4));
    expect_bad(ch, n - 4, "no EOL");
    memcpy(ch, base, n);
    wire_st16(ch + n - 2, 4);
    expect_bad(ch, n, "EOL with a length");
    memcpy(ch, base, n);
    ch[n] = 0;
    wire_st16(ch + 40, (uint16_t)(n + 1 - info));
    expect_bad(ch, n + 1, "byte after EOL");
    memcpy(ch, base, n);
    wire_st16(ch + info + 16 + 16 + 2, 7); /* timestamp length 7 */
    expect_bad(ch, n, "short timestamp");
    memcpy(ch, base, n);
    wire_st16(ch + info + 2, 0xFFFF); /* first pair runs off the list */
    expect_bad(ch, n, "AV pair past list");

    /* Duplicate timestamp. */
    uint8_t dup[256];
    memcpy(dup, base, n - 4);
    memcpy(dup + n - 4, base + n - 16, 12);
    memset(dup + n + 8, 0, 4);
    wire_st16(dup + 40, (uint16_t)(n + 12 - info));
    expect_bad(dup, n + 12, "two timestamps");

    /* The unmodified message is fine (the cases above fail for their own
     * reason, not because the base is broken). */
    struct ntlmssp_challenge p;
    cr_assert_eq(ntlmssp_parse_challenge(base, n, &p), 0);
}

/* A field of an AUTHENTICATE_MESSAGE, bounds-checked. */
static const uint8_t *field(const uint8_t *msg, size_t len, size_t at, size_t *flen)
{
    struct wire_reader r;
    wire_reader_init(&r, msg, len);
    wire_seek(&r, at);
    uint16_t l = wire_u16(&r);
    uint16_t ml = wire_u16(&r);
    uint32_t off = wire_u32(&r);
    cr_assert(wire_ok(&r));
    cr_assert_eq(l, ml);
    struct wire_reader sub;
    wire_sub(&r, off, l, &sub);
    cr_assert(wire_ok(&sub), "field at %zu outside the message", at);
    *flen = l;
    return l ? sub.buf : NULL;
}

static void expect_utf16(const uint8_t *p, size_t n, const char *ascii)
{
    cr_assert_eq(n, 2 * strlen(ascii));
    for (size_t i = 0; i < strlen(ascii); i++) {
        cr_assert_eq(p[2 * i], (uint8_t)ascii[i]);
        cr_assert_eq(p[2 * i + 1], 0);
    }
}

/* Finds AV pair id in a list; returns its value or NULL. */
static const uint8_t *find_av(const uint8_t *p, size_t n, uint16_t id, size_t *len)
{
    struct wire_reader r;
    wire_reader_init(&r, p, n);
    while (wire_remaining(&r) >= 4) {
        uint16_t i = wire_u16(&r);
        uint16_t l = wire_u16(&r);
        const uint8_t *v = wire_bytes(&r, l);
        cr_assert_not_null(v);
        if (i == id) {
            *len = l;
            return v;
        }
        if (i == 0)
            break;
    }
    return NULL;
}

struct auth_view {
    const uint8_t *lm, *nt, *dom, *user, *ws, *key;
    size_t lm_len, nt_len, dom_len, user_len, ws_len, key_len;
    uint32_t flags;
};

static void view_auth(const uint8_t *msg, size_t len, struct auth_view *v)
{
    cr_assert_geq(len, 72);
    cr_assert(memcmp(msg, "NTLMSSP", 8) == 0);
    cr_assert_eq(wire_le32(msg + 8), 3);
    v->lm = field(msg, len, 12, &v->lm_len);
    v->nt = field(msg, len, 20, &v->nt_len);
    v->dom = field(msg, len, 28, &v->dom_len);
    v->user = field(msg, len, 36, &v->user_len);
    v->ws = field(msg, len, 44, &v->ws_len);
    v->key = field(msg, len, 52, &v->key_len);
    v->flags = wire_le32(msg + 60);
    cr_assert_eq(msg[71], 0x0F, "NTLM revision");
}

/* Checks the NTLMv2 response against an independent recomputation and
 * returns the SessionBaseKey. */
static void check_v2(const struct auth_view *v, const uint8_t v2[16], uint8_t sbk[16])
{
    cr_assert_gt(v->nt_len, 16 + 28 + 4, "an NTLMv2 response, never v1");
    uint8_t buf[512], proof[16];
    cr_assert_lt(v->nt_len, sizeof(buf));
    memcpy(buf, server_chal, 8);
    memcpy(buf + 8, v->nt + 16, v->nt_len - 16);
    cr_assert_eq(ntlm_hmac_md5(v2, 16, buf, 8 + v->nt_len - 16, proof), 0);
    cr_assert(memcmp(proof, v->nt, 16) == 0, "NTProofStr");
    cr_assert_eq(ntlm_hmac_md5(v2, 16, v->nt, 16, sbk), 0);
    cr_assert_eq(v->nt[16], 1);
    cr_assert_eq(v->nt[17], 1);
}

static void auth_roundtrip(bool with_ts, bool with_flags, uint32_t chal_flags)
{
    struct ntlm_creds cr;
    cr_assert_eq(ntlm_creds_init(&cr, "User", "Domain", "COMPUTER", "Password", true), 0);
    uint8_t v2[16];
    unhex("0c868a403bfd7a93a3001ef22ef02e3f", v2, 16); /* MS-NLMP 4.2.4.1.1 */

    struct ntlmssp_client c;
    uint8_t *neg, *auth;
    size_t nl, al;
    cr_assert_eq(ntlmssp_client_negotiate(&c, &cr, false, &neg, &nl), 0);
    uint8_t ch[256];
    size_t n = make_challenge(ch, sizeof(ch), chal_flags, with_flags, 0x1, with_ts);
    const uint64_t now = 0x01d0000000000001ull;
    cr_assert_eq(ntlmssp_client_authenticate(&c, ch, n, now, &auth, &al), 0);

    struct auth_view v;
    view_auth(auth, al, &v);
    expect_utf16(v.dom, v.dom_len, "Domain");
    expect_utf16(v.user, v.user_len, "User");
    expect_utf16(v.ws, v.ws_len, "COMPUTER");
    cr_assert_eq(v.flags & NTLMSSP_NEGOTIATE_OEM, 0);
    cr_assert(v.flags & NTLMSSP_NEGOTIATE_UNICODE);
    cr_assert_eq(v.flags, c.flags);
    cr_assert_eq(v.flags & ~(chal_flags | 0u), 0, "no flag the server did not offer");

    uint8_t sbk[16];
    check_v2(&v, v2, sbk);
    const uint8_t *temp = v.nt + 16;
    size_t temp_len = v.nt_len - 16;
    const uint8_t *cc = temp + 16;
    const uint8_t *av = temp + 28;
    size_t av_len = temp_len - 28 - 4;
    cr_assert_eq(wire_le32(temp + 8) | (uint64_t)wire_le32(temp + 12) << 32,
                 with_ts ? TS_VALUE : now);

    size_t l;
    const uint8_t *dom = find_av(av, av_len, 2, &l);
    cr_assert_not_null(dom, "server's AV pairs echoed");
    const uint8_t *fl = find_av(av, av_len, 6, &l);
    cr_assert_eq(v.lm_len, 24);
    if (with_ts) {
        cr_assert_not_null(fl);
        cr_assert_eq(wire_le32(fl), (with_flags ? 1u : 0u) | NTLMSSP_AVFLAG_MIC);
        static const uint8_t z[24];
        cr_assert(memcmp(v.lm, z, 24) == 0, "LM response Z(24) with a timestamp");
    } else {
        if (with_flags)
            cr_assert_eq(wire_le32(fl), 1u, "flags passed through unchanged");
        else
            cr_assert_null(fl);
        uint8_t lm[16], buf[16];
        memcpy(buf, server_chal, 8);
        memcpy(buf + 8, cc, 8);
        cr_assert_eq(ntlm_hmac_md5(v2, 16, buf, 16, lm), 0);
        cr_assert(memcmp(lm, v.lm, 16) == 0, "LMv2");
        cr_assert(memcmp(cc, v.lm + 16, 8) == 0);
    }

    uint8_t exported[16];
    if (chal_flags & NTLMSSP_NEGOTIATE_KEY_EXCH) {
        cr_assert(v.flags & NTLMSSP_NEGOTIATE_KEY_EXCH);
        cr_assert_eq(v.key_len, 16);
        cr_assert_eq(ntlm_rc4(sbk, v.key, 16, exported), 0);
        cr_assert(memcmp(exported, sbk, 16) != 0);
    } else {
        cr_assert_eq(v.key_len, 0);
        memcpy(exported, sbk, 16);
    }
    cr_assert(c.have_key);
    cr_assert(memcmp(exported, c.exported_session_key, 16) == 0);

    /* First payload right after the header (72, or 88 with a MIC). */
    size_t hdr = with_ts ? 88 : 72;
    cr_assert_eq(v.dom - auth, (ptrdiff_t)hdr);
    cr_assert_eq(c.sent_mic, with_ts);
    if (with_ts) {
        uint8_t zeroed[1024], mic[16];
        cr_assert_lt(al, sizeof(zeroed));
        memcpy(zeroed, auth, al);
        memset(zeroed + 72, 0, 16);
        struct ntlm_iov iov[3] = {{neg, nl}, {ch, n}, {zeroed, al}};
        cr_assert_eq(ntlm_hmac_md5_v(exported, 16, iov, 3, mic), 0);
        cr_assert(memcmp(mic, auth + 72, 16) == 0, "MIC");
    }
    free(auth);
    free(neg);
    ntlmssp_client_free(&c);
    cr_assert_not(c.have_key);
    ntlm_creds_free(&cr);
}

Test(ntlmssp, authenticate_without_timestamp_uses_lmv2_and_no_mic)
{
    auth_roundtrip(false, false, V2_FLAGS);
}

Test(ntlmssp, authenticate_with_timestamp_has_mic)
{
    auth_roundtrip(true, false, V2_FLAGS);
}

Test(ntlmssp, authenticate_merges_existing_av_flags)
{
    auth_roundtrip(true, true, V2_FLAGS);
    auth_roundtrip(false, true, V2_FLAGS);
}

Test(ntlmssp, authenticate_without_key_exch_exports_session_base_key)
{
    auth_roundtrip(true, false, V2_FLAGS & ~NTLMSSP_NEGOTIATE_KEY_EXCH);
}

Test(ntlmssp, v1_only_challenge_still_gets_ntlmv2)
{
    /* The MS-NLMP 4.2.3 (NTLMv1 + ESS) challenge: no target info, but the
     * answer is still an NTLMv2 response with just MsvAvEOL. */
    uint8_t ch[128];
    size_t n = unhex("4e544c4d53535000020000000c000c003800000033820a820123456789abcdef00000000000"
                     "000000000000000000000060070170000000f530065007200760065007200",
                     ch, sizeof(ch));
    struct ntlm_creds cr;
    cr_assert_eq(ntlm_creds_init(&cr, "User", "Domain", "COMPUTER", "Password", true), 0);
    struct ntlmssp_client c;
    uint8_t *neg, *auth;
    size_t nl, al;
    cr_assert_eq(ntlmssp_client_negotiate(&c, &cr, false, &neg, &nl), 0);
    cr_assert_eq(ntlmssp_client_authenticate(&c, ch, n, 5, &auth, &al), 0);
    struct auth_view v;
    view_auth(auth, al, &v);
    uint8_t v2[16], sbk[16];
    unhex("0c868a403bfd7a93a3001ef22ef02e3f", v2, 16);
    check_v2(&v, v2, sbk);
    cr_assert_eq(v.nt_len, 16 + 28 + 4 + 4);
    cr_assert_eq(v.key_len, 0, "server did not offer KEY_EXCH");
    cr_assert(memcmp(c.exported_session_key, sbk, 16) == 0);
    free(auth);
    free(neg);
    ntlmssp_client_free(&c);
    ntlm_creds_free(&cr);
}

Test(ntlmssp, oem_only_challenge_is_refused)
{
    uint8_t ch[256];
    size_t n =
        make_challenge(ch, sizeof(ch), V2_FLAGS & ~NTLMSSP_NEGOTIATE_UNICODE, false, 0, false);
    struct ntlm_creds cr;
    cr_assert_eq(ntlm_creds_init(&cr, "User", "Domain", "COMPUTER", "Password", true), 0);
    struct ntlmssp_client c;
    uint8_t *neg, *auth = NULL;
    size_t nl, al;
    cr_assert_eq(ntlmssp_client_negotiate(&c, &cr, false, &neg, &nl), 0);
    cr_assert_eq(ntlmssp_client_authenticate(&c, ch, n, 0, &auth, &al), -EINVAL);
    cr_assert_null(auth);
    free(neg);
    ntlmssp_client_free(&c);
    ntlm_creds_free(&cr);
}

Test(ntlmssp, authenticate_before_negotiate_is_einval)
{
    struct ntlmssp_client c;
    memset(&c, 0, sizeof(c));
    uint8_t ch[256], *auth = NULL;
    size_t n = make_challenge(ch, sizeof(ch), V2_FLAGS, false, 0, false), al;
    cr_assert_eq(ntlmssp_client_authenticate(&c, ch, n, 0, &auth, &al), -EINVAL);
}

Test(ntlmssp, anonymous)
{
    struct ntlm_creds cr;
    cr_assert_eq(ntlm_creds_init(&cr, "", "", "COMPUTER", "", true), 0);
    struct ntlmssp_client c;
    uint8_t *neg, *auth;
    size_t nl, al;
    cr_assert_eq(ntlmssp_client_negotiate(&c, &cr, true, &neg, &nl), 0);
    uint8_t ch[256];
    size_t n = make_challenge(ch, sizeof(ch), V2_FLAGS, false, 0, true);
    cr_assert_eq(ntlmssp_client_authenticate(&c, ch, n, 0, &auth, &al), 0);
    struct auth_view v;
    view_auth(auth, al, &v);
    cr_assert_eq(v.lm_len, 0);
    cr_assert_eq(v.nt_len, 0);
    cr_assert_eq(v.user_len, 0);
    cr_assert_eq(v.dom_len, 0);
    expect_utf16(v.ws, v.ws_len, "COMPUTER");
    cr_assert(v.flags & NTLMSSP_ANONYMOUS);
    /* KEY_EXCH was agreed: the field is there (under the zero key), but no
     * key is kept and no MIC is sent. */
    cr_assert_eq(v.key_len, 16);
    cr_assert_not(c.have_key);
    cr_assert_not(c.sent_mic);
    cr_assert_eq(al, 72 + 16 + 16);
    free(auth);
    free(neg);
    ntlmssp_client_free(&c);
    ntlm_creds_free(&cr);
}

/* A client state after an AUTHENTICATE with the MS-NLMP 4.2.4 random
 * session key as ExportedSessionKey. */
static void keyed_client(struct ntlmssp_client *c, uint32_t flags)
{
    memset(c, 0, sizeof(*c));
    memset(c->exported_session_key, 0x55, 16);
    c->have_key = true;
    c->flags = flags;
}

/* MS-NLMP 4.2.4.4: client SignKey and SealKey for ExportedSessionKey 0x55*16. */
#define CLIENT_SIGN_KEY "4788dc861b4782f35d43fd98fe1a2d39"
#define CLIENT_SEAL_KEY "59f600973cc4960a25480a7c196e4c58"

Test(ntlmssp, mech_list_mic_uses_ms_nlmp_keys)
{
    const uint8_t list[] = {0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01,
                            0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};
    uint8_t sign_key[16], seal_key[16], seqmsg[4 + sizeof(list)], mac[16], sealed[8];
    unhex(CLIENT_SIGN_KEY, sign_key, 16);
    unhex(CLIENT_SEAL_KEY, seal_key, 16);
    memset(seqmsg, 0, 4);
    memcpy(seqmsg + 4, list, sizeof(list));
    cr_assert_eq(ntlm_hmac_md5(sign_key, 16, seqmsg, sizeof(seqmsg), mac), 0);
    cr_assert_eq(ntlm_rc4(seal_key, mac, 8, sealed), 0);

    struct ntlmssp_client c;
    uint8_t sig[16];
    keyed_client(&c, V2_FLAGS);
    cr_assert_eq(ntlmssp_client_sign_mech_list(&c, list, sizeof(list), sig), 0);
    cr_assert_eq(wire_le32(sig), 1, "signature version");
    cr_assert(memcmp(sig + 4, sealed, 8) == 0, "checksum sealed under KEY_EXCH");
    cr_assert_eq(wire_le32(sig + 12), 0, "sequence number");

    /* Without KEY_EXCH the checksum goes out in clear. */
    keyed_client(&c, V2_FLAGS & ~NTLMSSP_NEGOTIATE_KEY_EXCH);
    cr_assert_eq(ntlmssp_client_sign_mech_list(&c, list, sizeof(list), sig), 0);
    cr_assert(memcmp(sig + 4, mac, 8) == 0);

    /* No key, or no ESS: nothing to sign with. */
    keyed_client(&c, V2_FLAGS & ~NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY);
    cr_assert_eq(ntlmssp_client_sign_mech_list(&c, list, sizeof(list), sig), -EINVAL);
    keyed_client(&c, V2_FLAGS);
    c.have_key = false;
    cr_assert_eq(ntlmssp_client_sign_mech_list(&c, list, sizeof(list), sig), -EINVAL);
}

Test(ntlmssp, server_mech_list_mic_is_checked)
{
    const uint8_t msg[] = "mechTypes";
    /* The server direction's keys, from MS-NLMP 3.4.5.2/3.4.5.3's constants. */
    const char *sign_magic = "session key to server-to-client signing key magic constant";
    const char *seal_magic = "session key to server-to-client sealing key magic constant";
    uint8_t buf[128], sign_key[16], seal_key[16], mac[16], mic[16];
    memset(buf, 0x55, 16);
    memcpy(buf + 16, sign_magic, strlen(sign_magic) + 1);
    cr_assert_eq(ntlm_md5(buf, 16 + strlen(sign_magic) + 1, sign_key), 0);
    memcpy(buf + 16, seal_magic, strlen(seal_magic) + 1);
    cr_assert_eq(ntlm_md5(buf, 16 + strlen(seal_magic) + 1, seal_key), 0);
    memset(buf, 0, 4);
    memcpy(buf + 4, msg, sizeof(msg));
    cr_assert_eq(ntlm_hmac_md5(sign_key, 16, buf, 4 + sizeof(msg), mac), 0);
    wire_st32(mic, 1);
    cr_assert_eq(ntlm_rc4(seal_key, mac, 8, mic + 4), 0);
    wire_st32(mic + 12, 0);

    struct ntlmssp_client c;
    keyed_client(&c, V2_FLAGS);
    cr_assert_eq(ntlmssp_client_check_mech_list(&c, msg, sizeof(msg), mic, 16), 0);
    for (size_t i = 0; i < 16; i++) {
        uint8_t bad[16];
        memcpy(bad, mic, 16);
        bad[i] ^= 0x01;
        cr_assert_eq(ntlmssp_client_check_mech_list(&c, msg, sizeof(msg), bad, 16), -EACCES,
                     "byte %zu", i);
    }
    cr_assert_eq(ntlmssp_client_check_mech_list(&c, msg, sizeof(msg), mic, 15), -EINVAL);
    /* Our own (client-direction) signature is not the server's. */
    uint8_t own[16];
    cr_assert_eq(ntlmssp_client_sign_mech_list(&c, msg, sizeof(msg), own), 0);
    cr_assert_eq(ntlmssp_client_check_mech_list(&c, msg, sizeof(msg), own, 16), -EACCES);
}

Test(ntlmssp, no_mic_without_extended_session_security)
{
    /* A timestamp but no ESS: the mechListMIC could not be made, so the
     * MIC bit is not promised; the LM response is still Z(24). */
    uint8_t ch[256];
    size_t n = make_challenge(
        ch, sizeof(ch), V2_FLAGS & ~NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY, false, 0, true);
    struct ntlm_creds cr;
    cr_assert_eq(ntlm_creds_init(&cr, "User", "Domain", "COMPUTER", "Password", true), 0);
    struct ntlmssp_client c;
    uint8_t *neg, *auth;
    size_t nl, al;
    cr_assert_eq(ntlmssp_client_negotiate(&c, &cr, false, &neg, &nl), 0);
    cr_assert_eq(ntlmssp_client_authenticate(&c, ch, n, 0, &auth, &al), 0);
    cr_assert_not(c.sent_mic);
    struct auth_view v;
    view_auth(auth, al, &v);
    cr_assert_eq(v.dom - auth, 72);
    size_t l;
    cr_assert_null(find_av(v.nt + 16 + 28, v.nt_len - 16 - 28 - 4, 6, &l));
    static const uint8_t z[24];
    cr_assert(memcmp(v.lm, z, 24) == 0);
    free(auth);
    free(neg);
    ntlmssp_client_free(&c);
    ntlm_creds_free(&cr);
}

/* The CHALLENGE smbd 4.17 sent on 127.0.0.1 (inside test_spnego's
 * SMBD_REPLY1): target "AUTHTEST", AV pairs NbDomainName, NbComputerName,
 * an empty DnsDomainName, DnsComputerName "vm", Timestamp. */
#define SMBD_CHALLENGE                                                                             \
    "4e544c4d5353500002000000100010003800000015828ae2bce45abd456bff0300000000000000004400440048"   \
    "000000060100000000000f410055005400480054004500530054000200100041005500540048005400450053"     \
    "0054000100100041005500540048005400450053005400040000000300040076006d00070008003eaee1a03f7c"   \
    "dd0100000000"

Test(ntlmssp, captured_smbd_challenge)
{
    uint8_t ch[256];
    size_t n = unhex(SMBD_CHALLENGE, ch, sizeof(ch));
    cr_assert_eq(n, 140);
    struct ntlmssp_challenge p;
    cr_assert_eq(ntlmssp_parse_challenge(ch, n, &p), 0);
    cr_assert_eq(p.flags, 0xe28a8215u);
    expect_utf16(p.target_name, p.target_name_len, "AUTHTEST");
    cr_assert_eq(p.target_info_len, 68);
    cr_assert(p.has_timestamp);
    cr_assert_eq(p.timestamp, 0x01dd7c3fa0e1ae3eull);
    for (size_t k = 0; k < n; k++) {
        uint8_t *t = malloc(k ? k : 1);
        memcpy(t, ch, k);
        cr_assert_eq(ntlmssp_parse_challenge(t, k, &p), -EINVAL, "length %zu", k);
        free(t);
    }

    /* What smbd accepted in the end-to-end run: NTLMv2 echoing all five
     * pairs plus MsvAvFlags, LM Z(24), a MIC. */
    struct ntlm_creds cr;
    cr_assert_eq(ntlm_creds_init(&cr, "root", "AUTHWG", "E2EWS", "Auth-pass1", true), 0);
    struct ntlmssp_client c;
    uint8_t *neg, *auth;
    size_t nl, al;
    cr_assert_eq(ntlmssp_client_negotiate(&c, &cr, false, &neg, &nl), 0);
    cr_assert_eq(ntlmssp_client_authenticate(&c, ch, n, 0, &auth, &al), 0);
    cr_assert(c.sent_mic);
    cr_assert_eq(c.flags, 0xe2888215u);
    struct auth_view v;
    view_auth(auth, al, &v);
    cr_assert_eq(v.nt_len, 16 + 28 + (68 - 4) + 8 + 4 + 4);
    free(auth);
    free(neg);
    ntlmssp_client_free(&c);
    ntlm_creds_free(&cr);
}
