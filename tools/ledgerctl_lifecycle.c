/* ledgerctl_lifecycle.c -- ledgerctl's refund, lifecycle and allocation-import commands. */
#include "ledgerctl.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- cancel and refund ---- */

static void refund_print(const struct ctl *ctl, const fl_refund *refund,
                         const fl_settlement *settlement)
{
    char a[FL_MONEY_TEXT_MAX], b[FL_MONEY_TEXT_MAX];
    if (ctl->json) {
        printf("{\"refund_id\":%" PRIu64 ",\"settlement_id\":%" PRIu64 ",\"reference\":",
               refund->refund_id, settlement->settlement_id);
        json_string_write(stdout, refund->reference);
        printf(",\"cancel\":%s,\"amount_fen\":%" PRId64 ",\"legs\":[",
               refund->cancel ? "true" : "false", refund->amount_fen);
        for (size_t i = 0; i < refund->leg_count; i++) {
            printf("%s{\"holder\":", i ? "," : "");
            json_string_write(stdout, refund->legs[i].holder);
            printf(",\"amount_fen\":%" PRId64 ",\"balance_after_fen\":%" PRId64
                   ",\"cash_refund_due\":%s}",
                   refund->legs[i].amount_fen, refund->legs[i].balance_after_fen,
                   refund->legs[i].cash_refund_due ? "true" : "false");
        }
        printf("],\"settlement_refunded_fen\":%" PRId64 ",\"settlement_cancelled\":%s,"
               "\"replayed\":%s}\n",
               settlement->refunded_fen, settlement->cancelled ? "true" : "false",
               refund->replayed ? "true" : "false");
        return;
    }
    printf("%s %" PRIu64 " of settlement %" PRIu64 ": %s back to the accounts%s\n",
           refund->cancel ? "cancel" : "refund", refund->refund_id, settlement->settlement_id,
           fl_money_format(refund->amount_fen, a),
           refund->replayed ? " (replayed: already recorded, nothing moved again)" : "");
    for (size_t i = 0; i < refund->leg_count; i++) {
        if (refund->legs[i].cash_refund_due)
            printf("  %-20s %12s  cash refund due: the account is closed\n",
                   refund->legs[i].holder, fl_money_format(refund->legs[i].amount_fen, a));
        else
            printf("  %-20s %12s  balance after %s\n", refund->legs[i].holder,
                   fl_money_format(refund->legs[i].amount_fen, a),
                   fl_money_format(refund->legs[i].balance_after_fen, b));
    }
}

static int refund_common(struct ctl *ctl, const struct cli_parsed *args, bool cancel)
{
    const char *merchant = cli_option(args, "--merchant"), *reference = cli_option(args, "--ref");
    const char *id_text = cli_option(args, "--settlement");
    const char *amount_text = cli_option(args, "--amount");
    uint64_t id;
    int64_t amount_fen = 0;
    if (!merchant || !reference || !id_text || (!cancel && !amount_text))
        return usage_error("%s needs --merchant, --ref, --settlement%s", cancel ? "cancel"
                           : "refund", cancel ? "" : " and --amount");
    if (cli_parse_u64(id_text, 1, UINT64_MAX, &id))
        return usage_error("'%s' is not a settlement id", id_text);
    if (!cancel && parse_amount(amount_text, &amount_fen))
        return CLI_EXIT_USAGE;
    static fl_refund refund;
    static fl_settlement settlement;
    int rc = cancel ? fl_cancel(ctl->client, merchant, reference, id, &refund, &settlement)
                    : fl_refund_make(ctl->client, merchant, reference, id, amount_fen, &refund,
                                     &settlement);
    if (rc)
        return ctl_fail(ctl, rc);
    refund_print(ctl, &refund, &settlement);
    return 0;
}

int cancel_run(struct ctl *ctl, const struct cli_parsed *args)
{
    return refund_common(ctl, args, true);
}

int refund_run(struct ctl *ctl, const struct cli_parsed *args)
{
    return refund_common(ctl, args, false);
}

/* ---- freezes and suspensions ---- */

