/* Decoders of operation replies (FIND entries, UNIX_BASIC, QUERY_FS,
 * ALL_INFO, EA lists, RAP share lists) on crafted buffers, and the same
 * buffers cut at every byte: never a read outside, never a loop. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ops/ea.h"
#include "ops/op_dir.h"
#include "ops/op_info.h"
#include "ops/path.h"
#include "rpc/dcerpc.h"
#include "rpc/share_enum.h"
#include "rpc/srvsvc.h"
#include "wire/smb1_proto.h"
#include "ops/unix.h"

static void st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void st32(uint8_t *p, uint32_t v)
{
    st16(p, (uint16_t)v);
    st16(p + 2, (uint16_t)(v >> 16));
}
static void st64(uint8_t *p, uint64_t v)
{
    st32(p, (uint32_t)v);
    st32(p + 4, (uint32_t)(v >> 32));
}

/* UTF-16LE of an ASCII string. */
static size_t u16(uint8_t *out, const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        out[n++] = (uint8_t)*s;
        out[n++] = 0;
    }
    return n;
}

#define FT_2020 132223104000000000ull /* 2020-01-01T00:00:00Z as FILETIME */

/* Appends a FULL_DIRECTORY_INFO entry; returns its length (8-aligned). */
static size_t full_entry(uint8_t *p, const char *name, uint64_t size, uint32_t attrs, bool last)
{
    memset(p, 0, 68);
    st64(p + 24, FT_2020);
    st64(p + 40, size);
    st64(p + 48, 4096);
    st32(p + 56, attrs);
    size_t nl = u16(p + 68, name);
    st32(p + 60, (uint32_t)nl);
    size_t len = (68 + nl + 7) & ~(size_t)7;
    memset(p + 68 + nl, 0, len - 68 - nl);
    st32(p, last ? 0 : (uint32_t)len);
    return len;
}

struct names {
    char got[16][64];
    struct smb1_stat st[16];
    int n;
};

static int collect(void *arg, const struct dir_entry *e)
{
    struct names *nm = arg;
    if (nm->n >= 16)
        return -ENOSPC;
    size_t k = 0;
    for (size_t i = 0; i + 1 < e->name_len && k < 63; i += 2)
        nm->got[nm->n][k++] = (char)e->name[i];
    nm->got[nm->n][k] = 0;
    nm->st[nm->n] = e->st;
    nm->n++;
    return 0;
}

Test(op_decode, find_full_directory_entries)
{
    uint8_t buf[1024];
    size_t off = 0;
    off += full_entry(buf + off, ".", 0, SMB1_ATTR_DIRECTORY, false);
    off += full_entry(buf + off, "a.txt", 1234, SMB1_ATTR_ARCHIVE, false);
    off += full_entry(buf + off, "dir", 0, SMB1_ATTR_DIRECTORY, true);
    struct names nm = {0};
    int r = dir_parse(SMB_FIND_FILE_FULL_DIRECTORY_INFO, true, buf, off, 100, collect, &nm);
    cr_assert_eq(r, 3);
    cr_assert_str_eq(nm.got[1], "a.txt");
    cr_assert_eq(nm.st[1].size, 1234);
    cr_assert(!nm.st[1].is_dir);
    cr_assert_eq(nm.st[1].mtime.tv_sec, 1577836800);
    cr_assert(nm.st[2].is_dir);
    cr_assert(S_ISDIR(nm.st[2].mode));
    /* SearchCount bounds the walk. */
    memset(&nm, 0, sizeof(nm));
    cr_assert_eq(dir_parse(SMB_FIND_FILE_FULL_DIRECTORY_INFO, true, buf, off, 2, collect, &nm), 2);
}

