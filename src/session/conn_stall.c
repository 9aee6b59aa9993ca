/* The stall verdict: a server that stops answering requests while it still
 * answers ECHO (alive but hung: a smbd stuck on its disk) costs a request
 * its whole bound, and the liveness probe (conn_svc.c) cannot tell it from
 * a slow server. Programs queued behind such a request (the kernel looks a
 * name up once and sends one create of a directory at a time; a FUSE
 * operation makes several calls; our own per-file locks) would each wait
 * one bound after another. So once a request has gone its whole bound
 * while nothing else was answered either, the server is taken as stalled:
 * calls that start within a probe interval (a quarter of the bound, here
 * at least 1 s) fail
 * at once with ETIMEDOUT, as the one they queued behind did. An answer to
 * anything lifts the verdict at once; after the interval calls go out
 * again, each with its own bound (a server that is still stalled then
 * holds one of them a bound, and the verdict comes again). ECHO stays out
 * of it: an answered ECHO proves nothing here, and smb1_echo is how a
 * caller asks whether the server is there. */
#include "session/conn_int.h"

#include <errno.h>

#include "wire/smb1_proto.h"

/* How long a verdict holds: a probe interval, at least 1 s (with a short
 * timeout the programs queued behind still reach us well within it on a
 * busy machine). */
static int window_ms(const struct smb1_conn *c)
{
    int p = conn_probe_ms(c);
    return p < 1000 ? 1000 : p;
}

int conn_stall_check(struct smb1_conn *c, uint8_t cmd)
{
    if (cmd == SMB1_COM_ECHO)
        return 0;
    int64_t now = conn_mono_ms();
    pthread_mutex_lock(&c->lock);
    bool stalled = c->stalled_ms && now - c->stalled_ms < window_ms(c);
    pthread_mutex_unlock(&c->lock);
    return stalled ? -ETIMEDOUT : 0;
}

void conn_stall_note(struct smb1_conn *c, uint8_t cmd, int64_t sent_ms, int r)
{
    if (cmd == SMB1_COM_ECHO || (r != 0 && r != -ETIMEDOUT))
        return;
    int64_t now = conn_mono_ms();
    bool given = false;
    pthread_mutex_lock(&c->lock);
    if (r == 0) {
        c->answered_ms = now;
        c->stalled_ms = 0;
    } else if (c->answered_ms <= sent_ms) {
        /* (An answer in the millisecond of the send counts as before it.) */
        given = c->stalled_ms == 0;
        c->stalled_ms = now;
    }
    pthread_mutex_unlock(&c->lock);
    if (given)
        log_warn(c->log,
                 "%s answered nothing for %lld ms (%s): calls fail at once for the next %d ms",
                 c->host, (long long)(now - sent_ms), msg_cmd_name(cmd), window_ms(c));
}