static int freeze_common(struct ctl *ctl, const struct cli_parsed *args, bool frozen)
{
    const char *reason = cli_option(args, "--reason");
    if (frozen && !reason)
        return usage_error("account freeze needs --reason TEXT");
    fl_account account;
    int rc = fl_account_freeze(ctl->client, args->positionals[0], frozen, reason, &account);
    if (rc)
        return ctl_fail(ctl, rc);
    if (ctl->json)
        printf("{\"person_no\":\"%s\",\"status\":\"%s\"}\n", account.person_no,
               account.status == FL_ACCOUNT_FROZEN ? "frozen" : "open");
    else
        printf("the account of %s is %s\n", account.person_no,
               account.status == FL_ACCOUNT_FROZEN ? "frozen" : "open");
    return 0;
}

int account_freeze_run(struct ctl *ctl, const struct cli_parsed *args)
{
    return freeze_common(ctl, args, true);
}

int account_unfreeze_run(struct ctl *ctl, const struct cli_parsed *args)
{
    return freeze_common(ctl, args, false);
}

static int suspend_common(struct ctl *ctl, const struct cli_parsed *args, bool suspended)
{
    const char *reason = cli_option(args, "--reason");
    if (suspended && !reason)
        return usage_error("person suspend needs --reason TEXT");
    int rc = fl_person_suspend(ctl->client, args->positionals[0], suspended, reason, NULL);
    if (rc)
        return ctl_fail(ctl, rc);
    if (ctl->json)
        printf("{\"person_no\":\"%s\",\"suspended\":%s}\n", args->positionals[0],
               suspended ? "true" : "false");
    else
        printf("networked settlement of %s is %s\n", args->positionals[0],
               suspended ? "suspended" : "resumed");
    return 0;
}

int person_suspend_run(struct ctl *ctl, const struct cli_parsed *args)
{
    return suspend_common(ctl, args, true);
}

int person_resume_run(struct ctl *ctl, const struct cli_parsed *args)
{
    return suspend_common(ctl, args, false);
}

int person_deceased_run(struct ctl *ctl, const struct cli_parsed *args)
{
    const char *evidence = cli_option(args, "--evidence");
    if (!evidence)
        return usage_error("person deceased needs --evidence REF (the death certificate number)");
    fl_person person;
    int rc = fl_person_deceased(ctl->client, args->positionals[0], evidence, &person);
    if (rc)
        return ctl_fail(ctl, rc);
    if (ctl->json)
        printf("{\"person_no\":\"%s\",\"status\":\"deceased\"}\n", person.person_no);
    else
        printf("%s is recorded as deceased; no binding pays for them any more\n",
               person.person_no);
    return 0;
}

/* ---- withdrawals and transfers ---- */

/* A movement as the daemon answered it; `wallet_fen` what the person's wallet gave with it. */
static int movement_print(struct ctl *ctl, int rc, const fl_movement *movement,
                          int64_t wallet_fen)
{
    if (rc)
        return ctl_fail(ctl, rc);
    char a[FL_MONEY_TEXT_MAX], b[FL_MONEY_TEXT_MAX];
    if (ctl->json) {
        printf("{\"seq\":%" PRIu64 ",\"person_no\":\"%s\",\"kind\":\"%s\",\"reason\":\"%s\","
               "\"amount_fen\":%" PRId64 ",\"wallet_fen\":%" PRId64
               ",\"balance_after_fen\":%" PRId64
               ",\"account_closed\":%s,\"bindings_ended\":%u,\"reference\":",
               movement->seq, movement->person_no, movement->kind,
               movement->reason ? fl_withdrawal_reason_name(movement->reason) : "",
               movement->amount_fen, wallet_fen, movement->balance_after_fen,
               movement->account_closed ? "true" : "false", movement->bindings_ended);
        json_string_write(stdout, movement->reference);
        printf(",\"replayed\":%s}\n", movement->replayed ? "true" : "false");
        return 0;
    }
    printf("%s of %s for %s (seq %" PRIu64 "); balance %s%s%s\n", movement->kind,
           fl_money_format(movement->amount_fen, a), movement->person_no, movement->seq,
           fl_money_format(movement->balance_after_fen, b),
           movement->account_closed ? "; the account is closed" : "",
           movement->replayed ? " (replayed: already recorded)" : "");
    if (wallet_fen)
        printf("and %s from the wallet of %s, paid out with it\n", fl_money_format(wallet_fen, a),
               movement->person_no);
    /* A transfer-in that leaves the account closed: its person died while the money was on its
     * way, and it is owed to the heirs in cash (fl_transfer_in_linked). */
    if (strcmp(movement->kind, "transfer_in") == 0 && movement->account_closed)
        printf("%s is deceased: the %s is owed in cash to the heirs (ledgerctl payout --person "
               "%s)\n", movement->person_no, fl_money_format(movement->amount_fen, a),
               movement->person_no);
    if (movement->bindings_ended)
        printf("%u family binding(s) it funded have ended\n", movement->bindings_ended);
    return 0;
}

