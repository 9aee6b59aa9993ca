/* NTLM hashes and responses (MS-NLMP 3.3, 6) over OpenSSL 3.
 *
 * MD4, DES and RC4 live in OpenSSL's legacy provider. Loading it into the
 * default library context would change the behaviour of every other user
 * of OpenSSL in the process, so a private context with "legacy" and
 * "default" is created once and every algorithm is fetched from it. The
 * fetched objects are immutable after the one-time init and shared.
 */
#include "auth/ntlm.h"

#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include "wire/text.h"
#include "wire/wire.h"

/* Written once under crypto_once, read-only afterwards. */
static struct {
    OSSL_LIB_CTX *libctx;
    EVP_MD *md4;
    EVP_MD *md5;
    EVP_MAC *hmac;
    EVP_CIPHER *des_ecb;
    EVP_CIPHER *rc4;
    locale_t utf8_locale; /* (locale_t)0: upper-case ASCII only */
    bool ok;
} crypto;

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;

static void crypto_init(void)
{
    crypto.libctx = OSSL_LIB_CTX_new();
    if (!crypto.libctx)
        return;
    /* The providers stay loaded for the life of the process, like the
     * context they belong to. */
    if (!OSSL_PROVIDER_load(crypto.libctx, "legacy") ||
        !OSSL_PROVIDER_load(crypto.libctx, "default"))
        return;
    crypto.md4 = EVP_MD_fetch(crypto.libctx, "MD4", NULL);
    crypto.md5 = EVP_MD_fetch(crypto.libctx, "MD5", NULL);
    crypto.hmac = EVP_MAC_fetch(crypto.libctx, "HMAC", NULL);
    crypto.des_ecb = EVP_CIPHER_fetch(crypto.libctx, "DES-ECB", NULL);
    crypto.rc4 = EVP_CIPHER_fetch(crypto.libctx, "RC4", NULL);
    /* Upper-casing user names needs Unicode case tables, which the "C"
     * locale lacks; a private locale object leaves the process locale alone. */
    crypto.utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    crypto.ok = crypto.md4 && crypto.md5 && crypto.hmac && crypto.des_ecb && crypto.rc4;
}

static int crypto_ready(void)
{
    if (pthread_once(&crypto_once, crypto_init) != 0 || !crypto.ok)
        return -EIO;
    return 0;
}

void ntlm_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

/* Callers have run crypto_ready(): md is read before this is entered. */
static int digest(const EVP_MD *md, const void *p, size_t n, uint8_t out[16])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return -ENOMEM;
    unsigned int len = 0;
    bool good = EVP_DigestInit_ex2(ctx, md, NULL) && EVP_DigestUpdate(ctx, p, n) &&
                EVP_DigestFinal_ex(ctx, out, &len) && len == 16;
    EVP_MD_CTX_free(ctx);
    return good ? 0 : -EIO;
}

int ntlm_md4(const void *p, size_t n, uint8_t out[16])
{
    if (crypto_ready())
        return -EIO;
    return digest(crypto.md4, p, n, out);
}

int ntlm_md5(const void *p, size_t n, uint8_t out[16])
{
    if (crypto_ready())
        return -EIO;
    return digest(crypto.md5, p, n, out);
}

int ntlm_hmac_md5_v(const uint8_t *key, size_t klen, const struct ntlm_iov *v, size_t nv,
                    uint8_t out[16])
{
    int rc = crypto_ready();
    if (rc)
        return rc;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(crypto.hmac);
    if (!ctx)
        return -ENOMEM;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"MD5", 0),
        OSSL_PARAM_construct_end(),
    };
    /* OpenSSL refuses an empty HMAC key; RFC 2104 pads any key with zeros
     * to the block size, so one zero byte gives the same MAC. */
    static const uint8_t zero_key[1];
    bool good = EVP_MAC_init(ctx, klen ? key : zero_key, klen ? klen : 1, params);
    for (size_t i = 0; good && i < nv; i++)
        good = v[i].n == 0 || EVP_MAC_update(ctx, v[i].p, v[i].n);
    size_t len = 0;
    good = good && EVP_MAC_final(ctx, out, &len, 16) && len == 16;
    EVP_MAC_CTX_free(ctx);
    return good ? 0 : -EIO;
}

