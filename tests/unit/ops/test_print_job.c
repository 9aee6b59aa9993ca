/* Print jobs against the scripted server (tests/fake): a printer that
 * refuses NT_CREATE_ANDX gets SMB_COM_OPEN_PRINT_FILE without being asked,
 * a large job streams in many WRITE_ANDX, signed, a close the server
 * refuses reaches smb1_print_close, and a job whose connection died midway
 * fails and is never submitted. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_smb.h"
#include "smb1.h"

static struct smb1_log lg;
static struct fake_server *fs;
static uint16_t port;

static void init(void)
{
    const char *lv = getenv("SMBFUSE_TEST_LOG");
    log_init(&lg, lv ? atoi(lv) : LOG_CRIT, NULL, NULL);
    struct fake_opts o = fake_signed_opts();
    fs = fake_start(&o, &port);
    cr_assert_not_null(fs);
}

static void fini(void)
{
    fake_stop(fs);
    log_destroy(&lg);
}

static struct smb1_conn *connect_printer(struct smb1_tree **t)
{
    struct smb1_config c = fake_client_config(port, &lg);
    c.request_timeout_ms = 3000;
    c.unix_ext = 0;
    struct smb1_conn *conn = NULL;
    char why[256] = "";
    cr_assert_eq(smb1_conn_new(&c, &conn, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(smb1_tree_connect(conn, "PRINTER", t), 0);
    cr_assert_eq(smb1_tree_type(*t), SMB1_TREE_PRINTER);
    return conn;
}

Test(print_job, fallback_and_close_errors, .init = init, .fini = fini, .timeout = 60)
{
    struct smb1_tree *t;
    struct smb1_conn *conn = connect_printer(&t);
    size_t n = 600000;
    uint8_t *buf = malloc(n);
    cr_assert(buf);
    memset(buf, 'x', n);

    /* NT_CREATE refused: the old command, unasked. */
    struct smb1_print_job *j = NULL;
    cr_assert_eq(smb1_print_open(t, "report.txt", 0, &j), 0);
    cr_assert_eq(smb1_print_write(j, buf, n, 0), (ssize_t)n);
    cr_assert_eq(smb1_print_close(j), 0);
    struct fake_stats st;
    fake_get_stats(fs, &st);
    cr_assert_eq(st.print_opens, 1);
    cr_assert_eq(st.print_jobs, 1);
    cr_assert_eq(st.print_bytes, n);
    cr_assert_eq(st.bad_request_signatures, 0);

    /* The server refuses the job at its close: the caller hears it. */
    fake_set_print_close(fs, 0xC000007Fu); /* STATUS_DISK_FULL */
    cr_assert_eq(smb1_print_open(t, "second.txt", SMB1_PRINT_OPEN_PRINT_FILE, &j), 0);
    cr_assert_eq(smb1_print_write(j, buf, 1000, 0), 1000);
    cr_assert_eq(smb1_print_close(j), -ENOSPC);
    fake_set_print_close(fs, 0xC0000022u); /* ACCESS_DENIED */
    cr_assert_eq(smb1_print_open(t, "third.txt", 0, &j), 0);
    cr_assert_eq(smb1_print_write(j, buf, 10, 0), 10);
    cr_assert_eq(smb1_print_close(j), -EACCES);
    fake_get_stats(fs, &st);
    cr_assert_eq(st.print_jobs, 1);

    /* The connection dies in the middle of a job: the write fails, the
     * job is abandoned, its close says so, and the next job prints on a
     * new connection. */
    fake_set_print_close(fs, 0);
    cr_assert_eq(smb1_print_open(t, "fourth.txt", 0, &j), 0);
    cr_assert_eq(smb1_print_write(j, buf, 1000, 0), 1000);
    fake_inject(fs, FAKE_DISCONNECT_MID, 0);
    cr_assert_lt(smb1_print_write(j, buf, 1000, 1000), 0);
    cr_assert_lt(smb1_print_write(j, buf, 10, 2000), 0, "a failed job took more data");
    cr_assert_eq(smb1_print_close(j), -EIO);
    fake_get_stats(fs, &st);
    cr_assert_eq(st.print_jobs, 1, "the broken job was submitted");
    cr_assert_eq(smb1_print_open(t, "fifth.txt", 0, &j), 0);
    cr_assert_eq(smb1_print_write(j, buf, 1000, 0), 1000);
    cr_assert_eq(smb1_print_close(j), 0);
    fake_get_stats(fs, &st);
    cr_assert_eq(st.print_jobs, 2);

    /* Not a printer: no job. */
    struct smb1_tree *disk;
    cr_assert_eq(smb1_tree_connect(conn, "share", &disk), 0);
    cr_assert_eq(smb1_print_open(disk, "x", 0, &j), -ENOTSUP);
    smb1_tree_free(disk);
    free(buf);
    smb1_tree_free(t);
    smb1_conn_free(conn);
}
