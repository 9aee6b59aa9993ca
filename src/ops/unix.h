/* CIFS UNIX extensions (Samba wiki "UNIX Extensions"; SNIA CIFS UNIX
 * Extensions draft; DIGEST.md section 9): capability negotiation,
 * symlinks, hard links, POSIX open/unlink. The records and constants are
 * in wire/unix_rec.h.
 */
#ifndef SMBFUSE_UNIX_H
#define SMBFUSE_UNIX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "session/conn.h"
#include "smb1.h"
#include "wire/unix_rec.h"

/* Asks the server for its UNIX capabilities on t and announces the ones we
 * use (the intersection of the server's and wanted). *caps receives the
 * result. Called once per connection, before relying on them. Errors:
 * -EOPNOTSUPP when the server has no UNIX extensions, conn_call's. */
int unix_negotiate(struct smb1_tree *t, uint64_t wanted, uint64_t *caps);
/* What we ask for by default. */
#define UNIX_CAPS_WANTED                                                                           \
    (UNIX_CAP_POSIX_PATHNAMES | UNIX_CAP_POSIX_PATH_OPERATIONS | UNIX_CAP_LARGE_READ |             \
     UNIX_CAP_LARGE_WRITE)

/* SMB_POSIX_PATH_OPEN: opens (creates) path with POSIX flags and mode;
 * *fid, *epoch (if not NULL: the connection epoch that answered, which
 * the FID belongs to) and st (if not NULL) the attributes. Returns 0 or
 * -errno. */
int unix_posix_open(struct smb1_tree *t, const char *path, int flags, mode_t mode, uint16_t *fid,
                    uint64_t *epoch, struct smb1_stat *st);
/* The replies' data blocks: SMB_QUERY_CIFS_UNIX_INFO (0 or -EIO), and
 * SMB_POSIX_PATH_OPEN (0 with *fid and st when the reply carries a UNIX
 * basic record, -ENODATA with *fid when it does not, -EIO). */
int unix_info_decode(const uint8_t *d, size_t n, uint16_t *major, uint16_t *minor, uint64_t *caps);
int unix_posix_open_decode(const uint8_t *d, size_t n, uint16_t *fid, struct smb1_stat *st);
/* SMB_POSIX_PATH_UNLINK: unlink (dir false) or rmdir (dir true). */
int unix_posix_unlink(struct smb1_tree *t, const char *path, bool dir);
/* SMB_SET_FILE_UNIX_BASIC on a path. */
int unix_set_basic_path(struct smb1_tree *t, const char *path, const uint8_t rec[UNIX_BASIC_LEN]);
/* SMB_SET_FILE_UNIX_BASIC on an open file. */
int unix_set_basic_fid(struct smb1_tree *t, uint16_t fid, uint64_t epoch,
                       const uint8_t rec[UNIX_BASIC_LEN]);
int unix_symlink(struct smb1_tree *t, const char *target, const char *path);
ssize_t unix_readlink(struct smb1_tree *t, const char *path, char *buf, size_t size);
int unix_hardlink(struct smb1_tree *t, const char *from, const char *to);

#endif
