/* NEGOTIATE and SESSION_SETUP_ANDX (both forms), and the
 * signing decision and activation (MS-CIFS 3.2.4.2, 3.2.5.2, 3.2.5.3;
 * MS-SMB 3.2.4.2.4). Called by conn.c for the first connection and for
 * every reconnect; nothing here is shared with other threads until the new
 * mux is published. */
#include "session/conn_int.h"
#include "session/nego.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "link/nbt.h"
#include "link/obs.h"
#include "auth/ntlmssp.h"
#include "wire/ntstatus.h"
#include "wire/nttime.h"
#include "link/sign.h"
#include "wire/smb1_proto.h"
#include "auth/spnego.h"
#include "wire/text.h"

/* Our MaxBufferSize: the largest reply the server may send except READ_ANDX
 * data. Samba and Linux cifs default to 16644; larger TRANS2 replies then
 * come in several fragments, which trans.c reassembles. */
#define CLIENT_MAX_BUFFER 16644
#define NATIVE_OS         "Unix"
#define NATIVE_LANMAN     "smbfuse"

/* The server's TCP port of a connected socket (0 if unknown). */
static uint16_t peer_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

static uint64_t now_filetime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return nttime_from_timespec(ts);
}

/* MS-SMB 3.2.4.2.4 style: the client policy against the server's mode. */
static int decide_signing(struct smb1_conn *c, struct nego *ng, char *why, size_t why_len)
{
    bool srv_en = ng->secmode & SMB1_SECMODE_SIGNATURES_ENABLED;
    bool srv_req = ng->secmode & SMB1_SECMODE_SIGNATURES_REQUIRED;
    pthread_mutex_lock(&c->lock);
    bool signed_once = c->signed_once;
    pthread_mutex_unlock(&c->lock);
    if (signed_once) {
        /* This server signed for this mount before. A NEGOTIATE reply that
         * now offers no signing is unsigned and may be forged (a man in the
         * middle after a forced reconnect): never let it turn signing off. */
        if (!srv_en && !srv_req)
            log_warn(c->log,
                     "server %s no longer offers signing, but it signed before on this mount: "
                     "asking for it",
                     c->host);
        ng->sign = true;
        ng->sign_required = true;
        ng->sign_sticky = true;
        return 0;
    }
    switch (c->cfg.sign) {
    case SMB1_SIGN_REQUIRED:
        /* The negotiate reply is unsigned and may claim anything: a required
         * policy asks for signing regardless, and activate_signing() refuses
         * the server if its session setup reply then comes back unsigned.
         * (Samba with "server signing = disabled" advertises nothing but
         * still signs when the client insists.) */
        if (!srv_en && !srv_req)
            log_info(c->log, "server %s does not offer signing: asking for it (sign=required)",
                     c->host);
        ng->sign = true;
        ng->sign_required = true;
        break;
    case SMB1_SIGN_OFF:
        ng->sign = srv_req;
        ng->sign_required = srv_req;
        break;
    default:
        ng->sign = srv_en || srv_req;
        ng->sign_required = srv_req;
        break;
    }
    if (srv_req && c->cfg.sign == SMB1_SIGN_OFF)
        log_info(c->log, "server %s requires signing: signing despite sign=off", c->host);
    return 0;
}

