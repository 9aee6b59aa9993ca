/* libFuzzer: the reply decoders no other target reaches. The first byte
 * picks one (modulo 10); the rest is its input, copied to a buffer of
 * exactly its size so that a read past it is caught:
 *
 *   0 TREE_CONNECT_ANDX (the Service string, the tree type)
 *   1 an oplock break (LOCKING_ANDX from the server: unsigned, forgeable)
 *   2 an ECHO reply
 *   3 WRITE_ANDX (the count, against a request length from the input)
 *   4 WRITE_ANDX + CLOSE in one AndX chain
 *   5 IOCTL_QUERY_JOB_INFO (a print job's id)
 *   6 SMB_QUERY_CIFS_UNIX_INFO and SMB_POSIX_PATH_OPEN data blocks
 *   7 QUERY_PATH/FILE_INFO as info_decode_stat takes them (the level and
 *     the split into parameters and data from the input)
 *   8 an mfsymlink file's content
 *   9 a spoolss EnumJobs stub (and the JOB_INFO_2 block it points at) and
 *     a RAP enumeration's parameter block
 *  10 a name from the server (path_name_from_wire: Unicode or not, mapped
 *     or not, from the second byte): a name it gives is one valid UTF-8
 *     POSIX component, never empty, never with '/'
 *
 * For 0-5 the input is the SMB of a reply; what the validator accepts is
 * decoded. Whatever decodes must lie inside the input and strings must
 * be terminated within their buffers. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "link/msg.h"
#include "ops/mfsymlink.h"
#include "ops/op_file.h"
#include "ops/op_info.h"
#include "ops/op_wclose.h"
#include "ops/path.h"
#include "ops/print_job.h"
#include "ops/trans.h"
#include "ops/unix.h"
#include "rpc/rap.h"
#include "rpc/spoolss.h"
#include "session/conn_int.h"
#include "wire/text.h"
#include "wire/smb1_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const uint8_t *p, size_t n, const uint8_t *x, size_t xn)
{
    if (xn && (!x || x < p || x > p + n || xn > (size_t)(p + n - x)))
        __builtin_trap();
}

/* Decodes the reply in p (which a parsed msg_in owns from then on: it
 * frees it). */
static void smb_reply(unsigned k, uint8_t *p, size_t n, uint8_t arg)
{
    struct msg_in in;
    const char *why = NULL;
    if (msg_in_parse(&in, p, n, &why) < 0) {
        free(p);
        return;
    }
    switch (k) {
    case 0: {
        char svc[TREE_SVC_MAX];
        enum smb1_tree_type type;
        memset(svc, 'x', sizeof(svc));
        tree_connect_decode(&in, svc, &type);
        if (!memchr(svc, 0, sizeof(svc)))
            __builtin_trap();
        break;
    }
    case 1: {
        uint16_t fid;
        uint8_t level;
        (void)conn_break_decode(&in, &fid, &level);
        break;
    }
    case 2:
        (void)conn_echo_decode(&in);
        break;
    case 3: {
        uint32_t len = (uint32_t)arg * 1021u;
        ssize_t r = file_write_decode(&in, len);
        if (r > (ssize_t)len)
            __builtin_trap();
        break;
    }
    case 4: {
        struct wclose_req q;
        memset(&q, 0, sizeof(q));
        q.len = (uint32_t)arg * 1021u;
        ssize_t r = wclose_parse(&in, &q);
        if (r > (ssize_t)q.len)
            __builtin_trap();
        break;
    }
    default:
        (void)print_ioctl_job_id(&in);
        break;
    }
    msg_in_free(&in);
}

static int on_job(void *ctx, const struct smb1_print_job_info *j)
{
    (void)ctx;
    if (!memchr(j->name, 0, sizeof(j->name)) || !memchr(j->user, 0, sizeof(j->user)))
        __builtin_trap();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned k = data[0] % 11;
    uint8_t arg = data[1];
    size_t n = size - 2;
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        return 0;
    memcpy(p, data + 2, n);
    if (k <= 5) {
        smb_reply(k, p, n, arg);
        return 0;
    }
    if (k == 6) {
        uint16_t major, minor, fid;
        uint64_t caps;
        struct smb1_stat st;
        (void)unix_info_decode(p, n, &major, &minor, &caps);
        (void)unix_posix_open_decode(p, n, &fid, &st);
        (void)unix_posix_open_decode(p, n, &fid, NULL);
    } else if (k == 7) {
        static const uint16_t levels[] = {SMB_QUERY_FILE_ALL_INFO, SMB_QUERY_FILE_BASIC_INFO,
                                          SMB_QUERY_FILE_STANDARD_INFO, SMB_QUERY_FILE_UNIX_BASIC};
        struct trans_resp rs;
        memset(&rs, 0, sizeof(rs));
        size_t split = arg < n ? arg : n;
        rs.param = split ? p : NULL;
        rs.param_len = (uint32_t)split;
        rs.data = n > split ? p + split : NULL;
        rs.data_len = (uint32_t)(n - split);
        struct smb1_stat st;
        for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
            (void)info_decode_stat(levels[i], &rs, &st);
    } else if (k == 8) {
        char out[MFSYM_LINK_MAX + 1];
        size_t cap = arg & 1 ? sizeof(out) : 1 + (size_t)arg;
        ssize_t r = mfsym_parse(p, n, out, cap);
        if (r >= 0 && ((size_t)r >= cap || out[r] != 0))
            __builtin_trap();
    } else if (k == 10) {
        struct path_ctx pc = {.unicode = arg & 1,
                              .posix_paths = arg & 2,
                              .mapposix = arg & 4,
                              .name_max = PATH_NAME_MAX};
        int err = 0;
        char *name = path_name_from_wire(&pc, p, n, &err);
        if (name) {
            size_t len = strlen(name), i = 0;
            if (!len || strchr(name, '/'))
                __builtin_trap();
            /* From UTF-16 it is valid UTF-8; OEM names pass as they are. */
            while (pc.unicode && i < len)
                if (text_utf8_next(name, len, &i) < 0)
                    __builtin_trap();
            free(name);
        } else if (!err) {
            __builtin_trap();
        }
    } else {
        const uint8_t *jobs;
        uint32_t jlen, returned, werr;
        if (spoolss_enum_jobs_stub(p, n, &jobs, &jlen, &returned, &werr) == 0) {
            inside(p, n, jobs, jlen);
            if (jobs && returned < 64)
                (void)spoolss_jobs2_decode(jobs, jlen, returned, on_job, NULL);
        }
        uint16_t converter, count;
        bool more;
        (void)rap_enum_head(p, n, &converter, &count, &more);
    }
    free(p);
    return 0;
}
