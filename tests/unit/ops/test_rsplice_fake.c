/* Reads into a pipe (smb1_read_pipe, src/ops/op_rsplice.c) against the
 * scripted server in tests/fake: the data ends in the pipe when the
 * reply's data was spliced or came whole (a short frame), in the buffer
 * when the pipe filled; at the end of the file the pipe holds what there
 * is; a connection lost in the middle of the spliced data leaves the pipe
 * holding the read's data and nothing else once the read was done again
 * on the next connection; and a read that fails leaves the pipe empty. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fake_smb.h"
#include "smb1.h"

static struct smb1_log lg;
static struct fake_server *fs;
static uint16_t port;
static struct smb1_conn *conn;
static struct smb1_tree *tree;
static struct smb1_file *f;
static int fd[2];

/* An unsigned connection (reads are spliced only there) to the fake,
 * whose READ_ANDX answers up to 64000 bytes, and one of its files open. */
static void init(void)
{
    const char *lv = getenv("SMBFUSE_TEST_LOG");
    struct fake_opts o = fake_signed_opts();
    o.sign_enabled = o.sign_required = false;
    log_init(&lg, lv ? atoi(lv) : LOG_CRIT, NULL, NULL);
    cr_assert_not_null(fs = fake_start(&o, &port));
    fake_set_read(fs, 64000, 0);
    struct smb1_config c = fake_client_config(port, &lg);
    c.sign = SMB1_SIGN_OFF;
    c.echo_interval_s = 60;
    c.request_timeout_ms = 2000;
    c.connect_timeout_ms = 2000;
    char why[256] = "";
    cr_assert_eq(smb1_conn_new(&c, &conn, why, sizeof(why)), 0, "%s", why);
    cr_assert(smb1_conn_splice_ok(conn));
    cr_assert_eq(smb1_tree_connect(conn, "share", &tree), 0);
    cr_assert_eq(smb1_open(tree, "f", O_RDONLY, 0, &f, NULL), 0);
    cr_assert_eq(pipe2(fd, O_CLOEXEC | O_NONBLOCK), 0);
    cr_assert_geq(fcntl(fd[0], F_SETPIPE_SZ, 1 << 20), 1 << 20);
}

static void fini(void)
{
    close(fd[0]);
    close(fd[1]);
    smb1_close(f);
    smb1_tree_free(tree);
    smb1_conn_free(conn);
    fake_stop(fs);
    log_destroy(&lg);
}

TestSuite(rsplice_fake, .init = init, .fini = fini, .timeout = 60);

static int in_pipe(void)
{
    int n = -1;
    cr_assert_eq(ioctl(fd[0], FIONREAD, &n), 0);
    return n;
}

static uint64_t spliced(void)
{
    struct smb1_stats st;
    smb1_conn_get_stats(conn, &st);
    return st.spliced_reads;
}

/* Reads len bytes at off; checks that got bytes are the fake's pattern,
 * wherever they are (the pipe, emptied, or buf); returns in_pipe. */
static bool read_check(size_t len, uint64_t off, ssize_t want)
{
    uint8_t *buf = malloc(len);
    memset(buf, 0xEE, len);
    bool piped = true;
    ssize_t got = smb1_read_pipe(f, fd[0], fd[1], buf, len, off, &piped);
    cr_assert_eq(got, want, "%zu bytes at %llu: %zd", len, (unsigned long long)off, got);
    if (piped) {
        cr_assert_eq(in_pipe(), (int)got, "the pipe holds %d bytes, not %zd", in_pipe(), got);
        size_t at = 0;
        while (at < (size_t)got) {
            ssize_t k = read(fd[0], buf + at, (size_t)got - at);
            cr_assert_gt(k, 0);
            at += (size_t)k;
        }
    } else {
        cr_assert_eq(in_pipe(), 0, "%d bytes left in the pipe", in_pipe());
    }
    for (ssize_t i = 0; i < got; i++)
        if (buf[i] != fake_pattern(off + (uint64_t)i))
            cr_assert_fail("byte %zd of %zu at %llu", i, len, (unsigned long long)off);
    free(buf);
    return piped;
}

Test(rsplice_fake, spliced_into_the_pipe)
{
    uint64_t s0 = spliced();
    cr_assert(read_check(60000, 12345, 60000));
    cr_assert_eq(spliced(), s0 + 1);
}

/* A reply under 8 KiB is read whole: its data is written into the pipe. */
Test(rsplice_fake, short_frame_written_into_the_pipe)
{
    uint64_t s0 = spliced();
    cr_assert(read_check(5000, 7, 5000));
    cr_assert_eq(spliced(), s0);
}

/* One page of pipe: it fills in the middle of the data, and the read is
 * in the buffer. */
Test(rsplice_fake, full_pipe_goes_on_in_the_buffer)
{
    cr_assert_gt(fcntl(fd[0], F_SETPIPE_SZ, 4096), 0);
    cr_assert_not(read_check(60000, 0, 60000));
}

/* The end of the file inside the read: what there is, in the pipe. */
Test(rsplice_fake, end_of_file)
{
    fake_set_read(fs, 64000, 100000);
    cr_assert(read_check(60000, 80000, 20000));
    read_check(60000, 100000, 0);
}

/* A server that answers fewer bytes than asked (no more than MaxCount,
 * as one that ignores MaxCountHigh): the rest is read on, and the read
 * is whole. */
Test(rsplice_fake, short_reply_read_on)
{
    fake_set_read(fs, 30000, 0);
    read_check(60000, 4096, 60000);
}

/* The connection dies in the middle of the data: the read is done again
 * on the next connection (reopened), into the pipe, and what the first
 * attempt put there is gone (else the read would start again in the
 * buffer: rs_op's check of what the pipe holds). */
Test(rsplice_fake, cut_midway_read_again)
{
    uint64_t s0 = spliced();
    fake_inject(fs, FAKE_DISCONNECT_MID, 0);
    cr_assert(read_check(60000, 4096, 60000));
    cr_assert_eq(spliced(), s0 + 1);
}

/* A read that fails (no answer within the bound) says so, with an empty
 * pipe. */
Test(rsplice_fake, failure_leaves_the_pipe_empty)
{
    fake_inject(fs, FAKE_DROP, 0);
    uint8_t *buf = malloc(60000);
    bool piped = true;
    ssize_t got = smb1_read_pipe(f, fd[0], fd[1], buf, 60000, 0, &piped);
    cr_assert_lt(got, 0);
    cr_assert_not(piped);
    cr_assert_eq(in_pipe(), 0);
    free(buf);
}