static int negotiate(struct smb1_conn *c, struct mux *mux, struct nego *ng, uint8_t **blob,
                     size_t *blob_len, char *why, size_t why_len)
{
    static const char dialect[] = "NT LM 0.12";
    struct msg_out m;
    int r = msg_out_init(&m, SMB1_COM_NEGOTIATE, 64);
    if (r)
        return r;
    msg_words_begin(&m);
    msg_words_end(&m);
    msg_bytes_begin(&m);
    wire_put_u8(&m.w, 0x02);
    wire_put_bytes(&m.w, dialect, sizeof(dialect));
    msg_bytes_end(&m);
    /* NTLMv2 also asks for extended security: NTLMSSP carries the same
     * NTLMv2 response (nothing weaker), and Samba refuses raw NTLMv2 in a
     * non-extended session setup by default ("raw NTLMv2 auth = no"). A
     * server that answers in the old form still gets raw NTLMv2. */
    bool want_ext = c->cfg.sec == SMB1_SEC_NTLMSSP || c->cfg.sec == SMB1_SEC_NTLMV2;
    struct msg_in in;
    r = conn_raw_call(c, mux, &m, 0, 0, conn_flags2(c, want_ext, true), &in);
    msg_out_free(&m);
    if (r) {
        conn_why(why, why_len, "no answer to NEGOTIATE: %s", strerror(-r));
        return r;
    }
    r = nego_decode(&in, ng, blob, blob_len, why, why_len);
    if (r == 0)
        r = decide_signing(c, ng, why, why_len);
    msg_in_free(&in);
    return r;
}

static int status_to_err(uint32_t st, char *why, size_t why_len)
{
    switch (st) {
    case NT_STATUS_LOGON_FAILURE:
    case NT_STATUS_WRONG_PASSWORD:
    case NT_STATUS_NO_SUCH_USER:
        conn_why(why, why_len, "logon failure (wrong user name or password)");
        return -EACCES;
    case NT_STATUS_ACCOUNT_DISABLED:
    case NT_STATUS_ACCOUNT_LOCKED_OUT:
    case NT_STATUS_ACCOUNT_RESTRICTION:
    case NT_STATUS_PASSWORD_EXPIRED:
    case NT_STATUS_PASSWORD_MUST_CHANGE:
        conn_why(why, why_len, "logon refused: %s", ntstatus_name(st));
        return -EACCES;
    default: {
        int e = ntstatus_to_errno(st);
        conn_why(why, why_len, "session setup failed: %s (0x%08x)", ntstatus_name(st), st);
        return e ? e : -EIO;
    }
    }
}

static void put_str(struct msg_out *m, bool unicode, const char *s)
{
    if (unicode) {
        msg_put_utf16z(m, s);
    } else {
        wire_put_bytes(&m->w, s, strlen(s) + 1);
    }
}

static uint32_t client_caps(const struct smb1_conn *c, const struct nego *ng)
{
    uint32_t caps = SMB1_CAP_NT_SMBS | SMB1_CAP_STATUS32 | SMB1_CAP_LARGE_FILES |
                    SMB1_CAP_LARGE_READX | SMB1_CAP_LARGE_WRITEX;
    if (ng->unicode)
        caps |= SMB1_CAP_UNICODE;
    if (c->cfg.unix_ext != 0 && (ng->caps & SMB1_CAP_UNIX))
        caps |= SMB1_CAP_UNIX;
    return caps;
}

/* Flags2 for SESSION_SETUP: the signature bit (with a zero signature) says
 * we want signing, as Samba's client does; the server then signs its final
 * reply. */
static uint16_t setup_flags2(const struct smb1_conn *c, const struct nego *ng, bool ext)
{
    uint16_t f2 = conn_flags2(c, ext, ng->unicode);
    if (ng->sign)
        f2 |= SMB1_FLAGS2_SECURITY_SIGNATURE;
    if (ng->sign_required)
        f2 |= SMB1_FLAGS2_SIGNATURE_REQUIRED;
    return f2;
}

