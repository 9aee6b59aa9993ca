#include "backend_uri.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A percent-decoded copy of [s, s+n); NULL on a bad escape or an
 * encoded NUL. */
static char *pct_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        int hi = n - i > 2 ? hexval((unsigned char)s[i + 1]) : -1;
        int lo = n - i > 2 ? hexval((unsigned char)s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi | lo) == 0) {
            free(out);
            return NULL;
        }
        out[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[o] = 0;
    return out;
}

static int set_why(char *why, size_t why_len, const char *msg)
{
    if (why && why_len)
        snprintf(why, why_len, "%s", msg);
    return -EINVAL;
}

static int take_option(struct backend_uri *u, const char *k, size_t kn, const char *v, size_t vn)
{
    char *val = pct_decode(v, vn);
    if (!val)
        return -EINVAL;
    char **slot = NULL;
    if (kn == 5 && !strncmp(k, "creds", 5))
        slot = &u->creds;
    else if (kn == 11 && !strncmp(k, "credentials", 11))
        slot = &u->creds;
    else if (kn == 6 && !strncmp(k, "domain", 6))
        slot = &u->domain;
    else if (kn == 3 && !strncmp(k, "sec", 3))
        slot = &u->sec;
    else if (kn == 4 && !strncmp(k, "sign", 4))
        slot = &u->sign;
    else if (kn == 13 && !strncmp(k, "openprintfile", 13)) {
        u->open_print_file = strcmp(val, "0") != 0;
        free(val);
        return 0;
    } else {
        free(val); /* unknown options are ignored, as CUPS backends do */
        return 0;
    }
    free(*slot);
    *slot = val;
    return 0;
}

int backend_uri_parse(const char *uri, struct backend_uri *u, char *why, size_t why_len)
{
    memset(u, 0, sizeof(*u));
    if (strncmp(uri, "smb1://", 7) != 0)
        return set_why(why, why_len, "the device URI does not start with smb1://");
    const char *p = uri + 7;
    const char *slash = strchr(p, '/');
    if (!slash)
        return set_why(why, why_len, "no printer in the device URI");
    const char *at = memchr(p, '@', (size_t)(slash - p));
    /* The last '@' before the path ends the user part. */
    for (const char *q = at; q && q < slash; q = memchr(q + 1, '@', (size_t)(slash - q - 1)))
        at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        size_t un = colon ? (size_t)(colon - p) : (size_t)(at - p);
        u->user = pct_decode(p, un);
        if (colon)
            u->password = pct_decode(colon + 1, (size_t)(at - colon - 1));
        if (!u->user || (colon && !u->password))
            goto bad;
        char *semi = strchr(u->user, ';');
        if (semi) {
            *semi = 0;
            u->domain = strdup(u->user);
            memmove(u->user, semi + 1, strlen(semi + 1) + 1);
        }
        p = at + 1;
    }
    const char *hend = slash;
    const char *colon = memchr(p, ':', (size_t)(slash - p));
    if (colon) {
        char *end = NULL;
        unsigned long port = strtoul(colon + 1, &end, 10);
        if (end != slash || port == 0 || port > 65535) {
            backend_uri_free(u);
            return set_why(why, why_len, "bad port in the device URI");
        }
        u->port = (uint16_t)port;
        hend = colon;
    }
    if (hend == p)
        goto bad;
    u->host = pct_decode(p, (size_t)(hend - p));
    const char *pq = strchr(slash + 1, '?');
    size_t pn = pq ? (size_t)(pq - slash - 1) : strlen(slash + 1);
    while (pn && slash[pn] == '/')
        pn--;
    u->printer = pct_decode(slash + 1, pn);
    if (!u->host || !u->printer || !u->printer[0] || strchr(u->printer, '/'))
        goto bad;
    while (pq && *pq) {
        const char *k = pq + 1;
        const char *e = strchr(k, '&');
        size_t n = e ? (size_t)(e - k) : strlen(k);
        const char *eq = memchr(k, '=', n);
        if (n && take_option(u, k, eq ? (size_t)(eq - k) : n, eq ? eq + 1 : "1",
                             eq ? (size_t)(k + n - eq - 1) : 1))
            goto bad;
        pq = e;
    }
    return 0;
bad:
    backend_uri_free(u);
    return set_why(why, why_len, "malformed device URI");
}

int backend_creds_file(const char *path, struct backend_uri *u)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    char line[1024];
    int r = 0;
    while (fgets(line, sizeof(line), f)) {
        size_t n = strcspn(line, "\r\n");
        line[n] = 0;
        char *s = line;
        while (isspace((unsigned char)*s))
            s++;
        char *eq = strchr(s, '=');
        if (!eq || *s == '#')
            continue;
        *eq = 0;
        char *k = s, *v = eq + 1;
        char **slot = NULL;
        if (!strcmp(k, "username") || !strcmp(k, "user"))
            slot = &u->user;
        else if (!strcmp(k, "password") || !strcmp(k, "pass"))
            slot = &u->password;
        else if (!strcmp(k, "domain") || !strcmp(k, "dom") || !strcmp(k, "workgroup"))
            slot = &u->domain;
        if (slot && !*slot && !(*slot = strdup(v))) {
            r = -ENOMEM;
            break;
        }
    }
    OPENSSL_cleanse(line, sizeof(line));
    fclose(f);
    return r;
}

void backend_uri_free(struct backend_uri *u)
{
    if (u->password)
        OPENSSL_cleanse(u->password, strlen(u->password));
    free(u->user);
    free(u->password);
    free(u->domain);
    free(u->host);
    free(u->printer);
    free(u->creds);
    free(u->sec);
    free(u->sign);
    memset(u, 0, sizeof(*u));
}