Test(op_decode, find_truncated_at_every_byte)
{
    uint8_t buf[1024];
    size_t off = 0;
    size_t first = full_entry(buf, "first", 1, 0, false);
    off = first + full_entry(buf + first, "second", 2, 0, true);
    /* The last entry's name is 12 bytes of UTF-16 after 68 fixed bytes. */
    for (size_t n = 0; n < first + 68 + 12; n++) {
        /* An exact-size copy, so a read past n is caught by ASan. */
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, buf, n);
        struct names nm = {0};
        int r = dir_parse(SMB_FIND_FILE_FULL_DIRECTORY_INFO, true, copy, n, 100, collect, &nm);
        if (n == 0)
            cr_assert_eq(r, 0);
        else if (n < first)
            cr_assert_eq(r, -EIO, "len %zu r %d", n, r);
        else
            cr_assert(r == -EIO || r == 1, "len %zu r %d", n, r);
        if (r == 1)
            cr_assert_str_eq(nm.got[0], "first");
        free(copy);
    }
    struct names all = {0};
    cr_assert_eq(dir_parse(SMB_FIND_FILE_FULL_DIRECTORY_INFO, true, buf, off, 100, collect, &all),
                 2);
}

Test(op_decode, find_bad_next_entry_offsets)
{
    uint8_t buf[512];
    size_t len = full_entry(buf, "x", 1, 0, false);
    full_entry(buf + len, "y", 1, 0, true);
    size_t total = len + 80;
    struct names nm = {0};
    /* Backwards / too small to hold an entry: rejected, no loop. */
    st32(buf, 4);
    cr_assert_eq(dir_parse(SMB_FIND_FILE_FULL_DIRECTORY_INFO, true, buf, total, 100, collect, &nm),
                 -EIO);
    /* Past the block. */
    st32(buf, 100000);
    cr_assert_eq(dir_parse(SMB_FIND_FILE_FULL_DIRECTORY_INFO, true, buf, total, 100, collect, &nm),
                 -EIO);
    /* 0xFFFFFFFF must not wrap. */
    st32(buf, 0xFFFFFFFFu);
    cr_assert_eq(dir_parse(SMB_FIND_FILE_FULL_DIRECTORY_INFO, true, buf, total, 100, collect, &nm),
                 -EIO);
    /* A name length beyond its entry. */
    st32(buf, (uint32_t)len);
    st32(buf + 60, 1000);
    cr_assert_eq(dir_parse(SMB_FIND_FILE_FULL_DIRECTORY_INFO, true, buf, total, 100, collect, &nm),
                 -EIO);
}

static void unix_basic(uint8_t *p, uint64_t size, uint32_t type, uint64_t perms)
{
    memset(p, 0, UNIX_BASIC_LEN);
    st64(p, size);
    st64(p + 8, 8192);
    st64(p + 16, FT_2020);
    st64(p + 24, FT_2020);
    st64(p + 32, FT_2020 + 10000000);
    st64(p + 40, 1000);
    st64(p + 48, 100);
    st32(p + 56, type);
    st64(p + 76, 424242);
    st64(p + 84, perms);
    st64(p + 92, 2);
}

Test(op_decode, unix_basic_record)
{
    uint8_t rec[UNIX_BASIC_LEN];
    unix_basic(rec, 77, UNIX_TYPE_SYMLINK, 0777);
    struct wire_reader r;
    struct smb1_stat st;
    memset(&st, 0, sizeof(st));
    wire_reader_init(&r, rec, sizeof(rec));
    cr_assert_eq(unix_basic_decode(&r, &st), 0);
    cr_assert_eq(st.size, 77);
    cr_assert_eq(st.mode, S_IFLNK | 0777);
    cr_assert_eq(st.uid, 1000);
    cr_assert_eq(st.gid, 100);
    cr_assert_eq(st.ino, 424242);
    cr_assert_eq(st.nlink, 2);
    cr_assert_eq(st.mtime.tv_sec, 1577836801);
    cr_assert(st.has_unix);
    for (size_t n = 0; n < sizeof(rec); n++) {
        wire_reader_init(&r, rec, n);
        cr_assert_eq(unix_basic_decode(&r, &st), -EIO, "len %zu", n);
    }
}

