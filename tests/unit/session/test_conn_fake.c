/* Fault injection: the connection core against the scripted server in
 * tests/fake. Every fault must end in a clean error (no crash, no hang, no
 * corrupted data reaching the caller), and the connection must recover. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "session/conn.h"
#include "fake_smb.h"
#include "smb1.h"
#include "wire/smb1_proto.h"

static struct smb1_log lg;
static struct fake_server *fs;
static uint16_t port;

static void setup_log(void)
{
    const char *lv = getenv("SMBFUSE_TEST_LOG");
    log_init(&lg, lv ? atoi(lv) : LOG_CRIT, NULL, NULL);
}

static void start_fake(bool sign_enabled, bool sign_required)
{
    setup_log();
    struct fake_opts o = {.user = "alice",
                          .domain = "WORKGROUP",
                          .password = "s3cret pass",
                          .sign_enabled = sign_enabled,
                          .sign_required = sign_required};
    fs = fake_start(&o, &port);
    cr_assert_not_null(fs);
}

static void fini(void)
{
    fake_stop(fs);
    fs = NULL;
    log_destroy(&lg);
}

static void init_signed(void)
{
    start_fake(true, true);
}

static struct smb1_config cfg_for(const char *password, enum smb1_sign_policy sign)
{
    struct smb1_config c = fake_client_config(port, &lg);
    c.password = password;
    c.sign = sign;
    c.request_timeout_ms = 1500;
    c.connect_timeout_ms = 2000;
    c.echo_interval_s = 60;
    c.unix_ext = 0;
    return c;
}

static struct smb1_conn *connect_ok(struct smb1_config *c)
{
    struct smb1_conn *conn = NULL;
    char why[256] = "";
    int r = smb1_conn_new(c, &conn, why, sizeof(why));
    cr_assert_eq(r, 0, "smb1_conn_new: %d (%s)", r, why);
    return conn;
}

/* READ_ANDX of len bytes at off; returns the data length or -errno
 * (-EBADMSG when a byte differs from the pattern). */
static int do_read(struct smb1_conn *c, struct smb1_tree *t, uint32_t off, uint16_t len,
                   unsigned flags)
{
    struct msg_out m;
    cr_assert_eq(fake_read_request(&m, off, len), 0);
    struct msg_in in;
    int r = conn_call(c, t, &m, &in, flags);
    if (r)
        return r;
    r = fake_read_check(&in, off);
    msg_in_free(&in);
    return r;
}

Test(conn_fake, connect_echo_read_signed, .init = init_signed, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    struct smb1_conn *conn = connect_ok(&c);
    struct smb1_conn_info info;
    smb1_conn_get_info(conn, &info);
    cr_assert(info.signing_active);
    cr_assert_str_eq(info.server_domain, "FAKEDOM");
    cr_assert_str_eq(info.server_name, "FAKESRV");
    for (int i = 0; i < 20; i++)
        cr_assert_eq(smb1_echo(conn), 0);
    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, "share", &t), 0);
    cr_assert_eq(smb1_tree_type(t), SMB1_TREE_DISK);
    cr_assert_eq(do_read(conn, t, 100, 2000, CONN_IDEMPOTENT), 2000);
    struct smb1_stats st;
    smb1_conn_get_stats(conn, &st);
    cr_assert_eq(st.bad_signatures, 0);
    cr_assert_eq(st.reconnects, 0);
    smb1_tree_free(t);
    smb1_conn_free(conn);
    struct fake_stats fst;
    fake_get_stats(fs, &fst);
    cr_assert_eq(fst.bad_request_signatures, 0);
}

Test(conn_fake, wrong_password, .init = init_signed, .fini = fini)
{
    struct smb1_config c = cfg_for("wrong", SMB1_SIGN_AUTO);
    struct smb1_conn *conn = NULL;
    char why[256] = "";
    cr_assert_eq(smb1_conn_new(&c, &conn, why, sizeof(why)), -EACCES);
    cr_assert_null(conn);
    cr_assert(strstr(why, "logon failure") != NULL, "why: %s", why);
}

Test(conn_fake, missing_share, .init = init_signed, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_AUTO);
    struct smb1_conn *conn = connect_ok(&c);
    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, "NOSHARE", &t), -ENOENT);
    smb1_conn_free(conn);
}

static void init_unsigned(void)
{
    start_fake(false, false);
}

Test(conn_fake, sign_required_refused_without_server_signing, .init = init_unsigned, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    struct smb1_conn *conn = NULL;
    char why[256] = "";
    cr_assert_eq(smb1_conn_new(&c, &conn, why, sizeof(why)), -EPERM);
    cr_assert(strstr(why, "sign") != NULL, "why: %s", why);
}

Test(conn_fake, auto_unsigned, .init = init_unsigned, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_AUTO);
    struct smb1_conn *conn = connect_ok(&c);
    struct smb1_conn_info info;
    smb1_conn_get_info(conn, &info);
    cr_assert(!info.signing_active);
    cr_assert_eq(smb1_echo(conn), 0);
    smb1_conn_free(conn);
}

/* A fault on a signed READ reply: the read fails with -EIO, nothing reaches
 * the caller, the event is counted, and the next call reconnects. */
