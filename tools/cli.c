/* cli.c -- what famledger's command-line tools share: options, JSON text, exit codes, progress. */
#include "cli.h"

#include "famledger.h"
#include "sync_dir.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct cli_option_spec *spec_find(const struct cli_option_spec *specs,
                                               const char *name, size_t name_length)
{
    for (; specs && specs->name; specs++)
        if (strlen(specs->name) == name_length && strncmp(specs->name, name, name_length) == 0)
            return specs;
    return NULL;
}

int cli_parse(int argc, char **argv, const struct cli_option_spec *specs,
              struct cli_parsed *parsed)
{
    memset(parsed, 0, sizeof(*parsed));
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (parsed->positional_count == CLI_POSITIONALS_MAX) {
                fprintf(stderr, "ledgerctl: too many arguments\n");
                return -1;
            }
            parsed->positionals[parsed->positional_count++] = arg;
            continue;
        }
        const char *equals = strchr(arg, '=');
        size_t name_length = equals ? (size_t)(equals - arg) : strlen(arg);
        const struct cli_option_spec *spec = spec_find(specs, arg, name_length);
        if (!spec) {
            fprintf(stderr, "ledgerctl: unknown option %.*s\n", (int)name_length, arg);
            return -1;
        }
        const char *value = "";
        if (spec->takes_value) {
            if (equals) {
                value = equals + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                fprintf(stderr, "ledgerctl: %s needs a value\n", spec->name);
                return -1;
            }
        } else if (equals) {
            fprintf(stderr, "ledgerctl: %s takes no value\n", spec->name);
            return -1;
        }
        if (parsed->option_count == CLI_OPTIONS_MAX) {
            fprintf(stderr, "ledgerctl: too many options\n");
            return -1;
        }
        parsed->option_names[parsed->option_count] = spec->name;
        parsed->option_values[parsed->option_count++] = value;
    }
    return 0;
}

const char *cli_option(const struct cli_parsed *parsed, const char *name)
{
    const char *value = NULL;
    for (int i = 0; i < parsed->option_count; i++)
        if (strcmp(parsed->option_names[i], name) == 0)
            value = parsed->option_values[i]; /* the last one given wins */
    return value;
}

