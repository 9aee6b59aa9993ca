/* The connection core against a real smbd (and impacket's smbserver):
 * dialect, every auth form, the signing policies, NetBIOS framing, guest,
 * errors, and a transparent reconnect after a server restart. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "session/conn.h"
#include "core_server.h"
#include "smb1.h"
#include "wire/smb1_proto.h"

static struct smb1_log lg;
static struct core_server srv;

static void init_log(void)
{
    signal(SIGPIPE, SIG_IGN);
    const char *lv = getenv("SMBFUSE_TEST_LOG");
    log_init(&lg, lv ? atoi(lv) : LOG_ERR, NULL, NULL);
}

static void fini(void)
{
    core_server_stop(&srv);
    log_destroy(&lg);
}

static struct smb1_config cfg_for(enum smb1_sec sec, enum smb1_sign_policy sign)
{
    struct smb1_config c = {0};
    c.host = srv.addr;
    c.port = (uint16_t)srv.port;
    c.user = srv.user;
    c.domain = srv.domain;
    c.password = srv.pass;
    c.sec = sec;
    c.sign = sign;
    c.request_timeout_ms = 10000;
    c.unix_ext = -1;
    c.log = &lg;
    return c;
}

static struct smb1_conn *must_connect(struct smb1_config *c)
{
    struct smb1_conn *conn = NULL;
    char why[256] = "";
    int r = smb1_conn_new(c, &conn, why, sizeof(why));
    cr_assert_eq(r, 0, "smb1_conn_new: %d (%s)", r, why);
    return conn;
}

static int try_connect(struct smb1_config *c, char *why, size_t n)
{
    struct smb1_conn *conn = NULL;
    int r = smb1_conn_new(c, &conn, why, n);
    if (r == 0)
        smb1_conn_free(conn);
    return r;
}

static void echo_tree_type(struct smb1_conn *conn, const char *share, enum smb1_tree_type type)
{
    cr_assert_eq(smb1_echo(conn), 0);
    struct smb1_tree *t = NULL;
    int r = smb1_tree_connect(conn, share, &t);
    cr_assert_eq(r, 0, "tree connect %s: %d", share, r);
    cr_assert_eq(smb1_tree_type(t), type);
    uint64_t epoch = 0;
    cr_assert_eq(conn_ensure(conn, t, &epoch), 0);
    cr_assert_eq(epoch, 1);
    smb1_tree_free(t);
}

static void echo_and_tree(struct smb1_conn *conn, const char *share)
{
    echo_tree_type(conn, share, SMB1_TREE_DISK);
}

static void start_signed(void)
{
    init_log();
    core_server_start(&srv, "signed", false);
}

Test(core, signed_ntlmv2_required, .init = start_signed, .fini = fini, .timeout = 120)
{
    struct smb1_config c = cfg_for(SMB1_SEC_NTLMV2, SMB1_SIGN_REQUIRED);
    struct smb1_conn *conn = must_connect(&c);
    struct smb1_conn_info info;
    smb1_conn_get_info(conn, &info);
    cr_assert(info.signing_active);
    cr_assert(!info.guest);
    /* sec=ntlmv2 goes through NTLMSSP when the server offers it. */
    cr_assert(info.extended_security);
    cr_assert(info.security_mode & SMB1_SECMODE_SIGNATURES_REQUIRED);
    cr_assert_str_eq(info.server_domain, "TESTGROUP");
    for (int i = 0; i < 100; i++)
        cr_assert_eq(smb1_echo(conn), 0, "echo %d", i);
    struct smb1_stats st;
    smb1_conn_get_stats(conn, &st);
    cr_assert_eq(st.bad_signatures, 0);
    cr_assert_geq(st.requests, 100);
    echo_and_tree(conn, srv.share);

    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, "IPC$", &t), 0);
    cr_assert_eq(smb1_tree_type(t), SMB1_TREE_IPC);
    smb1_tree_free(t);
    cr_assert_eq(smb1_tree_connect(conn, srv.printer, &t), 0);
    cr_assert_eq(smb1_tree_type(t), SMB1_TREE_PRINTER);
    smb1_tree_free(t);
    cr_assert_eq(smb1_tree_connect(conn, "no-such-share", &t), -ENOENT);
    cr_assert_null(t);

    /* CIFS UNIX extensions were set up on the first disk tree. */
    smb1_conn_get_info(conn, &info);
    cr_assert(info.capabilities & SMB1_CAP_UNIX);
    cr_assert_neq(info.unix_caps, 0);
    smb1_conn_get_stats(conn, &st);
    cr_assert_eq(st.bad_signatures, 0);
    smb1_conn_free(conn);
}