static void expect_read_fault(enum fake_fault f, int want, bool bad_sig)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    c.max_frame = 1 << 20;
    struct smb1_conn *conn = connect_ok(&c);
    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, "share", &t), 0);
    cr_assert_eq(do_read(conn, t, 0, 512, 0), 512);
    fake_inject(fs, f, 0);
    int r = do_read(conn, t, 0, 512, 0);
    cr_assert_eq(r, want, "fault %d: got %d, want %d", f, r, want);
    struct smb1_stats st;
    smb1_conn_get_stats(conn, &st);
    cr_assert_eq(st.bad_signatures, bad_sig ? 1 : 0);
    /* Recovers: reconnect, tree reconnect, a correct read. */
    cr_assert_eq(do_read(conn, t, 7, 1000, CONN_IDEMPOTENT), 1000);
    smb1_conn_get_stats(conn, &st);
    cr_assert_eq(st.reconnects, 1);
    smb1_tree_free(t);
    smb1_conn_free(conn);
    struct fake_stats fst;
    fake_get_stats(fs, &fst);
    cr_assert_eq(fst.connections, 2);
    cr_assert_eq(fst.tree_connects, 2);
    cr_assert_eq(fst.bad_request_signatures, 0);
}

Test(conn_fake, flipped_byte, .init = init_signed, .fini = fini)
{
    expect_read_fault(FAKE_FLIP_BYTE, -EIO, true);
}

Test(conn_fake, bad_signature, .init = init_signed, .fini = fini)
{
    expect_read_fault(FAKE_BAD_SIGNATURE, -EIO, true);
}

Test(conn_fake, missing_signature, .init = init_signed, .fini = fini)
{
    expect_read_fault(FAKE_NO_SIGNATURE, -EIO, true);
}

Test(conn_fake, truncated_frame, .init = init_signed, .fini = fini)
{
    expect_read_fault(FAKE_TRUNCATED, -EIO, false);
}

Test(conn_fake, oversized_length, .init = init_signed, .fini = fini)
{
    expect_read_fault(FAKE_OVERSIZED, -EIO, false);
}

Test(conn_fake, disconnect_mid_reply, .init = init_signed, .fini = fini)
{
    expect_read_fault(FAKE_DISCONNECT_MID, -ECONNRESET, false);
}

Test(conn_fake, disconnect_mid_reply_idempotent_retried, .init = init_signed, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    struct smb1_conn *conn = connect_ok(&c);
    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, "share", &t), 0);
    fake_inject(fs, FAKE_DISCONNECT_MID, 0);
    cr_assert_eq(do_read(conn, t, 3, 800, CONN_IDEMPOTENT), 800);
    struct smb1_stats st;
    smb1_conn_get_stats(conn, &st);
    cr_assert_eq(st.reconnects, 1);
    smb1_tree_free(t);
    smb1_conn_free(conn);
}

/* A request naming a FID of an older connection (want_epoch) is never sent
 * on the newer one, where the same FID may name another file. */
Test(conn_fake, stale_epoch_request_never_sent, .init = init_signed, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    struct smb1_conn *conn = connect_ok(&c);
    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, "share", &t), 0);
    uint64_t first = 0;
    cr_assert_eq(conn_ensure(conn, t, &first), 0);
    fake_inject(fs, FAKE_DISCONNECT_MID, 0);
    cr_assert_eq(do_read(conn, t, 3, 800, CONN_IDEMPOTENT), 800); /* reconnects */
    uint64_t now = 0;
    cr_assert_eq(conn_ensure(conn, t, &now), 0);
    cr_assert_neq(now, first);

    struct fake_stats before, after;
    fake_get_stats(fs, &before);
    struct msg_out m;
    struct msg_in in;
    cr_assert_eq(fake_read_request(&m, 0, 100), 0);
    m.want_epoch = first;
    cr_assert_eq(conn_call(conn, t, &m, &in, CONN_NO_RECONNECT), -ECONNRESET);
    fake_get_stats(fs, &after);
    cr_assert_eq(after.requests, before.requests, "a stale-epoch request reached the server");

    cr_assert_eq(fake_read_request(&m, 0, 100), 0);
    m.want_epoch = now;
    cr_assert_eq(conn_call(conn, t, &m, &in, CONN_NO_RECONNECT), 0);
    cr_assert_eq(fake_read_check(&in, 0), 100);
    msg_in_free(&in);
    smb1_tree_free(t);
    smb1_conn_free(conn);
}

Test(conn_fake, unknown_mid_dropped, .init = init_signed, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    struct smb1_conn *conn = connect_ok(&c);
    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, "share", &t), 0);
    fake_inject(fs, FAKE_UNKNOWN_MID, 0);
    cr_assert_eq(do_read(conn, t, 0, 300, 0), 300);
    struct smb1_stats st;
    smb1_conn_get_stats(conn, &st);
    cr_assert_eq(st.unknown_mids, 1);
    cr_assert_eq(st.reconnects, 0);
    smb1_tree_free(t);
    smb1_conn_free(conn);
}

Test(conn_fake, unknown_mid_unsigned_never_delivered, .init = init_unsigned, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_AUTO);
    struct smb1_conn *conn = connect_ok(&c);
    fake_inject(fs, FAKE_UNKNOWN_MID, 0);
    cr_assert_eq(smb1_echo(conn), 0);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(smb1_echo(conn), 0);
    struct smb1_stats st;
    smb1_conn_get_stats(conn, &st);
    cr_assert_eq(st.unknown_mids, 1);
    smb1_conn_free(conn);
}

