/* ledgerctl_migrate.c -- `ledgerctl migrate persons|bindings FILE`: a legacy system's people,
 * accounts, balances and bindings, loaded at the pace of the disk.
 *
 * Rows go in batches of FL_BATCH_MAX, several batches in flight on one connection, so that the
 * daemon commits one batch while the next is on its way and the file is parsed meanwhile. Each
 * row is idempotent (a person's row is its own key; a binding exists or not), so a migration
 * stopped anywhere (a crash, Ctrl-C, a full disk) is resumed by running the same command
 * again: rows already applied come back as such and cost a lookup each.
 */
#include "ledgerctl.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIGRATE_IN_FLIGHT 4 /* batches on the connection at once */

enum migrate_kind { MIGRATE_PERSONS, MIGRATE_BINDINGS };

/* The file lines of one batch in flight, to name a refused row. */
struct migrate_lines {
    unsigned long line[FL_BATCH_MAX];
};

struct migrate {
    struct ctl *ctl;
    enum migrate_kind kind;
    const char *path;
    bool progress;
    off_t file_bytes;
    struct timespec started;
    unsigned long rows, applied, already, rejected;
    struct migrate_lines lines[MIGRATE_IN_FLIGHT + 1]; /* a ring, one per batch in flight */
    unsigned next_batch;
};

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void migrate_progress(struct migrate *migrate, off_t position)
{
    if (!migrate->progress)
        return;
    double seconds = seconds_since(&migrate->started);
    cli_progress(position, migrate->file_bytes, migrate->rows,
                 seconds > 0 ? (double)migrate->rows / seconds : 0.0);
}

/* The callback's context: the migration and which batch the result belongs to. */
struct migrate_batch_ref {
    struct migrate *migrate;
    struct migrate_lines *lines;
};

static void migrate_row_done(void *context, size_t index, const fl_result *result)
{
    struct migrate_batch_ref *ref = context;
    struct migrate *migrate = ref->migrate;
    bool already = (result->status == 0 && result->replayed) ||
                   (migrate->kind == MIGRATE_BINDINGS && result->status == FL_ERR_BINDING_EXISTS);
    if (already) {
        migrate->already++;
    } else if (result->status == 0) {
        migrate->applied++;
    } else {
        migrate->rejected++;
        fprintf(stderr, "%s%s:%lu: %s: %s\n", migrate->progress ? "\r\033[K" : "",
                migrate->path, ref->lines->line[index], fl_status_name(result->status),
                result->error);
    }
}

/* Parse one row into the batch; NULL, or why the row is bad. */
static const char *migrate_row(struct migrate *migrate, fl_batch *batch, char *text)
{
    char *fields[6] = {0};
    int count = cli_csv_split(text, fields, 6);
    if (count < 0)
        return CSV_QUOTES_BROKEN;
    int rc;
    if (migrate->kind == MIGRATE_PERSONS) {
        if (count != 5)
            return "expected five fields: person_no,name,region,scheme,opening_balance";
        fl_person person = {0};
        if (!*fields[0] || strlen(fields[0]) > FL_PERSON_NO_MAX)
            return "the person number must be 1 to 32 characters";
        if (strlen(fields[1]) >= sizeof(person.name) || strlen(fields[2]) > FL_REGION_LEN)
            return "the name or the region is too long";
        if (strcmp(fields[3], "employee") == 0)
            person.scheme = FL_SCHEME_EMPLOYEE;
        else if (strcmp(fields[3], "resident") == 0)
            person.scheme = FL_SCHEME_RESIDENT;
        else
            return "the scheme must be employee or resident";
        int64_t opening_fen = 0;
        if (*fields[4] && (fl_money_parse(fields[4], &opening_fen) != 0 || opening_fen < 0))
            return "the opening balance must be yuan with at most two decimals, 0 or more";
        strcpy(person.person_no, fields[0]);
        strcpy(person.name, fields[1]);
        strcpy(person.region, fields[2]);
        rc = fl_batch_migrate(batch, &person, opening_fen);
    } else {
        if (count != 3)
            return "expected three fields: holder,beneficiary,relation";
        fl_relation relation;
        if (fl_relation_parse(fields[2], &relation) != 0)
            return "unknown relation";
        rc = fl_batch_bind(batch, fields[0], fields[1], relation);
    }
    /* The batch has room (it is sent when full), so a refused item is its text or memory. */
    return rc == 0                        ? NULL
           : rc == FL_ERR_INVALID_ARGUMENT ? CSV_NOT_UTF8
                                          : "out of memory";
}

