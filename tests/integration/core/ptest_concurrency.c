/* Many threads over one signed connection, built and run under
 * -DSMBFUSE_TSAN=ON too (label tsan).
 *
 * 1. The scripted server (tests/fake) answering in batches, in reverse
 *    order: 16 threads x 200 ECHO and READ_ANDX requests; it checks every
 *    request's signature against its own counter, so wire order must equal
 *    sequence order, and each thread checks every byte it gets back.
 * 2. A real smbd (signing mandatory): 16 threads x 200 mixed requests
 *    (ECHO, QUERY_PATH_INFO through smb1_stat, FIND_FIRST2 listings, and
 *    256 KiB reads, each a pipeline of READ_ANDX whose replies the reader
 *    verifies in batches: the batching runs under TSan here).
 *
 * Criterion's runner cannot start under ThreadSanitizer (its shared-memory
 * arena collides with TSan's address-space layout), so this file has its
 * own main and prints the plain "N passed, N failed" line. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plain_test.h" /* before core_server.h: its CORE_ASSERT */

#include "session/conn.h"
#include "core_server.h"
#include "fake_smb.h"
#include "link/md5_multi.h"
#include "smb1.h"
#include "wire/smb1_proto.h"

#define THREADS    16
#define PER_THREAD 200

struct worker {
    struct smb1_conn *conn;
    struct smb1_tree *tree;
    int id;
    int failures;
    int last_err;
};

static void note(struct worker *w, int r)
{
    if (r) {
        w->failures++;
        w->last_err = r;
    }
}

/* READ_ANDX against the fake: every byte must be the fake's pattern. */
static int fake_read(struct smb1_conn *c, struct smb1_tree *t, uint32_t off, uint16_t len)
{
    struct msg_out m;
    int r = fake_read_request(&m, off, len);
    if (r)
        return r;
    struct msg_in in;
    r = conn_call(c, t, &m, &in, CONN_IDEMPOTENT);
    if (r)
        return r;
    r = fake_read_check(&in, off);
    msg_in_free(&in);
    return r == len ? 0 : -EBADMSG;
}

static void *fake_worker(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        if ((i + w->id) % 2)
            note(w, smb1_echo(w->conn));
        else
            note(w, fake_read(w->conn, w->tree, (uint32_t)(w->id * 1000 + i), 256));
    }
    return NULL;
}

static int count_entry(void *ctx, const char *name, const struct smb1_stat *st)
{
    (void)name;
    (void)st;
    (*(int *)ctx)++;
    return 0;
}

#define BIG_LEN  (2u << 20)
#define BIG_READ (256u << 10)

static uint8_t big_byte(size_t i)
{
    return (uint8_t)(i * 7 + (i >> 12));
}

/* A read of several READ_ANDX, sent as one pipeline whose signed replies
 * the reader verifies in batches while the other threads' requests go
 * between them. */
static int big_read(struct smb1_file *f, int k)
{
    static _Thread_local uint8_t buf[BIG_READ];
    uint64_t off = (uint64_t)(k % (int)(BIG_LEN / BIG_READ)) * BIG_READ;
    ssize_t n = smb1_read(f, buf, BIG_READ, off);
    if (n < 0)
        return (int)n;
    if ((size_t)n != BIG_READ)
        return -EBADMSG;
    for (size_t i = 0; i < BIG_READ; i++)
        if (buf[i] != big_byte(off + i))
            return -EBADMSG;
    return 0;
}

static void *smbd_worker(void *arg)
{
    struct worker *w = arg;
    struct smb1_file *big = NULL;
    note(w, smb1_open(w->tree, "big", O_RDONLY, 0, &big, NULL));
    for (int i = 0; i < PER_THREAD; i++) {
        int r = 0;
        if (i % 10 == 0 && big) {
            note(w, big_read(big, i / 10 + w->id));
            continue;
        }
        switch ((i + w->id) % 4) {
        case 0:
        case 1:
            r = smb1_echo(w->conn);
            break;
        case 2: {
            struct smb1_stat st;
            char path[32];
            int k = (i / 4) % 8;
            snprintf(path, sizeof(path), "f%d", k);
            r = smb1_stat(w->tree, path, &st);
            if (r == 0 && (st.is_dir || st.size != (uint64_t)k * 100))
                r = -EBADMSG;
            break;
        }
        default: {
            int n = 0;
            r = smb1_readdir(w->tree, "", count_entry, &n);
            if (r == 0 && n != 9)
                r = -EBADMSG;
            break;
        }
        }
        note(w, r);
    }
    if (big)
        note(w, smb1_close(big));
    return NULL;
}

