/* Minshall+French symlinks (the format is in mfsymlink.h). */
#include "ops/mfsymlink.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "session/conn.h"

#define MFSYM_MAGIC      "XSym\n"
#define MFSYM_LEN_OFF    5  /* "XSym\n" */
#define MFSYM_MD5_OFF    10 /* + "nnnn\n" */
#define MFSYM_TARGET_OFF 43 /* + 32 hex digits and "\n" */

static int md5_hex(const char *s, size_t n, char hex[33])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    if (!EVP_Digest(s, n, d, &dl, EVP_md5(), NULL) || dl != 16)
        return -EIO;
    for (unsigned i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return 0;
}

int mfsym_format(uint8_t buf[MFSYM_FILE_SIZE], const char *target)
{
    size_t n = strlen(target);
    if (n > MFSYM_LINK_MAX)
        return -ENAMETOOLONG;
    char hex[33];
    int r = md5_hex(target, n, hex);
    if (r)
        return r;
    char head[MFSYM_TARGET_OFF + 1];
    snprintf(head, sizeof(head), MFSYM_MAGIC "%04u\n%s\n", (unsigned)n, hex);
    memcpy(buf, head, MFSYM_TARGET_OFF);
    memcpy(buf + MFSYM_TARGET_OFF, target, n);
    size_t o = MFSYM_TARGET_OFF + n;
    if (o < MFSYM_FILE_SIZE)
        buf[o++] = '\n';
    memset(buf + o, ' ', MFSYM_FILE_SIZE - o);
    return 0;
}

ssize_t mfsym_parse(const uint8_t *buf, size_t n, char *out, size_t cap)
{
    if (n != MFSYM_FILE_SIZE || memcmp(buf, MFSYM_MAGIC, 5) != 0)
        return -EINVAL;
    unsigned len = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = buf[MFSYM_LEN_OFF + i];
        if (c < '0' || c > '9')
            return -EINVAL;
        len = len * 10 + (unsigned)(c - '0');
    }
    if (buf[MFSYM_LEN_OFF + 4] != '\n' || buf[MFSYM_TARGET_OFF - 1] != '\n' || len > MFSYM_LINK_MAX)
        return -EINVAL;
    const char *target = (const char *)buf + MFSYM_TARGET_OFF;
    char hex[33];
    if (md5_hex(target, len, hex) || memcmp(hex, buf + MFSYM_MD5_OFF, 32) != 0)
        return -EINVAL;
    if (memchr(target, 0, len))
        return -EINVAL;
    if (len >= cap)
        return -ENAMETOOLONG;
    memcpy(out, target, len);
    out[len] = 0;
    return (ssize_t)len;
}

bool mfsym_active(struct smb1_tree *t)
{
    const struct smb1_config *cfg = conn_config(t->conn);
    if (!cfg || !cfg->mfsymlinks)
        return false;
    struct conn_params p;
    conn_get_params(t->conn, &p);
    return p.unix_caps == 0;
}

/* The file's bytes when it is exactly a link file's size. */
static int read_link_file(struct smb1_tree *t, const char *path, uint8_t buf[MFSYM_FILE_SIZE])
{
    struct smb1_file *f;
    struct smb1_stat st;
    int r = smb1_open(t, path, O_RDONLY, 0, &f, &st);
    if (r)
        return r;
    ssize_t n =
        st.is_dir || st.size != MFSYM_FILE_SIZE ? -EINVAL : smb1_read(f, buf, MFSYM_FILE_SIZE, 0);
    (void)smb1_close(f);
    if (n < 0)
        return (int)n;
    return n == MFSYM_FILE_SIZE ? 0 : -EINVAL;
}

void mfsym_fix_stat(struct smb1_tree *t, const char *path, struct smb1_stat *st)
{
    if (st->is_dir || st->size != MFSYM_FILE_SIZE || !mfsym_active(t))
        return;
    uint8_t buf[MFSYM_FILE_SIZE];
    char target[MFSYM_LINK_MAX + 1];
    if (read_link_file(t, path, buf))
        return;
    ssize_t n = mfsym_parse(buf, sizeof(buf), target, sizeof(target));
    if (n < 0)
        return;
    st->is_link = true;
    st->mode = S_IFLNK | 0777;
    st->size = (uint64_t)n;
}

int mfsym_create(struct smb1_tree *t, const char *target, const char *path)
{
    uint8_t buf[MFSYM_FILE_SIZE];
    int r = mfsym_format(buf, target);
    if (r)
        return r;
    struct smb1_file *f;
    if ((r = smb1_open(t, path, O_WRONLY | O_CREAT | O_EXCL, 0644, &f, NULL)))
        return r;
    ssize_t n = smb1_write(f, buf, sizeof(buf), 0);
    int rc = smb1_close(f);
    if (n == (ssize_t)sizeof(buf) && rc == 0)
        return 0;
    (void)smb1_unlink(t, path);
    return n < 0 ? (int)n : rc ? rc : -EIO;
}

ssize_t mfsym_readlink(struct smb1_tree *t, const char *path, char *buf, size_t size)
{
    uint8_t file[MFSYM_FILE_SIZE];
    char target[MFSYM_LINK_MAX + 1];
    int r = read_link_file(t, path, file);
    if (r)
        return r == -EISDIR ? -EINVAL : r;
    ssize_t n = mfsym_parse(file, sizeof(file), target, sizeof(target));
    if (n < 0)
        return -EINVAL; /* readlink(2) of what is no link */
    if (size == 0)
        return -ERANGE;
    size_t k = (size_t)n < size - 1 ? (size_t)n : size - 1;
    memcpy(buf, target, k);
    buf[k] = 0;
    return n;
}
