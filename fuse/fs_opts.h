/* (stub header by fuse helper; opts helper owns this file)
 *
 * Mount options of the smbfuse program: mount.cifs names parsed once at
 * start-up into an immutable struct sfs_options.
 */
#ifndef SMBFUSE_FS_OPTS_H
#define SMBFUSE_FS_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <fuse_opt.h>

#include "smb1.h"

enum sfs_cache_mode {
    SFS_CACHE_STRICT = 0, /* mount.cifs default: page cache kept while unchanged */
    SFS_CACHE_LOOSE,
    SFS_CACHE_NONE,       /* direct I/O, no page cache */
};

struct sfs_options {
    char *host;
    char *share;
    char *mountpoint;
    uint16_t port;
    char *username;
    char *domain;
    char password[256];       /* wiped by sfs_opts_free and after connecting */
    enum smb1_sec sec;
    enum smb1_sign_policy sign;
    uid_t uid;
    gid_t gid;
    bool forceuid, forcegid;
    mode_t file_mode, dir_mode;
    bool ro;
    double actimeo;           /* seconds */
    enum sfs_cache_mode cache;
    char *netbiosname;
    char *servernetbiosname;
    char *ip;
    int unix_ext;             /* -1 auto, 0 nounix, 1 unix */
    bool nobrl;
    bool mapposix;
    int echo_interval;
    bool soft;
    uint32_t rsize, wsize;
    bool debug;
    bool foreground;
};

/* Parses argv (smbfuse //server/share mountpoint -o ...). Options meant for
 * FUSE are appended to fuse_args. Returns 0, or -EINVAL with a one-line
 * reason in err. */
int sfs_opts_parse(int argc, char **argv, struct sfs_options *o, struct fuse_args *fuse_args,
                   char *err, size_t errlen);
void sfs_opts_free(struct sfs_options *o);

#endif
