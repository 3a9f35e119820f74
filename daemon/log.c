/* log.c -- famledgerd's diagnostics on standard error, one line each, UTC timestamps. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level log_level_current = LOG_LEVEL_INFO;
static const char *const log_level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level level)
{
    log_level_current = level;
}

int log_level_parse(const char *text, enum log_level *level)
{
    for (int i = 0; i <= LOG_LEVEL_DEBUG; i++) {
        if (strcmp(text, log_level_names[i]) == 0) {
            *level = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_message(enum log_level level, const char *format, ...)
{
    if (level > log_level_current)
        return;
    char line[1024];
    struct timespec now;
    struct tm utc;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &utc);
    int prefix = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &utc);
    prefix += snprintf(line + prefix, sizeof(line) - (size_t)prefix, ".%03ldZ famledgerd %s: ",
                       now.tv_nsec / 1000000, log_level_names[level]);
    va_list args;
    va_start(args, format);
    vsnprintf(line + prefix, sizeof(line) - (size_t)prefix, format, args);
    va_end(args);
    /* One write per line, so that lines of concurrent threads never interleave. */
    fprintf(stderr, "%s\n", line);
}
