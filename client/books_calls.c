/* books_calls.c -- client calls for clearing and the books: trial balance, merchant balances,
 * clearing reports, payouts; and reversal and lookup by merchant reference. */
#include "client_internal.h"

#include <stdlib.h>
#include <string.h>

int fl_trial_balance(fl_client *client, fl_books_totals *balance)
{
    Famledger__TrialBalanceRequest body = FAMLEDGER__TRIAL_BALANCE_REQUEST__INIT;
    Famledger__Response *response;
    int rc = client_call_body(client, FAMLEDGER__REQUEST__BODY_TRIAL_BALANCE, &body,
                              FAMLEDGER__RESPONSE__BODY_TRIAL_BALANCE, &response);
    if (rc)
        return rc;
    memset(balance, 0, sizeof(*balance));
    const Famledger__TrialBalanceReply *reply = response->trial_balance;
    for (size_t i = 0; i < reply->n_classes; i++)
        if (reply->classes[i]->account_class > 0 &&
            reply->classes[i]->account_class <= FL_ACCOUNT_CLASSES)
            balance->class_total_fen[reply->classes[i]->account_class] =
                reply->classes[i]->balance_fen;
    balance->total_fen = reply->total_fen;
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_merchant_balance(fl_client *client, const char *code, fl_merchant_books *balance)
{
    Famledger__MerchantBalanceRequest body = FAMLEDGER__MERCHANT_BALANCE_REQUEST__INIT;
    body.code = (char *)code;
    Famledger__Response *response;
    int rc = client_call_body(client, FAMLEDGER__REQUEST__BODY_MERCHANT_BALANCE, &body,
                              FAMLEDGER__RESPONSE__BODY_MERCHANT_BALANCE, &response);
    if (rc)
        return rc;
    const Famledger__MerchantBalanceReply *reply = response->merchant_balance;
    memset(balance, 0, sizeof(*balance));
    client_copy(balance->code, sizeof(balance->code), reply->code);
    balance->payable_fen = reply->payable_fen;
    balance->settled_fen = reply->settled_fen;
    balance->refunded_fen = reply->refunded_fen;
    balance->paid_out_fen = reply->paid_out_fen;
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_clearing_report(fl_client *client, const char *merchant_code, const char *from,
                       const char *to, fl_clearing *clearing)
{
    Famledger__ClearingRequest body = FAMLEDGER__CLEARING_REQUEST__INIT;
    body.merchant_code = (char *)merchant_code;
    body.from = (char *)from;
    body.to = (char *)to;
    Famledger__Response *response;
    int rc = client_call_body(client, FAMLEDGER__REQUEST__BODY_CLEARING, &body,
                              FAMLEDGER__RESPONSE__BODY_CLEARING, &response);
    if (rc)
        return rc;
    const Famledger__ClearingReply *reply = response->clearing;
    memset(clearing, 0, sizeof(*clearing));
    client_copy(clearing->merchant_code, sizeof(clearing->merchant_code), reply->merchant_code);
    clearing->opening_owed_fen = reply->opening_owed_fen;
    clearing->closing_owed_fen = reply->closing_owed_fen;
    for (size_t i = 0; i < reply->n_days && i < FL_CLEARING_DAYS_MAX; i++) {
        fl_clearing_day *day = &clearing->days[clearing->day_count++];
        client_copy(day->date, sizeof(day->date), reply->days[i]->date);
        day->settled_fen = reply->days[i]->settled_fen;
        day->refunded_fen = reply->days[i]->refunded_fen;
        day->paid_out_fen = reply->days[i]->paid_out_fen;
        day->owed_fen = reply->days[i]->owed_fen;
    }
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

/* A payout (request kind PAYOUT) or a recovery (RECOVERY): one request, one reply. */
static int payout_call(fl_client *client, Famledger__Request__BodyCase kind,
                       const char *merchant_code, const char *person_no, int64_t amount_fen,
                       const char *reference, fl_payout *payout)
{
    Famledger__PayoutRequest body = FAMLEDGER__PAYOUT_REQUEST__INIT;
    body.merchant_code = (char *)(merchant_code ? merchant_code : "");
    body.person_no = (char *)(person_no ? person_no : "");
    body.amount_fen = amount_fen;
    body.reference = (char *)reference;
    Famledger__Response *response;
    int rc = client_call_body(client, kind, &body, FAMLEDGER__RESPONSE__BODY_PAYOUT, &response);
    if (rc)
        return rc;
    const Famledger__Payout *got = response->payout->payout;
    if (payout) {
        memset(payout, 0, sizeof(*payout));
        payout->seq = got->seq;
        client_copy(payout->merchant_code, sizeof(payout->merchant_code), got->merchant_code);
        client_copy(payout->person_no, sizeof(payout->person_no), got->person_no);
        payout->amount_fen = got->amount_fen;
        client_copy(payout->reference, sizeof(payout->reference), got->reference);
        payout->owed_after_fen = got->owed_after_fen;
        client_copy(payout->region, sizeof(payout->region), got->region);
        payout->replayed = response->replayed;
    }
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_payout_make(fl_client *client, const char *merchant_code, const char *person_no,
                   int64_t amount_fen, const char *reference, fl_payout *payout)
{
    return payout_call(client, FAMLEDGER__REQUEST__BODY_PAYOUT, merchant_code, person_no,
                       amount_fen, reference, payout);
}

int fl_recover(fl_client *client, const char *merchant_code, int64_t amount_fen,
               const char *reference, fl_payout *recovery)
{
    return payout_call(client, FAMLEDGER__REQUEST__BODY_RECOVERY, merchant_code, NULL,
                       amount_fen, reference, recovery);
}

int fl_settlement_find(fl_client *client, const char *merchant_code, const char *reference,
                       fl_settlement *settlement)
{
    Famledger__SettlementGetRequest get = FAMLEDGER__SETTLEMENT_GET_REQUEST__INIT;
    get.merchant_code = (char *)merchant_code;
    get.merchant_reference = (char *)reference;
    Famledger__Response *response;
    int rc = client_call_body(client, FAMLEDGER__REQUEST__BODY_SETTLEMENT_GET, &get,
                              FAMLEDGER__RESPONSE__BODY_SETTLEMENT, &response);
    if (rc)
        return rc;
    client_settlement_copy(settlement, response->settlement->settlement, false);
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_reverse(fl_client *client, const char *merchant_code, const char *reference,
               fl_reversal *reversal)
{
    Famledger__ReverseRequest body = FAMLEDGER__REVERSE_REQUEST__INIT;
    body.merchant_code = (char *)merchant_code;
    body.merchant_reference = (char *)reference;
    Famledger__Response *response;
    int rc = client_call_body(client, FAMLEDGER__REQUEST__BODY_REVERSE, &body,
                              FAMLEDGER__RESPONSE__BODY_REVERSE, &response);
    if (rc)
        return rc;
    const Famledger__ReverseReply *reply = response->reverse;
    if (reversal) {
        memset(reversal, 0, sizeof(*reversal));
        reversal->seq = reply->seq;
        reversal->settlement_found = reply->settlement_found;
        reversal->replayed = response->replayed;
        if (reply->settlement)
            client_settlement_copy(&reversal->settlement, reply->settlement, false);
        reversal->money_returned = reply->refund != NULL;
        if (reply->refund)
            client_refund_copy(&reversal->refund, reply->refund, response->replayed);
    }
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_settlement_list(fl_client *client, const fl_settlement_query *query,
                       fl_settlement_cb settlement_cb, void *context, uint64_t *next_cursor)
{
    Famledger__SettlementListRequest body = FAMLEDGER__SETTLEMENT_LIST_REQUEST__INIT;
    body.patient = (char *)(query->patient ? query->patient : "");
    body.merchant_code = (char *)(query->merchant_code ? query->merchant_code : "");
    body.from = (char *)(query->from ? query->from : "");
    body.to = (char *)(query->to ? query->to : "");
    body.cursor = query->cursor;
    body.limit = query->limit;
    Famledger__Response *response;
    int rc = client_call_body(client, FAMLEDGER__REQUEST__BODY_SETTLEMENT_LIST, &body,
                              FAMLEDGER__RESPONSE__BODY_SETTLEMENT_LIST, &response);
    if (rc)
        return rc;
    const Famledger__SettlementListReply *reply = response->settlement_list;
    *next_cursor = reply->next_cursor;
    /* One at a time: a settlement with all its refunds is large. */
    fl_settlement *settlement = malloc(sizeof(*settlement));
    if (!settlement)
        rc = client_fail(client, FL_ERR_PROTOCOL_ERROR, "out of memory");
    for (size_t i = 0; rc == 0 && i < reply->n_settlements; i++) {
        client_settlement_copy(settlement, reply->settlements[i], false);
        rc = settlement_cb(settlement, context);
    }
    free(settlement);
    famledger__response__free_unpacked(response, NULL);
    return rc;
}

int fl_aid(fl_client *client, const char *person_no, uint64_t cursor, fl_aid_line *lines,
           size_t lines_max, size_t *count, uint64_t *next_cursor)
{
    *count = 0;
    if (lines_max < FL_FUNDERS_MAX)
        return client_fail(client, FL_ERR_INVALID_ARGUMENT, "room for at least %d lines",
                           FL_FUNDERS_MAX);
    Famledger__AidRequest body = FAMLEDGER__AID_REQUEST__INIT;
    body.person_no = (char *)person_no;
    body.cursor = cursor;
    /* Each settlement gives at most one line per funder. */
    size_t settlements = lines_max / FL_FUNDERS_MAX;
    body.limit = (uint32_t)(settlements > 500 ? 500 : settlements);
    Famledger__Response *response;
    int rc = client_call_body(client, FAMLEDGER__REQUEST__BODY_AID, &body,
                              FAMLEDGER__RESPONSE__BODY_AID, &response);
    if (rc)
        return rc;
    const Famledger__AidReply *reply = response->aid;
    for (size_t i = 0; i < reply->n_lines && *count < lines_max; i++) {
        const Famledger__AidLine *got = reply->lines[i];
        fl_aid_line *line = &lines[(*count)++];
        memset(line, 0, sizeof(*line));
        line->settlement_id = got->settlement_id;
        line->time_us = got->time_us;
        client_copy(line->merchant_code, sizeof(line->merchant_code), got->merchant_code);
        client_copy(line->holder, sizeof(line->holder), got->holder);
        line->amount_fen = got->amount_fen;
        line->refunded_fen = got->refunded_fen;
    }
    *next_cursor = reply->next_cursor;
    famledger__response__free_unpacked(response, NULL);
    return 0;
}
