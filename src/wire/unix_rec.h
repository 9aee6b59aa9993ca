/* CIFS UNIX extensions on the wire (Samba wiki "UNIX Extensions"; SNIA
 * CIFS UNIX Extensions draft; DIGEST.md section 9): capability bits,
 * information levels, POSIX open flags, and the FILE_UNIX_BASIC_INFO
 * record's checked decoder and encoder. Pure: no tree, no request.
 */
#ifndef SMBFUSE_UNIX_REC_H
#define SMBFUSE_UNIX_REC_H

#include <stdint.h>
#include <time.h>

#include "smb1.h"
#include "wire/wire.h"

/* Capability bits of SMB_QUERY_CIFS_UNIX_INFO */
#define UNIX_CAP_FCNTL_LOCKS           0x0001
#define UNIX_CAP_POSIX_ACLS            0x0002
#define UNIX_CAP_XATTR                 0x0004
#define UNIX_CAP_EXTATTR               0x0008
#define UNIX_CAP_POSIX_PATHNAMES       0x0010
#define UNIX_CAP_POSIX_PATH_OPERATIONS 0x0020
#define UNIX_CAP_LARGE_READ            0x0040
#define UNIX_CAP_LARGE_WRITE           0x0080

/* Information levels */
#define SMB_QUERY_CIFS_UNIX_INFO  0x0200 /* QUERY_FS_INFORMATION */
#define SMB_SET_CIFS_UNIX_INFO    0x0200 /* SET_FS_INFORMATION */
#define SMB_QUERY_FILE_UNIX_BASIC 0x0200
#define SMB_QUERY_FILE_UNIX_LINK  0x0201
#define SMB_SET_FILE_UNIX_BASIC   0x0200
#define SMB_SET_FILE_UNIX_LINK    0x0201
#define SMB_SET_FILE_UNIX_HLINK   0x0203
#define SMB_POSIX_PATH_OPEN       0x0209
#define SMB_POSIX_PATH_UNLINK     0x020A
#define SMB_FIND_FILE_UNIX        0x0202

#define UNIX_BASIC_LEN 100
/* "Leave unchanged" in SMB_SET_FILE_UNIX_BASIC */
#define UNIX_NO_CHANGE64 0xFFFFFFFFFFFFFFFFull

/* FILE_UNIX_BASIC_INFO Type */
enum unix_type {
    UNIX_TYPE_FILE = 0,
    UNIX_TYPE_DIR,
    UNIX_TYPE_SYMLINK,
    UNIX_TYPE_CHARDEV,
    UNIX_TYPE_BLKDEV,
    UNIX_TYPE_FIFO,
    UNIX_TYPE_SOCKET,
};

/* POSIX open flags (SMB_POSIX_PATH_OPEN) */
#define SMB_O_RDONLY    0x0001
#define SMB_O_WRONLY    0x0002
#define SMB_O_RDWR      0x0004
#define SMB_O_CREAT     0x0010
#define SMB_O_EXCL      0x0020
#define SMB_O_TRUNC     0x0040
#define SMB_O_APPEND    0x0080
#define SMB_O_DIRECTORY 0x0200

/* Decodes a FILE_UNIX_BASIC_INFO record (100 bytes) from r into st
 * (is_dir, has_unix, mode with type bits, sizes, times, ids). Returns 0 or
 * -EIO when r is short. */
int unix_basic_decode(struct wire_reader *r, struct smb1_stat *st);

/* Encodes a SMB_SET_FILE_UNIX_BASIC record: every field "unchanged"
 * except those given (size/uid/gid/perms: UNIX_NO_CHANGE64 to leave;
 * times: NULL to leave). */
void unix_basic_encode_set(uint8_t out[UNIX_BASIC_LEN], uint64_t size, const struct timespec *atime,
                           const struct timespec *mtime, uint64_t uid, uint64_t gid,
                           uint64_t perms);

/* The record that makes a special file where path names nothing yet
 * (cifs.ko's mknod with UNIX extensions; Samba's smb_unix_mknod): type,
 * device numbers for CHARDEV/BLKDEV, permission bits; the rest unchanged. */
void unix_basic_encode_mknod(uint8_t out[UNIX_BASIC_LEN], enum unix_type type, uint64_t major,
                             uint64_t minor, uint64_t perms);

#endif