/* A reply that comes later than the bound: the fake sleeps before it, so
 * it answers nothing meanwhile, and the liveness probe (an ECHO after a
 * quarter of the bound) finds it gone. The call fails within its bound;
 * the late reply never passes for another request's, and the connection
 * recovers. The reply is 1 s past the bound: a reply that is already
 * there when a thread of a loaded machine wakes late is taken, and 250 ms
 * of margin made this fail under load (the call gave 0 after 0.75 s).
 * (Late replies on a server that stays there: test_mux.) soft: the
 * probe may drop the connection (250 + 250 ms) just before the call's own
 * 500 ms are up, and under hard the resend after the reconnect would then
 * wait for the sleeping fake (0 after 1.5 s, 1 run in 5 under load); the
 * next call comes once the fake is awake again. */
Test(conn_fake, late_reply_times_out, .init = init_signed, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    c.request_timeout_ms = 500;
    c.soft = true;
    struct smb1_conn *conn = connect_ok(&c);
    /* The service thread ticks every 125 ms from its start at the end of
     * the connect. A call sent within a millisecond of that start is
     * probed at the second tick, and the probe's bound then ends with the
     * call's own: whichever thread wakes first decides (the probe's
     * verdict makes the call retry on a new connection, which answers:
     * 0). From 30 ms after the start the probe goes at the third tick and
     * its bound ends ~95 ms after the call's. */
    struct timespec phase = {0, 30 * 1000000L};
    nanosleep(&phase, NULL);
    fake_inject(fs, FAKE_LATE, 1500);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = smb1_echo(conn);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_assert_eq(rc, -ETIMEDOUT, "the late call gave %d after %.2f s", rc, s);
    cr_assert(s < 2.0, "the call took %.2f s for a bound of 0.5 s", s);
    struct timespec awake = {1, 200 * 1000000L};
    nanosleep(&awake, NULL);
    cr_assert_eq(smb1_echo(conn), 0);
    struct smb1_stats st;
    smb1_conn_get_stats(conn, &st);
    cr_assert_eq(st.bad_signatures, 0);
    cr_assert_leq(st.reconnects, 1);
    smb1_conn_free(conn);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A server that answers ECHO but not one request (alive but hung): the
 * request fails at its bound, and a call that starts right after fails at
 * once (the stall verdict, session/conn_stall.c) instead of waiting a
 * bound of its own; ECHO still goes through, and once the verdict has run
 * out calls are sent again. */
Test(conn_fake, stall_verdict, .init = init_signed, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    c.request_timeout_ms = 1000;
    struct smb1_conn *conn = connect_ok(&c);
    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, "share", &t), 0);
    cr_assert_eq(do_read(conn, t, 0, 100, CONN_IDEMPOTENT), 100);
    fake_inject(fs, FAKE_DROP, 0);
    double t0 = mono_s();
    cr_assert_eq(do_read(conn, t, 0, 100, CONN_IDEMPOTENT), -ETIMEDOUT);
    double t1 = mono_s();
    cr_assert(t1 - t0 > 0.9 && t1 - t0 < 2.0, "the dropped request took %.2f s", t1 - t0);
    cr_assert_eq(do_read(conn, t, 0, 100, CONN_IDEMPOTENT), -ETIMEDOUT);
    double t2 = mono_s();
    cr_assert(t2 - t1 < 0.2, "the call behind it waited %.2f s", t2 - t1);
    cr_assert_eq(smb1_echo(conn), 0);
    struct timespec pause = {1, 100 * 1000000L}; /* the verdict holds 1 s */
    nanosleep(&pause, NULL);
    cr_assert_eq(do_read(conn, t, 0, 100, CONN_IDEMPOTENT), 100);
    /* The answer lifted the verdict: the next call goes out too. */
    cr_assert_eq(do_read(conn, t, 100, 100, CONN_IDEMPOTENT), 100);
    smb1_tree_free(t);
    smb1_conn_free(conn);
}

struct reasm {
    uint8_t data[FAKE_TRANS2_DATA];
    size_t got;
    int frames;
};

static int on_frame(void *arg, const struct msg_in *in)
{
    struct reasm *ra = arg;
    if (in->status)
        return 0;
    struct wire_reader w, smb, d;
    msg_in_words(in, &w);
    uint16_t tp = wire_u16(&w);
    uint16_t td = wire_u16(&w);
    wire_skip(&w, 2);
    wire_skip(&w, 6);
    uint16_t dc = wire_u16(&w);
    uint16_t doff = wire_u16(&w);
    uint16_t ddisp = wire_u16(&w);
    msg_in_smb(in, &smb);
    wire_sub(&smb, doff, dc, &d);
    if (!wire_ok(&w) || !wire_ok(&d) || tp != 2 || td != FAKE_TRANS2_DATA ||
        ddisp > FAKE_TRANS2_DATA - dc)
        return -EIO;
    wire_copy(&d, ra->data + ddisp, dc);
    ra->got += dc;
    ra->frames++;
    return ra->got < FAKE_TRANS2_DATA ? 1 : 0;
}

static int do_trans2(struct smb1_conn *conn, struct smb1_tree *t, struct reasm *ra)
{
    struct msg_out m;
    cr_assert_eq(msg_out_init(&m, SMB1_COM_TRANSACTION2, 128), 0);
    msg_words_begin(&m);
    wire_put_zeros(&m.w, 28);
    wire_put_u8(&m.w, 1);
    wire_put_u8(&m.w, 0);
    wire_put_u16(&m.w, SMB1_TRANS2_QUERY_FS_INFO);
    msg_words_end(&m);
    msg_bytes_begin(&m);
    msg_bytes_end(&m);
    memset(ra, 0, sizeof(*ra));
    uint32_t status = 1;
    int r = conn_call_multi(conn, t, &m, on_frame, ra, &status, 0);
    if (r == 0)
        cr_assert_eq(status, 0);
    return r;
}

