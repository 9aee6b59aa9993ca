/* NTLMSSP client messages (MS-NLMP 2.2.1, 3.1.5.1.2).
 *
 * Whatever the CHALLENGE offers, the answer is NTLMv2: a server cannot talk
 * this client down to NTLMv1 or LM, because the code for those responses is
 * not reachable from here.
 */
#include "auth/ntlmssp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "wire/wire.h"

static const uint8_t signature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

#define NTLMSSP_NEGOTIATE_TYPE    1u
#define NTLMSSP_CHALLENGE_TYPE    2u
#define NTLMSSP_AUTHENTICATE_TYPE 3u

/* Flags we ask for (DIGEST 8.3): 0xE2088217. */
#define CLIENT_FLAGS                                                                               \
    (NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_OEM | NTLMSSP_REQUEST_TARGET |                  \
     NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_NEGOTIATE_ALWAYS_SIGN |             \
     NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_VERSION |                      \
     NTLMSSP_NEGOTIATE_128 | NTLMSSP_NEGOTIATE_KEY_EXCH | NTLMSSP_NEGOTIATE_56)

#define NEGOTIATE_LEN       40 /* fixed fields + Version, no payload */
#define CHALLENGE_SHORT_LEN 32 /* through ServerChallenge */
#define CHALLENGE_LEN       48 /* through TargetInfoFields */

/* Version (MS-NLMP 2.2.2.10): 6.1, build 0, NTLMSSP_REVISION_W2K3 (0x0F),
 * as Samba's client sends. */
static void put_version(struct wire_writer *w)
{
    wire_put_u8(w, 6);
    wire_put_u8(w, 1);
    wire_put_u16(w, 0);
    wire_put_zeros(w, 3);
    wire_put_u8(w, 0x0F);
}

int ntlmssp_client_negotiate(struct ntlmssp_client *c, const struct ntlm_creds *creds,
                             bool anonymous, uint8_t **out, size_t *out_len)
{
    memset(c, 0, sizeof(*c));
    c->creds = creds;
    c->anonymous = anonymous;
    *out = NULL;
    *out_len = 0;
    uint8_t *msg = malloc(NEGOTIATE_LEN);
    uint8_t *copy = malloc(NEGOTIATE_LEN);
    if (!msg || !copy) {
        free(msg);
        free(copy);
        return -ENOMEM;
    }
    uint32_t flags = CLIENT_FLAGS | (anonymous ? NTLMSSP_ANONYMOUS : 0);
    struct wire_writer w;
    wire_writer_init(&w, msg, NEGOTIATE_LEN);
    wire_put_bytes(&w, signature, 8);
    wire_put_u32(&w, NTLMSSP_NEGOTIATE_TYPE);
    wire_put_u32(&w, flags);
    /* DomainNameFields and WorkstationFields: empty, pointing at the end. */
    for (int i = 0; i < 2; i++) {
        wire_put_u16(&w, 0);
        wire_put_u16(&w, 0);
        wire_put_u32(&w, NEGOTIATE_LEN);
    }
    put_version(&w);
    memcpy(copy, msg, NEGOTIATE_LEN);
    c->negotiate = copy;
    c->negotiate_len = NEGOTIATE_LEN;
    *out = msg;
    *out_len = NEGOTIATE_LEN;
    return 0;
}

/* Reads a {Len, MaxLen, Offset} field and checks the payload it names lies
 * inside the message and after the fixed header (hdr bytes). */
static void read_field(struct wire_reader *r, size_t hdr, const uint8_t **p, size_t *len)
{
    uint16_t l = wire_u16(r);
    (void)wire_u16(r); /* MaxLen: informative only */
    uint32_t off = wire_u32(r);
    *p = NULL;
    *len = 0;
    if (!wire_ok(r) || l == 0)
        return;
    if (off < hdr) {
        r->err = true;
        return;
    }
    struct wire_reader sub;
    wire_sub(r, off, l, &sub);
    if (!wire_ok(&sub))
        return;
    *p = sub.buf;
    *len = l;
}

