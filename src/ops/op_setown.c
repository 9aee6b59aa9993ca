/* Owner changes of a file we created, held for the mode that follows.
 *
 * tar run as root extracts a file by creating it (without its group and
 * other bits), writing it, then setting its times, its owner and last its
 * mode (a chown may clear set-id bits). With the CIFS UNIX extensions one
 * SET_FILE_UNIX_BASIC carries owner, group and mode together, and Samba
 * applies them in that record's order of effect: the mode, then the owner,
 * then the group (smb_set_file_unix_basic); for a mode without set-id bits
 * that ends where chown-then-chmod ends. So op_attr.c holds a chown of a
 * file we created and hold open (op_own.c) on its handle, when its
 * outcome is known, and sends it with the chmod that follows; when none
 * follows it goes out before anything that could observe it, with the
 * held writes (op_wb.c's push: a stat, listing, open, rename, unlink or
 * close(2) of the file), at the latest at close(2).
 *
 * The outcome is known when the same change (from the same owner and
 * group to the same ones) of another file we created was answered within
 * the tree's own TTL: whether a POSIX chown is allowed depends on who asks
 * and on the ids, not on the file. A change known to be refused is
 * answered with the same error and no request (tar's chown of every file
 * as a user who may not give files away); one known to succeed is held.
 * A held change that fails after all is what the next write, flush or
 * close(2) of the file returns, and is logged, as for a held write.
 */
#include "ops/op_setown.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_info.h"
#include "ops/tree_state.h"
#include "wire/smb1_proto.h"
#include "wire/unix_rec.h"

int setown_send(struct smb1_tree *t, const char *path, int64_t uid, int64_t gid, int mode,
                uint32_t *status)
{
    uint8_t rec[UNIX_BASIC_LEN];
    unix_basic_encode_set(rec, UNIX_NO_CHANGE64, NULL, NULL,
                          uid < 0 ? UNIX_NO_CHANGE64 : (uint64_t)uid,
                          gid < 0 ? UNIX_NO_CHANGE64 : (uint64_t)gid,
                          mode < 0 ? UNIX_NO_CHANGE64 : (uint64_t)mode & 07777);
    *status = 0;
    return info_set_path(t, path, SMB_SET_FILE_UNIX_BASIC, rec, sizeof(rec), status, NULL);
}

/* The record of that change while fresh; ot->lock held. */
static struct ops_chown_seen *seen_locked(struct ops_tree *ot, uint64_t fuid, uint64_t fgid,
                                          uint64_t uid, uint64_t gid)
{
    uint64_t now = ops_now_ns();
    for (unsigned i = 0; i < OPS_CHOWN_SEEN; i++) {
        struct ops_chown_seen *s = &ot->chown_seen[i];
        if (s->at_ns && now - s->at_ns < ot->own_ttl_ns && s->fuid == fuid && s->fgid == fgid &&
            s->uid == uid && s->gid == gid)
            return s;
    }
    return NULL;
}

bool setown_known(struct smb1_tree *t, uint64_t fuid, uint64_t fgid, uint64_t uid, uint64_t gid,
                  int *r)
{
    struct ops_tree *ot = ops_tree_get(t);
    if (!ot)
        return false;
    pthread_mutex_lock(&ot->lock);
    struct ops_chown_seen *s = seen_locked(ot, fuid, fgid, uid, gid);
    if (s)
        *r = s->r;
    pthread_mutex_unlock(&ot->lock);
    return s != NULL;
}

void setown_learn(struct smb1_tree *t, uint64_t fuid, uint64_t fgid, uint64_t uid, uint64_t gid,
                  int r)
{
    struct ops_tree *ot = ops_tree_get(t);
    if (!ot)
        return;
    pthread_mutex_lock(&ot->lock);
    struct ops_chown_seen *s = seen_locked(ot, fuid, fgid, uid, gid);
    if (!s) {
        s = &ot->chown_seen[ot->chown_seen_next];
        ot->chown_seen_next = (ot->chown_seen_next + 1) % OPS_CHOWN_SEEN;
    }
    *s = (struct ops_chown_seen){fuid, fgid, uid, gid, r, ops_now_ns()};
    pthread_mutex_unlock(&ot->lock);
}