Test(conn_fake, trans2_multi_fragment, .init = init_signed, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    struct smb1_conn *conn = connect_ok(&c);
    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, "share", &t), 0);
    struct reasm ra;
    cr_assert_eq(do_trans2(conn, t, &ra), 0);
    cr_assert_eq(ra.frames, 3);
    for (size_t i = 0; i < FAKE_TRANS2_DATA; i++)
        cr_assert_eq(ra.data[i], fake_pattern(i));
    /* A corrupted last fragment fails the whole reply. */
    fake_inject(fs, FAKE_FLIP_BYTE, 0);
    cr_assert_eq(do_trans2(conn, t, &ra), -EIO);
    struct smb1_stats st;
    smb1_conn_get_stats(conn, &st);
    cr_assert_eq(st.bad_signatures, 1);
    cr_assert_eq(do_trans2(conn, t, &ra), 0);
    cr_assert_eq(ra.got, FAKE_TRANS2_DATA);
    smb1_tree_free(t);
    smb1_conn_free(conn);
}

/* The server closed the tree and the files in it: the connection is set up
 * again (a new epoch), so handles of the old one are reopened, never sent
 * on the new tree where they are gone or name other files. */
Test(conn_fake, network_name_deleted_reconnects_so_files_reopen, .init = init_signed, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    struct smb1_conn *conn = connect_ok(&c);
    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, "share", &t), 0);
    fake_inject(fs, FAKE_NETNAME_DELETED, 0);
    cr_assert_eq(do_read(conn, t, 5, 100, 0), 100);
    struct fake_stats fst;
    fake_get_stats(fs, &fst);
    cr_assert_eq(fst.tree_connects, 2);
    cr_assert_eq(fst.connections, 2);
    uint64_t epoch = 0;
    cr_assert_eq(conn_ensure(conn, t, &epoch), 0);
    cr_assert_eq(epoch, 2);
    /* A FID request of the first connection now fails for a reopen. */
    fake_inject(fs, FAKE_NETNAME_DELETED, 0);
    struct msg_out m;
    struct msg_in in;
    cr_assert_eq(fake_read_request(&m, 0, 64), 0);
    m.want_epoch = 2;
    cr_assert_eq(conn_call(conn, t, &m, &in, CONN_NO_RECONNECT), -ECONNRESET);
    smb1_tree_free(t);
    smb1_conn_free(conn);
}

struct brk_seen {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int n;
    uint64_t epoch;
    uint16_t tid, fid;
    uint8_t level;
};

static void on_break(void *arg, uint64_t epoch, uint16_t tid, uint16_t fid, uint8_t level)
{
    struct brk_seen *b = arg;
    pthread_mutex_lock(&b->lock);
    b->n++;
    b->epoch = epoch;
    b->tid = tid;
    b->fid = fid;
    b->level = level;
    pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

Test(conn_fake, oplock_break_to_handler, .init = init_signed, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    struct smb1_conn *conn = connect_ok(&c);
    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, "share", &t), 0);
    struct brk_seen b = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    conn_set_break_handler(conn, on_break, &b);
    fake_set_break(fs, 0x4242, 1);
    fake_inject(fs, FAKE_OPLOCK_BREAK, 0);
    cr_assert_eq(do_read(conn, t, 0, 64, 0), 64);
    pthread_mutex_lock(&b.lock);
    while (b.n == 0)
        pthread_cond_wait(&b.cond, &b.lock);
    pthread_mutex_unlock(&b.lock);
    cr_assert_eq(b.fid, 0x4242);
    cr_assert_eq(b.level, 1);
    cr_assert_eq(b.tid, 7);
    cr_assert_eq(b.epoch, 1);
    conn_set_break_handler(conn, NULL, NULL);

    /* The connection is replaced before the acknowledgement goes out: it
     * names the old TID and FID, so it is not sent on the new one. */
    fake_inject(fs, FAKE_DISCONNECT_MID, 0);
    cr_assert_lt(do_read(conn, t, 0, 64, CONN_NO_RECONNECT), 0);
    cr_assert_eq(do_read(conn, t, 0, 64, 0), 64); /* epoch 2 */
    struct msg_out m;
    cr_assert_eq(msg_out_init(&m, SMB1_COM_LOCKING_ANDX, 64), 0);
    msg_words_begin(&m);
    wire_put_u8(&m.w, SMB1_COM_NONE);
    wire_put_u8(&m.w, 0);
    wire_put_u16(&m.w, 0);
    wire_put_u16(&m.w, b.fid);
    wire_put_u8(&m.w, SMB1_LOCK_OPLOCK_RELEASE);
    wire_put_u8(&m.w, 0);
    wire_put_u32(&m.w, 0);
    wire_put_u16(&m.w, 0);
    wire_put_u16(&m.w, 0);
    msg_words_end(&m);
    msg_bytes_begin(&m);
    msg_bytes_end(&m);
    m.want_epoch = b.epoch;
    cr_assert_eq(conn_send_noreply(conn, t, &m), -ECONNRESET);
    cr_assert_eq(smb1_echo(conn), 0);
    struct fake_stats fst;
    fake_get_stats(fs, &fst);
    cr_assert_eq(fst.oplock_acks, 0);
    smb1_tree_free(t);
    smb1_conn_free(conn);
}

