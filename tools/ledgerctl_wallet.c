/* ledgerctl_wallet.c -- ledgerctl's wallet (医保钱包), hold, aid limit and tail commands. */
#include "ledgerctl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *send_state_name(fl_wallet_send_state state)
{
    switch (state) {
    case FL_WALLET_SEND_PENDING: return "waiting";
    case FL_WALLET_SEND_ACCEPTED: return "accepted";
    case FL_WALLET_SEND_DECLINED: return "declined";
    case FL_WALLET_SEND_RETURNED: return "returned";
    default: return "unknown";
    }
}

/* A send as a JSON object; `more` (may be NULL) is called to add fields before it closes. */
static void send_json(const fl_wallet_send *send, bool comma,
                      void (*more)(const fl_wallet_send *send))
{
    char sent[CLI_TIME_TEXT_MAX], returns[CLI_TIME_TEXT_MAX];
    cli_time_text(send->sent_us, sent);
    cli_time_text(send->return_at_us, returns);
    printf("%s{\"send_id\":%" PRIu64 ",\"holder\":", comma ? "," : "", send->send_id);
    json_string_write(stdout, send->holder);
    printf(",\"beneficiary\":");
    json_string_write(stdout, send->beneficiary);
    printf(",\"amount_fen\":%" PRId64 ",\"reference\":", send->amount_fen);
    json_string_write(stdout, send->reference);
    printf(",\"sent\":\"%s\",\"return_at\":\"%s\",\"state\":\"%s\",\"closed_seq\":%" PRIu64
           ",\"cash_refund_due\":%s",
           sent, returns, send_state_name(send->state), send->closed_seq,
           send->cash_refund_due ? "true" : "false");
    if (more)
        more(send);
    printf("}");
}

/* What a send, accept or decline answers besides the send: the balances after, a replay. */
static void send_reply_fields(const fl_wallet_send *send)
{
    printf(",\"holder_balance_fen\":%" PRId64 ",\"wallet_balance_fen\":%" PRId64
           ",\"replayed\":%s",
           send->holder_balance_fen, send->wallet_balance_fen, send->replayed ? "true" : "false");
}

static void send_text(const fl_wallet_send *send)
{
    char amount[FL_MONEY_TEXT_MAX], returns[CLI_TIME_TEXT_MAX];
    cli_time_text(send->return_at_us, returns);
    printf("send %" PRIu64 " ref %s: %s -> %s %s yuan, %s", send->send_id, send->reference,
           send->holder, send->beneficiary, fl_money_format(send->amount_fen, amount),
           send_state_name(send->state));
    if (send->state == FL_WALLET_SEND_PENDING)
        printf(" (returns at %s unless accepted)", returns);
    else if (send->closed_seq)
        printf(" at entry %" PRIu64 "%s", send->closed_seq,
               send->cash_refund_due ? ", owed to the holder in cash" : "");
    printf("\n");
}

static int send_print(const struct ctl *ctl, const fl_wallet_send *send)
{
    char holder[FL_MONEY_TEXT_MAX], wallet[FL_MONEY_TEXT_MAX];
    if (ctl->json) {
        send_json(send, false, send_reply_fields);
        printf("\n");
        return 0;
    }
    send_text(send);
    printf("holder account   %s\nwallet of %s  %s%s\n", fl_money_format(send->holder_balance_fen,
                                                                         holder),
           send->beneficiary, fl_money_format(send->wallet_balance_fen, wallet),
           send->replayed ? "\n(replayed: nothing moved again)" : "");
    return 0;
}

int wallet_send_run(struct ctl *ctl, const struct cli_parsed *args)
{
    const char *reference = cli_option(args, "--ref");
    int64_t amount_fen;
    if (!reference)
        return usage_error("%s", "wallet send needs --ref REF");
    if (parse_amount(args->positionals[2], &amount_fen))
        return CLI_EXIT_USAGE;
    fl_wallet_send send;
    int rc = fl_wallet_send_make(ctl->client, args->positionals[0], args->positionals[1],
                                 amount_fen, reference, &send);
    return rc ? ctl_fail(ctl, rc) : send_print(ctl, &send);
}

