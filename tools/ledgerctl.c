/* ledgerctl.c -- the administrators' tool: talks to famledgerd through libfamledger only. */
#include "ledgerctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*command_fn)(struct ctl *ctl, const struct cli_parsed *args);

struct command {
    const char *group;
    const char *verb;      /* NULL for one-word commands */
    const char *usage;     /* the arguments after the command words */
    struct cli_option_spec options[10];
    int positionals_min, positionals_max;
    command_fn run;
};

static const char *const scheme_names[] = {[FL_SCHEME_EMPLOYEE] = "employee",
                                           [FL_SCHEME_RESIDENT] = "resident"};
static const char *const status_names[] = {[FL_ACCOUNT_OPEN] = "open",
                                           [FL_ACCOUNT_FROZEN] = "frozen",
                                           [FL_ACCOUNT_CLOSED] = "closed"};
static const char *const person_status_names[] = {[FL_PERSON_ACTIVE] = "active",
                                                  [FL_PERSON_DECEASED] = "deceased",
                                                  [FL_PERSON_MOVED_OUT] = "moved_out",
                                                  [FL_PERSON_OPTED_OUT] = "opted_out"};
static const char *const kind_names[] = {[FL_CREDIT_ALLOCATION] = "allocation",
                                         [FL_CREDIT_DEPOSIT] = "deposit"};

#define NAME_OF(table, value)                                                                     \
    ((size_t)(value) < sizeof(table) / sizeof(table[0]) && table[value] ? table[value] : "unknown")

int ctl_fail(struct ctl *ctl, int status)
{
    fprintf(stderr, "ledgerctl: %s: %s\n", fl_status_name(status), fl_client_error(ctl->client));
    return cli_exit_for_status(status);
}

int usage_error(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fprintf(stderr, "ledgerctl: ");
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    return CLI_EXIT_USAGE;
}

int parse_amount(const char *text, int64_t *fen)
{
    if (fl_money_parse(text, fen) != 0)
        return usage_error("'%s' %s", text, cli_money_why(text));
    if (*fen <= 0)
        return usage_error("'%s' is not a positive amount", text);
    return 0;
}

/* ---- persons and accounts ---- */

/* A person; with `owed_fen` (person show), what the fund owes them in cash. */
static void person_print(const struct ctl *ctl, const fl_person *person,
                         const int64_t *owed_fen)
{
    if (ctl->json) {
        printf("{\"person_no\":");
        json_string_write(stdout, person->person_no);
        printf(",\"name\":");
        json_string_write(stdout, person->name);
        printf(",\"region\":\"%s\",\"scheme\":\"%s\",\"registered_seq\":%" PRIu64
               ",\"has_account\":%s,\"status\":\"%s\"",
               person->region, NAME_OF(scheme_names, person->scheme), person->registered_seq,
               person->has_account ? "true" : "false",
               NAME_OF(person_status_names, person->status));
        if (owed_fen)
            printf(",\"cash_refund_due_fen\":%" PRId64, *owed_fen);
        printf("}\n");
        return;
    }
    printf("person_no    %s\nname         %s\nregion       %s\nscheme       %s\n"
           "status       %s\naccount      %s\nregistered   seq %" PRIu64 "\n",
           person->person_no, person->name, person->region, NAME_OF(scheme_names, person->scheme),
           NAME_OF(person_status_names, person->status), person->has_account ? "yes" : "no",
           person->registered_seq);
    char owed[FL_MONEY_TEXT_MAX];
    if (owed_fen && *owed_fen)
        printf("owed in cash %s (the fund pays it: ledgerctl payout --person %s AMOUNT --ref "
               "REF)\n", fl_money_format(*owed_fen, owed), person->person_no);
}

static int person_add_run(struct ctl *ctl, const struct cli_parsed *args)
{
    fl_person person = {0};
    const char *name = cli_option(args, "--name"), *region = cli_option(args, "--region");
    const char *scheme = cli_option(args, "--scheme");
    if (!name || !region || !scheme)
        return usage_error("%s", "person add needs --name, --region and --scheme");
    if (strcmp(scheme, "employee") == 0)
        person.scheme = FL_SCHEME_EMPLOYEE;
    else if (strcmp(scheme, "resident") == 0)
        person.scheme = FL_SCHEME_RESIDENT;
    else
        return usage_error("--scheme must be employee or resident, not '%s'", scheme);
    if (strlen(args->positionals[0]) > FL_PERSON_NO_MAX || strlen(name) > FL_NAME_MAX ||
        strlen(region) > FL_REGION_LEN)
        return usage_error("%s", "person number, name or region too long");
    strcpy(person.person_no, args->positionals[0]);
    strcpy(person.name, name);
    strcpy(person.region, region);
    fl_person registered;
    int rc = fl_person_add(ctl->client, &person, &registered);
    if (rc)
        return ctl_fail(ctl, rc);
    person_print(ctl, &registered, NULL);
    return 0;
}

static int person_show_run(struct ctl *ctl, const struct cli_parsed *args)
{
    fl_person person;
    int64_t owed_fen;
    int rc = fl_person_get_owed(ctl->client, args->positionals[0], &person, &owed_fen);
    if (rc)
        return ctl_fail(ctl, rc);
    person_print(ctl, &person, &owed_fen);
    return 0;
}

