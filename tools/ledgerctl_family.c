/* ledgerctl_family.c -- ledgerctl's family, merchant and settlement commands. */
#include "ledgerctl.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- family ---- */

static void binding_print(const struct ctl *ctl, const fl_binding *binding, bool comma)
{
    if (ctl->json) {
        printf("%s{\"holder\":", comma ? "," : "");
        json_string_write(stdout, binding->holder);
        printf(",\"beneficiary\":");
        json_string_write(stdout, binding->beneficiary);
        printf(",\"relation\":\"%s\",\"bound_seq\":%" PRIu64,
               fl_relation_name(binding->relation), binding->bound_seq);
        /* Present only where a limit is in force: older readers see the object they knew. */
        if (binding->monthly_limit_fen || binding->yearly_limit_fen)
            printf(",\"monthly_limit_fen\":%" PRId64 ",\"yearly_limit_fen\":%" PRId64,
                   binding->monthly_limit_fen, binding->yearly_limit_fen);
        printf("}");
        return;
    }
    printf("%s funds %s (the %s of %s), bound at seq %" PRIu64 "\n", binding->holder,
           binding->beneficiary, fl_relation_name(binding->relation), binding->holder,
           binding->bound_seq);
}

int family_bind_run(struct ctl *ctl, const struct cli_parsed *args)
{
    const char *relation_text = cli_option(args, "--relation");
    fl_relation relation;
    if (!relation_text || fl_relation_parse(relation_text, &relation) != 0)
        return usage_error("--relation must be one of spouse, parent, child, sibling, "
                           "paternal-grandparent, maternal-grandparent, paternal-grandchild, "
                           "maternal-grandchild");
    const char *channel_text = cli_option(args, "--channel");
    fl_bind_channel channel = 0;
    if (channel_text && strcmp(channel_text, "app") == 0)
        channel = FL_BIND_APP;
    else if (channel_text && strcmp(channel_text, "counter") == 0)
        channel = FL_BIND_COUNTER;
    else if (channel_text)
        return usage_error("--channel must be app or counter");
    fl_binding binding;
    int rc = fl_family_bind_evidence(ctl->client, args->positionals[0], args->positionals[1],
                                     relation, cli_option(args, "--evidence"), channel, &binding);
    if (rc)
        return ctl_fail(ctl, rc);
    binding_print(ctl, &binding, false);
    if (ctl->json)
        printf("\n");
    return 0;
}

int family_unbind_run(struct ctl *ctl, const struct cli_parsed *args)
{
    fl_binding binding;
    int rc = fl_family_unbind(ctl->client, args->positionals[0], args->positionals[1], &binding);
    if (rc)
        return ctl_fail(ctl, rc);
    if (ctl->json)
        printf("{\"unbound\":true,\"holder\":\"%s\",\"beneficiary\":\"%s\"}\n", binding.holder,
               binding.beneficiary);
    else
        printf("%s no longer funds %s\n", binding.holder, binding.beneficiary);
    return 0;
}

/* The aid limit in force on a binding, then the end of its line. */
static void limit_print(const fl_binding *binding)
{
    char money[FL_MONEY_TEXT_MAX];
    if (binding->monthly_limit_fen)
        printf("  at most %s a month", fl_money_format(binding->monthly_limit_fen, money));
    if (binding->yearly_limit_fen)
        printf("  at most %s a year", fl_money_format(binding->yearly_limit_fen, money));
    printf("\n");
}

static void family_print(const struct ctl *ctl, const char *person_no, const fl_family *family)
{
    if (ctl->json) {
        printf("{\"person_no\":");
        json_string_write(stdout, person_no);
        printf(",\"funds\":[");
        for (size_t i = 0; i < family->funds_count; i++)
            binding_print(ctl, &family->funds[i], i > 0);
        printf("],\"funding_order\":[");
        for (size_t i = 0; i < family->funded_by_count; i++)
            binding_print(ctl, &family->funded_by[i], i > 0);
        printf("]}\n");
        return;
    }
    printf("%s's account funds:\n", person_no);
    for (size_t i = 0; i < family->funds_count; i++) {
        printf("  %-32s %s", family->funds[i].beneficiary,
               fl_relation_name(family->funds[i].relation));
        limit_print(&family->funds[i]);
    }
    if (family->funds_count == 0)
        printf("  nobody\n");
    printf("%s's funding order: own account (if any), then:\n", person_no);
    for (size_t i = 0; i < family->funded_by_count; i++) {
        printf("  %zu. %-29s (%s is their %s)", i + 1, family->funded_by[i].holder, person_no,
               fl_relation_name(family->funded_by[i].relation));
        limit_print(&family->funded_by[i]);
    }
    if (family->funded_by_count == 0)
        printf("  nobody\n");
}