/* The final SESSION_SETUP reply is the first signed message: sequence 1. */
static int activate_signing(struct smb1_conn *c, struct mux *mux, struct nego *ng,
                            const struct msg_in *in, const struct sign_key *k, char *why,
                            size_t why_len)
{
    /* Samba answers with this placeholder when it does not start signing
     * (e.g. no session key from an NTLMv1 logon). Acceptable only where
     * neither side requires signing: sign=auto already lets a server that
     * merely offers signing decline it. */
    if (in->len >= SMB1_HDR_LEN &&
        !memcmp(in->frame + SMB1_HDR_SIGNATURE, "BSRSPYL ", SMB1_SIG_LEN)) {
        ng->placeholder = true;
        if (ng->sign_required) {
            conn_why(why, why_len,
                     "signing is required but the server did not start it for "
                     "this logon (try sec=ntlmv2 or sec=ntlmssp)");
            return ng->sign_sticky ? -CONN_EINTEGRITY : -EPERM;
        }
        log_warn(c->log, "server %s did not start signing: continuing unsigned", c->host);
        return 0;
    }
    static const uint8_t unsigned_sig[SMB1_SIG_LEN];
    bool unsigned_reply = !(in->flags2 & SMB1_FLAGS2_SECURITY_SIGNATURE) ||
                          !memcmp(in->frame + SMB1_HDR_SIGNATURE, unsigned_sig, SMB1_SIG_LEN);
    if (unsigned_reply && ng->sign_sticky) {
        conn_why(why, why_len,
                 "the server signed before on this mount but now does not sign its replies: "
                 "refused (a man in the middle may be removing signing)");
        return -CONN_EINTEGRITY;
    }
    if (unsigned_reply && ng->sign_required &&
        !(ng->secmode & (SMB1_SECMODE_SIGNATURES_ENABLED | SMB1_SECMODE_SIGNATURES_REQUIRED))) {
        conn_why(why, why_len,
                 "signing required (sign=required) but the server does not sign its replies");
        return -EPERM;
    }
    conn_obs_key(c, k);
    if (unsigned_reply || !obs_verify(c->mux_obs, k, in->frame, in->len, 1, false)) {
        __atomic_fetch_add(&c->stats.bad_signatures, 1, __ATOMIC_RELAXED);
        log_err(c->log, "SESSION_SETUP reply MID %u from %s is %s", in->mid, c->host,
                (in->flags2 & SMB1_FLAGS2_SECURITY_SIGNATURE) ? "badly signed" : "not signed");
        conn_why(why, why_len, "the server's session setup reply failed signature verification");
        return -CONN_EINTEGRITY;
    }
    mux_sign_activate(mux, k, 2);
    return 0;
}