/* The aid an account has given under the family's limits (account show), or nothing. */
struct aid_given {
    fl_aid_given given[FL_FUNDS_MAX];
    size_t count;
};

static void account_print(const struct ctl *ctl, const fl_account *account,
                          const struct aid_given *aid)
{
    size_t aid_count = aid ? (aid->count < FL_FUNDS_MAX ? aid->count : FL_FUNDS_MAX) : 0;
    if (ctl->json) {
        printf("{\"person_no\":");
        json_string_write(stdout, account->person_no);
        printf(",\"status\":\"%s\",\"balance_fen\":%" PRId64 ",\"credited_fen\":%" PRId64
               ",\"debited_fen\":%" PRId64 ",\"opened_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64,
               NAME_OF(status_names, account->status), account->balance_fen,
               account->credited_fen, account->debited_fen, account->opened_seq,
               account->last_seq);
        if (account->held_fen) /* only while held: the object older readers know otherwise */
            printf(",\"held_fen\":%" PRId64, account->held_fen);
        for (size_t i = 0; i < aid_count; i++) { /* likewise, only once it has given aid */
            const fl_aid_given *given = &aid->given[i];
            printf("%s{\"beneficiary\":", i ? "," : ",\"aid_given\":[");
            json_string_write(stdout, given->beneficiary);
            printf(",\"month\":\"%04u-%02u\",\"month_fen\":%" PRId64 ",\"year\":\"%04u\","
                   "\"year_fen\":%" PRId64 "}%s",
                   given->month / 100, given->month % 100, given->month_fen, given->year,
                   given->year_fen, i + 1 == aid_count ? "]" : "");
        }
        if (aid && aid->count > aid_count) /* relatives of this year beyond what fits */
            printf(",\"aid_given_more\":%zu", aid->count - aid_count);
        printf("}\n");
        return;
    }
    char balance[FL_MONEY_TEXT_MAX], credited[FL_MONEY_TEXT_MAX], debited[FL_MONEY_TEXT_MAX];
    printf("person_no  %s\nstatus     %s\nbalance    %s\ncredited   %s\ndebited    %s\n"
           "opened     seq %" PRIu64 "\nlast       seq %" PRIu64 "\n",
           account->person_no, NAME_OF(status_names, account->status),
           fl_money_format(account->balance_fen, balance),
           fl_money_format(account->credited_fen, credited),
           fl_money_format(account->debited_fen, debited), account->opened_seq,
           account->last_seq);
    if (account->held_fen)
        printf("held       %s (reserved by held quotes)\n",
               fl_money_format(account->held_fen, balance));
    /* What the family's limits count: the latest month and year this account gave each. */
    for (size_t i = 0; i < aid_count; i++) {
        const fl_aid_given *given = &aid->given[i];
        printf("aid        to %s: %s in %04u-%02u, %s in %04u\n", given->beneficiary,
               fl_money_format(given->month_fen, credited), given->month / 100,
               given->month % 100, fl_money_format(given->year_fen, debited), given->year);
    }
    if (aid && aid->count > aid_count)
        printf("aid        and %zu relatives more\n", aid->count - aid_count);
}

static int account_open_run(struct ctl *ctl, const struct cli_parsed *args)
{
    fl_account account;
    int rc = fl_account_open(ctl->client, args->positionals[0], &account);
    if (rc)
        return ctl_fail(ctl, rc);
    account_print(ctl, &account, NULL);
    return 0;
}

static int account_show_run(struct ctl *ctl, const struct cli_parsed *args)
{
    fl_account account;
    struct aid_given aid;
    int rc = fl_account_aid_given(ctl->client, args->positionals[0], &account, aid.given,
                                  FL_FUNDS_MAX, &aid.count);
    if (rc)
        return ctl_fail(ctl, rc);
    account_print(ctl, &account, &aid);
    return 0;
}

static int credit_run(struct ctl *ctl, const struct cli_parsed *args)
{
    int64_t amount_fen;
    if (parse_amount(args->positionals[1], &amount_fen))
        return CLI_EXIT_USAGE;
    const char *reference = cli_option(args, "--ref"), *kind_text = cli_option(args, "--kind");
    if (!reference)
        return usage_error("%s", "credit needs --ref REF, which makes a retry safe");
    fl_credit_kind kind = FL_CREDIT_ALLOCATION;
    if (kind_text && strcmp(kind_text, "deposit") == 0)
        kind = FL_CREDIT_DEPOSIT;
    else if (kind_text && strcmp(kind_text, "allocation") != 0)
        return usage_error("--kind must be allocation or deposit, not '%s'", kind_text);
    fl_credit_result credit;
    int rc = fl_account_credit(ctl->client, args->positionals[0], amount_fen, kind, reference,
                               &credit);
    if (rc)
        return ctl_fail(ctl, rc);
    if (ctl->json) {
        printf("{\"seq\":%" PRIu64 ",\"person_no\":", credit.seq);
        json_string_write(stdout, credit.person_no);
        printf(",\"amount_fen\":%" PRId64 ",\"kind\":\"%s\",\"reference\":", credit.amount_fen,
               NAME_OF(kind_names, credit.kind));
        json_string_write(stdout, credit.reference);
        printf(",\"balance_after_fen\":%" PRId64 ",\"replayed\":%s}\n", credit.balance_after_fen,
               credit.replayed ? "true" : "false");
        return 0;
    }
    char amount[FL_MONEY_TEXT_MAX], balance[FL_MONEY_TEXT_MAX];
    printf("credited %s to %s (%s, seq %" PRIu64 "); balance %s%s\n",
           fl_money_format(credit.amount_fen, amount), credit.person_no,
           NAME_OF(kind_names, credit.kind), credit.seq,
           fl_money_format(credit.balance_after_fen, balance),
           credit.replayed ? " (replayed: already recorded, nothing moved again)" : "");
    return 0;
}