int family_list_run(struct ctl *ctl, const struct cli_parsed *args)
{
    fl_family family;
    int rc = fl_family_list(ctl->client, args->positionals[0], &family);
    if (rc)
        return ctl_fail(ctl, rc);
    family_print(ctl, args->positionals[0], &family);
    return 0;
}

int family_order_run(struct ctl *ctl, const struct cli_parsed *args)
{
    fl_family family;
    int rc = fl_family_order(ctl->client, args->positionals[0], args->positionals + 1,
                             (size_t)args->positional_count - 1, &family);
    if (rc)
        return ctl_fail(ctl, rc);
    family_print(ctl, args->positionals[0], &family);
    return 0;
}

/* ---- merchants ---- */

static void merchant_print(const struct ctl *ctl, const fl_merchant *merchant, bool comma)
{
    if (ctl->json) {
        printf("%s{\"code\":", comma ? "," : "");
        json_string_write(stdout, merchant->code);
        printf(",\"name\":");
        json_string_write(stdout, merchant->name);
        printf(",\"kind\":\"%s\",\"region\":\"%s\",\"status\":\"%s\",\"added_seq\":%" PRIu64 "}",
               fl_merchant_kind_name(merchant->kind), merchant->region,
               merchant->suspended ? "suspended" : "active", merchant->added_seq);
        return;
    }
    printf("%-20s %-9s %s  %-9s %s\n", merchant->code, fl_merchant_kind_name(merchant->kind),
           merchant->region, merchant->suspended ? "suspended" : "active", merchant->name);
}

int merchant_add_run(struct ctl *ctl, const struct cli_parsed *args)
{
    fl_merchant merchant = {0};
    const char *name = cli_option(args, "--name"), *kind = cli_option(args, "--kind");
    const char *region = cli_option(args, "--region");
    if (!name || !kind || !region)
        return usage_error("merchant add needs --name, --kind and --region");
    if (fl_merchant_kind_parse(kind, &merchant.kind) != 0)
        return usage_error("--kind must be pharmacy, hospital or agency, not '%s'", kind);
    if (strlen(args->positionals[0]) > FL_PERSON_NO_MAX || strlen(name) > FL_NAME_MAX ||
        strlen(region) > FL_REGION_LEN)
        return usage_error("merchant code, name or region too long");
    strcpy(merchant.code, args->positionals[0]);
    strcpy(merchant.name, name);
    strcpy(merchant.region, region);
    fl_merchant added;
    int rc = fl_merchant_add(ctl->client, &merchant, &added);
    if (rc)
        return ctl_fail(ctl, rc);
    merchant_print(ctl, &added, false);
    if (ctl->json)
        printf("\n");
    return 0;
}

int merchant_list_run(struct ctl *ctl, const struct cli_parsed *args)
{
    (void)args;
    static fl_merchant merchants[1000];
    char after[FL_PERSON_NO_MAX + 1] = "";
    size_t count, printed = 0;
    bool more = true;
    /* A province has tens of thousands of designated pharmacies: every page, not the first.
     * A failure on a later page leaves the JSON unclosed: no reader takes it for the list. */
    if (ctl->json)
        printf("{\"merchants\":[");
    while (more) {
        int rc = fl_merchant_list_after(ctl->client, after, merchants,
                                        sizeof(merchants) / sizeof(merchants[0]), &count, &more);
        if (rc)
            return ctl_fail(ctl, rc);
        for (size_t i = 0; i < count; i++)
            merchant_print(ctl, &merchants[i], printed++ > 0);
        if (count > 0)
            snprintf(after, sizeof(after), "%s", merchants[count - 1].code);
    }
    if (ctl->json)
        printf("]}\n");
    return 0;
}

static int merchant_status_run(struct ctl *ctl, const struct cli_parsed *args, bool suspended)
{
    fl_merchant merchant;
    int rc = fl_merchant_set_suspended(ctl->client, args->positionals[0], suspended, &merchant);
    if (rc)
        return ctl_fail(ctl, rc);
    merchant_print(ctl, &merchant, false);
    if (ctl->json)
        printf("\n");
    return 0;
}

int merchant_suspend_run(struct ctl *ctl, const struct cli_parsed *args)
{
    return merchant_status_run(ctl, args, true);
}

int merchant_resume_run(struct ctl *ctl, const struct cli_parsed *args)
{
    return merchant_status_run(ctl, args, false);
}

/* ---- quote, settle, settlement show ---- */

/* `tail` follows the JSON object: "\n", or what closes an object around it. */
static void settlement_print_json(const fl_settlement *s, const char *tail);

