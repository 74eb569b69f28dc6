/*
 * log.c: timestamped lines on stderr.
 *
 * Each line is formatted into one buffer and written with one write(2), so
 * lines from several threads never interleave.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level min_level = LOG_INFO;

static const char *const level_names[] = {
    [LOG_DEBUG] = "debug", [LOG_INFO] = "info",
    [LOG_WARN] = "warning", [LOG_ERROR] = "error",
};

void
log_set_level(enum log_level level)
{
    min_level = level;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
    char line[2048];
    struct timespec now;
    struct tm tm;
    va_list ap;
    size_t n, i;
    int len;

    if (level < min_level)
        return;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    len = snprintf(line + n, sizeof(line) - n, ".%03ldZ media-worker[%d] %s: ",
                   now.tv_nsec / 1000000, (int) getpid(), level_names[level]);
    n += (size_t) len;

    va_start(ap, fmt);
    len = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    n = len < 0 ? n : n + (size_t) len;
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    /* libpq's messages end in a newline and span lines: one event, one
     * line. */
    while (n > 0 && isspace((unsigned char) line[n - 1]))
        n--;
    for (i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\t')
            line[i] = ' ';
    line[n++] = '\n';

    if (write(STDERR_FILENO, line, n) < 0) {
        /* Nowhere else to report it. */
    }
}
