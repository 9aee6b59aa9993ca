/* The smb1:// device URI of the CUPS backend (tools/cups/backend_uri.c)
 * and its credentials file. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend_uri.h"

Test(backend_uri, full)
{
    struct backend_uri u;
    char why[128];
    cr_assert_eq(backend_uri_parse("smb1://WG;alice:p%40ss%3Aword@print.lan:1445/HP%20Laser"
                                   "?sign=required&sec=ntlmv2&openprintfile=1",
                                   &u, why, sizeof(why)),
                 0, "%s", why);
    cr_assert_str_eq(u.domain, "WG");
    cr_assert_str_eq(u.user, "alice");
    cr_assert_str_eq(u.password, "p@ss:word");
    cr_assert_str_eq(u.host, "print.lan");
    cr_assert_eq(u.port, 1445);
    cr_assert_str_eq(u.printer, "HP Laser");
    cr_assert_str_eq(u.sign, "required");
    cr_assert_str_eq(u.sec, "ntlmv2");
    cr_assert(u.open_print_file);
    backend_uri_free(&u);
}

Test(backend_uri, minimal_and_at_in_password)
{
    struct backend_uri u;
    cr_assert_eq(backend_uri_parse("smb1://server/lp", &u, NULL, 0), 0);
    cr_assert_null(u.user);
    cr_assert_null(u.password);
    cr_assert_eq(u.port, 0);
    cr_assert_str_eq(u.printer, "lp");
    backend_uri_free(&u);
    /* The last '@' before the path ends the user part. */
    cr_assert_eq(backend_uri_parse("smb1://bob:a@b@server/lp/", &u, NULL, 0), 0);
    cr_assert_str_eq(u.password, "a@b");
    cr_assert_str_eq(u.host, "server");
    cr_assert_str_eq(u.printer, "lp");
    backend_uri_free(&u);
}

Test(backend_uri, malformed)
{
    static const char *const bad[] = {
        "smb://server/lp",    "smb1://server",          "smb1://server/",
        "smb1:///lp",         "smb1://server:0/lp",     "smb1://server:70000/lp",
        "smb1://server:x/lp", "smb1://server/a/b",      "smb1://u%zz@server/lp",
        "smb1://server/l%00", "smb1://u:p%4@server/lp",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct backend_uri u;
        char why[128] = "";
        cr_assert_eq(backend_uri_parse(bad[i], &u, why, sizeof(why)), -EINVAL, "%s", bad[i]);
        cr_assert_neq(why[0], 0, "%s: no reason", bad[i]);
    }
}

Test(backend_uri, credentials_file)
{
    char path[] = "/tmp/smb1-creds-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    const char *text =
        "# a comment\nusername=carol\n  password = x\npassword=s3cret\ndomain=HOME\n";
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct backend_uri u;
    cr_assert_eq(backend_uri_parse("smb1://server/lp?creds=/x", &u, NULL, 0), 0);
    cr_assert_str_eq(u.creds, "/x");
    cr_assert_eq(backend_creds_file(path, &u), 0);
    cr_assert_str_eq(u.user, "carol");
    cr_assert_str_eq(u.password, "s3cret");
    cr_assert_str_eq(u.domain, "HOME");
    backend_uri_free(&u);
    /* What the URI gave wins over the file. */
    cr_assert_eq(backend_uri_parse("smb1://dave:pw@server/lp", &u, NULL, 0), 0);
    cr_assert_eq(backend_creds_file(path, &u), 0);
    cr_assert_str_eq(u.user, "dave");
    cr_assert_str_eq(u.password, "pw");
    backend_uri_free(&u);
    cr_assert_eq(backend_creds_file("/nonexistent/creds", &u), -ENOENT);
    unlink(path);
}
