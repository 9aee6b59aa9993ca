/* libFuzzer: the decoders of TRANS2 FIND and QUERY information levels, the
 * CIFS UNIX record and the EA list: every length, offset and count inside
 * them comes from the server. The first byte picks the decoder (and for
 * FIND the level and whether names are Unicode); the rest is the block,
 * copied to a buffer of exactly its size so that a read past it is caught. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ea.h"
#include "ops/op_dir.h"
#include "ops/op_info.h"
#include "wire/smb1_proto.h"
#include "wire/unix_rec.h"
#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct walk {
    const uint8_t *start, *end;
    unsigned n;
};

static int on_entry(void *arg, const struct dir_entry *e)
{
    struct walk *w = arg;
    /* A name points into the block, and lies inside it. */
    if (e->name_len &&
        (e->name < w->start || e->name > w->end || e->name_len > (size_t)(w->end - e->name)))
        __builtin_trap();
    w->n++;
    return 0;
}

static int on_ea(void *arg, const struct ea_entry *e)
{
    struct walk *w = arg;
    (void)e;
    w->n++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = size - 1;
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        return 0;
    memcpy(p, data + 1, n);
    uint8_t sel = data[0];
    struct smb1_stat st;
    struct smb1_statfs sf;
    struct walk w = {p, p + n, 0};
    static const uint16_t levels[] = {SMB_FIND_FILE_FULL_DIRECTORY_INFO,
                                      SMB_FIND_FILE_BOTH_DIRECTORY_INFO, SMB_FIND_FILE_UNIX};
    static int (*const stat_dec[])(const uint8_t *, size_t, struct smb1_stat *) = {
        info_decode_all, info_decode_basic, info_decode_standard};
    static int (*const fs_dec[])(const uint8_t *, size_t, struct smb1_statfs *) = {
        info_decode_fs_size, info_decode_fs_full_size};
    unsigned k = sel % 8;
    if (k == 0) {
        uint16_t level = levels[(sel >> 4) % 3];
        int r = dir_parse(level, (sel & 0x80) != 0, p, n, 4096, on_entry, &w);
        if (r > 0 && (unsigned)r != w.n)
            __builtin_trap();
    } else if (k <= 3) {
        (void)stat_dec[k - 1](p, n, &st);
    } else if (k <= 5) {
        (void)fs_dec[k - 4](p, n, &sf);
    } else if (k == 6) {
        uint32_t attrs, name_max;
        (void)info_decode_fs_attr(p, n, &attrs, &name_max);
        struct wire_reader r;
        wire_reader_init(&r, p, n);
        (void)unix_basic_decode(&r, &st);
    } else {
        (void)ea_parse_list(p, n, on_ea, &w);
    }
    free(p);
    return 0;
}