static int setup_plain(struct smb1_conn *c, struct mux *mux, struct nego *ng,
                       struct conn_session *s, bool anon, char *why, size_t why_len)
{
    struct ntlm_plain_auth a;
    memset(&a, 0, sizeof(a));
    enum smb1_sec sec = anon ? SMB1_SEC_NONE : c->cfg.sec;
    int r = ntlm_plain_auth(sec, &c->creds, ng->challenge, ng->domain, now_filetime(), &a);
    if (r) {
        conn_why(why, why_len, "cannot compute the authentication response: %s%s", strerror(-r),
                 r == -EINVAL && sec == SMB1_SEC_LANMAN ? " (LM needs a password of at most 14 "
                                                          "characters)"
                                                        : "");
        return r;
    }
    struct msg_out m;
    r = msg_out_init(&m, SMB1_COM_SESSION_SETUP_ANDX, 1024 + a.nt_len + a.lm_len);
    if (r)
        goto out_wipe;
    msg_words_begin(&m);
    wire_put_u8(&m.w, SMB1_COM_NONE);
    wire_put_u8(&m.w, 0);
    wire_put_u16(&m.w, 0);
    wire_put_u16(&m.w, CLIENT_MAX_BUFFER);
    wire_put_u16(&m.w, ng->max_mpx ? ng->max_mpx : 1);
    wire_put_u16(&m.w, 1); /* VcNumber: 0 would ask the server to drop our other sessions */
    wire_put_u32(&m.w, ng->session_key);
    wire_put_u16(&m.w, (uint16_t)a.lm_len);
    wire_put_u16(&m.w, (uint16_t)a.nt_len);
    wire_put_u32(&m.w, 0);
    wire_put_u32(&m.w, client_caps(c, ng));
    msg_words_end(&m);
    msg_bytes_begin(&m);
    wire_put_bytes(&m.w, a.lm_resp, a.lm_len);
    if (a.nt_len)
        wire_put_bytes(&m.w, a.nt_resp, a.nt_len);
    if (ng->unicode)
        msg_align(&m, 2);
    put_str(&m, ng->unicode, c->creds.user);
    put_str(&m, ng->unicode, c->creds.domain);
    put_str(&m, ng->unicode, NATIVE_OS);
    put_str(&m, ng->unicode, NATIVE_LANMAN);
    msg_bytes_end(&m);
    struct msg_in in;
    r = conn_raw_call(c, mux, &m, 0, 0, setup_flags2(c, ng, false), &in);
    /* The request carried the responses: wipe them before freeing. */
    ntlm_wipe(m.buf, m.cap);
    msg_out_free(&m);
    if (r) {
        conn_why(why, why_len, "no answer to SESSION_SETUP: %s", strerror(-r));
        goto out_wipe;
    }
    if (in.status != 0) {
        r = status_to_err(in.status, why, why_len);
        goto out_in;
    }
    struct wire_reader w;
    msg_in_words(&in, &w);
    wire_skip(&w, 4);
    uint16_t action = wire_u16(&w);
    if (!wire_ok(&w)) {
        r = -EIO;
        conn_why(why, why_len, "malformed SESSION_SETUP reply");
        goto out_in;
    }
    s->uid = in.uid;
    s->peer.guest = (action & SMB1_SETUP_GUEST) != 0;
    if (ng->sign && !anon && !s->peer.guest) {
        if ((action & SMB1_SETUP_USE_LANMAN_KEY) && sec == SMB1_SEC_LANMAN) {
            r = ntlm_plain_use_lanman_key(&a, &c->creds);
            if (r)
                goto out_in;
        }
        struct sign_key k;
        r = sign_key_init(&k, a.mac_session_key, sizeof(a.mac_session_key), a.mac_resp,
                          a.mac_resp_len);
        if (r == 0)
            r = activate_signing(c, mux, ng, &in, &k, why, why_len);
        sign_key_wipe(&k);
    }
out_in:
    msg_in_free(&in);
out_wipe:
    ntlm_plain_auth_wipe(&a);
    return r;
}

/* One leg of the extended exchange. *out_blob aliases in (kept by the caller). */
static int setup_leg(struct smb1_conn *c, struct mux *mux, struct nego *ng, uint16_t uid,
                     const uint8_t *blob, size_t blob_len, struct msg_in *in)
{
    struct msg_out m;
    int r = msg_out_init(&m, SMB1_COM_SESSION_SETUP_ANDX, 512 + blob_len);
    if (r)
        return r;
    msg_words_begin(&m);
    wire_put_u8(&m.w, SMB1_COM_NONE);
    wire_put_u8(&m.w, 0);
    wire_put_u16(&m.w, 0);
    wire_put_u16(&m.w, CLIENT_MAX_BUFFER);
    wire_put_u16(&m.w, ng->max_mpx ? ng->max_mpx : 1);
    wire_put_u16(&m.w, 1);
    wire_put_u32(&m.w, ng->session_key);
    wire_put_u16(&m.w, (uint16_t)blob_len);
    wire_put_u32(&m.w, 0);
    wire_put_u32(&m.w, client_caps(c, ng) | SMB1_CAP_EXTENDED_SECURITY);
    msg_words_end(&m);
    msg_bytes_begin(&m);
    wire_put_bytes(&m.w, blob, blob_len);
    if (ng->unicode)
        msg_align(&m, 2);
    put_str(&m, ng->unicode, NATIVE_OS);
    put_str(&m, ng->unicode, NATIVE_LANMAN);
    msg_bytes_end(&m);
    r = conn_raw_call(c, mux, &m, uid, 0, setup_flags2(c, ng, true), in);
    msg_out_free(&m);
    return r;
}