/* We never ask for an oplock, so a break nobody handles is forged (breaks
 * are never signed): it is dropped, and the signing counters stay in step. */
Test(conn_fake, oplock_break_without_handler_is_dropped, .init = init_signed, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    struct smb1_conn *conn = connect_ok(&c);
    for (int i = 0; i < 3; i++) {
        fake_set_break(fs, (uint16_t)(0x77 + i), 0);
        fake_inject(fs, FAKE_OPLOCK_BREAK, 0);
        cr_assert_eq(smb1_echo(conn), 0);
    }
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL); /* the service thread has long seen the breaks */
    cr_assert_eq(smb1_echo(conn), 0);
    struct fake_stats fst;
    fake_get_stats(fs, &fst);
    cr_assert_eq(fst.oplock_acks, 0);
    cr_assert_eq(fst.bad_request_signatures, 0);
    cr_assert_eq(fst.connections, 1);
    struct smb1_stats st;
    smb1_conn_get_stats(conn, &st);
    cr_assert_eq(st.bad_signatures, 0);
    cr_assert_eq(st.reconnects, 0);
    smb1_conn_free(conn);
}

/* An oplock-release acknowledgement has no reply, yet smbd counts it like
 * any request: the signing counter moves by 2 (only NT_CANCEL moves it by
 * 1). A client that moves it by 1 fails its next request. */
Test(conn_fake, oplock_ack_moves_the_counter_by_two, .init = init_signed, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    struct smb1_conn *conn = connect_ok(&c);
    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, "share", &t), 0);
    struct msg_out m;
    cr_assert_eq(msg_out_init(&m, SMB1_COM_LOCKING_ANDX, 64), 0);
    msg_words_begin(&m);
    wire_put_u8(&m.w, SMB1_COM_NONE);
    wire_put_u8(&m.w, 0);
    wire_put_u16(&m.w, 0);
    wire_put_u16(&m.w, 0x77);
    wire_put_u8(&m.w, SMB1_LOCK_OPLOCK_RELEASE);
    wire_put_u8(&m.w, 0);
    wire_put_u32(&m.w, 0);
    wire_put_u16(&m.w, 0);
    wire_put_u16(&m.w, 0);
    msg_words_end(&m);
    msg_bytes_begin(&m);
    msg_bytes_end(&m);
    cr_assert_eq(conn_send_noreply(conn, t, &m), 0);
    struct fake_stats fst;
    for (int i = 0; i < 200; i++) {
        fake_get_stats(fs, &fst);
        if (fst.oplock_acks)
            break;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    cr_assert_eq(fst.oplock_acks, 1);
    cr_assert_eq(smb1_echo(conn), 0);
    cr_assert_eq(do_read(conn, t, 0, 64, 0), 64);
    fake_get_stats(fs, &fst);
    cr_assert_eq(fst.bad_request_signatures, 0);
    struct smb1_stats st;
    smb1_conn_get_stats(conn, &st);
    cr_assert_eq(st.bad_signatures, 0);
    smb1_tree_free(t);
    smb1_conn_free(conn);
}

Test(conn_fake, session_deleted_logs_on_again, .init = init_signed, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    struct smb1_conn *conn = connect_ok(&c);
    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, "share", &t), 0);
    fake_inject(fs, FAKE_SESSION_DELETED, 0);
    /* Not idempotent, yet resent: the server did not run it. */
    cr_assert_eq(do_read(conn, t, 9, 200, 0), 200);
    struct fake_stats fst;
    fake_get_stats(fs, &fst);
    cr_assert_eq(fst.logons, 2);
    cr_assert_eq(fst.connections, 2);
    cr_assert_eq(fst.tree_connects, 2);
    struct smb1_stats st;
    smb1_conn_get_stats(conn, &st);
    cr_assert_eq(st.reconnects, 1);
    smb1_tree_free(t);
    smb1_conn_free(conn);
}

Test(conn_fake, idle_keepalive_echo, .init = init_signed, .fini = fini, .timeout = 30)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    c.echo_interval_s = 1;
    struct smb1_conn *conn = connect_ok(&c);
    struct fake_stats before, after;
    fake_get_stats(fs, &before);
    /* Polled: done at the first keep-alive, failed after 3 s without. */
    struct timespec ts = {0, 50 * 1000000L};
    for (int i = 0; i < 60; i++) {
        nanosleep(&ts, NULL);
        fake_get_stats(fs, &after);
        if (after.requests - before.requests >= 1)
            break;
    }
    cr_assert_geq(after.requests - before.requests, 1, "no keep-alive in 3 s");
    cr_assert_eq(after.bad_request_signatures, 0);
    smb1_conn_free(conn);
}

/* The server goes away for good: soft keeps trying to reconnect for half
 * a request timeout and then fails; hard keeps trying until the connection
 * is aborted (as at unmount) or the caller is interrupted. Neither hangs. */
struct abort_later {
    struct smb1_conn *conn;
    int ms;
};

