/* sign: SMB1 MACs. The expected MACs were computed independently with
 * Python's hashlib (MD5(key || frame with seq in the signature field))[:8]
 * over signed replies captured from Samba, with the MAC keys from
 * shared/protocol/vectors/smb1_signing_derived.json. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link/sign.h"
#include "wire/smb1_proto.h"
#include "wire/wire.h"

/* clang-format off */
static const char sess_ok_signed_hex[] =
    "ff534d4273000000008817c800001c145efd9ba4a0ff000000002766b1d1020004ff00000000001d007300a11b3019a0"
    "030a0100a312041001000000bfa4d1acec030af500000000570069006e0064006f0077007300200036002e0031000000"
    "530061006d0062006100200034002e00310037002e00310032002d00440065006200690061006e00000057004f005200"
    "4b00470052004f00550050000000"
;
static const char trans2_find_signed_hex[] =
    "ff534d4232000000008817c80000bcb90fd1f203b445000026032766b1d107000a0a002c0100000a00380000002c0144"
    "0000000000390100ffff030001000000c4000000600000000000000068a5539b3f7cdd01deb4539b3f7cdd0168a5539b"
    "3f7cdd0168a5539b3f7cdd01000000000000000000000000000000001000000002000000000000000000000000000000"
    "0000000000000000000000000000000000002e0064000000000000007f5940963f7cdd017f5940963f7cdd0133b3529b"
    "3f7cdd0133b3529b3f7cdd01000000000000000000000000000000001000000004000000000000000000000000000000"
    "0000000000000000000000000000000000002e002e00000068000000000000007d07b9923f7cdd01832d539b3f7cdd01"
    "7d07b9923f7cdd017d07b9923f7cdd0106000000000000000010000000000000800000000a0000000000000000000000"
    "0000000000000000000000000000000000000000000061002e00740078007400"
;

/* smb1_signing_derived.json */
static const char key_ext_hex[] = "55555555555555555555555555555555";
static const char key_v1_hex[] =
    "d87262b0cde4b1cb7499becccdf1078467c43011f30298a2ad35ece64f16331c44bdbed927841f94";
static const char key_v2_hex[] =
    "8de40ccadbc14a82f15cb0ad0de95ca368cd0ab851e51c96aabc927bebef6a1c01010000000000000000000000000000"
    "aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e0001000c0053006500720076006500720000000000"
    "00000000";