/* Walks an AV pair list: ids with well-known sizes are checked, the list
 * must end with an empty MsvAvEOL, and nothing may follow it (Windows and
 * Samba send none; anything there would be outside what we echo back). */
static int parse_avpairs(const uint8_t *p, size_t n, struct ntlmssp_challenge *out)
{
    struct wire_reader r;
    wire_reader_init(&r, p, n);
    bool seen_ts = false, seen_flags = false;
    for (;;) {
        uint16_t id = wire_u16(&r);
        uint16_t len = wire_u16(&r);
        struct wire_reader val;
        wire_take(&r, len, &val);
        if (!wire_ok(&r))
            return -EINVAL;
        if (id == NTLMSSP_AV_EOL) {
            if (len != 0 || wire_remaining(&r) != 0)
                return -EINVAL;
            return 0;
        }
        if (id == NTLMSSP_AV_TIMESTAMP) {
            if (len != 8 || seen_ts)
                return -EINVAL;
            seen_ts = true;
            out->has_timestamp = true;
            out->timestamp = wire_u64(&val);
        } else if (id == NTLMSSP_AV_FLAGS) {
            if (len != 4 || seen_flags)
                return -EINVAL;
            seen_flags = true;
        }
    }
}

int ntlmssp_parse_challenge(const uint8_t *p, size_t n, struct ntlmssp_challenge *out)
{
    memset(out, 0, sizeof(*out));
    struct wire_reader r;
    wire_reader_init(&r, p, n);
    const uint8_t *sig = wire_bytes(&r, 8);
    uint32_t type = wire_u32(&r);
    if (!wire_ok(&r) || memcmp(sig, signature, 8) != 0 || type != NTLMSSP_CHALLENGE_TYPE)
        return -EINVAL;
    /* The flags decide the header size, so peek at them first. */
    struct wire_reader fr;
    wire_sub(&r, 20, 4, &fr);
    uint32_t flags = wire_u32(&fr);
    if (!wire_ok(&fr))
        return -EINVAL;
    /* Without TARGET_INFO the Reserved and TargetInfo fields are neither
     * needed nor always sent, so their bytes may be payload. */
    bool with_info = flags & NTLMSSP_NEGOTIATE_TARGET_INFO;
    size_t hdr = with_info ? CHALLENGE_LEN : CHALLENGE_SHORT_LEN;

    read_field(&r, hdr, &out->target_name, &out->target_name_len);
    out->flags = wire_u32(&r);
    wire_copy(&r, out->server_challenge, 8);
    if (with_info) {
        wire_skip(&r, 8); /* Reserved */
        read_field(&r, hdr, &out->target_info, &out->target_info_len);
    }
    if (!wire_ok(&r))
        return -EINVAL;
    if ((out->flags & NTLMSSP_NEGOTIATE_UNICODE) && (out->target_name_len & 1))
        return -EINVAL;
    if (out->target_info_len && parse_avpairs(out->target_info, out->target_info_len, out))
        return -EINVAL;
    return 0;
}

/* The AV pairs we echo in the NTLMv2 blob: the server's, with MsvAvFlags
 * gaining the MIC bit when a MIC is sent (added if absent), then EOL. */
static int client_avpairs(const struct ntlmssp_challenge *ch, bool mic, uint8_t **out,
                          size_t *out_len)
{
    size_t cap = ch->target_info_len + 8 + 4;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    struct wire_writer w;
    wire_writer_init(&w, buf, cap);
    struct wire_reader r;
    wire_reader_init(&r, ch->target_info, ch->target_info_len);
    bool flags_done = false;
    while (wire_remaining(&r) >= 4) {
        uint16_t id = wire_u16(&r);
        uint16_t len = wire_u16(&r);
        const uint8_t *val = wire_bytes(&r, len);
        if (!val || id == NTLMSSP_AV_EOL)
            break;
        wire_put_u16(&w, id);
        wire_put_u16(&w, len);
        if (id == NTLMSSP_AV_FLAGS) {
            wire_put_u32(&w, wire_le32(val) | (mic ? NTLMSSP_AVFLAG_MIC : 0));
            flags_done = true;
        } else {
            wire_put_bytes(&w, val, len);
        }
    }
    if (mic && !flags_done) {
        wire_put_u16(&w, NTLMSSP_AV_FLAGS);
        wire_put_u16(&w, 4);
        wire_put_u32(&w, NTLMSSP_AVFLAG_MIC);
    }
    wire_put_u32(&w, 0); /* MsvAvEOL */
    if (!wire_wok(&w)) {
        free(buf);
        return -EIO;
    }
    *out = buf;
    *out_len = w.pos;
    return 0;
}

