#include "ops/ea.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "wire/ntstatus.h"
#include "ops/tree_state.h"
#include "ops/op_info.h"
#include "ops/path.h"
#include "smb1.h"
#include "wire/smb1_proto.h"
#include "ops/trans.h"

/* The whole EA list of a file comes back in one TRANS2 data block, which
 * its 16-bit TotalDataCount bounds (the reply arrives in fragments). */
#define EA_QUERY_MAX_DATA            0xFFFFu
#define SMB_INFO_QUERY_EAS_FROM_LIST 0x0003

int ea_parse_list(const uint8_t *d, size_t n, ea_entry_fn fn, void *arg)
{
    struct wire_reader r;
    wire_reader_init(&r, d, n);
    uint32_t total = wire_u32(&r);
    if (!wire_ok(&r) || total < 4 || total > n)
        return -EIO;
    struct wire_reader l;
    wire_sub(&r, 4, total - 4, &l);
    while (wire_ok(&l) && wire_remaining(&l) > 0) {
        struct ea_entry e;
        wire_skip(&l, 1); /* ExtendedAttributeFlag */
        e.name_len = wire_u8(&l);
        e.value_len = wire_u16(&l);
        e.name = wire_bytes(&l, e.name_len);
        wire_skip(&l, 1); /* the name's terminator */
        e.value = wire_bytes(&l, e.value_len);
        if (!wire_ok(&l))
            return -EIO;
        int rr = fn(arg, &e);
        if (rr)
            return rr;
    }
    return wire_ok(&l) ? 0 : -EIO;
}

size_t ea_value_max(size_t name_len)
{
    size_t over = EA_LIST_HDR + EA_FEA_HDR + name_len + 1;
    return over >= EA_LIST_MAX ? 0 : EA_LIST_MAX - over;
}

long ea_encode_one(const char *name, const void *value, size_t len, uint8_t *out, size_t cap)
{
    size_t nl = strlen(name);
    if (nl > EA_NAME_MAX || len > EA_VALUE_MAX)
        return -E2BIG;
    size_t total = 4 + 4 + nl + 1 + len;
    if (total > cap)
        return -E2BIG;
    struct wire_writer w;
    wire_writer_init(&w, out, cap);
    wire_put_u32(&w, (uint32_t)total);
    wire_put_u8(&w, 0);
    wire_put_u8(&w, (uint8_t)nl);
    wire_put_u16(&w, (uint16_t)len);
    wire_put_bytes(&w, name, nl + 1);
    if (len)
        wire_put_bytes(&w, value, len);
    return wire_wok(&w) ? (long)total : -E2BIG;
}

/* The EA name for an xattr name, or an error: other namespaces are not
 * stored; EA names are short printable ASCII. */
static int ea_name(const char *xname, const char **out)
{
    size_t pl = strlen(EA_USER_PREFIX);
    if (strncmp(xname, EA_USER_PREFIX, pl) != 0)
        return -ENOTSUP;
    const char *n = xname + pl;
    size_t nl = strlen(n);
    if (nl == 0)
        return -EINVAL;
    if (nl > EA_NAME_MAX)
        return -ERANGE;
    for (const char *p = n; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7F)
            return -EINVAL;
    *out = n;
    return 0;
}

/* Maps the errors of an EA request: a server or file system without EAs
 * is ENOTSUP to the xattr caller. */
static int ea_errno(struct smb1_tree *t, const char *path, uint32_t status, int r)
{
    switch (status) {
    case NT_STATUS_EAS_NOT_SUPPORTED:
    case NT_STATUS_NOT_SUPPORTED:
    case NT_STATUS_INVALID_INFO_CLASS:
    case NT_STATUS_NOT_IMPLEMENTED:
        return -ENOTSUP;
    case NT_STATUS_EA_TOO_LARGE:
        return -E2BIG;
    case NT_STATUS_NONEXISTENT_EA_ENTRY:
    case NT_STATUS_NO_EAS_ON_FILE:
        return -ENODATA;
    case NT_STATUS_BUFFER_OVERFLOW:
        /* The list is longer than one reply block can carry (listxattr(2)
         * says E2BIG for a list that cannot be retrieved). */
        return -E2BIG;
    case 0:
        return r == -EMSGSIZE ? -E2BIG : r;
    default:
        return info_path_errno(t, path, status);
    }
}

