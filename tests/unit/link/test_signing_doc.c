/* The worked example of docs/signing.md, recomputed with the project's code.
 *
 * tests/unit/data/signing_example.frames holds a real exchange (smbfuse with
 * sec=ntlmssp against smbd with mandatory signing). From the password and
 * those frames alone this test derives every value the document prints
 * (hashes, NTLMv2 response, session keys, MAC key, MACs) with ntlm.c and
 * sign.c, checks each against the bytes on the wire, and then checks that
 * the document's "worked example" block says exactly the same: the text
 * cannot drift from the code.
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/ntlm.h"
#include "link/sign.h"
#include "wire/smb1_proto.h"
#include "wire/wire.h"

#define PASSWORD "Smb1-pass-4711"
#define USER     "smbtest"
#define DOMAIN   "" /* the AUTHENTICATE names no domain: a local account */

struct frame {
    char dir[4];
    int num;
    uint8_t *b;
    size_t len;
};

static struct frame frames[16];
static size_t nframes;

static void load_frames(void)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/unit/data/signing_example.frames", SMBFUSE_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    cr_assert(f, "cannot open %s", path);
    static char line[8192];
    nframes = 0;
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        cr_assert(nframes < 16);
        struct frame *fr = &frames[nframes++];
        char hex[8000];
        cr_assert(sscanf(line, "%3s %d %7999s", fr->dir, &fr->num, hex) == 3);
        fr->len = strlen(hex) / 2;
        fr->b = malloc(fr->len);
        for (size_t i = 0; i < fr->len; i++) {
            unsigned v;
            sscanf(hex + 2 * i, "%2x", &v);
            fr->b[i] = (uint8_t)v;
        }
    }
    fclose(f);
}

static const struct frame *frame_no(int num)
{
    for (size_t i = 0; i < nframes; i++)
        if (frames[i].num == num)
            return &frames[i];
    cr_assert_fail("frame %d not in the data file", num);
    return NULL;
}

/* The NTLMSSP message inside a SESSION_SETUP (inside its SPNEGO wrapping). */
static const uint8_t *ntlmssp_in(const struct frame *f, uint32_t type, size_t *avail)
{
    for (size_t i = 0; i + 12 <= f->len; i++) {
        if (!memcmp(f->b + i, "NTLMSSP\0", 8) && wire_le32(f->b + i + 8) == type) {
            *avail = f->len - i;
            return f->b + i;
        }
    }
    cr_assert_fail("no NTLMSSP message of type %u in frame %d", type, f->num);
    return NULL;
}

/* A security buffer (len, maxlen, offset) of an NTLMSSP message. */
static const uint8_t *secbuf(const uint8_t *msg, size_t avail, size_t at, size_t *len)
{
    *len = wire_le16(msg + at);
    uint32_t off = wire_le32(msg + at + 4);
    cr_assert(off <= avail && *len <= avail - off);
    return msg + off;
}

static char *hex(const uint8_t *p, size_t n)
{
    static char bufs[8][2100];
    static int k;
    char *s = bufs[k++ % 8];
    for (size_t i = 0; i < n && i < 1024; i++)
        sprintf(s + 2 * i, "%02x", p[i]);
    s[2 * (n < 1024 ? n : 1024)] = 0;
    return s;
}

struct value {
    const char *name;
    char text[2100];
};
static struct value values[32];
static size_t nvalues;

static void put(const char *name, const uint8_t *p, size_t n)
{
    struct value *v = &values[nvalues++];
    v->name = name;
    snprintf(v->text, sizeof(v->text), "%s", hex(p, n));
    cr_log_info("%s: %s", name, v->text);
}

