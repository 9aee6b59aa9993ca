/* NTSTATUS and DOS error codes: the one mapping to errno, and names for logs. */
#ifndef SMBFUSE_NTSTATUS_H
#define SMBFUSE_NTSTATUS_H

#include <stdint.h>

/* DOS error class/code folded into a 32-bit status, as Samba does. */
#define NT_STATUS_DOS(cls, code) (0xF1000000u | ((uint32_t)(cls) << 16) | (code))
#define NT_STATUS_IS_DOS(s)      (((s)&0xFF000000u) == 0xF1000000u)

/* clang-format off */
#define NT_STATUS_OK                        0x00000000u
#define NT_STATUS_NOTIFY_ENUM_DIR           0x0000010Cu
#define NT_STATUS_BUFFER_OVERFLOW           0x80000005u
#define NT_STATUS_NO_MORE_FILES             0x80000006u
#define NT_STATUS_STOPPED_ON_SYMLINK        0x8000002Du
#define NT_STATUS_UNSUCCESSFUL              0xC0000001u
#define NT_STATUS_NOT_IMPLEMENTED           0xC0000002u
#define NT_STATUS_INVALID_INFO_CLASS        0xC0000003u
#define NT_STATUS_INVALID_HANDLE            0xC0000008u
#define NT_STATUS_INVALID_PARAMETER         0xC000000Du
#define NT_STATUS_NO_SUCH_FILE              0xC000000Fu
#define NT_STATUS_INTERNAL_ERROR            0xC00000E5u
#define NT_STATUS_INVALID_DEVICE_REQUEST    0xC0000010u
#define NT_STATUS_END_OF_FILE               0xC0000011u
#define NT_STATUS_INVALID_LOCK_SEQUENCE     0xC000001Eu
#define NT_STATUS_MORE_PROCESSING_REQUIRED  0xC0000016u
#define NT_STATUS_NO_MEMORY                 0xC0000017u
#define NT_STATUS_ACCESS_DENIED             0xC0000022u
#define NT_STATUS_BUFFER_TOO_SMALL          0xC0000023u
#define NT_STATUS_OBJECT_NAME_INVALID       0xC0000033u
#define NT_STATUS_OBJECT_NAME_NOT_FOUND     0xC0000034u
#define NT_STATUS_OBJECT_NAME_COLLISION     0xC0000035u
#define NT_STATUS_OBJECT_PATH_INVALID       0xC0000039u
#define NT_STATUS_OBJECT_PATH_NOT_FOUND     0xC000003Au
#define NT_STATUS_OBJECT_PATH_SYNTAX_BAD    0xC000003Bu
#define NT_STATUS_SHARING_VIOLATION         0xC0000043u
#define NT_STATUS_QUOTA_EXCEEDED            0xC0000044u
#define NT_STATUS_EAS_NOT_SUPPORTED         0xC000004Fu
#define NT_STATUS_EA_TOO_LARGE              0xC0000050u
#define NT_STATUS_NONEXISTENT_EA_ENTRY      0xC0000051u
#define NT_STATUS_NO_EAS_ON_FILE            0xC0000052u
#define NT_STATUS_FILE_LOCK_CONFLICT        0xC0000054u
#define NT_STATUS_LOCK_NOT_GRANTED          0xC0000055u
#define NT_STATUS_DELETE_PENDING            0xC0000056u
#define NT_STATUS_PRIVILEGE_NOT_HELD        0xC0000061u
#define NT_STATUS_NO_SUCH_USER              0xC0000064u
#define NT_STATUS_WRONG_PASSWORD            0xC000006Au
#define NT_STATUS_LOGON_FAILURE             0xC000006Du
#define NT_STATUS_ACCOUNT_RESTRICTION       0xC000006Eu
#define NT_STATUS_INVALID_LOGON_HOURS       0xC000006Fu
#define NT_STATUS_INVALID_WORKSTATION       0xC0000070u
#define NT_STATUS_PASSWORD_EXPIRED          0xC0000071u
#define NT_STATUS_ACCOUNT_DISABLED          0xC0000072u
#define NT_STATUS_RANGE_NOT_LOCKED          0xC000007Eu
#define NT_STATUS_DISK_FULL                 0xC000007Fu
#define NT_STATUS_INSUFFICIENT_RESOURCES    0xC000009Au
#define NT_STATUS_MEDIA_WRITE_PROTECTED     0xC00000A2u
#define NT_STATUS_IO_TIMEOUT                0xC00000B5u
#define NT_STATUS_FILE_IS_A_DIRECTORY       0xC00000BAu
#define NT_STATUS_NOT_SUPPORTED             0xC00000BBu
#define NT_STATUS_NETWORK_NAME_DELETED      0xC00000C9u
#define NT_STATUS_NETWORK_ACCESS_DENIED     0xC00000CAu
#define NT_STATUS_BAD_NETWORK_NAME          0xC00000CCu
#define NT_STATUS_REQUEST_NOT_ACCEPTED      0xC00000D0u
#define NT_STATUS_NOT_SAME_DEVICE           0xC00000D4u
#define NT_STATUS_FILE_RENAMED              0xC00000D5u
#define NT_STATUS_DIRECTORY_NOT_EMPTY       0xC0000101u
#define NT_STATUS_NOT_A_DIRECTORY           0xC0000103u
#define NT_STATUS_NAME_TOO_LONG             0xC0000106u
#define NT_STATUS_TOO_MANY_OPENED_FILES     0xC000011Fu
#define NT_STATUS_CANCELLED                 0xC0000120u
#define NT_STATUS_PIPE_BROKEN               0xC000014Bu
#define NT_STATUS_LOGON_TYPE_NOT_GRANTED    0xC000015Bu
#define NT_STATUS_ACCOUNT_EXPIRED           0xC0000193u
#define NT_STATUS_CANNOT_DELETE             0xC0000121u
#define NT_STATUS_FILE_CLOSED               0xC0000128u
#define NT_STATUS_USER_SESSION_DELETED      0xC0000203u
#define NT_STATUS_PASSWORD_MUST_CHANGE      0xC0000224u
#define NT_STATUS_NOT_FOUND                 0xC0000225u
#define NT_STATUS_ACCOUNT_LOCKED_OUT        0xC0000234u
#define NT_STATUS_TOO_MANY_LINKS            0xC0000265u
#define NT_STATUS_NETWORK_SESSION_EXPIRED   0xC000035Cu
/* clang-format on */

/* Negative errno for a status (0 for success; -EIO for unknown). Handles
 * DOS errors folded in with NT_STATUS_DOS() (those ntstatus_from_dos could
 * not translate are unknown: -EIO). The statuses that mean "the server
 * forgot our tree or session" (NETWORK_NAME_DELETED, USER_SESSION_DELETED,
 * NETWORK_SESSION_EXPIRED) give -ECONNRESET: reconnect and retry. The
 * wrong-password family gives -EACCES. NOT_IMPLEMENTED gives -EOPNOTSUPP,
 * never -ENOSYS, which FUSE would take as "never call this again". */
int ntstatus_to_errno(uint32_t status);
/* "OBJECT_NAME_NOT_FOUND", or "UNKNOWN" (log the hex value too). Never NULL. */
const char *ntstatus_name(uint32_t status);
/* Maps a DOS class/code pair to the equivalent NTSTATUS where one exists,
 * else NT_STATUS_DOS(cls, code). */
uint32_t ntstatus_from_dos(uint8_t cls, uint16_t code);

#endif
