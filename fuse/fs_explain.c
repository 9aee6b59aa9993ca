/* smbfuse --explain-signing: log on as a mount would, do a few ordinary
 * requests, and explain how every message was signed and checked, with the
 * real values (docs/signing.md is the long form).
 *
 * The core reports through an smb1_observer (smb1.h): frames as sent and
 * received, each reply's MAC check, and what negotiate and the logon
 * decided. The callbacks only record (under one lock: they come from the
 * sending threads, the reader thread and the waiting caller); the
 * walk-through is printed once the connection is closed. The password and
 * the hashes never reach this file; the MAC key does only with
 * --show-keys.
 */
#include "fs_explain.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "smb1.h"

#define EXPLAIN_MAX_LINES                  2000
#define EXPLAIN_READ                       64
#define FLAGS2_SIGNATURE                   0x0004
#define SIG_OFF                            14
#define SMB_COM_NEGOTIATE                  0x72
#define NT_STATUS_MORE_PROCESSING_REQUIRED 0xC0000016u

struct line {
    bool sent;
    uint8_t cmd;
    uint16_t mid;
    size_t len;
    uint16_t flags2;
    uint32_t status;
    uint8_t wire[8];
    bool signing; /* sent: signed with seq */
    uint32_t seq, step;
    unsigned fragment; /* received: 1 for the first frame of a reply, 2.. for more */
    bool checked;      /* received: a MAC check was reported */
    struct smb1_obs_mac mac;
};

struct explain {
    pthread_mutex_t lock; /* protects everything below */
    struct line *lines;
    size_t n, dropped;
    bool have_nego, have_logon;
    struct smb1_obs_session nego, logon;
    uint8_t key[1040]; /* --show-keys only; wiped at the end */
    size_t key_len;
    bool show_keys;
};

static void on_frame(void *arg, const struct smb1_obs_frame *f)
{
    struct explain *x = arg;
    pthread_mutex_lock(&x->lock);
    if (x->n == EXPLAIN_MAX_LINES) {
        x->dropped++;
        pthread_mutex_unlock(&x->lock);
        return;
    }
    struct line *l = &x->lines[x->n++];
    memset(l, 0, sizeof(*l));
    l->sent = f->sent;
    l->cmd = f->cmd;
    l->mid = f->mid;
    l->len = f->len;
    if (f->len >= 32) {
        l->flags2 = (uint16_t)(f->smb[10] | f->smb[11] << 8);
        l->status = (uint32_t)f->smb[5] | (uint32_t)f->smb[6] << 8 | (uint32_t)f->smb[7] << 16 |
                    (uint32_t)f->smb[8] << 24;
        memcpy(l->wire, f->smb + SIG_OFF, 8);
    }
    l->signing = f->signing;
    l->seq = f->seq;
    l->step = f->step;
    if (!f->sent) {
        /* A later frame for the same MID, with no request in between, is
         * the next fragment of one reply. */
        l->fragment = 1;
        for (size_t i = x->n - 1; i-- > 0;) {
            if (x->lines[i].mid != f->mid)
                continue;
            if (!x->lines[i].sent)
                l->fragment = x->lines[i].fragment + 1;
            break;
        }
    }
    pthread_mutex_unlock(&x->lock);
}

static void on_mac(void *arg, const struct smb1_obs_mac *m)
{
    struct explain *x = arg;
    pthread_mutex_lock(&x->lock);
    /* The latest received frame of that MID still waiting for its check;
     * else (checked again) the latest one. */
    struct line *hit = NULL;
    for (size_t i = x->n; i-- > 0;) {
        struct line *l = &x->lines[i];
        if (l->sent || l->mid != m->mid || memcmp(l->wire, m->wire, 8) != 0)
            continue;
        if (!hit)
            hit = l;
        if (!l->checked) {
            hit = l;
            break;
        }
    }
    if (hit) {
        hit->checked = true;
        hit->mac = *m;
    }
    pthread_mutex_unlock(&x->lock);
}

