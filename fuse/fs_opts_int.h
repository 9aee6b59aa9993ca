/* What the files of smbfuse's option parsing share: the parse state and
 * the helpers both the option parser (fs_opts.c) and the credential and
 * password sources (fs_creds.c) use.
 */
#ifndef SMBFUSE_FS_OPTS_INT_H
#define SMBFUSE_FS_OPTS_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "fs_opts.h"

#define MAX_SECRET_SPANS 16

/* Where a secret sits inside an argv string, so it can be cut out later. */
struct secret_span {
    char *start;
    size_t len;
};

struct parse_state {
    struct sfs_options *o;
    char *err;
    size_t errlen;
    char *fuse_opts; /* comma list for fuse_args, built with fuse_opt_add_opt */
    bool fsname_given, subtype_given;
    bool user_given, domain_given, password_given;
    /* The last option was wins= or resolve= (OPT_LIST_*; 0: not):
     * the bare words after it in the -o list continue its value, so
     * "-o resolve=wins,bcast" means what it says. */
    int list_opt;
    struct secret_span spans[MAX_SECRET_SPANS];
    size_t nspans;
};

/* fs_opts.c */
int fail(struct parse_state *ps, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int set_str(struct parse_state *ps, char **dst, const char *val, size_t len);
int parse_ulong(const char *v, int base, unsigned long min, unsigned long max, unsigned long *out);

/* fs_opts_net.c: wins=, resolve=, wins_timeout=, idle_timeout= */
#define OPT_LIST_WINS    1
#define OPT_LIST_RESOLVE 2
bool opt_list_word_ok(int list, const char *w);
/* Appends ",word" to the value of the list option just given. */
int opt_list_append(struct parse_state *ps, const char *word);
int opt_set_list(struct parse_state *ps, int list, const char *tok, const char *v);
int opt_set_timeout(struct parse_state *ps, bool idle, const char *v);

/* fs_source.c: the //server/share argument into o (source, host, share,
 * prefix; "//" turns a mount into the network mount). */
int parse_source(struct parse_state *ps, const char *arg);

/* fs_creds.c */
void wipe(void *p, size_t n);
/* Stores a password taken from src[0..len). ",," stands for "," when the
 * value came from a comma-separated option list (mount.cifs convention). */
int set_password(struct parse_state *ps, const char *src, size_t len, bool unescape_commas);
/* Records where a secret sits in argv, for scrub_spans. */
int remember_span(struct parse_state *ps, char *start, size_t len);
void scrub_spans(struct parse_state *ps);
/* The credentials file, then USER, PASSWD, PASSWD_FD, PASSWD_FILE and the
 * prompt, as far as the options left them open. */
int complete_credentials(struct parse_state *ps);

#endif
