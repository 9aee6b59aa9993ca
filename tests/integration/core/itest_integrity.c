/* Integrity against a real smbd: how smbd counts signing sequence numbers
 * for a message that has no reply (an oplock-release acknowledgement), so
 * that the mux and the fake server count the same way. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core_server.h"
#include "ops/op_file.h"
#include "session/conn.h"
#include "smb1.h"
#include "wire/smb1_proto.h"

static struct smb1_log lg;
static struct core_server srv;

static void init_signed(void)
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

static struct smb1_conn *connect_signed(void)
{
    struct smb1_config c = {0};
    c.host = srv.addr;
    c.port = (uint16_t)srv.port;
    c.user = srv.user;
    c.domain = srv.domain;
    c.password = srv.pass;
    c.sec = SMB1_SEC_NTLMV2;
    c.sign = SMB1_SIGN_REQUIRED;
    c.request_timeout_ms = 10000;
    c.unix_ext = -1;
    c.log = &lg;
    struct smb1_conn *conn = NULL;
    char why[256] = "";
    int r = smb1_conn_new(&c, &conn, why, sizeof(why));
    cr_assert_eq(r, 0, "smb1_conn_new: %d (%s)", r, why);
    return conn;
}

static void oplock_release(struct msg_out *m, uint16_t fid)
{
    cr_assert_eq(msg_out_init(m, SMB1_COM_LOCKING_ANDX, 64), 0);
    msg_words_begin(m);
    wire_put_u8(&m->w, SMB1_COM_NONE);
    wire_put_u8(&m->w, 0);
    wire_put_u16(&m->w, 0);
    wire_put_u16(&m->w, fid);
    wire_put_u8(&m->w, SMB1_LOCK_OPLOCK_RELEASE);
    wire_put_u8(&m->w, 0);
    wire_put_u32(&m->w, 0);
    wire_put_u16(&m->w, 0); /* no unlocks */
    wire_put_u16(&m->w, 0); /* no locks */
    msg_words_end(m);
    msg_bytes_begin(m);
    msg_bytes_end(m);
}

/* smbd does not answer an oplock release for a file without an oplock, yet
 * moves its signing counter by 2 for it, as for any request but NT_CANCEL.
 * A client that moves it by 1 signs its next request with a number smbd
 * does not expect, and smbd ends the connection. */
Test(integrity_smbd, oplock_ack_moves_the_counter_by_two, .init = init_signed, .fini = fini)
{
    struct smb1_conn *conn = connect_signed();
    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, srv.share, &t), 0);
    struct file_create fc = {.access = SMB1_GENERIC_READ | SMB1_GENERIC_WRITE,
                             .share = 7,
                             .disposition = SMB1_FILE_OPEN_IF};
    uint16_t fid = 0;
    uint64_t epoch = 0;
    uint32_t st = 0;
    cr_assert_eq(file_nt_create(t, "/ack-count", &fc, &fid, NULL, &epoch, &st), 0);
    for (int i = 0; i < 3; i++) {
        struct msg_out m;
        oplock_release(&m, fid);
        cr_assert_eq(conn_send_noreply(conn, t, &m), 0);
        cr_assert_eq(smb1_echo(conn), 0, "ECHO after acknowledgement %d", i + 1);
    }
    struct smb1_stats s;
    smb1_conn_get_stats(conn, &s);
    cr_assert_eq(s.bad_signatures, 0);
    cr_assert_eq(s.reconnects, 0, "smbd dropped the connection after an acknowledgement");
    cr_assert_eq(s.unknown_mids, 0, "smbd answered an oplock release");
    smb1_tree_free(t);
    smb1_conn_free(conn);
}