static int wallet_answer(struct ctl *ctl, const struct cli_parsed *args, bool accept)
{
    const char *reference = cli_option(args, "--ref");
    if (!reference)
        return usage_error("wallet %s needs --ref REF", accept ? "accept" : "decline");
    fl_wallet_send send;
    int rc = accept ? fl_wallet_accept(ctl->client, reference, &send)
                    : fl_wallet_decline(ctl->client, reference, &send);
    return rc ? ctl_fail(ctl, rc) : send_print(ctl, &send);
}

int wallet_accept_run(struct ctl *ctl, const struct cli_parsed *args)
{
    return wallet_answer(ctl, args, true);
}

int wallet_decline_run(struct ctl *ctl, const struct cli_parsed *args)
{
    return wallet_answer(ctl, args, false);
}

int wallet_show_run(struct ctl *ctl, const struct cli_parsed *args)
{
    static fl_wallet wallet;
    int rc = fl_wallet_get(ctl->client, args->positionals[0], &wallet);
    if (rc)
        return ctl_fail(ctl, rc);
    char balance[FL_MONEY_TEXT_MAX], held[FL_MONEY_TEXT_MAX];
    if (ctl->json) {
        printf("{\"person_no\":");
        json_string_write(stdout, wallet.person_no);
        printf(",\"balance_fen\":%" PRId64 ",\"held_fen\":%" PRId64 ",\"sends_today\":%u,"
               "\"sends_out\":[", wallet.balance_fen, wallet.held_fen, wallet.sends_today);
        for (size_t i = 0; i < wallet.sends_out_count; i++)
            send_json(&wallet.sends_out[i], i > 0, NULL);
        printf("],\"sends_in\":[");
        for (size_t i = 0; i < wallet.sends_in_count; i++)
            send_json(&wallet.sends_in[i], i > 0, NULL);
        printf("]}\n");
        return 0;
    }
    printf("wallet of %s\nbalance          %s\nheld             %s\nsends today      %u\n",
           wallet.person_no, fl_money_format(wallet.balance_fen, balance),
           fl_money_format(wallet.held_fen, held), wallet.sends_today);
    printf("waiting out:%s\n", wallet.sends_out_count ? "" : " none");
    for (size_t i = 0; i < wallet.sends_out_count; i++) {
        printf("  ");
        send_text(&wallet.sends_out[i]);
    }
    printf("waiting in:%s\n", wallet.sends_in_count ? "" : " none");
    for (size_t i = 0; i < wallet.sends_in_count; i++) {
        printf("  ");
        send_text(&wallet.sends_in[i]);
    }
    return 0;
}

