/* text: strict UTF-8 <-> UTF-16LE and the mapposix (SFM) table. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/text.h"
#include "wire/wire.h"

static int enc(const char *s, size_t slen, uint8_t *out, size_t cap, size_t *n)
{
    return text_utf8_to_utf16(s, slen, out, cap, n);
}

Test(text, encodes_all_lengths)
{
    /* "a", U+00E9, U+20AC, U+1F600 (a surrogate pair) */
    static const char s[] = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
    static const uint8_t want[] = {'a', 0, 0xE9, 0, 0xAC, 0x20, 0x3D, 0xD8, 0x00, 0xDE};
    uint8_t out[32];
    size_t n = 99;
    cr_assert_eq(enc(s, strlen(s), out, sizeof(out), &n), 0);
    cr_assert_eq(n, sizeof(want));
    cr_assert_arr_eq(out, want, sizeof(want));
    cr_assert_eq(text_utf16_len(s), (long)sizeof(want));
    /* Limits of each form. */
    static const char edges[] = "\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80"
                                "\xF4\x8F\xBF\xBF";
    static const uint8_t ewant[] = {0x7F, 0,    0x80, 0,    0xFF, 0x07, 0x00, 0x08, 0xFF,
                                    0xFF, 0x00, 0xD8, 0x00, 0xDC, 0xFF, 0xDB, 0xFF, 0xDF};
    cr_assert_eq(enc(edges, strlen(edges), out, sizeof(out), &n), 0);
    cr_assert_eq(n, sizeof(ewant));
    cr_assert_arr_eq(out, ewant, sizeof(ewant));
    cr_assert_eq(enc("", 0, out, 0, &n), 0);
    cr_assert_eq(n, 0);
}

Test(text, rejects_invalid_utf8)
{
    static const char *bad[] = {
        "\xC0\x80",         /* overlong NUL */
        "\xC1\xBF",         /* overlong */
        "\xE0\x80\x80",     /* overlong 3-byte */
        "\xE0\x9F\xBF",     /* overlong U+07FF */
        "\xF0\x80\x80\x80", /* overlong 4-byte */
        "\xF0\x8F\xBF\xBF", /* overlong U+FFFF */
        "\xED\xA0\x80",     /* encoded surrogate U+D800 */
        "\xED\xBF\xBF",     /* encoded surrogate U+DFFF */
        "\xF4\x90\x80\x80", /* U+110000 */
        "\xF5\x80\x80\x80",
        "\xF8\x88\x80\x80\x80",
        "\xFF",
        "\x80", /* lone continuation */
        "a\xBF",
        "\xC3", /* truncated */
        "\xE2\x82",
        "\xF0\x9F\x98",
        "\xC3\x41", /* bad continuation */
        "\xE2\x28\xA1",
    };
    uint8_t out[32];
    size_t n = 7;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(enc(bad[i], strlen(bad[i]), out, sizeof(out), &n), -EILSEQ, "case %zu", i);
        cr_assert_eq(n, 0);
        cr_assert_eq(text_utf16_len(bad[i]), -EILSEQ, "case %zu", i);
    }
    /* An embedded NUL would cut the name short on the server. */
    cr_assert_eq(enc("a\0b", 3, out, sizeof(out), &n), -EILSEQ);
    /* Truncation inside slen, even if the string continues in memory. */
    cr_assert_eq(enc("\xC3\xA9", 1, out, sizeof(out), &n), -EILSEQ);
}

Test(text, capacity_is_exact)
{
    uint8_t *out = malloc(6); /* exact size: ASAN catches any overrun */
    size_t n;
    cr_assert_eq(enc("abc", 3, out, 6, &n), 0);
    cr_assert_eq(n, 6);
    cr_assert_eq(enc("abcd", 4, out, 6, &n), -ENAMETOOLONG);
    /* A pair needs 4 bytes: 2 left is not enough. */
    cr_assert_eq(enc("ab\xF0\x9F\x98\x80", 6, out, 6, &n), -ENAMETOOLONG);
    cr_assert_eq(enc("a\xF0\x9F\x98\x80", 5, out, 6, &n), 0);
    cr_assert_eq(n, 6);
    cr_assert_eq(enc("a", 1, out, 1, &n), -ENAMETOOLONG);
    cr_assert_eq(enc("a", 1, NULL, 0, &n), -ENAMETOOLONG);
    free(out);
}

static char *dec(const uint8_t *p, size_t n)
{
    int err = 1;
    char *s = text_utf16_to_utf8(p, n, &err);
    cr_assert_not_null(s);
    cr_assert_eq(err, 0);
    return s;
}