static void run_threads(struct smb1_conn *conn, struct smb1_tree *t, void *(*fn)(void *))
{
    pthread_t th[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.conn = conn, .tree = t, .id = i};
        CORE_ASSERT(pthread_create(&th[i], NULL, fn, &w[i]) == 0, "%s", "pthread_create");
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK(w[i].failures == 0, "thread %d: %d failures, last %d", i, w[i].failures,
              w[i].last_err);
    }
}

static void check_stats(struct smb1_conn *conn)
{
    struct smb1_stats st;
    smb1_conn_get_stats(conn, &st);
    CHECK(st.bad_signatures == 0, "%llu bad signatures", (unsigned long long)st.bad_signatures);
    CHECK(st.reconnects == 0, "%llu reconnects", (unsigned long long)st.reconnects);
    CHECK(st.unknown_mids == 0, "%llu unknown MIDs", (unsigned long long)st.unknown_mids);
    CHECK(st.requests >= THREADS * PER_THREAD, "only %llu requests",
          (unsigned long long)st.requests);
    struct smb1_conn_info info;
    smb1_conn_get_info(conn, &info);
    CHECK(info.signing_active, "%s", "signing not active");
}

static int test_fake(void)
{
    int before = plain_failures;
    struct fake_opts o = {.user = "alice",
                          .domain = "WORKGROUP",
                          .password = "s3cret pass",
                          .sign_enabled = true,
                          .sign_required = true,
                          .max_mpx = 10,
                          .reorder = 10};
    uint16_t port = 0;
    struct fake_server *fs = fake_start(&o, &port);
    CORE_ASSERT(fs, "%s", "fake_start");
    struct smb1_config c = fake_client_config(port, &plain_log);
    c.sign = SMB1_SIGN_REQUIRED;
    c.request_timeout_ms = 20000;
    struct smb1_conn *conn = NULL;
    char why[256] = "";
    CORE_ASSERT(smb1_conn_new(&c, &conn, why, sizeof(why)) == 0, "fake connect: %s", why);
    struct smb1_tree *t = NULL;
    CORE_ASSERT(smb1_tree_connect(conn, "share", &t) == 0, "%s", "fake tree");
    run_threads(conn, t, fake_worker);
    check_stats(conn);
    smb1_tree_free(t);
    smb1_conn_free(conn);
    struct fake_stats fst;
    fake_get_stats(fs, &fst);
    CHECK(fst.bad_request_signatures == 0, "fake saw %u requests out of sequence order",
          fst.bad_request_signatures);
    CHECK(fst.max_outstanding == 10, "replies were held %u deep, expected the cap of 10",
          fst.max_outstanding);
    CHECK(fst.connections == 1, "%u connections", fst.connections);
    fake_stop(fs);
    return plain_failures == before;
}

struct chaos {
    struct fake_server *fs;
    int rounds;
};

static void *chaos_main(void *arg)
{
    struct chaos *ch = arg;
    for (int i = 0; i < ch->rounds; i++) {
        struct timespec ts = {0, 150 * 1000000L};
        nanosleep(&ts, NULL);
        fake_inject(ch->fs, FAKE_DISCONNECT_MID, 0);
    }
    return NULL;
}

/* The connection drops under load, several times: every idempotent request
 * is retried on the new connection and still gets its own bytes. */
