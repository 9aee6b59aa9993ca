/* The plain tests' shared scaffolding (plain_test.h). */
#include "plain_test.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct smb1_log plain_log;
int plain_failures;

void plain_init(void)
{
    signal(SIGPIPE, SIG_IGN);
    const char *lv = getenv("SMBFUSE_TEST_LOG");
    log_init(&plain_log, lv ? atoi(lv) : LOG_ERR, NULL, NULL);
}

int plain_finish(const char *what, int passed, int failed)
{
    log_destroy(&plain_log);
    printf("%s: %d passed, %d failed\n", what, passed, failed);
    return failed ? 1 : 0;
}

static void remove_dir(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

int plain_share_open(struct plain_share *ps, const char *tag, const char *profile,
                     enum smb1_sign_policy sign)
{
    memset(ps, 0, sizeof(*ps));
    snprintf(ps->dir, sizeof(ps->dir), "/dev/shm/smbfuse-%s-XXXXXX", tag);
    if (!mkdtemp(ps->dir) || chmod(ps->dir, 01777) != 0) {
        perror("mkdtemp");
        return -1;
    }
    char extra[128];
    snprintf(extra, sizeof(extra), "path = %s", ps->dir);
    if (harness_smbd_start_ex(profile, NULL, extra, &ps->sv) != 0) {
        fprintf(stderr, "smbd (%s) did not start\n", profile);
        remove_dir(ps->dir);
        return -1;
    }
    struct smb1_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.host = "127.0.0.1";
    cfg.port = (uint16_t)ps->sv.port;
    cfg.transport = SMB1_TRANSPORT_DIRECT;
    cfg.user = ps->sv.user;
    cfg.password = ps->sv.pass;
    cfg.domain = ps->sv.domain;
    cfg.sec = SMB1_SEC_NTLMSSP;
    cfg.sign = sign;
    cfg.unix_ext = -1;
    cfg.log = &plain_log;
    char why[256] = "";
    int r = smb1_conn_new(&cfg, &ps->conn, why, sizeof(why));
    if (r) {
        fprintf(stderr, "connect: %s (%s)\n", strerror(-r), why);
    } else if ((r = smb1_tree_connect(ps->conn, "share", &ps->tree)) != 0) {
        fprintf(stderr, "tree connect: %s\n", strerror(-r));
    }
    if (r) {
        plain_share_close(ps);
        return -1;
    }
    return 0;
}

void plain_expect_clean_stats(struct smb1_conn *conn)
{
    struct smb1_stats st;
    smb1_conn_get_stats(conn, &st);
    CHECK(st.bad_signatures == 0 && st.unknown_mids == 0 && st.reconnects == 0 &&
              st.timeouts == 0 && st.malformed == 0,
          "stats: %llu bad signatures, %llu unknown MIDs, %llu reconnects, %llu timeouts, "
          "%llu malformed",
          (unsigned long long)st.bad_signatures, (unsigned long long)st.unknown_mids,
          (unsigned long long)st.reconnects, (unsigned long long)st.timeouts,
          (unsigned long long)st.malformed);
}

static int count_cb(void *ctx, const char *name, const struct smb1_stat *st)
{
    (void)name;
    (void)st;
    (*(int *)ctx)++;
    return 0;
}

void plain_expect_empty_share(struct smb1_tree *tree)
{
    int left = 0;
    int r = smb1_readdir(tree, "", count_cb, &left);
    CHECK(r == 0 && left == 0, "%d names left on the share (%s)", left, strerror(-r));
}

void plain_share_close(struct plain_share *ps)
{
    if (ps->tree)
        smb1_tree_free(ps->tree);
    if (ps->conn)
        smb1_conn_free(ps->conn);
    ps->tree = NULL;
    ps->conn = NULL;
    harness_server_stop(&ps->sv);
    remove_dir(ps->dir);
}
