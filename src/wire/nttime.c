#include "wire/nttime.h"

struct timespec nttime_to_timespec(uint64_t ft)
{
    struct timespec ts;
    if (ft < NTTIME_UNIX_EPOCH) {
        /* Before 1970: rare, but keep the arithmetic signed and exact. */
        uint64_t back = NTTIME_UNIX_EPOCH - ft;
        ts.tv_sec = -(time_t)((back + 9999999) / 10000000);
        ts.tv_nsec = (long)(((uint64_t)(-ts.tv_sec) * 10000000 - back) * 100);
        return ts;
    }
    uint64_t d = ft - NTTIME_UNIX_EPOCH;
    ts.tv_sec = (time_t)(d / 10000000);
    ts.tv_nsec = (long)(d % 10000000) * 100;
    return ts;
}

uint64_t nttime_from_timespec(struct timespec ts)
{
    /* Seconds beyond what a FILETIME holds (about year 30828) would
     * overflow the multiplication: clamp to the last valid FILETIME, which
     * is neither 0 nor -1 (both mean "leave unchanged" in a SET_INFO). */
    const int64_t max_s = (int64_t)((NTTIME_MAX - NTTIME_UNIX_EPOCH) / 10000000);
    const int64_t min_s = -(int64_t)(NTTIME_UNIX_EPOCH / 10000000);
    if (ts.tv_sec >= max_s)
        return NTTIME_MAX;
    if (ts.tv_sec < min_s)
        return 0;
    long ns = ts.tv_nsec;
    if (ns < 0 || ns >= 1000000000L)
        ns = 0;
    int64_t ticks = (int64_t)ts.tv_sec * 10000000 + ns / 100;
    if (ticks < -(int64_t)NTTIME_UNIX_EPOCH)
        return 0;
    return (uint64_t)(ticks + (int64_t)NTTIME_UNIX_EPOCH);
}
