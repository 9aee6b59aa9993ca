/* A lock wait that gives up logs its file's name while another thread
 * renames that file (issue 11): the rename replaces, and frees, the
 * handle's path under the handle's lock, so the log line must copy it
 * under that lock too (file_path_copy). Against a real smbd; meant for
 * ThreadSanitizer (label tsan), which reports the unlocked read as a race,
 * and AddressSanitizer, which may catch the read of the freed name.
 * Plain main: Criterion's runner cannot start under TSan. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plain_test.h" /* before core_server.h: its CORE_ASSERT */

#include "core_server.h"
#include "log.h"
#include "smb1.h"

#define WAIT_BOUND_MS 1000

struct waiter {
    struct smb1_file *f;
    int r;
};

static atomic_bool waiting_done;

static void *wait_main(void *arg)
{
    struct waiter *w = arg;
    w->r = smb1_posix_lock(w->f, 2, false, 0, 10, F_WRLCK, true, NULL);
    atomic_store(&waiting_done, true);
    return NULL;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    struct smb1_log lg;
    /* Warnings are formatted: the give-up line reads the name. */
    log_init(&lg, LOG_WARNING, NULL, NULL);
    struct core_server srv;
    core_server_start(&srv, "signed", false);
    char p[800];
    snprintf(p, sizeof(p), "%s/share/lk", srv.dir);
    FILE *fp = fopen(p, "w");
    CORE_ASSERT(fp, "create %s", p);
    fputs("0123456789", fp);
    fclose(fp);

    struct smb1_config c = {0};
    c.host = srv.addr;
    c.port = (uint16_t)srv.port;
    c.user = srv.user;
    c.domain = srv.domain;
    c.password = srv.pass;
    c.sec = SMB1_SEC_NTLMV2;
    c.sign = SMB1_SIGN_REQUIRED;
    c.request_timeout_ms = WAIT_BOUND_MS;
    c.unix_ext = -1;
    c.log = &lg;
    struct smb1_conn *conn = NULL;
    char why[256] = "";
    int r = smb1_conn_new(&c, &conn, why, sizeof(why));
    if (r) {
        core_server_stop(&srv);
        CORE_ASSERT(0, "connect: %d %s", r, why);
    }
    struct smb1_tree *t = NULL;
    struct smb1_file *holder = NULL, *other = NULL;
    int failed = 0;
    if (smb1_tree_connect(conn, srv.share, &t) != 0 ||
        smb1_open(t, "lk", O_RDWR, 0, &holder, NULL) != 0 ||
        smb1_open(t, "lk", O_RDWR, 0, &other, NULL) != 0 ||
        smb1_posix_lock(holder, 1, false, 0, 10, F_WRLCK, false, NULL) != 0) {
        fprintf(stderr, "setup failed\n");
        failed = 1;
    } else {
        struct waiter w = {.f = other};
        pthread_t th;
        CORE_ASSERT(pthread_create(&th, NULL, wait_main, &w) == 0, "thread");
        /* Rename back and forth until the wait has given up and logged. */
        unsigned renames = 0;
        while (!atomic_load(&waiting_done)) {
            if (smb1_rename(t, (renames & 1) ? "lk2" : "lk", (renames & 1) ? "lk" : "lk2", 0) == 0)
                renames++;
        }
        pthread_join(th, NULL);
        printf("lock wait ended with %d after %u renames\n", w.r, renames);
        if (w.r != -EDEADLK) {
            fprintf(stderr, "the lock wait ended with %d, not EDEADLK\n", w.r);
            failed = 1;
        }
        if (renames < 2) {
            fprintf(stderr, "no rename went through during the wait\n");
            failed = 1;
        }
    }
    if (other)
        smb1_close(other);
    if (holder)
        smb1_close(holder);
    smb1_tree_free(t);
    smb1_conn_free(conn);
    core_server_stop(&srv);
    log_destroy(&lg);
    printf("lock_rename: %d passed, %d failed\n", !failed, failed);
    return failed;
}
