/* The connection's lifecycle as the public API sees it: smb1_conn_new,
 * smb1_conn_free, smb1_conn_abort (conn.c has the state machine). */
#include "session/conn_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/secmem.h"
#include "wire/smb1_proto.h"

static char *dup_or_null(const char *s, int *err)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *err = -ENOMEM;
    return d;
}

static char *default_client_name(void)
{
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
        strcpy(host, "SMBFUSE");
    host[sizeof(host) - 1] = 0;
    char *dot = strchr(host, '.');
    if (dot)
        *dot = 0;
    host[15] = 0;
    for (char *p = host; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    return strdup(host);
}

static void conn_destroy(struct smb1_conn *c)
{
    while (c->brk_head) {
        struct conn_brk *b = c->brk_head;
        c->brk_head = b->next;
        free(b);
    }
    ntlm_creds_free(&c->creds);
    conn_obs_free(c);
    connect_free(c);
    free(c->host);
    free(c->ip);
    free(c->srv_nbname);
    free(c->cli_nbname);
    pthread_mutex_destroy(&c->reconnect_lock);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->svc_lock);
    pthread_cond_destroy(&c->svc_cond);
    pthread_cond_destroy(&c->state_cond);
    secmem_free(c, sizeof(*c));
}

int smb1_conn_new(const struct smb1_config *cfg, struct smb1_conn **out, char *why, size_t why_len)
{
    *out = NULL;
    conn_why(why, why_len, "%s", "");
    if (!cfg || !cfg->host || !cfg->host[0]) {
        conn_why(why, why_len, "no server name given");
        return -EINVAL;
    }
    /* Pages of its own, locked and left out of core dumps: it holds the
     * password hashes. */
    struct smb1_conn *c = secmem_alloc(sizeof(*c));
    if (!c)
        return -ENOMEM;
    int r = 0;
    c->cfg = *cfg;
    c->cfg.password = NULL;
    c->host = dup_or_null(cfg->host, &r);
    c->ip = dup_or_null(cfg->ip, &r);
    c->srv_nbname = dup_or_null(cfg->server_netbios_name, &r);
    c->cli_nbname = cfg->client_netbios_name ? dup_or_null(cfg->client_netbios_name, &r)
                                             : default_client_name();
    if (!c->cli_nbname)
        r = -ENOMEM;
    c->cfg.host = c->host;
    c->cfg.ip = c->ip;
    c->cfg.server_netbios_name = c->srv_nbname;
    c->cfg.client_netbios_name = c->cli_nbname;
    c->log = cfg->log;
    pthread_mutex_init(&c->reconnect_lock, NULL);
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->svc_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->svc_cond, &ca);
    pthread_cond_init(&c->state_cond, &ca);
    pthread_condattr_destroy(&ca);
    c->state = CONN_NEW;
    if (!r)
        r = connect_init(c, why, why_len);
    if (r) {
        conn_destroy(c);
        return r;
    }
    bool anon = cfg->sec == SMB1_SEC_NONE || !cfg->user || !cfg->user[0];
    r = ntlm_creds_init(&c->creds, anon ? "" : cfg->user, cfg->domain ? cfg->domain : "",
                        c->cli_nbname, anon || !cfg->password ? "" : cfg->password,
                        cfg->sec == SMB1_SEC_LANMAN);
    if (r) {
        conn_why(why, why_len, "cannot prepare the credentials: %s", strerror(-r));
        conn_destroy(c);
        return r;
    }

    r = conn_obs_init(c, cfg, why, why_len);
    if (r) {
        conn_destroy(c);
        return r;
    }
    struct conn_session s;
    memset(&s, 0, sizeof(s));
    r = session_establish(c, &s, why, why_len);
    if (r) {
        log_err(c->log, "connecting to %s failed: %s", c->host, why && why[0] ? why : strerror(-r));
        conn_destroy(c);
        return conn_public_err(r);
    }
    if (cfg->unix_ext == 1 && !(s.params.caps & SMB1_CAP_UNIX)) {
        conn_why(why, why_len, "the server does not offer CIFS UNIX extensions (unix=1 asked)");
        session_logoff(c, s.mux, s.uid);
        mux_put(s.mux);
        conn_destroy(c);
        return -EPROTONOSUPPORT;
    }
    pthread_mutex_lock(&c->lock);
    conn_publish(c, &s);
    pthread_mutex_unlock(&c->lock);

    r = pthread_create(&c->svc, NULL, conn_svc_main, c);
    if (r) {
        session_logoff(c, s.mux, s.uid);
        mux_put(s.mux);
        conn_destroy(c);
        return -r;
    }
    c->svc_started = true;
    *out = c;
    return 0;
}