int ntlm_hmac_md5(const uint8_t *key, size_t klen, const void *p, size_t n, uint8_t out[16])
{
    struct ntlm_iov v = {p, n};
    return ntlm_hmac_md5_v(key, klen, &v, 1, out);
}

/* Runs cipher over n bytes (no padding); ECB or a stream, no IV. */
static int cipher_run(const EVP_CIPHER *c, const uint8_t *key, const uint8_t *in, size_t n,
                      uint8_t *out)
{
    if (n > INT32_MAX)
        return -EINVAL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return -ENOMEM;
    int outl = 0, finl = 0;
    bool good = EVP_EncryptInit_ex2(ctx, c, key, NULL, NULL) &&
                EVP_CIPHER_CTX_set_padding(ctx, 0) &&
                EVP_EncryptUpdate(ctx, out, &outl, in, (int)n) &&
                EVP_EncryptFinal_ex(ctx, out + outl, &finl) && (size_t)(outl + finl) == n;
    EVP_CIPHER_CTX_free(ctx);
    return good ? 0 : -EIO;
}

int ntlm_rc4(const uint8_t key[16], const uint8_t *in, size_t n, uint8_t *out)
{
    int rc = crypto_ready();
    if (rc)
        return rc;
    return cipher_run(crypto.rc4, key, in, n, out);
}

/* DES with a 56-bit key spread over 8 bytes, 7 bits each in the high bits;
 * DES ignores the low (parity) bit (MS-NLMP 6, "DES(K, D)"). */
static int des7(const uint8_t k[7], const uint8_t in[8], uint8_t out[8])
{
    uint8_t key[8];
    key[0] = k[0] >> 1;
    key[1] = (uint8_t)((k[0] & 0x01) << 6 | k[1] >> 2);
    key[2] = (uint8_t)((k[1] & 0x03) << 5 | k[2] >> 3);
    key[3] = (uint8_t)((k[2] & 0x07) << 4 | k[3] >> 4);
    key[4] = (uint8_t)((k[3] & 0x0F) << 3 | k[4] >> 5);
    key[5] = (uint8_t)((k[4] & 0x1F) << 2 | k[5] >> 6);
    key[6] = (uint8_t)((k[5] & 0x3F) << 1 | k[6] >> 7);
    key[7] = k[6] & 0x7F;
    for (int i = 0; i < 8; i++)
        key[i] = (uint8_t)(key[i] << 1);
    int rc = cipher_run(crypto.des_ecb, key, in, 8, out);
    ntlm_wipe(key, sizeof(key));
    return rc;
}

int ntlm_desl(const uint8_t key[16], const uint8_t data[8], uint8_t out[24])
{
    int rc = crypto_ready();
    if (rc)
        return rc;
    uint8_t k3[7] = {key[14], key[15], 0, 0, 0, 0, 0};
    rc = des7(key, data, out);
    if (!rc)
        rc = des7(key + 7, data, out + 8);
    if (!rc)
        rc = des7(k3, data, out + 16);
    ntlm_wipe(k3, sizeof(k3));
    if (rc)
        ntlm_wipe(out, 24);
    return rc;
}

int ntlm_random(uint8_t *p, size_t n)
{
    int rc = crypto_ready();
    if (rc)
        return rc;
    return RAND_bytes_ex(crypto.libctx, p, n, 0) == 1 ? 0 : -EIO;
}

/* Unicode simple upper-case mapping; a mapping that would change how many
 * UTF-16 units the character takes (none in practice) is not applied, so
 * the string can be rewritten in place. */
static uint32_t upper_cp(uint32_t cp)
{
    if (crypto.utf8_locale == (locale_t)0)
        return cp >= 'a' && cp <= 'z' ? cp - 32 : cp;
    wint_t u = towupper_l((wint_t)cp, crypto.utf8_locale);
    if (u > 0x10FFFF || (u >= 0xD800 && u <= 0xDFFF) || (u >= 0x10000) != (cp >= 0x10000))
        return cp;
    return (uint32_t)u;
}