/* ---- monthly credits, statement and log ---- */

static void credits_print(const struct ctl *ctl, const char *person_no, uint32_t year,
                          const fl_month_credits months[12], const fl_credit_line *lines,
                          size_t count)
{
    int64_t allocated = 0, deposited = 0;
    uint32_t credits = 0;
    for (int i = 0; i < 12; i++) {
        allocated += months[i].allocated_fen;
        deposited += months[i].deposited_fen;
        credits += months[i].count;
    }
    char time_text[CLI_TIME_TEXT_MAX], amount[FL_MONEY_TEXT_MAX], balance[FL_MONEY_TEXT_MAX];
    if (ctl->json) {
        printf("{\"person_no\":");
        json_string_write(stdout, person_no);
        printf(",\"year\":%u,\"allocated_fen\":%" PRId64 ",\"deposited_fen\":%" PRId64
               ",\"count\":%u,\"months\":[", year, allocated, deposited, credits);
        for (int i = 0; i < 12; i++)
            printf("%s{\"month\":\"%04u-%02u\",\"allocated_fen\":%" PRId64
                   ",\"deposited_fen\":%" PRId64 ",\"count\":%u}", i ? "," : "", year,
                   months[i].month, months[i].allocated_fen, months[i].deposited_fen,
                   months[i].count);
        printf("],\"credits\":[");
        for (size_t i = 0; i < count; i++) {
            cli_time_text(lines[i].time_us, time_text);
            printf("%s{\"seq\":%" PRIu64 ",\"time\":\"%s\",\"time_us\":%" PRId64
                   ",\"kind\":\"%s\",\"amount_fen\":%" PRId64 ",\"reference\":",
                   i ? "," : "", lines[i].seq, time_text, lines[i].time_us,
                   NAME_OF(kind_names, lines[i].kind), lines[i].amount_fen);
            json_string_write(stdout, lines[i].reference);
            printf(",\"balance_after_fen\":%" PRId64 "}", lines[i].balance_after_fen);
        }
        printf("]}\n");
        return;
    }
    printf("credits of %s in %u, by month of business time\n%-8s %14s %14s %8s\n", person_no,
           year, "MONTH", "ALLOCATED", "DEPOSITED", "CREDITS");
    for (int i = 0; i < 12; i++)
        printf("%04u-%02u  %14s %14s %8u\n", year, months[i].month,
               fl_money_format(months[i].allocated_fen, amount),
               fl_money_format(months[i].deposited_fen, balance), months[i].count);
    printf("%-8u %14s %14s %8u\n", year, fl_money_format(allocated, amount),
           fl_money_format(deposited, balance), credits);
    if (count == 0)
        return;
    printf("\n%-8s %-*s %-10s %14s %14s  %s\n", "SEQ", CLI_TIME_COLUMN, "TIME", "KIND",
           "AMOUNT", "BALANCE", "REFERENCE");
    for (size_t i = 0; i < count; i++) {
        cli_time_text(lines[i].time_us, time_text);
        printf("%-8" PRIu64 " %-*s %-10s %14s %14s  %s\n", lines[i].seq, CLI_TIME_COLUMN,
               time_text, NAME_OF(kind_names, lines[i].kind),
               fl_money_format(lines[i].amount_fen, amount),
               fl_money_format(lines[i].balance_after_fen, balance), lines[i].reference);
    }
}

static int account_credits_run(struct ctl *ctl, const struct cli_parsed *args)
{
    const char *year_text = cli_option(args, "--year");
    uint64_t year = 0;
    if (year_text && cli_parse_u64(year_text, 2000, 9999, &year))
        return usage_error("--year must be from 2000 to 9999, not '%s'", year_text);
    fl_month_credits months[12];
    fl_credit_line *lines = NULL;
    size_t capacity = 64, count = 0;
    uint32_t answered = 0;
    int rc;
    /* Again with room for all of them, when a year had more credits than the first guess. */
    for (;;) {
        fl_credit_line *grown = realloc(lines, capacity * sizeof(*lines));
        if (!grown) {
            free(lines);
            return usage_error("%s", "out of memory");
        }
        lines = grown;
        rc = fl_account_credits(ctl->client, args->positionals[0], (uint32_t)year, &answered,
                                months, lines, capacity, &count);
        if (rc || count <= capacity)
            break;
        capacity = count;
        year = answered; /* the same year, should a new one start meanwhile */
    }
    if (rc == 0)
        credits_print(ctl, args->positionals[0], answered, months, lines, count);
    free(lines);
    return rc ? ctl_fail(ctl, rc) : 0;
}

/* ---- statement and log ---- */

