/* Many threads over one signed connection to a real smbd: 16 threads x 200
 * mixed requests (ECHO, QUERY_PATH_INFO through smb1_stat, directory
 * listings), every reply verified. Also built and run under
 * -DSMBFUSE_TSAN=ON (label tsan). */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_server.h"
#include "smb1.h"

#define THREADS 16
#define PER_THREAD 200

static struct smb1_log lg;
static struct core_server srv;

static void init(void)
{
    signal(SIGPIPE, SIG_IGN);
    const char *lv = getenv("SMBFUSE_TEST_LOG");
    log_init(&lg, lv ? atoi(lv) : LOG_ERR, NULL, NULL);
    core_server_start(&srv, "signed", false);
}

static void fini(void)
{
    core_server_stop(&srv);
    log_destroy(&lg);
}

struct worker {
    struct smb1_conn *conn;
    struct smb1_tree *tree;
    int id;
    int failures;
    int last_err;
};

static int count_entry(void *ctx, const char *name, const struct smb1_stat *st)
{
    (void)name;
    (void)st;
    (*(int *)ctx)++;
    return 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        int r = 0;
        switch ((i + w->id) % 4) {
        case 0:
        case 1:
            r = smb1_echo(w->conn);
            break;
        case 2: {
            struct smb1_stat st;
            char path[32];
            snprintf(path, sizeof(path), "f%d", (i / 4) % 8);
            r = smb1_stat(w->tree, path, &st);
            if (r == 0 && (st.is_dir || st.size != (uint64_t)((i / 4) % 8) * 100))
                r = -EBADMSG;
            break;
        }
        default: {
            int n = 0;
            r = smb1_readdir(w->tree, "", count_entry, &n);
            if (r == 0 && n != 8)
                r = -EBADMSG;
            break;
        }
        }
        if (r) {
            w->failures++;
            w->last_err = r;
        }
    }
    return NULL;
}

Test(concurrency, threads_share_one_signed_connection, .init = init, .fini = fini,
     .timeout = 300)
{
    char dir[700];
    snprintf(dir, sizeof(dir), "%s/share", srv.dir);
    for (int i = 0; i < 8; i++) {
        char p[800];
        snprintf(p, sizeof(p), "%s/f%d", dir, i);
        FILE *f = fopen(p, "w");
        cr_assert_not_null(f);
        for (int k = 0; k < i * 100; k++)
            fputc('a' + k % 26, f);
        fclose(f);
    }
    struct smb1_config c = {0};
    c.host = srv.addr;
    c.port = (uint16_t)srv.port;
    c.user = srv.user;
    c.domain = srv.domain;
    c.password = srv.pass;
    c.sec = SMB1_SEC_NTLMV2;
    c.sign = SMB1_SIGN_REQUIRED;
    c.request_timeout_ms = 30000;
    c.unix_ext = -1;
    c.log = &lg;
    struct smb1_conn *conn = NULL;
    char why[256] = "";
    cr_assert_eq(smb1_conn_new(&c, &conn, why, sizeof(why)), 0, "%s", why);
    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, srv.share, &t), 0);

    pthread_t th[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.conn = conn, .tree = t, .id = i};
        cr_assert_eq(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        cr_expect_eq(w[i].failures, 0, "thread %d: %d failures, last %d", i, w[i].failures,
                     w[i].last_err);
    }
    struct smb1_stats st;
    smb1_conn_get_stats(conn, &st);
    cr_assert_eq(st.bad_signatures, 0);
    cr_assert_eq(st.reconnects, 0);
    cr_assert_eq(st.unknown_mids, 0);
    cr_assert_geq(st.requests, THREADS * PER_THREAD);
    struct smb1_conn_info info;
    smb1_conn_get_info(conn, &info);
    cr_assert(info.signing_active);
    smb1_tree_free(t);
    smb1_conn_free(conn);
}
