/* ledgerctl_books.c -- ledgerctl's clearing and books commands (trial balance, merchant
 * balance, clearing report, payout, recovery) and reversal by merchant reference. */
#include "ledgerctl.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const class_names[FL_ACCOUNT_CLASSES + 1] = {
    [FL_CLASS_PERSONAL] = "personal",
    [FL_CLASS_FUND] = "fund",
    [FL_CLASS_MERCHANT_PAYABLE] = "merchant_payable",
    [FL_CLASS_CASH_REFUND_DUE] = "cash_refund_due",
    [FL_CLASS_CLEARING] = "clearing",
    [FL_CLASS_WALLET] = "wallet",
    [FL_CLASS_WALLET_PENDING] = "wallet_pending",
};

const char *books_class_name(fl_account_class account_class)
{
    return account_class >= FL_CLASS_PERSONAL && account_class <= FL_ACCOUNT_CLASSES
               ? class_names[account_class]
               : "unknown";
}

int trial_balance_run(struct ctl *ctl, const struct cli_parsed *args)
{
    (void)args;
    fl_books_totals totals;
    int rc = fl_trial_balance(ctl->client, &totals);
    if (rc)
        return ctl_fail(ctl, rc);
    char money[FL_MONEY_TEXT_MAX];
    if (ctl->json) {
        printf("{\"classes\":[");
        for (int i = 1; i <= FL_ACCOUNT_CLASSES; i++)
            printf("%s{\"class\":\"%s\",\"total_fen\":%" PRId64 "}", i > 1 ? "," : "",
                   class_names[i], totals.class_total_fen[i]);
        printf("],\"total_fen\":%" PRId64 "}\n", totals.total_fen);
        return 0;
    }
    for (int i = 1; i <= FL_ACCOUNT_CLASSES; i++)
        printf("%-18s %16s\n", class_names[i], fl_money_format(totals.class_total_fen[i], money));
    printf("%-18s %16s\n", "total", fl_money_format(totals.total_fen, money));
    return 0;
}

int merchant_balance_run(struct ctl *ctl, const struct cli_parsed *args)
{
    fl_merchant_books books;
    int rc = fl_merchant_balance(ctl->client, args->positionals[0], &books);
    if (rc)
        return ctl_fail(ctl, rc);
    char a[FL_MONEY_TEXT_MAX], b[FL_MONEY_TEXT_MAX], c[FL_MONEY_TEXT_MAX], d[FL_MONEY_TEXT_MAX];
    if (ctl->json) {
        printf("{\"code\":");
        json_string_write(stdout, books.code);
        printf(",\"payable_fen\":%" PRId64 ",\"settled_fen\":%" PRId64 ",\"refunded_fen\":%" PRId64
               ",\"paid_out_fen\":%" PRId64 "}\n",
               books.payable_fen, books.settled_fen, books.refunded_fen, books.paid_out_fen);
        return 0;
    }
    printf("merchant     %s\nowed         %s\nsettled      %s\nrefunded     %s\npaid out     %s\n",
           books.code, fl_money_format(books.payable_fen, a), fl_money_format(books.settled_fen, b),
           fl_money_format(books.refunded_fen, c), fl_money_format(books.paid_out_fen, d));
    /* Refunds after a payout: the merchant owes the fund, which a recovery (追回) records. */
    if (books.payable_fen < 0 && books.payable_fen != INT64_MIN)
        printf("%s owes the fund %s: the next clearing nets it, or ledgerctl recover --merchant "
               "%s AMOUNT --ref REF records it paid back\n",
               books.code, fl_money_format(-books.payable_fen, a), books.code);
    return 0;
}

