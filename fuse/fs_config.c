/* The options as the core's configuration (smb1_config). */
#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif
#include <fuse.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "fs_opts.h"

/* Set once, by main, after fuse_new(): before it, libfuse's thread-local
 * context key does not exist yet, and fuse_interrupted() would read
 * whatever another library keeps under key 0 (under ASan: a crash of
 * --list over port 139, and of a mount whose first requests wait). The
 * commands that never mount (--list, --browse, --explain-signing) leave it
 * unset. Written once, read by many threads: an atomic. */
static atomic_bool fuse_context_ready;

void sfs_fuse_ready(void)
{
    atomic_store(&fuse_context_ready, true);
}

/* The core polls this while a FUSE worker waits for the server: a
 * request the kernel interrupted (the program got a signal) is cancelled.
 * Outside a FUSE request it is always 0. */
static int worker_interrupted(void *arg)
{
    (void)arg;
    if (!atomic_load(&fuse_context_ready))
        return 0;
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