/* The pieces of an AUTHENTICATE_MESSAGE before they are laid out. */
struct auth_parts {
    uint8_t lm[24];
    size_t lm_len;
    uint8_t *nt;
    size_t nt_len;
    uint8_t *domain, *user, *ws;
    size_t domain_len, user_len, ws_len;
    uint8_t enc_key[16];
    size_t enc_key_len;
};

static void auth_parts_free(struct auth_parts *a)
{
    if (a->nt)
        ntlm_wipe(a->nt, a->nt_len);
    free(a->nt);
    free(a->domain);
    free(a->user);
    free(a->ws);
    ntlm_wipe(a, sizeof(*a));
}

/* NTLMv2 responses and SessionBaseKey for a non-anonymous user. */
static int compute_v2(const struct ntlmssp_client *c, const struct ntlmssp_challenge *ch,
                      uint64_t now, bool mic, struct auth_parts *a, uint8_t sbk[16])
{
    uint8_t v2[16], cc[8];
    uint8_t *av = NULL;
    size_t av_len = 0;
    int rc = ntlm_ntowf_v2(c->creds->nt_hash, c->creds->user, c->creds->domain, v2);
    if (!rc)
        rc = ntlm_random(cc, sizeof(cc));
    if (!rc)
        rc = client_avpairs(ch, mic, &av, &av_len);
    if (!rc)
        rc =
            ntlm_v2_responses(v2, ch->server_challenge, cc, ch->has_timestamp ? ch->timestamp : now,
                              av, av_len, &a->nt, &a->nt_len, a->lm, sbk);
    free(av);
    ntlm_wipe(v2, sizeof(v2));
    if (rc)
        return rc;
    a->lm_len = 24;
    /* With a server timestamp the LMv2 response must be zeros
     * (MS-NLMP 3.1.5.1.2): it would otherwise be a second, weaker proof. */
    if (ch->has_timestamp)
        memset(a->lm, 0, 24);
    return 0;
}

static void put_field(struct wire_writer *w, size_t len, size_t *off)
{
    wire_put_u16(w, (uint16_t)len);
    wire_put_u16(w, (uint16_t)len);
    wire_put_u32(w, (uint32_t)*off);
    *off += len;
}

static int layout_auth(const struct auth_parts *a, uint32_t flags, bool mic, uint8_t **out,
                       size_t *out_len)
{
    size_t hdr = NTLMSSP_AUTH_HEADER_LEN + (mic ? 16 : 0);
    size_t lens[] = {a->lm_len, a->nt_len, a->domain_len, a->user_len, a->ws_len, a->enc_key_len};
    size_t total = hdr;
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        if (lens[i] > 0xFFFF)
            return -EINVAL;
        total += lens[i];
    }
    uint8_t *msg = malloc(total);
    if (!msg)
        return -ENOMEM;
    /* Payload order as in MS-NLMP 4.2.4.3: names first, then responses. */
    size_t off_domain = hdr;
    size_t off_user = off_domain + a->domain_len;
    size_t off_ws = off_user + a->user_len;
    size_t off_lm = off_ws + a->ws_len;
    size_t off_nt = off_lm + a->lm_len;
    size_t off_key = off_nt + a->nt_len;
    struct wire_writer w;
    wire_writer_init(&w, msg, total);
    wire_put_bytes(&w, signature, 8);
    wire_put_u32(&w, NTLMSSP_AUTHENTICATE_TYPE);
    put_field(&w, a->lm_len, &off_lm);
    put_field(&w, a->nt_len, &off_nt);
    put_field(&w, a->domain_len, &off_domain);
    put_field(&w, a->user_len, &off_user);
    put_field(&w, a->ws_len, &off_ws);
    put_field(&w, a->enc_key_len, &off_key);
    wire_put_u32(&w, flags);
    put_version(&w);
    if (mic)
        wire_put_zeros(&w, 16);
    wire_put_bytes(&w, a->domain, a->domain_len);
    wire_put_bytes(&w, a->user, a->user_len);
    wire_put_bytes(&w, a->ws, a->ws_len);
    wire_put_bytes(&w, a->lm, a->lm_len);
    wire_put_bytes(&w, a->nt, a->nt_len);
    wire_put_bytes(&w, a->enc_key, a->enc_key_len);
    if (!wire_wok(&w) || w.pos != total) {
        ntlm_wipe(msg, total);
        free(msg);
        return -EIO;
    }
    *out = msg;
    *out_len = total;
    return 0;
}