Test(op_decode, find_unix_entries)
{
    uint8_t buf[512];
    memset(buf, 0, sizeof(buf));
    unix_basic(buf + 8, 5, UNIX_TYPE_FILE, 0640);
    size_t nl = u16(buf + 108, "f1");
    size_t e1 = (108 + nl + 2 + 7) & ~(size_t)7;
    st32(buf, (uint32_t)e1);
    unix_basic(buf + e1 + 8, 0, UNIX_TYPE_DIR, 0755);
    size_t nl2 = u16(buf + e1 + 108, "d2");
    size_t total = e1 + 108 + nl2 + 2;
    struct names nm = {0};
    cr_assert_eq(dir_parse(SMB_FIND_FILE_UNIX, true, buf, total, 10, collect, &nm), 2);
    cr_assert_str_eq(nm.got[0], "f1");
    cr_assert_str_eq(nm.got[1], "d2");
    cr_assert_eq(nm.st[0].mode, S_IFREG | 0640);
    cr_assert(nm.st[1].is_dir);
    for (size_t n = 1; n < e1; n++) {
        memset(&nm, 0, sizeof(nm));
        int r = dir_parse(SMB_FIND_FILE_UNIX, true, buf, n, 10, collect, &nm);
        cr_assert(r == -EIO, "len %zu r %d", n, r);
    }
}

Test(op_decode, query_all_info)
{
    uint8_t d[100];
    memset(d, 0, sizeof(d));
    st64(d + 16, FT_2020);
    st32(d + 32, SMB1_ATTR_READONLY);
    st64(d + 40, 4096);
    st64(d + 48, 1000);
    st32(d + 56, 1);
    struct smb1_stat st;
    cr_assert_eq(info_decode_all(d, sizeof(d), &st), 0);
    cr_assert_eq(st.size, 1000);
    cr_assert_eq(st.alloc, 4096);
    cr_assert_eq(st.mode, S_IFREG | 0444);
    cr_assert(!st.has_unix);
    d[61] = 1;
    cr_assert_eq(info_decode_all(d, sizeof(d), &st), 0);
    cr_assert(st.is_dir);
    for (size_t n = 0; n < INFO_ALL_MIN_LEN; n++)
        cr_assert_eq(info_decode_all(d, n, &st), -EIO, "len %zu", n);
}

Test(op_decode, fs_size_records)
{
    uint8_t d[32];
    memset(d, 0, sizeof(d));
    st64(d, 1000);
    st64(d + 8, 500);
    st32(d + 16, 8);
    st32(d + 20, 512);
    struct smb1_statfs sf;
    memset(&sf, 0, sizeof(sf));
    cr_assert_eq(info_decode_fs_size(d, 24, &sf), 0);
    cr_assert_eq(sf.total_bytes, 1000ull * 4096);
    cr_assert_eq(sf.avail_bytes, 500ull * 4096);
    cr_assert_eq(sf.block_size, 4096);
    for (size_t n = 0; n < 24; n++)
        cr_assert_eq(info_decode_fs_size(d, n, &sf), -EIO);
    /* A zero unit is nonsense, not a division by zero later. */
    st32(d + 16, 0);
    cr_assert_eq(info_decode_fs_size(d, 24, &sf), -EIO);

    memset(d, 0, sizeof(d));
    st64(d, 1000);
    st64(d + 8, 300);
    st64(d + 16, 400);
    st32(d + 24, 1);
    st32(d + 28, 4096);
    cr_assert_eq(info_decode_fs_full_size(d, 32, &sf), 0);
    cr_assert_eq(sf.avail_bytes, 300ull * 4096);
    cr_assert_eq(sf.free_bytes, 400ull * 4096);
    for (size_t n = 0; n < 32; n++)
        cr_assert_eq(info_decode_fs_full_size(d, n, &sf), -EIO);
    /* Saturates instead of wrapping. */
    st64(d, UINT64_MAX / 2);
    cr_assert_eq(info_decode_fs_full_size(d, 32, &sf), 0);
    cr_assert_eq(sf.total_bytes, UINT64_MAX);
}

