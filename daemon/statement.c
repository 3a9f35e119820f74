/* statement.c -- an account's statement: every entry that touched it, paged by sequence. */
#include "statement.h"

#include "account.h"
#include "ledger.h"
#include "fl_limits.h"

#include <string.h>

#define CREDITS_WALK_MAX 4096  /* entries of the statement read for one reply */
#define CREDITS_LINES_MAX 1000 /* credits in one reply */
#define CREDITS_PAGE 256       /* links looked up at a time */

bool statement_line_from_entry(const Famledger__Entry *entry, const char *person_no,
                               Famledger__StatementLine *line)
{
    line->seq = entry->seq;
    line->time_us = entry->time_us;
    line->type = (char *)ledger_entry_type_name(entry);
    line->amount_fen = 0;
    line->balance_after_fen = 0;
    line->reference = (char *)"";
    line->patient = (char *)"";
    line->merchant = (char *)"";
    switch (entry->body_case) {
    case FAMLEDGER__ENTRY__BODY_ACCOUNT_OPENED:
        return strcmp(entry->account_opened->person_no, person_no) == 0;
    case FAMLEDGER__ENTRY__BODY_ACCOUNT_REOPENED:
        return strcmp(entry->account_reopened->person_no, person_no) == 0;
    case FAMLEDGER__ENTRY__BODY_PERSON_MIGRATED:
        line->amount_fen = entry->person_migrated->opening_balance_fen;
        line->balance_after_fen = entry->person_migrated->opening_balance_fen;
        return strcmp(entry->person_migrated->person_no, person_no) == 0;
    case FAMLEDGER__ENTRY__BODY_ACCOUNT_CREDITED: {
        const Famledger__AccountCredited *credited = entry->account_credited;
        line->amount_fen = credited->amount_fen;
        line->balance_after_fen = credited->balance_after_fen;
        line->reference = credited->reference;
        return strcmp(credited->person_no, person_no) == 0;
    }
    case FAMLEDGER__ENTRY__BODY_SETTLED: {
        const Famledger__Settlement *settlement = entry->settled->settlement;
        line->reference = settlement->merchant_reference;
        /* For whom and where: what a family reads on a mutual-aid line. */
        line->patient = settlement->patient;
        line->merchant = settlement->merchant_code;
        for (size_t i = 0; i < settlement->n_legs; i++) {
            if (!settlement->legs[i]->wallet &&
                strcmp(settlement->legs[i]->holder, person_no) == 0) {
                line->amount_fen = -settlement->legs[i]->amount_fen;
                line->balance_after_fen = settlement->legs[i]->balance_after_fen;
                return true;
            }
        }
        return false;
    }
    case FAMLEDGER__ENTRY__BODY_ACCOUNT_FROZEN:
        line->reference = entry->account_frozen->reason;
        line->balance_after_fen = entry->account_frozen->balance_fen;
        return strcmp(entry->account_frozen->person_no, person_no) == 0;
    case FAMLEDGER__ENTRY__BODY_WITHDRAWN:
    case FAMLEDGER__ENTRY__BODY_TRANSFERRED_OUT:
    case FAMLEDGER__ENTRY__BODY_TRANSFERRED_IN: {
        const Famledger__Movement *movement =
            entry->body_case == FAMLEDGER__ENTRY__BODY_WITHDRAWN ? entry->withdrawn->movement
            : entry->body_case == FAMLEDGER__ENTRY__BODY_TRANSFERRED_OUT
                ? entry->transferred_out->movement
                : entry->transferred_in->movement;
        line->amount_fen = entry->body_case == FAMLEDGER__ENTRY__BODY_TRANSFERRED_IN
                               ? movement->amount_fen
                               : -movement->amount_fen;
        line->balance_after_fen = movement->balance_after_fen;
        line->reference = movement->reference;
        return strcmp(movement->person_no, person_no) == 0;
    }
    case FAMLEDGER__ENTRY__BODY_REFUNDED:
    case FAMLEDGER__ENTRY__BODY_REVERSED: {
        bool reversal = entry->body_case == FAMLEDGER__ENTRY__BODY_REVERSED;
        const Famledger__Refund *refund = reversal ? entry->reversed->refund
                                                   : entry->refunded->refund;
        if (!refund) /* a reversal that found nothing to give back */
            return false;
        line->reference = refund->reference;
        line->merchant = reversal ? entry->reversed->request->merchant_code
                                  : entry->refunded->merchant_code;
        line->patient = reversal ? (char *)"" : entry->refunded->patient;
        for (size_t i = 0; i < refund->n_legs; i++) {
            if (!refund->legs[i]->cash_refund_due && !refund->legs[i]->wallet &&
                strcmp(refund->legs[i]->holder, person_no) == 0) {
                line->amount_fen = refund->legs[i]->amount_fen;
                line->balance_after_fen = refund->legs[i]->balance_after_fen;
                return true;
            }
        }
        return false;
    }
    case FAMLEDGER__ENTRY__BODY_WALLET_SENT: {
        const Famledger__WalletSend *send = entry->wallet_sent->send;
        line->amount_fen = -send->amount_fen;
        line->balance_after_fen = entry->wallet_sent->balance_after_fen;
        line->reference = send->reference;
        line->patient = send->beneficiary; /* to whose wallet */
        return strcmp(send->holder, person_no) == 0;
    }
    case FAMLEDGER__ENTRY__BODY_WALLET_SEND_CLOSED: {
        const Famledger__WalletSend *send = entry->wallet_send_closed->send;
        if (send->state == FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_ACCEPTED ||
            send->cash_refund_due)
            return false; /* accepted: the holder's account does not move again */
        line->amount_fen = send->amount_fen;
        line->balance_after_fen = entry->wallet_send_closed->balance_after_fen;
        line->reference = send->reference;
        line->patient = send->beneficiary;
        return strcmp(send->holder, person_no) == 0;
    }
    case FAMLEDGER__ENTRY__BODY_EMERGENCY_CLOSED: {
        /* Only a return to the account moves it; the claim's reference names it. */
        const Famledger__EmergencyClaim *claim = entry->emergency_closed->claim;
        if (claim->returned_fen == 0 || claim->cash_refund_due)
            return false;
        line->amount_fen = claim->returned_fen;
        line->balance_after_fen = claim->balance_after_fen;
        line->reference = claim->request->reference;
        return strcmp(claim->request->patient, person_no) == 0;
    }
    default:
        return false;
    }
}