int ntlmssp_client_authenticate(struct ntlmssp_client *c, const uint8_t *chal, size_t chal_len,
                                uint64_t now_filetime, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (!c->negotiate || !c->creds)
        return -EINVAL;
    struct ntlmssp_challenge ch;
    int rc = ntlmssp_parse_challenge(chal, chal_len, &ch);
    if (rc)
        return rc;
    /* Names go out as UTF-16; a server that only speaks OEM is older than
     * NTLMv2 and is refused rather than answered in a code page we lack. */
    if (!(ch.flags & NTLMSSP_NEGOTIATE_UNICODE))
        return -EINVAL;

    uint32_t flags = (CLIENT_FLAGS & ch.flags & ~NTLMSSP_NEGOTIATE_OEM) |
                     (ch.flags & NTLMSSP_NEGOTIATE_TARGET_INFO) |
                     (c->anonymous ? NTLMSSP_ANONYMOUS : 0);
    /* The MIC bit obliges us to a mechListMIC, signed with ESS keys; the
     * sealing key is only defined here for 128-bit (not 56/40-bit) keys. */
    bool mic = !c->anonymous && ch.has_timestamp &&
               (flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY) &&
               (flags & NTLMSSP_NEGOTIATE_128);
    struct auth_parts a;
    memset(&a, 0, sizeof(a));
    uint8_t sbk[16] = {0}, exported[16];

    if (!c->anonymous) {
        rc = ntlm_utf16le(c->creds->domain, false, &a.domain, &a.domain_len);
        if (!rc)
            rc = ntlm_utf16le(c->creds->user, false, &a.user, &a.user_len);
        if (!rc)
            rc = compute_v2(c, &ch, now_filetime, mic, &a, sbk);
    }
    if (!rc)
        rc = ntlm_utf16le(c->creds->workstation, false, &a.ws, &a.ws_len);
    if (rc)
        goto out_free_parts;

    /* KEY_EXCH: the SessionBaseKey (Z(16) for anonymous, as Samba's client
     * does, since a server that agreed to KEY_EXCH expects the field) only
     * protects a fresh random key. */
    if (flags & NTLMSSP_NEGOTIATE_KEY_EXCH) {
        rc = ntlm_random(exported, sizeof(exported));
        if (!rc)
            rc = ntlm_rc4(sbk, exported, 16, a.enc_key);
        if (rc)
            goto out_wipe_keys;
        a.enc_key_len = 16;
    } else {
        memcpy(exported, sbk, 16);
    }

    uint8_t *msg;
    size_t msg_len;
    rc = layout_auth(&a, flags, mic, &msg, &msg_len);
    if (rc)
        goto out_wipe_keys;
    if (mic) {
        uint8_t m[16];
        struct ntlm_iov v[3] = {{c->negotiate, c->negotiate_len}, {chal, chal_len}, {msg, msg_len}};
        rc = ntlm_hmac_md5_v(exported, 16, v, 3, m);
        if (rc) {
            ntlm_wipe(msg, msg_len);
            free(msg);
            goto out_wipe_keys;
        }
        memcpy(msg + NTLMSSP_AUTH_MIC_OFFSET, m, 16);
    }
    c->flags = flags;
    c->sent_mic = mic;
    if (!c->anonymous) {
        memcpy(c->exported_session_key, exported, 16);
        c->have_key = true;
    }
    *out = msg;
    *out_len = msg_len;

out_wipe_keys:
    ntlm_wipe(exported, sizeof(exported));
    ntlm_wipe(sbk, sizeof(sbk));
out_free_parts:
    auth_parts_free(&a);
    return rc;
}

