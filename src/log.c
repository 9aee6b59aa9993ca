#include "log.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

void log_init(struct smb1_log *lg, int level, smb1_log_sink_fn sink, void *ctx)
{
    lg->level = level;
    lg->sink = sink;
    lg->sink_ctx = ctx;
    pthread_mutex_init(&lg->lock, NULL);
}

void log_destroy(struct smb1_log *lg)
{
    pthread_mutex_destroy(&lg->lock);
}

void log_sink_syslog(void *ctx, int level, const char *line)
{
    (void)ctx;
    syslog(level, "%s", line);
}

static const char *level_name(int level)
{
    switch (level) {
    case LOG_EMERG:
    case LOG_ALERT:
    case LOG_CRIT:
    case LOG_ERR:
        return "error";
    case LOG_WARNING:
        return "warning";
    case LOG_NOTICE:
        return "notice";
    case LOG_INFO:
        return "info";
    default:
        return "debug";
    }
}

void log_vmsg(struct smb1_log *lg, int level, const char *fmt, va_list ap)
{
    if (!log_enabled(lg, level))
        return;
    char line[1024];
    vsnprintf(line, sizeof(line), fmt, ap);
    pthread_mutex_lock(&lg->lock);
    if (lg->sink)
        lg->sink(lg->sink_ctx, level, line);
    else
        fprintf(stderr, "smbfuse: %s: %s\n", level_name(level), line);
    pthread_mutex_unlock(&lg->lock);
}

void log_msg(struct smb1_log *lg, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(lg, level, fmt, ap);
    va_end(ap);
}

void log_hex(struct smb1_log *lg, const char *what, const void *p, size_t n)
{
    if (!log_enabled(lg, LOG_DEBUG))
        return;
    const uint8_t *b = p;
    size_t shown = n < 256 ? n : 256;
    for (size_t off = 0; off < shown; off += 32) {
        char hex[3 * 32 + 1];
        size_t k = 0;
        for (size_t i = off; i < shown && i < off + 32; i++)
            k += (size_t)snprintf(hex + k, sizeof(hex) - k, "%02x ", b[i]);
        hex[k] = 0;
        log_msg(lg, LOG_DEBUG, "%s +%04zx: %s%s", what, off, hex,
                off + 32 >= shown && shown < n ? "..." : "");
    }
}
