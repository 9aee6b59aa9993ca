/* Minshall+French symlink files: the format cifs.ko writes, read back;
 * files that only look like one stay files. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "ops/mfsymlink.h"

Test(mfsymlink, format_is_cifs_layout)
{
    uint8_t b[MFSYM_FILE_SIZE];
    cr_assert_eq(mfsym_format(b, "tgt"), 0);
    /* md5("tgt") = 058de92451763e137316df3a36c24b7a */
    const char *head = "XSym\n0003\n058de92451763e137316df3a36c24b7a\ntgt\n";
    cr_assert_eq(memcmp(b, head, strlen(head)), 0);
    for (size_t i = strlen(head); i < sizeof(b); i++)
        cr_assert_eq(b[i], ' ', "padding at %zu", i);
}

Test(mfsymlink, round_trip_and_limits)
{
    uint8_t b[MFSYM_FILE_SIZE];
    char out[MFSYM_LINK_MAX + 1], t[MFSYM_LINK_MAX + 2];
    memset(t, 'a', sizeof(t));
    t[MFSYM_LINK_MAX] = 0;
    cr_assert_eq(mfsym_format(b, t), 0);
    cr_assert_eq(mfsym_parse(b, sizeof(b), out, sizeof(out)), MFSYM_LINK_MAX);
    cr_assert_str_eq(out, t);
    t[MFSYM_LINK_MAX] = 'a';
    t[MFSYM_LINK_MAX + 1] = 0;
    cr_assert_eq(mfsym_format(b, t), -ENAMETOOLONG);
    cr_assert_eq(mfsym_format(b, "../a b/c"), 0);
    cr_assert_eq(mfsym_parse(b, sizeof(b), out, sizeof(out)), 8);
    cr_assert_str_eq(out, "../a b/c");
    cr_assert_eq(mfsym_parse(b, sizeof(b), out, 8), -ENAMETOOLONG);
}

Test(mfsymlink, lookalikes_are_no_links)
{
    uint8_t b[MFSYM_FILE_SIZE];
    char out[MFSYM_LINK_MAX + 1];
    cr_assert_eq(mfsym_format(b, "target"), 0);
    cr_assert_eq(mfsym_parse(b, sizeof(b) - 1, out, sizeof(out)), -EINVAL);
    uint8_t c[MFSYM_FILE_SIZE];
    memcpy(c, b, sizeof(c));
    c[11] ^= 1; /* the MD5 */
    cr_assert_eq(mfsym_parse(c, sizeof(c), out, sizeof(out)), -EINVAL);
    memcpy(c, b, sizeof(c));
    c[8] = '9'; /* the length */
    cr_assert_eq(mfsym_parse(c, sizeof(c), out, sizeof(out)), -EINVAL);
    memcpy(c, b, sizeof(c));
    c[0] = 'x';
    cr_assert_eq(mfsym_parse(c, sizeof(c), out, sizeof(out)), -EINVAL);
    memcpy(c, b, sizeof(c));
    c[7] = 'x';
    cr_assert_eq(mfsym_parse(c, sizeof(c), out, sizeof(out)), -EINVAL);
}
