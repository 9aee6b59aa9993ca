/* Attribute / negative / listing cache: TTL with an injected clock,
 * invalidation of path and parent, generation ordering, memory bound. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "smb1_cache.h"

static uint64_t fake_now;
static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return fake_now;
}

#define SEC 1000000000ull

static struct cache *mk(uint64_t ttl, size_t max_bytes)
{
    fake_now = 1000 * SEC;
    struct cache_config cfg = {.ttl_ns = ttl, .max_bytes = max_bytes, .now_ns = clock_fn};
    struct cache *c = cache_new(&cfg);
    cr_assert_not_null(c);
    return c;
}

static struct smb1_stat st_size(uint64_t size)
{
    struct smb1_stat st;
    memset(&st, 0, sizeof(st));
    st.size = size;
    return st;
}

Test(cache, hit_then_expiry)
{
    struct cache *c = mk(SEC, 0);
    struct smb1_stat st = st_size(42), out;
    cr_assert_eq(cache_get_attr(c, "/a", &out), CACHE_MISS);
    cr_assert_eq(cache_put_attr(c, "/a", &st, cache_gen(c)), 0);
    cr_assert_eq(cache_get_attr(c, "/a", &out), CACHE_HIT);
    cr_assert_eq(out.size, 42);
    fake_now += SEC - 1;
    cr_assert_eq(cache_get_attr(c, "/a", &out), CACHE_HIT);
    fake_now += 1;
    cr_assert_eq(cache_get_attr(c, "/a", &out), CACHE_MISS, "expired data must never be returned");
    cache_free(c);
}

Test(cache, negative_and_expiry)
{
    struct cache *c = mk(2 * SEC, 0);
    struct smb1_stat out;
    cr_assert_eq(cache_put_negative(c, "/nope", cache_gen(c)), 0);
    cr_assert_eq(cache_get_attr(c, "/nope", &out), CACHE_NEGATIVE);
    fake_now += 2 * SEC;
    cr_assert_eq(cache_get_attr(c, "/nope", &out), CACHE_MISS);
    cache_free(c);
}

Test(cache, disabled_with_zero_ttl)
{
    struct cache *c = mk(0, 0);
    struct smb1_stat st = st_size(1), out;
    cr_assert_eq(cache_put_attr(c, "/a", &st, cache_gen(c)), -ENOSYS);
    cr_assert_eq(cache_get_attr(c, "/a", &out), CACHE_MISS);
    cache_free(c);
}

Test(cache, changed_drops_path_and_parent)
{
    struct cache *c = mk(10 * SEC, 0);
    struct smb1_stat st = st_size(1), out;
    uint64_t g = cache_gen(c);
    cache_put_attr(c, "/d", &st, g);
    cache_put_attr(c, "/d/f", &st, g);
    cache_put_attr(c, "/d/g", &st, g);
    cache_put_attr(c, "/other", &st, g);
    struct cache_dir *d = cache_dir_new();
    cache_dir_add(d, "f", &st);
    cr_assert_eq(cache_dir_commit(c, "/d", d, g), 0);
    cache_dir_put(d);

    cache_changed(c, "/d/f");
    cr_assert_eq(cache_get_attr(c, "/d/f", &out), CACHE_MISS);
    cr_assert_eq(cache_get_attr(c, "/d", &out), CACHE_MISS, "parent attributes (mtime) change too");
    cr_assert_null(cache_dir_get(c, "/d"), "parent listing must be dropped");
    cr_assert_eq(cache_get_attr(c, "/d/g", &out), CACHE_HIT, "siblings are unaffected");
    cr_assert_eq(cache_get_attr(c, "/other", &out), CACHE_HIT);
    cache_free(c);
}

Test(cache, root_child_invalidates_root)
{
    struct cache *c = mk(10 * SEC, 0);
    struct smb1_stat st = st_size(1), out;
    struct cache_dir *d = cache_dir_new();
    cache_dir_add(d, "x", &st);
    cr_assert_eq(cache_dir_commit(c, "/", d, cache_gen(c)), 0);
    cache_dir_put(d);
    cr_assert_eq(cache_get_attr(c, "/x", &out), CACHE_HIT, "listing fills child attributes");
    struct cache_dir *got = cache_dir_get(c, "/");
    cr_assert_not_null(got);
    cr_assert_eq(got->n, 1);
    cr_assert_str_eq(got->ents[0].name, "x");
    cache_dir_put(got);
    cache_changed(c, "/y");
    cr_assert_null(cache_dir_get(c, "/"));
    cr_assert_eq(cache_get_attr(c, "/x", &out), CACHE_HIT);
    cache_free(c);
}

Test(cache, tree_invalidation)
{
    struct cache *c = mk(10 * SEC, 0);
    struct smb1_stat st = st_size(1), out;
    uint64_t g = cache_gen(c);
    cache_put_attr(c, "/a", &st, g);
    cache_put_attr(c, "/a/b", &st, g);
    cache_put_attr(c, "/a/b/c", &st, g);
    cache_put_attr(c, "/ab", &st, g);
    cache_changed_tree(c, "/a");
    cr_assert_eq(cache_get_attr(c, "/a", &out), CACHE_MISS);
    cr_assert_eq(cache_get_attr(c, "/a/b", &out), CACHE_MISS);
    cr_assert_eq(cache_get_attr(c, "/a/b/c", &out), CACHE_MISS);
    cr_assert_eq(cache_get_attr(c, "/ab", &out), CACHE_HIT, "a sibling sharing a prefix survives");
    /* A reply to a request that was in flight during the rename must not land. */
    cr_assert_eq(cache_put_attr(c, "/a/b/zzz", &st, g), -ESTALE);
    cr_assert_eq(cache_put_attr(c, "/a/b/zzz", &st, cache_gen(c)), 0);
    cache_free(c);
}

