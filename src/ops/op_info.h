/* QUERY/SET_PATH_INFORMATION, QUERY/SET_FILE_INFORMATION and
 * QUERY_FS_INFORMATION (MS-CIFS 2.2.6.4-2.2.6.9, 2.2.8.x), the decoders of
 * their records, and the per-tree state of the operation layer.
 */
#ifndef SMBFUSE_OP_INFO_H
#define SMBFUSE_OP_INFO_H

#include <stddef.h>
#include <stdint.h>

#include "session/conn.h"
#include "smb1.h"
#include "ops/trans.h"

/* Information levels (MS-CIFS 2.2.2.3; pass-through MS-SMB 2.2.2.3.5) */
#define SMB_INFO_STANDARD             0x0001
#define SMB_INFO_SET_EAS              0x0002
#define SMB_INFO_QUERY_ALL_EAS        0x0004
#define SMB_QUERY_FS_SIZE_INFO        0x0103
#define SMB_QUERY_FS_ATTRIBUTE_INFO   0x0105
#define SMB_QUERY_FILE_BASIC_INFO     0x0101
#define SMB_QUERY_FILE_STANDARD_INFO  0x0102
#define SMB_QUERY_FILE_ALL_INFO       0x0107
#define SMB_SET_FILE_BASIC_INFO       0x0101
#define SMB_SET_FILE_DISPOSITION_INFO 0x0102
#define SMB_SET_FILE_END_OF_FILE_INFO 0x0104
#define SMB_PASSTHRU_FS_FULL_SIZE     1007 /* FileFsFullSizeInformation */
#define SMB_PASSTHRU_FILE_RENAME      1010 /* FileRenameInformation */

#define INFO_ALL_MIN_LEN 72 /* SMB_QUERY_FILE_ALL_INFO up to FileNameLength */
#define INFO_BASIC_LEN   40 /* SMB_QUERY/SET_FILE_BASIC_INFO */
/* Reply data we accept for a plain query: ALL_INFO carries the file's
 * name, up to PATH_MAX characters of UTF-16. */
#define INFO_MAX_DATA 16384

/* Decoders; each returns 0 or -EIO for a short or inconsistent record. */
int info_decode_all(const uint8_t *d, size_t n, struct smb1_stat *st);
int info_decode_basic(const uint8_t *d, size_t n, struct smb1_stat *st);
int info_decode_standard(const uint8_t *d, size_t n, struct smb1_stat *st);
int info_decode_fs_size(const uint8_t *d, size_t n, struct smb1_statfs *sf);
int info_decode_fs_full_size(const uint8_t *d, size_t n, struct smb1_statfs *sf);
/* Sets the DOS attributes of path (SMB_SET_FILE_BASIC_INFO; 0 is sent as
 * NORMAL, which the server reads as "none"). 0 or -errno. */
int info_set_attrs(struct smb1_tree *t, const char *path, uint32_t attrs);
/* For a delete the server refused: clears the read-only attribute of the
 * file path, with *attrs the attributes it had, to put back should the
 * delete fail again. -EACCES when it is not a read-only file. */
int info_clear_readonly(struct smb1_tree *t, const char *path, uint32_t *attrs);
/* Decodes a stat reply of level (UNIX_BASIC or ALL_INFO) into st. */
int info_decode_stat(uint16_t level, const struct trans_resp *rs, struct smb1_stat *st);
int info_decode_fs_attr(const uint8_t *d, size_t n, uint32_t *attrs, uint32_t *name_max);
/* Fills the synthesized mode of a stat without UNIX information. */
void info_synth_mode(struct smb1_stat *st);

/* QUERY_PATH_INFORMATION at level: on 0, rs holds the reply (status
 * success); otherwise the status mapped to -errno (rs->status keeps it)
 * or a transport error. */
int info_query_path(struct smb1_tree *t, const char *path, uint16_t level, uint32_t max_data,
                    struct trans_resp *rs);
int info_query_fid_at(struct smb1_tree *t, uint16_t fid, uint16_t level, uint32_t max_data,
                      struct trans_resp *rs, uint64_t epoch);
int info_set_fid_at(struct smb1_tree *t, uint16_t fid, uint16_t level, const void *data,
                    uint32_t len, uint32_t *status, uint64_t epoch);
/* The parameter block of QUERY/SET_PATH_INFORMATION (MS-CIFS 2.2.6.6.1,
 * 2.2.6.7.1): InformationLevel, Reserved, then the path; *out (free() it)
 * is *len bytes. Errors: path_to_wire_alloc's. */
int info_path_params(struct smb1_tree *t, uint16_t level, const char *path, uint8_t **out,
                     uint32_t *len);
/* SET_PATH/FILE_INFORMATION; *status (if not NULL) receives the reply's
 * status so callers can apply their own mapping. rs (if not NULL) receives
 * the reply blocks. */
int info_set_path(struct smb1_tree *t, const char *path, uint16_t level, const void *data,
                  uint32_t len, uint32_t *status, struct trans_resp *rs);

/* SET_FILE_BASIC_INFO record: times NULL (or UTIME_OMIT) are left
 * unchanged; attrs 0 leaves the attributes. */
void info_encode_basic(uint8_t out[INFO_BASIC_LEN], const struct timespec *atime,
                       const struct timespec *mtime, uint32_t attrs);

/* Status -> errno for an operation that named path: OBJECT_PATH_NOT_FOUND
 * becomes -ENOTDIR when an existing ancestor is not a directory. */
int info_path_errno(struct smb1_tree *t, const char *path, uint32_t status);

#endif
