/* C face of harness/smbd.sh: runs the script's functions in a bash child
 * and reads back the KEY=VALUE lines a start prints. Running the very
 * script the shell tests use keeps one definition of every server profile.
 * The server outlives the bash child (smbd and impacket run in process
 * groups of their own); the test process is recorded as the owner, so a
 * server whose test crashed is reaped by the next start.
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SMBFUSE_SOURCE_DIR
#define SMBFUSE_SOURCE_DIR "."
#endif

#define HARNESS_OUT_MAX 8192

const char *harness_script_path(void)
{
    static char path[PATH_MAX];
    const char *src = getenv("SMBFUSE_SOURCE_DIR");

    if (!src || !*src)
        src = SMBFUSE_SOURCE_DIR;
    snprintf(path, sizeof(path), "%s/tests/integration/harness/smbd.sh", src);
    return path;
}

/* Runs `. smbd.sh; BODY "$@"` with ARGS in bash; its stdout lands in OUT,
 * its stderr goes to ours (that is where failures are explained). Returns
 * the exit status, or a negative errno when bash could not be run. */
struct run_env {
    const char *extra_global;
    const char *extra_share;
};

static int run_script_env(const char *body, const char *const *args, const struct run_env *env,
                          char *out, size_t outlen);

static int run_script(const char *body, const char *const *args, char *out, size_t outlen)
{
    return run_script_env(body, args, NULL, out, outlen);
}