static void upper_utf16(uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        uint32_t cp = wire_le16(p + i);
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 3 < n) {
            /* text_utf8_to_utf16 only writes well-formed pairs */
            uint32_t lo = wire_le16(p + i + 2);
            cp = upper_cp(0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)) - 0x10000;
            wire_st16(p + i, (uint16_t)(0xD800 | cp >> 10));
            wire_st16(p + i + 2, (uint16_t)(0xDC00 | (cp & 0x3FF)));
            i += 2;
        } else {
            wire_st16(p + i, (uint16_t)upper_cp(cp));
        }
    }
}

int ntlm_utf16le(const char *s, bool upper, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (upper && crypto_ready())
        return -EIO;
    if (!s)
        s = "";
    size_t len = strlen(s);
    /* Each byte of UTF-8 yields at most one UTF-16 unit (4 bytes -> 2). */
    if (len > (SIZE_MAX - 2) / 2)
        return -ENOMEM;
    size_t cap = len * 2 + 2;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    size_t n;
    int rc = text_utf8_to_utf16(s, len, buf, cap, &n);
    if (rc) {
        ntlm_wipe(buf, cap);
        free(buf);
        return rc == -EILSEQ ? -EINVAL : rc;
    }
    if (upper)
        upper_utf16(buf, n);
    *out = buf;
    *out_len = n;
    return 0;
}

int ntlm_ntowf_v1(const char *password, uint8_t out[16])
{
    uint8_t *u16;
    size_t n;
    int rc = ntlm_utf16le(password, false, &u16, &n);
    if (rc)
        return rc;
    rc = ntlm_md4(u16, n, out);
    ntlm_wipe(u16, n);
    free(u16);
    return rc;
}

int ntlm_lmowf_v1(const char *password, uint8_t out[16])
{
    static const uint8_t magic[8] = {'K', 'G', 'S', '!', '@', '#', '$', '%'};
    if (!password)
        password = "";
    size_t len = strlen(password);
    if (len > 14)
        return -EINVAL;
    uint8_t p[14] = {0};
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)password[i];
        /* Upper-casing in an OEM code page needs that code page; we only
         * know ASCII for sure, so anything else has no LM hash. */
        if (ch >= 0x80) {
            ntlm_wipe(p, sizeof(p));
            return -EINVAL;
        }
        p[i] = (uint8_t)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
    }
    int rc = crypto_ready();
    if (!rc)
        rc = des7(p, magic, out);
    if (!rc)
        rc = des7(p + 7, magic, out + 8);
    ntlm_wipe(p, sizeof(p));
    if (rc)
        ntlm_wipe(out, 16);
    return rc;
}

int ntlm_ntowf_v2(const uint8_t ntowf_v1[16], const char *user, const char *domain, uint8_t out[16])
{
    uint8_t *u = NULL, *d = NULL;
    size_t ulen, dlen;
    int rc = ntlm_utf16le(user, true, &u, &ulen);
    if (!rc)
        rc = ntlm_utf16le(domain, false, &d, &dlen);
    if (!rc) {
        struct ntlm_iov v[2] = {{u, ulen}, {d, dlen}};
        rc = ntlm_hmac_md5_v(ntowf_v1, 16, v, 2, out);
    }
    free(u);
    free(d);
    return rc;
}

