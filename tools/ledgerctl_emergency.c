/* ledgerctl_emergency.c -- ledgerctl's emergency claims (急诊垫付): claim, return, reject,
 * list; and the calendars of working days their due days follow. */
#include "ledgerctl.h"

#include "entry_check.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *claim_state_name(fl_emergency_state state)
{
    switch (state) {
    case FL_EMERGENCY_OPEN: return "open";
    case FL_EMERGENCY_RETURNED: return "returned";
    case FL_EMERGENCY_REJECTED: return "rejected";
    default: return "unknown";
    }
}

static void claim_json(const fl_emergency_claim *claim, const char *end)
{
    printf("{\"claim_id\":%" PRIu64 ",\"patient\":", claim->claim_id);
    json_string_write(stdout, claim->patient);
    printf(",\"amount_fen\":%" PRId64 ",\"hospital\":", claim->amount_fen);
    json_string_write(stdout, claim->hospital);
    printf(",\"receipt\":");
    json_string_write(stdout, claim->receipt);
    printf(",\"reference\":");
    json_string_write(stdout, claim->reference);
    printf(",\"claimed_day\":\"%s\",\"due_day\":\"%s\",\"state\":\"%s\",\"closed_seq\":%" PRIu64
           ",\"returned_fen\":%" PRId64 ",\"reason\":", claim->claimed_day, claim->due_day,
           claim_state_name(claim->state), claim->closed_seq, claim->returned_fen);
    json_string_write(stdout, claim->reason);
    printf(",\"cash_refund_due\":%s,\"late\":%s,\"balance_after_fen\":%" PRId64 "%s",
           claim->cash_refund_due ? "true" : "false", claim->late ? "true" : "false",
           claim->balance_after_fen, end);
}

/* One claim: what was claimed, and what became of it. */
static void claim_text(const fl_emergency_claim *claim)
{
    char amount[FL_MONEY_TEXT_MAX], returned[FL_MONEY_TEXT_MAX], balance[FL_MONEY_TEXT_MAX];
    printf("claim %" PRIu64 ": %s claimed %s at %s (receipt %s, ref %s) on %s, due by %s: %s",
           claim->claim_id, claim->patient, fl_money_format(claim->amount_fen, amount),
           claim->hospital, claim->receipt, claim->reference, claim->claimed_day,
           claim->due_day, claim_state_name(claim->state));
    if (claim->state == FL_EMERGENCY_RETURNED && claim->cash_refund_due)
        printf(" %s, owed in cash (the account had closed)",
               fl_money_format(claim->returned_fen, returned));
    else if (claim->state == FL_EMERGENCY_RETURNED)
        printf(" %s (account balance %s)", fl_money_format(claim->returned_fen, returned),
               fl_money_format(claim->balance_after_fen, balance));
    if (claim->closed_seq)
        printf(" at entry %" PRIu64 "%s", claim->closed_seq, claim->late ? ", late" : "");
    if (*claim->reason)
        printf(" (%s)", claim->reason);
    printf("\n");
}

static int claim_print(const struct ctl *ctl, const fl_emergency_claim *claim)
{
    if (ctl->json) {
        claim_json(claim, claim->replayed ? ",\"replayed\":true}\n" : ",\"replayed\":false}\n");
        return 0;
    }
    claim_text(claim);
    if (claim->replayed)
        printf("(replayed: recorded already, nothing moved again)\n");
    return 0;
}

int emergency_claim_run(struct ctl *ctl, const struct cli_parsed *args)
{
    int64_t amount_fen;
    if (parse_amount(args->positionals[1], &amount_fen))
        return CLI_EXIT_USAGE;
    const char *hospital = cli_option(args, "--hospital");
    const char *receipt = cli_option(args, "--receipt"), *reference = cli_option(args, "--ref");
    if (!hospital || !receipt || !reference)
        return usage_error("%s", "emergency claim needs --hospital NAME, --receipt NO and --ref "
                           "REF (which makes a retry safe)");
    fl_emergency_claim claim;
    int rc = fl_emergency_claim_make(ctl->client, args->positionals[0], amount_fen, hospital,
                                     receipt, reference, &claim);
    return rc ? ctl_fail(ctl, rc) : claim_print(ctl, &claim);
}

