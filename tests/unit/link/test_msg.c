/* msg: the reply validator on real SMB1 replies captured from Samba 4 smbd
 * (smbclient over NT1, tshark on lo; the two dos_ frames answer a scripted
 * client that did not ask for NT status codes), every truncation and every
 * single-byte corruption of them, plus the request builder. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link/msg.h"
#include "wire/ntstatus.h"
#include "wire/smb1_proto.h"

struct captured {
    const char *name;
    uint8_t cmd;
    uint32_t status;
    uint8_t wct;
    uint16_t bcc;
    uint16_t mid;
    const char *hex;
};

/* clang-format off */
static const struct captured frames[] = {
    {"negotiate_ext", 0x72, 0x00000000u, 17, 90, 0,
     "ff534d4272000000008843c80000000000000000000000000000feff0000000011000007320001000441000000000100"
     "23660000fcf380808859519b3f7cdd010000005a00766d0000000000000000000000000000604806062b0601050502a0"
     "3e303ca00e300c060a2b06010401823702020aa32a3028a0261b246e6f745f646566696e65645f696e5f524643343137"
     "3840706c656173655f69676e6f7265"
    },
    {"sess_more_processing", 0x73, 0xC0000016u, 4, 219, 1,
     "ff534d4273160000c08803c800000000000000000000000000002066b145010004ff00000000008400db00a18181307f"
     "a0030a0101a10c060a2b06010401823702020aa26a04684e544c4d5353500002000000040004003800000015828a6241"
     "12869417d6e8e500000000000000002c002c003c000000060100000000000f56004d000200040056004d000100040056"
     "004d00040000000300040076006d00070008006e04529b3f7cdd010000000000570069006e0064006f00770073002000"
     "36002e0031000000530061006d0062006100200034002e00310037002e00310032002d00440065006200690061006e00"
     "000057004f0052004b00470052004f00550050000000"
    },
    {"sess_ok", 0x73, 0x00000000u, 4, 115, 2,
     "ff534d4273000000008803c800000000000000000000000000002066b145020004ff00000000001d007300a11b3019a0"
     "030a0100a312041001000000f645c89a4eb6235a00000000570069006e0064006f0077007300200036002e0031000000"
     "530061006d0062006100200034002e00310037002e00310032002d00440065006200690061006e00000057004f005200"
     "4b00470052004f00550050000000"
    },
    {"tcon_ipc", 0x75, 0x00000000u, 7, 7, 3,
     "ff534d4275000000008803c80000000000000000000000005e032066b145030007ff0000002100ff010000ff01000007"
     "0049504300000000"
    },
    {"trans2_not_found", 0x32, 0xC0000225u, 0, 0, 4,
     "ff534d4232250200c08803c80000000000000000000000005e032066b1450400000000"
    },
    {"trans2_find_first", 0x32, 0x00000000u, 10, 313, 7,
     "ff534d4232000000008803c80000000000000000000000001aba2066b14507000a0a002c0100000a00380000002c0144"
     "0000000000390100ffff030001000000c400000060000000000000007d07b9923f7cdd017d07b9923f7cdd017d07b992"
     "3f7cdd017d07b9923f7cdd01000000000000000000000000000000001000000002000000000000000000000000000000"
     "0000000000000000000000000000000000002e0064000000000000007f5940963f7cdd017f5940963f7cdd010219d599"
     "3f7cdd010219d5993f7cdd01000000000000000000000000000000001000000004000000000000000000000000000000"
     "0000000000000000000000000000000000002e002e00000068000000000000007d07b9923f7cdd017d07b9923f7cdd01"
     "7d07b9923f7cdd017d07b9923f7cdd0106000000000000000010000000000000800000000a0000000000000000000000"
     "0000000000000000000000000000000000000000000061002e00740078007400"
    },
    {"nt_create", 0xA2, 0x00000000u, 34, 0, 9,
     "ff534d42a2000000008803c80000000000000000000000001aba2066b145090022ff000000007fc8010000007d07b992"
     "3f7cdd017d07b9923f7cdd017d07b9923f7cdd017d07b9923f7cdd018000000000100000000000000600000000000000"
     "00000000000000"
    },
    {"read_andx", 0x2E, 0x00000000u, 12, 7, 11,
     "ff534d422e000000008803c80000000000000000000000001aba2066b1450b000cff000000ffff0000000006003c0000"
     "00000000000000000007000068656c6c6f0a"
    },
    {"close", 0x04, 0x00000000u, 0, 0, 12,
     "ff534d4204000000008803c80000000000000000000000001aba2066b1450c00000000"
    },
    {"trans2_no_such_file", 0x32, 0xC000000Fu, 0, 0, 13,
     "ff534d42320f0000c08803c80000000000000000000000001aba2066b1450d00000000"
    },
    {"sess_ok_signed", 0x73, 0x00000000u, 4, 115, 2,
     "ff534d4273000000008817c800001c145efd9ba4a0ff000000002766b1d1020004ff00000000001d007300a11b3019a0"
     "030a0100a312041001000000bfa4d1acec030af500000000570069006e0064006f0077007300200036002e0031000000"
     "530061006d0062006100200034002e00310037002e00310032002d00440065006200690061006e00000057004f005200"
     "4b00470052004f00550050000000"
    },
    {"trans2_find_signed", 0x32, 0x00000000u, 10, 313, 7,
     "ff534d4232000000008817c80000bcb90fd1f203b445000026032766b1d107000a0a002c0100000a00380000002c0144"
     "0000000000390100ffff030001000000c4000000600000000000000068a5539b3f7cdd01deb4539b3f7cdd0168a5539b"
     "3f7cdd0168a5539b3f7cdd01000000000000000000000000000000001000000002000000000000000000000000000000"
     "0000000000000000000000000000000000002e0064000000000000007f5940963f7cdd017f5940963f7cdd0133b3529b"
     "3f7cdd0133b3529b3f7cdd01000000000000000000000000000000001000000004000000000000000000000000000000"
     "0000000000000000000000000000000000002e002e00000068000000000000007d07b9923f7cdd01832d539b3f7cdd01"
     "7d07b9923f7cdd017d07b9923f7cdd0106000000000000000010000000000000800000000a0000000000000000000000"
     "0000000000000000000000000000000000000000000061002e00740078007400"
    },
    {"sess_logon_failure", 0x73, 0xC000006Du, 0, 0, 2,
     "ff534d42736d0000c08803c800000000000000000000000000002b66c4c50200000000"
    },
    {"negotiate_nonext", 0x72, 0x00000000u, 17, 34, 0,
     "ff534d4272000000008803c00000000000000000000000000000feff0000000011000007320001000441000000000100"
     "32660000fcf38000fc5b6b9b3f7cdd010000082200bd3ea9e42daac29257004f0052004b00470052004f005500500000"
     "0056004d000000"
    },
    /* Replies to a client that did not set FLAGS2_NT_STATUS: DOS errors. */
    {"dos_tcon_baduid", 0x75, NT_STATUS_USER_SESSION_DELETED, 0, 0, 2,
     "ff534d427502005b008803000000000000000000000000000000fffe00000200000000"
    },
    {"dos_unknown_cmd", 0x99, NT_STATUS_NOT_IMPLEMENTED, 0, 0, 3,
     "ff534d4299020016008803000000000000000000000000000000fffe00000300000000"
    },
};
/* clang-format on */

