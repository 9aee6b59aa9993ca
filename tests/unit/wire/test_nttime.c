/* nttime: FILETIME <-> timespec at the epoch, known dates, before 1970. */
#include <criterion/criterion.h>

#include "wire/nttime.h"

Test(nttime, unix_epoch)
{
    struct timespec ts = nttime_to_timespec(NTTIME_UNIX_EPOCH);
    cr_assert_eq(ts.tv_sec, 0);
    cr_assert_eq(ts.tv_nsec, 0);
    cr_assert_eq(nttime_from_timespec((struct timespec){0, 0}), NTTIME_UNIX_EPOCH);
    /* 11644473600 s between 1601-01-01 and 1970-01-01. */
    cr_assert_eq(NTTIME_UNIX_EPOCH, 11644473600ull * 10000000ull);
}

Test(nttime, known_date)
{
    /* 2000-01-01T00:00:00Z = 946684800 */
    uint64_t ft = 125911584000000000ull;
    struct timespec ts = nttime_to_timespec(ft);
    cr_assert_eq(ts.tv_sec, 946684800);
    cr_assert_eq(ts.tv_nsec, 0);
    cr_assert_eq(nttime_from_timespec(ts), ft);
    ts = nttime_to_timespec(ft + 1234567);
    cr_assert_eq(ts.tv_sec, 946684800);
    cr_assert_eq(ts.tv_nsec, 123456700);
}

Test(nttime, round_trip)
{
    static const struct timespec v[] = {
        {1, 100}, {1700000000, 999999900}, {4102444800, 500}, {86399, 0}, {0, 100},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct timespec back = nttime_to_timespec(nttime_from_timespec(v[i]));
        cr_assert_eq(back.tv_sec, v[i].tv_sec, "case %zu", i);
        cr_assert_eq(back.tv_nsec, v[i].tv_nsec, "case %zu", i);
    }
    /* Sub-100 ns is below FILETIME resolution: truncated. */
    struct timespec back = nttime_to_timespec(nttime_from_timespec((struct timespec){5, 199}));
    cr_assert_eq(back.tv_nsec, 100);
}

Test(nttime, before_1970)
{
    struct timespec ts = nttime_to_timespec(NTTIME_UNIX_EPOCH - 1);
    cr_assert_eq(ts.tv_sec, -1);
    cr_assert_eq(ts.tv_nsec, 999999900);
    cr_assert_eq(nttime_from_timespec(ts), NTTIME_UNIX_EPOCH - 1);

    ts = nttime_to_timespec(NTTIME_UNIX_EPOCH - 10000000);
    cr_assert_eq(ts.tv_sec, -1);
    cr_assert_eq(ts.tv_nsec, 0);

    /* 1969-07-20T20:17:40Z = -14182940 */
    uint64_t ft = NTTIME_UNIX_EPOCH - 14182940ull * 10000000ull;
    ts = nttime_to_timespec(ft);
    cr_assert_eq(ts.tv_sec, -14182940);
    cr_assert_eq(ts.tv_nsec, 0);
    cr_assert_eq(nttime_from_timespec(ts), ft);

    ts = nttime_to_timespec(0);
    cr_assert_eq(ts.tv_sec, -11644473600LL);
    cr_assert_eq(ts.tv_nsec, 0);
    cr_assert_eq(nttime_from_timespec(ts), 0);
    /* Before 1601 cannot be expressed: clamps to 0. */
    cr_assert_eq(nttime_from_timespec((struct timespec){-11644473601LL, 0}), 0);
}

Test(nttime, far_future_is_clamped)
{
    /* touch -d 'year 300000' on the mount: no signed overflow (UBSan), and
     * never a wrapped value that would set a date in the past. */
    static const time_t far[] = {(time_t)1 << 40, (time_t)1 << 50, INT64_MAX, 922337203685};
    for (size_t i = 0; i < sizeof(far) / sizeof(far[0]); i++)
        cr_assert_eq(nttime_from_timespec((struct timespec){far[i], 999999999}), NTTIME_MAX,
                     "case %zu", i);
    struct timespec back = nttime_to_timespec(NTTIME_MAX);
    cr_assert_gt(back.tv_sec, (time_t)900000000000);
    cr_assert_eq(nttime_from_timespec((struct timespec){INT64_MIN, 0}), 0);
    /* The last second before the clamp still converts exactly. */
    struct timespec edge = {back.tv_sec - 1, 500};
    cr_assert_eq(nttime_to_timespec(nttime_from_timespec(edge)).tv_sec, edge.tv_sec);
}
