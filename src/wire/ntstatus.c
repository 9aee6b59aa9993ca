#include "wire/ntstatus.h"

#include <errno.h>
#include <stddef.h>

/* The one NTSTATUS table (DIGEST 10; values from MS-ERREF 2.3.1). The errno
 * column is our choice; where it departs from the digest's suggestion the
 * line says why. */
struct nt_entry {
    uint32_t status;
    int err;
    const char *name;
};

/* clang-format off */
#define E(s, e) {NT_STATUS_##s, e, #s}
/* clang-format on */

static const struct nt_entry nt_table[] = {
    E(OK, 0),
    /* Change notify only: the caller must rescan the directory. */
    E(NOTIFY_ENUM_DIR, -EAGAIN),
    /* Callers that accept a partial reply test for this status first. */
    E(BUFFER_OVERFLOW, -EOVERFLOW),
    E(NO_MORE_FILES, -ENOENT),
    E(STOPPED_ON_SYMLINK, -ELOOP),
    E(UNSUCCESSFUL, -EIO),
    /* Not -ENOSYS: FUSE caches ENOSYS as "operation never supported". */
    E(NOT_IMPLEMENTED, -EOPNOTSUPP),
    E(INVALID_INFO_CLASS, -EOPNOTSUPP),
    E(INVALID_HANDLE, -EBADF),
    E(INVALID_PARAMETER, -EINVAL),
    E(NO_SUCH_FILE, -ENOENT),
    E(INVALID_DEVICE_REQUEST, -EOPNOTSUPP),
    /* Reads turn this into a short read before mapping. */
    E(END_OF_FILE, -ENODATA),
    E(INVALID_LOCK_SEQUENCE, -EINVAL),
    /* Authentication continues: session setup tests for it first. */
    E(MORE_PROCESSING_REQUIRED, -EAGAIN),
    E(NO_MEMORY, -ENOMEM),
    E(ACCESS_DENIED, -EACCES),
    /* getxattr's word for "your buffer is too small". */
    E(BUFFER_TOO_SMALL, -ERANGE),
    E(OBJECT_NAME_INVALID, -EINVAL),
    E(OBJECT_NAME_NOT_FOUND, -ENOENT),
    E(OBJECT_NAME_COLLISION, -EEXIST),
    E(OBJECT_PATH_INVALID, -ENOTDIR),
    E(OBJECT_PATH_NOT_FOUND, -ENOENT),
    E(OBJECT_PATH_SYNTAX_BAD, -EINVAL),
    E(SHARING_VIOLATION, -EBUSY),
    E(QUOTA_EXCEEDED, -EDQUOT),
    E(EAS_NOT_SUPPORTED, -EOPNOTSUPP),
    E(EA_TOO_LARGE, -E2BIG),
    E(NONEXISTENT_EA_ENTRY, -ENODATA),
    E(NO_EAS_ON_FILE, -ENODATA),
    E(FILE_LOCK_CONFLICT, -EAGAIN),
    E(LOCK_NOT_GRANTED, -EAGAIN),
    E(DELETE_PENDING, -ENOENT),
    E(PRIVILEGE_NOT_HELD, -EPERM),
    E(NO_SUCH_USER, -EACCES),
    E(WRONG_PASSWORD, -EACCES),
    E(LOGON_FAILURE, -EACCES),
    E(ACCOUNT_RESTRICTION, -EACCES),
    E(INVALID_LOGON_HOURS, -EACCES),
    E(INVALID_WORKSTATION, -EACCES),
    E(PASSWORD_EXPIRED, -EKEYEXPIRED),
    E(ACCOUNT_DISABLED, -EACCES),
    E(RANGE_NOT_LOCKED, -ENOLCK),
    E(DISK_FULL, -ENOSPC),
    E(INSUFFICIENT_RESOURCES, -ENOMEM),
    E(MEDIA_WRITE_PROTECTED, -EROFS),
    E(IO_TIMEOUT, -ETIMEDOUT),
    E(FILE_IS_A_DIRECTORY, -EISDIR),
    E(NOT_SUPPORTED, -EOPNOTSUPP),
    /* Tree or session forgotten by the server: the connection layer
     * reconnects on -ECONNRESET. */
    E(NETWORK_NAME_DELETED, -ECONNRESET),
    E(NETWORK_ACCESS_DENIED, -EACCES),
    E(BAD_NETWORK_NAME, -ENOENT),
    E(REQUEST_NOT_ACCEPTED, -EAGAIN),
    E(NOT_SAME_DEVICE, -EXDEV),
    E(FILE_RENAMED, -ESTALE),
    E(DIRECTORY_NOT_EMPTY, -ENOTEMPTY),
    E(NOT_A_DIRECTORY, -ENOTDIR),
    E(NAME_TOO_LONG, -ENAMETOOLONG),
    E(TOO_MANY_OPENED_FILES, -EMFILE),
    E(CANCELLED, -EINTR),
    E(CANNOT_DELETE, -EACCES),
    E(FILE_CLOSED, -EBADF),
    E(PIPE_BROKEN, -EPIPE),
    E(LOGON_TYPE_NOT_GRANTED, -EACCES),
    E(ACCOUNT_EXPIRED, -EACCES),
    E(USER_SESSION_DELETED, -ECONNRESET),
    E(PASSWORD_MUST_CHANGE, -EKEYEXPIRED),
    E(NOT_FOUND, -ENOENT),
    E(ACCOUNT_LOCKED_OUT, -EACCES),
    E(TOO_MANY_LINKS, -EMLINK),
    E(NETWORK_SESSION_EXPIRED, -ECONNRESET),
};

