/* fuzz_reply.c -- libFuzzer target: any bytes a daemon could answer with, given to the client
 * library's calls. A pharmacy's process links the library; a reply it cannot use (a body
 * without the record it should carry, counts that do not fit, a stream cut short) must become
 * a status, never a crash, a sanitizer report or a hang.
 *
 * An input is a selector byte (which call) and then the replies, split at REPLY_SEPARATOR.
 * Each reply is framed with `request_id = N` in front (the client numbers its requests from
 * 1), so that the bytes reach the call's own checks rather than the id check. The replies are
 * written into a socket pair before the call, and the daemon's end is closed: a call that asks
 * for more than the input holds meets a closed connection at once. */
#include "client_internal.h"
#include "frame.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t REPLY_SEPARATOR[] = {0xff, 'R', 'P', 'L'};
static FILE *sink;

static const fl_settle_request settle_request = {
    .merchant_code = "PH1", .merchant_reference = "S1", .patient = "K", .amount_fen = 15000};

static int on_settlement(const fl_settlement *settlement, void *context)
{
    (void)context;
    return settlement->leg_count > FL_LEGS_MAX; /* read what the library filled in */
}

static int on_refund(const fl_refund *refund, uint64_t settlement_id, void *context)
{
    (void)context;
    (void)settlement_id;
    return refund->leg_count > FL_LEGS_MAX;
}

static int on_event(void *context, const fl_stream_event *event)
{
    (void)context;
    return event->is_settlement && event->settlement.leg_count > FL_LEGS_MAX;
}

static void on_result(void *context, size_t index, const fl_result *result)
{
    (void)index;
    size_t *answered = context;
    (*answered)++;
    if (result->settlement && result->settlement->leg_count > FL_LEGS_MAX)
        abort();
}

