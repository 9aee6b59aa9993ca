/* What the two files of the network mount share: fs_net.c keeps the
 * state (lists, connections, shares, the idle reaper), fs_net_ops.c has
 * the FUSE callbacks. */
#ifndef SMBFUSE_FS_NET_INT_H
#define SMBFUSE_FS_NET_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fs_net.h"

#define NET_NAME_MAX 81 /* a share name in UTF-8 (80 characters in srvsvc) */

struct net_list;
struct net_server;

struct net_share {
    struct net_share *next;
    struct net_server *srv;
    char name[NET_NAME_MAX];
    struct smb1_tree *tree;
    struct sfs_fs *fs;
    unsigned calls; /* in progress; protected by net->lock */
    unsigned opens; /* open files; protected by net->lock */
    int64_t used_ms;
};
struct sfs_net {
    const struct sfs_options *opts;
    struct smb1_log *log;
    struct smb1_resolver *resolver;
    const struct fuse_operations *inner;
    pthread_mutex_t lock; /* protects lists, servers, shares and their counters */
    struct net_list *lists;
    struct net_server *servers;
    struct net_share *shares;
    pthread_t reaper;
    bool reaper_running;
    pthread_cond_t reaper_cond; /* with lock: stop */
    bool stop;
};
struct net_path {
    int depth; /* 0 "/", 1 "/WG", 2 "/WG/SERVER", 3 and more: in a share */
    char wg[NET_NAME_MAX], server[NET_NAME_MAX], share[NET_NAME_MAX];
    const char *rest; /* in a share: "/" or "/dir/file" */
};

struct sfs_net *net_get(void);
/* path into its parts; -ENAMETOOLONG for a part too long. */
int net_split(const char *path, struct net_path *p);
/* Whether the directory of depth 1 or 2 exists: 0 or -errno. */
int net_check_dir(struct sfs_net *net, const struct net_path *p);
void net_dir_stat(struct sfs_net *net, struct stat *st);
/* The share (connected now if need be) with one call counted; give it
 * back with share_leave (opened: +1 an open file, -1 a release). */
int net_share_enter(struct sfs_net *net, const struct net_path *p, struct net_share **out);
void net_share_leave(struct sfs_net *net, struct net_share *s, int opened);
/* A cached list ("" workgroups, "WG" its servers, "\\SERVER" its
 * shares): 0 with a malloc'd copy, or the list's error. */
int net_list_get(struct sfs_net *net, const char *key, char (**names)[NET_NAME_MAX], size_t *n);

#endif
