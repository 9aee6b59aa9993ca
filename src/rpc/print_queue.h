/* A printer's queue: RAP DosPrintJobEnum (level 2, "WWzWWDDzz") and
 * DosPrintJobDel (MS-RAP 2.5.7.5) on the server's IPC$ tree; spoolss
 * EnumJobs (MS-RPRN 3.1.4.3.3, JOB_INFO_1) where the server has no RAP.
 * The decoders validate a whole reply before the callback sees any of it.
 */
#ifndef SMBFUSE_PRINT_QUEUE_H
#define SMBFUSE_PRINT_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "smb1.h"

#define PRINTQ_RAP_JOB2_LEN 28 /* PRJINFO_2: W W z W W D D z z */
#define PRINTQ_RAP_RECV_BUF 0xFFE0u
#define PRINTQ_MAX_JOBS     4096

/* Decodes a DosPrintJobEnum level-2 reply (its parameter and data
 * blocks). With cb NULL it only validates. Returns 0, cb's non-zero
 * return, -EIO for a malformed reply, or the RAP status as -errno. */
int printq_rap_decode(const uint8_t *param, size_t plen, const uint8_t *data, size_t dlen,
                      smb1_job_cb cb, void *ctx);

/* Builds the DosPrintJobEnum request for queue into buf (cap bytes);
 * returns its length or -ENAMETOOLONG. */
int printq_rap_enum_req(const char *queue, uint8_t *buf, size_t cap);

/* The RAP job status word (PRJ_QS_*, MS-RAP 2.5.10.1) as ours. */
enum smb1_job_status printq_rap_status(uint16_t st);

#endif
