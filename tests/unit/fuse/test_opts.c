/* Option parsing (fuse/fs_opts.c): every mount.cifs option, its aliases and
 * bad values, the libfuse hand-over, the credentials file and environment,
 * the terminal prompt, and the removal of passwords from argv. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pty.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "fs_opts.h"

#define MAXARGS 32

struct run {
    int argc;
    char *argv[MAXARGS + 1];
    struct sfs_options o;
    struct fuse_args fa;
    char err[512];
    int rc;
};

/* Every test gets a clean environment for the credential sources. */
static void clean_env(void)
{
    unsetenv("PASSWD");
    unsetenv("PASSWD_FD");
    unsetenv("PASSWD_FILE");
    setenv("USER", "envuser", 1);
}

/* Parses a NULL-terminated argument list (argv[0] is added). The strings
 * are heap copies so the parser may scrub them. */
static struct run *parse_v(const char *first, va_list ap)
{
    struct run *r = calloc(1, sizeof(*r));
    const char *a;

    cr_assert_not_null(r);
    r->argv[r->argc++] = strdup("smbfuse");
    for (a = first; a; a = va_arg(ap, const char *)) {
        cr_assert_lt(r->argc, MAXARGS);
        r->argv[r->argc++] = strdup(a);
    }
    r->fa = (struct fuse_args)FUSE_ARGS_INIT(0, NULL);
    r->rc = sfs_opts_parse(r->argc, r->argv, &r->o, &r->fa, r->err, sizeof(r->err));
    return r;
}

static struct run *parse(const char *first, ...)
{
    va_list ap;
    struct run *r;

    va_start(ap, first);
    r = parse_v(first, ap);
    va_end(ap);
    return r;
}

/* Parses //srv/share /mnt -o OPTS with a password given, so nothing
 * prompts. */
static struct run *with_opts(const char *opts)
{
    char buf[1024];

    snprintf(buf, sizeof(buf), "password=pw,%s", opts);
    return parse("//srv/share", "/mnt", "-o", buf, NULL);
}

static void run_free(struct run *r)
{
    if (r->rc == 0)
        sfs_opts_free(&r->o);
    fuse_opt_free_args(&r->fa);
    for (int i = 0; i < r->argc; i++)
        free(r->argv[i]);
    free(r);
}

static void expect_ok(struct run *r)
{
    cr_assert_eq(r->rc, 0, "parse failed: %d %s", r->rc, r->err);
}

static void expect_err(const char *opts, const char *needle)
{
    struct run *r = with_opts(opts);

    cr_assert_eq(r->rc, -EINVAL, "-o %s: rc %d (%s)", opts, r->rc, r->err);
    cr_assert(strstr(r->err, needle), "-o %s: message '%s' lacks '%s'", opts, r->err, needle);
    run_free(r);
}

/* The single "-o" list handed to libfuse. */
static const char *fuse_optlist(const struct run *r)
{
    cr_assert_eq(r->fa.argc, 3, "fuse_args has %d entries", r->fa.argc);
    cr_assert_str_eq(r->fa.argv[0], "smbfuse");
    cr_assert_str_eq(r->fa.argv[1], "-o");
    return r->fa.argv[2];
}