/* clang-format on */

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
    size_t l = strlen(h) / 2;
    cr_assert_leq(l, cap);
    for (size_t i = 0; i < l; i++) {
        unsigned v;
        cr_assert_eq(sscanf(h + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return l;
}

static uint8_t *frame(const char *hex, size_t *n)
{
    uint8_t tmp[1024];
    *n = unhex(hex, tmp, sizeof(tmp));
    uint8_t *f = malloc(*n);
    memcpy(f, tmp, *n);
    return f;
}

/* key = whole MAC key from the vectors: split as 16-byte session key plus
 * the response, the way the session code hands it over. */
static void key_from(struct sign_key *k, const char *hex)
{
    uint8_t raw[SIGN_MAX_KEY];
    size_t n = unhex(hex, raw, sizeof(raw));
    cr_assert_eq(sign_key_init(k, raw, 16, n > 16 ? raw + 16 : NULL, n - 16), 0);
    cr_assert_eq(k->len, n);
    cr_assert_arr_eq(k->key, raw, n);
}

static void mac_hex(const uint8_t mac[8], char out[17])
{
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

Test(sign, known_macs)
{
    struct sign_key k;
    uint8_t mac[8];
    char h[17];
    size_t n;
    uint8_t *f = frame(sess_ok_signed_hex, &n);
    key_from(&k, key_ext_hex);
    sign_mac(&k, f, n, 1, mac);
    mac_hex(mac, h);
    cr_assert_str_eq(h, "41d59f90f909b6b8");

    uint8_t *g = frame(trans2_find_signed_hex, &n);
    key_from(&k, key_v2_hex);
    sign_mac(&k, g, n, 7, mac);
    mac_hex(mac, h);
    cr_assert_str_eq(h, "93d28c757afeae14");

    key_from(&k, key_v1_hex);
    sign_mac(&k, g, n, 4, mac);
    mac_hex(mac, h);
    cr_assert_str_eq(h, "ee27b9a45e4170dd");
    free(f);
    free(g);
}

Test(sign, apply_then_verify_and_every_bit_flip_fails)
{
    struct sign_key k;
    size_t n;
    uint8_t *f = frame(trans2_find_signed_hex, &n);
    key_from(&k, key_v2_hex);
    /* Clear the flag so sign_apply must set it (and the MAC covers it). */
    wire_st16(f + SMB1_HDR_FLAGS2,
              (uint16_t)(wire_le16(f + SMB1_HDR_FLAGS2) & ~SMB1_FLAGS2_SECURITY_SIGNATURE));
    sign_apply(&k, f, n, 7);
    cr_assert(wire_le16(f + SMB1_HDR_FLAGS2) & SMB1_FLAGS2_SECURITY_SIGNATURE);
    static const uint8_t want[8] = {0x93, 0xd2, 0x8c, 0x75, 0x7a, 0xfe, 0xae, 0x14};
    cr_assert_arr_eq(f + SMB1_HDR_SIGNATURE, want, 8);
    cr_assert(sign_verify(&k, f, n, 7));
    cr_assert_not(sign_verify(&k, f, n, 6));
    cr_assert_not(sign_verify(&k, f, n, 8));
    cr_assert_not(sign_verify(&k, f, n, 7 + 0x10000));
    for (size_t bit = 0; bit < n * 8; bit++) {
        f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        cr_assert_not(sign_verify(&k, f, n, 7), "bit %zu flipped still verifies", bit);
        f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    cr_assert(sign_verify(&k, f, n, 7));
    /* A shorter or longer frame is a different message. */
    cr_assert_not(sign_verify(&k, f, n - 1, 7));
    free(f);
}

Test(sign, verify_does_not_modify_frame)
{
    struct sign_key k;
    size_t n;
    uint8_t *f = frame(sess_ok_signed_hex, &n);
    uint8_t *before = malloc(n);
    memcpy(before, f, n);
    key_from(&k, key_ext_hex);
    cr_assert_not(sign_verify(&k, f, n, 1)); /* captured with Samba's own key */
    cr_assert_arr_eq(f, before, n);
    sign_apply(&k, f, n, 1);
    memcpy(before, f, n);
    cr_assert(sign_verify(&k, f, n, 1));
    cr_assert_not(sign_verify(&k, f, n, 3));
    cr_assert_arr_eq(f, before, n);
    uint8_t mac[8];
    sign_mac(&k, f, n, 99, mac);
    cr_assert_arr_eq(f, before, n);
    free(before);
    free(f);
}

Test(sign, wrong_key_fails)
{
    struct sign_key k, other;
    size_t n;
    uint8_t *f = frame(sess_ok_signed_hex, &n);
    key_from(&k, key_ext_hex);
    key_from(&other, key_v1_hex);
    sign_apply(&k, f, n, 1);
    cr_assert(sign_verify(&k, f, n, 1));
    cr_assert_not(sign_verify(&other, f, n, 1));
    free(f);
}

Test(sign, key_init_checks_and_padding)
{
    struct sign_key k;
    uint8_t sk[17] = {1, 2, 3};
    uint8_t resp[24] = {9};
    cr_assert_eq(sign_key_init(&k, sk, 0, NULL, 0), -EINVAL);
    cr_assert_eq(sign_key_init(&k, sk, 17, NULL, 0), -EINVAL);
    cr_assert_eq(sign_key_init(&k, NULL, 16, NULL, 0), -EINVAL);
    cr_assert_eq(sign_key_init(&k, sk, 16, NULL, 5), -EINVAL);
    cr_assert_eq(sign_key_init(&k, sk, 16, resp, SIGN_MAX_KEY - 15), -EINVAL);
    /* An 8-byte key is stored zero padded to 16 (MS-CIFS 3.2.5.3). */
    cr_assert_eq(sign_key_init(&k, sk, 8, resp, 24), 0);
    cr_assert_eq(k.len, 40);
    static const uint8_t zero8[8];
    cr_assert_arr_eq(k.key + 8, zero8, 8);
    cr_assert_eq(k.key[16], 9);
}

Test(sign, wipe_clears_key)
{
    struct sign_key k;
    key_from(&k, key_v2_hex);
    sign_key_wipe(&k);
    static const struct sign_key zero;
    cr_assert_arr_eq(&k, &zero, sizeof(k));
    uint8_t f[64] = {0xFF, 'S', 'M', 'B'};
    cr_assert_not(sign_verify(&k, f, sizeof(f), 0), "a wiped key verifies nothing");
}

Test(sign, short_frame_never_verifies)
{
    struct sign_key k;
    key_from(&k, key_ext_hex);
    uint8_t f[31] = {0};
    cr_assert_not(sign_verify(&k, f, sizeof(f), 0));
    cr_assert_not(sign_verify(&k, f, 0, 0));
}

/* The batch check answers exactly as sign_verify: for the captured replies
 * under the NTLMv2 (16-byte) and NTLMv1 (40-byte) keys, for long frames
 * like READ_ANDX replies, with one bit flipped or the wrong number in
 * some of them, and for a frame too short to hold a header. */
Test(sign, verify_many_matches_verify)
{
    enum { N = 19 };
    const char *keys[] = {key_v2_hex, key_v1_hex, key_ext_hex};
    for (size_t kk = 0; kk < sizeof(keys) / sizeof(keys[0]); kk++) {
        struct sign_key k;
        key_from(&k, keys[kk]);
        uint8_t *fr[N];
        struct sign_check c[N];
        for (size_t i = 0; i < N; i++) {
            size_t n;
            if (i % 3 == 0) {
                fr[i] = frame(trans2_find_signed_hex, &n);
            } else {
                n = 32 + (i * 4099) % 70000;
                fr[i] = malloc(n);
                for (size_t b = 0; b < n; b++)
                    fr[i][b] = (uint8_t)(b * 31 + i);
            }
            uint32_t seq = (uint32_t)(100 + 2 * i);
            sign_apply(&k, fr[i], n, seq);
            c[i] = (struct sign_check){.smb = fr[i], .len = n, .seq = seq};
        }
        fr[4][c[4].len - 1] ^= 0x01;       /* a bit of the data */
        fr[7][SMB1_HDR_SIGNATURE] ^= 0x80; /* a bit of the MAC */
        c[9].seq++;                        /* another request's number */
        c[12].len = 31;                    /* shorter than a header */
        sign_verify_many(&k, c, N);
        for (size_t i = 0; i < N; i++) {
            bool want = i != 4 && i != 7 && i != 9 && i != 12;
            cr_assert_eq(c[i].ok, want, "key %zu frame %zu", kk, i);
            cr_assert_eq(c[i].ok, sign_verify(&k, c[i].smb, c[i].len, c[i].seq), "frame %zu", i);
            free(fr[i]);
        }
    }
}

/* The batch signer writes the same bytes (flag and MAC) as sign_apply,
 * and leaves a frame too short to hold a header alone, as it does. */
Test(sign, apply_many_matches_apply)
{
    enum { N = 21 };
    struct sign_key k;
    key_from(&k, key_v1_hex);
    uint8_t *a[N], *b[N];
    size_t len[N];
    struct sign_check c[N];
    for (size_t i = 0; i < N; i++) {
        len[i] = i == 3 ? 20 : 32 + (i * 7919) % 66000;
        a[i] = malloc(len[i]);
        b[i] = malloc(len[i]);
        for (size_t j = 0; j < len[i]; j++)
            a[i][j] = (uint8_t)(j * 17 + i);
        memcpy(b[i], a[i], len[i]);
        uint32_t seq = (uint32_t)(2 * i + 1);
        sign_apply(&k, a[i], len[i], seq);
        c[i] = (struct sign_check){.smb = b[i], .len = len[i], .seq = seq};
    }
    sign_apply_many(&k, c, N);
    for (size_t i = 0; i < N; i++) {
        cr_assert_arr_eq(a[i], b[i], len[i], "frame %zu", i);
        if (len[i] >= SMB1_HDR_LEN)
            cr_assert(sign_verify(&k, b[i], len[i], (uint32_t)(2 * i + 1)));
        free(a[i]);
        free(b[i]);
    }
}