int statement_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__StatementRequest *query = request->statement;
    Famledger__Account *account;
    int rc = account_require(ctx, query->person_no, "person", NULL, &account);
    if (rc)
        return rc;
    size_t limit = query->limit == 0 ? STATEMENT_ROWS_DEFAULT : query->limit;
    if (limit > STATEMENT_ROWS_MAX)
        limit = STATEMENT_ROWS_MAX;

    uint64_t *seqs = ARENA_ARRAY(ctx->arena, uint64_t, limit);
    size_t count;
    Famledger__StatementReply *reply = ARENA_NEW(ctx->arena, Famledger__StatementReply);
    famledger__statement_reply__init(reply);
    rc = store_chain_page(ctx->txn, STORE_DB_ACCOUNT_LINKS, query->person_no,
                          strlen(query->person_no), account->last_seq, query->cursor,
                          !query->oldest_first, seqs, limit, &count, &reply->next_cursor);
    if (rc)
        return request_fail(ctx, rc, "cannot read the statement of %s", query->person_no);

    reply->lines = ARENA_ARRAY(ctx->arena, Famledger__StatementLine *, count ? count : 1);
    for (size_t i = 0; i < count; i++) {
        Famledger__Entry *entry;
        rc = ledger_entry_read(ctx->txn, ctx->arena, seqs[i], &entry);
        if (rc <= 0)
            return request_fail(ctx, FL_ERR_INTERNAL, "entry %llu of the statement is unreadable",
                                (unsigned long long)seqs[i]);
        Famledger__StatementLine *line = ARENA_NEW(ctx->arena, Famledger__StatementLine);
        famledger__statement_line__init(line);
        statement_line_from_entry(entry, query->person_no, line);
        reply->lines[reply->n_lines++] = line;
    }
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_STATEMENT;
    ctx->response->statement = reply;
    return 0;
}