int withdraw_run(struct ctl *ctl, const struct cli_parsed *args)
{
    const char *reason_text = cli_option(args, "--reason"), *reference = cli_option(args, "--ref");
    const char *amount_text = cli_option(args, "--amount");
    fl_withdrawal_reason reason;
    int64_t amount_fen = 0;
    if (!reason_text || fl_withdrawal_reason_parse(reason_text, &reason) != 0)
        return usage_error("--reason must be long-term-elsewhere, major-disease, opt-out, death, "
                           "emigration or transfer-not-accepted");
    if (!reference)
        return usage_error("withdraw needs --ref REF, which makes a retry safe");
    if (amount_text && parse_amount(amount_text, &amount_fen))
        return CLI_EXIT_USAGE;
    fl_movement movement;
    int64_t wallet_fen = 0;
    int rc = fl_withdraw_wallet(ctl->client, args->positionals[0], reason, reference, amount_fen,
                                cli_option(args, "--disease"), cli_option(args, "--heir"),
                                &movement, &wallet_fen);
    return movement_print(ctl, rc, &movement, wallet_fen);
}

int transfer_out_run(struct ctl *ctl, const struct cli_parsed *args)
{
    const char *region = cli_option(args, "--to-region"), *reference = cli_option(args, "--ref");
    if (!region || !reference)
        return usage_error("transfer-out needs --to-region ADMDVS and --ref REF");
    fl_movement movement;
    int rc = fl_transfer_out(ctl->client, args->positionals[0], region, reference, &movement);
    return movement_print(ctl, rc, &movement, 0);
}

int transfer_in_run(struct ctl *ctl, const struct cli_parsed *args)
{
    const char *region = cli_option(args, "--from-region"), *reference = cli_option(args, "--ref");
    const char *link = cli_option(args, "--from-transfer");
    int64_t amount_fen;
    uint64_t out_seq = 0;
    if ((!region && !link) || !reference)
        return usage_error("transfer-in needs --from-region ADMDVS (or --from-transfer SEQ) and "
                           "--ref REF");
    if (link && cli_parse_u64(link, 1, UINT64_MAX, &out_seq))
        return usage_error("'%s' is not the sequence of a transfer-out entry", link);
    /* The transfer-out of an empty account sent 0.00, and its transfer-in carries that. */
    bool empty = link && fl_money_parse(args->positionals[1], &amount_fen) == 0 &&
                 amount_fen == 0;
    if (!empty && parse_amount(args->positionals[1], &amount_fen))
        return CLI_EXIT_USAGE;
    fl_movement movement;
    int rc = fl_transfer_in_linked(ctl->client, args->positionals[0], amount_fen,
                                   region ? region : "", out_seq, cli_option(args, "--to-region"),
                                   reference, &movement);
    return movement_print(ctl, rc, &movement, 0);
}

/* ---- credit import ---- */

struct import {
    struct ctl *ctl;
    const char *path;
    bool progress;
    off_t file_bytes;
    size_t count;
    unsigned long lines[FL_CREDIT_BATCH_MAX];
    char persons[FL_CREDIT_BATCH_MAX][FL_PERSON_NO_MAX + 1];
    char references[FL_CREDIT_BATCH_MAX][FL_REFERENCE_MAX + 1];
    fl_credit_item items[FL_CREDIT_BATCH_MAX];
    fl_credit_outcome outcomes[FL_CREDIT_BATCH_MAX];
    unsigned long applied, already, rejected, rows;
};

