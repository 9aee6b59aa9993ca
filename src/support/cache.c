/* Attribute, negative-lookup and directory-listing caches.
 *
 * One entry per path holds that path's attributes (or the fact that it does
 * not exist) and, for a directory, its listing. Everything sits behind one
 * mutex: each operation is a hash lookup and a few copies, far cheaper
 * than the round trip it saves, so finer locking would buy nothing.
 *
 * Ordering. Replies arrive out of order with respect to our own changes: a
 * thread may send QUERY_PATH_INFO, another thread renames the file and
 * invalidates, and only then the first reply arrives, describing the world
 * before the rename. The generation counter makes that reply harmless:
 *   - a caller reads cache_gen() BEFORE sending a request and passes the
 *     value to the put;
 *   - every invalidation increments the counter and stamps the entry it
 *     invalidates with the new value (a tombstone if there was no entry);
 *   - a put of generation g is refused if the entry's invalidation stamp
 *     is newer than g (the change happened while the request was in
 *     flight) or its data is newer than g (a fresher reply already won).
 * Entries are evicted (LRU) to honour the memory bound, and a tree-wide
 * invalidation does not visit paths it has no entry for; both raise a
 * floor instead, below which every put is refused, so losing a tombstone
 * can only cost a cache miss, never admit a stale reply.
 *
 * Expiry. Data expires ttl after it was stored; expired data is never
 * returned. The clock is injectable for the tests.
 *
 * Directories we made. A directory our own mkdir just created was empty
 * then, and every later change we make below it passes through
 * changed_locked, which notes the child's name (a hash) in the directory's
 * entry. Until ttl after the mkdir, a name with no entry of its own that
 * was never noted does not exist, as far as a negative lookup cached at
 * the mkdir would say: the lookups of untar and cp -r into a new
 * directory cost nothing. A hash collision only sends a lookup to the
 * server. A listing from the server, a change of the directory itself
 * that moves or removes it, too many names, eviction and expiry all end
 * the record.
 *
 * A directory's attributes through our changes in it. Our create, unlink
 * or set of an entry moves the directory's mtime and ctime on the server
 * to times no reply tells; nothing else of it (its type, mode, owner,
 * atime, and, where the server shows a directory's size as 0 as Samba
 * does, its size). Such a change leaves the directory's attributes
 * ATTR_MOVED rather than dropping them: a lookup or stat does not get
 * them, but cache_get_dir does, to tell the directory's type and, once a
 * set gives the mtime, all but a ctime that lags (tar sets a directory's
 * times, owner and mode once its files are in). They expire when they
 * would have. A change that may add or remove a directory in it (mkdir,
 * rmdir, rename) moves its link count too: that, or a change of the
 * directory itself, drops them.
 */
#include "smb1_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "support/clock.h"

/* ATTR_MOVED: a directory's attributes with its mtime and ctime moved
 * since by our own change of an entry in it (above). */
enum attr_state { ATTR_NONE = 0, ATTR_POSITIVE, ATTR_NEGATIVE, ATTR_MOVED };

struct centry {
    struct centry *hnext; /* hash chain */
    struct centry *lru_prev, *lru_next;
    uint64_t hash;
    uint64_t inval_gen; /* generation of the last invalidation */
    enum attr_state attr;
    uint64_t attr_gen, attr_expire;
    struct smb1_stat st;
    struct cache_dir *dir; /* one reference owned by the entry */
    uint64_t dir_gen, dir_expire;
    size_t bytes; /* accounted size, listing included */
    /* A directory we made (see above): until made_expire (0: not one),
     * names without an entry that are not among the made_n hashes of
     * children we changed since are known not to exist. */
    uint64_t made_expire;
    uint64_t *made_names;
    size_t made_n, made_cap;
    /* Points just past the struct, in the same allocation. Not a flexible
     * array member: struct cache embeds a centry as its LRU sentinel. */
    char *path;
};

struct cache {
    pthread_mutex_t lock; /* protects every field below */
    uint64_t ttl_ns;
    size_t max_bytes;
    uint64_t (*now_ns)(void *ctx);
    void *now_ctx;
    uint64_t gen;
    uint64_t floor; /* puts with gen < floor are refused */
    struct centry **buckets;
    size_t nbuckets;
    size_t entries, bytes;
    struct centry lru; /* sentinel: lru.lru_next is the most recent */
    struct cache_stats stats;
};