static bool has_fuse_opt(const struct run *r, const char *opt)
{
    const char *l = fuse_optlist(r);
    size_t n = strlen(opt);

    for (const char *p = l; (p = strstr(p, opt)) != NULL; p++)
        if ((p == l || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

/* Bytes of every argv string, including what follows a NUL inside the
 * original allocation, as /proc/PID/cmdline would show them. */
static bool argv_contains(const struct run *r, const char *needle, const size_t *orig_len)
{
    for (int i = 0; i < r->argc; i++)
        if (memmem(r->argv[i], orig_len[i], needle, strlen(needle)))
            return true;
    return false;
}

static char tmpdir[64];

static void make_tmpdir(void)
{
    strcpy(tmpdir, "/tmp/test_opts.XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", tmpdir);
}

static char *write_file(const char *name, const char *text, mode_t mode)
{
    static char path[256];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    cr_assert_eq(fchmod(fd, mode), 0);
    close(fd);
    return path;
}

/* Runs fn with stderr sent to a file; returns what was written. */
static char *capture_stderr(struct run *(*fn)(const char *), const char *arg, struct run **out)
{
    static char buf[4096];
    char path[128];
    int fd, saved;
    ssize_t n;

    snprintf(path, sizeof(path), "%s/stderr", tmpdir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    fflush(stderr);
    saved = dup(2);
    dup2(fd, 2);
    *out = fn(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    n = pread(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static struct run *parse_cred(const char *path)
{
    char opt[300];

    snprintf(opt, sizeof(opt), "credentials=%s", path);
    return parse("//srv/share", "/mnt", "-o", opt, NULL);
}

TestSuite(opts, .init = clean_env);
TestSuite(creds, .init = make_tmpdir, .fini = rm_tmpdir);

/* ---- positional arguments and defaults ---- */

Test(opts, defaults)
{
    struct run *r = parse("//srv/share", "/mnt/x", "-o", "password=pw", NULL);

    expect_ok(r);
    cr_assert_str_eq(r->o.source, "//srv/share");
    cr_assert_str_eq(r->o.host, "srv");
    cr_assert_str_eq(r->o.share, "share");
    cr_assert_str_eq(r->o.prefix, "");
    cr_assert_str_eq(r->o.mountpoint, "/mnt/x");
    cr_assert_str_eq(r->o.username, "envuser");
    cr_assert_str_eq(r->o.domain, "");
    cr_assert_str_eq(sfs_opts_password(&r->o), "pw");
    cr_assert_eq(r->o.port, 0);
    cr_assert_eq(r->o.sec, SMB1_SEC_NTLMV2);
    cr_assert_eq(r->o.sign, SMB1_SIGN_AUTO);
    cr_assert_eq(r->o.uid, getuid());
    cr_assert_eq(r->o.gid, getgid());
    cr_assert_eq(r->o.file_mode, 0755);
    cr_assert_eq(r->o.dir_mode, 0755);
    cr_assert_eq(r->o.actimeo, 1.0);
    cr_assert_eq(r->o.cache, SFS_CACHE_STRICT);
    cr_assert_eq(r->o.unix_ext, -1);
    cr_assert_eq(r->o.echo_interval, 60);
    cr_assert_eq(r->o.timeout, 30);
    cr_assert_eq(r->o.rsize, 0);
    cr_assert_eq(r->o.wsize, 0);
    cr_assert(r->o.soft, "soft is the default, as with mount.cifs");
    cr_assert(!r->o.ro && !r->o.nobrl && r->o.mapposix && r->o.mfsymlinks);
    cr_assert(!r->o.forceuid && !r->o.forcegid);
    cr_assert(!r->o.foreground && !r->o.debug && !r->o.single_thread);
    cr_assert_null(r->o.ip);
    cr_assert_null(r->o.netbiosname);
    cr_assert_null(r->o.servernetbiosname);
    cr_assert_str_eq(fuse_optlist(r), "fsname=//srv/share,subtype=smbfuse");
    run_free(r);
}

Test(opts, options_before_positionals_and_joined_o)
{
    struct run *r = parse("-oport=1445", "-o", "password=pw", "//srv/share", "/mnt", "-f", NULL);

    expect_ok(r);
    cr_assert_eq(r->o.port, 1445);
    cr_assert(r->o.foreground);
    run_free(r);
}

Test(opts, source_forms)
{
    struct run *r = parse("\\\\srv\\share\\sub\\dir\\", "/mnt", "-o", "password=pw", NULL);

    expect_ok(r);
    cr_assert_str_eq(r->o.host, "srv");
    cr_assert_str_eq(r->o.share, "share");
    cr_assert_str_eq(r->o.prefix, "sub/dir");
    cr_assert_str_eq(r->o.source, "//srv/share/sub/dir/");
    run_free(r);

    r = parse("//[::1]/data", "/mnt", "-o", "password=pw", NULL);
    expect_ok(r);
    cr_assert_str_eq(r->o.host, "::1");
    cr_assert_str_eq(r->o.share, "data");
    run_free(r);

    r = parse("//127.0.0.1/share//a", "/mnt", "-o", "password=pw", NULL);
    expect_ok(r);
    cr_assert_str_eq(r->o.host, "127.0.0.1");
    cr_assert_str_eq(r->o.prefix, "a");
    run_free(r);
}

Test(opts, bad_sources)
{
    static const char *bad[] = {"srv/share", "//srv",  "//srv/",    "///share",
                                "//[::1/x",  "//[]/x", "/srv/share"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct run *r = parse(bad[i], "/mnt", "-o", "password=pw", NULL);

        cr_assert_eq(r->rc, -EINVAL, "%s accepted", bad[i]);
        cr_assert(strstr(r->err, bad[i]), "message '%s' does not name '%s'", r->err, bad[i]);
        run_free(r);
    }
}

Test(opts, usage_errors)
{
    struct run *r = parse("//srv/share", "-o", "password=pw", NULL);

    cr_assert_eq(r->rc, -EINVAL);
    cr_assert(strstr(r->err, "usage"), "%s", r->err);
    run_free(r);

    r = parse("//srv/share", "/mnt", "/extra", "-o", "password=pw", NULL);
    cr_assert_eq(r->rc, -EINVAL);
    cr_assert(strstr(r->err, "'/extra'"), "%s", r->err);
    run_free(r);

    r = parse("//srv/share", "/mnt", "-x", NULL);
    cr_assert_eq(r->rc, -EINVAL);
    cr_assert(strstr(r->err, "'-x'"), "%s", r->err);
    run_free(r);

    r = parse("//srv/share", "/mnt", "--frobnicate", NULL);
    cr_assert_eq(r->rc, -EINVAL);
    cr_assert(strstr(r->err, "'--frobnicate'"), "%s", r->err);
    run_free(r);

    r = parse("//srv/share", "/mnt", "-o", NULL);
    cr_assert_eq(r->rc, -EINVAL);
    cr_assert(strstr(r->err, "-o"), "%s", r->err);
    run_free(r);
}

Test(opts, double_dash_ends_flags)
{
    struct run *r = parse("-o", "password=pw", "--", "//srv/share", "-mnt", NULL);

    expect_ok(r);
    cr_assert_str_eq(r->o.mountpoint, "-mnt");
    run_free(r);
}

Test(opts, help_and_version)
{
    const char *flags[] = {"--help", "-h", "--version", "-V"};

    for (int i = 0; i < 4; i++) {
        struct run *r = parse(flags[i], NULL);

        expect_ok(r);
        cr_assert_eq(r->o.show_help, i < 2);
        cr_assert_eq(r->o.show_version, i >= 2);
        run_free(r);
    }
}

Test(opts, flags_f_d_s)
{
    struct run *r = parse("//srv/share", "/mnt", "-o", "password=pw", "-f", NULL);

    expect_ok(r);
    cr_assert(r->o.foreground && !r->o.debug && !r->o.single_thread);
    cr_assert(!has_fuse_opt(r, "debug"));
    run_free(r);

    r = parse("//srv/share", "/mnt", "-o", "password=pw", "-d", NULL);
    expect_ok(r);
    cr_assert(r->o.foreground && r->o.debug);
    cr_assert(has_fuse_opt(r, "debug"));
    run_free(r);

    r = parse("//srv/share", "/mnt", "-o", "password=pw", "-s", NULL);
    expect_ok(r);
    cr_assert(r->o.single_thread && !r->o.foreground);
    run_free(r);

    r = parse("//srv/share", "/mnt", "-o", "password=pw", "-fs", NULL);
    expect_ok(r);
    cr_assert(r->o.single_thread && r->o.foreground && !r->o.debug);
    run_free(r);
}

/* ---- each option ---- */

Test(opts, username_and_aliases)
{
    struct run *r = with_opts("username=alice");

    expect_ok(r);
    cr_assert_str_eq(r->o.username, "alice");
    run_free(r);

    r = with_opts("user=bob");
    expect_ok(r);
    cr_assert_str_eq(r->o.username, "bob");
    run_free(r);

    /* bare "user" is fstab's "users may mount this": not a name */
    r = with_opts("user");
    expect_ok(r);
    cr_assert_str_eq(r->o.username, "envuser");
    run_free(r);

    r = with_opts("username=CORP/carol");
    expect_ok(r);
    cr_assert_str_eq(r->o.username, "carol");
    cr_assert_str_eq(r->o.domain, "CORP");
    run_free(r);

    r = with_opts("username=CORP\\dave,domain=OTHER");
    expect_ok(r);
    cr_assert_str_eq(r->o.username, "dave");
    cr_assert_str_eq(r->o.domain, "OTHER");
    run_free(r);

    r = with_opts("username=first,user=second");
    expect_ok(r);
    cr_assert_str_eq(r->o.username, "second");
    run_free(r);
}

Test(opts, username_with_password)
{
    struct run *r = parse("//srv/share", "/mnt", "-o", "username=erin%s3cr3t", NULL);

    expect_ok(r);
    cr_assert_str_eq(r->o.username, "erin");
    cr_assert_str_eq(sfs_opts_password(&r->o), "s3cr3t");
    run_free(r);
}

Test(opts, password_and_alias)
{
    struct run *r = parse("//srv/share", "/mnt", "-o", "password=one", NULL);

    expect_ok(r);
    cr_assert_str_eq(sfs_opts_password(&r->o), "one");
    run_free(r);

    r = parse("//srv/share", "/mnt", "-o", "pass=two,port=1", NULL);
    expect_ok(r);
    cr_assert_str_eq(sfs_opts_password(&r->o), "two");
    cr_assert_eq(r->o.port, 1);
    run_free(r);

    /* mount.cifs: ",," is a literal comma inside a password */
    r = parse("//srv/share", "/mnt", "-o", "password=a,,b=c,,,port=2", NULL);
    expect_ok(r);
    cr_assert_str_eq(sfs_opts_password(&r->o), "a,b=c,");
    cr_assert_eq(r->o.port, 2);
    run_free(r);

    /* an explicitly empty password is a password: no prompt */
    r = parse("//srv/share", "/mnt", "-o", "password=", NULL);
    expect_ok(r);
    cr_assert_str_eq(sfs_opts_password(&r->o), "");
    run_free(r);

    r = parse("//srv/share", "/mnt", "-o", "password", NULL);
    cr_assert_eq(r->rc, -EINVAL);
    cr_assert(strstr(r->err, "'password'"), "%s", r->err);
    run_free(r);
}

Test(opts, password_too_long)
{
    char opt[SFS_PASSWORD_MAX + 32];
    struct run *r;

    strcpy(opt, "password=");
    memset(opt + 9, 'p', SFS_PASSWORD_MAX);
    opt[9 + SFS_PASSWORD_MAX] = '\0';
    r = parse("//srv/share", "/mnt", "-o", opt, NULL);
    cr_assert_eq(r->rc, -EINVAL);
    cr_assert(strstr(r->err, "too long"), "%s", r->err);
    run_free(r);

    opt[9 + SFS_PASSWORD_MAX - 1] = '\0'; /* exactly the maximum */
    r = parse("//srv/share", "/mnt", "-o", opt, NULL);
    expect_ok(r);
    cr_assert_eq(strlen(sfs_opts_password(&r->o)), SFS_PASSWORD_MAX - 1);
    run_free(r);
}

Test(opts, domain_and_aliases)
{
    const char *forms[] = {"domain=D1", "dom=D1", "workgroup=D1"};

    for (int i = 0; i < 3; i++) {
        struct run *r = with_opts(forms[i]);

        expect_ok(r);
        cr_assert_str_eq(r->o.domain, "D1", "%s", forms[i]);
        run_free(r);
    }
    expect_err("domain", "'domain'");
}

Test(opts, port)
{
    struct run *r = with_opts("port=139");

    expect_ok(r);
    cr_assert_eq(r->o.port, 139);
    run_free(r);
    r = with_opts("port=65535");
    expect_ok(r);
    cr_assert_eq(r->o.port, 65535);
    run_free(r);
    expect_err("port=0", "port=0");
    expect_err("port=65536", "port=65536");
    expect_err("port=abc", "port=abc");
    expect_err("port=-1", "port=-1");
    expect_err("port=12x", "port=12x");
    expect_err("port=", "port=");
    expect_err("port", "'port'");
}

Test(opts, sec_modes)
{
    static const struct {
        const char *opt;
        enum smb1_sec sec;
        enum smb1_sign_policy sign;
    } cases[] = {
        {"sec=ntlmv2", SMB1_SEC_NTLMV2, SMB1_SIGN_AUTO},
        {"sec=ntlmv2i", SMB1_SEC_NTLMV2, SMB1_SIGN_REQUIRED},
        {"sec=ntlmssp", SMB1_SEC_NTLMSSP, SMB1_SIGN_AUTO},
        {"sec=ntlmsspi", SMB1_SEC_NTLMSSP, SMB1_SIGN_REQUIRED},
        {"sec=ntlm", SMB1_SEC_NTLM, SMB1_SIGN_AUTO},
        {"sec=ntlmi", SMB1_SEC_NTLM, SMB1_SIGN_REQUIRED},
        {"sec=lanman", SMB1_SEC_LANMAN, SMB1_SIGN_AUTO},
        {"sec=none", SMB1_SEC_NONE, SMB1_SIGN_AUTO},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run *r = with_opts(cases[i].opt);

        expect_ok(r);
        cr_assert_eq(r->o.sec, cases[i].sec, "%s", cases[i].opt);
        cr_assert_eq(r->o.sign, cases[i].sign, "%s", cases[i].opt);
        run_free(r);
    }
    expect_err("sec=krb5", "Kerberos");
    expect_err("sec=krb5i", "Kerberos");
    expect_err("sec=NTLMv3", "sec=NTLMv3");
    expect_err("sec=", "sec=");
}

Test(opts, sec_none_is_anonymous)
{
    struct run *r = parse("//srv/share", "/mnt", "-o", "username=x,password=y,sec=none", NULL);

    expect_ok(r);
    cr_assert_str_eq(r->o.username, "");
    cr_assert_null(sfs_opts_password(&r->o));
    cr_assert(!r->o.have_password);
    run_free(r);
}

Test(opts, signing_policy)
{
    static const struct {
        const char *opt;
        enum smb1_sign_policy sign;
    } cases[] = {
        {"sign", SMB1_SIGN_REQUIRED},
        {"sign=required", SMB1_SIGN_REQUIRED},
        {"sign=auto", SMB1_SIGN_AUTO},
        {"sign=off", SMB1_SIGN_OFF},
        {"nosign", SMB1_SIGN_OFF},
        {"sign,nosign", SMB1_SIGN_OFF},
        {"nosign,sign=auto", SMB1_SIGN_AUTO},
        {"sec=ntlmv2i,sign=off", SMB1_SIGN_OFF},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run *r = with_opts(cases[i].opt);

        expect_ok(r);
        cr_assert_eq(r->o.sign, cases[i].sign, "%s", cases[i].opt);
        run_free(r);
    }
    expect_err("sign=maybe", "sign=maybe");
    expect_err("nosign=1", "'nosign' takes no value");
}

Test(opts, uid_gid)
{
    struct run *r = with_opts("uid=1234,gid=5678");

    expect_ok(r);
    cr_assert_eq(r->o.uid, 1234);
    cr_assert_eq(r->o.gid, 5678);
    run_free(r);

    r = with_opts("uid=root,gid=root");
    expect_ok(r);
    cr_assert_eq(r->o.uid, 0);
    cr_assert_eq(r->o.gid, 0);
    run_free(r);

    expect_err("uid=no-such-user-xyz", "uid=no-such-user-xyz");
    expect_err("gid=no-such-group-xyz", "gid=no-such-group-xyz");
    expect_err("uid=-5", "uid=-5");
    expect_err("uid=", "uid=");
}

Test(opts, forceuid_forcegid)
{
    struct run *r = with_opts("forceuid,forcegid");

    expect_ok(r);
    cr_assert(r->o.forceuid && r->o.forcegid);
    run_free(r);
    r = with_opts("forceuid,forcegid,noforceuid,noforcegid");
    expect_ok(r);
    cr_assert(!r->o.forceuid && !r->o.forcegid);
    run_free(r);
    expect_err("forceuid=1", "'forceuid' takes no value");
}

Test(opts, file_and_dir_mode)
{
    struct run *r = with_opts("file_mode=0640,dir_mode=750");

    expect_ok(r);
    cr_assert_eq(r->o.file_mode, 0640);
    cr_assert_eq(r->o.dir_mode, 0750);
    run_free(r);
    r = with_opts("file_mode=7777,dir_mode=0");
    expect_ok(r);
    cr_assert_eq(r->o.file_mode, 07777);
    cr_assert_eq(r->o.dir_mode, 0);
    run_free(r);
    expect_err("file_mode=0689", "file_mode=0689");
    expect_err("dir_mode=17777", "dir_mode=17777");
    expect_err("file_mode=rw", "file_mode=rw");
}

Test(opts, ro_rw)
{
    struct run *r = with_opts("ro");

    expect_ok(r);
    cr_assert(r->o.ro);
    cr_assert(has_fuse_opt(r, "ro"));
    run_free(r);
    r = with_opts("ro,rw");
    expect_ok(r);
    cr_assert(!r->o.ro);
    cr_assert(has_fuse_opt(r, "rw"));
    run_free(r);
    expect_err("ro=yes", "'ro' takes no value");
}

Test(opts, actimeo)
{
    struct run *r = with_opts("actimeo=0");

    expect_ok(r);
    cr_assert_eq(r->o.actimeo, 0.0);
    run_free(r);
    r = with_opts("actimeo=2.5");
    expect_ok(r);
    cr_assert_eq(r->o.actimeo, 2.5);
    run_free(r);
    expect_err("actimeo=-1", "actimeo=-1");
    expect_err("actimeo=soon", "actimeo=soon");
    expect_err("actimeo=nan", "actimeo=nan");
    expect_err("actimeo=100000", "actimeo=100000");
}

Test(opts, cache)
{
    static const struct {
        const char *opt;
        enum sfs_cache_mode mode;
    } cases[] = {{"cache=strict", SFS_CACHE_STRICT},
                 {"cache=loose", SFS_CACHE_LOOSE},
                 {"cache=none", SFS_CACHE_NONE}};

    for (size_t i = 0; i < 3; i++) {
        struct run *r = with_opts(cases[i].opt);

        expect_ok(r);
        cr_assert_eq(r->o.cache, cases[i].mode, "%s", cases[i].opt);
        run_free(r);
    }
    expect_err("cache=always", "cache=always");
}

Test(opts, netbios_names)
{
    struct run *r = with_opts("netbiosname=CLIENT1,servernetbiosname=NAS");

    expect_ok(r);
    cr_assert_str_eq(r->o.netbiosname, "CLIENT1");
    cr_assert_str_eq(r->o.servernetbiosname, "NAS");
    run_free(r);
    r = with_opts("servern=OTHERNAS,netbiosname=ABCDEFGHIJKLMNO");
    expect_ok(r);
    cr_assert_str_eq(r->o.servernetbiosname, "OTHERNAS");
    cr_assert_str_eq(r->o.netbiosname, "ABCDEFGHIJKLMNO");
    run_free(r);
    expect_err("netbiosname=ABCDEFGHIJKLMNOP", "netbiosname=ABCDEFGHIJKLMNOP");
    expect_err("servernetbiosname=", "servernetbiosname=");
}

Test(opts, ip_and_addr)
{
    struct run *r = with_opts("ip=127.0.0.1");

    expect_ok(r);
    cr_assert_str_eq(r->o.ip, "127.0.0.1");
    run_free(r);
    r = with_opts("addr=::1");
    expect_ok(r);
    cr_assert_str_eq(r->o.ip, "::1");
    run_free(r);
    expect_err("ip=nas.example", "ip=nas.example");
    expect_err("ip=300.1.1.1", "ip=300.1.1.1");
}

Test(opts, unix_extensions)
{
    const struct {
        const char *opt;
        int v;
    } cases[] = {{"unix", 1}, {"linux", 1}, {"nounix", 0}, {"nolinux", 0}, {"unix,nounix", 0}};

    for (size_t i = 0; i < 5; i++) {
        struct run *r = with_opts(cases[i].opt);

        expect_ok(r);
        cr_assert_eq(r->o.unix_ext, cases[i].v, "%s", cases[i].opt);
        run_free(r);
    }
}

Test(opts, nobrl_mapposix_soft)
{
    struct run *r = with_opts("nobrl,mapposix,soft");

    expect_ok(r);
    cr_assert(r->o.nobrl && r->o.mapposix && r->o.soft);
    run_free(r);
    r = with_opts("nobrl,brl,mapposix,nomapposix,soft,hard");
    expect_ok(r);
    cr_assert(!r->o.nobrl && !r->o.mapposix && !r->o.soft);
    run_free(r);
}

Test(opts, timeout)
{
    struct run *r = with_opts("timeout=4,hard");
    expect_ok(r);
    cr_assert_eq(r->o.timeout, 4);
    cr_assert(!r->o.soft);
    struct smb1_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    sfs_opts_to_config(&r->o, &cfg);
    cr_assert_eq(cfg.request_timeout_ms, 4000);
    cr_assert(!cfg.soft);
    run_free(r);
    r = with_opts("timeout=0");
    cr_assert_neq(r->rc, 0);
    run_free(r);
    r = with_opts("timeout=601");
    cr_assert_neq(r->rc, 0);
    run_free(r);
}

Test(opts, echo_interval)
{
    struct run *r = with_opts("echo_interval=1");

    expect_ok(r);
    cr_assert_eq(r->o.echo_interval, 1);
    run_free(r);
    r = with_opts("echo_interval=600");
    expect_ok(r);
    cr_assert_eq(r->o.echo_interval, 600);
    run_free(r);
    expect_err("echo_interval=0", "echo_interval=0");
    expect_err("echo_interval=601", "echo_interval=601");
}

Test(opts, rsize_wsize)
{
    struct run *r = with_opts("rsize=65536,wsize=16384");

    expect_ok(r);
    cr_assert_eq(r->o.rsize, 65536);
    cr_assert_eq(r->o.wsize, 16384);
    run_free(r);
    expect_err("rsize=100", "rsize=100");
    expect_err("wsize=99999999", "wsize=99999999");
    expect_err("rsize=big", "rsize=big");
}

/* libfuse refuses to run unless init() asks for the max_read the mount
 * was given, so the figure must be kept, not only handed on. */
Test(opts, max_read_kept_for_init)
{
    struct run *r = with_opts("max_read=131072");

    expect_ok(r);
    cr_assert_eq(r->o.max_read, 131072);
    cr_assert(has_fuse_opt(r, "max_read=131072"), "%s", fuse_optlist(r));
    run_free(r);
    r = with_opts("");
    expect_ok(r);
    cr_assert_eq(r->o.max_read, 0);
    cr_assert_eq(r->o.max_write, 0);
    run_free(r);
    expect_err("max_read=0", "max_read=0");
    expect_err("max_read=2097152", "max_read=2097152");
    expect_err("max_read=lots", "max_read=lots");
}

/* max_write= is ours (libfuse 3 has none): kept, never handed on, and in
 * whole pages. */
Test(opts, max_write_kept)
{
    struct run *r = with_opts("max_write=1044480");

    expect_ok(r);
    cr_assert_eq(r->o.max_write, 1044480);
    cr_assert(!has_fuse_opt(r, "max_write=1044480"), "%s", fuse_optlist(r));
    run_free(r);
    static const char *const bad[] = {"max_write=0", "max_write=5000", "max_write=2097152",
                                      "max_write=lots"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_err(bad[i], bad[i]);
}

Test(opts, vers)
{
    struct run *r = with_opts("vers=1.0");

    expect_ok(r);
    run_free(r);
    r = with_opts("vers=1");
    expect_ok(r);
    run_free(r);
    expect_err("vers=2.0", "vers=2.0");
    expect_err("vers=3.1.1", "SMB1 only");
    expect_err("vers=default", "vers=default");
}

Test(opts, iocharset_noperm)
{
    struct run *r = with_opts("iocharset=utf8,noperm");

    expect_ok(r);
    run_free(r);
    expect_err("iocharset=iso8859-1", "iocharset=iso8859-1");
}

Test(opts, debug_option)
{
    struct run *r = with_opts("debug");

    expect_ok(r);
    cr_assert(r->o.debug);
    /* from fstab, debug must not keep mount(8) waiting in the foreground */
    cr_assert(!r->o.foreground);
    cr_assert(has_fuse_opt(r, "debug"));
    run_free(r);
}

Test(opts, libfuse_options_passed_on)
{
    static const char *pass[] = {"allow_other",
                                 "allow_root",
                                 "default_permissions",
                                 "auto_unmount",
                                 "blkdev",
                                 "max_read=65536",
                                 "blksize=4096",
                                 "context=system_u:object_r:tmp_t:s0",
                                 "fscontext=a",
                                 "defcontext=b",
                                 "rootcontext=c",
                                 "exec",
                                 "noexec",
                                 "suid",
                                 "nosuid",
                                 "dev",
                                 "nodev",
                                 "async",
                                 "sync",
                                 "dirsync",
                                 "atime",
                                 "noatime"};

    for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++) {
        struct run *r = with_opts(pass[i]);

        expect_ok(r);
        cr_assert(has_fuse_opt(r, pass[i]), "%s not passed on: %s", pass[i], fuse_optlist(r));
        run_free(r);
    }
}

Test(opts, fsname_subtype_override)
{
    struct run *r = with_opts("fsname=mynas,subtype=other");

    expect_ok(r);
    cr_assert_str_eq(fuse_optlist(r), "fsname=mynas,subtype=other");
    run_free(r);
}

Test(opts, fsname_comma_is_escaped)
{
    struct run *r = parse("//srv/a,b", "/mnt", "-o", "password=pw", NULL);

    expect_ok(r);
    cr_assert_str_eq(fuse_optlist(r), "fsname=//srv/a\\,b,subtype=smbfuse");
    run_free(r);
}

Test(opts, mount_options_ignored)
{
    static const char *ign[] = {"defaults",
                                "auto",
                                "noauto",
                                "user",
                                "users",
                                "nouser",
                                "owner",
                                "group",
                                "_netdev",
                                "nofail",
                                "comment=systemd.automount",
                                "x-systemd.automount",
                                "x-systemd.idle-timeout=60",
                                "x-systemd.requires=network-online.target",
                                "x-gvfs-show",
                                "relatime",
                                "norelatime",
                                "nodiratime",
                                "diratime",
                                "strictatime",
                                "nostrictatime",
                                "lazytime",
                                "nolazytime",
                                "nonempty"};

    for (size_t i = 0; i < sizeof(ign) / sizeof(ign[0]); i++) {
        struct run *r = with_opts(ign[i]);

        expect_ok(r);
        cr_assert_str_eq(fuse_optlist(r), "fsname=//srv/share,subtype=smbfuse", "%s leaked: %s",
                         ign[i], fuse_optlist(r));
        run_free(r);
    }
}

Test(opts, unknown_option_is_named)
{
    expect_err("port=1,frobnicate,ro", "unknown option 'frobnicate'");
    expect_err("frob=1", "unknown option 'frob'");
    expect_err("kernel_cache", "unknown option 'kernel_cache'");
    expect_err("usernam=x", "unknown option 'usernam'");
}

Test(opts, as_run_by_mount_fuse3)
{
    /* what /sbin/mount.fuse3 passes for an fstab line with type fuse.smbfuse */
    struct run *r = parse("//nas/share", "/mnt/nas", "-o",
                          "rw,_netdev,x-systemd.automount,x-systemd.idle-timeout=60,noauto,"
                          "user,port=4450,password=pw,dev,suid",
                          NULL);

    expect_ok(r);
    cr_assert_eq(r->o.port, 4450);
    cr_assert_str_eq(fuse_optlist(r), "rw,dev,suid,fsname=//nas/share,subtype=smbfuse");
    run_free(r);
}

Test(opts, to_config)
{
    struct run *r = parse("//srv/share", "/mnt", "-o",
                          "ip=127.0.0.1,port=139,netbiosname=ME,servern=YOU,user=u,dom=D,"
                          "password=pw,sec=ntlmssp,sign=required,echo_interval=5,rsize=4096,"
                          "wsize=8192,nounix,mapposix,soft",
                          NULL);
    struct smb1_config cfg;

    expect_ok(r);
    memset(&cfg, 0, sizeof(cfg));
    sfs_opts_to_config(&r->o, &cfg);
    cr_assert_str_eq(cfg.host, "srv");
    cr_assert_str_eq(cfg.ip, "127.0.0.1");
    cr_assert_eq(cfg.port, 139);
    cr_assert_str_eq(cfg.client_netbios_name, "ME");
    cr_assert_str_eq(cfg.server_netbios_name, "YOU");
    cr_assert_str_eq(cfg.user, "u");
    cr_assert_str_eq(cfg.domain, "D");
    cr_assert_str_eq(cfg.password, "pw");
    cr_assert_eq(cfg.sec, SMB1_SEC_NTLMSSP);
    cr_assert_eq(cfg.sign, SMB1_SIGN_REQUIRED);
    cr_assert_eq(cfg.echo_interval_s, 5);
    cr_assert_eq(cfg.rsize, 4096);
    cr_assert_eq(cfg.wsize, 8192);
    cr_assert_eq(cfg.unix_ext, 0);
    cr_assert(cfg.mapposix && cfg.soft);
    run_free(r);
}

Test(opts, wipe_password)
{
    struct run *r = parse("//srv/share", "/mnt", "-o", "password=topsecret", NULL);

    expect_ok(r);
    cr_assert_str_eq(sfs_opts_password(&r->o), "topsecret");
    sfs_opts_wipe_password(&r->o);
    cr_assert_null(sfs_opts_password(&r->o));
    for (size_t i = 0; i < sizeof(r->o.password); i++)
        cr_assert_eq(r->o.password[i], 0);
    sfs_opts_wipe_password(&r->o); /* idempotent */
    cr_assert(!r->o.password_locked);
    cr_assert_eq(sfs_opts_lock_password(&r->o), 0);
    cr_assert(r->o.password_locked);
    run_free(r);
}

/* ---- argv scrubbing ---- */

Test(opts, argv_scrubbed)
{
    const char *args[] = {"//srv/share",
                          "/mnt",
                          "-o",
                          "port=1,password=hunter2,ro",
                          "-opass=sec,,ret",
                          "-o",
                          "username=u%pw99,password=last"};
    struct run *r;
    size_t len[MAXARGS];

    r = parse(args[0], args[1], args[2], args[3], args[4], args[5], args[6], NULL);
    expect_ok(r);
    for (int i = 0; i < r->argc; i++)
        len[i] = strlen(i ? args[i - 1] : "smbfuse");
    cr_assert_str_eq(sfs_opts_password(&r->o), "last");
    cr_assert(!argv_contains(r, "hunter2", len));
    cr_assert(!argv_contains(r, "sec,,ret", len));
    cr_assert(!argv_contains(r, "ret", len));
    cr_assert(!argv_contains(r, "pw99", len));
    cr_assert(!argv_contains(r, "last", len));
    cr_assert_str_eq(r->argv[4], "port=1,password=,ro");
    cr_assert_str_eq(r->argv[5], "-opass=");
    cr_assert_str_eq(r->argv[7], "username=u,password=");
    /* nothing else was damaged */
    cr_assert_str_eq(r->argv[1], "//srv/share");
    cr_assert_str_eq(r->argv[2], "/mnt");
    run_free(r);
}

Test(opts, argv_scrubbed_on_error)
{
    struct run *r = parse("//srv/share", "/mnt", "-o", "password=hunter2,bogus", NULL);
    size_t len[] = {7, 11, 4, 2, 23};

    cr_assert_eq(r->rc, -EINVAL);
    cr_assert(strstr(r->err, "'bogus'"));
    cr_assert(!argv_contains(r, "hunter2", len));
    cr_assert(!strstr(r->err, "hunter2"));
    run_free(r);
}

Test(opts, password_never_in_fuse_args)
{
    struct run *r = parse("//srv/share", "/mnt", "-o", "password=hunter2,allow_other", NULL);

    expect_ok(r);
    for (int i = 0; i < r->fa.argc; i++)
        cr_assert(!strstr(r->fa.argv[i], "hunter2"), "%s", r->fa.argv[i]);
    run_free(r);
}

/* ---- environment ---- */

Test(opts, env_user_and_passwd)
{
    struct run *r;

    setenv("USER", "fromenv", 1);
    setenv("PASSWD", "envpass", 1);
    r = parse("//srv/share", "/mnt", NULL);
    expect_ok(r);
    cr_assert_str_eq(r->o.username, "fromenv");
    cr_assert_str_eq(sfs_opts_password(&r->o), "envpass");
    /* the value in the environment block is gone too */
    cr_assert_str_eq(getenv("PASSWD"), "");
    run_free(r);
}

Test(opts, option_beats_env)
{
    struct run *r;

    setenv("PASSWD", "envpass", 1);
    r = parse("//srv/share", "/mnt", "-o", "user=opt,password=optpass", NULL);
    expect_ok(r);
    cr_assert_str_eq(r->o.username, "opt");
    cr_assert_str_eq(sfs_opts_password(&r->o), "optpass");
    run_free(r);
}

Test(opts, no_user_env_uses_login_name)
{
    struct passwd *pw = getpwuid(getuid());
    struct run *r;

    cr_assert_not_null(pw);
    unsetenv("USER");
    r = parse("//srv/share", "/mnt", "-o", "password=x", NULL);
    expect_ok(r);
    cr_assert_str_eq(r->o.username, pw->pw_name);
    run_free(r);
}

Test(opts, passwd_fd)
{
    int p[2];
    char num[16];
    struct run *r;

    /* the write end stays open: only the first line may be waited for */
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(write(p[1], "fdpass\nrest\n", 12), 12);
    snprintf(num, sizeof(num), "%d", p[0]);
    setenv("PASSWD_FD", num, 1);
    r = parse("//srv/share", "/mnt", NULL);
    expect_ok(r);
    cr_assert_str_eq(sfs_opts_password(&r->o), "fdpass");
    run_free(r);
    close(p[0]);
    close(p[1]);

    setenv("PASSWD_FD", "nope", 1);
    r = parse("//srv/share", "/mnt", NULL);
    cr_assert_eq(r->rc, -EINVAL);
    cr_assert(strstr(r->err, "PASSWD_FD"), "%s", r->err);
    run_free(r);
}

Test(creds, passwd_file)
{
    char *path = write_file("pw", "filepass\r\n", 0600);
    struct run *r;

    clean_env();
    setenv("PASSWD_FILE", path, 1);
    r = parse("//srv/share", "/mnt", NULL);
    expect_ok(r);
    cr_assert_str_eq(sfs_opts_password(&r->o), "filepass");
    run_free(r);

    setenv("PASSWD_FILE", "/nonexistent/pw", 1);
    r = parse("//srv/share", "/mnt", NULL);
    cr_assert_eq(r->rc, -ENOENT);
    cr_assert(strstr(r->err, "/nonexistent/pw"), "%s", r->err);
    run_free(r);
}

Test(opts, no_password_no_terminal)
{
    struct run *r;
    pid_t pid;
    int st;

    /* Criterion workers may still have the terminal of whoever runs the
     * tests: detach from it in a child so /dev/tty cannot be opened. */
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        setsid();
        r = parse("//srv/share", "/mnt", "-o", "user=x", NULL);
        _exit(r->rc == -ENOTTY && strstr(r->err, "no password") && strstr(r->err, "credentials=")
                  ? 0
                  : 1);
    }
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Reads from the pty master until needle shows up or 5 s pass. */
static bool read_until(int fd, char *acc, size_t cap, const char *needle)
{
    size_t n = strlen(acc);

    for (int tries = 0; tries < 50 && !strstr(acc, needle); tries++) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t k;

        if (poll(&pfd, 1, 100) <= 0)
            continue;
        k = read(fd, acc + n, cap - n - 1);
        if (k <= 0)
            break;
        n += (size_t)k;
        acc[n] = '\0';
    }
    return strstr(acc, needle) != NULL;
}

Test(opts, prompt_on_terminal_without_echo)
{
    int master, res[2], st;
    char name[128], acc[1024] = "", got[300] = "";
    pid_t pid;

    cr_assert_eq(openpty(&master, &(int){0}, name, NULL, NULL), 0);
    cr_assert_eq(pipe(res), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct run *r;
        int fd;

        close(master);
        close(res[0]);
        setsid();
        fd = open(name, O_RDWR); /* becomes the controlling terminal */
        if (fd < 0)
            _exit(2);
        (void)ioctl(fd, TIOCSCTTY, 0); /* in case open did not make it ours */
        r = parse("//srv/share", "/mnt", "-o", "user=tina", NULL);
        dprintf(res[1], "%d:%s", r->rc, r->rc == 0 ? sfs_opts_password(&r->o) : r->err);
        _exit(0);
    }
    close(res[1]);
    cr_assert(read_until(master, acc, sizeof(acc), "Password for tina@//srv/share: "), "got '%s'",
              acc);
    cr_assert_eq(write(master, "typed pw\n", 9), 9);
    cr_assert_gt(read(res[0], got, sizeof(got) - 1), 0);
    cr_assert_str_eq(got, "0:typed pw");
    /* drain what the terminal showed: the password must not be echoed */
    read_until(master, acc, sizeof(acc), "\n");
    cr_assert(!strstr(acc, "typed pw"), "echoed: '%s'", acc);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    close(master);
    close(res[0]);
}

/* ---- credentials file ---- */

Test(creds, full_file)
{
    char *path = write_file("c1",
                            "# smbfuse credentials\n"
                            "\n"
                            "username=fileuser\n"
                            "password=p@ss=word with spaces \n"
                            "  domain = FILEDOM\n",
                            0600);
    struct run *r;

    clean_env();
    r = parse_cred(path);
    expect_ok(r);
    cr_assert_str_eq(r->o.username, "fileuser");
    cr_assert_str_eq(sfs_opts_password(&r->o), "p@ss=word with spaces ");
    cr_assert_str_eq(r->o.domain, "FILEDOM");
    cr_assert_str_eq(r->o.credentials, path);
    run_free(r);
}

Test(creds, short_keys_and_crlf)
{
    char *path = write_file("c2", "user=u2\r\npass=p2\r\ndom=D2\r\n", 0600);
    struct run *r;

    clean_env();
    r = parse_cred(path);
    expect_ok(r);
    cr_assert_str_eq(r->o.username, "u2");
    cr_assert_str_eq(sfs_opts_password(&r->o), "p2");
    cr_assert_str_eq(r->o.domain, "D2");
    run_free(r);

    path = write_file("c3", "workgroup=WG\nusername=u3\npassword=p3", 0400);
    r = parse_cred(path);
    expect_ok(r);
    cr_assert_str_eq(r->o.domain, "WG");
    cr_assert_str_eq(sfs_opts_password(&r->o), "p3"); /* no final newline */
    run_free(r);

    r = parse("//srv/share", "/mnt", "-o", "cred=", NULL);
    cr_assert_eq(r->rc, -EINVAL);
    run_free(r);
}

Test(creds, cred_alias)
{
    char *path = write_file("c4", "username=u4\npassword=p4\n", 0600);
    char opt[300];
    struct run *r;

    clean_env();
    snprintf(opt, sizeof(opt), "cred=%s", path);
    r = parse("//srv/share", "/mnt", "-o", opt, NULL);
    expect_ok(r);
    cr_assert_str_eq(r->o.username, "u4");
    run_free(r);
}

Test(creds, options_beat_file_and_file_beats_env)
{
    char *path = write_file("c5", "username=fu\npassword=fp\ndomain=FD\n", 0600);
    char opt[400];
    struct run *r;

    clean_env();
    setenv("USER", "eu", 1);
    setenv("PASSWD", "ep", 1);
    r = parse_cred(path);
    expect_ok(r);
    cr_assert_str_eq(r->o.username, "fu");
    cr_assert_str_eq(sfs_opts_password(&r->o), "fp");
    run_free(r);

    snprintf(opt, sizeof(opt), "username=ou,credentials=%s,password=op,domain=OD", path);
    r = parse("//srv/share", "/mnt", "-o", opt, NULL);
    expect_ok(r);
    cr_assert_str_eq(r->o.username, "ou");
    cr_assert_str_eq(sfs_opts_password(&r->o), "op");
    cr_assert_str_eq(r->o.domain, "OD");
    run_free(r);
}

Test(creds, file_without_password_falls_back_to_env)
{
    char *path = write_file("c6", "username=fu\n", 0600);
    struct run *r;

    clean_env();
    setenv("PASSWD", "ep", 1);
    r = parse_cred(path);
    expect_ok(r);
    cr_assert_str_eq(r->o.username, "fu");
    cr_assert_str_eq(sfs_opts_password(&r->o), "ep");
    run_free(r);
}

Test(creds, readable_by_others_warns)
{
    char *path = write_file("c7", "username=u\npassword=p\n", 0644);
    struct run *r;
    char *msg;

    clean_env();
    msg = capture_stderr(parse_cred, path, &r);
    expect_ok(r);
    cr_assert(strstr(msg, "warning") && strstr(msg, path) && strstr(msg, "group and others"),
              "stderr: %s", msg);
    cr_assert(!strstr(msg, "password=p"));
    run_free(r);

    path = write_file("c8", "username=u\npassword=p\n", 0640);
    msg = capture_stderr(parse_cred, path, &r);
    expect_ok(r);
    cr_assert(strstr(msg, "readable by group"), "stderr: %s", msg);
    run_free(r);

    path = write_file("c9", "username=u\npassword=p\n", 0600);
    msg = capture_stderr(parse_cred, path, &r);
    expect_ok(r);
    cr_assert_str_eq(msg, "");
    run_free(r);
}

Test(creds, unknown_key_warns)
{
    char *path = write_file("c10", "username=u\npassword=p\ncolour=blue\n", 0600);
    struct run *r;
    char *msg;

    clean_env();
    msg = capture_stderr(parse_cred, path, &r);
    expect_ok(r);
    cr_assert(strstr(msg, "'colour'") && strstr(msg, "line 3"), "stderr: %s", msg);
    run_free(r);
}

Test(creds, bad_files)
{
    char *path;
    struct run *r;

    clean_env();
    r = parse_cred("/nonexistent/cred");
    cr_assert_eq(r->rc, -ENOENT);
    cr_assert(strstr(r->err, "/nonexistent/cred"), "%s", r->err);
    run_free(r);

    path = write_file("c11", "username=u\njust some text\n", 0600);
    r = parse_cred(path);
    cr_assert_eq(r->rc, -EINVAL);
    cr_assert(strstr(r->err, "line 2"), "%s", r->err);
    run_free(r);

    r = parse_cred(tmpdir);
    cr_assert_eq(r->rc, -EINVAL);
    cr_assert(strstr(r->err, "not a regular file"), "%s", r->err);
    run_free(r);

    if (getuid() == 0)
        return; /* root reads a mode-000 file anyway */
    path = write_file("c12", "password=p\n", 0000);
    r = parse_cred(path);
    cr_assert_eq(r->rc, -EACCES);
    run_free(r);
}

/* ---- documentation covers every option ---- */

static const char *all_options[] = {"username",
                                    "user",
                                    "password",
                                    "pass",
                                    "credentials",
                                    "cred",
                                    "domain",
                                    "dom",
                                    "workgroup",
                                    "port",
                                    "sec",
                                    "sign",
                                    "nosign",
                                    "uid",
                                    "gid",
                                    "forceuid",
                                    "forcegid",
                                    "file_mode",
                                    "dir_mode",
                                    "ro",
                                    "rw",
                                    "actimeo",
                                    "cache",
                                    "netbiosname",
                                    "servernetbiosname",
                                    "ip",
                                    "unix",
                                    "nounix",
                                    "nobrl",
                                    "mapposix",
                                    "echo_interval",
                                    "wins",
                                    "resolve",
                                    "wins_timeout",
                                    "idle_timeout",
                                    "browse_bufsize",
                                    "soft",
                                    "hard",
                                    "rsize",
                                    "wsize",
                                    "vers",
                                    "iocharset",
                                    "noperm",
                                    "debug",
                                    "allow_other",
                                    "allow_root",
                                    "default_permissions",
                                    "auto_unmount",
                                    "max_read",
                                    "fsname",
                                    "subtype",
                                    "_netdev",
                                    "x-systemd",
                                    "noauto",
                                    "users",
                                    "nofail",
                                    "defaults",
                                    "PASSWD_FILE",
                                    "PASSWD_FD"};

Test(opts, help_lists_every_option)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    cr_assert_not_null(f);
    sfs_opts_print_help(f, "smbfuse");
    fclose(f);
    for (size_t i = 0; i < sizeof(all_options) / sizeof(all_options[0]); i++)
        cr_assert(strstr(text, all_options[i]), "--help does not mention %s", all_options[i]);
    free(text);

    f = open_memstream(&text, &len);
    sfs_opts_print_version(f);
    fclose(f);
    cr_assert(strstr(text, "smbfuse " SMBFUSE_VERSION), "%s", text);
    free(text);
}

/* True when word occurs in text with no identifier character on either
 * side (so "ro" is not found inside "required"). */
static bool has_word(const char *text, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = text; (p = strstr(p, word)) != NULL; p++) {
        bool left = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        bool right = !(isalnum((unsigned char)p[n]) || p[n] == '_');

        if (left && right)
            return true;
    }
    return false;
}

Test(opts, man_page_lists_every_option)
{
    char path[512], *text;
    FILE *f;
    long n;

    snprintf(path, sizeof(path), "%s/packaging/smbfuse.8", SMBFUSE_SOURCE_DIR);
    f = fopen(path, "r");
    cr_assert_not_null(f, "%s missing", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    text = calloc(1, (size_t)n + 1);
    cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    for (size_t i = 0; i < sizeof(all_options) / sizeof(all_options[0]); i++) {
        /* groff source spells '-' as "\-" */
        const char *w = strcmp(all_options[i], "x-systemd") == 0 ? "x\\-systemd" : all_options[i];

        cr_assert(has_word(text, w), "smbfuse.8 does not document %s", all_options[i]);
    }
    free(text);
}

Test(opts, network_mount_and_tools)
{
    struct run *r = parse("//", "/mnt/net", "-o", "password=pw,hidden", NULL);
    expect_ok(r);
    cr_assert_eq(r->o.mode, SFS_MODE_NETMOUNT);
    cr_assert(r->o.hidden);
    cr_assert_null(r->o.host);
    run_free(r);

    /* The tools are anonymous without credentials: no prompt, no $USER. */
    r = parse("--list", "//nbsrv", NULL);
    expect_ok(r);
    cr_assert_eq(r->o.mode, SFS_MODE_LIST);
    cr_assert_str_eq(r->o.host, "nbsrv");
    cr_assert_eq(r->o.sec, SMB1_SEC_NONE);
    cr_assert(r->o.anon_default);
    run_free(r);
    r = parse("--list", "//nbsrv", "-o", "username=alice,password=pw,wins=10.0.0.2", NULL);
    expect_ok(r);
    cr_assert_not(r->o.anon_default);
    cr_assert_str_eq(r->o.username, "alice");
    cr_assert_str_eq(r->o.wins, "10.0.0.2");
    run_free(r);
    r = parse("--browse", NULL);
    expect_ok(r);
    cr_assert_eq(r->o.mode, SFS_MODE_BROWSE);
    cr_assert_null(r->o.target);
    run_free(r);
    r = parse("--browse", "TESTGRP", "-o", "resolve=wins,bcast", NULL);
    expect_ok(r);
    cr_assert_str_eq(r->o.target, "TESTGRP");
    cr_assert_str_eq(r->o.resolve, "wins,bcast");
    run_free(r);
    r = parse("--lookup", "NBSRV#20", NULL);
    expect_ok(r);
    cr_assert_eq(r->o.mode, SFS_MODE_LOOKUP);
    cr_assert_str_eq(r->o.target, "NBSRV#20");
    run_free(r);

    r = parse("--lookup", NULL);
    cr_assert_eq(r->rc, -EINVAL);
    cr_assert(strstr(r->err, "usage"), "%s", r->err);
    run_free(r);
    r = parse("--browse", "A", "B", NULL);
    cr_assert_eq(r->rc, -EINVAL);
    run_free(r);
    r = parse("//srv/share", "--list", NULL);
    cr_assert_eq(r->rc, -EINVAL);
    cr_assert(strstr(r->err, "first"), "%s", r->err);
    run_free(r);
    r = parse("--list", "//", NULL);
    cr_assert_eq(r->rc, -EINVAL);
    run_free(r);
}

Test(opts, wins_and_resolve_values)
{
    /* The words after wins= / resolve= continue their lists. */
    struct run *r = with_opts("wins=10.0.0.1,10.0.0.2,resolve=wins,bcast,ro");
    expect_ok(r);
    cr_assert_str_eq(r->o.wins, "10.0.0.1,10.0.0.2");
    cr_assert_str_eq(r->o.resolve, "wins,bcast");
    cr_assert(r->o.ro);
    run_free(r);
    r = with_opts("resolve=host,wins=10.0.0.1");
    expect_ok(r);
    cr_assert_str_eq(r->o.resolve, "host");
    cr_assert_str_eq(r->o.wins, "10.0.0.1");
    run_free(r);
    expect_err("wins=wins.example", "IPv4");
    expect_err("resolve=lmhosts", "host, wins and bcast");
    expect_err("resolve=host,lmhosts", "unknown option 'lmhosts'");
}

Test(opts, wins_timeout_and_idle_timeout)
{
    struct run *r = with_opts("ro");
    expect_ok(r);
    cr_assert_eq(r->o.wins_timeout, 0); /* the core's SMB1_WINS_TIMEOUT_MS */
    cr_assert_eq(r->o.idle_timeout, 60);
    run_free(r);
    r = with_opts("wins=10.0.0.1,wins_timeout=300,idle_timeout=5");
    expect_ok(r);
    cr_assert_eq(r->o.wins_timeout, 300);
    cr_assert_eq(r->o.idle_timeout, 5);
    struct smb1_config cfg = {0};
    sfs_opts_to_config(&r->o, &cfg);
    cr_assert_eq(cfg.wins_timeout_ms, 300);
    run_free(r);
    expect_err("wins_timeout=10", "milliseconds from 30");
    expect_err("idle_timeout=0", "seconds from 1");
    expect_err("idle_timeout=soon", "seconds from 1");
    r = with_opts("browse_bufsize=100");
    expect_ok(r);
    struct smb1_config cfg2 = {0};
    sfs_opts_to_config(&r->o, &cfg2);
    cr_assert_eq(cfg2.browse_bufsize, 100);
    run_free(r);
    expect_err("browse_bufsize=10", "bytes from 64");
}

Test(opts, network_mount_source_from_mount8)
{
    /* mount(8) canonicalizes the source "//" to "/". */
    struct run *r = parse("/", "/mnt/net", "-o", "password=pw", NULL);
    expect_ok(r);
    cr_assert_eq(r->o.mode, SFS_MODE_NETMOUNT);
    cr_assert_str_eq(r->o.source, "//");
    run_free(r);
    r = parse("--list", "/", NULL);
    cr_assert_eq(r->rc, -EINVAL);
    run_free(r);
}
