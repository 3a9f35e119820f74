/* ledgerctl_audit.c -- ledgerctl's nightly commands: verify, export, reconcile. */
#include "ledgerctl.h"

#include "entry_check.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- verify ---- */

static void verify_progress_cb(uint64_t done, uint64_t total, void *context)
{
    (void)context;
    int percent = total ? (int)(done * 100 / total) : 100;
    char bar[41];
    memset(bar, '#', (size_t)(percent * 40 / 100));
    memset(bar + percent * 40 / 100, '.', (size_t)(40 - percent * 40 / 100));
    bar[40] = '\0';
    fprintf(stderr, "\r[%s] %3d%%  %" PRIu64 "/%" PRIu64 " entries", bar, percent, done, total);
}

int verify_run(struct ctl *ctl, const struct cli_parsed *args)
{
    bool progress = isatty(STDERR_FILENO) && !ctl->json;
    fl_verify_report report;
    int rc = (cli_option(args, "--walk") ? fl_verify_walk : fl_verify)(
        ctl->client, &report, progress ? verify_progress_cb : NULL, NULL);
    if (progress)
        fprintf(stderr, "\r\033[K");
    if (rc)
        return ctl_fail(ctl, rc);
    char hash[2 * FL_HASH_BYTES + 1], balances[FL_MONEY_TEXT_MAX];
    fl_hash_hex(report.head_hash, hash);
    if (ctl->json) {
        printf("{\"ok\":%s,\"head_seq\":%" PRIu64 ",\"head_hash\":\"%s\",\"entries\":%" PRIu64
               ",\"accounts\":%" PRIu64 ",\"settlements\":%" PRIu64 ",\"balances_fen\":%" PRId64
               ",\"credited_fen\":%" PRId64 ",\"debited_fen\":%" PRId64,
               report.ok ? "true" : "false", report.head_seq, hash, report.entries,
               report.accounts, report.settlements, report.balances_fen, report.credited_fen,
               report.debited_fen);
        if (!report.ok) {
            printf(",\"first_bad_seq\":%" PRIu64 ",\"problem\":", report.first_bad_seq);
            json_string_write(stdout, report.problem);
        }
        printf("}\n");
    } else {
        printf("head      seq %" PRIu64 " hash %s\n", report.head_seq, hash);
        printf("replayed  %" PRIu64 " entries, %" PRIu64 " accounts, %" PRIu64
               " settlements; balances %s\n",
               report.entries, report.accounts, report.settlements,
               fl_money_format(report.balances_fen, balances));
        if (report.ok)
            printf("verify: OK: every hash, balance, status, binding and settlement total "
                   "matches the log\n");
        else
            printf("verify: FAILED at seq %" PRIu64 ": %s\n", report.first_bad_seq,
                   report.problem);
    }
    return report.ok ? CLI_EXIT_OK : CLI_EXIT_VERIFY_FAILED;
}

/* ---- export ---- */

int export_run(struct ctl *ctl, const struct cli_parsed *args)
{
    const char *date = cli_option(args, "--date"), *format_text = cli_option(args, "--format");
    const char *path = cli_option(args, "--out");
    fl_export_format format = FL_EXPORT_CSV;
    char today[11];
    if (!date) { /* the business day now under way */
        cli_today(today);
        date = today;
    }
    if (format_text && strcmp(format_text, "jsonl") == 0)
        format = FL_EXPORT_JSONL;
    else if (format_text && strcmp(format_text, "csv") != 0)
        return usage_error("--format must be csv or jsonl");
    struct cli_report report;
    if (cli_report_open(&report, path) != 0)
        return usage_error("cannot write %s: %s", path, strerror(errno));
    uint64_t count;
    int rc = cli_report_close(&report, fl_export_day(ctl->client, date, format, report.out,
                                                     &count));
    if (rc == CLI_REPORT_UNWRITTEN)
        return CLI_EXIT_IO;
    if (rc == 0 && path)
        fprintf(stderr, "exported %" PRIu64 " entries of %s to %s\n", count, date, path);
    if (rc == 0 && count == 0)
        fprintf(stderr, "ledgerctl: no entries are dated %s (business day in %s)\n", date,
                cli_time_zone());
    return rc ? ctl_fail(ctl, rc) : 0;
}

/* ---- reconcile ---- */

/* Days since 1970-01-01 of a date entry_day_parse accepted. */
static long date_days(const char *date)
{
    struct tm day = {0};
    strptime(date, "%Y-%m-%d", &day);
    return (long)(timegm(&day) / 86400);
}

struct totals {
    int64_t count, amount_fen, acct_pay_fen, acct_mulaid_pay_fen, cash_pay_fen, refunds_fen;
    bool overflow; /* a sum passed INT64_MAX: only damaged records can say that much */
};

/* Add `amount_fen` to `*total_fen`; false (and the walk stops) once a sum would overflow. */
static bool totals_add(struct totals *totals, int64_t *total_fen, int64_t amount_fen)
{
    totals->overflow = totals->overflow || __builtin_add_overflow(*total_fen, amount_fen,
                                                                  total_fen);
    return !totals->overflow;
}