#define NFRAMES (sizeof(frames) / sizeof(frames[0]))

static uint8_t *unhex(const char *h, size_t *n)
{
    size_t l = strlen(h) / 2;
    uint8_t *b = malloc(l ? l : 1);
    cr_assert_not_null(b);
    for (size_t i = 0; i < l; i++) {
        unsigned v;
        cr_assert_eq(sscanf(h + 2 * i, "%2x", &v), 1);
        b[i] = (uint8_t)v;
    }
    *n = l;
    return b;
}

/* An exact-size heap copy, so AddressSanitizer sees any read past len. */
static uint8_t *dup_n(const uint8_t *p, size_t n)
{
    uint8_t *b = malloc(n ? n : 1);
    cr_assert_not_null(b);
    if (n)
        memcpy(b, p, n);
    return b;
}

/* Reads every word and byte through the readers: under ASAN any bad offset
 * the validator let through shows up here. */
static void read_all(const struct msg_in *in)
{
    struct wire_reader w, b, s;
    msg_in_words(in, &w);
    msg_in_bytes(in, &b);
    msg_in_smb(in, &s);
    cr_assert(wire_ok(&w) && wire_ok(&b) && wire_ok(&s));
    cr_assert_eq(wire_remaining(&w), 2 * (size_t)in->wct);
    cr_assert_eq(wire_remaining(&b), in->bcc);
    unsigned sum = 0;
    while (wire_remaining(&w))
        sum += wire_u8(&w);
    while (wire_remaining(&b))
        sum += wire_u8(&b);
    while (wire_remaining(&s))
        sum += wire_u8(&s);
    cr_assert(wire_ok(&w) && wire_ok(&b) && wire_ok(&s));
    (void)sum;
}

