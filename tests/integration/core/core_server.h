/* Test glue for the core integration tests: starts and stops the private
 * servers of harness/smbd.sh (a real smbd, or impacket's smbserver) and
 * reads the KEY=VALUE lines it prints. Header-only, test code. */
#ifndef SMBFUSE_CORE_SERVER_H
#define SMBFUSE_CORE_SERVER_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Criterion's asserts unless the includer brings its own (a test that
 * runs without the Criterion runtime, e.g. under ThreadSanitizer). */
#ifndef CORE_ASSERT
#include <criterion/criterion.h>
#define CORE_ASSERT(cond, ...) cr_assert(cond, __VA_ARGS__)
#endif

struct core_server {
    char addr[64], dir[512], conf[600], user[64], pass[64], domain[64], share[64];
    char printer[64];
    unsigned port;
    int pid;
    bool impacket;
};

static inline const char *core_src_dir(void)
{
    const char *s = getenv("SMBFUSE_SOURCE_DIR");
    return s ? s : SMBFUSE_SOURCE_DIR;
}

static inline void core_kv(struct core_server *s, const char *k, const char *v)
{
    const char *name = strchr(k, '_');
    if (!name)
        return;
    name++;
#define CORE_KV(key, field)                                                                        \
    if (!strcmp(name, key))                                                                        \
        snprintf(s->field, sizeof(s->field), "%s", v);
    CORE_KV("ADDR", addr)
    CORE_KV("DIR", dir)
    CORE_KV("CONF", conf)
    CORE_KV("USER", user)
    CORE_KV("PASS", pass)
    CORE_KV("DOMAIN", domain)
    CORE_KV("SHARE", share)
    CORE_KV("PRINTER", printer)
#undef CORE_KV
    if (!strcmp(name, "PORT"))
        s->port = (unsigned)atoi(v);
    if (!strcmp(name, "PID"))
        s->pid = atoi(v);
}

/* profile: signed, nosign, legacy, guest, or "impacket"; nbt: port 139. */
static inline void core_server_start(struct core_server *s, const char *profile, bool nbt)
{
    memset(s, 0, sizeof(*s));
    s->impacket = !strcmp(profile, "impacket");
    char cmd[4096];
    snprintf(
        cmd, sizeof(cmd),
        "HARNESS_OWNER_PID=%d bash -c '. \"%s/tests/integration/harness/smbd.sh\" && %s %s %s'",
        (int)getpid(), core_src_dir(), s->impacket ? "impacket_start" : "smbd_start",
        s->impacket ? "" : profile, nbt ? "nbt" : "");
    FILE *p = popen(cmd, "r");
    CORE_ASSERT(p != NULL, "popen");
    char line[1024];
    while (fgets(line, sizeof(line), p)) {
        line[strcspn(line, "\n")] = 0;
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = 0;
        core_kv(s, line, eq + 1);
    }
    int rc = pclose(p);
    CORE_ASSERT(rc == 0, "could not start the %s server (see stderr)", profile);
    CORE_ASSERT(s->port && s->dir[0], "%s", "harness printed no address");
}

static inline void core_server_stop(struct core_server *s)
{
    if (!s->dir[0])
        return;
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "bash -c '. \"%s/tests/integration/harness/smbd.sh\" && harness_stop_dir \"%s\"'",
             core_src_dir(), s->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "stopping the server in %s failed\n", s->dir);
    s->dir[0] = 0;
}

/* Kills smbd (the whole process group) but keeps its directory, then
 * starts it again with the same configuration and port. A killed member
 * left a zombie (not reaped yet) holds nothing: not waited for. */
static inline void core_server_restart(struct core_server *s)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd),
             "bash -c '. \"%s/tests/integration/harness/smbd.sh\"; "
             "pid=$(cat \"%s/harness.pid\"); kill -KILL -- -$pid; "
             "while _h_group_runs $pid; do sleep 0.05; done; "
             "/usr/sbin/smbd --foreground --debug-stdout -s \"%s\" </dev/null >>\"%s/log/stdout\" "
             "2>&1 & "
             "echo $! >\"%s/harness.pid\"; "
             "for i in $(seq 100); do (exec 3<>/dev/tcp/%s/%u) 2>/dev/null && exit 0; sleep 0.1; "
             "done; exit 1'",
             core_src_dir(), s->dir, s->conf, s->dir, s->dir, s->addr, s->port);
    CORE_ASSERT(system(cmd) == 0, "%s", "smbd did not come back");
}

#endif
