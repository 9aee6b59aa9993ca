/* FILETIME (100 ns since 1601-01-01 UTC) <-> struct timespec. */
#ifndef SMBFUSE_NTTIME_H
#define SMBFUSE_NTTIME_H

#include <stdint.h>
#include <time.h>

#define NTTIME_UNIX_EPOCH 116444736000000000ull
/* The largest FILETIME (MS-DTYP 2.3.3: a signed 64-bit count). */
#define NTTIME_MAX 0x7FFFFFFFFFFFFFFFull

struct timespec nttime_to_timespec(uint64_t ft);
/* Times beyond NTTIME_MAX are clamped to it, times before 1601 give 0. */
uint64_t nttime_from_timespec(struct timespec ts);

#endif