#undef E

static const struct nt_entry *nt_find(uint32_t status)
{
    for (size_t i = 0; i < sizeof(nt_table) / sizeof(nt_table[0]); i++)
        if (nt_table[i].status == status)
            return &nt_table[i];
    return NULL;
}

int ntstatus_to_errno(uint32_t status)
{
    const struct nt_entry *e = nt_find(status);
    return e ? e->err : -EIO;
}

const char *ntstatus_name(uint32_t status)
{
    const struct nt_entry *e = nt_find(status);
    if (e)
        return e->name;
    return NT_STATUS_IS_DOS(status) ? "DOS_ERROR" : "UNKNOWN";
}

/* DOS error classes (MS-CIFS 2.2.2.4). */
#define ERRDOS 0x01
#define ERRSRV 0x02
#define ERRHRD 0x03

struct dos_entry {
    uint8_t cls;
    uint16_t code;
    uint32_t status;
};

/* MS-CIFS 2.2.2.4 pairs each DOS error with the NTSTATUS values that map to
 * it; this is the reverse direction, choosing the status a Windows server
 * would most likely have meant. */
/* clang-format off */
static const struct dos_entry dos_table[] = {
    {ERRDOS, 1, NT_STATUS_NOT_IMPLEMENTED},          /* ERRbadfunc */
    {ERRDOS, 2, NT_STATUS_OBJECT_NAME_NOT_FOUND},    /* ERRbadfile */
    {ERRDOS, 3, NT_STATUS_OBJECT_PATH_NOT_FOUND},    /* ERRbadpath */
    {ERRDOS, 4, NT_STATUS_TOO_MANY_OPENED_FILES},    /* ERRnofids */
    {ERRDOS, 5, NT_STATUS_ACCESS_DENIED},            /* ERRnoaccess */
    {ERRDOS, 6, NT_STATUS_INVALID_HANDLE},           /* ERRbadfid */
    {ERRDOS, 8, NT_STATUS_NO_MEMORY},                /* ERRnomem */
    {ERRDOS, 17, NT_STATUS_NOT_SAME_DEVICE},         /* ERRdiffdevice */
    {ERRDOS, 18, NT_STATUS_NO_MORE_FILES},           /* ERRnofiles */
    {ERRDOS, 19, NT_STATUS_MEDIA_WRITE_PROTECTED},   /* ERROR_WRITE_PROTECT */
    {ERRDOS, 22, NT_STATUS_NOT_IMPLEMENTED},         /* ERROR_BAD_COMMAND */
    {ERRDOS, 32, NT_STATUS_SHARING_VIOLATION},       /* ERRbadshare */
    {ERRDOS, 33, NT_STATUS_FILE_LOCK_CONFLICT},      /* ERRlock */
    {ERRDOS, 38, NT_STATUS_END_OF_FILE},             /* ERROR_HANDLE_EOF */
    {ERRDOS, 39, NT_STATUS_DISK_FULL},               /* ERROR_HANDLE_DISK_FULL */
    {ERRDOS, 50, NT_STATUS_NOT_SUPPORTED},           /* ERRunsup */
    {ERRDOS, 80, NT_STATUS_OBJECT_NAME_COLLISION},   /* ERRfilexists */
    {ERRDOS, 87, NT_STATUS_INVALID_PARAMETER},       /* ERRinvalidparam */
    {ERRDOS, 112, NT_STATUS_DISK_FULL},              /* ERROR_DISK_FULL */
    {ERRDOS, 123, NT_STATUS_OBJECT_NAME_INVALID},    /* ERRinvalidname */
    {ERRDOS, 124, NT_STATUS_INVALID_INFO_CLASS},     /* ERRunknownlevel */
    {ERRDOS, 145, NT_STATUS_DIRECTORY_NOT_EMPTY},    /* ERROR_DIR_NOT_EMPTY */
    {ERRDOS, 158, NT_STATUS_RANGE_NOT_LOCKED},       /* ERRnotlocked */
    {ERRDOS, 183, NT_STATUS_OBJECT_NAME_COLLISION},  /* ERROR_ALREADY_EXISTS */
    {ERRDOS, 206, NT_STATUS_NAME_TOO_LONG},          /* ERROR_FILENAME_EXCED_RANGE */
    {ERRDOS, 234, NT_STATUS_BUFFER_OVERFLOW},        /* ERRmoredata */
    {ERRDOS, 267, NT_STATUS_NOT_A_DIRECTORY},        /* ERROR_DIRECTORY */
    {ERRDOS, 282, NT_STATUS_EAS_NOT_SUPPORTED},      /* ERReasnotsupported */
    {ERRSRV, 2, NT_STATUS_LOGON_FAILURE},            /* ERRbadpw */
    {ERRSRV, 4, NT_STATUS_ACCESS_DENIED},            /* ERRaccess */
    {ERRSRV, 5, NT_STATUS_NETWORK_NAME_DELETED},     /* ERRinvtid */
    {ERRSRV, 6, NT_STATUS_BAD_NETWORK_NAME},         /* ERRinvnetname */
    {ERRSRV, 22, NT_STATUS_NOT_IMPLEMENTED},         /* unknown command (Samba: ERRunknownsmb) */
    {ERRSRV, 88, NT_STATUS_IO_TIMEOUT},              /* ERRtimeout */
    {ERRSRV, 89, NT_STATUS_INSUFFICIENT_RESOURCES},  /* ERRnoresource */
    {ERRSRV, 91, NT_STATUS_USER_SESSION_DELETED},    /* ERRbaduid */
    {ERRSRV, 0xFFFF, NT_STATUS_NOT_SUPPORTED},       /* ERRnosupport */
    {ERRHRD, 19, NT_STATUS_MEDIA_WRITE_PROTECTED},   /* ERRnowrite */
    {ERRHRD, 32, NT_STATUS_SHARING_VIOLATION},       /* ERRbadshare */
    {ERRHRD, 33, NT_STATUS_FILE_LOCK_CONFLICT},      /* ERRlock */
    {ERRHRD, 39, NT_STATUS_DISK_FULL},               /* ERRdiskfull */
    {ERRHRD, 112, NT_STATUS_DISK_FULL},              /* ERROR_DISK_FULL */
};
/* clang-format on */

uint32_t ntstatus_from_dos(uint8_t cls, uint16_t code)
{
    if (cls == 0 && code == 0)
        return NT_STATUS_OK;
    for (size_t i = 0; i < sizeof(dos_table) / sizeof(dos_table[0]); i++)
        if (dos_table[i].cls == cls && dos_table[i].code == code)
            return dos_table[i].status;
    return NT_STATUS_DOS(cls, code);
}
