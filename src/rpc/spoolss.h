/* spoolss (MS-RPRN) over \PIPE\spoolss: the calls a print queue needs.
 * RpcOpenPrinter with PRINTER_ACCESS_USE (MAXIMUM_ALLOWED is refused to
 * ordinary users), RpcEnumJobs level 2, RpcSetJob(JOB_CONTROL_DELETE),
 * RpcClosePrinter. */
#ifndef SMBFUSE_SPOOLSS_H
#define SMBFUSE_SPOOLSS_H

#include <stddef.h>
#include <stdint.h>

#include "smb1.h"

#define SPOOLSS_JOB_INFO_2_LEN 104 /* MS-RPRN 2.2.2.5 custom-marshaled JOB_INFO_2 */

/* Decodes the buffer of an RpcEnumJobs level-2 reply holding count
 * entries. With cb NULL it only validates. 0, cb's non-zero return, or
 * -EIO. */
int spoolss_jobs2_decode(const uint8_t *buf, size_t len, uint32_t count, smb1_job_cb cb, void *ctx);
/* An EnumJobs reply stub: the JOB_INFO block (*jobs, *jlen: inside stub,
 * or NULL and 0), pcReturned and the WERROR; 0 or -EIO when it is short. */
int spoolss_enum_jobs_stub(const uint8_t *stub, size_t n, const uint8_t **jobs, uint32_t *jlen,
                           uint32_t *returned, uint32_t *werr);

/* The queue of printer (a share name; the server is the one of ipc). */
int spoolss_enum_jobs(struct smb1_tree *ipc, const char *printer, smb1_job_cb cb, void *ctx);
/* Deletes job id from printer's queue. -EPERM refused, -ENOENT no such
 * job. */
int spoolss_delete_job(struct smb1_tree *ipc, const char *printer, uint32_t id);

#endif
