/* SMB1 wire constants. Each group names the section that defines it.
 * The file attribute bits (SMB1_ATTR_*) are in the public smb1.h, with
 * struct smb1_stat that carries them. */
#ifndef SMBFUSE_SMB1_PROTO_H
#define SMBFUSE_SMB1_PROTO_H

#include "smb1.h"

/* Header layout (MS-CIFS 2.2.3.1) */
#define SMB1_HDR_LEN       32
#define SMB1_HDR_CMD       4
#define SMB1_HDR_STATUS    5
#define SMB1_HDR_FLAGS     9
#define SMB1_HDR_FLAGS2    10
#define SMB1_HDR_PIDHIGH   12
#define SMB1_HDR_SIGNATURE 14
#define SMB1_HDR_TID       24
#define SMB1_HDR_PIDLOW    26
#define SMB1_HDR_UID       28
#define SMB1_HDR_MID       30
#define SMB1_SIG_LEN       8

/* Commands (MS-CIFS 2.2.2.1) */
#define SMB1_COM_CREATE_DIRECTORY       0x00
#define SMB1_COM_DELETE_DIRECTORY       0x01
#define SMB1_COM_CLOSE                  0x04
#define SMB1_COM_FLUSH                  0x05
#define SMB1_COM_DELETE                 0x06
#define SMB1_COM_RENAME                 0x07
#define SMB1_COM_CHECK_DIRECTORY        0x10
#define SMB1_COM_LOCKING_ANDX           0x24
#define SMB1_COM_TRANSACTION            0x25
#define SMB1_COM_TRANSACTION_SECONDARY  0x26
#define SMB1_COM_ECHO                   0x2B
#define SMB1_COM_READ_ANDX              0x2E
#define SMB1_COM_WRITE_ANDX             0x2F
#define SMB1_COM_TRANSACTION2           0x32
#define SMB1_COM_TRANSACTION2_SECONDARY 0x33
#define SMB1_COM_FIND_CLOSE2            0x34
#define SMB1_COM_TREE_DISCONNECT        0x71
#define SMB1_COM_NEGOTIATE              0x72
#define SMB1_COM_SESSION_SETUP_ANDX     0x73
#define SMB1_COM_LOGOFF_ANDX            0x74
#define SMB1_COM_TREE_CONNECT_ANDX      0x75
#define SMB1_COM_NT_TRANSACT            0xA0
#define SMB1_COM_NT_TRANSACT_SECONDARY  0xA1
#define SMB1_COM_NT_CREATE_ANDX         0xA2
#define SMB1_COM_NT_CANCEL              0xA4
#define SMB1_COM_NT_RENAME              0xA5
#define SMB1_COM_IOCTL                  0x27 /* MS-CIFS 2.2.4.35 */
#define SMB1_COM_OPEN_PRINT_FILE        0xC0 /* MS-CIFS 2.2.4.67 */
#define SMB1_COM_CLOSE_PRINT_FILE       0xC2 /* MS-CIFS 2.2.4.69 */
#define SMB1_COM_NONE                   0xFF

/* Flags (MS-CIFS 2.2.3.1) */
#define SMB1_FLAGS_CASE_INSENSITIVE 0x08
#define SMB1_FLAGS_CANONICAL_PATHS  0x10
#define SMB1_FLAGS_REPLY            0x80

/* Flags2 (MS-CIFS 2.2.3.1, MS-SMB 2.2.3.1) */
#define SMB1_FLAGS2_LONG_NAMES         0x0001
#define SMB1_FLAGS2_EAS                0x0002
#define SMB1_FLAGS2_SECURITY_SIGNATURE 0x0004
#define SMB1_FLAGS2_SIGNATURE_REQUIRED 0x0010
#define SMB1_FLAGS2_IS_LONG_NAME       0x0040
#define SMB1_FLAGS2_EXTENDED_SECURITY  0x0800
#define SMB1_FLAGS2_DFS                0x1000
#define SMB1_FLAGS2_PAGING_IO          0x2000
#define SMB1_FLAGS2_NT_STATUS          0x4000
#define SMB1_FLAGS2_UNICODE            0x8000

/* Negotiate SecurityMode (MS-CIFS 2.2.4.52.2) */
#define SMB1_SECMODE_USER                0x01
#define SMB1_SECMODE_ENCRYPT_PASSWORDS   0x02
#define SMB1_SECMODE_SIGNATURES_ENABLED  0x04
#define SMB1_SECMODE_SIGNATURES_REQUIRED 0x08

