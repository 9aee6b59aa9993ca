/* FUSE's setattr of a path: times, mode and owner (utimens, chmod,
 * chown), and the stat libfuse makes after each, answered where what we
 * set and what we know tell the whole result: for a file we created and
 * hold, from the core's record of it (op_own.c, fs_own.c); for a
 * directory, from its cached attributes (known_dir).
 */
#define FUSE_USE_VERSION 314

#include "fs_ops_int.h"

#include <errno.h>
#include <sys/stat.h>
#include <time.h>

#include "smb1_cache.h"

/* Stores what own_* knows of path (ok: all of it) for the stat libfuse
 * makes after a set; g read before. */
static void own_to_cache(struct sfs_fs *fs, const char *path, bool ok, const struct smb1_stat *s,
                         uint64_t g)
{
    if (ok)
        (void)cache_put_attr(fs->cache, path, s, g);
}

/* A set that changes nothing was skipped. */
static int own_noop(struct sfs_fs *fs, const char *path, const struct smb1_stat *s, bool exact,
                    uint64_t g)
{
    own_to_cache(fs, path, exact, s, g);
    return 0;
}

/* What the cache knows of the directory path before a set of its
 * attributes (*g read first; false: nothing, or it is no directory). tar
 * sets each directory's times, owner and mode once its files are in, and
 * libfuse stats after each set: from these, with what was set
 * (set_known), those stats need no request. *moved: our creates in it
 * since moved its mtime and ctime on the server (cache_get_dir), which a
 * set of the mtime gives back but for the ctime. The ctime shown lags
 * the server's by up to the attributes' age (nothing else can differ from
 * the server's without another client's change, which any cached
 * attribute may miss as long); for files, whose ctime git and backup
 * tools compare, the stat after a set goes to the server. */
static bool known_dir(struct sfs_fs *fs, const char *path, struct smb1_stat *s, uint64_t *g,
                      bool *moved)
{
    *g = cache_gen(fs->cache);
    return cache_get_dir(fs->cache, path, s, moved) == CACHE_HIT;
}

/* Our set of path succeeded: s is what known_dir gave with the set
 * applied (known: it did give something). */
static void set_known(struct sfs_fs *fs, const char *path, bool known, const struct smb1_stat *s,
                      uint64_t g)
{
    if (known)
        (void)cache_changed_known(fs->cache, path, s, g);
    else
        cache_changed(fs->cache, path);
}

/* FILETIME counts 100 ns steps: the time the server keeps. */
static struct timespec filetime_of(const struct timespec *t)
{
    struct timespec r = *t;
    r.tv_nsec -= r.tv_nsec % 100;
    return r;
}

static void resolve_time(const struct timespec *in, struct timespec *out, bool *set)
{
    *set = in->tv_nsec != UTIME_OMIT;
    if (in->tv_nsec == UTIME_NOW)
        clock_gettime(CLOCK_REALTIME, out);
    else
        *out = *in;
}