Test(op_decode, fs_attribute_info)
{
    uint8_t d[32];
    memset(d, 0, sizeof(d));
    st32(d, 0x1234);
    st32(d + 4, 255);
    size_t n = u16(d + 12, "NTFS");
    st32(d + 8, (uint32_t)n);
    uint32_t attrs, nm;
    cr_assert_eq(info_decode_fs_attr(d, 12 + n, &attrs, &nm), 0);
    cr_assert_eq(attrs, 0x1234);
    cr_assert_eq(nm, 255);
    for (size_t k = 0; k < 12 + n; k++)
        cr_assert_eq(info_decode_fs_attr(d, k, &attrs, &nm), -EIO);
}

struct ea_seen {
    int n;
    char names[4][32];
    size_t vlen[4];
};

static int ea_collect(void *arg, const struct ea_entry *e)
{
    struct ea_seen *s = arg;
    if (s->n >= 4)
        return -ENOSPC;
    memcpy(s->names[s->n], e->name, e->name_len < 31 ? e->name_len : 31);
    s->names[s->n][e->name_len < 31 ? e->name_len : 31] = 0;
    s->vlen[s->n] = e->value_len;
    s->n++;
    return 0;
}

Test(op_decode, ea_list_round_trip_and_truncation)
{
    uint8_t buf[128];
    long n = ea_encode_one("colour", "blue", 4, buf, sizeof(buf));
    cr_assert_eq(n, 4 + 4 + 7 + 4);
    struct ea_seen s = {0};
    cr_assert_eq(ea_parse_list(buf, (size_t)n, ea_collect, &s), 0);
    cr_assert_eq(s.n, 1);
    cr_assert_str_eq(s.names[0], "colour");
    cr_assert_eq(s.vlen[0], 4);
    for (long k = 0; k < n; k++) {
        struct ea_seen t = {0};
        cr_assert_eq(ea_parse_list(buf, (size_t)k, ea_collect, &t), -EIO, "len %ld", k);
    }
    /* SizeOfListInBytes claiming more than there is. */
    st32(buf, 1000);
    cr_assert_eq(ea_parse_list(buf, (size_t)n, ea_collect, &s), -EIO);
    /* An entry whose value runs past the list. */
    n = ea_encode_one("a", "xy", 2, buf, sizeof(buf));
    st16(buf + 6, 50);
    cr_assert_eq(ea_parse_list(buf, (size_t)n, ea_collect, &s), -EIO);
    cr_assert_eq(ea_encode_one("a", "xy", 2, buf, 5), -E2BIG);
}

struct shares {
    int n;
    char name[4][16];
    char remark[4][64];
    uint32_t type[4];
};

static int share_collect(void *ctx, const char *name, uint32_t type, const char *remark)
{
    struct shares *s = ctx;
    if (s->n >= 4)
        return -ENOSPC;
    snprintf(s->name[s->n], 16, "%s", name);
    snprintf(s->remark[s->n], 64, "%s", remark);
    s->type[s->n] = type;
    s->n++;
    return 0;
}