/* The validator's rules restated independently of msg.c. Returns the kind
 * expected, or -EIO. */
static int reference_kind(const uint8_t *f, size_t len)
{
    if (len < 35 || memcmp(f, "\xFFSMB", 4) != 0)
        return -EIO;
    size_t wct = f[32];
    if (33 + 2 * wct + 2 > len)
        return -EIO;
    size_t bcc = (size_t)f[33 + 2 * wct] | (size_t)f[34 + 2 * wct] << 8;
    if (35 + 2 * wct + bcc > len)
        return -EIO;
    if (f[9] & 0x80)
        return MSG_REPLY;
    if (f[4] == 0x24 && f[30] == 0xFF && f[31] == 0xFF)
        return MSG_OPLOCK_BREAK;
    return -EIO;
}

Test(msg, captured_frames_parse)
{
    for (size_t i = 0; i < NFRAMES; i++) {
        size_t n;
        uint8_t *f = unhex(frames[i].hex, &n);
        struct msg_in in;
        const char *why = "unset";
        int k = msg_in_parse(&in, f, n, &why);
        cr_assert_eq(k, MSG_REPLY, "%s: %d (%s)", frames[i].name, k, why ? why : "");
        cr_assert_eq(in.cmd, frames[i].cmd, "%s", frames[i].name);
        cr_assert_eq(in.status, frames[i].status, "%s", frames[i].name);
        cr_assert_eq(in.wct, frames[i].wct, "%s", frames[i].name);
        cr_assert_eq(in.bcc, frames[i].bcc, "%s", frames[i].name);
        cr_assert_eq(in.mid, frames[i].mid, "%s", frames[i].name);
        cr_assert_eq(in.words_off, 33);
        cr_assert_eq(in.bytes_off, 35 + 2 * (size_t)frames[i].wct);
        cr_assert(in.flags & SMB1_FLAGS_REPLY);
        bool dos = strncmp(frames[i].name, "dos_", 4) == 0;
        cr_assert_eq(!(in.flags2 & SMB1_FLAGS2_NT_STATUS), dos, "%s", frames[i].name);
        cr_assert_eq(in.frame, f);
        cr_assert_eq(in.len, n);
        read_all(&in);
        msg_in_free(&in);
        cr_assert_null(in.frame);
    }
}

Test(msg, negotiate_reply_fields)
{
    size_t n;
    uint8_t *f = unhex(frames[0].hex, &n);
    struct msg_in in;
    cr_assert_eq(msg_in_parse(&in, f, n, NULL), MSG_REPLY);
    struct wire_reader w;
    msg_in_words(&in, &w);
    cr_assert_eq(wire_u16(&w), 0); /* DialectIndex: the only dialect offered */
    uint8_t secmode = wire_u8(&w);
    cr_assert(secmode & 0x01, "user-level security");
    cr_assert_eq(wire_u16(&w), 50); /* MaxMpxCount: Samba's default */
    cr_assert(wire_ok(&w));
    msg_in_free(&in);
}

