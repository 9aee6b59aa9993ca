#include "ops/path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ops/tree_state.h"
#include "wire/text.h"
#include "wire/unix_rec.h"

void path_ctx_init(struct path_ctx *pc, const struct conn_params *p, bool cfg_mapposix,
                   uint32_t server_name_max)
{
    pc->unicode = p->unicode;
    pc->posix_paths = (p->unix_caps & UNIX_CAP_POSIX_PATHNAMES) != 0;
    /* With UNIX extensions the server stores names as given: mapping
     * would only hide the real names from other clients. */
    pc->mapposix = cfg_mapposix && p->unix_caps == 0;
    pc->name_max = PATH_NAME_MAX;
    if (server_name_max && server_name_max < pc->name_max)
        pc->name_max = server_name_max;
}

void path_ctx_get(struct smb1_tree *t, struct path_ctx *pc, struct conn_params *p)
{
    struct conn_params local;
    if (!p)
        p = &local;
    conn_get_params(t->conn, p);
    const struct smb1_config *cfg = conn_config(t->conn);
    path_ctx_init(pc, p, cfg && cfg->mapposix, ops_tree_name_max(t));
}

const char *path_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Appends one component; *pos advances. */
static int put_component(const struct path_ctx *pc, const char *comp, size_t clen, uint8_t *out,
                         size_t cap, size_t *pos)
{
    if (clen > pc->name_max)
        return -ENAMETOOLONG;
    if (!pc->posix_paths && !pc->mapposix && memchr(comp, '\\', clen))
        return -EINVAL;
    if (!pc->unicode) {
        for (size_t i = 0; i < clen; i++)
            if ((unsigned char)comp[i] >= 0x80)
                return -EILSEQ;
        if (clen > cap - *pos)
            return -ENAMETOOLONG;
        memcpy(out + *pos, comp, clen);
        *pos += clen;
        return 0;
    }
    size_t n = 0;
    int r = text_utf8_to_utf16(comp, clen, out + *pos, cap - *pos, &n);
    if (r)
        return r;
    if (pc->mapposix && n) {
        /* text_map_* work on host-order units: go through a copy. */
        uint16_t units[PATH_NAME_MAX * 2];
        size_t nu = n / 2;
        if (nu > sizeof(units) / sizeof(units[0]))
            return -ENAMETOOLONG;
        for (size_t i = 0; i < nu; i++)
            units[i] = wire_le16(out + *pos + 2 * i);
        text_map_posix_to_wire(units, nu);
        for (size_t i = 0; i < nu; i++)
            wire_st16(out + *pos + 2 * i, units[i]);
    }
    *pos += n;
    return 0;
}

static int put_sep(const struct path_ctx *pc, uint8_t *out, size_t cap, size_t *pos)
{
    size_t w = pc->unicode ? 2 : 1;
    if (w > cap - *pos)
        return -ENAMETOOLONG;
    out[*pos] = pc->posix_paths ? '/' : '\\';
    if (w == 2)
        out[*pos + 1] = 0;
    *pos += w;
    return 0;
}

int path_to_wire(const struct path_ctx *pc, const char *path, const char *suffix, uint8_t *out,
                 size_t cap, size_t *outlen)
{
    size_t pos = 0;
    bool first = true;
    int r;
    if (cap > PATH_WIRE_MAX)
        cap = PATH_WIRE_MAX;
    if (!path)
        path = "";
    const char *s = path;
    for (;;) {
        while (*s == '/')
            s++;
        if (!*s)
            break;
        const char *e = strchr(s, '/');
        size_t clen = e ? (size_t)(e - s) : strlen(s);
        if (!first && (r = put_sep(pc, out, cap, &pos)))
            return r;
        if ((r = put_component(pc, s, clen, out, cap, &pos)))
            return r;
        first = false;
        s += clen;
    }
    if (suffix) {
        if (!first && (r = put_sep(pc, out, cap, &pos)))
            return r;
        /* The suffix is ours (a wildcard): never mapped. */
        struct path_ctx raw = *pc;
        raw.mapposix = false;
        raw.posix_paths = true;
        if ((r = put_component(&raw, suffix, strlen(suffix), out, cap, &pos)))
            return r;
    }
    size_t nul = path_nul_len(pc);
    if (nul > cap - pos)
        return -ENAMETOOLONG;
    memset(out + pos, 0, nul);
    *outlen = pos + nul;
    return 0;
}

int path_to_wire_alloc(const struct path_ctx *pc, const char *path, const char *suffix, size_t head,
                       uint8_t **out, size_t *outlen)
{
    *outlen = 0;
    *out = malloc(head + PATH_WIRE_MAX);
    if (!*out)
        return -ENOMEM;
    int r = path_to_wire(pc, path, suffix, *out + head, PATH_WIRE_MAX, outlen);
    if (r) {
        free(*out);
        *out = NULL;
    }
    return r;
}

char *path_name_from_wire(const struct path_ctx *pc, const uint8_t *p, size_t n, int *err)
{
    char *name = NULL;
    if (!pc->unicode) {
        const uint8_t *z = memchr(p, 0, n);
        size_t len = z ? (size_t)(z - p) : n;
        name = malloc(len + 1);
        if (!name) {
            *err = -ENOMEM;
            return NULL;
        }
        memcpy(name, p, len);
        name[len] = 0;
    } else {
        size_t nu = n / 2;
        bool terminated = false;
        /* Stop at a terminator the server may have counted in. */
        for (size_t i = 0; i < nu; i++) {
            if (wire_le16(p + 2 * i) == 0) {
                nu = i;
                terminated = true;
                break;
            }
        }
        /* An odd length cuts the last character in half: refuse the name
         * rather than show it without that character. */
        if ((n & 1) && !terminated) {
            *err = -EILSEQ;
            return NULL;
        }
        uint16_t *units = malloc((nu ? nu : 1) * sizeof(*units));
        uint8_t *le = malloc(nu ? nu * 2 : 1);
        if (!units || !le) {
            free(units);
            free(le);
            *err = -ENOMEM;
            return NULL;
        }
        for (size_t i = 0; i < nu; i++)
            units[i] = wire_le16(p + 2 * i);
        if (pc->mapposix)
            text_map_wire_to_posix(units, nu);
        for (size_t i = 0; i < nu; i++)
            wire_st16(le + 2 * i, units[i]);
        free(units);
        int e = 0;
        name = text_utf16_to_utf8(le, nu * 2, &e);
        free(le);
        if (!name) {
            *err = e ? e : -ENOMEM;
            return NULL;
        }
    }
    if (!name[0] || strchr(name, '/')) {
        free(name);
        *err = -EINVAL;
        return NULL;
    }
    return name;
}
