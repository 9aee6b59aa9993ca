/* The monotonic clock: the one clock of every timeout, deadline and age
 * in the core (CLOCK_MONOTONIC: never set back, not stopped by a wall
 * clock change). Condition variables that wait on its deadlines are made
 * with pthread_condattr_setclock(CLOCK_MONOTONIC). */
#ifndef SMBFUSE_CLOCK_H
#define SMBFUSE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Now, in nanoseconds. */
static inline uint64_t clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Now, in milliseconds. */
static inline int64_t clock_mono_ms(void)
{
    return (int64_t)(clock_mono_ns() / 1000000u);
}

/* *ts = ms milliseconds from now on clock id (ms >= 0), for
 * pthread_cond_timedwait on a condition variable of that clock. */
static inline void clock_after(clockid_t id, struct timespec *ts, int ms)
{
    clock_gettime(id, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* The same on the monotonic clock, the core's. */
static inline void clock_mono_after(struct timespec *ts, int ms)
{
    clock_after(CLOCK_MONOTONIC, ts, ms);
}

/* a is earlier than b. */
static inline bool clock_ts_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* The monotonic deadline dl has passed. */
static inline bool clock_mono_passed(const struct timespec *dl)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return !clock_ts_before(&now, dl);
}

#endif