void settlement_print(const struct ctl *ctl, const fl_settlement *s)
{
    if (ctl->json) {
        settlement_print_json(s, "\n");
        return;
    }
    settlement_print_text(s);
}

static void settlement_print_json(const fl_settlement *s, const char *tail)
{
    char time_text[CLI_TIME_TEXT_MAX];
    cli_time_text(s->time_us, time_text);
    {
        printf("{\"settlement_id\":%" PRIu64 ",\"merchant\":", s->settlement_id);
        json_string_write(stdout, s->merchant_code);
        printf(",\"merchant_reference\":");
        json_string_write(stdout, s->merchant_reference);
        printf(",\"patient\":");
        json_string_write(stdout, s->patient);
        printf(",\"category\":\"%s\",\"time\":\"%s\",\"amount_fen\":%" PRId64
               ",\"acct_pay_fen\":%" PRId64 ",\"acct_mulaid_pay_fen\":%" PRId64
               ",\"cash_pay_fen\":%" PRId64 ",\"balc_fen\":%" PRId64 ",\"legs\":[",
               fl_category_name(s->category), time_text, s->amount_fen, s->acct_pay_fen,
               s->acct_mulaid_pay_fen, s->cash_pay_fen, s->balc_fen);
        for (size_t i = 0; i < s->leg_count; i++) {
            printf("%s{\"holder\":", i ? "," : "");
            json_string_write(stdout, s->legs[i].holder);
            printf(",\"amount_fen\":%" PRId64 ",\"balance_after_fen\":%" PRId64
                   ",\"mutual_aid\":%s%s}",
                   s->legs[i].amount_fen, s->legs[i].balance_after_fen,
                   s->legs[i].mutual_aid ? "true" : "false",
                   s->legs[i].wallet ? ",\"wallet\":true" : "");
        }
        printf("],\"cancelled\":%s,\"refunded_fen\":%" PRId64 ",\"refunds\":[",
               s->cancelled ? "true" : "false", s->refunded_fen);
        for (size_t i = 0; i < s->refund_count; i++) {
            /* A reference is any printable ASCII, quotes and backslashes included. */
            printf("%s{\"refund_id\":%" PRIu64 ",\"reference\":", i ? "," : "",
                   s->refunds[i].refund_id);
            json_string_write(stdout, s->refunds[i].reference);
            printf(",\"cancel\":%s,\"amount_fen\":%" PRId64 "}",
                   s->refunds[i].cancel ? "true" : "false", s->refunds[i].amount_fen);
        }
        if (s->hold_id)
            printf("],\"hold_id\":%" PRIu64, s->hold_id);
        printf("%s,\"replayed\":%s}%s", s->hold_id ? "" : "]", s->replayed ? "true" : "false",
               tail);
    }
}

void settlement_print_text(const fl_settlement *s)
{
    char a[FL_MONEY_TEXT_MAX], b[FL_MONEY_TEXT_MAX], c[FL_MONEY_TEXT_MAX], d[FL_MONEY_TEXT_MAX];
    if (s->settlement_id)
        printf("settlement       %" PRIu64 "%s\n", s->settlement_id,
               s->replayed ? " (replayed: already settled, nothing moved again)" : "");
    else
        printf("quote            (nothing written)\n");
    printf("merchant         %s ref %s\npatient          %s\ncategory         %s\n"
           "amount           %s\n",
           s->merchant_code, s->merchant_reference, s->patient, fl_category_name(s->category),
           fl_money_format(s->amount_fen, a));
    printf("acct_pay         %s\nacct_mulaid_pay  %s\ncash_pay         %s\nbalc             %s\n",
           fl_money_format(s->acct_pay_fen, a), fl_money_format(s->acct_mulaid_pay_fen, b),
           fl_money_format(s->cash_pay_fen, c), fl_money_format(s->balc_fen, d));
    for (size_t i = 0; i < s->leg_count; i++)
        printf("leg %zu            %-20s %12s  balance after %12s%s\n", i + 1, s->legs[i].holder,
               fl_money_format(s->legs[i].amount_fen, a),
               fl_money_format(s->legs[i].balance_after_fen, b),
               s->legs[i].mutual_aid ? "  mutual aid" : s->legs[i].wallet ? "  wallet" : "");
    if (s->hold_id)
        printf("captured hold    %" PRIu64 "\n", s->hold_id);
    if (s->refund_count || s->cancelled)
        printf("refunded         %s%s\n", fl_money_format(s->refunded_fen, a),
               s->cancelled ? " (cancelled)" : "");
    for (size_t i = 0; i < s->refund_count; i++)
        printf("%-16s %" PRIu64 " ref %s %s\n", s->refunds[i].cancel ? "cancel" : "refund",
               s->refunds[i].refund_id, s->refunds[i].reference,
               fl_money_format(s->refunds[i].amount_fen, a));
}