static void statement_print(const struct ctl *ctl, const fl_statement_line *lines, size_t count,
                            uint64_t next_cursor)
{
    char time_text[CLI_TIME_TEXT_MAX], amount[FL_MONEY_TEXT_MAX], balance[FL_MONEY_TEXT_MAX];
    if (ctl->json) {
        printf("{\"lines\":[");
        for (size_t i = 0; i < count; i++) {
            cli_time_text(lines[i].time_us, time_text);
            printf("%s{\"seq\":%" PRIu64 ",\"time\":\"%s\",\"time_us\":%" PRId64
                   ",\"type\":\"%s\",\"amount_fen\":%" PRId64 ",\"balance_after_fen\":%" PRId64
                   ",\"reference\":",
                   i ? "," : "", lines[i].seq, time_text, lines[i].time_us, lines[i].type,
                   lines[i].amount_fen, lines[i].balance_after_fen);
            json_string_write(stdout, lines[i].reference);
            if (*lines[i].patient) {
                printf(",\"patient\":");
                json_string_write(stdout, lines[i].patient);
            }
            if (*lines[i].merchant) {
                printf(",\"merchant\":");
                json_string_write(stdout, lines[i].merchant);
            }
            printf("}");
        }
        printf("],\"next_cursor\":%" PRIu64 "}\n", next_cursor);
        return;
    }
    printf("%-8s %-*s %-22s %14s %14s  %s\n", "SEQ", CLI_TIME_COLUMN, "TIME", "TYPE", "AMOUNT",
           "BALANCE", "REFERENCE");
    for (size_t i = 0; i < count; i++) {
        cli_time_text(lines[i].time_us, time_text);
        printf("%-8" PRIu64 " %-*s %-22s %14s %14s  %s", lines[i].seq, CLI_TIME_COLUMN,
               time_text, lines[i].type, fl_money_format(lines[i].amount_fen, amount),
               fl_money_format(lines[i].balance_after_fen, balance), lines[i].reference);
        if (*lines[i].merchant)
            printf("  at %s", lines[i].merchant);
        if (*lines[i].patient)
            printf("  for %s", lines[i].patient);
        putchar('\n');
    }
    if (next_cursor)
        printf("(more: add --cursor %" PRIu64 ")\n", next_cursor);
}

int statement_options(const struct cli_parsed *args, struct statement_page *page)
{
    uint64_t before;
    const char *limit_text = cli_option(args, "--limit");
    const char *before_text = cli_option(args, "--before");
    const char *cursor_text = cli_option(args, "--cursor");
    page->limit = 50;
    page->cursor = 0;
    page->oldest_first = cli_option(args, "--oldest-first") != NULL;
    if (limit_text && cli_parse_u64(limit_text, 1, 1000, &page->limit))
        return usage_error("--limit must be from 1 to 1000, not '%s'", limit_text);
    if (cursor_text && cli_parse_u64(cursor_text, 1, UINT64_MAX, &page->cursor))
        return usage_error("--cursor must be a sequence number, not '%s'", cursor_text);
    if (before_text) {
        if (page->oldest_first || cli_parse_u64(before_text, 2, UINT64_MAX, &before))
            return usage_error("--before takes a sequence number above 1 and lists newest first,"
                               " not '%s'", before_text);
        page->cursor = before - 1;
    }
    return 0;
}

static int statement_run(struct ctl *ctl, const struct cli_parsed *args)
{
    struct statement_page page;
    int rc = statement_options(args, &page);
    if (rc)
        return rc;
    fl_statement_line *lines = calloc((size_t)page.limit, sizeof(*lines));
    if (!lines)
        return usage_error("%s", "out of memory");
    size_t count;
    uint64_t next_cursor;
    rc = fl_statement(ctl->client, args->positionals[0], page.cursor, page.oldest_first, lines,
                      (size_t)page.limit, &count, &next_cursor);
    if (rc == 0)
        statement_print(ctl, lines, count, next_cursor);
    free(lines);
    if (rc == 0)
        return 0;
    int status = ctl_fail(ctl, rc);
    /* A resident-scheme relative's money is their wallet. */
    if (rc == FL_ERR_NO_ACCOUNT)
        fprintf(stderr, "ledgerctl: a wallet has a statement of its own: ledgerctl wallet "
                "statement %s\n", args->positionals[0]);
    return status;
}

