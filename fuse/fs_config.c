/* The options as the core's configuration (smb1_config). */
#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif
#include <fuse.h>
#include <string.h>

#include "fs_opts.h"

/* The core polls this while a FUSE worker waits for the server: a
 * request the kernel interrupted (the program got a signal) is cancelled.
 * Outside a FUSE request it is always 0. */
static int worker_interrupted(void *arg)
{
    (void)arg;
    return fuse_interrupted();
}

void sfs_opts_to_config(const struct sfs_options *o, struct smb1_config *cfg)
{
    cfg->host = o->host;
    cfg->ip = o->ip;
    cfg->wins = o->wins;
    cfg->resolve_order = o->resolve;
    cfg->wins_timeout_ms = o->wins_timeout;
    cfg->port = o->port;
    cfg->server_netbios_name = o->servernetbiosname;
    cfg->client_netbios_name = o->netbiosname;
    cfg->user = o->username;
    cfg->domain = o->domain;
    cfg->password = sfs_opts_password(o);
    cfg->sec = o->sec;
    cfg->sign = o->sign;
    cfg->echo_interval_s = o->echo_interval;
    cfg->request_timeout_ms = o->timeout * 1000;
    cfg->rsize = o->rsize;
    cfg->wsize = o->wsize;
    cfg->unix_ext = o->unix_ext;
    cfg->mapposix = o->mapposix;
    cfg->mfsymlinks = o->mfsymlinks;
    cfg->soft = o->soft;
    cfg->interrupted = worker_interrupted;
    cfg->browse_bufsize = o->browse_bufsize;
    cfg->pcap_path = o->pcap;
    cfg->pcap_max = o->pcap_max;
}
