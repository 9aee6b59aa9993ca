/* smbfuse: parse -> connect -> tree connect -> mount -> detach -> loop ->
 * unwind.
 *
 * Detaching: the core runs a reader thread per connection, and threads do
 * not survive fork(), so fuse_daemonize() after connecting would leave the
 * child without one. Instead the process forks FIRST; the parent only waits
 * on a pipe for the child's verdict and exits with it. The child keeps the
 * terminal's stderr until the mount is in place, so a failure to connect,
 * authenticate or mount is printed there and turns into a non-zero exit of
 * the command the user ran, with nothing left mounted.
 */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "cli.h"
#include "fs_explain.h"
#include "fs_loop.h"
#include "fs_mountinfo.h"
#include "fs_net.h"
#include "fs_ops.h"
#include "fs_print.h"
#include "fs_readahead.h"
#include "fs_status.h"
#include "fs_opts.h"
#include "log.h"
#include "smb1.h"

#define EXIT_USAGE 1
#define EXIT_MOUNT 32 /* mount(8)'s "mount failure" */

/* libfuse's log hook takes no context argument, so the program's one
 * logger is reachable from here. Set once before any thread starts. */
static struct smb1_log *prog_log;
/* Flipped once when the process detaches from the terminal. */
static atomic_bool log_to_syslog;

static void log_sink(void *ctx, int level, const char *line)
{
    if (atomic_load(&log_to_syslog))
        syslog(level, "%s", line);
    else
        fprintf(stderr, "smbfuse: %s\n", line);
}

/* libfuse's own messages: fmt is libfuse's, passed on as its printf. */
__attribute__((format(printf, 2, 0))) static void fuse_log_hook(enum fuse_log_level level,
                                                                const char *fmt, va_list ap)
{
    char buf[1024];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    if (n > 0)
        log_msg(prog_log, (int)level, "%s", buf);
}

/* Forks; returns in the child (with the write end of the verdict pipe in
 * *ready_fd). The parent waits for one status byte and exits with it; if
 * the child dies without writing one, with its own failure. */
static int detach_early(struct sfs_options *o, int *ready_fd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int e = -errno;
        close(p[0]);
        close(p[1]);
        return e;
    }
    if (pid > 0) {
        /* The parent never connects: its copy of the secret goes now. */
        sfs_opts_wipe_password(o);
        close(p[1]);
        unsigned char st = EXIT_MOUNT;
        ssize_t n;
        do {
            n = read(p[0], &st, 1);
        } while (n < 0 && errno == EINTR);
        if (n != 1) {
            int ws;
            st = EXIT_MOUNT;
            if (waitpid(pid, &ws, 0) == pid && WIFEXITED(ws) && WEXITSTATUS(ws) != 0)
                st = (unsigned char)WEXITSTATUS(ws);
        }
        _exit(st);
    }
    close(p[0]);
    setsid();
    /* mlock does not survive fork */
    (void)sfs_opts_lock_password(o);
    *ready_fd = p[1];
    return 0;
}

static void report(int *ready_fd, unsigned char status)
{
    if (*ready_fd < 0)
        return;
    ssize_t n;
    do {
        n = write(*ready_fd, &status, 1);
    } while (n < 0 && errno == EINTR);
    close(*ready_fd);
    *ready_fd = -1;
}

