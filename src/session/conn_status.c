/* What a connection can tell about itself: smb1_conn_get_info, _stats and
 * _status (smbfuse --status), and the note of the last failed request. */
#include <string.h>
#include <time.h>

#include "session/conn_int.h"

/* The public view of what c negotiated (conn_params) and what its peer
 * said (conn_peer). Caller holds c->lock. */
static void info_locked(const struct smb1_conn *c, struct smb1_conn_info *info)
{
    memset(info, 0, sizeof(*info));
    info->capabilities = c->params.caps;
    info->max_mpx = c->params.max_mpx;
    info->max_buffer = c->params.max_buffer;
    info->server_tz_min = c->params.server_tz_min;
    info->unix_caps = c->params.unix_caps;
    info->security_mode = c->peer.security_mode;
    info->signing_active = c->peer.signing_active;
    info->guest = c->peer.guest;
    info->extended_security = c->peer.extended_security;
    info->netbios = c->peer.netbios;
    info->port = c->peer.port;
    info->logon = c->peer.logon;
    info->ntlmssp = c->peer.ntlmssp;
    memcpy(info->server_domain, c->peer.server_domain, sizeof(info->server_domain));
    memcpy(info->server_name, c->peer.server_name, sizeof(info->server_name));
}

void smb1_conn_get_info(struct smb1_conn *c, struct smb1_conn_info *info)
{
    pthread_mutex_lock(&c->lock);
    info_locked(c, info);
    pthread_mutex_unlock(&c->lock);
}

static uint64_t ld(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void smb1_conn_get_stats(struct smb1_conn *c, struct smb1_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->requests = ld(&c->stats.requests);
    st->bad_signatures = ld(&c->stats.bad_signatures);
    st->unknown_mids = ld(&c->stats.unknown_mids);
    st->timeouts = ld(&c->stats.timeouts);
    st->malformed = ld(&c->stats.malformed);
    st->reconnects = ld(&c->reconnects);
    st->batched_macs = ld(&c->stats.batched_macs);
    st->spliced_writes = ld(&c->stats.spliced_writes);
    st->lent_writes = ld(&c->stats.lent_writes);
    st->direct_reads = ld(&c->stats.direct_reads);
    st->spliced_reads = ld(&c->stats.spliced_reads);
}

void conn_status_note(struct smb1_conn *c, uint8_t cmd, int err)
{
    pthread_mutex_lock(&c->lock);
    c->call_err = err;
    c->call_err_cmd = cmd;
    c->call_err_time = (int64_t)time(NULL);
    pthread_mutex_unlock(&c->lock);
}

void smb1_conn_get_status(struct smb1_conn *c, struct smb1_status *st)
{
    memset(st, 0, sizeof(*st));
    smb1_conn_get_stats(c, &st->stats);
    struct mux *mux = NULL;
    pthread_mutex_lock(&c->lock);
    info_locked(c, &st->info);
    st->state = conn_state_name(c->state);
    st->epoch = c->epoch;
    st->last_err = c->call_err;
    st->last_err_cmd = c->call_err ? msg_cmd_name(c->call_err_cmd) : NULL;
    st->last_err_time = c->call_err_time;
    st->connect_err = c->state == CONN_CONNECTED ? 0 : c->last_err;
    if (c->mux) {
        mux = c->mux;
        mux_get(mux);
    }
    pthread_mutex_unlock(&c->lock);
    if (mux) {
        st->inflight = mux_inflight(mux);
        mux_put(mux);
    }
}

const char *smb1_command_name(uint8_t cmd)
{
    return msg_cmd_name(cmd);
}
