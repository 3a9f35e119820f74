/* ledgerctl_reconcile.c -- `reconcile details` (like 3202): a merchant's file of its settlements
 * for a day, compared row by row with the ledger. */
#include "ledgerctl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ledger_row {
    char reference[FL_REFERENCE_MAX + 1];
    uint64_t settlement_id;
    char patient[FL_PERSON_NO_MAX + 1];
    int64_t amount_fen, acct_pay_fen, acct_mulaid_pay_fen;
    bool refunded;
    unsigned long line; /* the file's line that has it; 0: none yet */
};

struct day {
    struct ledger_row *rows;
    size_t count, capacity;
    struct ledger_row **by_reference; /* sorted, for a file of a busy day */
};

struct difference {
    const char *kind; /* missing_in_file, missing_in_ledger, amount_mismatch, refund_mismatch,
                         unreadable_row */
    char reference[FL_REFERENCE_MAX + 1];
    unsigned long line;
    char detail[160];
};

struct report {
    struct difference *items;
    size_t count, capacity;
    bool incomplete; /* a difference could not be kept: never say balanced */
};

static int day_settlement_cb(const fl_settlement *s, void *context)
{
    struct day *day = context;
    if (day->count == day->capacity) {
        size_t capacity = day->capacity ? day->capacity * 2 : 256;
        struct ledger_row *rows = realloc(day->rows, capacity * sizeof(*rows));
        if (!rows)
            return -1;
        day->rows = rows;
        day->capacity = capacity;
    }
    struct ledger_row *row = &day->rows[day->count++];
    memset(row, 0, sizeof(*row));
    snprintf(row->reference, sizeof(row->reference), "%s", s->merchant_reference);
    snprintf(row->patient, sizeof(row->patient), "%s", s->patient);
    row->settlement_id = s->settlement_id;
    row->amount_fen = s->amount_fen;
    row->acct_pay_fen = s->acct_pay_fen;
    row->acct_mulaid_pay_fen = s->acct_mulaid_pay_fen;
    row->refunded = s->refunded_fen > 0 || s->cancelled;
    return 0;
}

static void report_add(struct report *report, const char *kind, const char *reference,
                       unsigned long line, const char *detail)
{
    if (report->count == report->capacity) {
        size_t capacity = report->capacity ? report->capacity * 2 : 64;
        struct difference *items = realloc(report->items, capacity * sizeof(*items));
        if (!items) {
            report->incomplete = true;
            return;
        }
        report->items = items;
        report->capacity = capacity;
    }
    struct difference *item = &report->items[report->count++];
    item->kind = kind;
    /* A reference is printable ASCII; anything else in a file's column (a control character,
     * a byte of GBK) is shown as '?', never written to the operator's terminal or report. */
    size_t length = strnlen(reference, sizeof(item->reference) - 1);
    for (size_t i = 0; i < length; i++)
        item->reference[i] = reference[i] >= 0x20 && reference[i] <= 0x7E ? reference[i] : '?';
    item->reference[length] = '\0';
    item->line = line;
    snprintf(item->detail, sizeof(item->detail), "%s", detail);
}

static int row_reference_compare(const void *a, const void *b)
{
    return strcmp((*(struct ledger_row *const *)a)->reference,
                  (*(struct ledger_row *const *)b)->reference);
}

/* Index the day's rows by reference (a merchant's references are unique). */
static int day_index(struct day *day)
{
    day->by_reference = malloc((day->count ? day->count : 1) * sizeof(*day->by_reference));
    if (!day->by_reference)
        return -1;
    for (size_t i = 0; i < day->count; i++)
        day->by_reference[i] = &day->rows[i];
    qsort(day->by_reference, day->count, sizeof(*day->by_reference), row_reference_compare);
    return 0;
}

static struct ledger_row *day_find(struct day *day, const char *reference)
{
    struct ledger_row key, *wanted = &key;
    if (strlen(reference) >= sizeof(key.reference))
        return NULL; /* longer than any reference */
    strcpy(key.reference, reference);
    struct ledger_row **found = bsearch(&wanted, day->by_reference, day->count,
                                        sizeof(*day->by_reference), row_reference_compare);
    return found ? *found : NULL;
}

/* Columns: merchant_reference, settlement_id, patient, amount, acct_pay, acct_mulaid_pay,
 * refunded (0/1); amounts in yuan. */