static void wallet_lines_print(const struct ctl *ctl, const fl_wallet_line *lines, size_t count,
                               uint64_t next_cursor)
{
    char time_text[CLI_TIME_TEXT_MAX], amount[FL_MONEY_TEXT_MAX], balance[FL_MONEY_TEXT_MAX];
    if (ctl->json) {
        printf("{\"lines\":[");
        for (size_t i = 0; i < count; i++) {
            const fl_wallet_line *line = &lines[i];
            cli_time_text(line->time_us, time_text);
            printf("%s{\"seq\":%" PRIu64 ",\"time\":\"%s\",\"time_us\":%" PRId64
                   ",\"type\":\"%s\",\"amount_fen\":%" PRId64 ",\"balance_after_fen\":%" PRId64
                   ",\"reference\":", i ? "," : "", line->seq, time_text, line->time_us,
                   line->type, line->amount_fen, line->balance_after_fen);
            json_string_write(stdout, line->reference);
            if (*line->merchant) {
                printf(",\"merchant\":");
                json_string_write(stdout, line->merchant);
            }
            if (*line->holder) {
                printf(",\"holder\":");
                json_string_write(stdout, line->holder);
            }
            printf("}");
        }
        printf("],\"next_cursor\":%" PRIu64 "}\n", next_cursor);
        return;
    }
    printf("%-8s %-*s %-22s %14s %14s  %s\n", "SEQ", CLI_TIME_COLUMN, "TIME", "TYPE", "AMOUNT",
           "BALANCE", "REFERENCE");
    for (size_t i = 0; i < count; i++) {
        const fl_wallet_line *line = &lines[i];
        cli_time_text(line->time_us, time_text);
        printf("%-8" PRIu64 " %-*s %-22s %14s %14s  %s", line->seq, CLI_TIME_COLUMN, time_text,
               line->type, fl_money_format(line->amount_fen, amount),
               fl_money_format(line->balance_after_fen, balance), line->reference);
        if (*line->merchant)
            printf("  at %s", line->merchant);
        if (*line->holder)
            printf("  from %s", line->holder);
        putchar('\n');
    }
    if (next_cursor)
        printf("(more: add --cursor %" PRIu64 ")\n", next_cursor);
}

int wallet_statement_run(struct ctl *ctl, const struct cli_parsed *args)
{
    struct statement_page page;
    int rc = statement_options(args, &page);
    if (rc)
        return rc;
    fl_wallet_line *lines = calloc((size_t)page.limit, sizeof(*lines));
    if (!lines)
        return usage_error("%s", "out of memory");
    size_t count;
    uint64_t next_cursor;
    rc = fl_wallet_statement(ctl->client, args->positionals[0], page.cursor, page.oldest_first,
                             lines, (size_t)page.limit, &count, &next_cursor);
    if (rc == 0)
        wallet_lines_print(ctl, lines, count, next_cursor);
    free(lines);
    return rc ? ctl_fail(ctl, rc) : 0;
}

int hold_release_run(struct ctl *ctl, const struct cli_parsed *args)
{
    uint64_t hold_id;
    if (cli_parse_u64(args->positionals[0], 1, UINT64_MAX, &hold_id))
        return usage_error("'%s' is not a hold id", args->positionals[0]);
    static fl_hold hold;
    int rc = fl_hold_release(ctl->client, hold_id, &hold);
    if (rc)
        return ctl_fail(ctl, rc);
    hold_print(ctl, &hold);
    return 0;
}

/* A limit in yuan: 0 lifts it (back to the region's default). */
static int parse_limit(const char *text, int64_t *fen)
{
    if (!text) {
        *fen = 0;
        return 0;
    }
    if (fl_money_parse(text, fen) != 0 || *fen < 0)
        return usage_error("'%s' is not an amount in yuan (0: no limit)", text);
    return 0;
}

int family_limit_run(struct ctl *ctl, const struct cli_parsed *args)
{
    int64_t monthly, yearly;
    const char *monthly_text = cli_option(args, "--monthly");
    const char *yearly_text = cli_option(args, "--yearly");
    if (!monthly_text && !yearly_text)
        return usage_error("%s", "family limit needs --monthly YUAN, --yearly YUAN, or both");
    if (parse_limit(monthly_text, &monthly) || parse_limit(yearly_text, &yearly))
        return CLI_EXIT_USAGE;
    int rc = fl_family_limit(ctl->client, args->positionals[0], args->positionals[1], monthly,
                             yearly);
    if (rc)
        return ctl_fail(ctl, rc);
    char a[FL_MONEY_TEXT_MAX], b[FL_MONEY_TEXT_MAX];
    if (ctl->json)
        printf("{\"holder\":\"%s\",\"beneficiary\":\"%s\",\"monthly_fen\":%" PRId64
               ",\"yearly_fen\":%" PRId64 "}\n", args->positionals[0], args->positionals[1],
               monthly, yearly);
    else
        printf("%s may take from %s's account at most %s a month and %s a year (0.00: no "
               "limit of the family's own)\n", args->positionals[1], args->positionals[0],
               fl_money_format(monthly, a), fl_money_format(yearly, b));
    return 0;
}