int clearing_run(struct ctl *ctl, const struct cli_parsed *args)
{
    const char *merchant = cli_option(args, "--merchant"), *from = cli_option(args, "--from");
    const char *to = cli_option(args, "--to");
    if (!merchant || !from || !to)
        return usage_error("clearing needs --merchant CODE --from DATE --to DATE");
    static fl_clearing clearing;
    int rc = fl_clearing_report(ctl->client, merchant, from, to, &clearing);
    if (rc)
        return ctl_fail(ctl, rc);
    char a[FL_MONEY_TEXT_MAX], b[FL_MONEY_TEXT_MAX], c[FL_MONEY_TEXT_MAX], d[FL_MONEY_TEXT_MAX];
    if (ctl->json) {
        printf("{\"merchant\":");
        json_string_write(stdout, clearing.merchant_code);
        printf(",\"from\":\"%s\",\"to\":\"%s\",\"opening_owed_fen\":%" PRId64 ",\"days\":[", from,
               to, clearing.opening_owed_fen);
        for (size_t i = 0; i < clearing.day_count; i++) {
            const fl_clearing_day *day = &clearing.days[i];
            printf("%s{\"date\":\"%s\",\"settled_fen\":%" PRId64 ",\"refunded_fen\":%" PRId64
                   ",\"paid_out_fen\":%" PRId64 ",\"owed_fen\":%" PRId64 "}",
                   i ? "," : "", day->date, day->settled_fen, day->refunded_fen,
                   day->paid_out_fen, day->owed_fen);
        }
        printf("],\"closing_owed_fen\":%" PRId64 "}\n", clearing.closing_owed_fen);
        return 0;
    }
    /* Tab-separated, with a header: what a finance office files (and a spreadsheet opens). */
    printf("# clearing of merchant %s, %s to %s; owed at the start: %s\n", clearing.merchant_code,
           from, to, fl_money_format(clearing.opening_owed_fen, a));
    printf("date\tsettled\trefunded\tpaid_out\towed\n");
    for (size_t i = 0; i < clearing.day_count; i++) {
        const fl_clearing_day *day = &clearing.days[i];
        printf("%s\t%s\t%s\t%s\t%s\n", day->date, fl_money_format(day->settled_fen, a),
               fl_money_format(day->refunded_fen, b), fl_money_format(day->paid_out_fen, c),
               fl_money_format(day->owed_fen, d));
    }
    printf("# owed at the end: %s\n", fl_money_format(clearing.closing_owed_fen, a));
    return 0;
}

/* A payout's or a recovery's record as --json prints it. */
static void payout_json_write(const fl_payout *payout)
{
    const char *payee = *payout->merchant_code ? payout->merchant_code : payout->person_no;
    printf("{\"seq\":%" PRIu64 ",\"%s\":", payout->seq,
           *payout->merchant_code ? "merchant" : "person");
    json_string_write(stdout, payee);
    printf(",\"amount_fen\":%" PRId64 ",\"owed_after_fen\":%" PRId64 ",\"region\":\"%s\","
           "\"reference\":",
           payout->amount_fen, payout->owed_after_fen, payout->region);
    json_string_write(stdout, payout->reference);
    printf(",\"replayed\":%s}\n", payout->replayed ? "true" : "false");
}

int payout_run(struct ctl *ctl, const struct cli_parsed *args)
{
    const char *merchant = cli_option(args, "--merchant"), *person = cli_option(args, "--person");
    const char *reference = cli_option(args, "--ref");
    if (!reference || (merchant == NULL) == (person == NULL))
        return usage_error("payout needs --merchant CODE or --person PERSON_NO, and --ref REF");
    int64_t amount_fen;
    if (parse_amount(args->positionals[0], &amount_fen))
        return CLI_EXIT_USAGE;
    fl_payout payout;
    int rc = fl_payout_make(ctl->client, merchant, person, amount_fen, reference, &payout);
    if (rc)
        return ctl_fail(ctl, rc);
    if (ctl->json) {
        payout_json_write(&payout);
        return 0;
    }
    char a[FL_MONEY_TEXT_MAX], b[FL_MONEY_TEXT_MAX];
    const char *payee = *payout.merchant_code ? payout.merchant_code : payout.person_no;
    printf("payout %" PRIu64 ": the fund of %s paid %s %s; still owed %s%s\n", payout.seq,
           payout.region, payee, fl_money_format(payout.amount_fen, a),
           fl_money_format(payout.owed_after_fen, b),
           payout.replayed ? " (replayed: already recorded, nothing moved again)" : "");
    return 0;
}

int recover_run(struct ctl *ctl, const struct cli_parsed *args)
{
    const char *merchant = cli_option(args, "--merchant"), *reference = cli_option(args, "--ref");
    if (!merchant || !reference)
        return usage_error("recover needs --merchant CODE and --ref REF");
    int64_t amount_fen;
    if (parse_amount(args->positionals[0], &amount_fen))
        return CLI_EXIT_USAGE;
    fl_payout recovery;
    int rc = fl_recover(ctl->client, merchant, amount_fen, reference, &recovery);
    if (rc)
        return ctl_fail(ctl, rc);
    if (ctl->json) {
        payout_json_write(&recovery);
        return 0;
    }
    /* What it still owes is what the fund is owed: minus owed_after_fen, which a daemon never
     * leaves above zero (nor at INT64_MIN, which has no negative). */
    int64_t owes = recovery.owed_after_fen < 0 && recovery.owed_after_fen != INT64_MIN
                       ? -recovery.owed_after_fen
                       : 0;
    char a[FL_MONEY_TEXT_MAX], b[FL_MONEY_TEXT_MAX];
    printf("recovery %" PRIu64 ": %s paid %s back to the fund of %s; still owes %s%s\n",
           recovery.seq, recovery.merchant_code, fl_money_format(recovery.amount_fen, a),
           recovery.region, fl_money_format(owes, b),
           recovery.replayed ? " (replayed: already recorded, nothing moved again)" : "");
    return 0;
}

