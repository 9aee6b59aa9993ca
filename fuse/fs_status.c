/* See fs_status.h. */
#include "fs_status.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>

static const char *logon_name(const struct smb1_conn_info *i)
{
    if (i->ntlmssp)
        return "NTLMSSP (NTLMv2)";
    switch (i->logon) {
    case SMB1_SEC_NONE:
        return "anonymous";
    case SMB1_SEC_LANMAN:
        return "LM";
    case SMB1_SEC_NTLM:
        return "NTLMv1";
    default:
        return "NTLMv2";
    }
}

int sfs_status_format(struct smb1_conn *conn, const struct sfs_options *o,
                      const struct sfs_status_counts *n, char *buf, size_t size)
{
    struct smb1_status st;
    smb1_conn_get_status(conn, &st);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return -ENOMEM;
    const struct smb1_conn_info *i = &st.info;
    fprintf(f, "server: %s\nshare: %s\n", o->host, o->share);
    fprintf(f, "transport: %s, port %u\n", i->netbios ? "NetBIOS" : "direct TCP", i->port);
    fprintf(f, "logon: %s%s%s%s\n", logon_name(i), i->guest ? " (guest)" : "",
            o->username && o->username[0] ? " as " : "", o->username ? o->username : "");
    fprintf(f, "signing: %s\n", i->signing_active ? "active" : "off");
    fprintf(f, "state: %s\nepoch: %llu\nreconnects: %llu\n", st.state, (unsigned long long)st.epoch,
            (unsigned long long)st.stats.reconnects);
    fprintf(f, "requests: %llu\nin_flight: %u\n", (unsigned long long)st.stats.requests,
            st.inflight);
    fprintf(f, "bad_signatures: %llu\ntimeouts: %llu\nmalformed_replies: %llu\n",
            (unsigned long long)st.stats.bad_signatures, (unsigned long long)st.stats.timeouts,
            (unsigned long long)st.stats.malformed);
    fprintf(f, "unknown_mids: %llu\nbatched_macs: %llu\nspliced_writes: %llu\ndirect_reads: %llu\n",
            (unsigned long long)st.stats.unknown_mids, (unsigned long long)st.stats.batched_macs,
            (unsigned long long)st.stats.spliced_writes, (unsigned long long)st.stats.direct_reads);
    fprintf(f, "spliced_reads: %llu\nlent_writes: %llu\n",
            (unsigned long long)st.stats.spliced_reads, (unsigned long long)st.stats.lent_writes);
    fprintf(f, "fuse_writes: %llu\n", (unsigned long long)n->fuse_writes);
    fprintf(f, "cache_hits: %llu\ncache_misses: %llu\n", (unsigned long long)n->cache_hits,
            (unsigned long long)n->cache_misses);
    if (st.last_err) {
        char when[64] = "?";
        time_t t = (time_t)st.last_err_time;
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        fprintf(f, "last_error: %s (%s) at %s\n", strerror(-st.last_err),
                st.last_err_cmd ? st.last_err_cmd : "?", when);
    } else {
        fprintf(f, "last_error: none\n");
    }
    if (st.connect_err)
        fprintf(f, "last_reconnect_error: %s\n", strerror(-st.connect_err));
    if (fclose(f) != 0) {
        free(text);
        return -ENOMEM;
    }
    int r;
    if (size == 0)
        r = (int)len;
    else if (size < len)
        r = -ERANGE;
    else {
        memcpy(buf, text, len);
        r = (int)len;
    }
    free(text);
    return r;
}

int sfs_status_main(const char *mountpoint, FILE *out)
{
    char buf[8192];
    ssize_t n = getxattr(mountpoint, SFS_STATUS_XATTR, buf, sizeof(buf) - 1);
    if (n < 0) {
        int e = errno;
        if (e == ENODATA || e == ENOTSUP)
            fprintf(stderr, "smbfuse: %s is not a running smbfuse mount\n", mountpoint);
        else
            fprintf(stderr, "smbfuse: %s: %s\n", mountpoint, strerror(e));
        return 1;
    }
    buf[n] = '\0';
    fputs(buf, out);
    return 0;
}