static int claim_close(struct ctl *ctl, const struct cli_parsed *args, bool reject)
{
    uint64_t claim_id;
    if (cli_parse_u64(args->positionals[0], 1, UINT64_MAX, &claim_id))
        return usage_error("'%s' is not a claim id", args->positionals[0]);
    int64_t returned_fen = 0;
    if (args->positional_count > 1 && parse_amount(args->positionals[1], &returned_fen))
        return CLI_EXIT_USAGE;
    const char *reason = cli_option(args, "--reason");
    if (reject && !reason)
        return usage_error("%s", "emergency reject needs --reason TEXT");
    fl_emergency_claim claim;
    int rc = fl_emergency_claim_close(ctl->client, claim_id, returned_fen, reject, reason, &claim);
    return rc ? ctl_fail(ctl, rc) : claim_print(ctl, &claim);
}

int emergency_return_run(struct ctl *ctl, const struct cli_parsed *args)
{
    return claim_close(ctl, args, false);
}

int emergency_reject_run(struct ctl *ctl, const struct cli_parsed *args)
{
    return claim_close(ctl, args, true);
}

/* Claims in the order made: one page with --limit (and --cursor), else every page. */
int emergency_list_run(struct ctl *ctl, const struct cli_parsed *args)
{
    const char *patient = cli_option(args, "--patient");
    bool overdue = cli_option(args, "--overdue") != NULL;
    bool open = cli_option(args, "--open") != NULL || overdue;
    uint64_t cursor = 0, limit = 1000;
    const char *cursor_text = cli_option(args, "--cursor");
    const char *limit_text = cli_option(args, "--limit");
    if (cursor_text && cli_parse_u64(cursor_text, 0, UINT64_MAX, &cursor))
        return usage_error("'%s' is not a cursor", cursor_text);
    if (limit_text && cli_parse_u64(limit_text, 1, 1000, &limit))
        return usage_error("--limit must be 1 to 1000, not '%s'", limit_text);
    static fl_emergency_claim claims[1000];
    size_t listed = 0;
    char today[11];
    bool first_page = true;
    do {
        size_t count;
        int rc = fl_emergency_claim_list(ctl->client, patient, open, overdue, cursor, claims,
                                         (size_t)limit, &count, &cursor, today);
        if (rc)
            return ctl_fail(ctl, rc);
        if (ctl->json && first_page)
            printf("{\"today\":\"%s\",\"claims\":[", today);
        first_page = false;
        for (size_t i = 0; i < count; i++, listed++) {
            if (ctl->json) {
                fputs(listed ? "," : "", stdout);
                claim_json(&claims[i], "}");
            } else {
                claim_text(&claims[i]);
            }
        }
    } while (cursor && !limit_text);
    if (ctl->json) {
        printf("],\"next_cursor\":%" PRIu64 "}\n", cursor);
        return 0;
    }
    if (listed == 0)
        printf("no %sclaims%s\n", overdue ? "overdue " : open ? "open " : "",
               cursor ? " on this page" : "");
    if (cursor)
        printf("more: --cursor %" PRIu64 "\n", cursor);
    return 0;
}

/* ---- calendars ---- */

/* Add the days of `list` ("D,D..D,...", each D YYYY-MM-DD, D..D every day from one to the
 * other) to `days`: 0, or CLI_EXIT_USAGE after complaining. */