Test(msg, every_truncation_fails)
{
    for (size_t i = 0; i < NFRAMES; i++) {
        size_t n;
        uint8_t *full = unhex(frames[i].hex, &n);
        for (size_t l = 0; l < n; l++) {
            uint8_t *f = dup_n(full, l);
            struct msg_in in;
            const char *why = NULL;
            int k = msg_in_parse(&in, f, l, &why);
            cr_assert_eq(k, -EIO, "%s cut at %zu parsed", frames[i].name, l);
            cr_assert_not_null(why);
            cr_assert_null(in.frame);
            free(f);
        }
        free(full);
    }
}

Test(msg, every_single_byte_corruption)
{
    static const uint8_t xors[] = {0x01, 0x02, 0x10, 0x80, 0xFF};
    for (size_t i = 0; i < NFRAMES; i++) {
        size_t n;
        uint8_t *full = unhex(frames[i].hex, &n);
        for (size_t pos = 0; pos < n; pos++) {
            for (size_t x = 0; x < sizeof(xors); x++) {
                uint8_t *f = dup_n(full, n);
                f[pos] ^= xors[x];
                int want = reference_kind(f, n);
                struct msg_in in;
                const char *why = NULL;
                int k = msg_in_parse(&in, f, n, &why);
                cr_assert_eq(k, want, "%s byte %zu ^%02x: got %d want %d (%s)", frames[i].name, pos,
                             xors[x], k, want, why ? why : "");
                if (k >= 0) {
                    read_all(&in);
                    msg_in_free(&in);
                } else {
                    cr_assert_not_null(why);
                    free(f);
                }
            }
        }
        free(full);
    }
}

Test(msg, trailing_bytes_allowed)
{
    size_t n;
    uint8_t *full = unhex(frames[6].hex, &n); /* nt_create */
    uint8_t *f = malloc(n + 3);
    memcpy(f, full, n);
    memset(f + n, 0xAA, 3);
    struct msg_in in;
    cr_assert_eq(msg_in_parse(&in, f, n + 3, NULL), MSG_REPLY);
    cr_assert_eq(in.bcc, frames[6].bcc);
    struct wire_reader b;
    msg_in_bytes(&in, &b);
    cr_assert_eq(wire_remaining(&b), in.bcc);
    msg_in_free(&in);
    free(full);
}

static uint8_t *close_frame(size_t *n)
{
    for (size_t i = 0; i < NFRAMES; i++)
        if (strcmp(frames[i].name, "close") == 0)
            return unhex(frames[i].hex, n);
    cr_assert_fail("no close frame");
    return NULL;
}

Test(msg, oplock_break_recognised)
{
    size_t n;
    uint8_t *f = close_frame(&n);
    f[SMB1_HDR_CMD] = SMB1_COM_LOCKING_ANDX;
    f[SMB1_HDR_FLAGS] &= (uint8_t)~SMB1_FLAGS_REPLY;
    f[SMB1_HDR_MID] = 0xFF;
    f[SMB1_HDR_MID + 1] = 0xFF;
    struct msg_in in;
    cr_assert_eq(msg_in_parse(&in, f, n, NULL), MSG_OPLOCK_BREAK);
    cr_assert_eq(in.mid, 0xFFFF);
    /* Any other MID: a request from the server we never asked for. */
    f[SMB1_HDR_MID] = 0x01;
    f[SMB1_HDR_MID + 1] = 0x00;
    const char *why = NULL;
    cr_assert_eq(msg_in_parse(&in, f, n, &why), -EIO);
    cr_assert_not_null(why);
    /* MID 0xFFFF on another command is not a break either. */
    f[SMB1_HDR_MID] = 0xFF;
    f[SMB1_HDR_MID + 1] = 0xFF;
    f[SMB1_HDR_CMD] = SMB1_COM_READ_ANDX;
    cr_assert_eq(msg_in_parse(&in, f, n, NULL), -EIO);
    free(f);
}