int sfs_utimens(const char *fpath, const struct timespec tv[2], struct fuse_file_info *fi)
{
    struct sfs_fs *fs = get_fs();
    struct timespec at, mt;
    bool has_at, has_mt;
    if (tv) {
        resolve_time(&tv[0], &at, &has_at);
        resolve_time(&tv[1], &mt, &has_mt);
    } else {
        clock_gettime(CLOCK_REALTIME, &at);
        mt = at;
        has_at = has_mt = true;
    }
    if (!has_at && !has_mt)
        return 0;
    struct smb1_file *h = get_handle(fi);
    HPATH(path, fpath, h);
    if (!path) {
        if (!h)
            return -ENOENT;
        return smb1_utimens(fs->tree, NULL, h, has_at ? &at : NULL, has_mt ? &mt : NULL);
    }
    SPATH(sp, path);
    struct smb1_stat dir;
    uint64_t gd = 0;
    bool moved = false;
    bool known = !h && known_dir(fs, path, &dir, &gd, &moved);
    /* SMB1 sets times through a symlink, on its target: for lutimes (tar,
     * rsync) that would touch the wrong file, or fail on a dangling link.
     * ENOSYS is how tar and rsync learn that a symlink's own times cannot
     * be set (and then stop comparing them). A path with an open handle,
     * or known to be a directory, is no symlink, which spares the check
     * tar's close-then-utimes and its times of each directory (whose
     * attributes our creates in it left moved); without the UNIX
     * extensions there are none. */
    if (!h && !known && fs->unix_ext && !path_is_open(fs, path, false)) {
        struct smb1_stat s;
        if (get_attr(fs, path, NULL, &s) == 0 && s.has_unix && S_ISLNK(s.mode))
            return -ENOSYS;
        known = known_dir(fs, path, &dir, &gd, &moved);
    }
    /* tar sets the mtime (whole seconds from an ustar header) of each
     * file it extracts, and nothing else, while the file it created is
     * still open: the CLOSE carries it then. The stat libfuse makes next
     * is answered from the create's attributes with the new mtime. */
    if (has_mt && !has_at && mt.tv_nsec == 0) {
        struct smb1_stat s;
        uint64_t g = cache_gen(fs->cache);
        if (own_defer_mtime(fs, path, &mt, &s)) {
            own_to_cache(fs, path, true, &s, g);
            keep_forget(fs, path);
            return 0;
        }
    }
    struct smb1_stat own;
    bool exact;
    bool is_own = own_attr(fs, path, &own, &exact);
    /* Its times moved by our creates, a directory is known again once
     * the set gives its mtime. */
    known = known && !is_own && (!moved || has_mt);
    /* The core also stamps the times on our open write handles of the
     * file, so a later CLOSE of one does not overwrite them. */
    int r = smb1_utimens(fs->tree, sp, h, has_at ? &at : NULL, has_mt ? &mt : NULL);
    if (set_refused(r))
        return r;
    /* The new ctime is the server's to choose, so the cache cannot be
     * given the result: the stat libfuse makes next asks the server,
     * unless the file is one we created and hold (src/ops/op_own.c) or a
     * directory whose attributes are cached (known_dir). */
    if (known && r == 0) {
        if (has_at)
            dir.atime = filetime_of(&at);
        if (has_mt)
            dir.mtime = filetime_of(&mt);
    }
    set_known(fs, path, known && r == 0, &dir, gd);
    keep_forget(fs, path);
    if (r == 0 && is_own) {
        uint64_t g = cache_gen(fs->cache);
        bool ok = own_times(fs, path, has_at ? &at : NULL, has_mt ? &mt : NULL, &own);
        own_to_cache(fs, path, ok, &own, g);
    } else {
        own_forget(fs, path);
    }
    return r;
}

int sfs_chmod(const char *fpath, mode_t mode, struct fuse_file_info *fi)
{
    struct sfs_fs *fs = get_fs();
    HPATH(path, fpath, get_handle(fi));
    if (!path)
        return -ENOENT;
    SPATH(sp, path);
    struct smb1_stat own;
    bool exact = false;
    uint64_t g0 = cache_gen(fs->cache);
    bool is_own = own_attr(fs, path, &own, &exact);
    if (is_own) {
        if (fs->unix_ext && own.has_unix && (own.mode & 07777) == (mode & 07777))
            return own_noop(fs, path, &own, exact, g0);
        if (!fs->unix_ext && ((own.attrs & SMB1_ATTR_READONLY) != 0) == !(mode & S_IWUSR))
            return own_noop(fs, path, &own, exact, g0);
    }
    struct smb1_stat dir;
    uint64_t gd = 0;
    bool moved = false;
    bool known = known_dir(fs, path, &dir, &gd, &moved);
    /* Without the UNIX extensions a directory has no mode on the server:
     * one known to be a directory needs no request. */
    if (known && !fs->unix_ext)
        return 0;
    known = known && !moved;
    /* Without UNIX extensions, the attributes the read-only bit goes with:
     * a file we created and hold has them from its create (a chmod a-w
     * of it then costs the set alone, and its held writes keep their
     * WRITE+CLOSE chain); another is asked. */
    struct smb1_stat s;
    bool have = !fs->unix_ext && is_own;
    if (have)
        s = own;
    if (!fs->unix_ext && !is_own) {
        /* Only the owner write bit reaches the server (as the DOS
         * read-only attribute), and not at all for a directory: a chmod
         * that leaves it as it is (tar's of every file it extracts)
         * changes nothing, so the attributes it is decided on are cached
         * and the stat that follows is answered locally. They are asked
         * of the server, not taken from the cache: a stale entry would
         * make a chmod that was needed a silent no-op. */
        have = true;
        uint64_t g = cache_gen(fs->cache);
        int r = smb1_stat(fs->tree, sp, &s);
        if (r)
            return r;
        (void)cache_put_attr(fs->cache, path, &s, g);
        bool ro = (s.attrs & SMB1_ATTR_READONLY) != 0;
        if (s.is_dir || ro == !(mode & S_IWUSR))
            return 0;
    }
    int r = have ? smb1_chmod_known(fs->tree, sp, mode, &s) : smb1_chmod(fs->tree, sp, mode);
    if (set_refused(r))
        return r;
    /* Samba sets a directory's mode as asked, as it does a file's (below);
     * set-id bits the server's kernel may drop. */
    known = known && r == 0 && fs->unix_ext && !(mode & (S_ISUID | S_ISGID));
    if (known)
        dir.mode = (dir.mode & ~07777u) | (mode & 07777u);
    set_known(fs, path, known, &dir, gd);
    /* With the UNIX extensions Samba sets an existing file's mode as
     * asked (its create mask applies to new files only); set-id bits the
     * server's kernel may still drop. Without them what changed is the
     * read-only attribute. */
    if (r == 0 && (fs->unix_ext ? !(mode & (S_ISUID | S_ISGID)) : is_own)) {
        uint64_t g = cache_gen(fs->cache);
        bool ok = own_changed(fs, path, -1, -1, (int)(mode & 07777), &own);
        own_to_cache(fs, path, ok, &own, g);
    } else {
        own_forget(fs, path);
    }
    return r;
}