static int test_reconnect_under_load(void)
{
    int before = plain_failures;
    struct fake_opts o = {.user = "alice",
                          .domain = "WORKGROUP",
                          .password = "s3cret pass",
                          .sign_enabled = true,
                          .sign_required = true};
    uint16_t port = 0;
    struct fake_server *fs = fake_start(&o, &port);
    CORE_ASSERT(fs, "%s", "fake_start");
    struct smb1_config c = fake_client_config(port, &plain_log);
    c.sign = SMB1_SIGN_REQUIRED;
    c.request_timeout_ms = 20000;
    struct smb1_conn *conn = NULL;
    char why[256] = "";
    CORE_ASSERT(smb1_conn_new(&c, &conn, why, sizeof(why)) == 0, "fake connect: %s", why);
    struct smb1_tree *t = NULL;
    CORE_ASSERT(smb1_tree_connect(conn, "share", &t) == 0, "%s", "fake tree");
    /* The first drop is armed before the load starts, so at least one
     * happens however fast the workers finish; the rest come on a timer. */
    fake_inject(fs, FAKE_DISCONNECT_MID, 0);
    struct chaos ch = {.fs = fs, .rounds = 3};
    pthread_t cth;
    CORE_ASSERT(pthread_create(&cth, NULL, chaos_main, &ch) == 0, "%s", "pthread_create");
    run_threads(conn, t, fake_worker);
    pthread_join(cth, NULL);
    struct smb1_stats st;
    smb1_conn_get_stats(conn, &st);
    CHECK(st.reconnects >= 1, "%s", "the connection never dropped");
    CHECK(st.bad_signatures == 0, "%llu bad signatures", (unsigned long long)st.bad_signatures);
    smb1_tree_free(t);
    smb1_conn_free(conn);
    struct fake_stats fst;
    fake_get_stats(fs, &fst);
    CHECK(fst.bad_request_signatures == 0, "fake saw %u requests out of sequence order",
          fst.bad_request_signatures);
    fake_stop(fs);
    return plain_failures == before;
}

static int test_smbd(void)
{
    int before = plain_failures;
    struct core_server srv;
    core_server_start(&srv, "signed", false);
    char dir[700];
    snprintf(dir, sizeof(dir), "%s/share", srv.dir);
    for (int i = 0; i < 8; i++) {
        char p[800];
        snprintf(p, sizeof(p), "%s/f%d", dir, i);
        FILE *f = fopen(p, "w");
        CORE_ASSERT(f, "create %s", p);
        for (int k = 0; k < i * 100; k++)
            fputc('a' + k % 26, f);
        fclose(f);
    }
    char bp[800];
    snprintf(bp, sizeof(bp), "%s/big", dir);
    FILE *bf = fopen(bp, "w");
    CORE_ASSERT(bf, "create %s", bp);
    for (size_t i = 0; i < BIG_LEN; i++)
        fputc(big_byte(i), bf);
    fclose(bf);
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
    c.log = &plain_log;
    struct smb1_conn *conn = NULL;
    char why[256] = "";
    int r = smb1_conn_new(&c, &conn, why, sizeof(why));
    if (r) {
        core_server_stop(&srv);
        CORE_ASSERT(0, "smbd connect: %d %s", r, why);
    }
    struct smb1_tree *t = NULL;
    CHECK(smb1_tree_connect(conn, srv.share, &t) == 0, "%s", "smbd tree");
    if (t) {
        run_threads(conn, t, smbd_worker);
        check_stats(conn);
        struct smb1_stats st;
        smb1_conn_get_stats(conn, &st);
        if (md5_multi_fast())
            CHECK(st.batched_macs > 0, "no reply was verified in a batch (%llu requests)",
                  (unsigned long long)st.requests);
        smb1_tree_free(t);
    }
    smb1_conn_free(conn);
    core_server_stop(&srv);
    return plain_failures == before;
}

int main(void)
{
    plain_init();
    int passed = 0, failed = 0;
    if (test_fake())
        passed++;
    else
        failed++;
    if (test_reconnect_under_load())
        passed++;
    else
        failed++;
    if (test_smbd())
        passed++;
    else
        failed++;
    return plain_finish("concurrency", passed, failed);
}