static int entry_run(struct ctl *ctl, const struct cli_parsed *args)
{
    uint64_t seq;
    if (cli_parse_u64(args->positionals[0], 1, UINT64_MAX, &seq))
        return usage_error("'%s' is not a sequence number", args->positionals[0]);
    fl_entry entry;
    fl_posting postings[FL_POSTINGS_MAX];
    size_t posting_count;
    int rc = fl_entry_get(ctl->client, seq, &entry);
    if (rc)
        return ctl_fail(ctl, rc);
    if ((rc = fl_entry_postings(ctl->client, seq, postings, &posting_count))) {
        fl_entry_release(&entry);
        return ctl_fail(ctl, rc);
    }
    char time_text[CLI_TIME_TEXT_MAX], money[FL_MONEY_TEXT_MAX];
    char hash[2 * FL_HASH_BYTES + 1], prev_hash[2 * FL_HASH_BYTES + 1];
    cli_time_text(entry.time_us, time_text);
    fl_hash_hex(entry.hash, hash);
    fl_hash_hex(entry.prev_hash, prev_hash);
    if (ctl->json) {
        printf("{\"seq\":%" PRIu64 ",\"time\":\"%s\",\"time_us\":%" PRId64 ",\"type\":\"%s\","
               "\"hash\":\"%s\",\"prev_hash\":\"%s\",\"actor\":{\"uid\":%u,\"gid\":%u,"
               "\"operator_id\":",
               entry.seq, time_text, entry.time_us, entry.type, hash, prev_hash,
               entry.actor_uid, entry.actor_gid);
        json_string_write(stdout, entry.operator_id);
        printf("},\"body\":%s,\"postings\":[", entry.body_json);
        for (size_t i = 0; i < posting_count; i++) {
            printf("%s{\"class\":\"%s\",\"id\":", i ? "," : "",
                   books_class_name(postings[i].account_class));
            json_string_write(stdout, postings[i].id);
            printf(",\"amount_fen\":%" PRId64 "}", postings[i].amount_fen);
        }
        printf("]}\n");
    } else {
        printf("seq          %" PRIu64 "\ntime         %s\ntype         %s\nhash         %s\n"
               "prev_hash    %s\nactor        uid %u gid %u%s%s\n%s",
               entry.seq, time_text, entry.type, hash, prev_hash, entry.actor_uid,
               entry.actor_gid, *entry.operator_id ? " operator " : "", entry.operator_id,
               entry.body_text);
        /* Where the money went: one line a posting, "class:id", signed yuan. */
        for (size_t i = 0; i < posting_count; i++)
            printf("posting      %s:%s %s\n", books_class_name(postings[i].account_class),
                   postings[i].id, fl_money_format(postings[i].amount_fen, money));
    }
    fl_entry_release(&entry);
    return 0;
}

static int head_run(struct ctl *ctl, const struct cli_parsed *args)
{
    (void)args;
    fl_head head;
    int rc = fl_head_get(ctl->client, &head);
    if (rc)
        return ctl_fail(ctl, rc);
    char hash[2 * FL_HASH_BYTES + 1], zone[FL_TIMEZONE_MAX];
    fl_hash_hex(head.hash, hash);
    /* The business time zone too, which scripts date their days by (famledger-nightly). */
    if ((rc = fl_timezone_get(ctl->client, zone)) != 0)
        return ctl_fail(ctl, rc);
    if (ctl->json)
        printf("{\"seq\":%" PRIu64 ",\"hash\":\"%s\",\"timezone\":\"%s\"}\n", head.seq, hash,
               zone);
    else
        printf("seq   %" PRIu64 "\nhash  %s\nzone  %s\n", head.seq, hash, zone);
    return 0;
}

/* The daemon's metrics; --out writes the file whole, for node_exporter's textfile collector. */
static int stats_run(struct ctl *ctl, const struct cli_parsed *args)
{
    const char *path = cli_option(args, "--out");
    fl_metrics_format format = cli_option(args, "--prometheus") ? FL_METRICS_PROMETHEUS
                               : ctl->json                      ? FL_METRICS_JSON
                                                                : FL_METRICS_TEXT;
    struct cli_report report;
    if (cli_report_open(&report, path) != 0)
        return usage_error("cannot write %s: %s", path, strerror(errno));
    int rc = cli_report_close(&report, fl_metrics_write(ctl->client, format, report.out));
    if (rc == CLI_REPORT_UNWRITTEN)
        return CLI_EXIT_IO;
    return rc ? ctl_fail(ctl, rc) : 0;
}

static int day_close_run(struct ctl *ctl, const struct cli_parsed *args)
{
    char closed_through[11];
    uint64_t seq;
    int rc = fl_day_close(ctl->client, args->positionals[0], closed_through, &seq);
    if (rc)
        return ctl_fail(ctl, rc);
    if (ctl->json)
        printf("{\"closed_through\":\"%s\",\"seq\":%" PRIu64 "}\n", closed_through, seq);
    else if (seq)
        printf("closed every business day through %s (entry %" PRIu64 ")\n", closed_through, seq);
    else
        printf("already closed through %s\n", closed_through);
    return 0;
}

static int backup_run(struct ctl *ctl, const struct cli_parsed *args)
{
    const char *out = cli_option(args, "--out");
    char dir[4096];
    if (!out || !*out)
        return usage_error("%s", "backup needs --out DIR");
    /* The daemon writes the copy: it needs an absolute path, and never a shorter one. */
    if (strlen(out) >= sizeof(dir) - 1)
        return usage_error("%s", "the --out path is too long");
    if (out[0] == '/')
        snprintf(dir, sizeof(dir), "%s", out);
    else if (getcwd(dir, sizeof(dir) - 1 - strlen(out)))
        snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/%s", out);
    else
        return usage_error("cannot make %s an absolute path", out);
    fl_backup_result result;
    int rc = fl_backup(ctl->client, dir, &result);
    if (rc)
        return ctl_fail(ctl, rc);
    char hash[2 * FL_HASH_BYTES + 1];
    fl_hash_hex(result.hash, hash);
    if (ctl->json) {
        printf("{\"dir\":");
        json_string_write(stdout, dir);
        printf(",\"seq\":%" PRIu64 ",\"hash\":\"%s\",\"bytes\":%" PRIu64 "}\n", result.seq,
               hash, result.bytes);
    } else
        printf("backup in %s: head %" PRIu64 " (%s), %" PRIu64 " bytes\n", dir, result.seq, hash,
               result.bytes);
    return 0;
}

/* ---- the command table ---- */