/* The EA list of path with only the EA called name (MS-CIFS 2.2.8.1.3,
 * SMB_INFO_QUERY_EAS_FROM_LIST: a GEA list in the request's data). One
 * value of up to ea_value_max() bytes always fits the reply this way,
 * whatever other EAs the file has; an absent EA comes back with an empty
 * value (Samba) or as NONEXISTENT_EA_ENTRY. */
static int query_named(struct smb1_tree *t, const char *path, const char *name,
                       struct trans_resp *rs)
{
    memset(rs, 0, sizeof(*rs));
    uint8_t *pp;
    uint32_t plen;
    int r = info_path_params(t, SMB_INFO_QUERY_EAS_FROM_LIST, path, &pp, &plen);
    if (r)
        return r;
    size_t nl = strlen(name);
    uint8_t gea[4 + 1 + EA_NAME_MAX + 1];
    uint32_t glen = (uint32_t)(4 + 1 + nl + 1);
    wire_st32(gea, glen);
    gea[4] = (uint8_t)nl;
    memcpy(gea + 5, name, nl + 1);
    r = trans2_call(t, SMB1_TRANS2_QUERY_PATH_INFO, pp, plen, gea, glen, 16, EA_QUERY_MAX_DATA, rs,
                    CONN_IDEMPOTENT);
    free(pp);
    if (r)
        return ea_errno(t, path, 0, r);
    if (rs->status == NT_STATUS_OK)
        return 0;
    uint32_t st = rs->status;
    trans_resp_free(rs);
    rs->status = st;
    return ea_errno(t, path, st, ntstatus_to_errno(st));
}

static int query_all(struct smb1_tree *t, const char *path, struct trans_resp *rs)
{
    int r = info_query_path(t, path, SMB_INFO_QUERY_ALL_EAS, EA_QUERY_MAX_DATA, rs);
    if (r && rs->status == NT_STATUS_NO_EAS_ON_FILE) {
        /* An empty list. */
        rs->data = NULL;
        rs->data_len = 0;
        return 0;
    }
    if (r)
        return ea_errno(t, path, rs->status, r);
    return 0;
}

struct get_ctx {
    const char *name;
    const struct ea_entry *found;
    struct ea_entry hit;
};

static bool name_eq(const struct ea_entry *e, const char *name)
{
    size_t nl = strlen(name);
    const uint8_t *en = e->name;
    size_t el = e->name_len;
    /* A server that reports the storage name ("user.x") is read alike. */
    if (el > 5 && memcmp(en, EA_USER_PREFIX, 5) == 0) {
        en += 5;
        el -= 5;
    }
    return el == nl && memcmp(en, name, nl) == 0;
}

static int get_cb(void *arg, const struct ea_entry *e)
{
    struct get_ctx *g = arg;
    if (name_eq(e, g->name)) {
        g->hit = *e;
        g->found = &g->hit;
        return 1;
    }
    return 0;
}

ssize_t smb1_getxattr(struct smb1_tree *t, const char *path, const char *xname, void *value,
                      size_t size)
{
    CONN_OP(t ? t->conn : NULL);
    const char *name;
    int r = ea_name(xname, &name);
    if (r)
        return r;
    struct trans_resp rs;
    r = query_named(t, path, name, &rs);
    if (r == -ENOTSUP) {
        /* A server without the by-name level may still list them all. */
        r = query_all(t, path, &rs);
    }
    if (r)
        return r;
    struct get_ctx g = {.name = name, .found = NULL};
    ssize_t res;
    r = rs.data_len ? ea_parse_list(rs.data, rs.data_len, get_cb, &g) : 0;
    if (r < 0)
        res = r;
    else if (!g.found || g.found->value_len == 0)
        res = -ENODATA; /* an empty value is no EA in SMB */
    else if (size == 0)
        res = (ssize_t)g.found->value_len;
    else if (size < g.found->value_len)
        res = -ERANGE;
    else {
        memcpy(value, g.found->value, g.found->value_len);
        res = (ssize_t)g.found->value_len;
    }
    trans_resp_free(&rs);
    return res;
}