Test(cache, stale_reply_after_invalidation_is_refused)
{
    struct cache *c = mk(10 * SEC, 0);
    struct smb1_stat old = st_size(1), fresh = st_size(2), out;
    uint64_t g_before = cache_gen(c); /* request sent */
    cache_changed(c, "/f");           /* our write lands meanwhile */
    cr_assert_eq(cache_put_attr(c, "/f", &old, g_before), -ESTALE);
    cr_assert_eq(cache_get_attr(c, "/f", &out), CACHE_MISS);
    cr_assert_eq(cache_put_negative(c, "/f", g_before), -ESTALE);
    uint64_t g_after = cache_gen(c);
    cr_assert_eq(cache_put_attr(c, "/f", &fresh, g_after), 0);
    cr_assert_eq(cache_get_attr(c, "/f", &out), CACHE_HIT);
    cr_assert_eq(out.size, 2);
    cache_free(c);
}

Test(cache, older_reply_never_overwrites_fresher)
{
    struct cache *c = mk(10 * SEC, 0);
    struct smb1_stat a = st_size(1), b = st_size(2), out;
    uint64_t g1 = cache_gen(c);
    cache_changed(c, "/unrelated");
    uint64_t g2 = cache_gen(c);
    cr_assert_gt(g2, g1);
    cr_assert_eq(cache_put_attr(c, "/f", &b, g2), 0);
    cr_assert_eq(cache_put_attr(c, "/f", &a, g1), -ESTALE);
    cr_assert_eq(cache_get_attr(c, "/f", &out), CACHE_HIT);
    cr_assert_eq(out.size, 2);
    /* The same generation may refresh. */
    cr_assert_eq(cache_put_attr(c, "/f", &a, g2), 0);
    cache_free(c);
}

Test(cache, stale_listing_refused)
{
    struct cache *c = mk(10 * SEC, 0);
    struct smb1_stat st = st_size(1);
    uint64_t g = cache_gen(c);
    struct cache_dir *d = cache_dir_new();
    cache_dir_add(d, "gone", &st);
    cache_changed(c, "/dir/gone"); /* unlinked while FIND_FIRST2 was in flight */
    cr_assert_eq(cache_dir_commit(c, "/dir", d, g), -ESTALE);
    cr_assert_str_eq(d->ents[0].name, "gone", "the caller may still use its listing");
    cache_dir_put(d);
    cr_assert_null(cache_dir_get(c, "/dir"));
    cache_free(c);
}