Test(op_decode, rap_share_enum)
{
    uint8_t param[8], data[128];
    memset(data, 0, sizeof(data));
    st16(param, 0);
    st16(param + 2, 0x1000); /* converter */
    st16(param + 4, 2);
    st16(param + 6, 2);
    memcpy(data, "share", 5);
    st16(data + 14, 0);
    st32(data + 16, 0x1000 + 40);
    memcpy(data + 20, "IPC$", 4);
    st16(data + 34, 3);
    st32(data + 36, 0x1000 + 50);
    memcpy(data + 40, "files", 6);
    memcpy(data + 50, "IPC Service", 12);
    struct shares s = {0};
    cr_assert_eq(share_enum_decode(param, 8, data, 62, share_collect, &s), 0);
    cr_assert_eq(s.n, 2);
    cr_assert_str_eq(s.name[0], "share");
    cr_assert_str_eq(s.remark[0], "files");
    cr_assert_str_eq(s.name[1], "IPC$");
    cr_assert_eq(s.type[1], 3);
    cr_assert_str_eq(s.remark[1], "IPC Service");
    /* Entries cut short. */
    for (size_t n = 0; n < 40; n++) {
        struct shares t = {0};
        cr_assert_eq(share_enum_decode(param, 8, data, n, share_collect, &t), -EIO, "len %zu", n);
    }
    /* Remark offsets outside the block give empty remarks, not reads. */
    st32(data + 16, 0x0FFF);
    st32(data + 36, 0xFFFF);
    memset(&s, 0, sizeof(s));
    cr_assert_eq(share_enum_decode(param, 8, data, 62, share_collect, &s), 0);
    cr_assert_str_eq(s.remark[0], "");
    cr_assert_str_eq(s.remark[1], "");
    /* Parameters cut short. */
    for (size_t n = 0; n < 8; n++)
        cr_assert_eq(share_enum_decode(param, n, data, 62, share_collect, &s), -EIO);
    /* A RAP error. */
    st16(param, 5);
    cr_assert_eq(share_enum_decode(param, 8, data, 62, share_collect, &s), -EACCES);
}

static struct path_ctx ctx_of(bool unicode, bool posix, bool mapposix)
{
    struct conn_params p;
    memset(&p, 0, sizeof(p));
    p.unicode = unicode;
    p.unix_caps = posix ? (UNIX_CAP_POSIX_PATHNAMES | UNIX_CAP_POSIX_PATH_OPERATIONS) : 0;
    struct path_ctx pc;
    path_ctx_init(&pc, &p, mapposix, 0);
    return pc;
}

Test(op_decode, path_to_wire_separators)
{
    uint8_t out[256], want[64];
    size_t n;
    struct path_ctx pc = ctx_of(true, false, false);
    cr_assert_eq(path_to_wire(&pc, "/a//b/", NULL, out, sizeof(out), &n), 0);
    size_t wn = u16(want, "a\\b");
    want[wn] = want[wn + 1] = 0;
    cr_assert_eq(n, wn + 2);
    cr_assert(memcmp(out, want, n) == 0);
    cr_assert_eq(path_to_wire(&pc, "/", "*", out, sizeof(out), &n), 0);
    cr_assert_eq(n, 4);
    cr_assert_eq(out[0], '*');
    cr_assert_eq(path_to_wire(&pc, "", NULL, out, sizeof(out), &n), 0);
    cr_assert_eq(n, 2);
    pc = ctx_of(true, true, false);
    cr_assert_eq(path_to_wire(&pc, "a/b\\c", NULL, out, sizeof(out), &n), 0);
    wn = u16(want, "a/b\\c");
    cr_assert(memcmp(out, want, wn) == 0);
    pc = ctx_of(false, false, false);
    cr_assert_eq(path_to_wire(&pc, "x/y", NULL, out, sizeof(out), &n), 0);
    cr_assert_eq(n, 4);
    cr_assert(memcmp(out, "x\\y", 4) == 0);
}