static uint32_t dos_status(uint8_t cls, uint16_t code)
{
    size_t n;
    uint8_t *f = close_frame(&n);
    uint16_t f2 = wire_le16(f + SMB1_HDR_FLAGS2) & (uint16_t)~SMB1_FLAGS2_NT_STATUS;
    wire_st16(f + SMB1_HDR_FLAGS2, f2);
    f[SMB1_HDR_STATUS] = cls;
    f[SMB1_HDR_STATUS + 1] = 0;
    wire_st16(f + SMB1_HDR_STATUS + 2, code);
    struct msg_in in;
    cr_assert_eq(msg_in_parse(&in, f, n, NULL), MSG_REPLY);
    uint32_t st = in.status;
    msg_in_free(&in);
    return st;
}

Test(msg, dos_status_decoded)
{
    cr_assert_eq(dos_status(0, 0), NT_STATUS_OK);
    cr_assert_eq(dos_status(1, 2), NT_STATUS_OBJECT_NAME_NOT_FOUND);
    cr_assert_eq(dos_status(1, 18), NT_STATUS_NO_MORE_FILES);
    cr_assert_eq(dos_status(2, 91), NT_STATUS_USER_SESSION_DELETED);
    cr_assert_eq(dos_status(2, 2), NT_STATUS_LOGON_FAILURE);
    uint32_t unk = dos_status(1, 9999);
    cr_assert_eq(unk, NT_STATUS_DOS(1, 9999));
    cr_assert(NT_STATUS_IS_DOS(unk));
    /* With NT_STATUS set, the same four bytes are one NTSTATUS. */
    size_t n;
    uint8_t *f = close_frame(&n);
    wire_st32(f + SMB1_HDR_STATUS, NT_STATUS_ACCESS_DENIED);
    struct msg_in in;
    cr_assert_eq(msg_in_parse(&in, f, n, NULL), MSG_REPLY);
    cr_assert_eq(in.status, NT_STATUS_ACCESS_DENIED);
    msg_in_free(&in);
}

Test(msg, hostile_counts)
{
    size_t n;
    uint8_t *f = close_frame(&n); /* wct 0, bcc 0, 35 bytes */
    const char *why;
    struct msg_in in;
    f[32] = 0xFF;
    cr_assert_eq(msg_in_parse(&in, f, n, &why), -EIO);
    f[32] = 0;
    f[33] = 1;
    cr_assert_eq(msg_in_parse(&in, f, n, &why), -EIO);
    f[33] = 0xFF;
    f[34] = 0xFF;
    cr_assert_eq(msg_in_parse(&in, f, n, &why), -EIO);
    cr_assert_eq(msg_in_parse(&in, NULL, 100, &why), -EIO);
    f[33] = 0;
    f[34] = 0;
    f[0] = 0xFE; /* an SMB2 frame is not ours */
    cr_assert_eq(msg_in_parse(&in, f, n, &why), -EIO);
    free(f);
}