Test(text, decodes_and_replaces_lone_surrogates)
{
    static const uint8_t u[] = {'a', 0, 0xE9, 0, 0xAC, 0x20, 0x3D, 0xD8, 0x00, 0xDE};
    char *s = dec(u, sizeof(u));
    cr_assert_str_eq(s, "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
    free(s);
    static const uint8_t lone_hi[] = {0x3D, 0xD8, 'x', 0};
    s = dec(lone_hi, sizeof(lone_hi));
    cr_assert_str_eq(s, "\xEF\xBF\xBDx");
    free(s);
    static const uint8_t lone_lo[] = {'x', 0, 0x00, 0xDE};
    s = dec(lone_lo, sizeof(lone_lo));
    cr_assert_str_eq(s, "x\xEF\xBF\xBD");
    free(s);
    static const uint8_t hi_at_end[] = {0x3D, 0xD8};
    s = dec(hi_at_end, sizeof(hi_at_end));
    cr_assert_str_eq(s, "\xEF\xBF\xBD");
    free(s);
    static const uint8_t two_hi[] = {0x3D, 0xD8, 0x3D, 0xD8, 0x00, 0xDE};
    s = dec(two_hi, sizeof(two_hi));
    cr_assert_str_eq(s, "\xEF\xBF\xBD\xF0\x9F\x98\x80");
    free(s);
}

Test(text, decode_stops_at_nul_and_refuses_a_cut_unit)
{
    static const uint8_t u[] = {'a', 0, 'b', 0, 0, 0, 'c', 0};
    char *s = dec(u, sizeof(u));
    cr_assert_str_eq(s, "ab");
    free(s);
    uint8_t *odd = malloc(3);
    odd[0] = 'z';
    odd[1] = 0;
    odd[2] = 'q';
    int e = 0;
    /* Half a character at the end: refused, never "z" alone. */
    cr_assert_null(text_utf16_to_utf8(odd, 3, &e));
    cr_assert_eq(e, -EILSEQ);
    /* A terminator before the dangling byte ends the string there. */
    odd[0] = 0;
    s = dec(odd, 3);
    cr_assert_str_eq(s, "");
    free(s);
    free(odd);
    s = dec(NULL, 0);
    cr_assert_str_eq(s, "");
    free(s);
    int err = 0;
    cr_assert_null(text_utf16_to_utf8(NULL, 4, &err));
    cr_assert_eq(err, -EINVAL);
}

Test(text, round_trip_every_bmp_sample)
{
    /* Every non-surrogate BMP code point and a spread of supplementary ones. */
    for (uint32_t cp = 1; cp <= 0x10FFFF; cp += (cp < 0x10000 ? 1 : 0x1F3)) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        uint8_t u8[5] = {0};
        size_t l;
        if (cp < 0x80) {
            u8[0] = (uint8_t)cp;
            l = 1;
        } else if (cp < 0x800) {
            u8[0] = (uint8_t)(0xC0 | cp >> 6);
            u8[1] = (uint8_t)(0x80 | (cp & 0x3F));
            l = 2;
        } else if (cp < 0x10000) {
            u8[0] = (uint8_t)(0xE0 | cp >> 12);
            u8[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
            u8[2] = (uint8_t)(0x80 | (cp & 0x3F));
            l = 3;
        } else {
            u8[0] = (uint8_t)(0xF0 | cp >> 18);
            u8[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
            u8[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
            u8[3] = (uint8_t)(0x80 | (cp & 0x3F));
            l = 4;
        }
        uint8_t u16[4];
        size_t n;
        cr_assert_eq(enc((const char *)u8, l, u16, sizeof(u16), &n), 0, "U+%04X", cp);
        int err;
        char *back = text_utf16_to_utf8(u16, n, &err);
        cr_assert_not_null(back);
        cr_assert_eq(strlen(back), l, "U+%04X", cp);
        cr_assert_arr_eq(back, u8, l, "U+%04X", cp);
        free(back);
    }
}

static void to_units(const char *s, uint16_t *u, size_t *n)
{
    *n = strlen(s);
    for (size_t i = 0; i < *n; i++)
        u[i] = (uint8_t)s[i];
}

Test(text, mapposix_uses_the_kernel_sfm_code_points)
{
    /* fs/smb/client/cifs_unicode.h: SFM_DOUBLEQUOTE 0xF020, SFM_ASTERISK
     * 0xF021, SFM_COLON 0xF022, SFM_LESSTHAN 0xF023, SFM_GRTRTHAN 0xF024,
     * SFM_QUESTION 0xF025, SFM_SLASH 0xF026 (backslash), SFM_PIPE 0xF027,
     * SFM_SPACE 0xF028, SFM_PERIOD 0xF029. */
    uint16_t u[16];
    size_t n;
    to_units("\"*:<>?\\|", u, &n);
    text_map_posix_to_wire(u, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(u[i], 0xF020 + i, "char %zu -> %04x", i, u[i]);
    text_map_wire_to_posix(u, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(u[i], (uint8_t) "\"*:<>?\\|"[i]);

    to_units("a. b.", u, &n);
    text_map_posix_to_wire(u, n);
    static const uint16_t w1[] = {'a', '.', ' ', 'b', 0xF029};
    cr_assert_arr_eq(u, w1, sizeof(w1));
    to_units("name ", u, &n);
    text_map_posix_to_wire(u, n);
    cr_assert_eq(u[4], 0xF028);
    cr_assert_eq(u[3], 'e');
    to_units("a..", u, &n);
    text_map_posix_to_wire(u, n);
    static const uint16_t w2[] = {'a', '.', 0xF029};
    cr_assert_arr_eq(u, w2, sizeof(w2));

    /* "." and ".." keep their meaning. */
    to_units(".", u, &n);
    text_map_posix_to_wire(u, n);
    cr_assert_eq(u[0], '.');
    to_units("..", u, &n);
    text_map_posix_to_wire(u, n);
    cr_assert_eq(u[0], '.');
    cr_assert_eq(u[1], '.');
    to_units("...", u, &n);
    text_map_posix_to_wire(u, n);
    cr_assert_eq(u[2], 0xF029);

    /* Control characters, as the kernel maps them. */
    u[0] = 0x01;
    u[1] = 0x1F;
    u[2] = 'x';
    text_map_posix_to_wire(u, 3);
    cr_assert_eq(u[0], 0xF001);
    cr_assert_eq(u[1], 0xF01F);
    text_map_wire_to_posix(u, 3);
    cr_assert_eq(u[0], 0x01);
    cr_assert_eq(u[1], 0x1F);

    /* Ordinary text and other private-use points pass through. */
    to_units("Hello World.txt", u, &n);
    uint16_t copy[16];
    memcpy(copy, u, sizeof(copy));
    text_map_posix_to_wire(u, n);
    cr_assert_arr_eq(u, copy, n * sizeof(u[0]));
    u[0] = 0xF000;
    u[1] = 0xF02A;
    u[2] = 0xE000;
    text_map_wire_to_posix(u, 3);
    cr_assert_eq(u[0], 0xF000);
    cr_assert_eq(u[1], 0xF02A);
    cr_assert_eq(u[2], 0xE000);
    text_map_posix_to_wire(u, 0);
    text_map_wire_to_posix(u, 0);
}

Test(text, mapposix_round_trip)
{
    static const char *names[] = {"a:b",     "what?",       "x*y<z>|", "trail.", "trail ",
                                  "q\"uote", "back\\slash", ". .",     "..."};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        uint16_t u[32];
        size_t n;
        to_units(names[i], u, &n);
        text_map_posix_to_wire(u, n);
        for (size_t k = 0; k < n; k++)
            cr_assert(u[k] != ':' && u[k] != '?' && u[k] != '*' && u[k] != '"' && u[k] != '\\');
        cr_assert(u[n - 1] != '.' && u[n - 1] != ' ', "%s", names[i]);
        text_map_wire_to_posix(u, n);
        for (size_t k = 0; k < n; k++)
            cr_assert_eq(u[k], (uint8_t)names[i][k], "%s", names[i]);
    }
}

Test(text, utf8_next_steps_and_stops)
{
    static const char s[] = "a\xC3\xA9\xF0\x9F\x98\x80\xC0\x80";
    size_t n = sizeof(s) - 1, i = 0;
    cr_assert_eq(text_utf8_next(s, n, &i), 'a');
    cr_assert_eq(i, 1);
    cr_assert_eq(text_utf8_next(s, n, &i), 0xE9);
    cr_assert_eq(i, 3);
    cr_assert_eq(text_utf8_next(s, n, &i), 0x1F600);
    cr_assert_eq(i, 7);
    cr_assert_eq(text_utf8_next(s, n, &i), -1, "overlong NUL");
    cr_assert_eq(i, 7, "no progress on error");
    i = n;
    cr_assert_eq(text_utf8_next(s, n, &i), -1);
    i = 1;
    cr_assert_eq(text_utf8_next(s, 2, &i), -1, "sequence cut by n");
}