static int setup_ntlmssp(struct smb1_conn *c, struct mux *mux, struct nego *ng,
                         struct conn_session *s, bool anon, char *why, size_t why_len)
{
    struct ntlmssp_client nc;
    memset(&nc, 0, sizeof(nc));
    uint8_t *tok = NULL, *blob = NULL;
    size_t tok_len = 0, blob_len = 0;
    struct msg_in in;
    memset(&in, 0, sizeof(in));
    int r = ntlmssp_client_negotiate(&nc, &c->creds, anon, &tok, &tok_len);
    if (r == 0)
        r = spnego_wrap_init(tok, tok_len, &blob, &blob_len);
    free(tok);
    tok = NULL;
    if (r)
        goto out;
    r = setup_leg(c, mux, ng, 0, blob, blob_len, &in);
    free(blob);
    blob = NULL;
    if (r) {
        conn_why(why, why_len, "no answer to SESSION_SETUP: %s", strerror(-r));
        goto out;
    }
    if (in.status != NT_STATUS_MORE_PROCESSING_REQUIRED) {
        r = status_to_err(in.status, why, why_len);
        goto out;
    }
    uint16_t uid = in.uid;
    const uint8_t *p;
    size_t n;
    struct spnego_resp sr;
    if (nego_setup_blob(&in, &p, &n) || spnego_parse_resp(p, n, &sr) || !sr.token ||
        (sr.has_mech && !sr.mech_is_ntlmssp) || sr.neg_state == SPNEGO_REJECT) {
        r = -EIO;
        conn_why(why, why_len, "malformed or unexpected SPNEGO challenge from the server");
        goto out;
    }
    r = ntlmssp_client_authenticate(&nc, sr.token, sr.token_len, now_filetime(), &tok, &tok_len);
    if (r) {
        conn_why(why, why_len, "the server's NTLMSSP challenge was refused (%s)",
                 r == -EINVAL ? "too weak or malformed" : strerror(-r));
        if (r == -EINVAL)
            r = -EPROTONOSUPPORT;
        goto out;
    }
    /* Once the AUTHENTICATE carries a MIC, Samba insists on a mechListMIC
     * in the same negTokenResp (and answers with its own, checked below). */
    uint8_t mic[16];
    size_t mic_len = 0;
    const uint8_t *mech_list;
    size_t mech_list_len;
    spnego_mech_list(&mech_list, &mech_list_len);
    if (nc.sent_mic) {
        r = ntlmssp_client_sign_mech_list(&nc, mech_list, mech_list_len, mic);
        if (r)
            goto out;
        mic_len = sizeof(mic);
    }
    r = spnego_wrap_resp(tok, tok_len, mic, mic_len, &blob, &blob_len);
    ntlm_wipe(tok, tok_len);
    free(tok);
    tok = NULL;
    if (r)
        goto out;
    msg_in_free(&in);
    r = setup_leg(c, mux, ng, uid, blob, blob_len, &in);
    free(blob);
    blob = NULL;
    if (r) {
        conn_why(why, why_len, "no answer to SESSION_SETUP: %s", strerror(-r));
        goto out;
    }
    if (in.status != 0) {
        r = status_to_err(in.status, why, why_len);
        goto out;
    }
    if (nego_setup_blob(&in, &p, &n)) {
        r = -EIO;
        conn_why(why, why_len, "malformed SESSION_SETUP reply");
        goto out;
    }
    if (n && (spnego_parse_resp(p, n, &sr) || sr.neg_state != SPNEGO_ACCEPT_COMPLETED)) {
        r = -EIO;
        conn_why(why, why_len, "the server did not complete the SPNEGO exchange");
        goto out;
    }
    if (n && nc.sent_mic && sr.mic &&
        ntlmssp_client_check_mech_list(&nc, mech_list, mech_list_len, sr.mic, sr.mic_len)) {
        r = -EIO;
        conn_why(why, why_len, "the server's SPNEGO mechListMIC does not verify");
        goto out;
    }
    struct wire_reader w;
    msg_in_words(&in, &w);
    wire_skip(&w, 4);
    uint16_t action = wire_u16(&w);
    s->uid = in.uid;
    s->peer.guest = (action & SMB1_SETUP_GUEST) != 0;
    {
        /* NativeOS, NativeLanMan, PrimaryDomain follow the blob (names for
         * the user only; a short or odd reply just leaves them empty). */
        struct wire_reader b;
        msg_in_bytes(&in, &b);
        wire_skip(&b, n);
        bool uni = (in.flags2 & SMB1_FLAGS2_UNICODE) != 0;
        if (uni && ((in.bytes_off + b.pos) & 1))
            wire_skip(&b, 1);
        char tmp[64];
        nego_read_string(&b, uni, tmp, sizeof(tmp));
        nego_read_string(&b, uni, tmp, sizeof(tmp));
        nego_read_string(&b, uni, tmp, sizeof(tmp));
        if (wire_ok(&b) && tmp[0])
            snprintf(s->peer.server_domain, sizeof(s->peer.server_domain), "%s", tmp);
    }
    ng->key_exch = (nc.flags & NTLMSSP_NEGOTIATE_KEY_EXCH) != 0;
    if (ng->sign && !anon && !s->peer.guest && nc.have_key) {
        struct sign_key k;
        r = sign_key_init(&k, nc.exported_session_key, 16, NULL, 0);
        if (r == 0)
            r = activate_signing(c, mux, ng, &in, &k, why, why_len);
        sign_key_wipe(&k);
    }
out:
    msg_in_free(&in);
    ntlmssp_client_free(&nc);
    return r;
}

