/* TREE_CONNECT_ANDX / TREE_DISCONNECT (MS-CIFS 2.2.4.55, 2.2.4.51), and the
 * CIFS UNIX extensions set-up that follows the first disk tree connect of
 * each connection epoch (the server keeps the announced capabilities per
 * connection, so a reconnect announces them again). */
#include "session/conn_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/ntstatus.h"
#include "wire/smb1_proto.h"

static enum smb1_tree_type service_type(const char *svc)
{
    if (!strcmp(svc, "A:"))
        return SMB1_TREE_DISK;
    if (!strcmp(svc, "IPC"))
        return SMB1_TREE_IPC;
    if (!strncmp(svc, "LPT", 3))
        return SMB1_TREE_PRINTER;
    return SMB1_TREE_OTHER;
}

void tree_connect_decode(const struct msg_in *in, char svc[TREE_SVC_MAX], enum smb1_tree_type *type)
{
    struct wire_reader b;
    msg_in_bytes(in, &b);
    size_t k = 0;
    while (k < TREE_SVC_MAX - 1 && wire_remaining(&b)) {
        uint8_t ch = wire_u8(&b);
        if (!ch)
            break;
        svc[k++] = (char)ch;
    }
    svc[k] = 0;
    *type = service_type(svc);
}

int tree_connect_raw(struct smb1_conn *c, struct mux *mux, uint16_t uid, struct smb1_tree *t,
                     uint16_t *tid, enum smb1_tree_type *type)
{
    pthread_mutex_lock(&c->lock);
    bool uni = c->params.unicode;
    uint16_t f2 = conn_flags2(c, c->peer.extended_security, uni);
    pthread_mutex_unlock(&c->lock);

    struct msg_out m;
    int r = msg_out_init(&m, SMB1_COM_TREE_CONNECT_ANDX, 256 + 4 * strlen(t->unc));
    if (r)
        return r;
    msg_words_begin(&m);
    wire_put_u8(&m.w, SMB1_COM_NONE);
    wire_put_u8(&m.w, 0);
    wire_put_u16(&m.w, 0);
    wire_put_u16(&m.w, 0); /* Flags: no EXTENDED_SIGNATURES (DIGEST 7.6) */
    wire_put_u16(&m.w, 1); /* PasswordLength: user-level security */
    msg_words_end(&m);
    msg_bytes_begin(&m);
    wire_put_u8(&m.w, 0);
    if (uni) {
        msg_align(&m, 2);
        r = msg_put_utf16z(&m, t->unc);
    } else {
        wire_put_bytes(&m.w, t->unc, strlen(t->unc) + 1);
    }
    wire_put_bytes(&m.w, "?????", 6);
    msg_bytes_end(&m);
    if (r) {
        msg_out_free(&m);
        return r;
    }
    struct msg_in in;
    r = conn_raw_call(c, mux, &m, uid, 0xFFFF, f2, &in);
    msg_out_free(&m);
    if (r)
        return r;
    switch (in.status) {
    case NT_STATUS_OK:
        break;
    case NT_STATUS_BAD_NETWORK_NAME:
        r = -ENOENT;
        break;
    case NT_STATUS_ACCESS_DENIED:
    case NT_STATUS_NETWORK_ACCESS_DENIED:
    case NT_STATUS_LOGON_FAILURE:
        r = -EACCES;
        break;
    default:
        r = ntstatus_to_errno(in.status);
        if (!r)
            r = -EIO;
        break;
    }
    if (r) {
        log_info(c->log, "TREE_CONNECT %s: %s", t->unc, ntstatus_name(in.status));
        msg_in_free(&in);
        return r;
    }
    char svc[TREE_SVC_MAX];
    tree_connect_decode(&in, svc, type);
    log_debug(c->log, "TREE_CONNECT %s: TID %u, service \"%s\"", t->unc, in.tid, svc);
    *tid = in.tid;
    msg_in_free(&in);
    return 0;
}

int tree_open(struct smb1_conn *c, const char *share, void (*ready)(struct smb1_tree *t),
              struct smb1_tree **out)
{
    *out = NULL;
    while (*share == '/' || *share == '\\')
        share++;
    if (!*share)
        return -EINVAL;
    struct smb1_tree *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->conn = c;
    t->share = strdup(share);
    size_t n = strlen(c->host) + strlen(share) + 4;
    t->unc = malloc(n);
    if (!t->share || !t->unc) {
        free(t->share);
        free(t->unc);
        free(t);
        return -ENOMEM;
    }
    snprintf(t->unc, n, "\\\\%s\\%s", c->host, share);
    pthread_mutex_init(&t->lock, NULL);
    t->type = SMB1_TREE_OTHER;
    t->epoch = 0; /* no epoch is 0: conn_ensure connects it */
    t->ready = ready;
    int r = conn_ensure(c, t, NULL);
    if (r) {
        pthread_mutex_destroy(&t->lock);
        free(t->share);
        free(t->unc);
        free(t);
        return r;
    }
    if (ready)
        ready(t);
    *out = t;
    return 0;
}

void smb1_tree_free(struct smb1_tree *t)
{
    if (!t)
        return;
    struct smb1_conn *c = t->conn;
    if (t->ops_priv && t->ops_priv_free)
        t->ops_priv_free(t->ops_priv);
    pthread_mutex_lock(&t->lock);
    uint64_t epoch = t->epoch;
    pthread_mutex_unlock(&t->lock);
    struct conn_params p;
    conn_get_params(c, &p);
    if (epoch == p.epoch) {
        struct msg_out m;
        if (msg_out_init(&m, SMB1_COM_TREE_DISCONNECT, 64) == 0) {
            msg_words_begin(&m);
            msg_words_end(&m);
            msg_bytes_begin(&m);
            msg_bytes_end(&m);
            struct msg_in in;
            if (conn_call(c, t, &m, &in, CONN_NO_RECONNECT) == 0)
                msg_in_free(&in);
        }
    }
    pthread_mutex_destroy(&t->lock);
    free(t->share);
    free(t->unc);
    free(t);
}

enum smb1_tree_type smb1_tree_type(const struct smb1_tree *t)
{
    struct smb1_tree *mt = (struct smb1_tree *)t;
    pthread_mutex_lock(&mt->lock);
    enum smb1_tree_type type = mt->type;
    pthread_mutex_unlock(&mt->lock);
    return type;
}

void conn_set_unix_caps(struct smb1_conn *c, uint64_t epoch, uint64_t caps)
{
    pthread_mutex_lock(&c->lock);
    c->unix_epoch = epoch;
    c->params.unix_caps = caps;
    pthread_mutex_unlock(&c->lock);
}

bool conn_unix_claim(struct smb1_conn *c, uint64_t epoch)
{
    pthread_mutex_lock(&c->lock);
    bool pending = c->unix_epoch != epoch && epoch == c->epoch;
    if (pending)
        c->unix_epoch = epoch;
    pthread_mutex_unlock(&c->lock);
    return pending;
}
