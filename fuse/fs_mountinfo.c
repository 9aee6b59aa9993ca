/* See fs_mountinfo.h. A line of mountinfo:
 *   36 35 0:52 / /mnt/a\040b rw,nosuid - fuse.smbfuse //srv/share rw,...
 * fields: mount ID, parent ID, major:minor, root, mount point (spaces,
 * tabs, newlines and backslashes as octal escapes), options, optional
 * fields up to "-", then the file system type. */
#include "fs_mountinfo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

/* Undoes the octal escapes of a mount point, in place. */
static void unescape(char *s)
{
    char *o = s;
    for (char *p = s; *p;) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            *o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 4;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
}

struct mi_line {
    dev_t dev;
    char *mountpoint; /* unescaped, points into the line */
    const char *fstype;
};

/* Splits line (modified); false when it is not a mountinfo line. */
static bool parse(char *line, struct mi_line *m)
{
    char *save = NULL;
    char *f[6];
    for (int i = 0; i < 6; i++) {
        f[i] = strtok_r(i ? NULL : line, " \n", &save);
        if (!f[i])
            return false;
    }
    unsigned maj, min;
    char tail;
    if (sscanf(f[2], "%u:%u%c", &maj, &min, &tail) != 2)
        return false;
    char *t;
    while ((t = strtok_r(NULL, " \n", &save)) && strcmp(t, "-") != 0) {
    }
    if (!t || !(t = strtok_r(NULL, " \n", &save)))
        return false;
    unescape(f[4]);
    m->dev = makedev(maj, min);
    m->mountpoint = f[4];
    m->fstype = t;
    return true;
}

static bool is_fuse(const char *fstype)
{
    return !strcmp(fstype, "fuse") || !strncmp(fstype, "fuse.", 5) || !strcmp(fstype, "fuseblk");
}

int sfs_mountinfo_find(FILE *f, const char *mountpoint, dev_t *dev)
{
    char *line = NULL;
    size_t cap = 0;
    int r = -ENOENT;
    /* Later lines are mounted later: the last one at the path is on top. */
    while (getline(&line, &cap, f) >= 0) {
        struct mi_line m;
        if (parse(line, &m) && is_fuse(m.fstype) && !strcmp(m.mountpoint, mountpoint)) {
            *dev = m.dev;
            r = 0;
        }
    }
    free(line);
    return r;
}

bool sfs_mountinfo_has(FILE *f, dev_t dev)
{
    char *line = NULL;
    size_t cap = 0;
    bool found = false;
    while (!found && getline(&line, &cap, f) >= 0) {
        struct mi_line m;
        found = parse(line, &m) && m.dev == dev;
    }
    free(line);
    return found;
}