int reverse_run(struct ctl *ctl, const struct cli_parsed *args)
{
    const char *merchant = cli_option(args, "--merchant"), *reference = cli_option(args, "--ref");
    if (!merchant || !reference)
        return usage_error("reverse needs --merchant CODE --ref REF");
    static fl_reversal reversal;
    int rc = fl_reverse(ctl->client, merchant, reference, &reversal);
    if (rc)
        return ctl_fail(ctl, rc);
    char a[FL_MONEY_TEXT_MAX];
    int64_t returned = reversal.money_returned ? reversal.refund.amount_fen : 0;
    if (ctl->json) {
        printf("{\"seq\":%" PRIu64 ",\"settlement_found\":%s,\"settlement_id\":%" PRIu64
               ",\"returned_fen\":%" PRId64 ",\"replayed\":%s}\n",
               reversal.seq, reversal.settlement_found ? "true" : "false",
               reversal.settlement.settlement_id, returned,
               reversal.replayed ? "true" : "false");
        return 0;
    }
    if (reversal.settlement_found)
        printf("reversal %" PRIu64 ": settlement %" PRIu64 " of %s is cancelled; %s back to the "
               "accounts%s\n", reversal.seq, reversal.settlement.settlement_id, reference,
               fl_money_format(returned, a), reversal.replayed ? " (replayed)" : "");
    else
        printf("reversal %" PRIu64 ": no settlement %s had arrived; if it arrives it is refused "
               "(REVERSED)%s\n", reversal.seq, reference, reversal.replayed ? " (replayed)" : "");
    return 0;
}

/* ---- the questions families and pharmacies ask ---- */

struct listing {
    const struct ctl *ctl;
    size_t count;
};

static void settlement_header(const struct listing *listing)
{
    if (listing->ctl->json)
        printf("{\"settlements\":[");
    else
        printf("%-10s %-*s %-12s %-16s %-12s %12s %12s %12s\n", "ID", CLI_TIME_COLUMN, "TIME",
               "MERCHANT", "REFERENCE", "PATIENT", "AMOUNT", "ACCOUNTS", "REFUNDED");
}

static int settlement_row_cb(const fl_settlement *s, void *context)
{
    struct listing *listing = context;
    char time_text[CLI_TIME_TEXT_MAX];
    char a[FL_MONEY_TEXT_MAX], b[FL_MONEY_TEXT_MAX], c[FL_MONEY_TEXT_MAX];
    cli_time_text(s->time_us, time_text);
    if (listing->count == 0)
        settlement_header(listing);
    if (listing->ctl->json) {
        printf("%s{\"settlement_id\":%" PRIu64 ",\"time\":\"%s\",\"merchant\":",
               listing->count ? "," : "", s->settlement_id, time_text);
        json_string_write(stdout, s->merchant_code);
        printf(",\"merchant_reference\":");
        json_string_write(stdout, s->merchant_reference);
        printf(",\"patient\":");
        json_string_write(stdout, s->patient);
        printf(",\"amount_fen\":%" PRId64 ",\"acct_pay_fen\":%" PRId64
               ",\"acct_mulaid_pay_fen\":%" PRId64 ",\"cash_pay_fen\":%" PRId64
               ",\"refunded_fen\":%" PRId64 ",\"cancelled\":%s}",
               s->amount_fen, s->acct_pay_fen, s->acct_mulaid_pay_fen, s->cash_pay_fen,
               s->refunded_fen, s->cancelled ? "true" : "false");
    } else {
        printf("%-10" PRIu64 " %-*s %-12s %-16s %-12s %12s %12s %12s%s\n", s->settlement_id,
               CLI_TIME_COLUMN, time_text, s->merchant_code, s->merchant_reference, s->patient,
               fl_money_format(s->amount_fen, a),
               fl_money_format(s->acct_pay_fen + s->acct_mulaid_pay_fen, b),
               fl_money_format(s->refunded_fen, c), s->cancelled ? "  cancelled" : "");
    }
    listing->count++;
    return 0;
}

