/* FILETIME (100 ns since 1601-01-01 UTC) <-> struct timespec. */
#ifndef SMBFUSE_NTTIME_H
#define SMBFUSE_NTTIME_H

#include <stdint.h>
#include <time.h>

#define NTTIME_UNIX_EPOCH 116444736000000000ull

struct timespec nttime_to_timespec(uint64_t ft);
uint64_t nttime_from_timespec(struct timespec ts);

#endif
