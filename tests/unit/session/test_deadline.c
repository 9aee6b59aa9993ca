/* The deadline of an operation (session/deadline.c): scopes nest without
 * ever extending the outer deadline, belong to their thread, and every
 * public call of ops/ and rpc/ that may talk to the server opens one (and
 * keeps what its settle says). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link/mux.h"
#include "session/deadline.h"

Test(deadline, scopes_nest_and_end)
{
    cr_assert_eq(conn_op_until(), -1);
    int64_t now = mux_now_ms();
    struct conn_op a, b, c;
    conn_op_begin(&a, 1000);
    int64_t ua = conn_op_until();
    cr_assert(ua >= now + 1000 && ua <= now + 1100, "deadline %lld from %lld", (long long)ua,
              (long long)now);
    conn_op_begin(&b, 60000); /* later: the outer one stays */
    cr_assert_eq(conn_op_until(), ua);
    conn_op_begin(&c, 10); /* sooner: taken */
    cr_assert_lt(conn_op_until(), ua);
    conn_op_end(&c);
    cr_assert_eq(conn_op_until(), ua);
    conn_op_end(&b);
    conn_op_end(&a);
    cr_assert_eq(conn_op_until(), -1);
    /* No bound of its own (hard): the outer one still holds. */
    conn_op_begin(&a, 500);
    ua = conn_op_until();
    conn_op_begin(&b, -1);
    cr_assert_eq(conn_op_until(), ua);
    conn_op_end(&b);
    conn_op_end(&a);
    conn_op_begin(&a, -1);
    cr_assert_eq(conn_op_until(), -1);
    conn_op_end(&a);
}

static void *other_thread(void *arg)
{
    *(int64_t *)arg = conn_op_until();
    return NULL;
}

Test(deadline, scopes_belong_to_their_thread)
{
    struct conn_op a;
    conn_op_begin(&a, 1000);
    int64_t seen = 0;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, other_thread, &seen), 0);
    pthread_join(th, NULL);
    conn_op_end(&a);
    cr_assert_eq(seen, -1, "another thread saw this one's deadline");
}

/* Public functions that never make a round trip (or tear down, with
 * bounds of their own): they open no deadline. */
static const char *const no_scope[] = {
    "smb1_path_is_open",
    "smb1_file_path",
    "smb1_file_open_stat",
    "smb1_close_sets_mtime",
    "smb1_print_job_id",
    "smb1_hold_writes",
    "smb1_write_behind_on",
    "smb1_file_wrote",
    "smb1_deleted_name",
    "smb1_own_ttl",
    "smb1_own_attr",
    "smb1_own_changed",
    "smb1_own_times",
    "smb1_own_defer_mtime",
    "smb1_own_forget",
    "smb1_write_close_max",
    "smb1_find_master",
    /* A reference count (op_wblent.c). */
    "smb1_loan_hold",
    "smb1_loan_drop",
    /* At unmount: the held writes of every open file go out, each with a
     * bound of its own, rather than be cut short by one. */
    "smb1_close_all",
};

static bool exempt(const char *name)
{
    for (size_t i = 0; i < sizeof(no_scope) / sizeof(no_scope[0]); i++)
        if (strcmp(no_scope[i], name) == 0)
            return true;
    return false;
}

/* A settle's result is the operation's when its deadline comes first
 * (ops_settle): a call that drops it would send what must wait. */
static int check_settles(const char *file)
{
    FILE *f = fopen(file, "r");
    cr_assert_not_null(f, "%s", file);
    char line[512];
    int dropped = 0;
    while (fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, "ops_settle(");
        if (!p || strstr(line, "int ops_settle("))
            continue;
        bool kept = false;
        for (const char *q = line; q < p; q++)
            kept = kept || *q == '=' || *q == '?' || !strncmp(q, "return", 6);
        if (!kept) {
            fprintf(stderr, "%s: a settle's result is dropped: %s", file, line);
            dropped++;
        }
    }
    fclose(f);
    return dropped;
}

/* Checks every definition of a public function in file: its first
 * statement opens the operation's deadline. Returns the number missing. */
static int check_file(const char *file)
{
    FILE *f = fopen(file, "r");
    cr_assert_not_null(f, "%s", file);
    char line[512], name[128];
    int missing = 0;
    bool in_def = false, body = false;
    while (fgets(line, sizeof(line), f)) {
        if (!in_def) {
            const char *p = strstr(line, "smb1_");
            size_t n = strlen(line);
            while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
                n--;
            if (line[0] < 'a' || line[0] > 'z' || !p || (n && line[n - 1] == ';') ||
                strncmp(line, "static", 6) == 0)
                continue;
            size_t k = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
            if (p[k] != '(' || k >= sizeof(name))
                continue;
            memcpy(name, p, k);
            name[k] = 0;
            in_def = true;
            body = false;
            continue;
        }
        if (!body) {
            body = line[0] == '{';
            continue;
        }
        in_def = false;
        if (!strstr(line, "CONN_OP(") && !exempt(name)) {
            fprintf(stderr, "%s: %s opens no deadline (CONN_OP)\n", file, name);
            missing++;
        }
    }
    fclose(f);
    return missing;
}

Test(deadline, every_public_operation_opens_one)
{
    const char *dirs[] = {"src/ops", "src/rpc"};
    int missing = 0, files = 0;
    for (size_t i = 0; i < 2; i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", SMBFUSE_SOURCE_DIR, dirs[i]);
        DIR *d = opendir(path);
        cr_assert_not_null(d, "%s", path);
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t n = strlen(e->d_name);
            if (n < 3 || strcmp(e->d_name + n - 2, ".c") != 0)
                continue;
            char file[1400];
            snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
            missing += check_file(file) + check_settles(file);
            files++;
        }
        closedir(d);
    }
    cr_assert_gt(files, 10);
    cr_assert_eq(missing, 0,
                 "%d public operations open no deadline or drop a settle's result (see stderr)",
                 missing);
}