/* Every call of the library that reads a reply, one per selector value. */
static void call(fl_client *client, unsigned which)
{
    static fl_settlement settlement, settlement_after;
    static fl_statement_line lines[8];
    static fl_aid_line aid_lines[8];
    static fl_merchant merchants[8];
    static fl_aid_given given[8];
    fl_person person;
    fl_account account;
    fl_credit_result credit;
    fl_head head;
    fl_entry entry;
    fl_binding binding;
    fl_family family;
    fl_merchant merchant;
    fl_reversal reversal;
    fl_books_totals totals;
    fl_merchant_books books;
    fl_clearing clearing;
    fl_payout payout;
    fl_refund refund;
    fl_movement movement;
    fl_credit_outcome outcomes[3];
    fl_verify_report report;
    fl_wallet_send send;
    fl_wallet wallet;
    fl_hold hold;
    fl_stats stats;
    char text[64];
    uint64_t number = 0;
    size_t count = 0;
    bool more = false;
    const char *holders[] = {"H1", "H2"};
    const fl_credit_item items[] = {{"H1", 100, FL_CREDIT_ALLOCATION, "c1"},
                                    {"H2", 100, FL_CREDIT_ALLOCATION, "c2"},
                                    {"H3", 100, FL_CREDIT_DEPOSIT, "c3"}};
    const fl_settlement_query query = {.merchant_code = "PH1", .from = "2026-01-01",
                                       .to = "2026-01-31"};
    const fl_person new_person = {.person_no = "K", .name = "K", .region = "110101",
                                  .scheme = FL_SCHEME_RESIDENT};
    const fl_merchant new_merchant = {.code = "PH1", .name = "PH1", .kind = FL_MERCHANT_PHARMACY,
                                      .region = "110101"};
    switch (which) {
    case 0: fl_person_add(client, &new_person, &person); break;
    case 1: fl_person_get(client, "K", &person); break;
    case 2: fl_account_open(client, "H1", &account); break;
    case 3: fl_account_get(client, "H1", &account); break;
    case 4: fl_account_aid_given(client, "H1", &account, given, 8, &count); break;
    case 5: fl_account_credit(client, "H1", 100, FL_CREDIT_ALLOCATION, "c1", &credit); break;
    case 6: fl_statement(client, "H1", 0, false, lines, 8, &count, &number); break;
    case 7: fl_head_get(client, &head); break;
    case 8: fl_day_close(client, "2026-01-01", text, &number); break;
    case 9:
        if (fl_entry_get(client, 3, &entry) == 0)
            fl_entry_release(&entry);
        break;
    case 10: fl_family_bind(client, "H1", "K", FL_RELATION_PARENT, &binding); break;
    case 11: fl_family_unbind(client, "H1", "K", &binding); break;
    case 12: fl_family_list(client, "K", &family); break;
    case 13: fl_family_order(client, "K", holders, 2, &family); break;
    case 14: fl_merchant_add(client, &new_merchant, &merchant); break;
    case 15: fl_merchant_list_after(client, "", merchants, 8, &count, &more); break;
    case 16: fl_merchant_set_suspended(client, "PH1", true, &merchant); break;
    case 17: fl_quote(client, &settle_request, &settlement); break;
    case 18: fl_settle(client, &settle_request, &settlement); break;
    case 19: fl_settlement_get(client, 7, &settlement); break;
    case 20: fl_settlement_find(client, "PH1", "S1", &settlement); break;
    case 21: fl_reverse(client, "PH1", "S1", &reversal); break;
    case 22: fl_settlement_list(client, &query, on_settlement, NULL, &number); break;
    case 23: fl_aid(client, "K", 0, aid_lines, 8, &count, &number); break;
    case 24: fl_trial_balance(client, &totals); break;
    case 25: fl_merchant_balance(client, "PH1", &books); break;
    case 26: fl_clearing_report(client, "PH1", "2026-01-01", "2026-01-31", &clearing); break;
    case 27: fl_payout_make(client, "PH1", NULL, 100, "p1", &payout); break;
    case 28: fl_cancel(client, "PH1", "C1", 7, &refund, &settlement_after); break;
    case 29: fl_refund_make(client, "PH1", "R1", 7, 100, &refund, &settlement_after); break;
    case 30: fl_account_freeze(client, "H1", true, "court order", &account); break;
    case 31: fl_person_suspend(client, "K", true, "moved", &person); break;
    case 32: fl_person_deceased(client, "K", "certificate-1", &person); break;
    case 33:
        fl_withdraw(client, "H1", FL_WITHDRAWAL_EMIGRATION, "w1", 0, NULL, NULL, &movement);
        break;
    case 34: fl_transfer_out(client, "H1", "310101", "t1", &movement); break;
    case 35: fl_transfer_in(client, "H1", 100, "310101", "t2", &movement); break;
    case 36: fl_credit_batch(client, items, 3, outcomes); break;
    case 37: fl_verify(client, &report, NULL, NULL); break;
    case 38: fl_verify_walk(client, &report, NULL, NULL); break;
    case 39: fl_export_day(client, "2026-01-01", FL_EXPORT_CSV, sink, &number); break;
    case 40: fl_merchant_day(client, "PH1", "2026-01-01", on_settlement, on_refund, NULL); break;
    case 41: fl_wallet_send_make(client, "H1", "K", 100, "ws1", &send); break;
    case 42: fl_wallet_accept(client, "ws1", &send); break;
    case 43: fl_wallet_get(client, "K", &wallet); break;
    case 44: fl_hold_make(client, &settle_request, 60, &hold); break;
    case 45: fl_hold_release(client, 9, &hold); break;
    case 46: fl_family_limit(client, "H1", "K", 100, 1000); break;
    case 47: fl_subscribe(client, 1, false, on_event, NULL, &number); break;
    case 48: fl_stats_get(client, &stats); break;
    case 49: fl_metrics_write(client, FL_METRICS_TEXT, sink); break;
    case 50: fl_timezone_get(client, text); break;
    case 51: {
        size_t answered = 0;
        if (fl_send_settle(client, &settle_request, on_result, &answered) == 0)
            fl_async_wait(client, 0);
        break;
    }
    case 52: {
        size_t answered = 0;
        fl_batch *batch = fl_batch_new();
        if (!batch)
            abort();
        fl_batch_settle(batch, &settle_request);
        fl_batch_refund(batch, "PH1", "R1", 7, 100);
        fl_batch_credit(batch, "H1", 100, FL_CREDIT_ALLOCATION, "c1");
        if (fl_send_batch(client, batch, on_result, &answered) == 0)
            fl_async_wait(client, 0);
        fl_batch_free(batch);
        break;
    }
    case 53: {
        fl_posting postings[FL_POSTINGS_MAX];
        fl_entry_postings(client, 3, postings, &count);
        break;
    }
    case 54: {
        int64_t wallet_fen;
        fl_withdraw_wallet(client, "K", FL_WITHDRAWAL_DEATH, "w2", 0, NULL, "heir", &movement,
                           &wallet_fen);
        break;
    }
    case 55: fl_recover(client, "PH1", 100, "k1", &payout); break;
    case 57: {
        int64_t owed_fen;
        fl_person_get_owed(client, "K", &person, &owed_fen);
        break;
    }
    case 56: {
        static fl_wallet_line wallet_lines[8];
        fl_wallet_statement(client, "K", 0, false, wallet_lines, 8, &count, &number);
        break;
    }
    case 58: {
        fl_emergency_claim claim;
        fl_emergency_claim_make(client, "K", 100, "H", "R1", "e1", &claim);
        break;
    }
    case 59: {
        fl_emergency_claim claim;
        fl_emergency_claim_close(client, 5, 0, false, NULL, &claim);
        break;
    }
    case 60: {
        static fl_emergency_claim claims[8];
        char today[11];
        fl_emergency_claim_list(client, NULL, true, false, 0, claims, 8, &count, &number, today);
        break;
    }
    case 61: {
        static fl_calendar calendar;
        const char *holiday[] = {"2027-01-01"};
        fl_calendar_set(client, 2027, holiday, 1, NULL, 0, &calendar);
        break;
    }
    case 62: {
        static fl_calendar calendar;
        fl_calendar_get(client, 2027, &calendar);
        break;
    }
    case 63: {
        /* Pages until a reply says none follow: a cursor that does not go back must end it. */
        static fl_month_credits months[12];
        static fl_credit_line credits[8];
        uint32_t year;
        fl_account_credits(client, "A", 0, &year, months, credits, 8, &count);
        break;
    }
    default: fl_merchant_list(client, merchants, 8, &count); break;
    }
}
#define CALLS 65

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sink = fopen("/dev/null", "w");
    return sink ? 0 : -1;
}