int settlements_run(struct ctl *ctl, const struct cli_parsed *args)
{
    fl_settlement_query query = {
        .patient = cli_option(args, "--patient"),
        .merchant_code = cli_option(args, "--merchant"),
        .from = cli_option(args, "--from"),
        .to = cli_option(args, "--to"),
    };
    const char *cursor = cli_option(args, "--cursor"), *limit = cli_option(args, "--limit");
    uint64_t number;
    if ((query.patient == NULL) == (query.merchant_code == NULL))
        return usage_error("settlements needs --patient PERSON_NO or --merchant CODE");
    if ((query.merchant_code && (!query.from || !query.to)) || (!query.from != !query.to))
        return usage_error("--from and --to go together; a merchant's settlements need both");
    if (cursor && cli_parse_u64(cursor, 1, UINT64_MAX, &query.cursor))
        return usage_error("'%s' is not a cursor", cursor);
    if (limit && cli_parse_u64(limit, 1, 500, &number))
        return usage_error("--limit must be 1 to 500");
    query.limit = limit ? (uint32_t)number : 0;
    struct listing listing = {ctl, 0};
    uint64_t next_cursor = 0;
    int rc = fl_settlement_list(ctl->client, &query, settlement_row_cb, &listing, &next_cursor);
    if (rc && listing.count == 0)
        return ctl_fail(ctl, rc);
    if (listing.count == 0)
        settlement_header(&listing);
    if (rc) {
        if (ctl->json)
            printf("]}\n");
        return ctl_fail(ctl, rc);
    }
    if (ctl->json)
        printf("],\"next_cursor\":%" PRIu64 "}\n", next_cursor);
    else if (next_cursor)
        printf("(more: add --cursor %" PRIu64 ")\n", next_cursor);
    return 0;
}

int aid_run(struct ctl *ctl, const struct cli_parsed *args)
{
    const char *cursor_text = cli_option(args, "--cursor");
    uint64_t cursor = 0, next_cursor;
    if (cursor_text && cli_parse_u64(cursor_text, 1, UINT64_MAX, &cursor))
        return usage_error("'%s' is not a cursor", cursor_text);
    static fl_aid_line lines[50 * FL_FUNDERS_MAX];
    size_t count;
    int rc = fl_aid(ctl->client, args->positionals[0], cursor, lines,
                    sizeof(lines) / sizeof(lines[0]), &count, &next_cursor);
    if (rc)
        return ctl_fail(ctl, rc);
    char time_text[CLI_TIME_TEXT_MAX], a[FL_MONEY_TEXT_MAX], b[FL_MONEY_TEXT_MAX];
    if (ctl->json)
        printf("{\"person_no\":\"%s\",\"lines\":[", args->positionals[0]);
    else
        printf("%-10s %-*s %-12s %-20s %12s %12s\n", "SETTLEMENT", CLI_TIME_COLUMN, "TIME",
               "MERCHANT", "PAID BY", "AMOUNT", "REFUNDED");
    for (size_t i = 0; i < count; i++) {
        cli_time_text(lines[i].time_us, time_text);
        if (ctl->json) {
            printf("%s{\"settlement_id\":%" PRIu64 ",\"time\":\"%s\",\"merchant\":",
                   i ? "," : "", lines[i].settlement_id, time_text);
            json_string_write(stdout, lines[i].merchant_code);
            printf(",\"holder\":");
            json_string_write(stdout, lines[i].holder);
            printf(",\"amount_fen\":%" PRId64 ",\"refunded_fen\":%" PRId64 "}",
                   lines[i].amount_fen, lines[i].refunded_fen);
        } else {
            printf("%-10" PRIu64 " %-*s %-12s %-20s %12s %12s\n", lines[i].settlement_id,
                   CLI_TIME_COLUMN, time_text, lines[i].merchant_code, lines[i].holder,
                   fl_money_format(lines[i].amount_fen, a),
                   fl_money_format(lines[i].refunded_fen, b));
        }
    }
    if (ctl->json)
        printf("],\"next_cursor\":%" PRIu64 "}\n", next_cursor);
    else if (next_cursor)
        printf("(more: add --cursor %" PRIu64 ")\n", next_cursor);
    return 0;
}
