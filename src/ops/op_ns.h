/* Namespace operations: DELETE, DELETE_DIRECTORY, CREATE_DIRECTORY,
 * RENAME, NT_RENAME (MS-CIFS 2.2.4.7, 2.2.4.2, 2.2.4.1, 2.2.4.8,
 * 2.2.4.66), rename-with-replace through FileRenameInformation
 * (pass-through level 1010) and the CIFS UNIX variants.
 */
#ifndef SMBFUSE_OP_NS_H
#define SMBFUSE_OP_NS_H

#include "smb1.h"

/* NT_RENAME InformationLevel (MS-CIFS 2.2.4.66.1) */
#define SMB_NT_RENAME_SET_LINK_INFO 0x0103
#define SMB_NT_RENAME_RENAME_FILE   0x0104

/* Prefix of the temporary name a cross-directory replacing rename passes
 * through (in the target's directory). Not a dot name: Samba 4.17 answers
 * NO_SUCH_FILE to FileRenameInformation on a handle of a dot file. */
#define NS_TMP_PREFIX "smbfuse-rename-"

#endif