static uint32_t round_down_4k(uint32_t v)
{
    return v > 4096 ? v & ~4095u : v;
}

static void fill_params(struct smb1_conn *c, const struct nego *ng, size_t max_frame,
                        struct conn_session *s)
{
    struct conn_params *p = &s->params;
    p->caps = ng->caps;
    p->max_buffer = ng->max_buffer;
    p->max_mpx = ng->max_mpx ? ng->max_mpx : 1;
    p->unicode = ng->unicode;
    p->large_files = (ng->caps & SMB1_CAP_LARGE_FILES) != 0;
    p->server_tz_min = ng->tz;
    /* Room for the READ_ANDX / WRITE_ANDX headers around the data. Samba
     * refuses reads above 0x1FFFF on a signed connection, and NetBIOS frames
     * cannot be larger, so large requests stay within that. */
    uint32_t frame_room = (uint32_t)((max_frame < 0x1FFFF ? max_frame : 0x1FFFF) - 256);
    uint32_t small = ng->max_buffer > 256 ? ng->max_buffer - 128 : 512;
    uint32_t rd = (ng->caps & SMB1_CAP_LARGE_READX) ? frame_room : small;
    uint32_t wr = (ng->caps & SMB1_CAP_LARGE_WRITEX) ? frame_room : small;
    rd = round_down_4k(rd);
    /* Writes in whole KiB, not pages: 127 KiB fit a frame where 124 KiB
     * is the last page, as Samba's client sends them (smbd pays per
     * request: 8 of 127 KiB a MiB where pages make 9 or 10). */
    wr = wr > 1024 ? wr & ~1023u : wr;
    if (c->cfg.rsize && c->cfg.rsize < rd)
        rd = c->cfg.rsize;
    if (c->cfg.wsize && c->cfg.wsize < wr)
        wr = c->cfg.wsize;
    p->max_read = rd;
    p->max_write = wr;

    struct conn_peer *i = &s->peer;
    i->security_mode = ng->secmode;
    i->extended_security = ng->ext;
    snprintf(i->server_domain, sizeof(i->server_domain), "%s", ng->domain);
    snprintf(i->server_name, sizeof(i->server_name), "%s", ng->server);
}