Test(op_decode, path_limits)
{
    uint8_t *out = malloc(PATH_WIRE_MAX);
    size_t n;
    char name[300];
    memset(name, 'n', sizeof(name));
    name[256] = 0;
    struct path_ctx pc = ctx_of(true, false, false);
    cr_assert_eq(path_to_wire(&pc, name, NULL, out, PATH_WIRE_MAX, &n), -ENAMETOOLONG);
    name[255] = 0;
    cr_assert_eq(path_to_wire(&pc, name, NULL, out, PATH_WIRE_MAX, &n), 0);
    /* A '\' in a name cannot travel with '\' separators unmapped. */
    cr_assert_eq(path_to_wire(&pc, "a\\b", NULL, out, PATH_WIRE_MAX, &n), -EINVAL);
    cr_assert_eq(path_to_wire(&pc, "%@~", NULL, out, PATH_WIRE_MAX, &n), 0);
    cr_assert_eq(n, 8);
    cr_assert_eq(out[0], '%');
    cr_assert_eq(out[2], '@');
    cr_assert_eq(out[4], '~');
    /* Too small a buffer for the whole path. */
    cr_assert_eq(path_to_wire(&pc, "abc", NULL, out, 6, &n), -ENAMETOOLONG);
    free(out);
}

Test(op_decode, path_mapposix_round_trip)
{
    uint8_t out[64];
    size_t n;
    struct path_ctx pc = ctx_of(true, false, true);
    cr_assert(pc.mapposix);
    cr_assert_eq(path_to_wire(&pc, "d/a:b?", NULL, out, sizeof(out), &n), 0);
    /* ':' and '?' are not sent as themselves. */
    cr_assert_neq(wire_le16(out + 6), ':');
    cr_assert_neq(wire_le16(out + 10), '?');
    cr_assert_eq(wire_le16(out + 2), '\\');
    int err = 0;
    char *back = path_name_from_wire(&pc, out + 4, n - 4 - 2, &err);
    cr_assert_not_null(back);
    cr_assert_str_eq(back, "a:b?");
    free(back);
    /* With UNIX extensions nothing is mapped. */
    pc = ctx_of(true, true, true);
    cr_assert(!pc.mapposix);
}

Test(op_decode, names_from_wire)
{
    uint8_t w[16];
    int err = 0;
    struct path_ctx pc = ctx_of(true, false, false);
    size_t n = u16(w, "a/b");
    cr_assert_null(path_name_from_wire(&pc, w, n, &err));
    cr_assert_eq(err, -EINVAL);
    cr_assert_null(path_name_from_wire(&pc, w, 0, &err));
    n = u16(w, "ok");
    /* An odd length cuts the last character: refused, never "o". */
    w[n] = 'x';
    cr_assert_null(path_name_from_wire(&pc, w, n - 1, &err));
    cr_assert_eq(err, -EILSEQ);
    cr_assert_null(path_name_from_wire(&pc, w, n + 1, &err));
    /* Counted with its terminator and one stray byte: the name is whole. */
    w[n] = 0;
    w[n + 1] = 0;
    w[n + 2] = 'x';
    char *s = path_name_from_wire(&pc, w, n + 3, &err);
    cr_assert_str_eq(s, "ok");
    free(s);
}

/* NDR of a NetrShareEnum level-1 reply with the given shares. */
static size_t ndr_reply(uint8_t *p, const char *const *names, const uint32_t *types,
                        const char *const *remarks, uint32_t n)
{
    size_t o = 0;
    st32(p + o, 1), o += 4;       /* level */
    st32(p + o, 1), o += 4;       /* discriminant */
    st32(p + o, 0x20000), o += 4; /* container */
    st32(p + o, n), o += 4;       /* EntriesRead */
    st32(p + o, 0x20004), o += 4; /* array */
    st32(p + o, n), o += 4;       /* max count */
    for (uint32_t i = 0; i < n; i++) {
        st32(p + o, 0x20008 + i), o += 4;
        st32(p + o, types[i]), o += 4;
        st32(p + o, 0x30008 + i), o += 4;
    }
    for (uint32_t i = 0; i < n; i++) {
        const char *strs[2] = {names[i], remarks[i]};
        for (int k = 0; k < 2; k++) {
            uint32_t chars = (uint32_t)strlen(strs[k]) + 1;
            st32(p + o, chars), o += 4;
            st32(p + o, 0), o += 4;
            st32(p + o, chars), o += 4;
            o += u16(p + o, strs[k]);
            p[o++] = 0;
            p[o++] = 0;
            while (o % 4)
                p[o++] = 0;
        }
    }
    st32(p + o, n), o += 4;       /* TotalEntries */
    st32(p + o, 0x20010), o += 4; /* resume handle */
    st32(p + o, 0), o += 4;
    st32(p + o, 0), o += 4; /* WERROR */
    return o;
}

