/* Per-tree attribute, negative-lookup and directory-listing caches: a
 * public header of libsmb1core (implemented in support/cache.c).
 *
 * The core offers the cache and a program keeps one per mounted tree: the
 * FUSE layer decides when an answer may come from it and which change
 * invalidates what (kernel semantics the core does not know), so that
 * `ls -l` costs one FIND_FIRST2/NEXT2 sequence per directory and repeated
 * lookups within the TTL cost nothing. The design and its invariants
 * (the generation contract) are described at the top of support/cache.c.
 *
 * Paths are the keys exactly as given ("/a/b"; "/" is the root); the cache
 * does not normalise them, so callers must use one spelling.
 */
#ifndef SMBFUSE_SMB1_CACHE_H
#define SMBFUSE_SMB1_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "smb1.h"

struct cache;

struct cache_config {
    uint64_t ttl_ns;               /* 0 disables caching entirely */
    size_t max_bytes;              /* memory bound; 0: 16 MiB */
    uint64_t (*now_ns)(void *ctx); /* monotonic clock; NULL: CLOCK_MONOTONIC */
    void *now_ctx;
};

/* Returns NULL on allocation failure. */
struct cache *cache_new(const struct cache_config *cfg);
void cache_free(struct cache *c);

/* The generation to pass to a later put: read it BEFORE sending the request
 * whose reply will be stored. */
uint64_t cache_gen(struct cache *c);

enum cache_result {
    CACHE_MISS = 0,
    CACHE_HIT,      /* *st filled */
    CACHE_NEGATIVE, /* the path is known not to exist */
};

enum cache_result cache_get_attr(struct cache *c, const char *path, struct smb1_stat *st);
/* What is known of directory path (CACHE_HIT: *st, else CACHE_MISS): its
 * attributes as cache_get_attr has them, *times_moved false; or, after
 * our own changes of entries in it (a create, unlink or set of one: not a
 * mkdir, rmdir or rename, which move its link count), its attributes from
 * before them with its mtime and ctime behind the server's, *times_moved
 * true. Where the server shows the directory a size, no attributes are
 * kept through such a change. */
enum cache_result cache_get_dir(struct cache *c, const char *path, struct smb1_stat *st,
                                bool *times_moved);
/* Store a reply obtained by a request started at generation gen. Returns 0
 * when stored, -ESTALE when a later invalidation or fresher entry wins,
 * -ENOMEM, or -ENOSYS when the cache is disabled (ttl 0). */
int cache_put_attr(struct cache *c, const char *path, const struct smb1_stat *st, uint64_t gen);
int cache_put_negative(struct cache *c, const char *path, uint64_t gen);

/* A reference-counted snapshot of a directory listing; immutable once
 * committed. */
struct cache_dirent {
    const char *name; /* valid after cache_dir_commit */
    struct smb1_stat st;
    size_t name_off; /* private: offset into the name arena */
};
struct cache_dir {
    size_t n;
    struct cache_dirent *ents;
    /* private below */
    size_t cap;
    unsigned refs; /* atomic */
    char *names;   /* arena of NUL-terminated names */
    size_t names_len, names_cap;
};

/* Builds a listing while FIND_FIRST2/NEXT2 replies come in; the caller
 * holds one reference. NULL on allocation failure. */
struct cache_dir *cache_dir_new(void);
/* 0 or -ENOMEM. */
int cache_dir_add(struct cache_dir *d, const char *name, const struct smb1_stat *st);
/* Seals d (names become valid) and stores it as the listing of directory
 * path, with each entry's attributes stored as path/name. The caller keeps
 * its reference either way and drops it with cache_dir_put. Returns as
 * cache_put_attr. */
int cache_dir_commit(struct cache *c, const char *path, struct cache_dir *d, uint64_t gen);
/* A fresh listing of path with a reference held for the caller, or NULL. */
struct cache_dir *cache_dir_get(struct cache *c, const char *path);
void cache_dir_put(struct cache_dir *d);

/* Our own change to path, which is no directory made or removed: drops
 * path's attributes and listing and its parent's listing and attributes
 * (these cache_get_dir still has, with their times moved). */
void cache_changed(struct cache *c, const char *path);
/* cache_changed for a change whose reply described the result (a create
 * returns the new file's attributes): also stores st for path, unless
 * another change to path was recorded since gen, read before the request
 * was sent. Returns as cache_put_attr. */
int cache_changed_stat(struct cache *c, const char *path, const struct smb1_stat *st, uint64_t gen);
/* cache_changed for our own set of path's mode, owner or times, which
 * the server accepted: st is the attributes cached at generation gen (read
 * before the set was sent; for a directory, also what cache_get_dir gave
 * with its times moved, whose set then gave the mtime) with the set
 * applied. When the entry is still the one read then (fresh, neither
 * refilled nor changed since), st takes its place with the expiry it had:
 * the stat that follows a set needs no request, and nothing is kept
 * longer than it would have been. Else the path is only invalidated.
 * Returns 0 when kept, -ESTALE, -ENOMEM. */
int cache_changed_known(struct cache *c, const char *path, const struct smb1_stat *st,
                        uint64_t gen);
/* cache_changed for our mkdir of path that succeeded: for the TTL, path
 * is known empty but for the names we change in it ourselves (their
 * lookups go to the server), so the lookups of untar and cp -r into it
 * are answered here. A listing of path from the server ends that. */
void cache_dir_made(struct cache *c, const char *path);
/* Like cache_changed, and also drops everything below path and the
 * parent's attributes whole (rename or removal of a directory, a mkdir
 * that may have made one). */
void cache_changed_tree(struct cache *c, const char *path);
/* Drops everything. */
void cache_clear(struct cache *c);

struct cache_stats {
    uint64_t hits, misses, negative_hits, stale_puts, evictions;
    size_t entries, bytes;
};
void cache_get_stats(struct cache *c, struct cache_stats *st);

#endif