/* Write one reply frame, `request_id` first, then the fuzzer's bytes; false when the socket's
 * buffer is full (the rest of the input is dropped). */
static bool reply_write(int fd, uint64_t request_id, const uint8_t *body, size_t bytes)
{
    uint8_t prefix[FRAME_HEADER_BYTES + 11];
    size_t id_bytes = 0;
    uint8_t *id = prefix + FRAME_HEADER_BYTES;
    id[id_bytes++] = 0x08; /* field 1, varint */
    for (uint64_t value = request_id; ; value >>= 7) {
        id[id_bytes++] = (uint8_t)(value & 0x7f) | (value >= 0x80 ? 0x80 : 0);
        if (value < 0x80)
            break;
    }
    frame_header_encode(prefix, (uint32_t)(id_bytes + bytes));
    size_t prefix_bytes = FRAME_HEADER_BYTES + id_bytes;
    if (send(fd, prefix, prefix_bytes, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)prefix_bytes)
        return false;
    return bytes == 0 || send(fd, body, bytes, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)bytes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) != 0)
        abort();
    int buffer_bytes = 4 << 20;
    setsockopt(pair[1], SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof(buffer_bytes));
    setsockopt(pair[0], SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof(buffer_bytes));
    const uint8_t *rest = data + 1, *end = data + size;
    for (uint64_t request_id = 1; rest <= end; request_id++) {
        const uint8_t *cut = memmem(rest, (size_t)(end - rest), REPLY_SEPARATOR,
                                    sizeof(REPLY_SEPARATOR));
        const uint8_t *stop = cut ? cut : end;
        if (!reply_write(pair[1], request_id, rest, (size_t)(stop - rest)) || !cut)
            break;
        rest = cut + sizeof(REPLY_SEPARATOR);
    }
    close(pair[1]);

    fl_client *client = calloc(1, sizeof(*client));
    if (!client)
        abort();
    client->fd = pair[0];
    client->timeout_ms = 1000;
    call(client, data[0] % CALLS);
    fl_client_close(client);
    return 0;
}