static void *abort_after(void *arg)
{
    struct abort_later *al = arg;
    struct timespec ts = {al->ms / 1000, (long)(al->ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    smb1_conn_abort(al->conn);
    return NULL;
}

static double echo_after_server_gone(bool soft, int want)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    c.request_timeout_ms = 1200;
    c.soft = soft;
    struct smb1_conn *conn = connect_ok(&c);
    fake_stop(fs);
    fs = NULL;
    struct abort_later al = {conn, 2500};
    pthread_t th;
    if (!soft)
        cr_assert_eq(pthread_create(&th, NULL, abort_after, &al), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(smb1_echo(conn), want);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!soft)
        pthread_join(th, NULL);
    smb1_conn_free(conn);
    return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

Test(conn_fake, server_gone_soft, .init = init_signed, .fini = fini, .timeout = 30)
{
    /* Away for half the bound with every reconnect refused: not a restart. */
    double s = echo_after_server_gone(true, -ETIMEDOUT);
    cr_assert(s > 0.4 && s < 2.5, "soft mode gave up after %.2f s", s);
}

Test(conn_fake, server_gone_hard, .init = init_signed, .fini = fini, .timeout = 30)
{
    double s = echo_after_server_gone(false, -ENOTCONN);
    cr_assert(s > 2.4 && s < 4.0, "hard mode ended after %.2f s", s);
}

Test(conn_fake, failed_keepalive_marks_broken, .init = init_signed, .fini = fini, .timeout = 30)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    c.echo_interval_s = 1;
    c.request_timeout_ms = 400;
    struct smb1_conn *conn = connect_ok(&c);
    /* The next request is the idle ECHO; its reply comes too late. */
    fake_inject(fs, FAKE_LATE, 1500);
    struct timespec ts = {3, 500 * 1000000L};
    nanosleep(&ts, NULL);
    struct smb1_stats st;
    smb1_conn_get_stats(conn, &st);
    cr_assert_geq(st.timeouts, 1);
    cr_assert_eq(smb1_echo(conn), 0);
    smb1_conn_get_stats(conn, &st);
    cr_assert_eq(st.reconnects, 1);
    smb1_conn_free(conn);
}

Test(conn_fake, server_requires_signing_despite_sign_off, .init = init_signed, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_OFF);
    struct smb1_conn *conn = connect_ok(&c);
    struct smb1_conn_info info;
    smb1_conn_get_info(conn, &info);
    cr_assert(info.signing_active);
    cr_assert_eq(smb1_echo(conn), 0);
    smb1_conn_free(conn);
}

static void init_enabled(void)
{
    start_fake(true, false);
}

Test(conn_fake, sign_off_with_server_offering, .init = init_enabled, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_OFF);
    struct smb1_conn *conn = connect_ok(&c);
    struct smb1_conn_info info;
    smb1_conn_get_info(conn, &info);
    cr_assert(!info.signing_active);
    cr_assert_eq(smb1_echo(conn), 0);
    smb1_conn_free(conn);
    c.sign = SMB1_SIGN_AUTO;
    conn = connect_ok(&c);
    smb1_conn_get_info(conn, &info);
    cr_assert(info.signing_active);
    smb1_conn_free(conn);
}

static void init_plaintext(void)
{
    setup_log();
    struct fake_opts o = {.user = "alice", .password = "s3cret pass", .plaintext = true};
    fs = fake_start(&o, &port);
    cr_assert_not_null(fs);
}

Test(conn_fake, plaintext_server_refused, .init = init_plaintext, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_AUTO);
    struct smb1_conn *conn = NULL;
    char why[256] = "";
    cr_assert_eq(smb1_conn_new(&c, &conn, why, sizeof(why)), -EPROTONOSUPPORT);
    cr_assert(strstr(why, "plaintext") != NULL, "why: %s", why);
}

Test(conn_fake, ntlmssp_refused_by_old_form_server, .init = init_signed, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_AUTO);
    c.sec = SMB1_SEC_NTLMSSP;
    struct smb1_conn *conn = NULL;
    char why[256] = "";
    cr_assert_eq(smb1_conn_new(&c, &conn, why, sizeof(why)), -EPROTONOSUPPORT);
    cr_assert(strstr(why, "extended security") != NULL, "why: %s", why);
}

/* Freeing the connection while the service thread waits for a keep-alive
 * reply that is slow to come does not wait for that reply. */
Test(conn_fake, free_during_pending_keepalive, .init = init_signed, .fini = fini, .timeout = 30)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    c.echo_interval_s = 1;
    c.request_timeout_ms = 10000;
    struct smb1_conn *conn = connect_ok(&c);
    fake_inject(fs, FAKE_LATE, 4000);
    struct timespec ts = {2, 0}, t0, t1;
    nanosleep(&ts, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    smb1_conn_free(conn);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_assert(s < 2.5, "smb1_conn_free took %.2f s", s);
}

/* The server closes the connection at each step in turn (NEGOTIATE, each
 * SESSION_SETUP, TREE_CONNECT, the first requests): every step ends in a
 * clean error or a transparent recovery, never a crash, leak or hang. */