int cli_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *value)
{
    if (!text || *text < '0' || *text > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long long parsed = strtoull(text, &end, 10);
    if (errno || *end || parsed < min || parsed > max)
        return -1;
    *value = parsed;
    return 0;
}

int cli_report_open(struct cli_report *report, const char *path)
{
    report->path = path;
    report->out = stdout;
    if (!path)
        return 0;
    snprintf(report->partial, sizeof(report->partial), "%s.partial", path);
    report->out = fopen(report->partial, "w");
    return report->out ? 0 : -1;
}

int cli_stream_error(FILE *out)
{
    int earlier = errno;
    if (fflush(out) != 0)
        return errno ? errno : EIO;
    if (ferror(out))
        return earlier ? earlier : EIO;
    return 0;
}

const char *cli_money_why(const char *text)
{
    const char *digits = text + (*text == '-');
    size_t whole = strspn(digits, "0123456789");
    const char *point = digits + whole;
    size_t decimals = *point == '.' ? strspn(point + 1, "0123456789") : 0;
    bool shaped = whole > 0 && (*point == '\0' || (decimals > 0 && point[1 + decimals] == '\0'));
    if (!shaped)
        return "is not an amount in yuan (like 12.34 or 80)";
    if (decimals > 2)
        return "has more than two decimals (a fen, 0.01, is the smallest amount)";
    return "is too large to be an amount";
}

int cli_read_error(FILE *file)
{
    return ferror(file) ? (errno ? errno : EIO) : 0;
}

int cli_read_failed(const char *path, unsigned long line_no, int error)
{
    if (line_no == 0) {
        fprintf(stderr, "ledgerctl: cannot read %s: %s; nothing was sent\n", path,
                strerror(error));
        return CLI_EXIT_IO;
    }
    fprintf(stderr, "ledgerctl: cannot read %s after line %lu: %s. The rows before it were sent; "
            "run the same command again once the file reads whole (a row applied already is "
            "not applied twice)\n", path, line_no, strerror(error));
    return CLI_EXIT_IO;
}

/* Set once ledgerctl has said that standard output failed, so that it says so once. */
static bool cli_output_failed_said;

int cli_output_failed(int error, const char *what_is_lost)
{
    if (!cli_output_failed_said)
        fprintf(stderr, "ledgerctl: cannot write the output: %s; %s\n", strerror(error),
                what_is_lost);
    cli_output_failed_said = true;
    return CLI_EXIT_IO;
}

int cli_report_close(struct cli_report *report, int status)
{
    int error = cli_stream_error(report->out);
    if (!error && report->path && fsync(fileno(report->out)) != 0)
        error = errno;
    if (report->path) {
        if (fclose(report->out) != 0 && !error)
            error = errno;
        if (status || error) {
            unlink(report->partial);
        } else if (rename(report->partial, report->path) != 0) {
            error = errno;
            unlink(report->partial);
        } else if (sync_dir_of(report->path) != 0 && sync_dir_error_is_fatal(errno)) {
            /* Only the disk's failure: a directory one may not read keeps the file. */
            error = errno;
            unlink(report->path);
        }
    }
    if (!error)
        return status;
    /* A failed write is said as such, even when it made the call fail too. */
    if (report->path) {
        fprintf(stderr, "ledgerctl: cannot write %s: %s; nothing was written there\n",
                report->path, strerror(error));
    } else {
        cli_output_failed(error, "it is incomplete");
    }
    return CLI_REPORT_UNWRITTEN;
}

int cli_output_close(int exit_code)
{
    int error = cli_stream_error(stdout);
    if (!error)
        return exit_code;
    cli_output_failed(error, "it is incomplete");
    return exit_code ? exit_code : CLI_EXIT_IO;
}

static bool cli_time_local;      /* TZ names the business zone */
static char cli_time_zone_name[64] = "UTC";

void cli_time_zone_set(const char *zone)
{
    cli_time_local = zone != NULL;
    snprintf(cli_time_zone_name, sizeof(cli_time_zone_name), "%s", zone ? zone : "UTC");
    setenv("TZ", cli_time_zone_name, 1);
    tzset();
}

const char *cli_time_zone(void)
{
    return cli_time_zone_name;
}

void cli_time_text(int64_t time_us, char text[CLI_TIME_TEXT_MAX])
{
    /* Times before 1970 are not in any ledger; floor them anyway, as dates would. */
    int64_t micros = time_us % 1000000;
    time_t seconds = (time_t)(time_us / 1000000 - (micros < 0));
    micros = (micros + 1000000) % 1000000;
    struct tm tm;
    if (cli_time_local)
        localtime_r(&seconds, &tm);
    else
        gmtime_r(&seconds, &tm);
    size_t length = strftime(text, CLI_TIME_TEXT_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
    length += (size_t)snprintf(text + length, CLI_TIME_TEXT_MAX - length, ".%06d", (int)micros);
    if (!cli_time_local) {
        snprintf(text + length, CLI_TIME_TEXT_MAX - length, "Z");
        return;
    }
    long offset = tm.tm_gmtoff;
    snprintf(text + length, CLI_TIME_TEXT_MAX - length, "%c%02ld:%02ld", offset < 0 ? '-' : '+',
             labs(offset) / 3600, labs(offset) % 3600 / 60);
}

void cli_today(char date[11])
{
    time_t now = time(NULL);
    struct tm tm;
    if (cli_time_local)
        localtime_r(&now, &tm);
    else
        gmtime_r(&now, &tm);
    strftime(date, 11, "%Y-%m-%d", &tm);
}

void cli_date_next(const char *date, char next[11])
{
    struct tm day = {0};
    strptime(date, "%Y-%m-%d", &day);
    day.tm_mday++;
    time_t seconds = timegm(&day);
    gmtime_r(&seconds, &day);
    strftime(next, 11, "%Y-%m-%d", &day);
}

int cli_exit_for_status(int status)
{
    switch (status) {
    case FL_OK:
        return CLI_EXIT_OK;
    case FL_ERR_UNAVAILABLE:
    case FL_ERR_TIMEOUT:
    case FL_ERR_PROTOCOL_ERROR:
    case FL_ERR_MALFORMED_REQUEST:
    case FL_ERR_FRAME_TOO_LARGE:
    case FL_ERR_UNSUPPORTED:
    case FL_ERR_BUSY:
    case FL_ERR_SHUTTING_DOWN:
        return CLI_EXIT_UNREACHABLE;
    default:
        return CLI_EXIT_REJECTED;
    }
}

char *cli_trim(char *text)
{
    while (isspace((unsigned char)*text))
        text++;
    char *end = text + strlen(text);
    while (end > text && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return text;
}

char *cli_skip_bom(char *line, unsigned long line_no)
{
    static const char bom[] = "\xEF\xBB\xBF";
    return line_no == 1 && strncmp(line, bom, strlen(bom)) == 0 ? line + strlen(bom) : line;
}

char *cli_csv_line(char *line, unsigned long line_no)
{
    return cli_trim(cli_skip_bom(line, line_no));
}

/* One field at `*at`, unquoted in place; moves `*at` past the comma that ends it (or to NULL at
 * the end of the line). Returns the field, or NULL when its quotes are broken. */
static char *csv_field(char **at)
{
    char *field = *at;
    while (*field == ' ' || *field == '\t')
        field++;
    if (*field != '"') {
        char *comma = strchr(field, ',');
        if (comma)
            *comma = '\0';
        *at = comma ? comma + 1 : NULL;
        return cli_trim(field);
    }
    char *read = field + 1, *write = field;
    for (;; read++) {
        if (*read == '\0')
            return NULL; /* not closed on its line */
        if (*read == '"') {
            if (read[1] != '"')
                break;
            read++; /* "" is one quote */
        }
        *write++ = *read;
    }
    *write = '\0';
    for (read++; *read == ' ' || *read == '\t'; read++)
        ;
    if (*read != ',' && *read != '\0')
        return NULL; /* text after the closing quote */
    *at = *read == ',' ? read + 1 : NULL;
    return field;
}

int cli_csv_split(char *line, char **fields, int max)
{
    int count = 0;
    for (char *at = line; at; count++) {
        char *field = csv_field(&at);
        if (!field)
            return -1;
        if (count < max)
            fields[count] = field;
    }
    return count;
}

void cli_progress(long long done, long long total, unsigned long rows, double rows_per_second)
{
    if (total <= 0)
        return;
    int percent = (int)(done * 100 / total);
    char bar[41];
    memset(bar, '#', (size_t)(percent * 40 / 100));
    memset(bar + percent * 40 / 100, '.', (size_t)(40 - percent * 40 / 100));
    bar[40] = '\0';
    fprintf(stderr, "\r[%s] %3d%%  %lu rows", bar, percent, rows);
    if (rows_per_second >= 0)
        fprintf(stderr, "  %.0f rows/s", rows_per_second);
}
