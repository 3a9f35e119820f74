/* wallet_calls.c -- the wallet, held quotes and aid limits. */
#include "client_internal.h"

#include <string.h>

static void wallet_send_copy(fl_wallet_send *out, const Famledger__WalletSend *send)
{
    memset(out, 0, sizeof(*out));
    out->send_id = send->send_id;
    client_copy(out->holder, sizeof(out->holder), send->holder);
    client_copy(out->beneficiary, sizeof(out->beneficiary), send->beneficiary);
    out->amount_fen = send->amount_fen;
    client_copy(out->reference, sizeof(out->reference), send->reference);
    out->sent_us = send->sent_us;
    out->return_at_us = send->return_at_us;
    out->state = (fl_wallet_send_state)send->state;
    out->closed_seq = send->closed_seq;
    out->cash_refund_due = send->cash_refund_due;
}

static int wallet_send_call(fl_client *client, Famledger__Request__BodyCase body_case,
                            void *body, fl_wallet_send *send)
{
    Famledger__Response *response;
    int rc = client_call_body(client, body_case, body, FAMLEDGER__RESPONSE__BODY_WALLET_SEND,
                              &response);
    if (rc)
        return rc;
    const Famledger__WalletSendReply *reply = response->wallet_send;
    if (!reply->send) {
        famledger__response__free_unpacked(response, NULL);
        return client_fail(client, FL_ERR_PROTOCOL_ERROR, "the wallet reply is incomplete");
    }
    if (send) {
        wallet_send_copy(send, reply->send);
        send->holder_balance_fen = reply->holder_balance_fen;
        send->wallet_balance_fen = reply->wallet_balance_fen;
        send->replayed = response->replayed;
    }
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_wallet_send_make(fl_client *client, const char *holder, const char *beneficiary,
                        int64_t amount_fen, const char *reference, fl_wallet_send *send)
{
    Famledger__WalletSendRequest body = FAMLEDGER__WALLET_SEND_REQUEST__INIT;
    body.holder = (char *)holder;
    body.beneficiary = (char *)beneficiary;
    body.amount_fen = amount_fen;
    body.reference = (char *)reference;
    return wallet_send_call(client, FAMLEDGER__REQUEST__BODY_WALLET_SEND, &body, send);
}

int fl_wallet_accept(fl_client *client, const char *reference, fl_wallet_send *send)
{
    Famledger__WalletSendCloseRequest body = FAMLEDGER__WALLET_SEND_CLOSE_REQUEST__INIT;
    body.reference = (char *)reference;
    return wallet_send_call(client, FAMLEDGER__REQUEST__BODY_WALLET_ACCEPT, &body, send);
}

int fl_wallet_decline(fl_client *client, const char *reference, fl_wallet_send *send)
{
    Famledger__WalletSendCloseRequest body = FAMLEDGER__WALLET_SEND_CLOSE_REQUEST__INIT;
    body.reference = (char *)reference;
    return wallet_send_call(client, FAMLEDGER__REQUEST__BODY_WALLET_DECLINE, &body, send);
}

int fl_wallet_get(fl_client *client, const char *person_no, fl_wallet *wallet)
{
    Famledger__WalletGetRequest body = FAMLEDGER__WALLET_GET_REQUEST__INIT;
    body.person_no = (char *)person_no;
    Famledger__Response *response;
    int rc = client_call_body(client, FAMLEDGER__REQUEST__BODY_WALLET_GET, &body,
                              FAMLEDGER__RESPONSE__BODY_WALLET, &response);
    if (rc)
        return rc;
    const Famledger__WalletReply *reply = response->wallet;
    memset(wallet, 0, sizeof(*wallet));
    client_copy(wallet->person_no, sizeof(wallet->person_no), reply->person_no);
    wallet->balance_fen = reply->balance_fen;
    wallet->held_fen = reply->held_fen;
    wallet->sends_today = reply->sends_today;
    for (size_t i = 0; i < reply->n_sends_out && i < 1; i++)
        wallet_send_copy(&wallet->sends_out[wallet->sends_out_count++], reply->sends_out[i]);
    for (size_t i = 0; i < reply->n_sends_in && i < FL_WALLET_PENDING_MAX; i++)
        wallet_send_copy(&wallet->sends_in[wallet->sends_in_count++], reply->sends_in[i]);
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_wallet_statement(fl_client *client, const char *person_no, uint64_t cursor,
                        bool oldest_first, fl_wallet_line *lines, size_t lines_max,
                        size_t *count, uint64_t *next_cursor)
{
    Famledger__Response *response;
    int rc = client_statement_call(client, FAMLEDGER__REQUEST__BODY_WALLET_STATEMENT, person_no,
                                   cursor, oldest_first, lines_max, count, next_cursor,
                                   &response);
    if (rc)
        return rc;
    const Famledger__StatementReply *reply = response->statement;
    for (size_t i = 0; i < reply->n_lines && i < lines_max; i++) {
        const Famledger__StatementLine *line = reply->lines[i];
        fl_wallet_line *out = &lines[(*count)++];
        memset(out, 0, sizeof(*out));
        out->seq = line->seq;
        out->time_us = line->time_us;
        client_copy(out->type, sizeof(out->type), line->type);
        out->amount_fen = line->amount_fen;
        out->balance_after_fen = line->balance_after_fen;
        client_copy(out->reference, sizeof(out->reference), line->reference);
        client_copy(out->merchant, sizeof(out->merchant), line->merchant);
        client_copy(out->holder, sizeof(out->holder), line->holder);
    }
    *next_cursor = reply->next_cursor;
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

static int hold_call(fl_client *client, Famledger__Request__BodyCase body_case, void *body,
                     fl_hold *hold)
{
    Famledger__Response *response;
    int rc = client_call_body(client, body_case, body, FAMLEDGER__RESPONSE__BODY_HOLD, &response);
    if (rc)
        return rc;
    const Famledger__Hold *reply = response->hold->hold;
    if (!reply || !reply->quote) {
        famledger__response__free_unpacked(response, NULL);
        return client_fail(client, FL_ERR_PROTOCOL_ERROR, "the hold reply is incomplete");
    }
    if (hold) {
        memset(hold, 0, sizeof(*hold));
        hold->hold_id = reply->hold_id;
        hold->state = (fl_hold_state)reply->state;
        hold->expires_at_us = reply->expires_at_us;
        hold->closed_seq = reply->closed_seq;
        hold->replayed = response->replayed;
        client_settlement_copy(&hold->quote, reply->quote, response->replayed);
    }
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_hold_make(fl_client *client, const fl_settle_request *in, uint32_t hold_seconds,
                 fl_hold *hold)
{
    Famledger__SettleRequest quote = FAMLEDGER__SETTLE_REQUEST__INIT;
    quote.merchant_code = (char *)in->merchant_code;
    quote.merchant_reference = (char *)in->merchant_reference;
    quote.patient = (char *)in->patient;
    quote.amount_fen = in->amount_fen;
    quote.category = (Famledger__Category)in->category;
    quote.no_account = in->no_account;
    quote.all_or_nothing = in->all_or_nothing;
    Famledger__HoldRequest body = FAMLEDGER__HOLD_REQUEST__INIT;
    body.quote = &quote;
    body.hold_seconds = hold_seconds;
    return hold_call(client, FAMLEDGER__REQUEST__BODY_HOLD, &body, hold);
}

int fl_hold_release(fl_client *client, uint64_t hold_id, fl_hold *hold)
{
    Famledger__HoldReleaseRequest body = FAMLEDGER__HOLD_RELEASE_REQUEST__INIT;
    body.hold_id = hold_id;
    return hold_call(client, FAMLEDGER__REQUEST__BODY_HOLD_RELEASE, &body, hold);
}

int fl_family_limit(fl_client *client, const char *holder, const char *beneficiary,
                    int64_t monthly_fen, int64_t yearly_fen)
{
    Famledger__FamilyLimitRequest body = FAMLEDGER__FAMILY_LIMIT_REQUEST__INIT;
    body.holder = (char *)holder;
    body.beneficiary = (char *)beneficiary;
    body.monthly_fen = monthly_fen;
    body.yearly_fen = yearly_fen;
    Famledger__Response *response;
    int rc = client_call_body(client, FAMLEDGER__REQUEST__BODY_FAMILY_LIMIT, &body,
                              FAMLEDGER__RESPONSE__BODY_AID_LIMIT, &response);
    if (rc == 0)
        famledger__response__free_unpacked(response, NULL);
    return rc;
}