Test(conn_fake, drop_at_every_step, .timeout = 120)
{
    for (unsigned n = 1; n <= 7; n++) {
        setup_log();
        struct fake_opts o = {.user = "alice",
                              .domain = "WORKGROUP",
                              .password = "s3cret pass",
                              .sign_enabled = true,
                              .sign_required = true,
                              .drop_at = n};
        fs = fake_start(&o, &port);
        cr_assert_not_null(fs);
        struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
        struct smb1_conn *conn = NULL;
        char why[256] = "";
        int r = smb1_conn_new(&c, &conn, why, sizeof(why));
        if (r == 0) {
            struct smb1_tree *t = NULL;
            r = smb1_tree_connect(conn, "share", &t);
            cr_assert(r == 0 || r == -ECONNRESET, "step %u: tree connect %d", n, r);
            if (r)
                cr_assert_eq(smb1_tree_connect(conn, "share", &t), 0, "step %u", n);
            for (int i = 0; i < 3; i++)
                cr_assert_eq(do_read(conn, t, (uint32_t)i, 100, CONN_IDEMPOTENT), 100, "step %u",
                             n);
            cr_assert_eq(smb1_echo(conn), 0, "step %u", n);
            smb1_tree_free(t);
            smb1_conn_free(conn);
        } else {
            cr_assert(r == -ECONNRESET || r == -EIO, "step %u: connect %d (%s)", n, r, why);
            cr_assert(n <= 2, "step %u: connect failed", n);
        }
        fini();
    }
}

/* A reply says which connection answered it (a FID or search ID in it
 * belongs to that one), and a request pinned to an older connection is
 * refused before anything is sent: after a reconnect the same number may
 * name another file or search. */
Test(conn_fake, handles_stay_on_their_connection, .init = init_signed, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    struct smb1_conn *conn = connect_ok(&c);
    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, "share", &t), 0);
    struct msg_out m;
    struct msg_in in;
    cr_assert_eq(fake_read_request(&m, 0, 64), 0);
    cr_assert_eq(conn_call(conn, t, &m, &in, 0), 0);
    cr_assert_eq(in.epoch, 1);
    msg_in_free(&in);

    fake_inject(fs, FAKE_DISCONNECT_MID, 0);
    cr_assert_lt(do_read(conn, t, 0, 64, CONN_NO_RECONNECT), 0);
    cr_assert_eq(smb1_echo(conn), 0);             /* reconnects: epoch 2 */
    cr_assert_eq(do_read(conn, t, 0, 64, 0), 64); /* and the tree */
    struct fake_stats before, after;
    fake_get_stats(fs, &before);
    cr_assert_eq(fake_read_request(&m, 0, 64), 0);
    m.want_epoch = 1;
    cr_assert_eq(conn_call(conn, t, &m, &in, CONN_NO_RECONNECT), -ECONNRESET);
    fake_get_stats(fs, &after);
    cr_assert_eq(after.requests, before.requests, "a handle of epoch 1 went out on epoch 2");

    cr_assert_eq(fake_read_request(&m, 0, 64), 0);
    m.want_epoch = 2;
    cr_assert_eq(conn_call(conn, t, &m, &in, CONN_NO_RECONNECT), 0);
    cr_assert_eq(in.epoch, 2);
    msg_in_free(&in);
    smb1_tree_free(t);
    smb1_conn_free(conn);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One deadline per operation (session/deadline.h): under `soft`, every
 * call made inside a CONN_OP scope waits only until the scope's deadline,
 * not a fresh bound each; a call made once it is up is not sent (a
 * clean-up is, and is not waited for); a nested scope keeps the outer
 * deadline; outside a scope, and under `hard`, each call has its own
 * bound as before. */
Test(conn_fake, operation_deadline, .init = init_signed, .fini = fini, .timeout = 30)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    c.request_timeout_ms = 1000;
    c.soft = true;
    struct smb1_conn *conn = connect_ok(&c);
    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, "share", &t), 0);
    struct smb1_stats st0, st1;
    {
        CONN_OP(conn);
        cr_assert_eq(do_read(conn, t, 0, 100, CONN_IDEMPOTENT), 100);
        sleep_ms(700);
        /* 300 ms left: a reply 600 ms away is not waited for. */
        fake_inject(fs, FAKE_LATE, 600);
        double t0 = mono_s();
        int r = do_read(conn, t, 0, 100, 0);
        double s = mono_s() - t0;
        cr_assert_eq(r, -ETIMEDOUT, "the late call of the operation gave %d after %.2f s", r, s);
        cr_assert(s < 0.45, "the call waited %.2f s with 0.3 s of its operation left", s);
    }
    /* The late reply comes and goes (the probe may have taken the fake,
     * asleep, for gone: the call below connects again if need be). */
    sleep_ms(400);
    cr_assert_eq(do_read(conn, t, 0, 100, CONN_IDEMPOTENT), 100);
    {
        CONN_OP(conn);
        sleep_ms(1050);
        cr_assert_eq(conn_op_wait_ms(conn, 5000), 0);
        smb1_conn_get_stats(conn, &st0);
        double t1 = mono_s();
        cr_assert_eq(do_read(conn, t, 0, 100, CONN_IDEMPOTENT), -ETIMEDOUT);
        cr_assert(mono_s() - t1 < 0.1, "a call after the deadline waited");
        smb1_conn_get_stats(conn, &st1);
        cr_assert_eq(st1.requests, st0.requests, "a call after the deadline was sent");
        /* A clean-up still goes out. */
        (void)do_read(conn, t, 0, 100, CONN_CLEANUP);
        smb1_conn_get_stats(conn, &st1);
        cr_assert_eq(st1.requests, st0.requests + 1, "the clean-up was not sent");
    }
    /* Outside the scope: a bound of its own. */
    cr_assert_eq(do_read(conn, t, 0, 100, CONN_IDEMPOTENT), 100);
    {
        CONN_OP(conn);
        sleep_ms(400);
        struct conn_op inner; /* what a public call made inside another opens */
        conn_op_begin(&inner, conn_op_bound(conn));
        int w = conn_op_wait_ms(conn, 5000);
        conn_op_end(&inner);
        cr_assert(w > 0 && w <= 600, "a nested operation got %d ms of a 1000 ms bound", w);
        cr_assert_eq(do_read(conn, t, 0, 100, CONN_IDEMPOTENT), 100);
    }
    cr_assert_eq(conn_op_wait_ms(conn, 5000), 5000);
    smb1_tree_free(t);
    smb1_conn_free(conn);

    /* hard: no operation deadline. */
    c.soft = false;
    conn = connect_ok(&c);
    cr_assert_eq(smb1_tree_connect(conn, "share", &t), 0);
    {
        CONN_OP(conn);
        sleep_ms(1100);
        cr_assert_eq(conn_op_wait_ms(conn, 5000), 5000);
        cr_assert_eq(do_read(conn, t, 0, 100, CONN_IDEMPOTENT), 100);
    }
    smb1_tree_free(t);
    smb1_conn_free(conn);
}