static uint64_t default_now(void *ctx)
{
    (void)ctx;
    return clock_mono_ns();
}

static uint64_t hash_path(const char *p)
{
    uint64_t h = 14695981039346656037ull;
    for (; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ull;
    }
    return h;
}

struct cache *cache_new(const struct cache_config *cfg)
{
    struct cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->nbuckets = 1024;
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->ttl_ns = cfg->ttl_ns;
    c->max_bytes = cfg->max_bytes ? cfg->max_bytes : (size_t)16 << 20;
    c->now_ns = cfg->now_ns ? cfg->now_ns : default_now;
    c->now_ctx = cfg->now_ctx;
    c->lru.lru_next = c->lru.lru_prev = &c->lru;
    return c;
}

/* ---- directory snapshots ---- */

struct cache_dir *cache_dir_new(void)
{
    struct cache_dir *d = calloc(1, sizeof(*d));
    if (d)
        d->refs = 1;
    return d;
}

int cache_dir_add(struct cache_dir *d, const char *name, const struct smb1_stat *st)
{
    size_t len = strlen(name) + 1;
    if (d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 64;
        struct cache_dirent *ne = realloc(d->ents, ncap * sizeof(*ne));
        if (!ne)
            return -ENOMEM;
        d->ents = ne;
        d->cap = ncap;
    }
    if (d->names_cap - d->names_len < len) {
        size_t ncap = d->names_cap ? d->names_cap * 2 : 1024;
        while (ncap - d->names_len < len)
            ncap *= 2;
        char *nn = realloc(d->names, ncap);
        if (!nn)
            return -ENOMEM;
        d->names = nn;
        d->names_cap = ncap;
    }
    memcpy(d->names + d->names_len, name, len);
    d->ents[d->n].name = NULL;
    d->ents[d->n].name_off = d->names_len;
    d->ents[d->n].st = *st;
    d->names_len += len;
    d->n++;
    return 0;
}

static void dir_seal(struct cache_dir *d)
{
    for (size_t i = 0; i < d->n; i++)
        d->ents[i].name = d->names + d->ents[i].name_off;
}

static size_t dir_bytes(const struct cache_dir *d)
{
    return sizeof(*d) + d->cap * sizeof(*d->ents) + d->names_cap;
}

