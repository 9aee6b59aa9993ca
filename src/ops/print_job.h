/* Print jobs on a printer tree (MS-CIFS 3.2.4.29): the spool file is
 * created with NT_CREATE_ANDX (the name becomes the document name), or
 * with SMB_COM_OPEN_PRINT_FILE (2.2.4.67) on servers that refuse that;
 * data goes in with WRITE_ANDX like any file (op_file.c's pipelined
 * writes), and the job is queued when the FID is closed (CLOSE, or
 * CLOSE_PRINT_FILE 2.2.4.69 for a file opened the old way).
 *
 * A job cannot survive a reconnection: the server deletes or prints
 * what it had when the connection died, and opening the name again
 * would start a second job. So the spool file is never reopened; a lost
 * connection fails the job (-EIO) and it is not submitted again.
 *
 * Abandoning a job (its writes failed, or the program gave up on it): the
 * spool file is marked delete-on-close, which Samba takes as "cancel this
 * job" (its only way to abandon a job it cannot be told the id of), and
 * when the server refuses that, the job is deleted by the id it told
 * (SMB_COM_IOCTL category 0x53 function 0x60; RAP DosPrintJobDel) before
 * its FID is closed. A server that allows neither prints what it got; the
 * log says the job could not be cancelled.
 */
#ifndef SMBFUSE_PRINT_JOB_H
#define SMBFUSE_PRINT_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smb1.h"

#define PRINT_IOCTL_CATEGORY 0x53 /* printer device (Samba's IOCTL_QUERY_JOB_INFO) */
#define PRINT_IOCTL_JOB_INFO 0x60
#define PRINT_IOCTL_REPLY    32 /* job id (2), server name (16), share name (14) */

struct msg_in;

/* The parts of a job the queue layer (rpc/print_queue.c: close, abort)
 * needs. print_job_end closes the spool file (submitting the job unless
 * it was cancelled) and frees j; 0 or -errno. */
bool print_job_failed(const struct smb1_print_job *j);
struct smb1_tree *print_job_tree(const struct smb1_print_job *j);
int print_job_end(struct smb1_print_job *j);
/* Marks the spool file delete-on-close (SET_FILE_DISPOSITION_INFO on its
 * FID): Samba then deletes the job at close instead of queueing it. */
int print_job_cancel_on_close(struct smb1_print_job *j);

/* Decodes an IOCTL_QUERY_JOB_INFO reply: the job id (> 0), or -EIO. */
int print_ioctl_job_id(const struct msg_in *resp);

#endif