static const struct command commands[] = {
    {"person", "add", "PERSON_NO --name NAME --region ADMDVS --scheme employee|resident",
     {{"--name", true}, {"--region", true}, {"--scheme", true}}, 1, 1, person_add_run},
    {"person", "show", "PERSON_NO", {{0}}, 1, 1, person_show_run},
    {"account", "open", "PERSON_NO", {{0}}, 1, 1, account_open_run},
    {"account", "show", "PERSON_NO", {{0}}, 1, 1, account_show_run},
    {"account", "credits", "PERSON_NO [--year YYYY]   (month by month; default: this year)",
     {{"--year", true}}, 1, 1, account_credits_run},
    {"credit", "import", "FILE   (CSV: person,amount,period YYYYMM)", {{0}}, 1, 1,
     credit_import_run},
    {"migrate", NULL, "persons|bindings FILE   (CSV: person_no,name,region,scheme,"
     "opening_balance, or holder,beneficiary,relation; run again to resume)", {{0}}, 2, 2,
     migrate_run},
    {"credit", NULL, "PERSON_NO AMOUNT --ref REF [--kind allocation|deposit]",
     {{"--ref", true}, {"--kind", true}}, 2, 2, credit_run},
    {"statement", NULL, STATEMENT_USAGE, {STATEMENT_OPTIONS}, 1, 1, statement_run},
    {"entry", NULL, "SEQ", {{0}}, 1, 1, entry_run},
    {"head", NULL, "", {{0}}, 0, 0, head_run},
    {"backup", NULL, "--out DIR   (a new directory; the daemon writes the copy there)",
     {{"--out", true}}, 0, 0, backup_run},
    {"day", "close", "DATE   (YYYY-MM-DD; no entry is dated into it or earlier days again)",
     {{0}}, 1, 1, day_close_run},
    {"family", "bind", "HOLDER BENEFICIARY --relation RELATION [--evidence REF] "
     "[--channel app|counter]", {{"--relation", true}, {"--evidence", true}, {"--channel", true}},
     2, 2,
     family_bind_run},
    {"family", "unbind", "HOLDER BENEFICIARY", {{0}}, 2, 2, family_unbind_run},
    {"family", "list", "PERSON_NO", {{0}}, 1, 1, family_list_run},
    {"family", "order", "BENEFICIARY HOLDER...", {{0}}, 2, 1 + FL_FUNDERS_MAX, family_order_run},
    {"merchant", "add", "CODE --name NAME --kind pharmacy|hospital|agency --region ADMDVS",
     {{"--name", true}, {"--kind", true}, {"--region", true}}, 1, 1, merchant_add_run},
    {"merchant", "list", "", {{0}}, 0, 0, merchant_list_run},
    {"merchant", "suspend", "CODE", {{0}}, 1, 1, merchant_suspend_run},
    {"merchant", "resume", "CODE", {{0}}, 1, 1, merchant_resume_run},
    {"quote", NULL, SETTLE_USAGE, {SETTLE_OPTIONS}, 0, 0, quote_run},
    {"settle", NULL, SETTLE_USAGE, {SETTLE_OPTIONS}, 0, 0, settle_run},
    {"settlement", "show", "SETTLEMENT_ID | --merchant CODE --ref REF",
     {{"--merchant", true}, {"--ref", true}}, 0, 1, settlement_show_run},
    {"cancel", NULL, "--merchant CODE --ref REF --settlement ID",
     {{"--merchant", true}, {"--ref", true}, {"--settlement", true}}, 0, 0, cancel_run},
    {"refund", NULL, "--merchant CODE --ref REF --settlement ID --amount YUAN",
     {{"--merchant", true}, {"--ref", true}, {"--settlement", true}, {"--amount", true}}, 0, 0,
     refund_run},
    {"account", "freeze", "PERSON_NO --reason TEXT", {{"--reason", true}}, 1, 1,
     account_freeze_run},
    {"account", "unfreeze", "PERSON_NO", {{0}}, 1, 1, account_unfreeze_run},
    {"person", "suspend", "PERSON_NO --reason TEXT", {{"--reason", true}}, 1, 1,
     person_suspend_run},
    {"person", "resume", "PERSON_NO", {{0}}, 1, 1, person_resume_run},
    {"person", "deceased", "PERSON_NO --evidence REF   (a person without an open account)",
     {{"--evidence", true}}, 1, 1, person_deceased_run},
    {"withdraw", NULL, "PERSON_NO --reason REASON --ref REF [--amount YUAN] [--disease CODE] "
     "[--heir NAME]",
     {{"--reason", true}, {"--ref", true}, {"--amount", true}, {"--disease", true},
      {"--heir", true}}, 1, 1, withdraw_run},
    {"transfer-out", NULL, "PERSON_NO --to-region ADMDVS --ref REF",
     {{"--to-region", true}, {"--ref", true}}, 1, 1, transfer_out_run},
    {"verify", NULL, "[--walk]   (read every stored record here, none digested by the daemon)",
     {{"--walk", false}}, 0, 0, verify_run},
    {"export", NULL, "[--date YYYY-MM-DD] [--format csv|jsonl] [--out FILE]   (default: "
     "today, in the business time zone)",
     {{"--date", true}, {"--format", true}, {"--out", true}}, 0, 0, export_run},
    {"reconcile", "totals", "--merchant CODE --from DATE --to DATE [--count N] [--amount A] "
     "[--acct-pay A] [--acct-mulaid-pay A] [--cash-pay A] [--refunds A]",
     {{"--merchant", true}, {"--from", true}, {"--to", true}, {"--count", true},
      {"--amount", true}, {"--acct-pay", true}, {"--acct-mulaid-pay", true}, {"--cash-pay", true},
      {"--refunds", true}}, 0, 0, reconcile_totals_run},
    {"reconcile", "details", "--merchant CODE --date DATE --file FILE [--format table|tsv|json]",
     {{"--merchant", true}, {"--date", true}, {"--file", true}, {"--format", true}}, 0, 0,
     reconcile_details_run},
    {"transfer-in", NULL, "PERSON_NO AMOUNT (--from-region ADMDVS | --from-transfer SEQ) "
     "[--to-region ADMDVS] --ref REF",
     {{"--from-region", true}, {"--ref", true}, {"--from-transfer", true}, {"--to-region", true}},
     2, 2, transfer_in_run},
    {"reverse", NULL, "--merchant CODE --ref REF   (2601: undo a settlement by its reference)",
     {{"--merchant", true}, {"--ref", true}}, 0, 0, reverse_run},
    {"payout", NULL, "(--merchant CODE | --person PERSON_NO) AMOUNT --ref REF",
     {{"--merchant", true}, {"--person", true}, {"--ref", true}}, 1, 1, payout_run},
    {"recover", NULL, "--merchant CODE AMOUNT --ref REF   (追回: a merchant pays the fund back)",
     {{"--merchant", true}, {"--ref", true}}, 1, 1, recover_run},
    {"clearing", NULL, "--merchant CODE --from DATE --to DATE",
     {{"--merchant", true}, {"--from", true}, {"--to", true}}, 0, 0, clearing_run},
    {"trial-balance", NULL, "", {{0}}, 0, 0, trial_balance_run},
    {"settlements", NULL, "(--patient PERSON_NO | --merchant CODE) [--from DATE --to DATE] "
     "[--limit N] [--cursor C]   (newest first; a merchant's need --from and --to)",
     {{"--patient", true}, {"--merchant", true}, {"--from", true}, {"--to", true},
      {"--limit", true}, {"--cursor", true}}, 0, 0, settlements_run},
    {"aid", NULL, "PERSON_NO [--cursor C]   (what relatives' accounts paid for the person)",
     {{"--cursor", true}}, 1, 1, aid_run},
    {"merchant", "balance", "CODE", {{0}}, 1, 1, merchant_balance_run},
    {"wallet", "send", "HOLDER BENEFICIARY AMOUNT --ref REF   (to a relative's 医保钱包)",
     {{"--ref", true}}, 3, 3, wallet_send_run},
    {"wallet", "accept", "--ref REF", {{"--ref", true}}, 0, 0, wallet_accept_run},
    {"wallet", "decline", "--ref REF", {{"--ref", true}}, 0, 0, wallet_decline_run},
    {"wallet", "show", "PERSON_NO", {{0}}, 1, 1, wallet_show_run},
    {"wallet", "statement", STATEMENT_USAGE, {STATEMENT_OPTIONS}, 1, 1, wallet_statement_run},
    {"hold", "release", "HOLD_ID", {{0}}, 1, 1, hold_release_run},
    {"emergency", "claim", "PATIENT AMOUNT --hospital NAME --receipt NO --ref REF   (急诊垫付: "
     "costs the patient advanced, returned within 7 working days)",
     {{"--hospital", true}, {"--receipt", true}, {"--ref", true}}, 2, 2, emergency_claim_run},
    {"emergency", "return", "CLAIM_ID [AMOUNT] [--reason TEXT]   (default: all of it; less "
     "needs a reason)", {{"--reason", true}}, 1, 2, emergency_return_run},
    {"emergency", "reject", "CLAIM_ID --reason TEXT", {{"--reason", true}}, 1, 1,
     emergency_reject_run},
    {"emergency", "list", "[--patient PERSON_NO] [--open | --overdue] [--limit N] [--cursor C]",
     {{"--patient", true}, {"--open", false}, {"--overdue", false}, {"--limit", true},
      {"--cursor", true}}, 0, 0, emergency_list_run},
    {"calendar", "set", "YEAR [--holidays DAYS] [--workdays DAYS]   (the days off and the "
     "weekend days worked, 调休; DAYS: YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD, comma-separated)",
     {{"--holidays", true}, {"--workdays", true}}, 1, 1, calendar_set_run},
    {"calendar", "show", "YEAR", {{0}}, 1, 1, calendar_show_run},
    {"family", "limit", "HOLDER BENEFICIARY --monthly YUAN [--yearly YUAN]   (0: none)",
     {{"--monthly", true}, {"--yearly", true}}, 2, 2, family_limit_run},
    {"stats", NULL, "[--prometheus] [--out FILE]   (the daemon's metrics; --json, or "
     "--prometheus for node_exporter's textfile collector)",
     {{"--prometheus", false}, {"--out", true}}, 0, 0, stats_run},
    {"tail", NULL, "[--from SEQ] [--follow]   (entries as they commit; default: the last 10, "
     "or with --follow the new ones)",
     {{"--from", true}, {"--follow", false}}, 0, 0, tail_run},
};

