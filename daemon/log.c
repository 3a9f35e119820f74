/* log.c -- famledgerd's diagnostics on standard error, one line each: with a UTC timestamp in
 * a terminal or file, with a syslog priority prefix and no timestamp for journald. */
#include "log.h"

#include <signal.h>
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

/* The lines a fatal signal writes, made beforehand: the handler may only call what is
 * async-signal-safe (signal-safety(7)), so no formatting, no stdio, no time. */
static char log_bus_line[1024], log_segv_line[1024];
static size_t log_bus_bytes, log_segv_bytes;

/* What SIGBUS and SIGSEGV did before (the default, or a sanitizer's report). */
static struct sigaction log_bus_before, log_segv_before;

static void log_fatal_signal_cb(int signal_number, siginfo_t *info, void *context)
{
    (void)context;
    bool bus = signal_number == SIGBUS;
    (void)!write(STDERR_FILENO, bus ? log_bus_line : log_segv_line,
                 bus ? log_bus_bytes : log_segv_bytes);
    sigaction(signal_number, bus ? &log_bus_before : &log_segv_before, NULL);
    /* A fault recurs when we return, now to what handled it before; a signal another process
     * sent is sent again, and ends the process once we return. */
    if (info->si_code <= 0)
        raise(signal_number);
}

/* The length of a line snprintf made in `line`; one cut short (a very long data_dir) still
 * ends with its newline. */
static size_t log_line_bytes(char *line, size_t size, int bytes)
{
    if (bytes < 0)
        return 0;
    if ((size_t)bytes < size)
        return (size_t)bytes;
    line[size - 2] = '\n';
    return size - 1;
}

void log_fatal_signals(const char *data_dir)
{
    const char *prefix = log_journal ? "<2>" : "famledgerd fatal: ";
    int bytes = snprintf(log_bus_line, sizeof(log_bus_line),
                         "%sSIGBUS: a read past the end of a file famledgerd maps. %s/data.mdb "
                         "is shorter than its pages say: cut short, or damaged, while famledgerd "
                         "ran. Keep the directory for the investigation and restore the newest "
                         "backup (docs/OPERATIONS.md, Restore)\n", prefix, data_dir);
    log_bus_bytes = log_line_bytes(log_bus_line, sizeof(log_bus_line), bytes);
    bytes = snprintf(log_segv_line, sizeof(log_segv_line),
                     "%sSIGSEGV: a read out of bounds. Either %s/data.mdb is damaged (LMDB does "
                     "not check its pages, and a damaged one can lead a read astray) or this is "
                     "a bug. Keep the directory and the core dump; if famledgerd stops so again "
                     "at the same request, restore the newest backup (docs/OPERATIONS.md, "
                     "Restore)\n", prefix, data_dir);
    log_segv_bytes = log_line_bytes(log_segv_line, sizeof(log_segv_line), bytes);
    struct sigaction action = {.sa_sigaction = log_fatal_signal_cb, .sa_flags = SA_SIGINFO};
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, &log_bus_before);
    sigaction(SIGSEGV, &action, &log_segv_before);
}