static int run_script_env(const char *body, const char *const *args, const struct run_env *env,
                          char *out, size_t outlen)
{
    char script[512];
    char owner[32];
    const char *argv[16];
    int pipefd[2];
    size_t n = 0, used = 0;
    pid_t pid;
    int status;

    if (snprintf(script, sizeof(script), ". \"$0\" && %s", body) >= (int)sizeof(script))
        return -EINVAL;
    argv[n++] = "bash";
    argv[n++] = "-c";
    argv[n++] = script;
    argv[n++] = harness_script_path();
    for (; args && *args && n < 15; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    snprintf(owner, sizeof(owner), "%ld", (long)getpid());

    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return -errno;
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        int err = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        return -err;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        dup2(pipefd[1], STDOUT_FILENO);
        setenv("HARNESS_OWNER_PID", owner, 1);
        unsetenv("SMBD_EXTRA_GLOBAL");
        unsetenv("SMBD_EXTRA_SHARE");
        if (env && env->extra_global)
            setenv("SMBD_EXTRA_GLOBAL", env->extra_global, 1);
        if (env && env->extra_share)
            setenv("SMBD_EXTRA_SHARE", env->extra_share, 1);
        execvp("bash", (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    for (;;) {
        char sink[512];
        /* Output past what OUT holds is read and dropped, so the child
         * never blocks on a full pipe. */
        int keep = out && outlen > used + 1;
        char *dst = keep ? out + used : sink;
        size_t room = keep ? outlen - used - 1 : sizeof(sink);
        ssize_t r = read(pipefd[0], dst, room);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (keep)
            used += (size_t)r;
    }
    if (out && outlen)
        out[used] = '\0';
    close(pipefd[0]);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static void copy_field(char *dst, size_t len, const char *val)
{
    snprintf(dst, len, "%s", val);
}

/* Fills S from the KEY=VALUE lines a start printed, keys prefixed PREFIX. */
static int parse_env(const char *prefix, char *out, struct harness_server *s)
{
    size_t plen = strlen(prefix);
    char *save = NULL;

    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        const char *key;
        if (!eq || strncmp(line, prefix, plen) != 0 || line[plen] != '_')
            continue;
        *eq = '\0';
        key = line + plen + 1;
        const char *val = eq + 1;
        if (!strcmp(key, "ADDR"))
            copy_field(s->addr, sizeof(s->addr), val);
        else if (!strcmp(key, "PORT"))
            s->port = atoi(val);
        else if (!strcmp(key, "DIR"))
            copy_field(s->dir, sizeof(s->dir), val);
        else if (!strcmp(key, "CONF"))
            copy_field(s->conf, sizeof(s->conf), val);
        else if (!strcmp(key, "LOG"))
            copy_field(s->log_dir, sizeof(s->log_dir), val);
        else if (!strcmp(key, "PID"))
            s->pid = (pid_t)atol(val);
        else if (!strcmp(key, "SHARE"))
            copy_field(s->share, sizeof(s->share), val);
        else if (!strcmp(key, "SHARE_DIR"))
            copy_field(s->share_dir, sizeof(s->share_dir), val);
        else if (!strcmp(key, "PLAIN_SHARE"))
            copy_field(s->plain_share, sizeof(s->plain_share), val);
        else if (!strcmp(key, "PLAIN_DIR"))
            copy_field(s->plain_dir, sizeof(s->plain_dir), val);
        else if (!strcmp(key, "PRINTER"))
            copy_field(s->printer, sizeof(s->printer), val);
        else if (!strcmp(key, "USER"))
            copy_field(s->user, sizeof(s->user), val);
        else if (!strcmp(key, "PASS"))
            copy_field(s->pass, sizeof(s->pass), val);
        else if (!strcmp(key, "DOMAIN"))
            copy_field(s->domain, sizeof(s->domain), val);
        else if (!strcmp(key, "PROFILE"))
            copy_field(s->profile, sizeof(s->profile), val);
    }
    if (s->port <= 0 || !s->dir[0] || s->pid <= 0 || !s->user[0])
        return -EIO;
    return 0;
}

static int start_with(const char *body, const char *prefix, const char *const *args,
                      const struct run_env *env, struct harness_server *s)
{
    char out[HARNESS_OUT_MAX];
    int rc;

    memset(s, 0, sizeof(*s));
    rc = run_script_env(body, args, env, out, sizeof(out));
    if (rc < 0) {
        fprintf(stderr, "harness: cannot run bash for %s: %s\n", harness_script_path(),
                strerror(-rc));
        return rc;
    }
    if (rc != 0) {
        fprintf(stderr, "harness: %s failed (exit %d), see above\n", body, rc);
        return -EIO;
    }
    rc = parse_env(prefix, out, s);
    if (rc != 0) {
        fprintf(stderr, "harness: %s printed no usable server description\n", body);
        if (s->dir[0])
            harness_server_stop(s);
        return rc;
    }
    return 0;
}

static int valid_profile(const char *profile)
{
    static const char *const names[] = {"signed", "nosign", "plain", "legacy", "guest"};

    if (!profile)
        return 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strcmp(profile, names[i]))
            return 1;
    }
    return 0;
}

int harness_smbd_start(const char *profile, struct harness_server *s)
{
    const char *args[] = {profile, NULL};

    if (!valid_profile(profile)) {
        fprintf(stderr, "harness: unknown smbd profile '%s'\n", profile ? profile : "(null)");
        memset(s, 0, sizeof(*s));
        return -EINVAL;
    }
    return start_with("smbd_start \"$1\"", "SMBD", args, NULL, s);
}

int harness_smbd_start_ex(const char *profile, const char *extra_global, const char *extra_share,
                          struct harness_server *s)
{
    const char *args[] = {profile, NULL};
    const struct run_env env = {extra_global, extra_share};

    if (!valid_profile(profile)) {
        fprintf(stderr, "harness: unknown smbd profile '%s'\n", profile ? profile : "(null)");
        memset(s, 0, sizeof(*s));
        return -EINVAL;
    }
    return start_with("smbd_start \"$1\"", "SMBD", args, &env, s);
}

int harness_smbd_start_nbt(const char *profile, struct harness_server *s)
{
    const char *args[] = {profile, NULL};

    if (!valid_profile(profile)) {
        fprintf(stderr, "harness: unknown smbd profile '%s'\n", profile ? profile : "(null)");
        memset(s, 0, sizeof(*s));
        return -EINVAL;
    }
    return start_with("smbd_start \"$1\" nbt", "SMBD", args, NULL, s);
}

int harness_impacket_start(struct harness_server *s)
{
    return start_with("impacket_start", "IMPACKET", NULL, NULL, s);
}

int harness_server_kill(struct harness_server *s)
{
    const char *args[] = {s->dir, NULL};

    if (!s->dir[0] || s->port == 0)
        return -EINVAL;
    return run_script("harness_kill_dir \"$1\"", args, NULL, 0) == 0 ? 0 : -EIO;
}

int harness_server_restart(struct harness_server *s)
{
    const char *args[] = {s->dir, NULL};
    char out[256];
    const char *p;
    int rc;

    if (!s->dir[0] || s->port == 0)
        return -EINVAL;
    rc = run_script("harness_kill_dir \"$1\" && harness_revive_dir \"$1\"", args, out, sizeof(out));
    if (rc != 0)
        return -EIO;
    p = strstr(out, "SMBD_PID=");
    if (!p)
        return -EIO;
    s->pid = (pid_t)atol(p + strlen("SMBD_PID="));
    return s->pid > 0 ? 0 : -EIO;
}

void harness_server_stop(struct harness_server *s)
{
    const char *args[] = {s->dir, NULL};

    /* port 0 marks a stopped server; dir and pid stay for harness_server_gone */
    if (!s || !s->dir[0] || s->port == 0)
        return;
    if (run_script("harness_stop_dir \"$1\"", args, NULL, 0) != 0)
        fprintf(stderr, "harness: stopping the server in %s failed\n", s->dir);
    s->port = 0;
}

/* Whether some process's command line mentions DIR (samba-dcerpcd and its
 * workers leave smbd's process group, so the group alone is not enough). */
static int cmdline_mentions(const char *dir)
{
    DIR *proc = opendir("/proc");
    struct dirent *de;
    int found = 0;

    if (!proc)
        return 0;
    while (!found && (de = readdir(proc))) {
        char path[300], buf[4096];
        ssize_t n;
        int fd;
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
            continue;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\0')
                buf[i] = ' ';
        }
        buf[n] = '\0';
        if (strstr(buf, dir))
            found = 1;
    }
    closedir(proc);
    return found;
}

/* Whether a member of process group PGID runs. One that exited but is
 * not reaped yet (a zombie: smbd's children, handed to init when smbd
 * exits) holds nothing and does not count, as in smbd.sh's stop. */
static int group_runs(pid_t pgid)
{
    DIR *proc;
    struct dirent *de;
    int found = 0;

    if (kill(-pgid, 0) != 0 && errno == ESRCH)
        return 0;
    proc = opendir("/proc");
    if (!proc)
        return 1;
    while (!found && (de = readdir(proc))) {
        char path[300], buf[1024], state;
        const char *close_paren;
        long pgrp;
        ssize_t n;
        int fd;
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        /* "pid (comm) state ppid pgrp ...": comm may hold anything */
        close_paren = strrchr(buf, ')');
        if (close_paren && sscanf(close_paren + 1, " %c %*d %ld", &state, &pgrp) == 2 &&
            pgrp == (long)pgid && state != 'Z')
            found = 1;
    }
    closedir(proc);
    return found;
}

int harness_server_gone(const struct harness_server *s)
{
    if (s->pid > 0 && group_runs(s->pid))
        return 0;
    if (s->dir[0] && cmdline_mentions(s->dir))
        return 0;
    return 1;
}