int ntlm_v2_responses(const uint8_t ntowf_v2[16], const uint8_t server_chal[8],
                      const uint8_t client_chal[8], uint64_t filetime, const uint8_t *avpairs,
                      size_t av_len, uint8_t **nt_resp, size_t *nt_len, uint8_t lm_resp[24],
                      uint8_t session_base_key[16])
{
    *nt_resp = NULL;
    *nt_len = 0;
    if (av_len > 0xFFFF)
        return -EINVAL;
    size_t temp_len = 28 + av_len + 4;
    uint8_t *resp = malloc(16 + temp_len);
    if (!resp)
        return -ENOMEM;
    uint8_t *temp = resp + 16;
    struct wire_writer w;
    wire_writer_init(&w, temp, temp_len);
    wire_put_u8(&w, 1); /* RespType */
    wire_put_u8(&w, 1); /* HiRespType */
    wire_put_zeros(&w, 6);
    wire_put_u64(&w, filetime);
    wire_put_bytes(&w, client_chal, 8);
    wire_put_zeros(&w, 4);
    wire_put_bytes(&w, avpairs, av_len);
    wire_put_zeros(&w, 4);

    struct ntlm_iov v[2] = {{server_chal, 8}, {temp, temp_len}};
    int rc = wire_wok(&w) && w.pos == temp_len ? 0 : -EIO;
    if (!rc)
        rc = ntlm_hmac_md5_v(ntowf_v2, 16, v, 2, resp); /* NTProofStr */
    if (!rc)
        rc = ntlm_hmac_md5(ntowf_v2, 16, resp, 16, session_base_key);
    v[1] = (struct ntlm_iov){client_chal, 8};
    if (!rc)
        rc = ntlm_hmac_md5_v(ntowf_v2, 16, v, 2, lm_resp);
    if (rc) {
        ntlm_wipe(resp, 16 + temp_len);
        free(resp);
        return rc;
    }
    memcpy(lm_resp + 16, client_chal, 8);
    *nt_resp = resp;
    *nt_len = 16 + temp_len;
    return 0;
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

int ntlm_creds_init(struct ntlm_creds *c, const char *user, const char *domain,
                    const char *workstation, const char *password, bool with_lm)
{
    memset(c, 0, sizeof(*c));
    c->user = dup_or_empty(user);
    c->domain = dup_or_empty(domain);
    c->workstation = dup_or_empty(workstation);
    if (!c->user || !c->domain || !c->workstation) {
        ntlm_creds_free(c);
        return -ENOMEM;
    }
    int rc = ntlm_ntowf_v1(password, c->nt_hash);
    if (rc) {
        ntlm_creds_free(c);
        return rc;
    }
    /* The LM hash is as good as the password (DES of its upper-cased
     * halves): kept only when sec=lanman will use it. */
    rc = with_lm ? ntlm_lmowf_v1(password, c->lm_hash) : -EINVAL;
    if (rc == -EINVAL) {
        ntlm_wipe(c->lm_hash, sizeof(c->lm_hash));
        c->have_lm = false;
    } else if (rc) {
        ntlm_creds_free(c);
        return rc;
    } else {
        c->have_lm = true;
    }
    return 0;
}

void ntlm_creds_free(struct ntlm_creds *c)
{
    free(c->user);
    free(c->domain);
    free(c->workstation);
    ntlm_wipe(c, sizeof(*c));
}

void ntlm_plain_auth_wipe(struct ntlm_plain_auth *a)
{
    if (a->nt_resp) {
        ntlm_wipe(a->nt_resp, a->nt_len);
        free(a->nt_resp);
    }
    ntlm_wipe(a, sizeof(*a));
}

/* MsvAvNbDomainName(domain) MsvAvEOL, or just MsvAvEOL (MS-NLMP 2.2.2.1). */
static int plain_avpairs(const char *domain_hint, uint8_t **out, size_t *out_len)
{
    uint8_t *dom = NULL;
    size_t dlen = 0;
    *out = NULL;
    if (domain_hint && *domain_hint) {
        int rc = ntlm_utf16le(domain_hint, false, &dom, &dlen);
        if (rc)
            return rc;
        /* An AV value's length is 16 bits; a longer hint is dropped. */
        if (dlen > 0xFFFF)
            dlen = 0;
    }
    size_t n = (dlen ? 4 + dlen : 0) + 4;
    uint8_t *buf = malloc(n);
    if (!buf) {
        free(dom);
        return -ENOMEM;
    }
    struct wire_writer w;
    wire_writer_init(&w, buf, n);
    if (dlen) {
        wire_put_u16(&w, 2);
        wire_put_u16(&w, (uint16_t)dlen);
        wire_put_bytes(&w, dom, dlen);
    }
    wire_put_u32(&w, 0);
    free(dom);
    *out = buf;
    *out_len = n;
    return 0;
}

static int plain_ntlmv2(const struct ntlm_creds *c, const uint8_t challenge[8],
                        const char *domain_hint, uint64_t now, struct ntlm_plain_auth *out)
{
    uint8_t v2[16], cc[8];
    uint8_t *av = NULL;
    size_t av_len = 0;
    int rc = ntlm_ntowf_v2(c->nt_hash, c->user, c->domain, v2);
    if (!rc)
        rc = ntlm_random(cc, sizeof(cc));
    if (!rc)
        rc = plain_avpairs(domain_hint, &av, &av_len);
    if (!rc)
        rc = ntlm_v2_responses(v2, challenge, cc, now, av, av_len, &out->nt_resp, &out->nt_len,
                               out->lm_resp, out->mac_session_key);
    free(av);
    ntlm_wipe(v2, sizeof(v2));
    if (rc)
        return rc;
    out->lm_len = 24;
    out->mac_resp = out->nt_resp;
    out->mac_resp_len = out->nt_len;
    return 0;
}

static int plain_ntlmv1(const struct ntlm_creds *c, const uint8_t challenge[8],
                        struct ntlm_plain_auth *out)
{
    out->nt_resp = malloc(24);
    if (!out->nt_resp)
        return -ENOMEM;
    out->nt_len = 24;
    int rc = ntlm_desl(c->nt_hash, challenge, out->nt_resp);
    if (!rc)
        rc = ntlm_md4(c->nt_hash, 16, out->mac_session_key);
    if (rc)
        return rc;
    /* The NT response goes in both fields (NoLMResponseNTLMv1, MS-NLMP
     * 3.1.1.1), as the Linux client's sec=ntlm and Samba's default do: an LM
     * response next to it would hand an eavesdropper the far weaker LM hash
     * to crack, so LM goes out only when sec=lanman asks for it. Never an
     * empty LM field, which some servers take as a null session. */
    memcpy(out->lm_resp, out->nt_resp, 24);
    out->lm_len = 24;
    out->mac_resp = out->nt_resp;
    out->mac_resp_len = 24;
    return 0;
}

static int plain_lanman(const struct ntlm_creds *c, const uint8_t challenge[8],
                        struct ntlm_plain_auth *out)
{
    if (!c->have_lm)
        return -EINVAL;
    int rc = ntlm_desl(c->lm_hash, challenge, out->lm_resp);
    if (rc)
        return rc;
    out->lm_len = 24;
    out->lm_resp_is_lm = true;
    memcpy(out->mac_session_key, c->lm_hash, 8);
    out->mac_resp = out->lm_resp;
    out->mac_resp_len = 24;
    return 0;
}

int ntlm_plain_auth(enum smb1_sec sec, const struct ntlm_creds *c, const uint8_t challenge[8],
                    const char *domain_hint, uint64_t now_filetime, struct ntlm_plain_auth *out)
{
    memset(out, 0, sizeof(*out));
    int rc;
    switch (sec) {
    case SMB1_SEC_NONE:
        return 0;
    case SMB1_SEC_LANMAN:
        rc = plain_lanman(c, challenge, out);
        break;
    case SMB1_SEC_NTLM:
        rc = plain_ntlmv1(c, challenge, out);
        break;
    case SMB1_SEC_NTLMV2:
        rc = plain_ntlmv2(c, challenge, domain_hint, now_filetime, out);
        break;
    default:
        return -EINVAL;
    }
    if (rc)
        ntlm_plain_auth_wipe(out);
    return rc;
}

int ntlm_plain_use_lanman_key(struct ntlm_plain_auth *a, const struct ntlm_creds *c)
{
    if (!a->lm_resp_is_lm || !c->have_lm)
        return 0;
    memcpy(a->mac_session_key, c->lm_hash, 8);
    memset(a->mac_session_key + 8, 0, 8);
    a->mac_resp = a->lm_resp;
    a->mac_resp_len = a->lm_len;
    return 0;
}