/* MS-NLMP 3.4.5.2 / 3.4.5.3: the magic constants include their NUL. */
static const char client_sign_magic[] =
    "session key to client-to-server signing key magic constant";
static const char client_seal_magic[] =
    "session key to client-to-server sealing key magic constant";
static const char server_sign_magic[] =
    "session key to server-to-client signing key magic constant";
static const char server_seal_magic[] =
    "session key to server-to-client sealing key magic constant";

/* SIGNKEY / SEALKEY (MS-NLMP 3.4.5.2, 3.4.5.3 with NEGOTIATE_128):
 * MD5(ExportedSessionKey || magic). */
static int derive_key(const uint8_t key[16], const char *magic, uint8_t out[16])
{
    uint8_t buf[16 + 64];
    size_t m = strlen(magic) + 1;
    if (m > sizeof(buf) - 16)
        return -EINVAL;
    memcpy(buf, key, 16);
    memcpy(buf + 16, magic, m);
    int rc = ntlm_md5(buf, 16 + m, out);
    ntlm_wipe(buf, sizeof(buf));
    return rc;
}

/* NTLMSSP_MESSAGE_SIGNATURE with ESS for sequence number 0 (MS-NLMP 3.4.4.2):
 * each direction signs one message only (the mechListMIC), so the sealing
 * stream is used from its start. */
static int sign_seq0(const struct ntlmssp_client *c, const char *sign_magic, const char *seal_magic,
                     const uint8_t *msg, size_t n, uint8_t out[16])
{
    if (!c->have_key || !(c->flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY) ||
        !(c->flags & NTLMSSP_NEGOTIATE_128))
        return -EINVAL;
    uint8_t sign_key[16], seal_key[16], mac[16];
    static const uint8_t seq0[4];
    struct ntlm_iov v[2] = {{seq0, 4}, {msg, n}};
    int rc = derive_key(c->exported_session_key, sign_magic, sign_key);
    if (!rc)
        rc = derive_key(c->exported_session_key, seal_magic, seal_key);
    if (!rc)
        rc = ntlm_hmac_md5_v(sign_key, 16, v, 2, mac);
    if (!rc && (c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH))
        rc = ntlm_rc4(seal_key, mac, 8, mac);
    if (!rc) {
        wire_st32(out, 1);
        memcpy(out + 4, mac, 8);
        wire_st32(out + 12, 0);
    }
    ntlm_wipe(sign_key, sizeof(sign_key));
    ntlm_wipe(seal_key, sizeof(seal_key));
    ntlm_wipe(mac, sizeof(mac));
    return rc;
}

int ntlmssp_client_sign_mech_list(const struct ntlmssp_client *c, const uint8_t *msg, size_t n,
                                  uint8_t out[16])
{
    return sign_seq0(c, client_sign_magic, client_seal_magic, msg, n, out);
}

int ntlmssp_client_check_mech_list(const struct ntlmssp_client *c, const uint8_t *msg, size_t n,
                                   const uint8_t *mic, size_t mic_len)
{
    if (mic_len != 16)
        return -EINVAL;
    uint8_t want[16];
    int rc = sign_seq0(c, server_sign_magic, server_seal_magic, msg, n, want);
    if (!rc && CRYPTO_memcmp(want, mic, 16) != 0)
        rc = -EACCES;
    ntlm_wipe(want, sizeof(want));
    return rc;
}

void ntlmssp_client_free(struct ntlmssp_client *c)
{
    free(c->negotiate);
    ntlm_wipe(c, sizeof(*c));
}
