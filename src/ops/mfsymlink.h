/* Minshall+French symlinks (cifs.ko's mfsymlinks) for servers without the
 * CIFS UNIX extensions: a symlink is a regular file of exactly 1067 bytes,
 *
 *     "XSym\n" <length, 4 decimal digits> "\n" <MD5 of the target, 32 hex
 *     digits> "\n" <target> "\n", padded with spaces
 *
 * the same on-disk format as cifs.ko's, so a share used by both sees the
 * same links. On by default without UNIX extensions (smb1_config
 * mfsymlinks); a file that only looks like one (wrong length, bad MD5)
 * stays a file.
 */
#ifndef SMBFUSE_MFSYMLINK_H
#define SMBFUSE_MFSYMLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "smb1.h"

#define MFSYM_FILE_SIZE 1067
#define MFSYM_LINK_MAX  1024

/* Formats the file for target into buf (MFSYM_FILE_SIZE bytes).
 * -ENAMETOOLONG for a target over MFSYM_LINK_MAX bytes. */
int mfsym_format(uint8_t buf[MFSYM_FILE_SIZE], const char *target);
/* The target of a file's n bytes, NUL-terminated into out (cap bytes), or
 * -EINVAL when they are no such link. Returns the target length. */
ssize_t mfsym_parse(const uint8_t *buf, size_t n, char *out, size_t cap);

/* Whether mfsymlinks apply on t (the option, and no UNIX extensions). */
bool mfsym_active(struct smb1_tree *t);
/* When st (of path) may be such a link, reads it; if it is one, st
 * becomes the link's (S_IFLNK, size the target's length). */
void mfsym_fix_stat(struct smb1_tree *t, const char *path, struct smb1_stat *st);
int mfsym_create(struct smb1_tree *t, const char *target, const char *path);
ssize_t mfsym_readlink(struct smb1_tree *t, const char *path, char *buf, size_t size);

#endif
