/* ntstatus: every status of DIGEST 10 (and ntstatus.h) maps to the errno
 * written here and has its name; DOS class/code pairs translate; unknown
 * values give -EIO. */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "link/msg.h"
#include "wire/ntstatus.h"

struct want {
    uint32_t status;
    int err;
    const char *name;
};

/* clang-format off */
#define W(s, e) {NT_STATUS_##s, e, #s}
/* clang-format on */

/* DIGEST 10's errno column, with our departures: NOT_IMPLEMENTED gives
 * EOPNOTSUPP (FUSE caches ENOSYS), and the "reconnect / re-auth" rows give
 * ECONNRESET (what the connection layer acts on). */
static const struct want table[] = {
    W(OK, 0),
    W(NOTIFY_ENUM_DIR, -EAGAIN),
    W(BUFFER_OVERFLOW, -EOVERFLOW),
    W(NO_MORE_FILES, -ENOENT),
    W(STOPPED_ON_SYMLINK, -ELOOP),
    W(UNSUCCESSFUL, -EIO),
    W(NOT_IMPLEMENTED, -EOPNOTSUPP),
    W(INVALID_INFO_CLASS, -EOPNOTSUPP),
    W(INVALID_HANDLE, -EBADF),
    W(INVALID_PARAMETER, -EINVAL),
    W(NO_SUCH_FILE, -ENOENT),
    W(INVALID_DEVICE_REQUEST, -EOPNOTSUPP),
    W(END_OF_FILE, -ENODATA),
    W(INVALID_LOCK_SEQUENCE, -EINVAL),
    W(MORE_PROCESSING_REQUIRED, -EAGAIN),
    W(NO_MEMORY, -ENOMEM),
    W(ACCESS_DENIED, -EACCES),
    W(BUFFER_TOO_SMALL, -ERANGE),
    W(OBJECT_NAME_INVALID, -EINVAL),
    W(OBJECT_NAME_NOT_FOUND, -ENOENT),
    W(OBJECT_NAME_COLLISION, -EEXIST),
    W(OBJECT_PATH_INVALID, -ENOTDIR),
    W(OBJECT_PATH_NOT_FOUND, -ENOENT),
    W(OBJECT_PATH_SYNTAX_BAD, -EINVAL),
    W(SHARING_VIOLATION, -EBUSY),
    W(QUOTA_EXCEEDED, -EDQUOT),
    W(EAS_NOT_SUPPORTED, -EOPNOTSUPP),
    W(EA_TOO_LARGE, -E2BIG),
    W(NONEXISTENT_EA_ENTRY, -ENODATA),
    W(NO_EAS_ON_FILE, -ENODATA),
    W(FILE_LOCK_CONFLICT, -EAGAIN),
    W(LOCK_NOT_GRANTED, -EAGAIN),
    W(DELETE_PENDING, -ENOENT),
    W(PRIVILEGE_NOT_HELD, -EPERM),
    W(NO_SUCH_USER, -EACCES),
    W(WRONG_PASSWORD, -EACCES),
    W(LOGON_FAILURE, -EACCES),
    W(ACCOUNT_RESTRICTION, -EACCES),
    W(INVALID_LOGON_HOURS, -EACCES),
    W(INVALID_WORKSTATION, -EACCES),
    W(PASSWORD_EXPIRED, -EKEYEXPIRED),
    W(ACCOUNT_DISABLED, -EACCES),
    W(RANGE_NOT_LOCKED, -ENOLCK),
    W(DISK_FULL, -ENOSPC),
    W(INSUFFICIENT_RESOURCES, -ENOMEM),
    W(MEDIA_WRITE_PROTECTED, -EROFS),
    W(IO_TIMEOUT, -ETIMEDOUT),
    W(FILE_IS_A_DIRECTORY, -EISDIR),
    W(NOT_SUPPORTED, -EOPNOTSUPP),
    W(NETWORK_NAME_DELETED, -ECONNRESET),
    W(NETWORK_ACCESS_DENIED, -EACCES),
    W(BAD_NETWORK_NAME, -ENOENT),
    W(REQUEST_NOT_ACCEPTED, -EAGAIN),
    W(NOT_SAME_DEVICE, -EXDEV),
    W(FILE_RENAMED, -ESTALE),
    W(DIRECTORY_NOT_EMPTY, -ENOTEMPTY),
    W(NOT_A_DIRECTORY, -ENOTDIR),
    W(NAME_TOO_LONG, -ENAMETOOLONG),
    W(TOO_MANY_OPENED_FILES, -EMFILE),
    W(CANCELLED, -EINTR),
    W(CANNOT_DELETE, -EACCES),
    W(FILE_CLOSED, -EBADF),
    W(PIPE_BROKEN, -EPIPE),
    W(LOGON_TYPE_NOT_GRANTED, -EACCES),
    W(ACCOUNT_EXPIRED, -EACCES),
    W(USER_SESSION_DELETED, -ECONNRESET),
    W(PASSWORD_MUST_CHANGE, -EKEYEXPIRED),
    W(NOT_FOUND, -ENOENT),
    W(ACCOUNT_LOCKED_OUT, -EACCES),
    W(TOO_MANY_LINKS, -EMLINK),
    W(NETWORK_SESSION_EXPIRED, -ECONNRESET),
};

Test(ntstatus, every_entry)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        cr_assert_eq(ntstatus_to_errno(table[i].status), table[i].err, "%s: %d", table[i].name,
                     ntstatus_to_errno(table[i].status));
        cr_assert_str_eq(ntstatus_name(table[i].status), table[i].name);
    }
}