Test(cache, listing_reference_outlives_invalidation)
{
    struct cache *c = mk(10 * SEC, 0);
    struct smb1_stat st = st_size(7);
    struct cache_dir *d = cache_dir_new();
    for (int i = 0; i < 1000; i++) {
        char n[32];
        snprintf(n, sizeof(n), "file-%04d", i);
        cr_assert_eq(cache_dir_add(d, n, &st), 0);
    }
    cr_assert_eq(cache_dir_commit(c, "/big", d, cache_gen(c)), 0);
    cache_dir_put(d);
    struct cache_dir *got = cache_dir_get(c, "/big");
    cr_assert_not_null(got);
    cache_changed(c, "/big/file-0001");
    cache_clear(c);
    cr_assert_eq(got->n, 1000);
    cr_assert_str_eq(got->ents[999].name, "file-0999");
    cr_assert_eq(got->ents[999].st.size, 7);
    cache_dir_put(got);
    cache_free(c);
}

Test(cache, memory_bound_holds)
{
    const size_t cap = 256 * 1024;
    struct cache *c = mk(100 * SEC, cap);
    struct smb1_stat st = st_size(3), out;
    struct cache_stats s;
    for (int i = 0; i < 50000; i++) {
        char p[64];
        snprintf(p, sizeof(p), "/dir/some-longish-file-name-%d", i);
        cr_assert_eq(cache_put_attr(c, p, &st, cache_gen(c)), 0);
        cache_get_stats(c, &s);
        cr_assert_leq(s.bytes, cap);
    }
    cr_assert_gt(s.evictions, 0);
    /* The most recent survive, the oldest went. */
    cr_assert_eq(cache_get_attr(c, "/dir/some-longish-file-name-49999", &out), CACHE_HIT);
    cr_assert_eq(cache_get_attr(c, "/dir/some-longish-file-name-0", &out), CACHE_MISS);
    cache_free(c);
}

Test(cache, eviction_of_tombstone_keeps_refusing_stale)
{
    struct cache *c = mk(100 * SEC, 64 * 1024);
    struct smb1_stat st = st_size(3);
    uint64_t g = cache_gen(c);
    cache_changed(c, "/victim");
    for (int i = 0; i < 5000; i++) {
        char p[64];
        snprintf(p, sizeof(p), "/filler-%d", i);
        cache_put_attr(c, p, &st, cache_gen(c));
    }
    cr_assert_eq(cache_put_attr(c, "/victim", &st, g), -ESTALE);
    cache_free(c);
}

Test(cache, huge_listing_not_kept_but_bound_respected)
{
    const size_t cap = 128 * 1024;
    struct cache *c = mk(100 * SEC, cap);
    struct smb1_stat st = st_size(3);
    struct cache_dir *d = cache_dir_new();
    for (int i = 0; i < 5000; i++) {
        char n[32];
        snprintf(n, sizeof(n), "n%d", i);
        cache_dir_add(d, n, &st);
    }
    cr_assert_eq(cache_dir_commit(c, "/huge", d, cache_gen(c)), 0);
    cr_assert_eq(d->n, 5000);
    cache_dir_put(d);
    struct cache_stats s;
    cache_get_stats(c, &s);
    cr_assert_leq(s.bytes, cap);
    cache_free(c);
}

struct race_arg {
    struct cache *c;
    int id;
};

static void *racer(void *p)
{
    struct race_arg *a = p;
    struct smb1_stat st = st_size((uint64_t)a->id), out;
    for (int i = 0; i < 20000; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/r/%d", i % 64);
        uint64_t g = cache_gen(a->c);
        if (i % 7 == a->id)
            cache_changed(a->c, path);
        else
            cache_put_attr(a->c, path, &st, g);
        cache_get_attr(a->c, path, &out);
        if (i % 500 == 0) {
            struct cache_dir *d = cache_dir_get(a->c, "/r");
            cache_dir_put(d);
        }
    }
    return NULL;
}

