/* cli.h -- what famledger's command-line tools share: options, JSON text, exit codes. */
#ifndef FAMLEDGER_CLI_H
#define FAMLEDGER_CLI_H

#include "json_text.h" /* json_string_write, for every command's --json */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes of ledgerctl, documented in docs/LEDGERCTL.md. */
enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_REJECTED = 1,    /* the daemon refused the request (business rule, role, input) */
    CLI_EXIT_USAGE = 2,       /* the command line is wrong */
    CLI_EXIT_UNREACHABLE = 3, /* cannot reach the daemon, or the protocol broke */
    CLI_EXIT_VERIFY_FAILED = 4,
    CLI_EXIT_UNBALANCED = 5,
    CLI_EXIT_IO = 6, /* a file or the output could not be read or written whole (the disk) */
};

#define CLI_OPTIONS_MAX 24
#define CLI_POSITIONALS_MAX 24

struct cli_option_spec {
    const char *name;  /* "--name" */
    bool takes_value;
};

struct cli_parsed {
    const char *positionals[CLI_POSITIONALS_MAX];
    int positional_count;
    const char *option_names[CLI_OPTIONS_MAX];
    const char *option_values[CLI_OPTIONS_MAX]; /* "" for flags */
    int option_count;
};

/* Split arguments into positionals and the options of `specs` (NULL-name terminated), in any
 * order; "--opt=value" and "--opt value" both work. Returns 0, or -1 after printing why. */
int cli_parse(int argc, char **argv, const struct cli_option_spec *specs,
              struct cli_parsed *parsed);
/* The value of an option, or NULL when it was not given. */
const char *cli_option(const struct cli_parsed *parsed, const char *name);

/* Parse a whole decimal number in [min, max]. Returns 0 or -1. */
int cli_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *value);

/* A report written whole or not at all: into PATH.partial, renamed to PATH once complete, so
 * that a reader (a cron job, node_exporter) never sees half of one. No path: standard output. */
struct cli_report {
    FILE *out;
    const char *path;
    char partial[4200];
};
/* Returns 0, or -1 with errno when the file cannot be created. */
int cli_report_open(struct cli_report *report, const char *path);
/* Finish the report: with `status` 0 the file is synced and takes its name, synced too;
 * otherwise it is removed. Returns `status`, or CLI_REPORT_UNWRITTEN (said on stderr; a file
 * is removed) when the report, a file or standard output, could not be written whole. */
#define CLI_REPORT_UNWRITTEN (-1)
int cli_report_close(struct cli_report *report, int status);

/* Why fl_money_parse refused `text`, for people: "has more than two decimals ...", "is too
 * large ...", or "is not an amount in yuan ...". */
const char *cli_money_why(const char *text);

/* 0 once `out` is flushed, else why a write to it failed (errno, or EIO). A write that failed
 * earlier (in the library, which then said why) left its errno, unless something since has
 * failed too. */
int cli_stream_error(FILE *out);

/* After a loop of getline on FILE ended: 0 at its end, or why a read failed (errno, EISDIR for a
 * directory), so that a file that could not be read whole is never taken for a short one. */
int cli_read_error(FILE *file);
/* Say that PATH could not be read after line `line_no` (the rows before it were sent: running
 * the same command again resumes), and return CLI_EXIT_IO. */
int cli_read_failed(const char *path, unsigned long line_no, int error);

/* Say, once, that standard output failed with `error` and what is lost ("it is incomplete");
 * returns CLI_EXIT_IO. */
int cli_output_failed(int error, const char *what_is_lost);

/* The exit code once standard output is flushed: `exit_code`, or CLI_EXIT_IO (said on
 * stderr) when some of it could not be written, so that a report cut short by a full disk is
 * never a quiet success. */
int cli_output_close(int exit_code);

/* Entry times are shown in `zone` (an IANA name, the daemon's business time zone) from now
 * on; NULL: in UTC, as they are until this is called. */
void cli_time_zone_set(const char *zone);
const char *cli_time_zone(void);
/* "2026-11-23T17:31:40.123456+08:00" in the zone set, "2026-11-23T09:31:40.123456Z" in UTC. */
#define CLI_TIME_TEXT_MAX 40
#define CLI_TIME_COLUMN 32 /* the longer of the two: a table's time column, `%-*s` */
void cli_time_text(int64_t time_us, char text[CLI_TIME_TEXT_MAX]);
/* Today's date, YYYY-MM-DD, in the zone set. */
void cli_today(char date[11]);
/* The day after `date` (YYYY-MM-DD, a real day) into `next`, which may be `date`. */
void cli_date_next(const char *date, char next[11]);

/* Cut the white space around `text`, in place; returns where it now starts. */
char *cli_trim(char *text);

/* `line` past a UTF-8 byte order mark, when it is the file's first (line_no 1). */
char *cli_skip_bom(char *line, unsigned long line_no);
/* A line of a CSV file (RFC 4180, as spreadsheets and legacy exports write it) made ready to
 * split: the white space around it cut, and on the first line a UTF-8 byte order mark. */
char *cli_csv_line(char *line, unsigned long line_no);
/* Split a CSV line in place into at most `max` fields: a field in double quotes may hold commas
 * and "" for a quote; white space around a field is cut. Returns the number of fields in the
 * line (which may pass `max`), or -1 when a quote is not closed or text follows a closing
 * one. */
int cli_csv_split(char *line, char **fields, int max);
#define CSV_QUOTES_BROKEN "a quoted field is not closed on its line, or text follows its quote"
#define CSV_NOT_UTF8 "the row is not UTF-8 text (convert the file: iconv -f GB18030 -t UTF-8)"

/* Redraw a progress line on stderr: "[####....]  42%  1200 rows", and the rate when
 * rows_per_second >= 0. For imports reading a file of `total` bytes, `done` of them read. */
void cli_progress(long long done, long long total, unsigned long rows, double rows_per_second);

/* Map a famledger status to ledgerctl's exit code. */
int cli_exit_for_status(int status);

#endif