void smb1_conn_free(struct smb1_conn *c)
{
    if (!c)
        return;
    if (c->svc_started) {
        pthread_mutex_lock(&c->svc_lock);
        c->svc_stop = true;
        pthread_cond_signal(&c->svc_cond);
        pthread_mutex_unlock(&c->svc_lock);
    }
    pthread_mutex_lock(&c->reconnect_lock);
    pthread_mutex_lock(&c->lock);
    struct mux *mux = c->mux;
    uint16_t uid = c->uid;
    bool live = c->state == CONN_CONNECTED && mux;
    c->mux = NULL;
    conn_set_state(c, CONN_CLOSED);
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_unlock(&c->reconnect_lock);
    if (mux) {
        if (live && !mux_dead(mux))
            session_logoff(c, mux, uid);
        /* Also ends a keep-alive the service thread may be waiting on, so
         * the join below never waits for a dead server's timeout. */
        mux_kill(mux, -ECONNRESET);
    }
    if (c->svc_started)
        pthread_join(c->svc, NULL);
    mux_put(mux);
    struct smb1_stats st;
    smb1_conn_get_stats(c, &st);
    log_info(c->log,
             "%s: %llu requests, %llu bad signatures, %llu unknown MIDs, %llu reconnects, "
             "%llu timeouts, %llu malformed replies",
             c->host, (unsigned long long)st.requests, (unsigned long long)st.bad_signatures,
             (unsigned long long)st.unknown_mids, (unsigned long long)st.reconnects,
             (unsigned long long)st.timeouts, (unsigned long long)st.malformed);
    conn_destroy(c);
}

void smb1_conn_abort(struct smb1_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    bool first = !c->aborted;
    c->aborted = true;
    /* Both die under c->lock: neither can be freed meanwhile (a pending
     * mux is cleared under it before its put). */
    if (c->mux)
        mux_kill(c->mux, -ENOTCONN);
    if (c->pending_mux)
        mux_kill(c->pending_mux, -ENOTCONN);
    pthread_cond_broadcast(&c->state_cond);
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_lock(&c->svc_lock);
    pthread_cond_signal(&c->svc_cond);
    pthread_mutex_unlock(&c->svc_lock);
    if (first)
        log_info(c->log, "connection to %s aborted: every waiting call fails now", c->host);
}

/* Used by session.c to give each mux the connection's shared hooks. */
void conn_mux_opts(struct smb1_conn *c, struct mux_opts *o)
{
    o->stats = &c->stats;
    o->log = c->log;
    o->unsolicited = conn_on_unsolicited;
    o->unsolicited_arg = c;
    /* Called only while this mux is being set up, by the one thread that
     * may publish it (under reconnect_lock, or before smb1_conn_new
     * returns): it becomes the next epoch. */
    pthread_mutex_lock(&c->lock);
    o->epoch = c->epoch + 1;
    pthread_mutex_unlock(&c->lock);
    o->obs = c->mux_obs;
    o->pace_ms = conn_probe_ms(c);
    o->interrupted = c->cfg.interrupted;
    o->interrupted_arg = c->cfg.interrupt_arg;
}
