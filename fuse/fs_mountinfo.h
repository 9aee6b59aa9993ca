/* Our mount as /proc/self/mountinfo shows it: how the stop watcher (main.c)
 * tells that the mount was detached (umount -l, fusermount3 -uz) while the
 * kernel still keeps the FUSE connection for whoever uses it. */
#ifndef SFS_MOUNTINFO_H
#define SFS_MOUNTINFO_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

/* The device of the FUSE mount on top of the absolute path mountpoint,
 * read from a mountinfo text (proc_pid_mountinfo(5)). Returns 0 with
 * *dev, -ENOENT when no FUSE file system is mounted there. */
int sfs_mountinfo_find(FILE *f, const char *mountpoint, dev_t *dev);

/* Whether any mount of the text is of device dev. */
bool sfs_mountinfo_has(FILE *f, dev_t dev);

#endif