static void on_session(void *arg, const struct smb1_obs_session *s)
{
    struct explain *x = arg;
    pthread_mutex_lock(&x->lock);
    if (s->event == SMB1_OBS_NEGOTIATED) {
        x->nego = *s;
        x->have_nego = true;
    } else {
        x->logon = *s;
        x->logon.key = NULL;
        x->have_logon = true;
        if (x->show_keys && s->key && s->key_len <= sizeof(x->key)) {
            memcpy(x->key, s->key, s->key_len);
            x->key_len = s->key_len;
        }
    }
    pthread_mutex_unlock(&x->lock);
}

static void hex8(char out[17], const uint8_t b[8])
{
    for (int i = 0; i < 8; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static const char *method_name(const struct smb1_obs_session *s)
{
    if (s->method == SMB1_SEC_NONE)
        return "anonymous (empty user name and password)";
    if (s->ntlmssp)
        return s->key_exch ? "NTLMSSP in SPNEGO (NTLMv2 response), with key exchange"
                           : "NTLMSSP in SPNEGO (NTLMv2 response), without key exchange";
    switch (s->method) {
    case SMB1_SEC_LANMAN:
        return "LM (LAN Manager challenge/response)";
    case SMB1_SEC_NTLM:
        return "NTLMv1 challenge/response";
    default:
        return "NTLMv2 challenge/response (old, non-extended form)";
    }
}

static const char *policy_words(enum smb1_sign_policy p)
{
    switch (p) {
    case SMB1_SIGN_REQUIRED:
        return "sign=required: ask for signing whatever the server says, and refuse a server "
               "that then does not sign";
    case SMB1_SIGN_OFF:
        return "sign=off: sign only when the server requires it";
    default:
        return "sign=auto: sign when the server enables or requires signing";
    }
}

static void print_negotiate(FILE *out, const struct explain *x, const char *host)
{
    const struct smb1_obs_session *s = &x->nego;
    uint8_t m = s->security_mode;
    fprintf(out, "1. Negotiate (dialect NT LM 0.12) with %s, %s port %u\n", host,
            s->netbios ? "NetBIOS session service on" : "direct TCP", s->port);
    fprintf(out,
            "   The server's SecurityMode is 0x%02x: %s logon, %s passwords, signing %s (0x04), "
            "%s (0x08).\n",
            m, (m & 1) ? "user-level" : "share-level", (m & 2) ? "challenge/response" : "plaintext",
            (m & 4) ? "enabled" : "NOT enabled", (m & 8) ? "required" : "not required");
    fprintf(out, "   Our policy is %s.\n", policy_words(s->policy));
    if (s->sign_asked)
        fprintf(out, "   So we ask for signing: Flags2 0x0004 on our SESSION_SETUP requests%s.\n",
                s->sign_required ? ", and 0x0010 (required): an unsigned answer is refused" : "");
    else
        fprintf(out, "   So we do not ask for signing.\n");
    fprintf(out, "   The negotiate reply itself cannot be signed (there is no key yet): a "
                 "man in the middle could clear\n   those bits. Only sign=required protects "
                 "against that downgrade.\n\n");
}

static void print_logon(FILE *out, const struct explain *x)
{
    const struct smb1_obs_session *s = &x->logon;
    fprintf(out, "2. Logon: %s%s\n", method_name(s),
            s->guest ? "; the server made it a GUEST logon" : "");
    if (!s->key_how) {
        const char *why = "signing was not asked for";
        if (s->method == SMB1_SEC_NONE || s->guest)
            why = "anonymous and guest sessions have no secret to make one from, so they are "
                  "never signed";
        else if (s->placeholder)
            why = "the server declined to sign this logon";
        else if (x->nego.sign_asked)
            why = "the server did not sign its reply";
        fprintf(out, "   No MAC key: %s.\n", why);
    } else {
        fprintf(out, "   MAC key = %s.\n", s->key_how);
        fprintf(out,
                "   Length %zu bytes (%zu-byte session key + %zu bytes of response); fingerprint "
                "MD5(key)[0..3] = %02x%02x%02x%02x\n",
                s->key_len, s->session_key_len, s->response_len, s->fingerprint[0],
                s->fingerprint[1], s->fingerprint[2], s->fingerprint[3]);
        if (s->method == SMB1_SEC_NTLM || s->method == SMB1_SEC_LANMAN)
            fprintf(out, "   Its session key half does not depend on the server's challenge: it "
                         "is the same on every\n   connection until the password changes.\n");
        if (x->key_len) {
            fprintf(out, "   WARNING: --show-keys: with this key anyone can sign messages on "
                         "this connection. Key:\n   ");
            for (size_t i = 0; i < x->key_len; i++)
                fprintf(out, "%02x", x->key[i]);
            fprintf(out, "\n");
        }
    }
    if (s->signing_active)
        fprintf(out,
                "   Signing started: the final SESSION_SETUP reply carries the first real MAC, "
                "with sequence number 1\n   (its request counted as 0); our next request "
                "takes 2.\n");
    else if (s->placeholder)
        fprintf(out, "   The server answered with the placeholder \"BSRSPYL \" instead of a MAC: "
                     "it did not start signing.\n");
    else
        fprintf(out, "   Signing is NOT active on this connection.\n");
    fprintf(out, "\n");
}

/* The verdict column of one line. *bad: this line fails verification. */
static const char *verdict(const struct line *l, bool signing_seen, char *buf, size_t n, bool *bad)
{
    *bad = false;
    if (l->sent) {
        if (!l->signing)
            return (l->flags2 & FLAGS2_SIGNATURE) ? "unsigned (flag 0x0004 = we want signing)"
                                                  : "unsigned";
        snprintf(buf, n, "signed, counter +%u%s", l->step,
                 l->step == 1 ? " (one-way: no reply)" : " (reply due with n+1)");
        return buf;
    }
    if (!memcmp(l->wire, "BSRSPYL ", 8))
        return l->status == NT_STATUS_MORE_PROCESSING_REQUIRED
                   ? "placeholder \"BSRSPYL \": logon not finished, no key yet"
                   : "placeholder \"BSRSPYL \": the server will not sign this session";
    if (!l->checked)
        return signing_seen ? "not checked (no request waits for it)" : "not signed, not checked";
    const char *frag = l->fragment > 1 ? ", same number as the first fragment" : "";
    switch (l->mac.verdict) {
    case SMB1_MAC_GOOD:
        snprintf(buf, n, "good%s%s", l->mac.batched ? " (checked in a batch)" : "", frag);
        return buf;
    case SMB1_MAC_UNSIGNED:
        *bad = true;
        return "MISSING: a signature was due; request failed";
    default:
        *bad = true;
        snprintf(buf, n, "BAD: not made with our key and number %u; request failed%s", l->mac.seq,
                 frag);
        return buf;
    }
}

/* Prints the table; returns the number of replies that failed. */
static size_t print_messages(FILE *out, const struct explain *x, size_t *good)
{
    fprintf(out, "3. The messages. A request takes sequence number n and moves the counter by 2; "
                 "its reply must carry\n   n+1 (replies may come in any order: each request "
                 "remembers its number). A one-way message\n   (NT_CANCEL, an oplock-break "
                 "acknowledgement) moves it by 1. Every fragment of a reply in several\n   SMBs "
                 "carries the same number. The MAC is MD5(key || message with n in the signature "
                 "field)[0..7].\n\n");
    fprintf(out, "   %-4s %-20s %5s %6s  %-16s  %-16s  %s\n", "dir", "command", "MID", "seq",
            "MAC on the wire", "MAC computed", "verdict");
    size_t bad_n = 0;
    bool signing_seen = false;
    for (size_t i = 0; i < x->n; i++) {
        const struct line *l = &x->lines[i];
        if (i > 0 && l->sent && l->cmd == SMB_COM_NEGOTIATE) {
            fprintf(out, "   --- the connection was dropped and a new one made: a new logon, a new "
                         "key, numbers from 0 ---\n");
            signing_seen = false;
        }
        char wire[17], comp[17] = "-", seq[16] = "-", vbuf[160], cmd[40];
        hex8(wire, l->wire);
        if (!memcmp(l->wire, "BSRSPYL ", 8))
            snprintf(wire, sizeof(wire), "\"BSRSPYL \"");
        if (l->sent && l->signing) {
            snprintf(seq, sizeof(seq), "%u", l->seq);
            hex8(comp, l->wire);
            signing_seen = true;
        } else if (!l->sent && l->checked) {
            snprintf(seq, sizeof(seq), "%u", l->mac.seq);
            hex8(comp, l->mac.computed);
            signing_seen = true;
        }
        snprintf(cmd, sizeof(cmd), "%s", smb1_command_name(l->cmd));
        if (l->fragment > 1)
            snprintf(cmd, sizeof(cmd), "%.24s #%u", smb1_command_name(l->cmd), l->fragment);
        bool bad;
        const char *v = verdict(l, signing_seen, vbuf, sizeof(vbuf), &bad);
        if (bad)
            bad_n++;
        else if (!l->sent && l->checked)
            (*good)++;
        fprintf(out, "   %-4s %-20s %5u %6s  %-16s  %-16s  %s\n", l->sent ? "->" : "<-", cmd,
                l->mid, seq, wire, comp, v);
    }
    if (x->dropped)
        fprintf(out, "   (%zu more messages not shown)\n", x->dropped);
    fprintf(out, "\n");
    return bad_n;
}

struct listing {
    char first_file[256]; /* the first file with data, else the first file */
    bool has_data;
    unsigned entries;
};

static int list_cb(void *ctx, const char *name, const struct smb1_stat *st)
{
    struct listing *ls = ctx;
    ls->entries++;
    if (!st->is_dir && !ls->has_data && strlen(name) < sizeof(ls->first_file)) {
        snprintf(ls->first_file, sizeof(ls->first_file), "%s", name);
        ls->has_data = st->size > 0;
    }
    return 0;
}

/* Tree connect, a listing and a small read; returns 0 or the first error,
 * with what failed in step. */
static int do_requests(struct smb1_conn *conn, const struct sfs_options *o, FILE *out)
{
    struct smb1_tree *tree = NULL;
    int r = smb1_tree_connect(conn, o->share, &tree);
    if (r) {
        fprintf(out, "   tree connect to %s: %s\n", o->share, strerror(-r));
        return r;
    }
    struct listing ls = {{0}, false, 0};
    const char *dir = o->prefix && o->prefix[0] ? o->prefix : "";
    r = smb1_readdir(tree, dir, list_cb, &ls);
    if (r) {
        fprintf(out, "   listing /%s: %s\n", dir, strerror(-r));
        goto out_tree;
    }
    fprintf(out, "   The requests: tree connect to %s, a listing of /%s (%u entries)", o->share,
            dir, ls.entries);
    if (ls.first_file[0]) {
        char path[600];
        snprintf(path, sizeof(path), "%s%s%s", dir, dir[0] ? "/" : "", ls.first_file);
        struct smb1_file *f = NULL;
        struct smb1_stat st;
        r = smb1_open(tree, path, O_RDONLY, 0, &f, &st);
        if (r == 0) {
            char buf[EXPLAIN_READ];
            ssize_t n = smb1_read(f, buf, sizeof(buf), 0);
            smb1_close(f);
            if (n < 0)
                r = (int)n;
            else
                fprintf(out, ", a read of %zd bytes of /%s", n, path);
        }
        if (r)
            fprintf(out, "\n   reading /%s: %s", path, strerror(-r));
    }
    fprintf(out, ".\n");
out_tree:
    smb1_tree_free(tree);
    return r;
}

int sfs_explain(struct sfs_options *o, struct smb1_log *lg, FILE *out)
{
    struct explain x;
    memset(&x, 0, sizeof(x));
    pthread_mutex_init(&x.lock, NULL);
    x.show_keys = o->show_keys;
    x.lines = calloc(EXPLAIN_MAX_LINES, sizeof(*x.lines));
    if (!x.lines) {
        fprintf(stderr, "smbfuse: out of memory\n");
        return SFS_EXPLAIN_FAILED;
    }
    struct smb1_observer obs = {.frame = on_frame,
                                .mac = on_mac,
                                .session = on_session,
                                .arg = &x,
                                .want_keys = o->show_keys};
    struct smb1_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    sfs_opts_to_config(o, &cfg);
    cfg.log = lg;
    cfg.observer = &obs;
    /* Fail fast rather than keep reconnecting: this is a one-shot look. */
    cfg.soft = true;

    fprintf(out,
            "How smbfuse signs its messages to //%s/%s, step by step (see docs/signing.md)\n\n",
            o->host, o->share);
    struct smb1_conn *conn = NULL;
    char why[256] = "";
    int r = smb1_conn_new(&cfg, &conn, why, sizeof(why));
    cfg.password = NULL;
    sfs_opts_wipe_password(o);
    int step_err = r;
    /* What the requests did is printed after the walk-through. */
    char *done = NULL;
    size_t done_len = 0;
    FILE *dout = open_memstream(&done, &done_len);
    if (r == 0) {
        step_err = do_requests(conn, o, dout ? dout : out);
        smb1_conn_free(conn); /* LOGOFF_ANDX, still signed */
    }
    if (dout)
        fclose(dout);

    pthread_mutex_lock(&x.lock);
    if (x.have_nego)
        print_negotiate(out, &x, o->host);
    if (x.have_logon)
        print_logon(out, &x);
    else if (x.have_nego)
        fprintf(out, "2. Logon: did not complete (the result below says why).\n\n");
    size_t good = 0;
    size_t bad = print_messages(out, &x, &good);
    bool signing = x.have_logon && x.logon.signing_active;
    if (done && done[0])
        fprintf(out, "%s", done);
    free(done);
    fprintf(out, "4. Result: ");
    if (r)
        fprintf(out, "could not connect and log on: %s.\n", why[0] ? why : strerror(-r));
    if (bad)
        fprintf(out,
                "%zu repl%s did NOT verify (both MACs are shown above). smbfuse never "
                "accepts such a reply:\n   the request fails with EIO and the connection "
                "is dropped, because the sequence numbers can\n   no longer be trusted.\n",
                bad, bad == 1 ? "y" : "ies");
    else if (signing)
        fprintf(out, "every signed reply verified (%zu).\n", good);
    else if (r == 0)
        fprintf(out,
                "this connection was NOT signed. Nothing proves that the replies came "
                "from the server unaltered:\n   anyone on the path could change file "
                "contents or inject answers. %s\n",
                x.have_logon && x.logon.placeholder
                    ? "The server declined to sign this logon\n   method: sec=ntlmv2 or "
                      "sec=ntlmssp logons are signed, and sign=required refuses an unsigned one."
                    : "With sign=required smbfuse\n   asks for signing anyway (and refuses a "
                      "server that cannot sign).");
    if (step_err && !r && !bad)
        fprintf(out, "   A request failed: %s.\n", strerror(-step_err));
    if (o->pcap)
        fprintf(out, "   The frames are in the capture %s (tshark -r %s).\n", o->pcap, o->pcap);
    pthread_mutex_unlock(&x.lock);

    explicit_bzero(x.key, sizeof(x.key));
    free(x.lines);
    pthread_mutex_destroy(&x.lock);
    if (bad)
        return SFS_EXPLAIN_BAD_MAC;
    return r || step_err ? SFS_EXPLAIN_FAILED : 0;
}