static int totals_settlement_cb(const fl_settlement *settlement, void *context)
{
    struct totals *totals = context;
    totals->count++;
    return totals_add(totals, &totals->amount_fen, settlement->amount_fen) &&
                   totals_add(totals, &totals->acct_pay_fen, settlement->acct_pay_fen) &&
                   totals_add(totals, &totals->acct_mulaid_pay_fen,
                              settlement->acct_mulaid_pay_fen) &&
                   totals_add(totals, &totals->cash_pay_fen, settlement->cash_pay_fen)
               ? 0
               : 1;
}

static int totals_refund_cb(const fl_refund *refund, uint64_t settlement_id, void *context)
{
    (void)settlement_id;
    struct totals *totals = context;
    return totals_add(totals, &totals->refunds_fen, refund->amount_fen) ? 0 : 1;
}

int reconcile_totals_run(struct ctl *ctl, const struct cli_parsed *args)
{
    const char *merchant = cli_option(args, "--merchant"), *from = cli_option(args, "--from");
    const char *to = cli_option(args, "--to");
    if (!merchant || !from || !to)
        return usage_error("reconcile totals needs --merchant, --from and --to");
    char day[9];
    if (!entry_day_parse(from, day) || !entry_day_parse(to, day) || strcmp(from, to) > 0)
        return usage_error("--from and --to must be dates YYYY-MM-DD, from not after to");
    /* As the clearing report: a longer range is several runs, never one cut short. */
    if (date_days(to) - date_days(from) >= FL_CLEARING_DAYS_MAX)
        return usage_error("--from and --to span at most %d days", FL_CLEARING_DAYS_MAX);
    struct totals totals = {0};
    char date[11];
    snprintf(date, sizeof(date), "%s", from);
    while (strcmp(date, to) <= 0) {
        int rc = fl_merchant_day(ctl->client, merchant, date, totals_settlement_cb,
                                 totals_refund_cb, &totals);
        if (rc)
            return ctl_fail(ctl, rc);
        if (totals.overflow) {
            fprintf(stderr, "ledgerctl: the ledger's settlements of %s on %s sum past the "
                    "largest amount: a stored settlement is damaged (ledgerctl verify names "
                    "it)\n", merchant, date);
            return CLI_EXIT_REJECTED;
        }
        cli_date_next(date, date);
    }
    const struct {
        const char *name, *option;
        int64_t ledger;
        bool money;
    } figures[] = {
        {"count", "--count", totals.count, false},
        {"amount", "--amount", totals.amount_fen, true},
        {"acct_pay", "--acct-pay", totals.acct_pay_fen, true},
        {"acct_mulaid_pay", "--acct-mulaid-pay", totals.acct_mulaid_pay_fen, true},
        {"cash_pay", "--cash-pay", totals.cash_pay_fen, true},
        {"refunds", "--refunds", totals.refunds_fen, true},
    };
    bool given = false, balanced = true;
    if (ctl->json)
        printf("{\"merchant\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"figures\":[", merchant, from,
               to);
    else
        printf("%-16s %16s %16s  %s\n", "FIGURE", "LEDGER", "MERCHANT", "RESULT");
    for (size_t i = 0; i < sizeof(figures) / sizeof(figures[0]); i++) {
        const char *text = cli_option(args, figures[i].option);
        int64_t theirs = 0;
        uint64_t count;
        if (text && (figures[i].money ? fl_money_parse(text, &theirs)
                                      : cli_parse_u64(text, 0, INT64_MAX, &count)))
            return usage_error("%s: '%s' is not a valid figure", figures[i].option, text);
        if (text && !figures[i].money)
            theirs = (int64_t)count;
        bool same = !text || theirs == figures[i].ledger;
        given |= text != NULL;
        balanced &= same;
        char ours_text[FL_MONEY_TEXT_MAX], theirs_text[FL_MONEY_TEXT_MAX];
        if (figures[i].money) {
            fl_money_format(figures[i].ledger, ours_text);
            fl_money_format(theirs, theirs_text);
        } else {
            snprintf(ours_text, sizeof(ours_text), "%" PRId64, figures[i].ledger);
            snprintf(theirs_text, sizeof(theirs_text), "%" PRId64, theirs);
        }
        if (ctl->json)
            printf("%s{\"figure\":\"%s\",\"ledger%s\":%" PRId64 "%s%s}", i ? "," : "",
                   figures[i].name, figures[i].money ? "_fen" : "", figures[i].ledger,
                   text ? ",\"balanced\":" : "", text ? (same ? "true" : "false") : "");
        else
            printf("%-16s %16s %16s  %s\n", figures[i].name, ours_text, text ? theirs_text : "-",
                   !text ? "" : same ? "balanced" : "NOT BALANCED");
    }
    if (ctl->json)
        printf("],\"balanced\":%s}\n", given ? (balanced ? "true" : "false") : "null");
    else if (given)
        printf("reconcile totals: %s\n", balanced ? "balanced" : "NOT BALANCED");
    return balanced ? CLI_EXIT_OK : CLI_EXIT_UNBALANCED;
}