/* Send the batch (whose rows are at `lines`), keeping at most MIGRATE_IN_FLIGHT in flight. */
static int migrate_send(struct migrate *migrate, fl_batch *batch,
                        struct migrate_batch_ref *refs, off_t position)
{
    if (fl_batch_count(batch) == 0)
        return 0;
    unsigned slot = migrate->next_batch++ % (MIGRATE_IN_FLIGHT + 1);
    int rc = fl_send_batch(migrate->ctl->client, batch, migrate_row_done, &refs[slot]);
    if (rc == 0)
        rc = fl_async_wait(migrate->ctl->client, MIGRATE_IN_FLIGHT - 1);
    fl_batch_clear(batch);
    migrate_progress(migrate, position);
    return rc;
}

int migrate_run(struct ctl *ctl, const struct cli_parsed *args)
{
    static struct migrate migrate;
    memset(&migrate, 0, sizeof(migrate));
    migrate.ctl = ctl;
    const char *what = args->positionals[0];
    if (strcmp(what, "persons") == 0)
        migrate.kind = MIGRATE_PERSONS;
    else if (strcmp(what, "bindings") == 0)
        migrate.kind = MIGRATE_BINDINGS;
    else
        return usage_error("migrate persons FILE, or migrate bindings FILE");
    migrate.path = args->positionals[1];
    FILE *file = fopen(migrate.path, "r");
    if (!file)
        return usage_error("cannot open %s: %s", migrate.path, strerror(errno));
    fl_batch *batch = fl_batch_new();
    if (!batch) {
        fclose(file);
        return usage_error("out of memory");
    }
    struct stat info;
    migrate.file_bytes = fstat(fileno(file), &info) == 0 ? info.st_size : 0;
    migrate.progress = isatty(STDERR_FILENO) && !ctl->json;
    clock_gettime(CLOCK_MONOTONIC, &migrate.started);
    struct migrate_batch_ref refs[MIGRATE_IN_FLIGHT + 1];
    for (unsigned i = 0; i <= MIGRATE_IN_FLIGHT; i++)
        refs[i] = (struct migrate_batch_ref){&migrate, &migrate.lines[i]};
    const char *header = migrate.kind == MIGRATE_PERSONS ? "person_no" : "holder";

    char *line = NULL;
    size_t capacity = 0;
    unsigned long line_no = 0;
    int rc = 0;
    while (rc == 0 && getline(&line, &capacity, file) >= 0) {
        line_no++;
        char *text = cli_csv_line(line, line_no);
        if (!*text || *text == '#' || (line_no == 1 && strncmp(text, header, strlen(header)) == 0))
            continue;
        migrate.rows++;
        unsigned slot = migrate.next_batch % (MIGRATE_IN_FLIGHT + 1);
        size_t at = fl_batch_count(batch);
        const char *why = migrate_row(&migrate, batch, text);
        if (why) {
            migrate.rejected++;
            fprintf(stderr, "%s%s:%lu: %s\n", migrate.progress ? "\r\033[K" : "", migrate.path,
                    line_no, why);
            continue;
        }
        migrate.lines[slot].line[at] = line_no;
        if (fl_batch_count(batch) == FL_BATCH_MAX)
            rc = migrate_send(&migrate, batch, refs, ftello(file));
    }
    int read_error = cli_read_error(file);
    if (rc == 0)
        rc = migrate_send(&migrate, batch, refs, ftello(file));
    if (rc == 0)
        rc = fl_async_wait(ctl->client, 0);
    free(line);
    fclose(file);
    fl_batch_free(batch);
    if (migrate.progress)
        fprintf(stderr, "\r\033[K");
    if (rc)
        return ctl_fail(ctl, rc);
    if (read_error)
        return cli_read_failed(migrate.path, line_no, read_error);
    double seconds = seconds_since(&migrate.started);
    if (ctl->json)
        printf("{\"rows\":%lu,\"applied\":%lu,\"already_applied\":%lu,\"rejected\":%lu,"
               "\"seconds\":%.1f}\n",
               migrate.rows, migrate.applied, migrate.already, migrate.rejected, seconds);
    else
        printf("%lu rows: %lu applied, %lu already applied, %lu rejected, in %.1f s "
               "(%.0f rows/s)\n",
               migrate.rows, migrate.applied, migrate.already, migrate.rejected, seconds,
               seconds > 0 ? (double)migrate.rows / seconds : 0.0);
    return migrate.rejected ? CLI_EXIT_REJECTED : CLI_EXIT_OK;
}