int sfs_chown(const char *fpath, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    struct sfs_fs *fs = get_fs();
    struct smb1_stat s;
    HPATH(path, fpath, get_handle(fi));
    if (!path)
        return -ENOENT;
    if (!fs->unix_ext || (fs->opts->forceuid && fs->opts->forcegid)) {
        /* Ownership is not the server's to change here: only a no-op
         * succeeds (cp -p and tar try it). */
        int r = get_attr(fs, path, get_handle(fi), &s);
        if (r)
            return r;
        if ((uid == (uid_t)-1 || uid == shown_uid(fs, &s)) &&
            (gid == (gid_t)-1 || gid == shown_gid(fs, &s)))
            return 0;
        return -EPERM;
    }
    if (uid == (uid_t)-1 && gid == (gid_t)-1)
        return 0;
    bool exact = false;
    uint64_t g0 = cache_gen(fs->cache);
    bool own = own_attr(fs, path, &s, &exact) && s.has_unix;
    if (own && (uid == (uid_t)-1 || uid == s.uid) && (gid == (gid_t)-1 || gid == s.gid))
        return own_noop(fs, path, &s, exact, g0);
    SPATH(sp, path);
    struct smb1_stat dir;
    uint64_t gd = 0;
    bool moved = false;
    /* Our creates in a directory move its times, not its owner. */
    bool known = !own && known_dir(fs, path, &dir, &gd, &moved);
    int64_t u = uid == (uid_t)-1 ? -1 : (int64_t)uid;
    int64_t gr = gid == (gid_t)-1 ? -1 : (int64_t)gid;
    int r = known && dir.has_unix ? smb1_chown_known(fs->tree, sp, u, gr, &dir)
                                  : smb1_chown(fs->tree, sp, u, gr);
    if (set_refused(r))
        return r;
    /* A directory keeps its set-id bits through a chown (Linux clears
     * them for other files only); one that has them is asked anyway. */
    known = known && !moved && r == 0 && dir.has_unix && !(dir.mode & (S_ISUID | S_ISGID));
    if (known) {
        if (uid != (uid_t)-1)
            dir.uid = uid;
        if (gid != (gid_t)-1)
            dir.gid = gid;
    }
    set_known(fs, path, known, &dir, gd);
    /* A chown of a file we just created changes its owner and nothing
     * else we show, unless it had set-id bits (the server's kernel may
     * clear them). */
    if (r == 0 && own && !(s.mode & (S_ISUID | S_ISGID))) {
        uint64_t g = cache_gen(fs->cache);
        bool ok = own_changed(fs, path, uid == (uid_t)-1 ? -1 : (int64_t)uid,
                              gid == (gid_t)-1 ? -1 : (int64_t)gid, -1, &s);
        own_to_cache(fs, path, ok, &s, g);
    } else {
        own_forget(fs, path);
    }
    return r;
}