/* Capabilities (MS-CIFS 2.2.4.52.2, MS-SMB 2.2.4.5.2) */
#define SMB1_CAP_RAW_MODE           0x00000001
#define SMB1_CAP_MPX_MODE           0x00000002
#define SMB1_CAP_UNICODE            0x00000004
#define SMB1_CAP_LARGE_FILES        0x00000008
#define SMB1_CAP_NT_SMBS            0x00000010
#define SMB1_CAP_RPC_REMOTE_APIS    0x00000020
#define SMB1_CAP_STATUS32           0x00000040
#define SMB1_CAP_LEVEL_II_OPLOCKS   0x00000080
#define SMB1_CAP_LOCK_AND_READ      0x00000100
#define SMB1_CAP_NT_FIND            0x00000200
#define SMB1_CAP_DFS                0x00001000
#define SMB1_CAP_INFOLEVEL_PASSTHRU 0x00002000
#define SMB1_CAP_LARGE_READX        0x00004000
#define SMB1_CAP_LARGE_WRITEX       0x00008000
#define SMB1_CAP_LWIO               0x00010000
#define SMB1_CAP_UNIX               0x00800000
#define SMB1_CAP_EXTENDED_SECURITY  0x80000000u

/* SESSION_SETUP_ANDX Action (MS-CIFS 2.2.4.53.2) */
#define SMB1_SETUP_GUEST          0x0001
#define SMB1_SETUP_USE_LANMAN_KEY 0x0002

/* NT_CREATE_ANDX (MS-CIFS 2.2.4.64.1) */
#define SMB1_CREATE_REQUEST_OPLOCK   0x02
#define SMB1_CREATE_REQUEST_OPBATCH  0x04
#define SMB1_FILE_SUPERSEDE          0
#define SMB1_FILE_OPEN               1
#define SMB1_FILE_CREATE             2
#define SMB1_FILE_OPEN_IF            3
#define SMB1_FILE_OVERWRITE          4
#define SMB1_FILE_OVERWRITE_IF       5
#define SMB1_FILE_DIRECTORY_FILE     0x00000001
#define SMB1_FILE_WRITE_THROUGH      0x00000002
#define SMB1_FILE_NON_DIRECTORY_FILE 0x00000040
#define SMB1_FILE_DELETE_ON_CLOSE    0x00001000
#define SMB1_FILE_OPEN_REPARSE_POINT 0x00200000
#define SMB1_SHARE_READ              0x1
#define SMB1_SHARE_WRITE             0x2
#define SMB1_SHARE_DELETE            0x4

/* Access mask (MS-DTYP 2.4.3, MS-SMB 2.2.1.4) */
#define SMB1_FILE_READ_DATA        0x00000001
#define SMB1_FILE_WRITE_DATA       0x00000002
#define SMB1_FILE_APPEND_DATA      0x00000004
#define SMB1_FILE_READ_EA          0x00000008
#define SMB1_FILE_WRITE_EA         0x00000010
#define SMB1_FILE_EXECUTE          0x00000020
#define SMB1_FILE_READ_ATTRIBUTES  0x00000080
#define SMB1_FILE_WRITE_ATTRIBUTES 0x00000100
#define SMB1_DELETE                0x00010000
#define SMB1_READ_CONTROL          0x00020000
#define SMB1_SYNCHRONIZE           0x00100000
#define SMB1_MAXIMUM_ALLOWED       0x02000000
#define SMB1_GENERIC_ALL           0x10000000
#define SMB1_GENERIC_WRITE         0x40000000
#define SMB1_GENERIC_READ          0x80000000u

/* TRANS2 subcommands (MS-CIFS 2.2.2.2) */
#define SMB1_TRANS2_FIND_FIRST2      0x0001
#define SMB1_TRANS2_FIND_NEXT2       0x0002
#define SMB1_TRANS2_QUERY_FS_INFO    0x0003
#define SMB1_TRANS2_SET_FS_INFO      0x0004
#define SMB1_TRANS2_QUERY_PATH_INFO  0x0005
#define SMB1_TRANS2_SET_PATH_INFO    0x0006
#define SMB1_TRANS2_QUERY_FILE_INFO  0x0007
#define SMB1_TRANS2_SET_FILE_INFO    0x0008
#define SMB1_TRANS2_CREATE_DIRECTORY 0x000D

/* NT_TRANSACT functions (MS-CIFS 2.2.2.2) */
#define SMB1_NT_TRANSACT_CREATE         0x0001
#define SMB1_NT_TRANSACT_IOCTL          0x0002
#define SMB1_NT_TRANSACT_NOTIFY_CHANGE  0x0004
#define SMB1_NT_TRANSACT_QUERY_SECURITY 0x0006

/* LOCKING_ANDX TypeOfLock (MS-CIFS 2.2.4.32.1) */
#define SMB1_LOCK_SHARED          0x01
#define SMB1_LOCK_OPLOCK_RELEASE  0x02
#define SMB1_LOCK_CHANGE_LOCKTYPE 0x04
#define SMB1_LOCK_CANCEL          0x08
#define SMB1_LOCK_LARGE_FILES     0x10

/* NetBIOS session service (RFC 1002 4.3) */
#define NBT_SESSION_MESSAGE   0x00
#define NBT_SESSION_REQUEST   0x81
#define NBT_POSITIVE_RESPONSE 0x82
#define NBT_NEGATIVE_RESPONSE 0x83
#define NBT_RETARGET_RESPONSE 0x84
#define NBT_KEEPALIVE         0x85

#define SMB1_MID_OPLOCK_BREAK 0xFFFF

#endif