static void detach_stdio(void)
{
    int fd = open("/dev/null", O_RDWR);
    if (fd < 0)
        return;
    dup2(fd, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    if (fd > STDERR_FILENO)
        close(fd);
}

/* SIGUSR1 is blocked in every thread and collected here by sigwait(), so
 * the counters are printed from an ordinary thread, not a signal handler. */
struct stats_waiter {
    pthread_t thread;
    struct sfs_fs *fs;
    const char *mountpoint;
    struct smb1_log *log;
    atomic_bool stop;
};

/* Stopping within a bound. A stop is a signal (SIGTERM, SIGINT, SIGHUP)
 * or an unmount from outside: the FUSE device then reports an error, or,
 * for a lazy unmount (umount -l, fusermount3 -uz) that the kernel keeps
 * alive for a process still inside, the mount leaves /proc/self/mountinfo.
 * FUSE's loop returns only once every worker has answered, and a worker
 * may be waiting for a server that is gone: so SFS_STOP_GRACE_MS after the
 * stop the connection is aborted (every waiting call fails at once), and
 * should the unwinding still not be done SFS_STOP_LIMIT_MS after the
 * stop, the process unmounts and exits anyway. The grace lets a healthy
 * server get the usual goodbye (closes, TREE_DISCONNECT, LOGOFF). */
#define SFS_STOP_GRACE_MS 2000
#define SFS_STOP_LIMIT_MS 4500
#define SFS_STOP_LOOK_MS  1000

/* The signal handler's view: set before the handler is installed. */
static struct fuse_session *stop_se;
static int stop_pipe_w = -1;
/* Set by main once it no longer uses the session: the watcher then only
 * exits, it unmounts nothing. */
static atomic_bool stop_unmounted;
/* Set by the watcher when the mount was detached: nobody may unmount by
 * the path any more, which may hold another mount by now. */
static atomic_bool stop_detached;
/* stop_lock protects stop_done: main sets it before it frees the
 * connection and the log, which the watcher uses only under the lock. */
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static bool stop_done;

static void on_stop_signal(int sig)
{
    int e = errno;
    if (stop_se)
        fuse_session_exit(stop_se);
    unsigned char b = (unsigned char)sig;
    if (write(stop_pipe_w, &b, 1) < 0) {
        /* nothing to do in a handler */
    }
    errno = e;
}

struct stopper {
    pthread_t thread;
    pthread_t main_thread; /* runs the FUSE loop */
    int pipe_r;
    int fuse_fd;      /* a duplicate of the session's */
    int mountinfo_fd; /* /proc/self/mountinfo, -1 if our mount is not in it */
    dev_t dev;        /* our mount's device, found there */
    struct fuse_session *se;
    struct smb1_conn *conn;
    struct smb1_log *log;
    const char *mountpoint;
};

static int64_t stop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps until the monotonic time t (ms); signals may interrupt. */
static void stop_sleep_until(int64_t t)
{
    for (int64_t left; (left = t - stop_now_ms()) > 0;) {
        struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Whether our mount (device dev) is still in this namespace's table; yes
 * when the table cannot be read. */
static bool still_mounted(dev_t dev)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return true;
    bool r = sfs_mountinfo_has(f, dev);
    fclose(f);
    return r;
}

/* The watcher's view of our mount: mountinfo_fd and dev, or -1 when the
 * table does not show it (the watcher then relies on the device alone). */
static void stop_find_mount(struct stopper *sp, const char *mountpoint)
{
    sp->mountinfo_fd = -1;
    char *abs = realpath(mountpoint, NULL);
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (abs && f && sfs_mountinfo_find(f, abs, &sp->dev) == 0)
        sp->mountinfo_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    else
        log_debug(sp->log, "%s is not in /proc/self/mountinfo: a lazy unmount goes unseen",
                  mountpoint);
    if (f)
        fclose(f);
    free(abs);
}

/* After a lazy unmount the session still holds the device of a live
 * connection, and libfuse's unmount would unmount by the path, which may
 * hold another mount by now: it unmounts nothing when the device reports
 * an error, which a pipe without a reader does. The device itself stays
 * open in the watcher until the process ends, which aborts the connection
 * for whoever still uses the detached mount. */
static void stop_forget_mount(struct fuse_session *se)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return;
    close(p[0]);
    if (dup3(p[1], fuse_session_fd(se), O_CLOEXEC) < 0)
        log_debug(prog_log, "cannot forget the detached mount: %s", strerror(errno));
    close(p[1]);
}

static void *stopper_main(void *arg)
{
    struct stopper *sp = arg;
    /* Named so that its wake-ups can be counted (fs_untar_requests). */
    (void)pthread_setname_np(pthread_self(), "smbfuse-stop");
    /* A duplicate: main closes the session's descriptor when it unmounts,
     * and its number must not come back as another file meanwhile. */
    /* A poll of the device wakes at every FUSE request, whatever the
     * events asked (the kernel wakes all who poll its queue), and put
     * this thread on the CPU beside the worker each time: about ten
     * times per file of an untar. Where the mount table shows our mount,
     * an unmount (plain or lazy) shows there, and the device is only
     * looked at every SFS_STOP_LOOK_MS for what the table does not show
     * (an abort through /sys/fs/fuse/connections). */
    bool look = sp->mountinfo_fd >= 0;
    struct pollfd p[3] = {{.fd = sp->pipe_r, .events = POLLIN},
                          {.fd = look ? -1 : sp->fuse_fd, .events = 0},
                          {.fd = sp->mountinfo_fd, .events = POLLPRI}};
    for (;;) {
        int n = poll(p, 3, look ? SFS_STOP_LOOK_MS : -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            log_warn(sp->log, "stop watcher: poll: %s", strerror(errno));
            return NULL;
        }
        if (look) {
            struct pollfd d = {.fd = sp->fuse_fd, .events = 0};
            if (poll(&d, 1, 0) == 1)
                p[1].revents = d.revents;
        }
        if (p[0].revents & POLLIN) {
            unsigned char sig = 0;
            if (read(sp->pipe_r, &sig, 1) == 1 && sig)
                log_info(sp->log, "stopping on signal %d", sig);
            break;
        }
        if (p[1].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            log_info(sp->log, "%s was unmounted: stopping", sp->mountpoint);
            break;
        }
        /* The mount table changed (poll reports each change once). */
        if ((p[2].revents & (POLLPRI | POLLERR)) && !still_mounted(sp->dev)) {
            /* A plain unmount ends the connection right after: say which. */
            struct pollfd d = {.fd = sp->fuse_fd, .events = 0};
            if (poll(&d, 1, 100) == 1 && (d.revents & (POLLERR | POLLHUP | POLLNVAL))) {
                log_info(sp->log, "%s was unmounted: stopping", sp->mountpoint);
                break;
            }
            log_info(sp->log, "%s was detached: stopping (whoever still uses it gets an error)",
                     sp->mountpoint);
            atomic_store(&stop_detached, true);
            /* Ends the loop as a stop signal does: its thread may wait in
             * a read of the device that no new request will end. */
            fuse_session_exit(sp->se);
            pthread_kill(sp->main_thread, SIGTERM);
            break;
        }
    }
    int64_t t0 = stop_now_ms();
    stop_sleep_until(t0 + SFS_STOP_GRACE_MS);
    pthread_mutex_lock(&stop_lock);
    if (stop_done) {
        pthread_mutex_unlock(&stop_lock);
        return NULL;
    }
    log_info(sp->log, "still stopping after %d ms: failing what waits for the server",
             SFS_STOP_GRACE_MS);
    smb1_conn_abort(sp->conn);
    pthread_mutex_unlock(&stop_lock);
    stop_sleep_until(t0 + SFS_STOP_LIMIT_MS);
    pthread_mutex_lock(&stop_lock);
    if (stop_done) {
        pthread_mutex_unlock(&stop_lock);
        return NULL;
    }
    log_err(sp->log, "not stopped after %d ms: unmounting and exiting now", SFS_STOP_LIMIT_MS);
    if (!atomic_load(&stop_unmounted) && !atomic_load(&stop_detached))
        fuse_session_unmount(sp->se);
    _exit(0);
}

/* The mount's readahead, once INIT is done (a stat through the mount
 * waits for it): whole reads of the size sfs_init allowed. */
static void tune_readahead(struct stats_waiter *w)
{
    struct stat st;
    if (stat(w->mountpoint, &st) == 0)
        sfs_raise_readahead(st.st_dev, sfs_readahead_kb(w->fs ? sfs_fs_read_kb(w->fs) : 0), w->log);
}

static void *stats_main(void *arg)
{
    struct stats_waiter *w = arg;
    if (w->mountpoint)
        tune_readahead(w);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (atomic_load(&w->stop))
            break;
        if (w->fs)
            sfs_fs_log_stats(w->fs);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    struct sfs_options o;
    struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
    char err[512] = "";
    int status = EXIT_MOUNT;
    int ready_fd = -1;

    memset(&o, 0, sizeof(o));
    /* The daemon holds the password hashes and the signing key: its user
     * may not ptrace it or read its memory through /proc, and it leaves no
     * core dump (the secrets' pages are also locked and left out of dumps,
     * src/support/secmem.c). */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        fprintf(stderr, "smbfuse: cannot make the process non-dumpable: %s\n", strerror(errno));
    if (argc >= 2 && !strcmp(argv[1], "--status")) {
        if (argc != 3) {
            fprintf(stderr, "smbfuse: usage: smbfuse --status MOUNTPOINT\n");
            return EXIT_USAGE;
        }
        return sfs_status_main(argv[2], stdout);
    }
    int r = sfs_opts_parse(argc, argv, &o, &args, err, sizeof(err));
    if (r) {
        fprintf(stderr, "smbfuse: %s\n", err[0] ? err : strerror(-r));
        return EXIT_USAGE;
    }
    if (o.show_help || o.show_version) {
        if (o.show_help)
            sfs_opts_print_help(stdout, argv[0]);
        else
            sfs_opts_print_version(stdout);
        sfs_opts_free(&o);
        fuse_opt_free_args(&args);
        return 0;
    }
    if (o.explain) {
        struct smb1_log elg;
        log_init(&elg, o.debug ? LOG_DEBUG : LOG_WARNING, log_sink, NULL);
        status = sfs_explain(&o, &elg, stdout);
        log_destroy(&elg);
        goto out_free_opts;
    }

    if (o.mode == SFS_MODE_LIST || o.mode == SFS_MODE_BROWSE || o.mode == SFS_MODE_LOOKUP) {
        struct smb1_log cl;
        log_init(&cl, o.debug ? LOG_DEBUG : LOG_WARNING, log_sink, NULL);
        status = sfs_cli_run(&o, &cl, stdout);
        log_destroy(&cl);
        goto out_free_opts;
    }

    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);

    if (!o.foreground) {
        r = detach_early(&o, &ready_fd);
        if (r) {
            fprintf(stderr, "smbfuse: cannot fork: %s\n", strerror(-r));
            goto out_free_opts;
        }
        openlog("smbfuse", LOG_PID, LOG_DAEMON);
    }

    struct smb1_log lg;
    log_init(&lg, o.debug ? LOG_DEBUG : LOG_INFO, log_sink, NULL);
    prog_log = &lg;
    fuse_set_log_func(fuse_log_hook);

    struct smb1_conn *conn = NULL;
    struct smb1_tree *tree = NULL;
    struct sfs_fs *fs = NULL;
    struct sfs_print *pr = NULL;
    struct sfs_net *net = NULL;
    struct fuse *f = NULL;
    if (o.mode == SFS_MODE_NETMOUNT) {
        /* Nothing to connect to yet: servers are reached on first access,
         * with the password kept (locked in memory) until unmount. */
        net = sfs_net_new(&o, &lg, &r);
        if (!net) {
            log_err(&lg, "cannot start: %s", strerror(-r));
            goto out_log;
        }
        f = fuse_new(&args, sfs_net_operations(), sizeof(struct fuse_operations), net);
        if (!f) {
            log_err(&lg, "cannot set up FUSE (see the message above)");
            goto out_fs;
        }
    } else {
        struct smb1_config cfg;
        memset(&cfg, 0, sizeof(cfg));
        sfs_opts_to_config(&o, &cfg);
        cfg.log = &lg;
        char why[256] = "";
        r = smb1_conn_new(&cfg, &conn, why, sizeof(why));
        cfg.password = NULL;
        sfs_opts_wipe_password(&o);
        if (r) {
            log_err(&lg, "cannot connect to %s: %s", o.source ? o.source : o.host,
                    why[0] ? why : strerror(-r));
            goto out_log;
        }
        r = smb1_tree_connect(conn, o.share, &tree);
        if (r) {
            log_err(&lg, "cannot connect to share %s on %s: %s", o.share, o.host, strerror(-r));
            goto out_conn;
        }
        /* Some servers (impacket) answer with the share name where the
         * service type belongs: only a share that says it is a pipe is
         * refused, a printer is mounted as one (fs_print.c), anything else
         * is tried as a disk. */
        enum smb1_tree_type ttype = smb1_tree_type(tree);
        if (ttype == SMB1_TREE_IPC) {
            log_err(&lg, "%s is not a disk share (it is an IPC share)", o.share);
            goto out_tree;
        }
        if (ttype == SMB1_TREE_PRINTER) {
            pr = sfs_print_new(conn, tree, &o, &lg, &r);
            if (!pr) {
                log_err(&lg, "cannot start: %s", strerror(-r));
                goto out_tree;
            }
            f = fuse_new(&args, sfs_print_operations(), sizeof(struct fuse_operations), pr);
            if (!f) {
                log_err(&lg, "cannot set up FUSE (see the message above)");
                goto out_fs;
            }
            goto mount;
        }
        /* A share whose path the server cannot enter lets the tree
         * connect pass and fails what comes next: say so now, not from
         * the mount. */
        struct smb1_stat root_st;
        r = smb1_stat(tree, "", &root_st);
        if (r) {
            log_err(&lg, "cannot use share %s on %s: %s", o.share, o.host, strerror(-r));
            goto out_tree;
        }
        fs = sfs_fs_new(conn, tree, &o, &lg, &r);
        if (!fs) {
            log_err(&lg, "cannot start: %s", strerror(-r));
            goto out_tree;
        }
        /* Reads go to FUSE in a pipe on a connection that neither signs
         * nor is observed (fs_read.c): where libfuse's pipe cannot hold a
         * read of 1 MiB less a page (a pipe holds 1 MiB without
         * CAP_SYS_RESOURCE), reads are made to fit it. The kernel takes
         * max_read at mount time; sfs_init says it again. */
        uint32_t cap = !o.max_read && smb1_conn_splice_ok(conn) ? sfs_splice_read_cap(1u << 20) : 0;
        if (cap) {
            char mr[32];
            snprintf(mr, sizeof(mr), "-omax_read=%u", cap);
            if (fuse_opt_add_arg(&args, mr) == 0)
                o.max_read = cap;
        }
        f = fuse_new(&args, sfs_fs_operations(!o.nobrl), sizeof(struct fuse_operations), fs);
        if (!f) {
            log_err(&lg, "cannot set up FUSE (see the message above)");
            goto out_fs;
        }
    }
mount:
    sfs_fuse_ready();
    if (fuse_mount(f, o.mountpoint) != 0) {
        log_err(&lg, "cannot mount on %s", o.mountpoint);
        goto out_fuse;
    }
    struct fuse_session *se = fuse_get_session(f);
    if (fuse_set_signal_handlers(se) != 0) {
        log_err(&lg, "cannot install signal handlers");
        goto out_unmount;
    }
    /* Our own handler for the stop signals (libfuse's only ends the loop,
     * which waits for every worker), and the watcher that bounds the stop. */
    struct stopper stp = {.se = se,
                          .conn = conn,
                          .log = &lg,
                          .mountpoint = o.mountpoint,
                          .main_thread = pthread_self()};
    stop_find_mount(&stp, o.mountpoint);
    int stop_pipe[2];
    if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        log_err(&lg, "cannot create a pipe: %s", strerror(errno));
        goto out_signals;
    }
    stp.pipe_r = stop_pipe[0];
    stp.fuse_fd = fcntl(fuse_session_fd(se), F_DUPFD_CLOEXEC, 0);
    stop_pipe_w = stop_pipe[1];
    stop_se = se;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (pthread_create(&stp.thread, NULL, stopper_main, &stp) != 0) {
        log_err(&lg, "cannot start the stop watcher");
        goto out_signals;
    }
    pthread_detach(stp.thread);

    /* The daemon leaves for / below, while the stats thread may not have
     * looked at the mount yet. */
    char *mnt_abs = realpath(o.mountpoint, NULL);
    struct stats_waiter sw = {.fs = fs, .mountpoint = mnt_abs, .log = &lg};
    atomic_init(&sw.stop, false);
    bool stats_running = pthread_create(&sw.thread, NULL, stats_main, &sw) == 0;

    log_info(&lg, "mounted %s on %s",
             net        ? "the network"
             : o.source ? o.source
                        : o.share,
             o.mountpoint);
    if (ready_fd >= 0) {
        if (chdir("/") != 0)
            log_warn(&lg, "chdir /: %s", strerror(errno));
        atomic_store(&log_to_syslog, true);
        detach_stdio();
        report(&ready_fd, 0);
    }

    /* fuse_loop_mt's workers, reading each request into a buffer a
     * write may lend to the write-behind (fs_loop.c); -s keeps libfuse's
     * single loop, whose writes are copied. */
    if (o.single_thread)
        r = fuse_loop(f);
    else
        r = sfs_loop_mt(f, 32, 8);
    /* However the loop ended (an unmount, a signal), the unwinding that
     * follows is bounded too: tell the watcher. */
    {
        unsigned char zero = 0;
        if (write(stop_pipe_w, &zero, 1) < 0)
            log_debug(&lg, "stop watcher: %s", strerror(errno));
    }
    /* A positive result is the signal that ended the loop: a normal stop. */
    status = r >= 0 ? 0 : EXIT_MOUNT;
    if (r < 0)
        log_err(&lg, "FUSE loop ended with an error: %s", strerror(-r));
    else if (r > 0)
        log_info(&lg, "stopping on signal %d", r);

    atomic_store(&stop_unmounted, true);
    fuse_remove_signal_handlers(se);
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    /* Unmount first: a stat the stats thread may still be blocked in then
     * fails instead of waiting for a loop that no longer runs. */
    if (atomic_load(&stop_detached))
        stop_forget_mount(se);
    fuse_unmount(f);
    if (stats_running) {
        atomic_store(&sw.stop, true);
        pthread_kill(sw.thread, SIGUSR1);
        pthread_join(sw.thread, NULL);
    }
    free(mnt_abs);
    goto out_fuse;
out_signals:
    fuse_remove_signal_handlers(se);
out_unmount:
    fuse_unmount(f);
out_fuse:
    fuse_destroy(f);
out_fs:
    if (fs)
        sfs_fs_log_stats(fs);
    sfs_fs_free(fs);
    sfs_print_free(pr);
    sfs_net_free(net);
out_tree:
    smb1_tree_free(tree);
out_conn:
    pthread_mutex_lock(&stop_lock);
    stop_done = true;
    pthread_mutex_unlock(&stop_lock);
    smb1_conn_free(conn);
out_log:
    report(&ready_fd, (unsigned char)status);
    fuse_set_log_func(NULL);
    prog_log = NULL;
    log_destroy(&lg);
out_free_opts:
    sfs_opts_free(&o);
    fuse_opt_free_args(&args);
    return status;
}