static void compute_all(void)
{
    load_frames();
    nvalues = 0;
    const struct frame *chal_f = frame_no(3), *auth_f = frame_no(4);
    size_t chal_avail, auth_avail;
    const uint8_t *chal = ntlmssp_in(chal_f, 2, &chal_avail);
    const uint8_t *auth = ntlmssp_in(auth_f, 3, &auth_avail);
    const uint8_t *server_chal = chal + 24;

    uint8_t nt_hash[16], v2[16];
    cr_assert_eq(ntlm_ntowf_v1(PASSWORD, nt_hash), 0);
    cr_assert_eq(ntlm_ntowf_v2(nt_hash, USER, DOMAIN, v2), 0);
    put("nt_hash", nt_hash, 16);
    put("ntowfv2", v2, 16);
    put("server_challenge", server_chal, 8);

    size_t nt_len, lm_len, ek_len;
    const uint8_t *nt = secbuf(auth, auth_avail, 20, &nt_len);
    const uint8_t *lm = secbuf(auth, auth_avail, 12, &lm_len);
    const uint8_t *ek = secbuf(auth, auth_avail, 52, &ek_len);
    cr_assert(nt_len > 48 && lm_len == 24 && ek_len == 16);
    uint32_t flags = wire_le32(auth + 60);
    cr_assert(flags & 0x40000000u, "KEY_EXCH was negotiated");
    /* The server sent MsvAvTimestamp: the LM response is then 24 zeros. */
    static const uint8_t z24[24];
    cr_assert(!memcmp(lm, z24, 24));
    /* temp = 01 01 Z(6) time(8) client challenge(8) Z(4) AV pairs Z(4) */
    const uint8_t *temp = nt + 16;
    size_t temp_len = nt_len - 16;
    cr_assert_eq(temp[0], 1);
    cr_assert_eq(temp[1], 1);
    uint64_t filetime = (uint64_t)wire_le32(temp + 8) | (uint64_t)wire_le32(temp + 12) << 32;
    const uint8_t *cc = temp + 16;
    put("timestamp", temp + 8, 8);
    put("client_challenge", cc, 8);

    /* The project's NTLMv2 code, fed the captured client inputs, must give
     * exactly the captured response. */
    uint8_t *my_nt = NULL, my_lm[24], base[16];
    size_t my_nt_len = 0;
    cr_assert_eq(ntlm_v2_responses(v2, server_chal, cc, filetime, temp + 28, temp_len - 32, &my_nt,
                                   &my_nt_len, my_lm, base),
                 0);
    cr_assert_eq(my_nt_len, nt_len);
    cr_assert(!memcmp(my_nt, nt, nt_len), "NTLMv2 response recomputed");
    put("nt_proof_str", nt, 16);
    cr_log_info("nt_response_len: %zu", nt_len);
    put("session_base_key", base, 16);
    put("encrypted_session_key", ek, 16);
    /* NTLMv2: KeyExchangeKey = SessionBaseKey; with KEY_EXCH the client's
     * random ExportedSessionKey travels RC4-encrypted under it. */
    uint8_t exported[16];
    cr_assert_eq(ntlm_rc4(base, ek, 16, exported), 0);
    put("mac_key", exported, 16);
    free(my_nt);

    struct sign_key k;
    cr_assert_eq(sign_key_init(&k, exported, 16, NULL, 0), 0);
    /* The placeholder, then every signed frame at its number. */
    cr_assert(!memcmp(chal_f->b + SMB1_HDR_SIGNATURE, "BSRSPYL ", 8));
    static const struct {
        int num;
        uint32_t seq;
        const char *name;
    } sig[] = {
        {5, 1, "setup_reply_mac"},    {6, 2, "tree_connect_mac"}, {7, 3, "tree_reply_mac"},
        {18, 14, "read_request_mac"}, {27, 15, "read_reply_mac"},
    };
    for (size_t i = 0; i < sizeof(sig) / sizeof(sig[0]); i++) {
        const struct frame *f = frame_no(sig[i].num);
        uint8_t mac[8];
        sign_mac(&k, f->b, f->len, sig[i].seq, mac);
        cr_assert(!memcmp(mac, f->b + SMB1_HDR_SIGNATURE, 8), "frame %d MAC at sequence %u", f->num,
                  sig[i].seq);
        cr_assert(sign_verify(&k, f->b, f->len, sig[i].seq));
        cr_assert(!sign_verify(&k, f->b, f->len, sig[i].seq + 2), "wrong number fails");
        put(sig[i].name, mac, 8);
    }
    /* The old logons' session keys come from the password alone: the
     * project's own NTLMv1 and LM logons against two different challenges
     * give the same session key (only the appended response differs). */
    struct ntlm_creds cr;
    cr_assert_eq(ntlm_creds_init(&cr, USER, DOMAIN, "WS", PASSWORD, true), 0);
    static const uint8_t chal_a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t chal_b[8] = {8, 7, 6, 5, 4, 3, 2, 1};
    static const struct {
        enum smb1_sec sec;
        const char *name;
    } old[] = {{SMB1_SEC_NTLM, "ntlmv1_session_key"}, {SMB1_SEC_LANMAN, "lm_session_key"}};
    for (size_t i = 0; i < 2; i++) {
        struct ntlm_plain_auth a, b;
        cr_assert_eq(ntlm_plain_auth(old[i].sec, &cr, chal_a, "", 0, &a), 0);
        cr_assert_eq(ntlm_plain_auth(old[i].sec, &cr, chal_b, "", 0, &b), 0);
        cr_assert(!memcmp(a.mac_session_key, b.mac_session_key, 16), "%s", old[i].name);
        cr_assert_eq(a.mac_resp_len, 24);
        cr_assert(memcmp(a.mac_resp, b.mac_resp, 24) != 0, "the responses differ");
        put(old[i].name, a.mac_session_key, 16);
        ntlm_plain_auth_wipe(&a);
        ntlm_plain_auth_wipe(&b);
    }
    uint8_t md4nt[16], lmkey[16];
    cr_assert_eq(ntlm_md4(nt_hash, 16, md4nt), 0);
    cr_assert_str_eq(values[nvalues - 2].text, hex(md4nt, 16), "NTLMv1 key = MD4(NT hash)");
    cr_assert_eq(ntlm_lmowf_v1(PASSWORD, lmkey), 0);
    memset(lmkey + 8, 0, 8);
    cr_assert_str_eq(values[nvalues - 1].text, hex(lmkey, 16), "LM key = LMOWFv1[0..7] || Z(8)");
    ntlm_creds_free(&cr);

    /* The whole signed TREE_CONNECT request, as the document shows it. */
    put("tree_connect_request", frame_no(6)->b, frame_no(6)->len);
    sign_key_wipe(&k);
}

