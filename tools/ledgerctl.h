/* ledgerctl.h -- what ledgerctl's command files share. */
#ifndef FAMLEDGER_LEDGERCTL_H
#define FAMLEDGER_LEDGERCTL_H

#include "cli.h"
#include "famledger.h"

struct ctl {
    fl_client *client;
    bool json;
    const char *socket_path; /* to connect again (tail --follow across a restart) */
    int timeout_ms;
};

/* Print the client's last error and return the exit code for `status`. */
int ctl_fail(struct ctl *ctl, int status);
/* Print a usage complaint and return CLI_EXIT_USAGE. */
int usage_error(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* Parse a positive yuan amount; returns 0, or CLI_EXIT_USAGE after complaining. */
int parse_amount(const char *text, int64_t *fen);

#define SETTLE_USAGE                                                                              \
    "--merchant CODE --ref REF --patient PERSON_NO --amount YUAN [--category CATEGORY] "          \
    "[--no-account] [--all-or-nothing] [--hold SECONDS (quote) | --hold HOLD_ID (settle)]"
#define SETTLE_OPTIONS                                                                            \
    {"--merchant", true}, {"--ref", true}, {"--patient", true}, {"--amount", true},               \
        {"--category", true}, {"--no-account", false}, {"--all-or-nothing", false},           \
        {"--hold", true}

/* A page of a statement, an account's or a wallet's, as its options ask for it. */
#define STATEMENT_USAGE "PERSON_NO [--limit N] [--before SEQ | --cursor SEQ] [--oldest-first]"
#define STATEMENT_OPTIONS                                                                         \
    {"--limit", true}, {"--before", true}, {"--cursor", true}, {"--oldest-first", false}
struct statement_page {
    uint64_t limit, cursor;
    bool oldest_first;
};
/* 0, or CLI_EXIT_USAGE after complaining. */
int statement_options(const struct cli_parsed *args, struct statement_page *page);

void settlement_print(const struct ctl *ctl, const fl_settlement *settlement);
void settlement_print_text(const fl_settlement *settlement);
void hold_print(const struct ctl *ctl, const fl_hold *hold);
int wallet_send_run(struct ctl *ctl, const struct cli_parsed *args);
int wallet_accept_run(struct ctl *ctl, const struct cli_parsed *args);
int wallet_decline_run(struct ctl *ctl, const struct cli_parsed *args);
int wallet_show_run(struct ctl *ctl, const struct cli_parsed *args);
int wallet_statement_run(struct ctl *ctl, const struct cli_parsed *args);
int hold_release_run(struct ctl *ctl, const struct cli_parsed *args);
int emergency_claim_run(struct ctl *ctl, const struct cli_parsed *args);
int emergency_return_run(struct ctl *ctl, const struct cli_parsed *args);
int emergency_reject_run(struct ctl *ctl, const struct cli_parsed *args);
int emergency_list_run(struct ctl *ctl, const struct cli_parsed *args);
int calendar_set_run(struct ctl *ctl, const struct cli_parsed *args);
int calendar_show_run(struct ctl *ctl, const struct cli_parsed *args);
int family_limit_run(struct ctl *ctl, const struct cli_parsed *args);
int tail_run(struct ctl *ctl, const struct cli_parsed *args);
int family_bind_run(struct ctl *ctl, const struct cli_parsed *args);
int family_unbind_run(struct ctl *ctl, const struct cli_parsed *args);
int family_list_run(struct ctl *ctl, const struct cli_parsed *args);
int family_order_run(struct ctl *ctl, const struct cli_parsed *args);
int merchant_add_run(struct ctl *ctl, const struct cli_parsed *args);
int merchant_list_run(struct ctl *ctl, const struct cli_parsed *args);
int merchant_suspend_run(struct ctl *ctl, const struct cli_parsed *args);
int merchant_resume_run(struct ctl *ctl, const struct cli_parsed *args);
int quote_run(struct ctl *ctl, const struct cli_parsed *args);
int settle_run(struct ctl *ctl, const struct cli_parsed *args);
int settlement_show_run(struct ctl *ctl, const struct cli_parsed *args);
int cancel_run(struct ctl *ctl, const struct cli_parsed *args);
int refund_run(struct ctl *ctl, const struct cli_parsed *args);
int account_freeze_run(struct ctl *ctl, const struct cli_parsed *args);
int account_unfreeze_run(struct ctl *ctl, const struct cli_parsed *args);
int person_suspend_run(struct ctl *ctl, const struct cli_parsed *args);
int person_resume_run(struct ctl *ctl, const struct cli_parsed *args);
int person_deceased_run(struct ctl *ctl, const struct cli_parsed *args);
int withdraw_run(struct ctl *ctl, const struct cli_parsed *args);
int transfer_out_run(struct ctl *ctl, const struct cli_parsed *args);
int transfer_in_run(struct ctl *ctl, const struct cli_parsed *args);
int credit_import_run(struct ctl *ctl, const struct cli_parsed *args);
int migrate_run(struct ctl *ctl, const struct cli_parsed *args);
int verify_run(struct ctl *ctl, const struct cli_parsed *args);
int export_run(struct ctl *ctl, const struct cli_parsed *args);
int reconcile_totals_run(struct ctl *ctl, const struct cli_parsed *args);
int reconcile_details_run(struct ctl *ctl, const struct cli_parsed *args);
int reverse_run(struct ctl *ctl, const struct cli_parsed *args);
int payout_run(struct ctl *ctl, const struct cli_parsed *args);
int recover_run(struct ctl *ctl, const struct cli_parsed *args);
int clearing_run(struct ctl *ctl, const struct cli_parsed *args);
/* The books' name of an account class ("fund", "merchant_payable", ...). */
const char *books_class_name(fl_account_class account_class);
int trial_balance_run(struct ctl *ctl, const struct cli_parsed *args);
int merchant_balance_run(struct ctl *ctl, const struct cli_parsed *args);
int settlements_run(struct ctl *ctl, const struct cli_parsed *args);
int aid_run(struct ctl *ctl, const struct cli_parsed *args);

#endif
