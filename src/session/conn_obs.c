/* The connection's observer and its pcap capture (declared in conn_int.h):
 * what the muxes report goes to both; what negotiate and session setup
 * decided goes to the user's observer as smb1_obs_session. The muxes of a connection report to
 * c->obs, which hands every frame to the pcap writer and every event to the user's observer. */
#include <errno.h>
#include <string.h>

#include "auth/ntlm.h"
#include "link/pcap.h"
#include "wire/smb1_proto.h"
#include "session/conn_int.h"

static void chain_frame(void *arg, const struct smb1_obs_frame *f)
{
    struct smb1_conn *c = arg;
    if (c->pcap) {
        int r = 0;
        /* A NEGOTIATE after the first one opens a new connection. */
        if (f->sent && f->cmd == SMB1_COM_NEGOTIATE && atomic_exchange(&c->pcap_streams, 1))
            r = pcap_new_stream(c->pcap);
        if (r == 0)
            r = pcap_write_smb(c->pcap, f->sent, f->smb, f->len);
        if (r && !atomic_exchange(&c->pcap_warned, true)) {
            if (r == -EFBIG)
                log_warn(c->log, "the capture file reached pcap_max: later frames are not in it");
            else
                log_warn(c->log, "writing the capture file failed: %s; capture stopped",
                         strerror(-r));
        }
    }
    if (c->user_obs.frame)
        c->user_obs.frame(c->user_obs.arg, f);
}

static void chain_mac(void *arg, const struct smb1_obs_mac *m)
{
    struct smb1_conn *c = arg;
    if (c->user_obs.mac)
        c->user_obs.mac(c->user_obs.arg, m);
}

int conn_obs_init(struct smb1_conn *c, const struct smb1_config *cfg, char *why, size_t why_len)
{
    if (cfg->observer)
        c->user_obs = *cfg->observer;
    if (cfg->pcap_path && cfg->pcap_path[0]) {
        int err = 0;
        bool nbt = cfg->transport == SMB1_TRANSPORT_NETBIOS || cfg->port == 139;
        c->pcap = pcap_open(cfg->pcap_path, cfg->pcap_max, nbt, &err);
        if (!c->pcap) {
            conn_why(why, why_len, "cannot write the capture %s: %s", cfg->pcap_path,
                     strerror(-err));
            return err;
        }
    }
    c->cfg.pcap_path = NULL; /* the caller's string */
    if (c->pcap || cfg->observer) {
        c->obs = (struct smb1_observer){
            .frame = chain_frame, .mac = chain_mac, .arg = c, .want_keys = c->user_obs.want_keys};
        c->mux_obs = &c->obs;
    }
    return 0;
}

void conn_obs_free(struct smb1_conn *c)
{
    pcap_close(c->pcap);
    c->pcap = NULL;
    sign_key_wipe(&c->obs_key);
}

void conn_obs_negotiated(struct smb1_conn *c, uint8_t security_mode, bool ext, bool sign,
                         bool sign_required, bool netbios, uint16_t port)
{
    if (!c->user_obs.session)
        return;
    struct smb1_obs_session *s = &c->obs_sess;
    memset(s, 0, sizeof(*s));
    s->event = SMB1_OBS_NEGOTIATED;
    s->security_mode = security_mode;
    s->extended_security = ext;
    s->policy = c->cfg.sign;
    s->sign_asked = sign;
    s->sign_required = sign_required;
    s->netbios = netbios;
    s->port = port;
    sign_key_wipe(&c->obs_key);
    c->user_obs.session(c->user_obs.arg, s);
}

void conn_obs_key(struct smb1_conn *c, const struct sign_key *k)
{
    if (c->user_obs.session)
        c->obs_key = *k;
}

/* How the MAC key of this logon is made, in words (docs/signing.md 2). */
static const char *key_how(enum smb1_sec method, bool ntlmssp, bool key_exch)
{
    if (ntlmssp)
        return key_exch ? "ExportedSessionKey: 16 random bytes chosen by the client, sent "
                          "RC4-encrypted under the NTLMv2 SessionBaseKey "
                          "(HMAC-MD5(NTOWFv2, NTProofStr)); no response appended"
                        : "the KeyExchangeKey, i.e. the NTLMv2 SessionBaseKey "
                          "(HMAC-MD5(NTOWFv2, NTProofStr)); no response appended";
    switch (method) {
    case SMB1_SEC_LANMAN:
        return "LM session key LMOWFv1[0..7] || 8 zero bytes (from the LM hash alone), then "
               "the 24-byte LM response";
    case SMB1_SEC_NTLM:
        return "MD4(NT hash) (from the password alone: the same on every connection), then "
               "the 24-byte NT response";
    case SMB1_SEC_NTLMV2:
        return "NTLMv2 SessionBaseKey HMAC-MD5(NTOWFv2, NTProofStr), then the whole NTLMv2 "
               "response";
    default:
        return NULL;
    }
}

void conn_obs_logged_on(struct smb1_conn *c, enum smb1_sec method, bool ntlmssp, bool key_exch,
                        bool guest, bool placeholder, bool signing_active)
{
    if (!c->user_obs.session)
        return;
    struct smb1_obs_session *s = &c->obs_sess;
    s->event = SMB1_OBS_LOGGED_ON;
    s->method = method;
    s->ntlmssp = ntlmssp;
    s->key_exch = key_exch;
    s->guest = guest;
    s->placeholder = placeholder;
    s->signing_active = signing_active;
    s->key_how = NULL;
    s->key = NULL;
    s->key_len = s->session_key_len = s->response_len = 0;
    memset(s->fingerprint, 0, sizeof(s->fingerprint));
    uint8_t md[16];
    if (c->obs_key.len && ntlm_md5(c->obs_key.key, c->obs_key.len, md) == 0) {
        s->key_how = key_how(method, ntlmssp, key_exch);
        s->key_len = c->obs_key.len;
        s->session_key_len = 16;
        s->response_len = c->obs_key.len - 16;
        memcpy(s->fingerprint, md, sizeof(s->fingerprint));
        if (c->user_obs.want_keys)
            s->key = c->obs_key.key;
        ntlm_wipe(md, sizeof(md));
    }
    c->user_obs.session(c->user_obs.arg, s);
    s->key = NULL;
    sign_key_wipe(&c->obs_key);
}