static Famledger__CreditsReply *credits_reply_new(struct request_ctx *ctx,
                                                  const char *person_no, uint32_t year)
{
    Famledger__CreditsReply *reply = ARENA_NEW(ctx->arena, Famledger__CreditsReply);
    famledger__credits_reply__init(reply);
    reply->person_no = (char *)person_no;
    reply->year = year;
    reply->n_months = 12;
    reply->months = ARENA_ARRAY(ctx->arena, Famledger__MonthCredits *, 12);
    for (uint32_t i = 0; i < 12; i++) {
        reply->months[i] = ARENA_NEW(ctx->arena, Famledger__MonthCredits);
        famledger__month_credits__init(reply->months[i]);
        reply->months[i]->month = i + 1;
    }
    reply->credits = ARENA_ARRAY(ctx->arena, Famledger__CreditLine *, CREDITS_LINES_MAX);
    return reply;
}

/* Count `credited` (of the year asked, in `month`) into the reply. */
static void credits_add(struct request_ctx *ctx, Famledger__CreditsReply *reply,
                        const Famledger__Entry *entry, uint32_t month)
{
    const Famledger__AccountCredited *credited = entry->account_credited;
    Famledger__MonthCredits *total = reply->months[month - 1];
    if (credited->kind == FAMLEDGER__CREDIT_KIND__CREDIT_DEPOSIT)
        total->deposited_fen += credited->amount_fen;
    else
        total->allocated_fen += credited->amount_fen;
    total->count++;
    Famledger__CreditLine *line = ARENA_NEW(ctx->arena, Famledger__CreditLine);
    famledger__credit_line__init(line);
    line->seq = entry->seq;
    line->time_us = entry->time_us;
    line->kind = credited->kind;
    line->amount_fen = credited->amount_fen;
    line->reference = credited->reference;
    line->balance_after_fen = credited->balance_after_fen;
    reply->credits[reply->n_credits++] = line;
}

int statement_credits_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__CreditsRequest *query = request->credits;
    Famledger__Account *account;
    int rc = account_require(ctx, query->person_no, "person", NULL, &account);
    if (rc)
        return rc;
    uint32_t year = query->year ? query->year : ledger_business_month(ctx->time_us) / 100;
    if (year < 2000 || year > 9999)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "year must be from 2000 to 9999");
    Famledger__CreditsReply *reply = credits_reply_new(ctx, query->person_no, year);

    /* Newest first: entries of later years are passed over, the first of an earlier year ends
     * the walk. A reply stops early, where the next one starts, after CREDITS_WALK_MAX entries
     * or CREDITS_LINES_MAX credits (a request on the loop thread stays short). */
    uint64_t cursor = query->cursor, seqs[CREDITS_PAGE];
    size_t walked = 0;
    bool ended = false;
    while (!ended) {
        size_t count;
        uint64_t next;
        rc = store_chain_page(ctx->txn, STORE_DB_ACCOUNT_LINKS, query->person_no,
                              strlen(query->person_no), account->last_seq, cursor, true, seqs,
                              CREDITS_PAGE, &count, &next);
        if (rc)
            return request_fail(ctx, rc, "cannot read the statement of %s", query->person_no);
        for (size_t i = 0; i < count && !ended; i++) {
            if (walked == CREDITS_WALK_MAX || reply->n_credits == CREDITS_LINES_MAX) {
                reply->next_cursor = seqs[i];
                ended = true;
                break;
            }
            walked++;
            Famledger__Entry *entry;
            if (ledger_entry_read(ctx->txn, ctx->arena, seqs[i], &entry) <= 0)
                return request_fail(ctx, FL_ERR_INTERNAL, "entry %llu of the statement of %s "
                                    "is unreadable", (unsigned long long)seqs[i],
                                    query->person_no);
            uint32_t month = ledger_business_month(entry->time_us);
            if (month / 100 < year)
                ended = true;
            else if (month / 100 == year &&
                     entry->body_case == FAMLEDGER__ENTRY__BODY_ACCOUNT_CREDITED &&
                     strcmp(entry->account_credited->person_no, query->person_no) == 0)
                credits_add(ctx, reply, entry, month % 100);
        }
        ended = ended || next == 0;
        cursor = next;
    }
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_CREDITS;
    ctx->response->credits = reply;
    return 0;
}