bool setown_take_locked(struct smb1_file *f, struct setown_held *h)
{
    *h = (struct setown_held){f->chown_held, f->mode_held,  f->chown_uid, f->chown_gid,
                              f->chown_fuid, f->chown_fgid, f->mode_val};
    f->chown_held = f->mode_held = false;
    return h->chown || h->mode;
}

void setown_encode(const struct setown_held *h, uint8_t *rec)
{
    unix_basic_encode_set(rec, UNIX_NO_CHANGE64, NULL, NULL, h->chown ? h->uid : UNIX_NO_CHANGE64,
                          h->chown ? h->gid : UNIX_NO_CHANGE64,
                          h->mode ? (uint64_t)(h->mode_val & 07777) : UNIX_NO_CHANGE64);
}

static void log_part(struct smb1_file *f, const char *path, bool owner, int r)
{
    log_warn(conn_log(f->t->conn), "change of the %s of %s (held for its %s) failed: %s",
             owner ? "owner" : "mode", path, owner ? "chmod" : "close", strerror(-r));
}

/* One part of h again on its own: 0 or -errno, logged. */
static int part(struct smb1_file *f, const char *path, const struct setown_held *h, bool owner)
{
    uint32_t status;
    int r = owner ? setown_send(f->t, path, (int64_t)h->uid, (int64_t)h->gid, -1, &status)
                  : setown_send(f->t, path, -1, -1, (int)(h->mode_val & 07777), &status);
    if (r && status)
        r = info_path_errno(f->t, path, status);
    if (r)
        log_part(f, path, owner, r);
    return r;
}

int setown_settle(struct smb1_file *f, const char *path, const struct setown_held *h, int r)
{
    int rm = 0, ro = 0;
    if (r && h->chown && h->mode) {
        /* Which part failed: each again on its own. */
        rm = part(f, path, h, false);
        ro = part(f, path, h, true);
    } else if (r) {
        log_part(f, path, h->chown, r);
        if (h->chown)
            ro = r;
        else
            rm = r;
    }
    /* The next such change is refused at once (or held again). */
    if (h->chown && (ro == 0 || ro == -EPERM || ro == -EACCES))
        setown_learn(f->t, h->fuid, h->fgid, h->uid, h->gid, ro);
    return rm ? rm : ro;
}

int setown_push_locked(struct smb1_file *f)
{
    struct setown_held h;
    return setown_take_locked(f, &h) ? setown_push_held(f, &h) : 0;
}

/* A file_op_fn: the SET_FILE_UNIX_BASIC record arg on the handle. */
static ssize_t unix_basic_op(struct smb1_tree *t, uint16_t fid, uint64_t epoch, void *arg)
{
    return info_set_fid_at(t, fid, SMB_SET_FILE_UNIX_BASIC, arg, UNIX_BASIC_LEN, NULL, epoch);
}

int setown_push_held(struct smb1_file *f, const struct setown_held *hp)
{
    struct setown_held h = *hp;
    pthread_mutex_lock(&f->lock);
    char *path = strdup(f->path);
    /* The WRITE+CLOSE chain leaves epoch 0: the server's handle is gone. */
    bool open = f->epoch != 0;
    pthread_mutex_unlock(&f->lock);
    if (!path)
        return -ENOMEM;
    int r;
    if (open) {
        /* On the handle, as with the chain (op_wb.c smb1_flush_held): smbd
         * applies it there as for the path (fchmod and fchown of the open
         * file) without resolving the path again; an empty file (no chain
         * to go with), fsync and a settle of held writes have the handle
         * open. A broken connection reopens it first, as for any request
         * on a handle. */
        uint8_t rec[UNIX_BASIC_LEN];
        setown_encode(&h, rec);
        r = (int)file_call(f, unix_basic_op, rec);
    } else {
        uint32_t status;
        r = setown_send(f->t, path, h.chown ? (int64_t)h.uid : -1, h.chown ? (int64_t)h.gid : -1,
                        h.mode ? (int)(h.mode_val & 07777) : -1, &status);
        if (r && status)
            r = info_path_errno(f->t, path, status);
    }
    r = setown_settle(f, path, &h, r);
    free(path);
    return r;
}