/* Samba answers a READ_ANDX of up to 16 MiB in one frame when it does not
 * sign and has UNIX extensions (calc_max_read_pdu; it then advertises
 * CIFS_UNIX_LARGE_READ_CAP), and NetBIOS frames cannot carry that much.
 * One 1 MiB read costs one round trip where 124 KiB chunks cost nine. A
 * server that ignores MaxCountHigh reads MaxCount, the low 16 bits: they
 * are kept at 0xF000 so that it returns 60 KiB, a short read, never
 * 0 bytes that would look like end of file. */
#define SESSION_BIG_READ (1u << 20)

static void allow_big_reads(const struct smb1_conn *c, const struct nego *ng, size_t max_frame,
                            struct conn_params *p)
{
    if (!(ng->caps & SMB1_CAP_LARGE_READX) || max_frame <= NBT_MAX_NBT_FRAME)
        return;
    uint32_t big = c->cfg.rsize ? c->cfg.rsize : SESSION_BIG_READ;
    if (big > max_frame - 256)
        big = (uint32_t)(max_frame - 256);
    if (big > 0x1FFFF)
        big = (big & ~0xFFFFu) - 0x1000;
    p->big_read = big > p->max_read ? big : 0;
}

int session_establish(struct smb1_conn *c, struct conn_session *out, char *why, size_t why_len)
{
    int fd = -1;
    bool nbt = false;
    int r = connect_transport(c, &fd, &nbt, why, why_len);
    if (r)
        return r;
    uint16_t port = peer_port(fd);
    struct mux_opts o;
    memset(&o, 0, sizeof(o));
    conn_mux_opts(c, &o);
    o.max_frame =
        c->cfg.max_frame ? c->cfg.max_frame : (nbt ? NBT_MAX_NBT_FRAME : NBT_MAX_DIRECT_FRAME);
    o.max_inflight = 1; /* until NEGOTIATE tells */
    struct mux *mux = mux_new(fd, &o, &r);
    if (!mux)
        return r;
    struct nego ng;
    memset(&ng, 0, sizeof(ng));
    uint8_t *hint = NULL;
    size_t hint_len = 0;
    if (!conn_pending(c, mux)) {
        r = -ENOTCONN;
        goto out_fail;
    }
    r = negotiate(c, mux, &ng, &hint, &hint_len, why, why_len);
    if (r)
        goto out_fail;
    conn_obs_negotiated(c, ng.secmode, ng.ext, ng.sign, ng.sign_required, nbt, port);
    bool anon = c->cfg.sec == SMB1_SEC_NONE || !c->creds.user[0];
    bool use_ntlmssp;
    if (c->cfg.sec == SMB1_SEC_NTLMSSP) {
        if (!ng.ext) {
            r = -EPROTONOSUPPORT;
            conn_why(why, why_len,
                     "sec=ntlmssp but the server does not offer extended "
                     "security");
            goto out_fail;
        }
        use_ntlmssp = true;
    } else if (ng.ext) {
        /* We did not ask for it: only NTLMv2 (or anonymous) may go through
         * NTLMSSP, which never sends anything weaker. */
        if (c->cfg.sec != SMB1_SEC_NTLMV2 && !anon) {
            r = -EPROTONOSUPPORT;
            conn_why(why, why_len,
                     "the server insists on extended security, which sec=%s "
                     "does not allow",
                     c->cfg.sec == SMB1_SEC_NTLM ? "ntlm" : "lanman");
            goto out_fail;
        }
        use_ntlmssp = true;
    } else {
        use_ntlmssp = false;
    }
    if (use_ntlmssp && hint_len) {
        bool offers = false;
        if (spnego_parse_hint(hint, hint_len, &offers) == 0 && !offers) {
            r = -EPROTONOSUPPORT;
            conn_why(why, why_len, "the server does not offer NTLMSSP");
            goto out_fail;
        }
    }
    fill_params(c, &ng, o.max_frame, out);
    r = use_ntlmssp ? setup_ntlmssp(c, mux, &ng, out, anon, why, why_len)
                    : setup_plain(c, mux, &ng, out, anon, why, why_len);
    if (r)
        goto out_fail;
    out->peer.signing_active = mux_signing(mux);
    out->peer.netbios = nbt;
    out->peer.port = port;
    out->peer.logon = anon ? SMB1_SEC_NONE : c->cfg.sec;
    out->peer.ntlmssp = use_ntlmssp;
    conn_obs_logged_on(c, out->peer.logon, use_ntlmssp, ng.key_exch, out->peer.guest,
                       ng.placeholder, out->peer.signing_active);
    if (ng.sign_required && !out->peer.signing_active && !anon && !out->peer.guest) {
        /* Whatever path left it off (no session key, a declined start),
         * a connection that must sign never goes on unsigned. */
        r = ng.sign_sticky ? -CONN_EINTEGRITY : -EPERM;
        conn_why(why, why_len, "signing is required%s but this session did not start it",
                 ng.sign_sticky ? " (the server signed before on this mount)" : "");
        session_logoff(c, mux, out->uid);
        goto out_fail;
    }
    if (!out->peer.signing_active)
        allow_big_reads(c, &ng, o.max_frame, &out->params);
    if (ng.sign && !out->peer.signing_active && (anon || out->peer.guest)) {
        if (c->cfg.sign == SMB1_SIGN_REQUIRED || ng.sign_required) {
            r = -EPERM;
            conn_why(why, why_len, "signing is required but a %s session cannot be signed",
                     anon ? "anonymous" : "guest");
            session_logoff(c, mux, out->uid);
            goto out_fail;
        }
        log_warn(c->log, "%s session on %s: messages are not signed", anon ? "anonymous" : "guest",
                 c->host);
    }
    mux_set_max_inflight(mux, out->params.max_mpx);
    free(hint);
    conn_pending(c, NULL);
    out->mux = mux;
    log_info(c->log, "connected to %s (%s, %s%s, max mpx %u, max buffer %u)", c->host,
             nbt ? "NetBIOS" : "direct TCP",
             use_ntlmssp                     ? "NTLMSSP"
             : c->cfg.sec == SMB1_SEC_NTLM   ? "NTLMv1"
             : c->cfg.sec == SMB1_SEC_LANMAN ? "LM"
             : anon                          ? "anonymous"
                                             : "NTLMv2",
             out->peer.signing_active ? ", signed" : "", out->params.max_mpx,
             out->params.max_buffer);
    return 0;

out_fail:
    free(hint);
    conn_pending(c, NULL);
    mux_put(mux);
    return r;
}

void session_logoff(struct smb1_conn *c, struct mux *mux, uint16_t uid)
{
    struct msg_out m;
    if (msg_out_init(&m, SMB1_COM_LOGOFF_ANDX, 64))
        return;
    msg_words_begin(&m);
    wire_put_u8(&m.w, SMB1_COM_NONE);
    wire_put_u8(&m.w, 0);
    wire_put_u16(&m.w, 0);
    msg_words_end(&m);
    msg_bytes_begin(&m);
    msg_bytes_end(&m);
    pthread_mutex_lock(&c->lock);
    bool uni = c->params.unicode;
    bool ext = c->peer.extended_security;
    pthread_mutex_unlock(&c->lock);
    struct msg_in in;
    wire_st16(msg_smb(&m) + SMB1_HDR_FLAGS2, conn_flags2(c, ext, uni));
    wire_st16(msg_smb(&m) + SMB1_HDR_UID, uid);
    msg_set_tid(&m, 0xFFFF);
    /* Best effort and short: the server drops the session with the socket anyway. */
    if (mux_call(mux, &m, 0, 2000, &in, NULL, NULL) == 0)
        msg_in_free(&in);
    msg_out_free(&m);
}
