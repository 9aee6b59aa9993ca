/* The operation layer's side of a tree: smb1_tree_connect, and the CIFS
 * UNIX setup that runs each time the tree is connected on a new connection
 * (the connection layer calls it through t->ready, never by name).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "log.h"
#include "session/conn.h"
#include "smb1.h"
#include "wire/smb1_proto.h"
#include "ops/unix.h"

/* QUERY/SET_FS_INFO level 0x200 on disk tree t once per epoch, when the
 * server has CAP_UNIX and cfg.unix_ext allows. */
static void tree_unix_setup(struct smb1_tree *t)
{
    struct smb1_conn *c = t->conn;
    pthread_mutex_lock(&t->lock);
    uint64_t epoch = t->epoch;
    enum smb1_tree_type type = t->type;
    pthread_mutex_unlock(&t->lock);
    if (type != SMB1_TREE_DISK || conn_config(c)->unix_ext == 0)
        return;
    struct conn_params p;
    conn_get_params(c, &p);
    if (!(p.caps & SMB1_CAP_UNIX))
        return;
    /* Claim the epoch first: unix_negotiate goes through conn_call, which
     * must not come back here. */
    if (!conn_unix_claim(c, epoch))
        return;
    uint64_t caps = 0;
    int r = unix_negotiate(t, UNIX_CAPS_WANTED, &caps);
    if (r) {
        log_warn(conn_log(c), "CIFS UNIX extensions not set up on %s: %s", t->unc, strerror(-r));
        caps = 0;
    } else {
        log_info(conn_log(c), "CIFS UNIX capabilities in use: 0x%llx", (unsigned long long)caps);
    }
    conn_set_unix_caps(c, epoch, caps);
}

int smb1_tree_connect(struct smb1_conn *c, const char *share, struct smb1_tree **out)
{
    CONN_OP(c);
    return tree_open(c, share, tree_unix_setup, out);
}
