/* The name-service and network-mount options: wins= and resolve= (lists
 * that may go on as bare words in the -o list), wins_timeout= and
 * idle_timeout=. */
#include "fs_opts_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool opt_list_word_ok(int list, const char *w)
{
    struct in_addr a;
    if (list == OPT_LIST_WINS)
        return inet_pton(AF_INET, w, &a) == 1;
    return strcmp(w, "host") == 0 || strcmp(w, "wins") == 0 || strcmp(w, "bcast") == 0;
}

int opt_list_append(struct parse_state *ps, const char *word)
{
    char **dst = ps->list_opt == OPT_LIST_WINS ? &ps->o->wins : &ps->o->resolve;
    char *joined = NULL;
    if (asprintf(&joined, "%s,%s", *dst ? *dst : "", word) < 0)
        return fail(ps, -ENOMEM, "out of memory");
    free(*dst);
    *dst = joined;
    return 0;
}

int opt_set_list(struct parse_state *ps, int list, const char *tok, const char *v)
{
    /* Checked word by word here, so a typo is a usage error. */
    char *copy = strdup(v);
    if (!copy)
        return fail(ps, -ENOMEM, "out of memory");
    for (char *sp = NULL, *w = strtok_r(copy, ",", &sp); w; w = strtok_r(NULL, ",", &sp)) {
        if (!opt_list_word_ok(list, w)) {
            free(copy);
            return fail(ps, -EINVAL, "%s=%s: %s", tok, v,
                        list == OPT_LIST_WINS
                            ? "expected IPv4 addresses separated by commas"
                            : "expected host, wins and bcast separated by commas");
        }
    }
    free(copy);
    ps->list_opt = list;
    return set_str(ps, list == OPT_LIST_WINS ? &ps->o->wins : &ps->o->resolve, v, strlen(v));
}

int opt_set_timeout(struct parse_state *ps, bool idle, const char *v)
{
    unsigned long x;
    if (idle) {
        if (parse_ulong(v, 10, 1, 86400, &x))
            return fail(ps, -EINVAL, "idle_timeout=%s: expected seconds from 1 to 86400", v);
        ps->o->idle_timeout = (int)x;
        return 0;
    }
    if (parse_ulong(v, 10, 30, 60000, &x))
        return fail(ps, -EINVAL, "wins_timeout=%s: expected milliseconds from 30 to 60000", v);
    ps->o->wins_timeout = (int)x;
    return 0;
}