static bool period_valid(const char *period)
{
    if (strlen(period) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        if (!isdigit((unsigned char)period[i]))
            return false;
    int month = (period[4] - '0') * 10 + (period[5] - '0');
    return month >= 1 && month <= 12;
}

/* Parse one row into the batch; returns NULL, or why the row is bad. */
static const char *import_row(struct import *import, char *line, unsigned long line_no)
{
    char *fields[4] = {0};
    int count = cli_csv_split(line, fields, 4);
    if (count < 0)
        return CSV_QUOTES_BROKEN;
    if (count != 3)
        return "expected three fields: person,amount,period";
    const char *person = fields[0], *period = fields[2];
    int64_t amount_fen;
    if (!*person || strlen(person) > FL_PERSON_NO_MAX)
        return "the person number must be 1 to 32 characters";
    if (fl_money_parse(fields[1], &amount_fen) != 0 || amount_fen <= 0)
        return "the amount must be positive yuan with at most two decimals";
    if (!period_valid(period))
        return "the period must be YYYYMM";
    size_t i = import->count++;
    import->lines[i] = line_no;
    strcpy(import->persons[i], person);
    /* One allocation per person and period: re-running a file applies nothing twice. */
    snprintf(import->references[i], sizeof(import->references[i]), "alloc-%s-%s", period,
             person);
    import->items[i] = (fl_credit_item){import->persons[i], amount_fen, FL_CREDIT_ALLOCATION,
                                        import->references[i]};
    return NULL;
}

static int import_flush(struct import *import, off_t position)
{
    if (import->count == 0)
        return 0;
    int rc = fl_credit_batch(import->ctl->client, import->items, import->count, import->outcomes);
    if (rc)
        return rc;
    for (size_t i = 0; i < import->count; i++) {
        const fl_credit_outcome *outcome = &import->outcomes[i];
        if (outcome->status == 0 && outcome->replayed) {
            import->already++;
        } else if (outcome->status == 0) {
            import->applied++;
        } else {
            import->rejected++;
            fprintf(stderr, "%s%s:%lu: %s: %s\n", import->progress ? "\r\033[K" : "",
                    import->path, import->lines[i], fl_status_name(outcome->status),
                    outcome->error);
        }
    }
    import->count = 0;
    if (import->progress)
        cli_progress(position, import->file_bytes, import->rows, -1);
    return 0;
}

static void import_summary(const struct import *import)
{
    if (import->progress)
        fprintf(stderr, "\r\033[K");
    if (import->ctl->json)
        printf("{\"rows\":%lu,\"applied\":%lu,\"already_applied\":%lu,\"rejected\":%lu}\n",
               import->rows, import->applied, import->already, import->rejected);
    else
        printf("%lu rows: %lu applied, %lu already applied, %lu rejected\n", import->rows,
               import->applied, import->already, import->rejected);
}

int credit_import_run(struct ctl *ctl, const struct cli_parsed *args)
{
    static struct import import;
    memset(&import, 0, sizeof(import));
    import.ctl = ctl;
    import.path = args->positionals[0];
    FILE *file = fopen(import.path, "r");
    if (!file)
        return usage_error("cannot open %s", import.path);
    struct stat info;
    import.file_bytes = fstat(fileno(file), &info) == 0 ? info.st_size : 0;
    import.progress = isatty(STDERR_FILENO) && !ctl->json;
    char *line = NULL;
    size_t capacity = 0;
    unsigned long line_no = 0;
    int rc = 0;
    while (rc == 0 && getline(&line, &capacity, file) >= 0) {
        line_no++;
        char *text = cli_csv_line(line, line_no);
        if (!*text || *text == '#' || (line_no == 1 && strncmp(text, "person", 6) == 0))
            continue;
        import.rows++;
        const char *why = import_row(&import, text, line_no);
        if (why) {
            import.rejected++;
            fprintf(stderr, "%s%s:%lu: %s\n", import.progress ? "\r\033[K" : "", import.path,
                    line_no, why);
        }
        if (import.count == FL_CREDIT_BATCH_MAX)
            rc = import_flush(&import, ftello(file));
    }
    int read_error = cli_read_error(file);
    if (rc == 0)
        rc = import_flush(&import, ftello(file));
    free(line);
    fclose(file);
    if (rc)
        return ctl_fail(ctl, rc);
    if (read_error)
        return cli_read_failed(import.path, line_no, read_error);
    import_summary(&import);
    return import.rejected ? CLI_EXIT_REJECTED : CLI_EXIT_OK;
}
