/* The keep of page references in pipes (support/pipekeep.c): room is
 * counted in slots and reserved before a copy, copies leave their source
 * untouched and come back whole and in order per pipe, a run no pipe can
 * hold is refused for good, and a keep that lost track refuses everything
 * until it is closed. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/pipekeep.h"

/* A pipe of 1 MiB holding n bytes of pattern seed, as FUSE's would. */
static void fill_pipe(int fd[2], size_t n, unsigned seed)
{
    cr_assert_eq(pipe2(fd, O_CLOEXEC | O_NONBLOCK), 0);
    cr_assert_geq(fcntl(fd[0], F_SETPIPE_SZ, 1 << 20), (int)n);
    uint8_t *b = malloc(n);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed + i * 7);
    cr_assert_eq(write(fd[1], b, n), (ssize_t)n);
    free(b);
}

static void check_pattern(const uint8_t *b, size_t n, size_t from, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(b[i], (uint8_t)(seed + (from + i) * 7), "byte %zu", from + i);
}

Test(pipekeep, slots_cover_any_start)
{
    cr_assert_eq(pk_slots(1), 2);
    cr_assert_eq(pk_slots(4096), 2);
    cr_assert_eq(pk_slots(4097), 3);
    cr_assert_eq(pk_slots(118784), 30); /* 29 pages, maybe straddling one more */
    cr_assert_eq(pk_slots((1u << 20) - 4096), 256);
}

Test(pipekeep, copies_leave_the_source_and_come_back_in_order)
{
    struct pipekeep k;
    pk_init(&k, 1 << 20);
    int src[2];
    fill_pipe(src, 300000, 3);
    /* Three runs, the middle one starting inside a page. */
    uint32_t len[3] = {100000, 77777, 122223};
    int p[3];
    size_t at = 0;
    for (int i = 0; i < 3; i++) {
        p[i] = pk_reserve(&k, pk_slots(len[i]));
        cr_assert_geq(p[i], 0);
        cr_assert_eq(pk_put(&k, p[i], src[0], len[i]), 0);
        /* The source still has the run: read it as a splice would take it. */
        uint8_t *b = malloc(len[i]);
        cr_assert_eq(pipe_read_n(src[0], b, len[i]), 0);
        check_pattern(b, len[i], at, 3);
        free(b);
        at += len[i];
    }
    /* Back from the keep, oldest first: the first taken, the second
     * dropped, the third taken. */
    uint8_t *b = malloc(len[0]);
    cr_assert_eq(pk_take(&k, p[0], b, len[0]), 0);
    check_pattern(b, len[0], 0, 3);
    free(b);
    pk_release(&k, p[0], pk_slots(len[0]));
    cr_assert_eq(pk_drop(&k, p[1], len[1]), 0);
    pk_release(&k, p[1], pk_slots(len[1]));
    b = malloc(len[2]);
    cr_assert_eq(pk_take(&k, p[2], b, len[2]), 0);
    check_pattern(b, len[2], len[0] + len[1], 3);
    free(b);
    pk_release(&k, p[2], pk_slots(len[2]));
    for (int i = 0; i < PK_PIPES; i++)
        cr_assert_eq(k.used[i], 0);
    close(src[0]);
    close(src[1]);
    pk_close(&k);
}

Test(pipekeep, room_is_reserved_and_comes_back)
{
    struct pipekeep k;
    pk_init(&k, 1 << 20);
    /* The pipes hold 256 slots or more (more with CAP_SYS_RESOURCE). */
    uint32_t run = pk_slots(118784);
    int n = 0, p;
    while ((p = pk_reserve(&k, run)) >= 0)
        n++;
    cr_assert_eq(p, -1, "full pipes wait for room, they do not refuse");
    cr_assert_geq(n, PK_PIPES * (256 / (int)run));
    pk_release(&k, 0, run);
    cr_assert_eq(pk_reserve(&k, run), 0, "released room is found again");
    pk_close(&k);
    cr_assert_geq(pk_reserve(&k, run), 0, "a closed keep starts empty");
    pk_close(&k);
}

Test(pipekeep, a_run_no_pipe_can_hold_is_refused)
{
    struct pipekeep k;
    pk_init(&k, 1 << 20);
    cr_assert_geq(pk_reserve(&k, pk_slots(4096)), 0);
    uint32_t cap = k.cap[0];
    cr_assert_eq(pk_reserve(&k, cap + 1), -2);
    pk_close(&k);
}

Test(pipekeep, a_keep_that_lost_track_refuses_until_closed)
{
    struct pipekeep k;
    pk_init(&k, 1 << 20);
    int src[2];
    fill_pipe(src, 8192, 1);
    int p = pk_reserve(&k, pk_slots(8192));
    cr_assert_geq(p, 0);
    cr_assert_eq(pk_put(&k, p, src[0], 8192), 0);
    /* Taking more than was put: the pipe runs dry. */
    uint8_t b[16384];
    cr_assert_eq(pk_take(&k, p, b, sizeof(b)), -EIO);
    cr_assert_eq(pk_reserve(&k, pk_slots(4096)), -2);
    cr_assert_eq(pk_put(&k, p, src[0], 4096), -EIO);
    pk_close(&k);
    cr_assert_geq(pk_reserve(&k, pk_slots(4096)), 0);
    pk_close(&k);
    close(src[0]);
    close(src[1]);
}

Test(pipekeep, a_copy_of_more_than_the_source_holds_fails_whole)
{
    struct pipekeep k;
    pk_init(&k, 1 << 20);
    int src[2];
    fill_pipe(src, 4096, 1);
    int p = pk_reserve(&k, pk_slots(8192));
    cr_assert_geq(p, 0);
    /* tee copies what there is: part of a run is no copy. */
    cr_assert_eq(pk_put(&k, p, src[0], 8192), -EIO);
    cr_assert_eq(pk_reserve(&k, pk_slots(4096)), -2, "a partial copy leaves the keep out of step");
    pk_close(&k);
    close(src[0]);
    close(src[1]);
}

Test(pipekeep, pipe_helpers_never_wait)
{
    int fd[2];
    fill_pipe(fd, 1000, 5);
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    cr_assert_geq(null_fd, 0);
    cr_assert_eq(pipe_skip_n(fd[0], null_fd, 600), 0);
    uint8_t b[400];
    cr_assert_eq(pipe_read_n(fd[0], b, sizeof(b)), 0);
    check_pattern(b, sizeof(b), 600, 5);
    /* Empty now (and a writer still open): an error, not a wait. */
    cr_assert_eq(pipe_read_n(fd[0], b, 1), -EIO);
    cr_assert_eq(pipe_skip_n(fd[0], null_fd, 1), -EIO);
    close(null_fd);
    close(fd[0]);
    close(fd[1]);
}