#define COMMANDS_COUNT (sizeof(commands) / sizeof(commands[0]))

static const struct cli_option_spec global_options[] = {
    {"--socket", true}, {"--json", false}, {"--timeout", true}, {"--operator", true},
    {"--utc", false}, {0}};

static void usage(FILE *out)
{
    fprintf(out, "usage: ledgerctl [--socket PATH] [--json] [--utc] [--timeout MS] "
                 "[--operator ID] COMMAND ...\n\ncommands:\n");
    for (size_t i = 0; i < COMMANDS_COUNT; i++)
        fprintf(out, "  %s%s%s %s\n", commands[i].group, commands[i].verb ? " " : "",
                commands[i].verb ? commands[i].verb : "", commands[i].usage);
    fprintf(out, "\nAmounts are yuan (12.34); --json prints amounts as integer fen in *_fen "
                 "fields.\nTimes are in the daemon's business time zone; --utc shows them in "
                 "UTC.\nExit codes: 0 ok, 1 rejected by the daemon, 2 usage, 3 cannot reach "
                 "the daemon, 6 a file or the output not read or written whole (4, 5: verify, "
                 "reconcile).\n");
}

static const struct command *command_find(int argc, char **argv, int *words)
{
    for (size_t i = 0; i < COMMANDS_COUNT; i++) {
        if (argc < 1 || strcmp(argv[0], commands[i].group) != 0)
            continue;
        if (!commands[i].verb) {
            *words = 1;
            return &commands[i];
        }
        if (argc >= 2 && strcmp(argv[1], commands[i].verb) == 0) {
            *words = 2;
            return &commands[i];
        }
    }
    return NULL;
}