static void compare_line(struct day *day, struct report *report, char *line, unsigned long no)
{
    char *fields[8] = {0};
    int count = 0;
    for (char *save = NULL, *field = strtok_r(line, "\t", &save); field && count < 8;
         field = strtok_r(NULL, "\t", &save))
        fields[count++] = field;
    int64_t amount, acct, mulaid;
    uint64_t id;
    if (count != 7 || cli_parse_u64(fields[1], 0, UINT64_MAX, &id) ||
        fl_money_parse(fields[3], &amount) || fl_money_parse(fields[4], &acct) ||
        fl_money_parse(fields[5], &mulaid) ||
        (strcmp(fields[6], "0") != 0 && strcmp(fields[6], "1") != 0)) {
        report_add(report, "unreadable_row", count ? fields[0] : "", no,
                   "expected 7 tab-separated columns: merchant_reference, settlement_id, "
                   "patient, amount, acct_pay, acct_mulaid_pay, refunded (0/1)");
        return;
    }
    struct ledger_row *row = day_find(day, fields[0]);
    if (!row) {
        report_add(report, "missing_in_ledger", fields[0], no, "the ledger has no such settlement");
        return;
    }
    char detail[160];
    if (row->line) {
        /* Twice in the file is billed twice: the ledger settled it once. */
        snprintf(detail, sizeof(detail), "the file has this settlement on line %lu already",
                 row->line);
        report_add(report, "duplicate_in_file", fields[0], no, detail);
        return;
    }
    row->line = no;
    char a[FL_MONEY_TEXT_MAX], b[FL_MONEY_TEXT_MAX];
    if (row->amount_fen != amount || row->acct_pay_fen != acct ||
        row->acct_mulaid_pay_fen != mulaid || row->settlement_id != id ||
        strcmp(row->patient, fields[2]) != 0) {
        snprintf(detail, sizeof(detail), "ledger: id %" PRIu64 " %s amount %s acct_pay %s "
                 "acct_mulaid_pay %s", row->settlement_id, row->patient,
                 fl_money_format(row->amount_fen, a), fl_money_format(row->acct_pay_fen, b),
                 fl_money_format(row->acct_mulaid_pay_fen, (char[FL_MONEY_TEXT_MAX]){0}));
        report_add(report, "amount_mismatch", fields[0], no, detail);
    }
    if (row->refunded != (fields[6][0] == '1')) {
        snprintf(detail, sizeof(detail), "ledger: %s; file: %s",
                 row->refunded ? "refunded or cancelled" : "not refunded",
                 fields[6][0] == '1' ? "refunded" : "not refunded");
        report_add(report, "refund_mismatch", fields[0], no, detail);
    }
}

static void report_print(const struct ctl *ctl, const struct report *report, const char *format)
{
    bool tsv = format && strcmp(format, "tsv") == 0;
    if (ctl->json || (format && strcmp(format, "json") == 0)) {
        printf("{\"differences\":[");
        for (size_t i = 0; i < report->count; i++) {
            printf("%s{\"kind\":\"%s\",\"merchant_reference\":", i ? "," : "",
                   report->items[i].kind);
            json_string_write(stdout, report->items[i].reference);
            printf(",\"line\":%lu,\"detail\":", report->items[i].line);
            json_string_write(stdout, report->items[i].detail);
            printf("}");
        }
        printf("],\"balanced\":%s}\n", report->count ? "false" : "true");
        return;
    }
    if (tsv)
        printf("kind\tmerchant_reference\tline\tdetail\n");
    else if (report->count)
        printf("%-18s %-24s %6s  %s\n", "DIFFERENCE", "MERCHANT REFERENCE", "LINE", "DETAIL");
    for (size_t i = 0; i < report->count; i++) {
        const struct difference *item = &report->items[i];
        if (tsv)
            printf("%s\t%s\t%lu\t%s\n", item->kind, item->reference, item->line, item->detail);
        else
            printf("%-18s %-24s %6lu  %s\n", item->kind, item->reference, item->line,
                   item->detail);
    }
    if (!tsv)
        printf("reconcile details: %s (%zu difference%s)\n",
               report->count ? "NOT BALANCED" : "balanced", report->count,
               report->count == 1 ? "" : "s");
}

int reconcile_details_run(struct ctl *ctl, const struct cli_parsed *args)
{
    const char *merchant = cli_option(args, "--merchant"), *date = cli_option(args, "--date");
    const char *path = cli_option(args, "--file"), *format = cli_option(args, "--format");
    if (!merchant || !date || !path)
        return usage_error("reconcile details needs --merchant, --date and --file");
    if (format && strcmp(format, "table") && strcmp(format, "tsv") && strcmp(format, "json"))
        return usage_error("--format must be table, tsv or json");
    FILE *file = fopen(path, "r");
    if (!file)
        return usage_error("cannot open %s", path);
    struct day day = {0};
    struct report report = {0};
    int rc = fl_merchant_day(ctl->client, merchant, date, day_settlement_cb, NULL, &day);
    if (rc == 0 && day_index(&day) != 0)
        report.incomplete = true;
    char *line = NULL;
    size_t capacity = 0;
    unsigned long no = 0;
    while (rc == 0 && !report.incomplete && getline(&line, &capacity, file) >= 0) {
        no++;
        char *text = cli_skip_bom(line, no);
        text[strcspn(text, "\r\n")] = '\0';
        if (!*text || *text == '#' || (no == 1 && strncmp(text, "merchant_reference", 18) == 0))
            continue;
        compare_line(&day, &report, text, no);
    }
    int read_error = rc == 0 && !report.incomplete ? cli_read_error(file) : 0;
    free(line);
    fclose(file);
    if (read_error) {
        fprintf(stderr, "ledgerctl: cannot read %s (%lu lines read): %s: no report, the file "
                "was not compared\n", path, no, strerror(read_error));
        report.incomplete = true;
    }
    for (size_t i = 0; rc == 0 && i < day.count; i++)
        if (!day.rows[i].line)
            report_add(&report, "missing_in_file", day.rows[i].reference, 0,
                       "the ledger has this settlement; the file does not");
    if (rc == 0 && !report.incomplete)
        report_print(ctl, &report, format);
    size_t differences = report.count;
    bool incomplete = report.incomplete;
    free(day.by_reference);
    free(day.rows);
    free(report.items);
    if (rc)
        return ctl_fail(ctl, rc);
    if (read_error)
        return CLI_EXIT_IO;
    if (incomplete) {
        fprintf(stderr, "ledgerctl: out of memory: no report, the file was not compared\n");
        return CLI_EXIT_UNBALANCED;
    }
    return differences ? CLI_EXIT_UNBALANCED : CLI_EXIT_OK;
}