/* A reconnect made inside an operation ends within its deadline too: the
 * hand-shake round trips wait only what is left of it (here 0.3 s of a
 * 2 s bound), not a hand-shake timeout (1 s) of their own. */
Test(conn_fake, reconnect_within_the_operation, .init = init_signed, .fini = fini, .timeout = 30)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    c.request_timeout_ms = 2000;
    c.soft = true;
    struct smb1_conn *conn = connect_ok(&c);
    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, "share", &t), 0);
    {
        CONN_OP(conn);
        fake_inject(fs, FAKE_DISCONNECT_MID, 0);
        cr_assert_eq(do_read(conn, t, 0, 100, 0), -ECONNRESET);
        sleep_ms(1700);
        fake_inject(fs, FAKE_LATE_NEGOTIATE, 1200);
        double t0 = mono_s();
        int r = do_read(conn, t, 0, 100, CONN_IDEMPOTENT);
        double s = mono_s() - t0;
        cr_assert_eq(r, -ETIMEDOUT, "the call gave %d after %.2f s", r, s);
        cr_assert(s < 0.7, "the reconnect took %.2f s with 0.3 s of its operation left", s);
    }
    sleep_ms(1200);
    cr_assert_eq(do_read(conn, t, 0, 100, CONN_IDEMPOTENT), 100);
    smb1_tree_free(t);
    smb1_conn_free(conn);
}

/* A tree's ready hook (the CIFS UNIX setup after a reconnect) runs before
 * any other request on the tree goes out on the new connection: Samba
 * refuses the UNIX info levels before the setup, and a listing started
 * again after a reconnect failed with EIO so (fs_hostile_replies.test.sh
 * findreuse). Requests the hook itself makes go on. */
static struct smb1_conn *hook_conn;
static atomic_int hook_runs;
static atomic_llong hook_done_ms;
static atomic_int hook_own_read;
static atomic_bool hook_armed;

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Once armed (after tree_open), the run after the reconnect takes 300 ms
 * and makes a request of its own (which must not wait for itself). */
static void slow_hook(struct smb1_tree *t)
{
    if (!atomic_load(&hook_armed))
        return;
    atomic_fetch_add(&hook_runs, 1);
    nanosleep(&(struct timespec){0, 300 * 1000000L}, NULL);
    atomic_store(&hook_own_read, do_read(hook_conn, t, 7, 100, CONN_IDEMPOTENT));
    atomic_store(&hook_done_ms, mono_ms());
}

static void *hook_reader(void *arg)
{
    long long *done = malloc(sizeof(*done));
    int r = do_read(hook_conn, arg, 200, 100, CONN_IDEMPOTENT);
    *done = r == 100 ? mono_ms() : -1;
    return done;
}

Test(conn_fake, requests_wait_for_the_ready_hook, .init = init_signed, .fini = fini)
{
    struct smb1_config c = cfg_for("s3cret pass", SMB1_SIGN_REQUIRED);
    c.request_timeout_ms = 3000;
    hook_conn = connect_ok(&c);
    struct smb1_tree *t = NULL;
    cr_assert_eq(tree_open(hook_conn, "share", slow_hook, &t), 0);
    atomic_store(&hook_armed, true);
    /* This read loses its connection; sent again, it connects the tree
     * anew and runs the hook. */
    fake_inject(fs, FAKE_DISCONNECT_MID, 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, hook_reader, t), 0);
    while (atomic_load(&hook_runs) < 1)
        nanosleep(&(struct timespec){0, 1000000L}, NULL);
    /* The hook runs now: a read of another thread waits for it. */
    nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
    cr_assert_eq(do_read(hook_conn, t, 300, 100, CONN_IDEMPOTENT), 100);
    long long mine = mono_ms();
    void *ret;
    pthread_join(th, &ret);
    long long other = *(long long *)ret;
    free(ret);
    cr_assert_eq(atomic_load(&hook_own_read), 100, "the hook's own request went through");
    cr_assert_gt(other, 0);
    long long done = atomic_load(&hook_done_ms);
    cr_assert_geq(mine, done, "a read went out %lld ms before the hook was done", done - mine);
    cr_assert_geq(other, done);
    cr_assert_eq(atomic_load(&hook_runs), 1);
    smb1_tree_free(t);
    smb1_conn_free(hook_conn);
}