Test(cache, concurrent_use_is_safe)
{
    struct cache *c = mk(100 * SEC, 32 * 1024);
    pthread_t th[4];
    struct race_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct race_arg){c, i};
        pthread_create(&th[i], NULL, racer, &args[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    struct cache_stats s;
    cache_get_stats(c, &s);
    cr_assert_leq(s.bytes, 32 * 1024);
    cache_free(c);
}

Test(cache, changed_stat_stores_own_result)
{
    struct cache *c = mk(10 * SEC, 0);
    struct smb1_stat old = st_size(1), created = st_size(0), out;
    uint64_t g = cache_gen(c);
    cache_put_negative(c, "/new", g);
    struct cache_dir *d = cache_dir_new();
    cr_assert_eq(cache_dir_commit(c, "/", d, g), 0);
    cache_dir_put(d);
    cr_assert_eq(cache_changed_stat(c, "/new", &created, g), 0);
    cr_assert_eq(cache_get_attr(c, "/new", &out), CACHE_HIT, "the create's own reply is kept");
    cr_assert_null(cache_dir_get(c, "/"), "the parent listing still goes");
    /* A change by someone else while the request was in flight wins. */
    uint64_t g2 = cache_gen(c);
    cache_changed(c, "/new");
    cr_assert_eq(cache_changed_stat(c, "/new", &old, g2), -ESTALE);
    cr_assert_eq(cache_get_attr(c, "/new", &out), CACHE_MISS);
    cache_free(c);
}

Test(cache, changed_known_keeps_what_was_known_until_its_expiry)
{
    struct cache *c = mk(SEC, 0);
    struct smb1_stat st = st_size(7), set = st_size(7), out;
    set.mode = 0755;
    uint64_t g = cache_gen(c);
    cr_assert_eq(cache_put_attr(c, "/d", &st, g), 0);
    struct cache_dir *d = cache_dir_new();
    cr_assert_eq(cache_dir_commit(c, "/", d, g), 0);
    cache_dir_put(d);
    fake_now += SEC / 2;
    /* our chmod: read what is known, send, keep it with the new mode */
    g = cache_gen(c);
    cr_assert_eq(cache_get_attr(c, "/d", &out), CACHE_HIT);
    cr_assert_eq(cache_changed_known(c, "/d", &set, g), 0);
    cr_assert_eq(cache_get_attr(c, "/d", &out), CACHE_HIT);
    cr_assert_eq(out.mode, 0755u);
    cr_assert_null(cache_dir_get(c, "/"), "the parent's listing shows the old mode: it goes");
    /* no younger than it was: gone at the first entry's expiry */
    fake_now += SEC / 2;
    cr_assert_eq(cache_get_attr(c, "/d", &out), CACHE_MISS);
    /* nothing known (expired): only invalidated */
    g = cache_gen(c);
    cr_assert_eq(cache_changed_known(c, "/d", &set, g), -ESTALE);
    cr_assert_eq(cache_get_attr(c, "/d", &out), CACHE_MISS);
    /* another change since the attributes were read wins */
    g = cache_gen(c);
    cr_assert_eq(cache_put_attr(c, "/d", &st, g), 0);
    g = cache_gen(c);
    cache_changed(c, "/d/x"); /* the parent's attributes go with a child's change */
    cr_assert_eq(cache_changed_known(c, "/d", &set, g), -ESTALE);
    cr_assert_eq(cache_get_attr(c, "/d", &out), CACHE_MISS);
    /* and so does a fresher reply stored since */
    g = cache_gen(c);
    cr_assert_eq(cache_put_attr(c, "/d", &st, g), 0);
    uint64_t g2 = cache_gen(c);
    cache_changed(c, "/e");
    cr_assert_eq(cache_put_attr(c, "/d", &st, cache_gen(c)), 0);
    cr_assert_eq(cache_changed_known(c, "/d", &set, g2), -ESTALE);
    cache_free(c);
}

Test(cache, made_directory_answers_lookups_of_names_we_never_touched)
{
    struct cache *c = mk(SEC, 0);
    struct smb1_stat st = st_size(7), out;
    cache_dir_made(c, "/new");
    cr_assert_eq(cache_get_attr(c, "/new/a", &out), CACHE_NEGATIVE, "a made directory is empty");
    cr_assert_eq(cache_get_attr(c, "/new/sub/a", &out), CACHE_MISS, "only its own children");
    cr_assert_eq(cache_get_attr(c, "/other/a", &out), CACHE_MISS);
    /* our create of a name: its reply answers, and once that entry is
     * gone the name goes to the server, never back to "absent" */
    uint64_t g = cache_gen(c);
    cr_assert_eq(cache_changed_stat(c, "/new/a", &st, g), 0);
    cr_assert_eq(cache_get_attr(c, "/new/a", &out), CACHE_HIT);
    cache_changed(c, "/new/a");
    cr_assert_eq(cache_get_attr(c, "/new/a", &out), CACHE_MISS);
    cr_assert_eq(cache_get_attr(c, "/new/b", &out), CACHE_NEGATIVE);
    /* a removed name likewise (rm, then another client's create) */
    cache_changed(c, "/new/b");
    cr_assert_eq(cache_get_attr(c, "/new/b", &out), CACHE_MISS);
    cache_changed_tree(c, "/new/c");
    cr_assert_eq(cache_get_attr(c, "/new/c", &out), CACHE_MISS);
    /* a change of the directory's own attributes keeps the record */
    cache_changed(c, "/new");
    cr_assert_eq(cache_get_attr(c, "/new/d", &out), CACHE_NEGATIVE);
    fake_now += SEC;
    cr_assert_eq(cache_get_attr(c, "/new/d", &out), CACHE_MISS, "the record ends after the TTL");
    cache_free(c);
}

Test(cache, made_directory_record_ends)
{
    struct cache *c = mk(SEC, 0);
    struct smb1_stat out;
    /* moved or removed */
    cache_dir_made(c, "/m");
    cache_changed_tree(c, "/m");
    cr_assert_eq(cache_get_attr(c, "/m/x", &out), CACHE_MISS);
    /* listed by the server: the listing is the newer word */
    cache_dir_made(c, "/l");
    struct cache_dir *d = cache_dir_new();
    cr_assert_eq(cache_dir_commit(c, "/l", d, cache_gen(c)), 0);
    cache_dir_put(d);
    cr_assert_eq(cache_get_attr(c, "/l/x", &out), CACHE_MISS);
    /* dropped with everything */
    cache_dir_made(c, "/k");
    cache_clear(c);
    cr_assert_eq(cache_get_attr(c, "/k/x", &out), CACHE_MISS);
    /* too many names to follow */
    cache_dir_made(c, "/big");
    char p[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(p, sizeof(p), "/big/f%d", i);
        cache_changed(c, p);
    }
    cr_assert_eq(cache_get_attr(c, "/big/f1", &out), CACHE_MISS);
    cr_assert_eq(cache_get_attr(c, "/big/other", &out), CACHE_MISS);
    cache_free(c);
}

Test(cache, made_directory_disabled_with_zero_ttl)
{
    struct cache *c = mk(0, 0);
    struct smb1_stat out;
    cache_dir_made(c, "/new");
    cr_assert_eq(cache_get_attr(c, "/new/a", &out), CACHE_MISS);
    cache_free(c);
}

static struct smb1_stat st_dir(time_t ctime)
{
    struct smb1_stat st = st_size(0);
    st.is_dir = true;
    st.mode = 040700;
    st.ctime.tv_sec = ctime;
    return st;
}

Test(cache, directory_attributes_kept_through_our_changes_in_it)
{
    struct cache *c = mk(SEC, 0);
    struct smb1_stat d = st_dir(100), file = st_size(3), out;
    bool moved = true;
    cr_assert_eq(cache_put_attr(c, "/d", &d, cache_gen(c)), 0);
    cr_assert_eq(cache_get_dir(c, "/d", &out, &moved), CACHE_HIT);
    cr_assert_not(moved);
    /* our create in it: a stat asks the server (the times moved), but
     * what else is known stays, the ctime at least the new entry's */
    file.ctime.tv_sec = 105;
    cr_assert_eq(cache_changed_stat(c, "/d/f", &file, cache_gen(c)), 0);
    cr_assert_eq(cache_get_attr(c, "/d", &out), CACHE_MISS);
    cr_assert_eq(cache_get_dir(c, "/d", &out, &moved), CACHE_HIT);
    cr_assert(moved);
    cr_assert_eq(out.mode, 040700u);
    cr_assert_eq(out.ctime.tv_sec, 105);
    /* an unlink in it likewise; an older entry leaves the ctime */
    cache_changed(c, "/d/g");
    file.ctime.tv_sec = 90;
    cr_assert_eq(cache_changed_stat(c, "/d/h", &file, cache_gen(c)), 0);
    cr_assert_eq(cache_get_dir(c, "/d", &out, &moved), CACHE_HIT);
    cr_assert_eq(out.ctime.tv_sec, 105);
    /* a set read from them (the mtime given) makes them whole again */
    uint64_t g = cache_gen(c);
    cr_assert_eq(cache_get_dir(c, "/d", &out, &moved), CACHE_HIT);
    out.mtime.tv_sec = 7;
    cr_assert_eq(cache_changed_known(c, "/d", &out, g), 0);
    cr_assert_eq(cache_get_attr(c, "/d", &out), CACHE_HIT);
    cr_assert_eq(out.mtime.tv_sec, 7);
    /* not when another change in it came between the read and the set */
    cache_changed(c, "/d/i");
    g = cache_gen(c);
    cr_assert_eq(cache_get_dir(c, "/d", &out, &moved), CACHE_HIT);
    cache_changed(c, "/d/j");
    cr_assert_eq(cache_changed_known(c, "/d", &out, g), -ESTALE);
    cr_assert_eq(cache_get_dir(c, "/d", &out, &moved), CACHE_MISS);
    /* they expire when they would have */
    cr_assert_eq(cache_put_attr(c, "/d", &d, cache_gen(c)), 0);
    fake_now += SEC / 2;
    cache_changed(c, "/d/k");
    cr_assert_eq(cache_get_dir(c, "/d", &out, &moved), CACHE_HIT);
    fake_now += SEC / 2;
    cr_assert_eq(cache_get_dir(c, "/d", &out, &moved), CACHE_MISS);
    cache_free(c);
}

Test(cache, directory_attributes_not_kept)
{
    struct cache *c = mk(SEC, 0);
    struct smb1_stat d = st_dir(100), out;
    bool moved;
    /* a directory made, removed or moved in it moves its link count */
    cr_assert_eq(cache_put_attr(c, "/d", &d, cache_gen(c)), 0);
    cache_dir_made(c, "/d/sub");
    cr_assert_eq(cache_get_dir(c, "/d", &out, &moved), CACHE_MISS);
    cr_assert_eq(cache_put_attr(c, "/d", &d, cache_gen(c)), 0);
    cache_changed_tree(c, "/d/sub");
    cr_assert_eq(cache_get_dir(c, "/d", &out, &moved), CACHE_MISS);
    /* a change of the directory itself */
    cr_assert_eq(cache_put_attr(c, "/d", &d, cache_gen(c)), 0);
    cache_changed(c, "/d");
    cr_assert_eq(cache_get_dir(c, "/d", &out, &moved), CACHE_MISS);
    /* a size the server shows for it, which an entry changes */
    d.size = 4096;
    cr_assert_eq(cache_put_attr(c, "/d", &d, cache_gen(c)), 0);
    cache_changed(c, "/d/f");
    cr_assert_eq(cache_get_dir(c, "/d", &out, &moved), CACHE_MISS);
    /* no directory */
    struct smb1_stat f = st_size(0);
    cr_assert_eq(cache_put_attr(c, "/f", &f, cache_gen(c)), 0);
    cr_assert_eq(cache_get_dir(c, "/f", &out, &moved), CACHE_MISS);
    cache_free(c);
}
