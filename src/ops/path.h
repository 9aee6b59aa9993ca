/* Paths: the UTF-8, '/'-separated names of the public API to the names on
 * the wire, and names read from the wire back to UTF-8.
 *
 * On the wire a path is relative to the share root, separated by '\'
 * (or by '/' once the CIFS UNIX POSIX_PATHNAMES capability is on) and
 * encoded as UTF-16LE (or ASCII on a server without Unicode). With
 * mapposix and no UNIX extensions, the characters Windows forbids in a name
 * travel as U+F000 + their code (text.h), so they round-trip.
 */
#ifndef SMBFUSE_PATH_H
#define SMBFUSE_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session/conn.h"

/* Longest name component we send, in UTF-8 bytes (NAME_MAX). */
#define PATH_NAME_MAX 255
/* Largest encoded path, terminator included. */
#define PATH_WIRE_MAX 8192

struct path_ctx {
    bool unicode;
    bool posix_paths;  /* '/' separator, '\' an ordinary character */
    bool mapposix;     /* map Windows-reserved characters */
    uint32_t name_max; /* longest component, UTF-8 bytes */
};

/* The context for a tree from the connection's current parameters and
 * configuration; p (if not NULL) receives those parameters. */
void path_ctx_get(struct smb1_tree *t, struct path_ctx *pc, struct conn_params *p);
/* The context for given parameters (for tests and for path_ctx_get). */
void path_ctx_init(struct path_ctx *pc, const struct conn_params *p, bool cfg_mapposix,
                   uint32_t server_name_max);

/* Encodes path (plus, if suffix is not NULL, one more component such as
 * "*") into out with its terminator (2 zero bytes, or 1 without Unicode).
 * *outlen receives the length including the terminator. "" and "/" are the
 * root, which encodes as an empty string. Errors: -ENAMETOOLONG (a
 * component longer than the limit, or the whole path), -EILSEQ (invalid
 * UTF-8, or non-ASCII without Unicode), -EINVAL (a '\' that cannot be
 * expressed on a server with '\' separators). */
int path_to_wire(const struct path_ctx *pc, const char *path, const char *suffix, uint8_t *out,
                 size_t cap, size_t *outlen);
/* path_to_wire into a new buffer of head + PATH_WIRE_MAX bytes, the path
 * starting at byte head (the caller fills the head bytes before it): *out
 * (free() it) and *outlen (terminator included, head not). The one builder
 * of a request's path parameter. Errors: path_to_wire's, -ENOMEM; *out is
 * NULL then. */
int path_to_wire_alloc(const struct path_ctx *pc, const char *path, const char *suffix, size_t head,
                       uint8_t **out, size_t *outlen);
/* Length of the terminator path_to_wire appends. */
static inline size_t path_nul_len(const struct path_ctx *pc)
{
    return pc->unicode ? 2 : 1;
}

/* One name read from the wire (n bytes, not necessarily terminated) to a
 * malloc'd UTF-8 component. NULL with *err: -ENOMEM, or -EINVAL for a name
 * that cannot be a POSIX component (empty, or containing '/' or NUL). */
char *path_name_from_wire(const struct path_ctx *pc, const uint8_t *p, size_t n, int *err);

/* Last component of a '/' path (a pointer into it). */
const char *path_basename(const char *path);

#endif