static int days_parse(const char *option, const char *list, char (*days)[11], size_t *count)
{
    char copy[8192];
    if (strlen(list) >= sizeof(copy))
        return usage_error("%s is too long", option);
    strcpy(copy, list);
    char *rest = copy, *item;
    while ((item = strsep(&rest, ",")) != NULL) {
        if (!*item)
            continue;
        char *last = strstr(item, "..");
        if (last) {
            *last = '\0';
            last += 2;
        }
        /* Real days only: strptime would take 30 February, and timegm make it 2 March. */
        char day[9], date[11];
        if (!entry_day_parse(item, day) || (last && !entry_day_parse(last, day)))
            return usage_error("%s: '%s%s%s' is not a day (YYYY-MM-DD) or a range of days "
                               "(YYYY-MM-DD..YYYY-MM-DD)", option, item, last ? ".." : "",
                               last ? last : "");
        for (strcpy(date, item); strcmp(date, last ? last : item) <= 0;
             cli_date_next(date, date)) {
            if (*count == FL_CALENDAR_DAYS_MAX)
                return usage_error("%s lists more days than a year has", option);
            strcpy(days[(*count)++], date);
        }
    }
    return 0;
}

static void days_print(const struct ctl *ctl, const char *name, const char (*days)[11],
                       size_t count)
{
    if (ctl->json) {
        printf(",\"%s\":[", name);
        for (size_t i = 0; i < count; i++)
            printf("%s\"%s\"", i ? "," : "", days[i]);
        printf("]");
        return;
    }
    printf("%-9s", name);
    for (size_t i = 0; i < count; i++)
        printf(" %s", days[i]);
    printf("%s\n", count ? "" : " none");
}

static int calendar_print(const struct ctl *ctl, const fl_calendar *calendar)
{
    if (ctl->json)
        printf("{\"year\":%u", calendar->year);
    else
        printf("calendar %u: Monday to Friday%s\n", calendar->year,
               calendar->set_seq ? ", with these days" : " (never set)");
    days_print(ctl, "holidays", calendar->holidays, calendar->holiday_count);
    days_print(ctl, "workdays", calendar->workdays, calendar->workday_count);
    if (ctl->json)
        printf(",\"set_seq\":%" PRIu64 ",\"replayed\":%s}\n", calendar->set_seq,
               calendar->replayed ? "true" : "false");
    else if (calendar->set_seq)
        printf("set at entry %" PRIu64 "%s\n", calendar->set_seq,
               calendar->replayed ? " (replayed: the same days, nothing recorded)" : "");
    return 0;
}

int calendar_set_run(struct ctl *ctl, const struct cli_parsed *args)
{
    uint64_t year;
    if (cli_parse_u64(args->positionals[0], 2000, 9999, &year))
        return usage_error("'%s' is not a year from 2000 to 9999", args->positionals[0]);
    static fl_calendar calendar;
    const char *holidays = cli_option(args, "--holidays");
    const char *workdays = cli_option(args, "--workdays");
    calendar.holiday_count = calendar.workday_count = 0;
    if ((holidays && days_parse("--holidays", holidays, calendar.holidays,
                                &calendar.holiday_count)) ||
        (workdays && days_parse("--workdays", workdays, calendar.workdays,
                                &calendar.workday_count)))
        return CLI_EXIT_USAGE;
    const char *off[FL_CALENDAR_DAYS_MAX], *worked[FL_CALENDAR_DAYS_MAX];
    for (size_t i = 0; i < calendar.holiday_count; i++)
        off[i] = calendar.holidays[i];
    for (size_t i = 0; i < calendar.workday_count; i++)
        worked[i] = calendar.workdays[i];
    int rc = fl_calendar_set(ctl->client, (uint32_t)year, off, calendar.holiday_count, worked,
                             calendar.workday_count, &calendar);
    return rc ? ctl_fail(ctl, rc) : calendar_print(ctl, &calendar);
}

int calendar_show_run(struct ctl *ctl, const struct cli_parsed *args)
{
    uint64_t year;
    if (cli_parse_u64(args->positionals[0], 2000, 9999, &year))
        return usage_error("'%s' is not a year from 2000 to 9999", args->positionals[0]);
    static fl_calendar calendar;
    int rc = fl_calendar_get(ctl->client, (uint32_t)year, &calendar);
    return rc ? ctl_fail(ctl, rc) : calendar_print(ctl, &calendar);
}