Test(op_decode, srvsvc_share_enum)
{
    uint8_t stub[1024];
    const char *names[] = {"a_share_with_a_long_name", "IPC$"};
    const char *remarks[] = {"files", "IPC Service"};
    uint32_t types[] = {0, 0x80000003u};
    size_t n = ndr_reply(stub, names, types, remarks, 2);
    struct shares s = {0};
    cr_assert_eq(srvsvc_decode_share_enum(stub, n, share_collect, &s), 0);
    cr_assert_eq(s.n, 2);
    cr_assert_str_eq(s.name[0], "a_share_with_a_"); /* the test's buffer is 16 bytes */
    cr_assert_eq(s.type[1], 3);
    cr_assert_str_eq(s.remark[1], "IPC Service");
    for (size_t k = 0; k < n; k++) {
        struct shares t = {0};
        cr_assert_eq(srvsvc_decode_share_enum(stub, k, NULL, &t), -EIO, "len %zu", k);
    }
    /* A count beyond the array's maximum, and an absurd count. */
    st32(stub + 12, 3);
    cr_assert_eq(srvsvc_decode_share_enum(stub, n, NULL, NULL), -EIO);
    st32(stub + 12, 0xFFFFFFF0u);
    cr_assert_eq(srvsvc_decode_share_enum(stub, n, NULL, NULL), -EIO);
    st32(stub + 12, 2);
    /* A WERROR. */
    st32(stub + n - 4, 5);
    cr_assert_eq(srvsvc_decode_share_enum(stub, n, NULL, NULL), -EACCES);
}

static size_t rpc_frag(uint8_t *p, uint8_t ptype, uint8_t flags, const uint8_t *stub, size_t n)
{
    memset(p, 0, 24);
    p[0] = 5;
    p[2] = ptype;
    p[3] = flags;
    p[4] = 0x10;
    st16(p + 8, (uint16_t)(24 + n));
    memcpy(p + 24, stub, n);
    return 24 + n;
}

Test(op_decode, rpc_response_fragments)
{
    uint8_t buf[256], *stub = NULL;
    size_t len = 0, sl = 0;
    len += rpc_frag(buf, 2, 0x01, (const uint8_t *)"abc", 3);
    /* Only the first fragment: more is needed. */
    cr_assert_eq(dcerpc_stubs(buf, len, 0, &stub, &sl, NULL), 0);
    len += rpc_frag(buf + len, 2, 0x02, (const uint8_t *)"defg", 4);
    /* Cut inside the second fragment: still more needed. */
    cr_assert_eq(dcerpc_stubs(buf, len - 1, 0, &stub, &sl, NULL), 0);
    cr_assert_eq(dcerpc_stubs(buf, len, 0, &stub, &sl, NULL), 1);
    cr_assert_eq(sl, 7);
    cr_assert(memcmp(stub, "abcdefg", 7) == 0);
    free(stub);
    /* A fault PDU, and a fragment length below its header. */
    rpc_frag(buf, 3, 0x03, (const uint8_t *)"\x05\0\0\0", 4);
    cr_assert_eq(dcerpc_stubs(buf, 28, 0, &stub, &sl, NULL), -EPROTO);
    rpc_frag(buf, 2, 0x03, (const uint8_t *)"x", 1);
    st16(buf + 8, 10);
    cr_assert_eq(dcerpc_stubs(buf, 25, 0, &stub, &sl, NULL), -EIO);
}