static int hold_run(struct ctl *ctl, const fl_settle_request *request, uint32_t seconds);

static int settle_common(struct ctl *ctl, const struct cli_parsed *args, bool quote)
{
    fl_settle_request request = {
        .merchant_code = cli_option(args, "--merchant"),
        .merchant_reference = cli_option(args, "--ref"),
        .patient = cli_option(args, "--patient"),
        .no_account = cli_option(args, "--no-account") != NULL,
        .all_or_nothing = cli_option(args, "--all-or-nothing") != NULL,
    };
    const char *amount = cli_option(args, "--amount"), *category = cli_option(args, "--category");
    if (!request.merchant_code || !request.merchant_reference || !request.patient || !amount)
        return usage_error("%s needs --merchant, --ref, --patient and --amount",
                           quote ? "quote" : "settle");
    if (parse_amount(amount, &request.amount_fen))
        return CLI_EXIT_USAGE;
    if (category && fl_category_parse(category, &request.category) != 0)
        return usage_error("--category must be pharmacy, device, outpatient, inpatient, "
                           "resident-premium, commercial-insurance or long-term-care");
    const char *hold = cli_option(args, "--hold");
    uint64_t hold_number = 0;
    if (hold && cli_parse_u64(hold, 1, quote ? 86400 : UINT64_MAX, &hold_number))
        return usage_error("--hold must be %s, not '%s'",
                           quote ? "the seconds to hold, 1 to 86400" : "a hold id", hold);
    if (quote && hold)
        return hold_run(ctl, &request, (uint32_t)hold_number);
    request.hold_id = hold_number;
    static fl_settlement settlement;
    int rc = quote ? fl_quote(ctl->client, &request, &settlement)
                   : fl_settle(ctl->client, &request, &settlement);
    if (rc)
        return ctl_fail(ctl, rc);
    settlement_print(ctl, &settlement);
    return 0;
}

static const char *hold_state_name(fl_hold_state state)
{
    switch (state) {
    case FL_HOLD_OPEN: return "open";
    case FL_HOLD_CAPTURED: return "captured";
    case FL_HOLD_RELEASED: return "released";
    case FL_HOLD_EXPIRED: return "expired";
    default: return "unknown";
    }
}

void hold_print(const struct ctl *ctl, const fl_hold *hold)
{
    char expires[CLI_TIME_TEXT_MAX];
    cli_time_text(hold->expires_at_us, expires);
    if (ctl->json) {
        printf("{\"hold_id\":%" PRIu64 ",\"state\":\"%s\",\"expires_at\":\"%s\",\"closed_seq\":%"
               PRIu64 ",\"replayed\":%s,\"quote\":", hold->hold_id, hold_state_name(hold->state),
               expires, hold->closed_seq, hold->replayed ? "true" : "false");
        settlement_print_json(&hold->quote, "}\n");
        return;
    }
    printf("hold             %" PRIu64 " %s until %s%s\n", hold->hold_id,
           hold_state_name(hold->state), expires,
           hold->replayed ? " (replayed: held already)" : "");
    if (hold->closed_seq)
        printf("closed by        %" PRIu64 "\n", hold->closed_seq);
    settlement_print_text(&hold->quote);
}

static int hold_run(struct ctl *ctl, const fl_settle_request *request, uint32_t seconds)
{
    static fl_hold hold;
    int rc = fl_hold_make(ctl->client, request, seconds, &hold);
    if (rc)
        return ctl_fail(ctl, rc);
    hold_print(ctl, &hold);
    return 0;
}

int quote_run(struct ctl *ctl, const struct cli_parsed *args)
{
    return settle_common(ctl, args, true);
}

int settle_run(struct ctl *ctl, const struct cli_parsed *args)
{
    return settle_common(ctl, args, false);
}

int settlement_show_run(struct ctl *ctl, const struct cli_parsed *args)
{
    const char *merchant = cli_option(args, "--merchant"), *reference = cli_option(args, "--ref");
    static fl_settlement settlement;
    int rc;
    if (args->positional_count == 1 && !merchant && !reference) {
        uint64_t id;
        if (cli_parse_u64(args->positionals[0], 1, UINT64_MAX, &id))
            return usage_error("'%s' is not a settlement id", args->positionals[0]);
        rc = fl_settlement_get(ctl->client, id, &settlement);
    } else if (args->positional_count == 0 && merchant && reference) {
        rc = fl_settlement_find(ctl->client, merchant, reference, &settlement);
    } else {
        return usage_error("settlement show takes an id, or --merchant CODE --ref REF");
    }
    if (rc)
        return ctl_fail(ctl, rc);
    settlement_print(ctl, &settlement);
    return 0;
}
