/* log.h -- famledgerd's diagnostics on standard error. */
#ifndef FAMLEDGER_LOG_H
#define FAMLEDGER_LOG_H

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

#include <stdbool.h>

void log_set_level(enum log_level level);
/* Under systemd with standard error connected to the journal (JOURNAL_STREAM), lines carry a
 * syslog priority prefix ("<3>") and no timestamp of their own. Returns whether they do. */
bool log_detect_journal(void);
/* Parse "error", "warn", "info" or "debug". Returns 0, or -1 for anything else. */
int log_level_parse(const char *text, enum log_level *level);
void log_message(enum log_level level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* From now on a SIGSEGV or SIGBUS first writes a line saying what it most likely means: a
 * damaged or cut short data.mdb in `data_dir` (LMDB does not check its pages), or a bug. What
 * handled the signal before (the default, with its core dump, or a sanitizer's report) then
 * ends the process. Call once `data_dir` is known. */
void log_fatal_signals(const char *data_dir);

#define log_error(...) log_message(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_message(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_message(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_message(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