Test(core, signed_ntlmssp, .init = start_signed, .fini = fini, .timeout = 120)
{
    struct smb1_config c = cfg_for(SMB1_SEC_NTLMSSP, SMB1_SIGN_REQUIRED);
    struct smb1_conn *conn = must_connect(&c);
    struct smb1_conn_info info;
    smb1_conn_get_info(conn, &info);
    cr_assert(info.signing_active);
    cr_assert(info.extended_security);
    for (int i = 0; i < 20; i++)
        cr_assert_eq(smb1_echo(conn), 0);
    echo_and_tree(conn, srv.share);
    smb1_conn_free(conn);
}

Test(core, wrong_password, .init = start_signed, .fini = fini, .timeout = 60)
{
    char why[256] = "";
    struct smb1_config c = cfg_for(SMB1_SEC_NTLMV2, SMB1_SIGN_AUTO);
    c.password = "not-the-password";
    cr_assert_eq(try_connect(&c, why, sizeof(why)), -EACCES);
    cr_assert(strstr(why, "logon failure"), "why: %s", why);
    c.sec = SMB1_SEC_NTLMSSP;
    cr_assert_eq(try_connect(&c, why, sizeof(why)), -EACCES);
}

Test(core, ntlmv1_refused_by_ntlmv2_only_server, .init = start_signed, .fini = fini, .timeout = 60)
{
    char why[256] = "";
    struct smb1_config c = cfg_for(SMB1_SEC_NTLM, SMB1_SIGN_AUTO);
    cr_assert_eq(try_connect(&c, why, sizeof(why)), -EACCES);
}

Test(core, reconnect_after_server_restart, .init = start_signed, .fini = fini, .timeout = 120)
{
    struct smb1_config c = cfg_for(SMB1_SEC_NTLMV2, SMB1_SIGN_REQUIRED);
    struct smb1_conn *conn = must_connect(&c);
    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, srv.share, &t), 0);
    struct smb1_stat st;
    cr_assert_eq(smb1_stat(t, "", &st), 0);
    cr_assert(st.is_dir);
    core_server_restart(&srv);
    /* The next calls succeed transparently: reconnect, log on, tree again. */
    cr_assert_eq(smb1_stat(t, "", &st), 0);
    cr_assert(st.is_dir);
    cr_assert_eq(smb1_echo(conn), 0);
    uint64_t epoch = 0;
    cr_assert_eq(conn_ensure(conn, t, &epoch), 0);
    cr_assert_eq(epoch, 2);
    struct smb1_stats stats;
    smb1_conn_get_stats(conn, &stats);
    cr_assert_eq(stats.reconnects, 1);
    cr_assert_eq(stats.bad_signatures, 0);
    struct smb1_conn_info info;
    smb1_conn_get_info(conn, &info);
    cr_assert(info.signing_active);
    smb1_tree_free(t);
    smb1_conn_free(conn);
}

static void start_nosign(void)
{
    init_log();
    core_server_start(&srv, "nosign", false);
}

Test(core, signing_disabled_auto, .init = start_nosign, .fini = fini, .timeout = 60)
{
    struct smb1_config c = cfg_for(SMB1_SEC_NTLMV2, SMB1_SIGN_AUTO);
    struct smb1_conn *conn = must_connect(&c);
    struct smb1_conn_info info;
    smb1_conn_get_info(conn, &info);
    cr_assert(!info.signing_active);
    echo_and_tree(conn, srv.share);
    smb1_conn_free(conn);
}

/* Samba 4.17 with server signing = disabled advertises no signing at all,
 * yet signs when the client insists: sign=required must ask regardless of
 * the (unsigned, forgeable) negotiate reply and end up verified. */
Test(core, signing_disabled_required, .init = start_nosign, .fini = fini, .timeout = 60)
{
    struct smb1_config c = cfg_for(SMB1_SEC_NTLMV2, SMB1_SIGN_REQUIRED);
    struct smb1_conn *conn = must_connect(&c);
    struct smb1_conn_info info;
    smb1_conn_get_info(conn, &info);
    cr_assert(!(info.security_mode & 0x0c), "profile should advertise no signing");
    cr_assert(info.signing_active);
    for (int i = 0; i < 20; i++)
        cr_assert_eq(smb1_echo(conn), 0);
    echo_and_tree(conn, srv.share);
    struct smb1_stats st;
    smb1_conn_get_stats(conn, &st);
    cr_assert_eq(st.bad_signatures, 0);
    smb1_conn_free(conn);
}

