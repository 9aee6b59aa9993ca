/* libFuzzer: the print queue decoders (RAP DosPrintJobEnum level 2,
 * spoolss EnumJobs JOB_INFO_2). The first byte picks one; for RAP the next
 * 8 bytes are the parameter block and the rest the data block; for spoolss
 * the next 2 bytes are the job count. Decoded strings must be terminated
 * within their fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/print_queue.h"
#include "rpc/spoolss.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check(void *ctx, const struct smb1_print_job_info *ji)
{
    (void)ctx;
    if (!memchr(ji->name, 0, sizeof(ji->name)) || !memchr(ji->user, 0, sizeof(ji->user)))
        __builtin_trap();
    if (ji->status > SMB1_JOB_ERROR)
        __builtin_trap();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    uint8_t *p = malloc(size);
    if (!p)
        return 0;
    memcpy(p, data, size);
    if (p[0] & 1) {
        uint32_t count = (uint32_t)p[1] | (uint32_t)p[2] << 8;
        (void)spoolss_jobs2_decode(p + 3, size - 3, count, check, NULL);
    } else if (size >= 9) {
        (void)printq_rap_decode(p + 1, 8, p + 9, size - 9, check, NULL);
    }
    free(p);
    return 0;
}