struct list_ctx {
    char *list;
    size_t size, used;
    bool overflow;
};

static int list_cb(void *arg, const struct ea_entry *e)
{
    struct list_ctx *l = arg;
    const uint8_t *n = e->name;
    size_t nl = e->name_len;
    if (nl > 5 && memcmp(n, EA_USER_PREFIX, 5) == 0) {
        n += 5;
        nl -= 5;
    }
    if (nl == 0 || memchr(n, 0, nl))
        return 0;
    size_t need = 5 + nl + 1;
    if (l->size) {
        if (need > l->size - l->used) {
            l->overflow = true;
            return 1;
        }
        memcpy(l->list + l->used, EA_USER_PREFIX, 5);
        memcpy(l->list + l->used + 5, n, nl);
        l->list[l->used + 5 + nl] = 0;
    }
    l->used += need;
    return 0;
}

ssize_t smb1_listxattr(struct smb1_tree *t, const char *path, char *list, size_t size)
{
    CONN_OP(t ? t->conn : NULL);
    struct trans_resp rs;
    int r = query_all(t, path, &rs);
    if (r)
        return r;
    struct list_ctx l = {.list = list, .size = size, .used = 0, .overflow = false};
    r = rs.data_len ? ea_parse_list(rs.data, rs.data_len, list_cb, &l) : 0;
    trans_resp_free(&rs);
    if (r < 0)
        return r;
    if (l.overflow)
        return -ERANGE;
    return (ssize_t)l.used;
}

static int set_one(struct smb1_tree *t, const char *path, const char *name, const void *value,
                   size_t size)
{
    uint8_t *buf = malloc(16 + EA_NAME_MAX + size);
    if (!buf)
        return -ENOMEM;
    long n = ea_encode_one(name, value, size, buf, 16 + EA_NAME_MAX + size);
    if (n < 0) {
        free(buf);
        return (int)n;
    }
    uint32_t status = 0;
    int r = info_set_path(t, path, SMB_INFO_SET_EAS, buf, (uint32_t)n, &status, NULL);
    free(buf);
    return r ? ea_errno(t, path, status, r) : 0;
}

int smb1_setxattr(struct smb1_tree *t, const char *path, const char *xname, const void *value,
                  size_t size, int flags)
{
    CONN_OP(t ? t->conn : NULL);
    int rs = ops_settle(t, path, 0);
    if (rs)
        return rs;
    const char *name;
    int r = ea_name(xname, &name);
    if (r)
        return r;
    /* An empty value means "remove" in SMB: storing one is impossible. */
    if (size == 0)
        return -EINVAL;
    if (size > ea_value_max(strlen(name)))
        return -E2BIG;
    if (flags & (XATTR_CREATE | XATTR_REPLACE)) {
        ssize_t cur = smb1_getxattr(t, path, xname, NULL, 0);
        if (cur < 0 && cur != -ENODATA)
            return (int)cur;
        if ((flags & XATTR_CREATE) && cur >= 0)
            return -EEXIST;
        if ((flags & XATTR_REPLACE) && cur == -ENODATA)
            return -ENODATA;
    }
    return set_one(t, path, name, value, size);
}

int smb1_removexattr(struct smb1_tree *t, const char *path, const char *xname)
{
    CONN_OP(t ? t->conn : NULL);
    int rs = ops_settle(t, path, 0);
    if (rs)
        return rs;
    const char *name;
    int r = ea_name(xname, &name);
    if (r)
        return r;
    ssize_t cur = smb1_getxattr(t, path, xname, NULL, 0);
    if (cur < 0)
        return (int)cur;
    return set_one(t, path, name, NULL, 0);
}