Test(ntstatus, spot_values_from_ms_erref)
{
    /* Guards against a typo in a #define shared by the table and the test. */
    cr_assert_eq(NT_STATUS_OBJECT_NAME_NOT_FOUND, 0xC0000034u);
    cr_assert_eq(NT_STATUS_LOGON_FAILURE, 0xC000006Du);
    cr_assert_eq(NT_STATUS_NETWORK_NAME_DELETED, 0xC00000C9u);
    cr_assert_eq(NT_STATUS_USER_SESSION_DELETED, 0xC0000203u);
    cr_assert_eq(NT_STATUS_NETWORK_SESSION_EXPIRED, 0xC000035Cu);
    cr_assert_eq(NT_STATUS_MORE_PROCESSING_REQUIRED, 0xC0000016u);
    cr_assert_eq(NT_STATUS_BUFFER_OVERFLOW, 0x80000005u);
}

Test(ntstatus, unknown_is_eio)
{
    cr_assert_eq(ntstatus_to_errno(0xC0001234u), -EIO);
    cr_assert_str_eq(ntstatus_name(0xC0001234u), "UNKNOWN");
    cr_assert_eq(ntstatus_to_errno(0xFFFFFFFFu), -EIO);
    cr_assert_eq(ntstatus_to_errno(NT_STATUS_DOS(1, 9999)), -EIO);
    cr_assert_eq(ntstatus_to_errno(NT_STATUS_DOS(2, 1)), -EIO); /* ERRSRV/ERRerror */
    cr_assert_str_eq(ntstatus_name(NT_STATUS_DOS(3, 77)), "DOS_ERROR");
}

struct dos_want {
    uint8_t cls;
    uint16_t code;
    uint32_t status;
    int err;
};

Test(ntstatus, dos_errors)
{
    static const struct dos_want dw[] = {
        {0, 0, NT_STATUS_OK, 0},
        {1, 1, NT_STATUS_NOT_IMPLEMENTED, -EOPNOTSUPP},
        {1, 2, NT_STATUS_OBJECT_NAME_NOT_FOUND, -ENOENT},
        {1, 3, NT_STATUS_OBJECT_PATH_NOT_FOUND, -ENOENT},
        {1, 4, NT_STATUS_TOO_MANY_OPENED_FILES, -EMFILE},
        {1, 5, NT_STATUS_ACCESS_DENIED, -EACCES},
        {1, 6, NT_STATUS_INVALID_HANDLE, -EBADF},
        {1, 8, NT_STATUS_NO_MEMORY, -ENOMEM},
        {1, 17, NT_STATUS_NOT_SAME_DEVICE, -EXDEV},
        {1, 18, NT_STATUS_NO_MORE_FILES, -ENOENT},
        {1, 32, NT_STATUS_SHARING_VIOLATION, -EBUSY},
        {1, 33, NT_STATUS_FILE_LOCK_CONFLICT, -EAGAIN},
        {1, 80, NT_STATUS_OBJECT_NAME_COLLISION, -EEXIST},
        {1, 87, NT_STATUS_INVALID_PARAMETER, -EINVAL},
        {1, 123, NT_STATUS_OBJECT_NAME_INVALID, -EINVAL},
        {1, 124, NT_STATUS_INVALID_INFO_CLASS, -EOPNOTSUPP},
        {1, 145, NT_STATUS_DIRECTORY_NOT_EMPTY, -ENOTEMPTY},
        {1, 158, NT_STATUS_RANGE_NOT_LOCKED, -ENOLCK},
        {1, 183, NT_STATUS_OBJECT_NAME_COLLISION, -EEXIST},
        {1, 206, NT_STATUS_NAME_TOO_LONG, -ENAMETOOLONG},
        {1, 234, NT_STATUS_BUFFER_OVERFLOW, -EOVERFLOW},
        {2, 2, NT_STATUS_LOGON_FAILURE, -EACCES},
        {2, 4, NT_STATUS_ACCESS_DENIED, -EACCES},
        {2, 5, NT_STATUS_NETWORK_NAME_DELETED, -ECONNRESET},
        {2, 6, NT_STATUS_BAD_NETWORK_NAME, -ENOENT},
        {2, 22, NT_STATUS_NOT_IMPLEMENTED, -EOPNOTSUPP},
        {2, 91, NT_STATUS_USER_SESSION_DELETED, -ECONNRESET},
        {2, 0xFFFF, NT_STATUS_NOT_SUPPORTED, -EOPNOTSUPP},
        {3, 19, NT_STATUS_MEDIA_WRITE_PROTECTED, -EROFS},
        {3, 39, NT_STATUS_DISK_FULL, -ENOSPC},
    };
    for (size_t i = 0; i < sizeof(dw) / sizeof(dw[0]); i++) {
        uint32_t st = ntstatus_from_dos(dw[i].cls, dw[i].code);
        cr_assert_eq(st, dw[i].status, "%u/%u -> 0x%08x", dw[i].cls, dw[i].code, st);
        cr_assert_eq(ntstatus_to_errno(st), dw[i].err, "%u/%u", dw[i].cls, dw[i].code);
    }
    /* Not in the table: folded, recognisable, -EIO. */
    uint32_t st = ntstatus_from_dos(1, 9999);
    cr_assert_eq(st, NT_STATUS_DOS(1, 9999));
    cr_assert(NT_STATUS_IS_DOS(st));
    cr_assert_not(NT_STATUS_IS_DOS(NT_STATUS_ACCESS_DENIED));
    cr_assert_eq(ntstatus_from_dos(0xFF, 1), NT_STATUS_DOS(0xFF, 1));
}

Test(ntstatus, names_never_null)
{
    static const uint32_t probes[] = {0, 1, 0x80000000u, 0xC0000000u, 0xF1010002u, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        const char *n = ntstatus_name(probes[i]);
        cr_assert_not_null(n);
        cr_assert_gt(strlen(n), 0);
    }
}
