/* What we know of a file we created while its one handle is open.
 *
 * While the handle that created a file (O_CREAT|O_EXCL) is the only one
 * the program has open on it, and within the tree's own_ttl_ns of the
 * create, the create's reply and our own changes since are all there is
 * to know of it: untar and cp -r ask about little else (the stat after
 * each set, the chmod and chown that change nothing, the utimens of each
 * extracted file, which can ride on the CLOSE). Another client that
 * changes such a file within that time is not seen until it has passed,
 * as for any cached attribute; the ctime shown is the create's until
 * then. The handles are the registry's (op_file.c); these only read and
 * follow the fields op_file.h gives them, under the ops_tree lock.
 */
#include "ops/op_own.h"

#include <string.h>

struct smb1_file *own_locked(struct ops_tree *ot, const char *path)
{
    struct smb1_file *found = NULL;
    for (struct smb1_file *f = ot->files; f; f = f->next) {
        if (f->released || !file_path_matches(f, path, false))
            continue;
        if (found || !f->created)
            return NULL;
        found = f;
    }
    if (!found || !found->own_ns || ops_now_ns() - found->own_ns >= ot->own_ttl_ns)
        return NULL;
    return found;
}

void smb1_own_ttl(struct smb1_tree *t, uint64_t ttl_ns)
{
    struct ops_tree *ot = ops_tree_get(t);
    if (!ot)
        return;
    pthread_mutex_lock(&ot->lock);
    ot->own_ttl_ns = ttl_ns;
    pthread_mutex_unlock(&ot->lock);
}

/* Locks t's file list and returns the file own_locked finds (NULL: the
 * list is not locked, *otp NULL, or no file); own_end unlocks, copying
 * its attributes to st. */
static struct smb1_file *own_begin(struct smb1_tree *t, const char *path, struct ops_tree **otp)
{
    struct ops_tree *ot = *otp = ops_tree_get(t);
    if (!ot)
        return NULL;
    pthread_mutex_lock(&ot->lock);
    return own_locked(ot, path);
}

static bool own_end(struct ops_tree *ot, struct smb1_file *f, struct smb1_stat *st)
{
    bool exact = false;
    if (f) {
        *st = f->own_st;
        exact = f->own_exact;
    }
    if (ot)
        pthread_mutex_unlock(&ot->lock);
    return exact;
}

bool smb1_own_attr(struct smb1_tree *t, const char *path, struct smb1_stat *st, bool *exact)
{
    struct ops_tree *ot;
    struct smb1_file *f = own_begin(t, path, &ot);
    bool found = f != NULL;
    *exact = own_end(ot, f, st);
    return found;
}

bool smb1_own_changed(struct smb1_tree *t, const char *path, int64_t uid, int64_t gid, int mode,
                      struct smb1_stat *st)
{
    struct ops_tree *ot;
    struct smb1_file *f = own_begin(t, path, &ot);
    if (f && uid >= 0)
        f->own_st.uid = (uint64_t)uid;
    if (f && gid >= 0)
        f->own_st.gid = (uint64_t)gid;
    if (f && mode >= 0) {
        f->own_st.mode = (f->own_st.mode & ~07777u) | ((unsigned)mode & 07777u);
        /* Without UNIX extensions: the read-only attribute. */
        if (!f->own_st.has_unix && (mode & 0200))
            f->own_st.attrs &= ~(uint32_t)SMB1_ATTR_READONLY;
        else if (!f->own_st.has_unix)
            f->own_st.attrs |= SMB1_ATTR_READONLY;
    }
    return own_end(ot, f, st);
}

bool smb1_own_times(struct smb1_tree *t, const char *path, const struct timespec *at,
                    const struct timespec *mt, struct smb1_stat *st)
{
    struct ops_tree *ot;
    struct smb1_file *f = own_begin(t, path, &ot);
    /* What the server stores: FILETIME counts 100 ns steps. */
    if (f && at) {
        f->own_st.atime = *at;
        f->own_st.atime.tv_nsec -= f->own_st.atime.tv_nsec % 100;
    }
    if (f && mt) {
        f->own_st.mtime = *mt;
        f->own_st.mtime.tv_nsec -= f->own_st.mtime.tv_nsec % 100;
        f->own_exact = true;
    }
    return own_end(ot, f, st);
}

bool smb1_own_defer_mtime(struct smb1_tree *t, const char *path, const struct timespec *mt,
                          struct smb1_stat *st)
{
    struct ops_tree *ot;
    struct smb1_file *f = own_begin(t, path, &ot);
    /* The CLOSE carries it (a POSIX open), or it is set on the handle in
     * the same wait as the held writes' chain (op_wb.c). */
    bool defer = f && f->writable && (smb1_close_sets_mtime(f) || atomic_load(&f->hold));
    if (defer) {
        f->mtime_pending = true;
        f->close_mtime = *mt;
        f->own_st.mtime = *mt;
        f->own_exact = true;
    }
    (void)own_end(ot, defer ? f : NULL, st);
    return defer;
}

void smb1_own_forget(struct smb1_tree *t, const char *path)
{
    struct ops_tree *ot = ops_tree_get(t);
    if (!ot)
        return;
    pthread_mutex_lock(&ot->lock);
    for (struct smb1_file *f = ot->files; f; f = f->next)
        if (file_path_matches(f, path, false))
            f->own_ns = 0;
    pthread_mutex_unlock(&ot->lock);
}