/* ---- tail ---- */

/* tail_print_cb's answer when standard output failed: no status of the library's. */
#define TAIL_UNWRITTEN (-1)
static int tail_write_error;

static int tail_print_cb(void *context, const fl_stream_event *event)
{
    const struct ctl *ctl = context;
    const fl_entry *entry = &event->entry;
    char time_text[CLI_TIME_TEXT_MAX];
    cli_time_text(entry->time_us, time_text);
    if (ctl->json) {
        char hash[2 * FL_HASH_BYTES + 1];
        fl_hash_hex(entry->hash, hash);
        printf("{\"seq\":%" PRIu64 ",\"time\":\"%s\",\"time_us\":%" PRId64 ",\"type\":\"%s\","
               "\"hash\":\"%s\",\"body\":%s}\n", entry->seq, time_text, entry->time_us,
               entry->type, hash, entry->body_json);
    } else {
        printf("%" PRIu64 " %s %s\n", entry->seq, time_text, entry->type);
        for (const char *line = entry->body_text; *line;) {
            const char *end = strchr(line, '\n');
            size_t length = end ? (size_t)(end - line) : strlen(line);
            printf("    %.*s\n", (int)length, line);
            line += length + (end != NULL);
        }
    }
    tail_write_error = cli_stream_error(stdout);
    return tail_write_error ? TAIL_UNWRITTEN : 0; /* a follower that cannot print must stop */
}

static void tail_pause_ms(long ms)
{
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&pause, NULL);
}

/* Where tail starts: --from, else the last 10 entries, or with --follow the next one. */
static int tail_start(struct ctl *ctl, const struct cli_parsed *args, bool follow,
                      uint64_t *from_seq)
{
    const char *from = cli_option(args, "--from");
    if (from)
        return cli_parse_u64(from, 1, UINT64_MAX, from_seq)
                   ? usage_error("--from must be a sequence number, not '%s'", from)
                   : 0;
    fl_head head;
    int rc = fl_head_get(ctl->client, &head);
    if (rc)
        return ctl_fail(ctl, rc);
    *from_seq = follow ? head.seq + 1 : head.seq > 10 ? head.seq - 9 : 1;
    return 0;
}

int tail_run(struct ctl *ctl, const struct cli_parsed *args)
{
    bool follow = cli_option(args, "--follow") != NULL;
    uint64_t next_seq;
    int rc = tail_start(ctl, args, follow, &next_seq);
    if (rc)
        return rc;
    for (;;) {
        rc = fl_subscribe(ctl->client, next_seq, follow, tail_print_cb, ctl, &next_seq);
        /* Following, a lost connection (a restart) or a stream that fell behind is resumed
         * from the first entry not printed, every half second until the daemon is back. */
        bool resume = follow && (rc == FL_ERR_PROTOCOL_ERROR || rc == FL_ERR_UNAVAILABLE ||
                                 rc == FL_ERR_SUBSCRIBER_BEHIND || rc == FL_ERR_SHUTTING_DOWN);
        if (!resume)
            break;
        fl_client_close(ctl->client);
        ctl->client = NULL;
        while (fl_client_connect(ctl->socket_path, ctl->timeout_ms, &ctl->client) != 0) {
            fl_client_close(ctl->client);
            ctl->client = NULL;
            tail_pause_ms(500);
        }
    }
    if (rc == TAIL_UNWRITTEN) {
        char lost[120];
        snprintf(lost, sizeof(lost),
                 "entries from %" PRIu64 " on may be missing (tail --from %" PRIu64 " resumes)",
                 next_seq, next_seq);
        return cli_output_failed(tail_write_error, lost);
    }
    return rc ? ctl_fail(ctl, rc) : 0;
}