Test(msg, builder_layout)
{
    struct msg_out m;
    cr_assert_eq(msg_out_init(&m, SMB1_COM_TREE_CONNECT_ANDX, 128), 0);
    msg_set_tid(&m, 0x1234);
    msg_set_pid(&m, 0xABCD5678);
    msg_words_begin(&m);
    wire_put_u16(&m.w, 0xBEEF);
    wire_put_u16(&m.w, 0x0102);
    msg_words_end(&m);
    msg_bytes_begin(&m);
    cr_assert_eq(msg_offset(&m), 39);
    msg_align(&m, 2);
    cr_assert_eq(msg_offset(&m) % 2, 0);
    cr_assert_eq(msg_put_utf16z(&m, "A\xC3\xA9"), 0);
    msg_bytes_end(&m);
    cr_assert_eq(msg_out_error(&m), 0);

    /* clang-format off */
    static const uint8_t want[] = {
        0xFF, 'S', 'M', 'B', 0x75, 0, 0, 0, 0, 0x00, 0, 0, 0xCD, 0xAB, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0x34, 0x12, 0x78, 0x56, 0, 0, 0, 0,
        2, 0xEF, 0xBE, 0x02, 0x01,      /* WordCount 2 */
        7, 0,                           /* ByteCount */
        0x00,                           /* pad: offset 39 -> 40 */
        'A', 0, 0xE9, 0, 0, 0,          /* "Aé" NUL-terminated UTF-16LE */
    };
    /* clang-format on */
    cr_assert_eq(msg_smb_len(&m), sizeof(want));
    cr_assert_arr_eq(msg_smb(&m), want, sizeof(want));

    /* A reply built the same way passes the validator. */
    uint8_t *copy = dup_n(msg_smb(&m), msg_smb_len(&m));
    copy[SMB1_HDR_FLAGS] |= SMB1_FLAGS_REPLY;
    struct msg_in in;
    cr_assert_eq(msg_in_parse(&in, copy, msg_smb_len(&m), NULL), MSG_REPLY);
    cr_assert_eq(in.tid, 0x1234);
    cr_assert_eq(in.pid, 0xABCD5678);
    cr_assert_eq(in.wct, 2);
    cr_assert_eq(in.bcc, 7);
    msg_in_free(&in);
    msg_out_free(&m);
}

Test(msg, builder_overflow_and_bad_counts)
{
    struct msg_out m;
    cr_assert_eq(msg_out_init(&m, SMB1_COM_ECHO, 32 + 1 + 2 + 4), 0);
    msg_words_begin(&m);
    msg_words_end(&m);
    msg_bytes_begin(&m);
    wire_put_u32(&m.w, 1);
    msg_bytes_end(&m);
    cr_assert_eq(msg_out_error(&m), 0);
    wire_put_u8(&m.w, 1);
    cr_assert_eq(msg_out_error(&m), -EMSGSIZE);
    msg_out_free(&m);

    cr_assert_eq(msg_out_init(&m, SMB1_COM_ECHO, 64), 0);
    msg_words_begin(&m);
    wire_put_u8(&m.w, 1); /* half a word */
    msg_words_end(&m);
    cr_assert_eq(msg_out_error(&m), -EMSGSIZE);
    msg_out_free(&m);

    cr_assert_eq(msg_out_init(&m, SMB1_COM_ECHO, 40), 0);
    msg_words_begin(&m);
    msg_words_end(&m);
    msg_bytes_begin(&m);
    cr_assert_eq(msg_put_utf16z(&m, "abc"), -EMSGSIZE); /* needs 8, 5 left */
    cr_assert_eq(msg_out_error(&m), -EMSGSIZE);
    msg_out_free(&m);

    cr_assert_eq(msg_out_init(&m, SMB1_COM_ECHO, 64), 0);
    cr_assert_eq(msg_put_utf16z(&m, "bad\xC0\x80"), -EILSEQ);
    cr_assert_neq(msg_out_error(&m), 0);
    msg_out_free(&m);

    cr_assert_eq(msg_out_init(&m, SMB1_COM_ECHO, 8), -EINVAL);
}

Test(msg, command_names)
{
    cr_assert_str_eq(msg_cmd_name(SMB1_COM_READ_ANDX), "READ_ANDX");
    cr_assert_str_eq(msg_cmd_name(SMB1_COM_NT_CREATE_ANDX), "NT_CREATE_ANDX");
    cr_assert_str_eq(msg_cmd_name(SMB1_COM_NEGOTIATE), "NEGOTIATE");
    cr_assert_str_eq(msg_cmd_name(0x99), "UNKNOWN");
    for (unsigned c = 0; c < 256; c++)
        cr_assert_not_null(msg_cmd_name((uint8_t)c));
}