/* Global options may stand before or after the command words. */
static int command_parse(const struct command *command, int argc, char **argv,
                         struct cli_parsed *args)
{
    struct cli_option_spec specs[20];
    size_t count = 0;
    for (size_t i = 0; command->options[i].name; i++)
        specs[count++] = command->options[i];
    for (size_t i = 0; global_options[i].name; i++)
        specs[count++] = global_options[i];
    specs[count] = (struct cli_option_spec){0};
    if (cli_parse(argc, argv, specs, args) != 0)
        return -1;
    if (args->positional_count < command->positionals_min ||
        args->positional_count > command->positionals_max) {
        fprintf(stderr, "usage: ledgerctl %s%s%s %s\n", command->group, command->verb ? " " : "",
                command->verb ? command->verb : "", command->usage);
        return -1;
    }
    return 0;
}

static int ledgerctl_run(int argc, char **argv)
{
    int first = 1;
    struct cli_parsed globals;
    while (first < argc && strncmp(argv[first], "--", 2) == 0) {
        if (strcmp(argv[first], "--version") == 0) {
            puts("ledgerctl " FAMLEDGER_VERSION);
            return 0;
        }
        if (strcmp(argv[first], "--help") == 0) {
            usage(stdout);
            return 0;
        }
        bool flag = strcmp(argv[first], "--json") == 0 || strcmp(argv[first], "--utc") == 0;
        first += strchr(argv[first], '=') || flag ? 1 : 2;
    }
    if (first > argc || cli_parse(first - 1, argv + 1, global_options, &globals) != 0 ||
        globals.positional_count) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    int words;
    const struct command *command = command_find(argc - first, argv + first, &words);
    if (!command) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    struct cli_parsed args;
    if (command_parse(command, argc - first - words, argv + first + words, &args) != 0)
        return CLI_EXIT_USAGE;

    /* Options after the command override those before it. */
    const char *socket_path = cli_option(&args, "--socket");
    const char *timeout_text = cli_option(&args, "--timeout");
    const char *operator_id = cli_option(&args, "--operator");
    socket_path = socket_path ? socket_path : cli_option(&globals, "--socket");
    timeout_text = timeout_text ? timeout_text : cli_option(&globals, "--timeout");
    operator_id = operator_id ? operator_id : cli_option(&globals, "--operator");
    /* A backup takes as long as copying the ledger does. */
    uint64_t timeout_ms = command->run == backup_run ? 3600000 : FL_DEFAULT_TIMEOUT_MS;
    if (timeout_text && cli_parse_u64(timeout_text, 1, 3600000, &timeout_ms))
        return usage_error("--timeout must be milliseconds from 1 to 3600000, not '%s'",
                           timeout_text);

    struct ctl ctl = {.json = cli_option(&args, "--json") || cli_option(&globals, "--json"),
                      .socket_path = socket_path,
                      .timeout_ms = (int)timeout_ms};
    int rc = fl_client_connect(socket_path, (int)timeout_ms, &ctl.client);
    int exit_code = rc ? ctl_fail(&ctl, rc) : 0;
    if (rc == 0) {
        fl_client_set_operator(ctl.client, operator_id);
        /* People read times in the business zone; a peer that may not ask reads UTC. */
        char zone[FL_TIMEZONE_MAX];
        bool utc = cli_option(&args, "--utc") || cli_option(&globals, "--utc");
        if (!utc && fl_timezone_get(ctl.client, zone) == 0)
            cli_time_zone_set(zone);
        exit_code = command->run(&ctl, &args);
    }
    fl_client_close(ctl.client);
    return exit_code;
}

int main(int argc, char **argv)
{
    return cli_output_close(ledgerctl_run(argc, argv));
}
