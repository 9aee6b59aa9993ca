/* The printer mount's close(): smbfuse mounted on the scripted server's
 * printer (tests/fake), cp into it; when the server refuses the job at its
 * close (CLOSE_PRINT_FILE answers DISK_FULL), cp reports the error and
 * exits non-zero, and when it takes the job cp exits 0 and every byte was
 * written. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_smb.h"
#include "smb1.h"

static struct fake_server *fs;
static uint16_t port;
static char dir[] = "/tmp/smbfuse-pmount-XXXXXX";
static char mnt[64];
static pid_t fuse_pid;

static void init(void)
{
    signal(SIGPIPE, SIG_IGN);
    struct fake_opts o = fake_signed_opts();
    fs = fake_start(&o, &port);
    cr_assert_not_null(fs);
    cr_assert_not_null(mkdtemp(dir));
    snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
    cr_assert_eq(mkdir(mnt, 0755), 0);
}

static bool mounted(void)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "mountpoint -q %s", mnt);
    return system(cmd) == 0;
}

static void fini(void)
{
    if (mounted()) {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "fusermount3 -u %s || fusermount3 -uz %s", mnt, mnt);
        (void)system(cmd);
    }
    if (fuse_pid > 0) {
        kill(fuse_pid, SIGTERM);
        waitpid(fuse_pid, NULL, 0);
    }
    fake_stop(fs);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    (void)system(cmd);
}

static void mount_printer(void)
{
    const char *bin = getenv("SMBFUSE_BINARY_DIR");
    char prog[512], opts[200];
    snprintf(prog, sizeof(prog), "%s/fuse/smbfuse", bin ? bin : SMBFUSE_BINARY_DIR);
    snprintf(opts, sizeof(opts), "username=alice,domain=WORKGROUP,port=%u,sec=ntlmv2", port);
    fuse_pid = fork();
    cr_assert_geq(fuse_pid, 0);
    if (fuse_pid == 0) {
        setenv("PASSWD", "s3cret pass", 1);
        execl(prog, prog, "//127.0.0.1/PRINTER", mnt, "-f", "-o", opts, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100 && !mounted(); i++)
        usleep(100000);
    cr_assert(mounted(), "smbfuse did not mount the printer");
}

static int run(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(print_mount, close_errors_reach_cp, .init = init, .fini = fini, .timeout = 120)
{
    mount_printer();
    char src[128];
    snprintf(src, sizeof(src), "%s/doc.txt", dir);
    FILE *f = fopen(src, "w");
    cr_assert(f);
    for (int i = 0; i < 20000; i++)
        fprintf(f, "line %d of the document\n", i);
    fclose(f);
    struct stat sb;
    cr_assert_eq(stat(src, &sb), 0);

    char cmd[600];
    snprintf(cmd, sizeof(cmd), "cp %s %s/", src, mnt);
    cr_assert_eq(run(cmd), 0, "cp to a printer that takes the job");
    struct fake_stats st;
    fake_get_stats(fs, &st);
    cr_assert_eq(st.print_jobs, 1);
    cr_assert_eq(st.print_bytes, (uint64_t)sb.st_size);

    fake_set_print_close(fs, 0xC000007Fu); /* STATUS_DISK_FULL */
    snprintf(cmd, sizeof(cmd), "cp %s %s/second.txt 2>/dev/null", src, mnt);
    cr_assert_neq(run(cmd), 0, "cp succeeded though the close failed");
    /* cat checks the close of its standard output (a shell's builtins do
     * not check theirs). */
    snprintf(cmd, sizeof(cmd), "sh -c 'cat %s > %s/third.txt' 2>/dev/null", src, mnt);
    cr_assert_neq(run(cmd), 0, "cat into a redirection did not see the close fail");
    fake_get_stats(fs, &st);
    cr_assert_eq(st.print_jobs, 1);
}
