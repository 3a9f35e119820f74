/* log.c -- famledgerd's diagnostics on standard error, one line each: with a UTC timestamp in
 * a terminal or file, with a syslog priority prefix and no timestamp for journald. */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_level_current = LOG_LEVEL_INFO;
static const char *const log_level_names[] = {"error", "warn", "info", "debug"};
/* sd-daemon(3)'s priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const int log_level_priorities[] = {3, 4, 6, 7};
static bool log_journal;

bool log_detect_journal(void)
{
    /* systemd sets JOURNAL_STREAM to the device and inode of the stream it connected; only
     * when standard error is still that stream do its lines go to the journal. */
    const char *stream = getenv("JOURNAL_STREAM");
    unsigned long long device, inode;
    struct stat status;
    log_journal = stream && sscanf(stream, "%llu:%llu", &device, &inode) == 2 &&
                  fstat(STDERR_FILENO, &status) == 0 &&
                  (unsigned long long)status.st_dev == device &&
                  (unsigned long long)status.st_ino == inode;
    return log_journal;
}

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
    int prefix;
    if (log_journal) { /* journald dates the line and knows whose it is */
        prefix = snprintf(line, sizeof(line), "<%d>", log_level_priorities[level]);
    } else {
        struct timespec now;
        struct tm utc;
        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &utc);
        prefix = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &utc);
        prefix += snprintf(line + prefix, sizeof(line) - (size_t)prefix,
                           ".%03ldZ famledgerd %s: ", now.tv_nsec / 1000000,
                           log_level_names[level]);
    }
    va_list args;
    va_start(args, format);
    vsnprintf(line + prefix, sizeof(line) - (size_t)prefix, format, args);
    va_end(args);
    /* A message is one line: journald would split it at a newline, and so would grep. */
    for (char *c = line + prefix; *c; c++)
        if (*c == '\n')
            *c = ' ';
    /* One write per line, so that lines of concurrent threads never interleave. */
    fprintf(stderr, "%s\n", line);
}
