/* ledgerctl_books.c -- ledgerctl's clearing and books commands (trial balance, merchant
 * balance, clearing report, payout) and reversal by merchant reference. */
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
};

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
        cli_json_string(stdout, books.code);
        printf(",\"payable_fen\":%" PRId64 ",\"settled_fen\":%" PRId64 ",\"refunded_fen\":%" PRId64
               ",\"paid_out_fen\":%" PRId64 "}\n",
               books.payable_fen, books.settled_fen, books.refunded_fen, books.paid_out_fen);
        return 0;
    }
    printf("merchant     %s\nowed         %s\nsettled      %s\nrefunded     %s\npaid out     %s\n",
           books.code, fl_money_format(books.payable_fen, a), fl_money_format(books.settled_fen, b),
           fl_money_format(books.refunded_fen, c), fl_money_format(books.paid_out_fen, d));
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
        cli_json_string(stdout, clearing.merchant_code);
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
    char a[FL_MONEY_TEXT_MAX], b[FL_MONEY_TEXT_MAX];
    const char *payee = *payout.merchant_code ? payout.merchant_code : payout.person_no;
    if (ctl->json) {
        printf("{\"seq\":%" PRIu64 ",\"%s\":", payout.seq,
               *payout.merchant_code ? "merchant" : "person");
        cli_json_string(stdout, payee);
        printf(",\"amount_fen\":%" PRId64 ",\"owed_after_fen\":%" PRId64 ",\"region\":\"%s\","
               "\"reference\":",
               payout.amount_fen, payout.owed_after_fen, payout.region);
        cli_json_string(stdout, payout.reference);
        printf(",\"replayed\":%s}\n", payout.replayed ? "true" : "false");
        return 0;
    }
    printf("payout %" PRIu64 ": the fund of %s paid %s %s; still owed %s%s\n", payout.seq,
           payout.region, payee, fl_money_format(payout.amount_fen, a),
           fl_money_format(payout.owed_after_fen, b),
           payout.replayed ? " (replayed: already recorded, nothing moved again)" : "");
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
