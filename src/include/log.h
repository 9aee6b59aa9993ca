/* Logging: one thread-safe sink per logger object, syslog levels.
 *
 * The core never owns a global logger: a struct smb1_log is created by the
 * program (or a test) and passed in the connection config. Secrets never go
 * through here at any level; log_hex() caps its dumps.
 */
#ifndef SMBFUSE_LOG_H
#define SMBFUSE_LOG_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <syslog.h>

typedef void (*smb1_log_sink_fn)(void *ctx, int level, const char *line);

struct smb1_log {
    int level;             /* messages above this level are dropped; set before use */
    smb1_log_sink_fn sink; /* NULL: stderr */
    void *sink_ctx;
    pthread_mutex_t lock; /* serialises calls into sink so lines never interleave */
};

void log_init(struct smb1_log *lg, int level, smb1_log_sink_fn sink, void *ctx);
void log_destroy(struct smb1_log *lg);
/* Sink that writes to syslog (ctx unused). */
void log_sink_syslog(void *ctx, int level, const char *line);

void log_msg(struct smb1_log *lg, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vmsg(struct smb1_log *lg, int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Hex dump of at most 256 bytes at LOG_DEBUG. */
void log_hex(struct smb1_log *lg, const char *what, const void *p, size_t n);

static inline int log_enabled(const struct smb1_log *lg, int level)
{
    return lg && level <= lg->level;
}

#define log_err(lg, ...)  log_msg((lg), LOG_ERR, __VA_ARGS__)
#define log_warn(lg, ...) log_msg((lg), LOG_WARNING, __VA_ARGS__)
#define log_info(lg, ...) log_msg((lg), LOG_INFO, __VA_ARGS__)
#define log_debug(lg, ...)                                                                         \
    do {                                                                                           \
        if (log_enabled((lg), LOG_DEBUG))                                                          \
            log_msg((lg), LOG_DEBUG, __VA_ARGS__);                                                 \
    } while (0)

#endif