static void start_legacy(void)
{
    init_log();
    core_server_start(&srv, "legacy", false);
}

Test(core, legacy_ntlm_and_lanman, .init = start_legacy, .fini = fini, .timeout = 60)
{
    enum smb1_sec secs[] = {SMB1_SEC_NTLM, SMB1_SEC_LANMAN, SMB1_SEC_NTLMV2};
    for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
        struct smb1_config c = cfg_for(secs[i], SMB1_SIGN_AUTO);
        struct smb1_conn *conn = must_connect(&c);
        echo_and_tree(conn, srv.share);
        smb1_conn_free(conn);
    }
}

static void start_guest(void)
{
    init_log();
    core_server_start(&srv, "guest", false);
}

Test(core, guest, .init = start_guest, .fini = fini, .timeout = 60)
{
    struct smb1_config c = cfg_for(SMB1_SEC_NTLMV2, SMB1_SIGN_AUTO);
    c.user = "no-such-user";
    c.password = "whatever";
    struct smb1_conn *conn = must_connect(&c);
    struct smb1_conn_info info;
    smb1_conn_get_info(conn, &info);
    cr_assert(info.guest);
    cr_assert(!info.signing_active);
    echo_and_tree(conn, srv.share);
    smb1_conn_free(conn);
    /* A guest session cannot be signed: sign=required refuses it. */
    c.sign = SMB1_SIGN_REQUIRED;
    char why[256] = "";
    cr_assert_eq(try_connect(&c, why, sizeof(why)), -EPERM);
}

static void start_nbt(void)
{
    init_log();
    core_server_start(&srv, "signed", true);
}

Test(core, netbios_port_139, .init = start_nbt, .fini = fini, .timeout = 60)
{
    struct smb1_config c = cfg_for(SMB1_SEC_NTLMV2, SMB1_SIGN_REQUIRED);
    cr_assert_eq(c.port, 139);
    struct smb1_conn *conn = must_connect(&c);
    struct smb1_conn_info info;
    smb1_conn_get_info(conn, &info);
    cr_assert(info.signing_active);
    echo_and_tree(conn, srv.share);
    smb1_conn_free(conn);
}

static void start_impacket(void)
{
    init_log();
    core_server_start(&srv, "impacket", false);
}

Test(core, impacket_unsigned, .init = start_impacket, .fini = fini, .timeout = 60)
{
    struct smb1_config c = cfg_for(SMB1_SEC_NTLMV2, SMB1_SIGN_AUTO);
    struct smb1_conn *conn = must_connect(&c);
    struct smb1_conn_info info;
    smb1_conn_get_info(conn, &info);
    cr_assert(!info.signing_active);
    /* impacket answers with the share name where the service type belongs. */
    echo_tree_type(conn, srv.share, SMB1_TREE_OTHER);
    smb1_conn_free(conn);
    c.sign = SMB1_SIGN_REQUIRED;
    char why[256] = "";
    cr_assert_eq(try_connect(&c, why, sizeof(why)), -EPERM, "why: %s", why);
}

static int count_entry(void *ctx, const char *name, const struct smb1_stat *st)
{
    (void)name;
    (void)st;
    (*(int *)ctx)++;
    return 0;
}

/* A listing of 2000 long names does not fit one TRANS2 reply frame (Samba
 * splits at its max xmit): every secondary fragment must verify against the
 * sequence number of the request, like the first. */
Test(core, signed_multi_fragment_listing, .init = start_signed, .fini = fini, .timeout = 120)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/share/big", srv.dir);
    cr_assert_eq(mkdir(path, 0777), 0);
    for (int i = 0; i < 2000; i++) {
        snprintf(path, sizeof(path), "%s/share/big/a-rather-long-file-name-for-listing-%05d.dat",
                 srv.dir, i);
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        fclose(f);
    }
    struct smb1_config c = cfg_for(SMB1_SEC_NTLMV2, SMB1_SIGN_REQUIRED);
    struct smb1_conn *conn = must_connect(&c);
    struct smb1_tree *t = NULL;
    cr_assert_eq(smb1_tree_connect(conn, srv.share, &t), 0);
    for (int round = 0; round < 3; round++) {
        int n = 0;
        cr_assert_eq(smb1_readdir(t, "big", count_entry, &n), 0);
        cr_assert_eq(n, 2000);
    }
    struct smb1_stats st;
    smb1_conn_get_stats(conn, &st);
    cr_assert_eq(st.bad_signatures, 0);
    cr_assert_eq(st.reconnects, 0);
    smb1_tree_free(t);
    smb1_conn_free(conn);
}