void cache_dir_put(struct cache_dir *d)
{
    if (!d)
        return;
    if (__atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    free(d->ents);
    free(d->names);
    free(d);
}

/* ---- entries; all below run with c->lock held ---- */

static void lru_unlink(struct centry *e)
{
    e->lru_prev->lru_next = e->lru_next;
    e->lru_next->lru_prev = e->lru_prev;
}

static void lru_push_front(struct cache *c, struct centry *e)
{
    e->lru_next = c->lru.lru_next;
    e->lru_prev = &c->lru;
    c->lru.lru_next->lru_prev = e;
    c->lru.lru_next = e;
}

static struct centry *find(struct cache *c, const char *path, uint64_t h)
{
    for (struct centry *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == h && strcmp(e->path, path) == 0)
            return e;
    return NULL;
}

static void raise_floor(struct cache *c, uint64_t g)
{
    if (g > c->floor)
        c->floor = g;
}

static void drop_dir(struct cache *c, struct centry *e)
{
    if (!e->dir)
        return;
    size_t b = dir_bytes(e->dir);
    e->bytes -= b;
    c->bytes -= b;
    cache_dir_put(e->dir);
    e->dir = NULL;
}

static void remove_entry(struct cache *c, struct centry *e)
{
    struct centry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(e);
    drop_dir(c, e);
    c->bytes -= e->bytes;
    c->entries--;
    free(e->made_names);
    free(e);
}

/* Removing an entry forgets what its stamps guarded; the floor keeps
 * refusing whatever they would have refused. */
static void evict_entry(struct cache *c, struct centry *e)
{
    raise_floor(c, e->inval_gen);
    raise_floor(c, e->attr_gen);
    raise_floor(c, e->dir_gen);
    c->stats.evictions++;
    remove_entry(c, e);
}

static void enforce_bound(struct cache *c)
{
    while (c->bytes > c->max_bytes && c->lru.lru_prev != &c->lru)
        evict_entry(c, c->lru.lru_prev);
}

static void grow(struct cache *c)
{
    size_t nb = c->nbuckets * 2;
    struct centry **b = calloc(nb, sizeof(*b));
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < c->nbuckets; i++) {
        struct centry *e = c->buckets[i];
        while (e) {
            struct centry *next = e->hnext;
            e->hnext = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
            e = next;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = nb;
}

static struct centry *find_or_add(struct cache *c, const char *path)
{
    uint64_t h = hash_path(path);
    struct centry *e = find(c, path, h);
    if (e) {
        lru_unlink(e);
        lru_push_front(c, e);
        return e;
    }
    size_t len = strlen(path) + 1;
    e = calloc(1, sizeof(*e) + len);
    if (!e)
        return NULL;
    e->path = (char *)(e + 1);
    memcpy(e->path, path, len);
    e->hash = h;
    e->bytes = sizeof(*e) + len;
    if (c->entries >= c->nbuckets)
        grow(c);
    e->hnext = c->buckets[h & (c->nbuckets - 1)];
    c->buckets[h & (c->nbuckets - 1)] = e;
    lru_push_front(c, e);
    c->entries++;
    c->bytes += e->bytes;
    return e;
}

/* Most names a made directory's record follows before it gives up. */
#define MADE_NAMES_MAX 4096

static void made_end(struct cache *c, struct centry *e)
{
    e->bytes -= e->made_cap * sizeof(*e->made_names);
    c->bytes -= e->made_cap * sizeof(*e->made_names);
    free(e->made_names);
    e->made_names = NULL;
    e->made_n = e->made_cap = 0;
    e->made_expire = 0;
}

static bool made_has(const struct centry *e, uint64_t h)
{
    for (size_t i = 0; i < e->made_n; i++)
        if (e->made_names[i] == h)
            return true;
    return false;
}

/* Notes that we changed the child name of directory entry e. */
static void made_note(struct cache *c, struct centry *e, const char *name)
{
    uint64_t h = hash_path(name);
    if (made_has(e, h))
        return;
    if (e->made_n == e->made_cap) {
        size_t ncap = e->made_cap ? e->made_cap * 2 : 16;
        uint64_t *nn = ncap <= MADE_NAMES_MAX ? realloc(e->made_names, ncap * sizeof(*nn)) : NULL;
        if (!nn) {
            made_end(c, e);
            return;
        }
        e->bytes += (ncap - e->made_cap) * sizeof(*nn);
        c->bytes += (ncap - e->made_cap) * sizeof(*nn);
        e->made_names = nn;
        e->made_cap = ncap;
    }
    e->made_names[e->made_n++] = h;
}

/* An entry with neither data nor a stamp above the floor guards nothing. */
/* Drops what of e has expired; returns e, or NULL when e went whole. */
static struct centry *maybe_reap(struct cache *c, struct centry *e, uint64_t now)
{
    if (e->attr != ATTR_NONE && now >= e->attr_expire)
        e->attr = ATTR_NONE;
    if (e->dir && now >= e->dir_expire)
        drop_dir(c, e);
    if (e->made_expire && now >= e->made_expire)
        made_end(c, e);
    if (e->attr == ATTR_NONE && !e->dir && !e->made_expire && e->inval_gen <= c->floor &&
        e->attr_gen <= c->floor && e->dir_gen <= c->floor) {
        remove_entry(c, e);
        return NULL;
    }
    return e;
}

static bool put_allowed(struct cache *c, const struct centry *e, uint64_t gen, uint64_t data_gen)
{
    if (gen < c->floor)
        return false;
    if (e && (e->inval_gen > gen || data_gen > gen))
        return false;
    return true;
}

/* ---- public API ---- */

void cache_free(struct cache *c)
{
    if (!c)
        return;
    while (c->lru.lru_next != &c->lru)
        remove_entry(c, c->lru.lru_next);
    free(c->buckets);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

uint64_t cache_gen(struct cache *c)
{
    pthread_mutex_lock(&c->lock);
    uint64_t g = c->gen;
    pthread_mutex_unlock(&c->lock);
    return g;
}

static size_t parent_len(const char *path);

/* path is known not to exist: its parent is a directory we made, and we
 * have not changed path since. */
static bool made_absent(struct cache *c, const char *path, uint64_t now)
{
    size_t pl = parent_len(path);
    if (pl == 0 || strcmp(path, "/") == 0)
        return false;
    char buf[512];
    if (pl >= sizeof(buf))
        return false;
    memcpy(buf, path, pl);
    buf[pl] = 0;
    struct centry *p = find(c, buf, hash_path(buf));
    if (!p || !p->made_expire)
        return false;
    if (now >= p->made_expire) {
        made_end(c, p);
        return false;
    }
    const char *name = path + pl + (path[pl] == '/');
    return !made_has(p, hash_path(name));
}

enum cache_result cache_get_attr(struct cache *c, const char *path, struct smb1_stat *st)
{
    enum cache_result r = CACHE_MISS;
    pthread_mutex_lock(&c->lock);
    uint64_t now = c->now_ns(c->now_ctx);
    struct centry *e = find(c, path, hash_path(path));
    if (e)
        e = maybe_reap(c, e, now);
    if (e && e->attr == ATTR_POSITIVE) {
        *st = e->st;
        r = CACHE_HIT;
        c->stats.hits++;
    } else if ((e && e->attr == ATTR_NEGATIVE) || made_absent(c, path, now)) {
        r = CACHE_NEGATIVE;
        c->stats.negative_hits++;
    } else {
        c->stats.misses++;
    }
    pthread_mutex_unlock(&c->lock);
    return r;
}

enum cache_result cache_get_dir(struct cache *c, const char *path, struct smb1_stat *st,
                                bool *times_moved)
{
    enum cache_result r = CACHE_MISS;
    pthread_mutex_lock(&c->lock);
    struct centry *e = find(c, path, hash_path(path));
    if (e)
        e = maybe_reap(c, e, c->now_ns(c->now_ctx));
    if (e && (e->attr == ATTR_POSITIVE || e->attr == ATTR_MOVED) && e->st.is_dir) {
        *st = e->st;
        *times_moved = e->attr == ATTR_MOVED;
        r = CACHE_HIT;
    }
    pthread_mutex_unlock(&c->lock);
    return r;
}

static int put_attr_locked(struct cache *c, const char *path, const struct smb1_stat *st,
                           uint64_t gen, uint64_t now)
{
    uint64_t h = hash_path(path);
    struct centry *e = find(c, path, h);
    if (!put_allowed(c, e, gen, e ? e->attr_gen : 0)) {
        c->stats.stale_puts++;
        return -ESTALE;
    }
    e = find_or_add(c, path);
    if (!e)
        return -ENOMEM;
    if (st) {
        e->attr = ATTR_POSITIVE;
        e->st = *st;
    } else {
        e->attr = ATTR_NEGATIVE;
    }
    e->attr_gen = gen;
    e->attr_expire = now + c->ttl_ns;
    return 0;
}

static int put_attr(struct cache *c, const char *path, const struct smb1_stat *st, uint64_t gen)
{
    if (c->ttl_ns == 0)
        return -ENOSYS;
    pthread_mutex_lock(&c->lock);
    int r = put_attr_locked(c, path, st, gen, c->now_ns(c->now_ctx));
    if (r == 0)
        enforce_bound(c);
    pthread_mutex_unlock(&c->lock);
    return r;
}

int cache_put_attr(struct cache *c, const char *path, const struct smb1_stat *st, uint64_t gen)
{
    return put_attr(c, path, st, gen);
}

int cache_put_negative(struct cache *c, const char *path, uint64_t gen)
{
    return put_attr(c, path, NULL, gen);
}

int cache_dir_commit(struct cache *c, const char *path, struct cache_dir *d, uint64_t gen)
{
    dir_seal(d);
    if (c->ttl_ns == 0)
        return -ENOSYS;
    size_t plen = strlen(path);
    char *child = malloc(plen + 2 + 256);
    size_t child_cap = plen + 2 + 256;
    if (!child)
        return -ENOMEM;
    int r = 0;
    pthread_mutex_lock(&c->lock);
    uint64_t now = c->now_ns(c->now_ctx);
    struct centry *e = find(c, path, hash_path(path));
    if (!put_allowed(c, e, gen, e ? e->dir_gen : 0)) {
        c->stats.stale_puts++;
        r = -ESTALE;
        goto out_unlock;
    }
    e = find_or_add(c, path);
    if (!e) {
        r = -ENOMEM;
        goto out_unlock;
    }
    drop_dir(c, e);
    /* The server's word is newer than what the mkdir told. */
    if (e->made_expire)
        made_end(c, e);
    e->dir_gen = gen;
    /* A listing too big for a quarter of the budget would evict everything
     * else; its entries' attributes are still worth keeping. */
    if (dir_bytes(d) <= c->max_bytes / 4) {
        __atomic_add_fetch(&d->refs, 1, __ATOMIC_ACQ_REL);
        e->dir = d;
        e->dir_expire = now + c->ttl_ns;
        e->bytes += dir_bytes(d);
        c->bytes += dir_bytes(d);
    }

    /* Children are stored individually so getattr after readdir is a hit;
     * a refused child (changed meanwhile) simply stays a miss. */
    size_t base = plen;
    memcpy(child, path, plen);
    if (plen == 0 || path[plen - 1] != '/')
        child[base++] = '/';
    for (size_t i = 0; i < d->n; i++) {
        size_t nl = strlen(d->ents[i].name);
        if (base + nl + 1 > child_cap) {
            char *nc = realloc(child, base + nl + 1);
            if (!nc)
                break;
            child = nc;
            child_cap = base + nl + 1;
        }
        memcpy(child + base, d->ents[i].name, nl + 1);
        (void)put_attr_locked(c, child, &d->ents[i].st, gen, now);
    }
    enforce_bound(c);
out_unlock:
    pthread_mutex_unlock(&c->lock);
    free(child);
    return r;
}

struct cache_dir *cache_dir_get(struct cache *c, const char *path)
{
    struct cache_dir *d = NULL;
    pthread_mutex_lock(&c->lock);
    uint64_t now = c->now_ns(c->now_ctx);
    struct centry *e = find(c, path, hash_path(path));
    if (e)
        e = maybe_reap(c, e, now);
    if (e && e->dir) {
        d = e->dir;
        __atomic_add_fetch(&d->refs, 1, __ATOMIC_ACQ_REL);
        c->stats.hits++;
        lru_unlink(e);
        lru_push_front(c, e);
    } else {
        c->stats.misses++;
    }
    pthread_mutex_unlock(&c->lock);
    return d;
}

/* Stamps path as invalidated at generation g, dropping its data. When no
 * memory is left for a tombstone, the floor does the same job. */
/* Returns path's entry, or NULL when none could be made. */
static struct centry *invalidate_locked(struct cache *c, const char *path, uint64_t g)
{
    struct centry *e = find_or_add(c, path);
    if (!e) {
        raise_floor(c, g);
        return NULL;
    }
    e->inval_gen = g;
    e->attr = ATTR_NONE;
    drop_dir(c, e);
    return e;
}

static size_t parent_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return 0;
    if (slash == path)
        return 1; /* parent of "/x" is "/" */
    return (size_t)(slash - path);
}

/* Our change of parent's entry: its attributes, where they may be kept
 * (above), become ATTR_MOVED. */
static void parent_moved(struct centry *p, enum attr_state was)
{
    if ((was == ATTR_POSITIVE || was == ATTR_MOVED) && p->st.is_dir && p->st.size == 0 &&
        p->st.alloc == 0)
        p->attr = ATTR_MOVED;
}

/* Our change of path (below it too, tree). links: it may have made or
 * removed a directory at path, which moves its parent's link count.
 * ctime (NULL: unknown): path's ctime after the change, which moved the
 * parent's to that time, or a hair after it: kept attributes of the
 * parent lag no more. */
static void changed_locked(struct cache *c, const char *path, bool tree, bool links,
                           const struct timespec *ctime)
{
    uint64_t g = ++c->gen;
    invalidate_locked(c, path, g);
    if (tree) {
        struct centry *e = find(c, path, hash_path(path));
        if (e && e->made_expire)
            made_end(c, e);
    }
    size_t pl = parent_len(path);
    if (pl > 0 && strcmp(path, "/") != 0) {
        char *parent = strndup(path, pl);
        if (parent) {
            struct centry *p = find(c, parent, hash_path(parent));
            enum attr_state was = p ? p->attr : ATTR_NONE;
            p = invalidate_locked(c, parent, g);
            if (p && !tree && !links)
                parent_moved(p, was);
            if (p && ctime && p->attr == ATTR_MOVED &&
                (ctime->tv_sec > p->st.ctime.tv_sec ||
                 (ctime->tv_sec == p->st.ctime.tv_sec && ctime->tv_nsec > p->st.ctime.tv_nsec)))
                p->st.ctime = *ctime;
            if (p && p->made_expire)
                made_note(c, p, path + pl + (path[pl] == '/'));
            free(parent);
        } else {
            raise_floor(c, g);
        }
    }
    if (tree) {
        /* Whatever was in flight below path must not land either. */
        raise_floor(c, g);
        size_t len = strlen(path);
        for (size_t i = 0; i < c->nbuckets; i++) {
            struct centry *e = c->buckets[i];
            while (e) {
                struct centry *next = e->hnext;
                if (strncmp(e->path, path, len) == 0 &&
                    (e->path[len] == '/' || (len > 0 && path[len - 1] == '/' && e->path[len])))
                    remove_entry(c, e);
                e = next;
            }
        }
    }
    enforce_bound(c);
}

static void changed(struct cache *c, const char *path, bool tree)
{
    pthread_mutex_lock(&c->lock);
    changed_locked(c, path, tree, tree, NULL);
    pthread_mutex_unlock(&c->lock);
}

void cache_changed(struct cache *c, const char *path)
{
    changed(c, path, false);
}

/* After changed_locked: path's attributes are st until expire, when ok
 * (checked before the change, under the same lock hold). */
static int store_changed_locked(struct cache *c, const char *path, const struct smb1_stat *st,
                                bool ok, uint64_t expire)
{
    if (c->ttl_ns == 0)
        return -ENOSYS;
    if (!ok) {
        c->stats.stale_puts++;
        return -ESTALE;
    }
    struct centry *e = find(c, path, hash_path(path));
    if (!e)
        return -ENOMEM;
    e->attr = ATTR_POSITIVE;
    e->st = *st;
    e->attr_gen = c->gen;
    e->attr_expire = expire;
    return 0;
}

int cache_changed_stat(struct cache *c, const char *path, const struct smb1_stat *st, uint64_t gen)
{
    pthread_mutex_lock(&c->lock);
    struct centry *e = find(c, path, hash_path(path));
    /* Checked before our own invalidation, under the same lock hold: any
     * stamp newer than gen is someone else's change. */
    bool ok = put_allowed(c, e, gen, 0);
    changed_locked(c, path, false, false, &st->ctime);
    int r = store_changed_locked(c, path, st, ok, c->now_ns(c->now_ctx) + c->ttl_ns);
    pthread_mutex_unlock(&c->lock);
    return r;
}

int cache_changed_known(struct cache *c, const char *path, const struct smb1_stat *st, uint64_t gen)
{
    pthread_mutex_lock(&c->lock);
    uint64_t now = c->now_ns(c->now_ctx);
    struct centry *e = find(c, path, hash_path(path));
    /* What was known at gen is still what is cached: fresh, not refilled
     * and not changed since (the same checks as a put of gen). */
    bool ok = e && (e->attr == ATTR_POSITIVE || e->attr == ATTR_MOVED) && now < e->attr_expire &&
              put_allowed(c, e, gen, e->attr_gen);
    uint64_t expire = ok ? e->attr_expire : 0;
    changed_locked(c, path, false, false, NULL);
    int r = store_changed_locked(c, path, st, ok, expire);
    pthread_mutex_unlock(&c->lock);
    return r;
}

void cache_dir_made(struct cache *c, const char *path)
{
    pthread_mutex_lock(&c->lock);
    changed_locked(c, path, false, true, NULL);
    struct centry *e = c->ttl_ns ? find_or_add(c, path) : NULL;
    if (e) {
        if (e->made_expire)
            made_end(c, e);
        e->made_expire = c->now_ns(c->now_ctx) + c->ttl_ns;
    }
    pthread_mutex_unlock(&c->lock);
}

void cache_changed_tree(struct cache *c, const char *path)
{
    changed(c, path, true);
}

void cache_clear(struct cache *c)
{
    pthread_mutex_lock(&c->lock);
    raise_floor(c, ++c->gen);
    while (c->lru.lru_next != &c->lru)
        remove_entry(c, c->lru.lru_next);
    pthread_mutex_unlock(&c->lock);
}

void cache_get_stats(struct cache *c, struct cache_stats *st)
{
    pthread_mutex_lock(&c->lock);
    *st = c->stats;
    st->entries = c->entries;
    st->bytes = c->bytes;
    pthread_mutex_unlock(&c->lock);
}