Test(signing_doc, recomputes_the_capture)
{
    compute_all();
}

/* Every "name: hex" line in the document's worked-example block must be a
 * value computed above, and every value above must be in the block. */
Test(signing_doc, document_matches)
{
    compute_all();
    char path[1024];
    snprintf(path, sizeof(path), "%s/docs/signing.md", SMBFUSE_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    cr_assert(f, "cannot open %s", path);
    static char line[4096];
    bool in = false;
    bool seen[32] = {false};
    int lines = 0;
    while (fgets(line, sizeof(line), f)) {
        if (strstr(line, "<!-- worked-example:begin -->")) {
            in = true;
            continue;
        }
        if (strstr(line, "<!-- worked-example:end -->"))
            break;
        if (!in)
            continue;
        char name[64], val[2100];
        if (sscanf(line, " %63[a-z_0-9]: %2099s", name, val) != 2)
            continue;
        lines++;
        bool found = false;
        for (size_t i = 0; i < nvalues; i++) {
            if (!strcmp(values[i].name, name)) {
                found = true;
                seen[i] = true;
                cr_expect_str_eq(val, values[i].text, "docs/signing.md: %s", name);
            }
        }
        cr_expect(found, "docs/signing.md names %s, which the test does not compute", name);
    }
    fclose(f);
    cr_assert(lines > 0, "no worked-example block in docs/signing.md");
    for (size_t i = 0; i < nvalues; i++)
        cr_expect(seen[i], "docs/signing.md lacks %s", values[i].name);
}
