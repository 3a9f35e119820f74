/* lifecycle_calls.c -- client calls for freezes, suspensions, withdrawals, transfers and
 * credit batches. */
#include "client_internal.h"
#include "wire_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fl_account_freeze(fl_client *client, const char *person_no, bool frozen, const char *reason,
                      fl_account *account)
{
    Famledger__AccountFreezeRequest body = FAMLEDGER__ACCOUNT_FREEZE_REQUEST__INIT;
    body.person_no = (char *)person_no;
    body.frozen = frozen;
    body.reason = (char *)(reason ? reason : "");
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_ACCOUNT_FREEZE;
    request.account_freeze = &body;
    Famledger__Response *response;
    int rc = client_call_expect(client, &request, FAMLEDGER__RESPONSE__BODY_ACCOUNT, &response);
    if (rc)
        return rc;
    if (account) {
        const Famledger__Account *got = response->account->account;
        memset(account, 0, sizeof(*account));
        client_copy(account->person_no, sizeof(account->person_no), got->person_no);
        account->status = (fl_account_status)got->status;
        account->balance_fen = got->balance_fen;
        account->credited_fen = got->credited_fen;
        account->debited_fen = got->debited_fen;
        account->opened_seq = got->opened_seq;
        account->last_seq = got->last_seq;
    }
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_person_suspend(fl_client *client, const char *person_no, bool suspended,
                      const char *reason, fl_person *person)
{
    Famledger__PersonSuspendRequest body = FAMLEDGER__PERSON_SUSPEND_REQUEST__INIT;
    body.person_no = (char *)person_no;
    body.suspended = suspended;
    body.reason = (char *)(reason ? reason : "");
    return client_person_call(client, FAMLEDGER__REQUEST__BODY_PERSON_SUSPEND, &body, person);
}

static int movement_call(fl_client *client, Famledger__Request *request, fl_movement *movement,
                         int64_t *wallet_fen)
{
    Famledger__Response *response;
    int rc = client_call_expect(client, request, FAMLEDGER__RESPONSE__BODY_MOVEMENT, &response);
    if (rc)
        return rc;
    if (movement) {
        const Famledger__Movement *got = response->movement->movement;
        memset(movement, 0, sizeof(*movement));
        movement->seq = got->seq;
        client_copy(movement->person_no, sizeof(movement->person_no), got->person_no);
        client_copy(movement->kind, sizeof(movement->kind), got->kind);
        movement->reason = (fl_withdrawal_reason)got->reason;
        movement->amount_fen = got->amount_fen;
        movement->balance_after_fen = got->balance_after_fen;
        movement->account_closed = got->account_closed;
        movement->bindings_ended = got->bindings_ended;
        client_copy(movement->reference, sizeof(movement->reference), got->reference);
        movement->replayed = response->replayed;
    }
    if (wallet_fen)
        *wallet_fen = response->movement->movement->wallet_fen;
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int fl_withdraw(fl_client *client, const char *person_no, fl_withdrawal_reason reason,
                const char *reference, int64_t amount_fen, const char *disease_code,
                const char *heir, fl_movement *movement)
{
    return fl_withdraw_wallet(client, person_no, reason, reference, amount_fen, disease_code,
                              heir, movement, NULL);
}

int fl_withdraw_wallet(fl_client *client, const char *person_no, fl_withdrawal_reason reason,
                       const char *reference, int64_t amount_fen, const char *disease_code,
                       const char *heir, fl_movement *movement, int64_t *wallet_fen)
{
    Famledger__WithdrawRequest body = FAMLEDGER__WITHDRAW_REQUEST__INIT;
    body.person_no = (char *)person_no;
    body.reason = (Famledger__WithdrawalReason)reason;
    body.reference = (char *)reference;
    body.amount_fen = amount_fen;
    body.disease_code = (char *)(disease_code ? disease_code : "");
    body.heir = (char *)(heir ? heir : "");
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_WITHDRAW;
    request.withdraw = &body;
    return movement_call(client, &request, movement, wallet_fen);
}

int fl_transfer_out(fl_client *client, const char *person_no, const char *to_region,
                    const char *reference, fl_movement *movement)
{
    Famledger__TransferOutRequest body = FAMLEDGER__TRANSFER_OUT_REQUEST__INIT;
    body.person_no = (char *)person_no;
    body.to_region = (char *)to_region;
    body.reference = (char *)reference;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_TRANSFER_OUT;
    request.transfer_out = &body;
    return movement_call(client, &request, movement, NULL);
}

int fl_transfer_in(fl_client *client, const char *person_no, int64_t amount_fen,
                   const char *from_region, const char *reference, fl_movement *movement)
{
    return fl_transfer_in_linked(client, person_no, amount_fen, from_region, 0, NULL, reference,
                                 movement);
}

int fl_transfer_in_linked(fl_client *client, const char *person_no, int64_t amount_fen,
                          const char *from_region, uint64_t transfer_out_seq,
                          const char *to_region, const char *reference, fl_movement *movement)
{
    Famledger__TransferInRequest body = FAMLEDGER__TRANSFER_IN_REQUEST__INIT;
    body.person_no = (char *)person_no;
    body.amount_fen = amount_fen;
    body.from_region = (char *)from_region;
    body.reference = (char *)reference;
    body.transfer_out_seq = transfer_out_seq;
    body.to_region = (char *)(to_region ? to_region : "");
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_TRANSFER_IN;
    request.transfer_in = &body;
    return movement_call(client, &request, movement, NULL);
}

int fl_credit_batch(fl_client *client, const fl_credit_item *items, size_t count,
                    fl_credit_outcome *outcomes)
{
    if (count == 0 || count > FL_CREDIT_BATCH_MAX)
        return client_fail(client, FL_ERR_INVALID_ARGUMENT, "a batch holds 1 to %d credits",
                           FL_CREDIT_BATCH_MAX);
    Famledger__CreditRequest *credits = calloc(count, sizeof(*credits));
    Famledger__CreditRequest **pointers = calloc(count, sizeof(*pointers));
    size_t *sent = calloc(count, sizeof(*sent)); /* the item each credit sent is */
    if (!credits || !pointers || !sent) {
        free(credits);
        free(pointers);
        free(sent);
        return client_fail(client, FL_ERR_PROTOCOL_ERROR, "out of memory");
    }
    /* An item whose text no frame may carry is answered here: the daemon would refuse the
     * frame, and with it every other item. */
    size_t n_sent = 0;
    for (size_t i = 0; i < count; i++) {
        if (!wire_text_fits(items[i].person_no) || !wire_text_fits(items[i].reference)) {
            outcomes[i] = (fl_credit_outcome){.status = FL_ERR_INVALID_ARGUMENT};
            snprintf(outcomes[i].error, sizeof(outcomes[i].error),
                     "the person or the reference is not UTF-8 text of at most %d bytes",
                     WIRE_STRING_BYTES_MAX);
            continue;
        }
        Famledger__CreditRequest *credit = &credits[n_sent];
        famledger__credit_request__init(credit);
        credit->person_no = (char *)items[i].person_no;
        credit->amount_fen = items[i].amount_fen;
        credit->kind = (Famledger__CreditKind)items[i].kind;
        credit->reference = (char *)items[i].reference;
        pointers[n_sent] = credit;
        sent[n_sent++] = i;
    }
    int rc = 0;
    Famledger__Response *response = NULL;
    if (n_sent > 0) {
        Famledger__CreditBatchRequest body = FAMLEDGER__CREDIT_BATCH_REQUEST__INIT;
        body.credits = pointers;
        body.n_credits = n_sent;
        Famledger__Request request = FAMLEDGER__REQUEST__INIT;
        request.body_case = FAMLEDGER__REQUEST__BODY_CREDIT_BATCH;
        request.credit_batch = &body;
        rc = client_call_expect(client, &request, FAMLEDGER__RESPONSE__BODY_CREDIT_BATCH,
                                &response);
        if (rc)
            response = NULL; /* none, or freed by the call */
    }
    free(credits);
    free(pointers);
    if (rc == 0 && response && response->credit_batch->n_items != n_sent)
        rc = client_fail(client, FL_ERR_PROTOCOL_ERROR, "the batch reply has %zu items, not %zu",
                         response->credit_batch->n_items, n_sent);
    for (size_t j = 0; rc == 0 && j < n_sent; j++) {
        const Famledger__CreditBatchItem *item = response->credit_batch->items[j];
        fl_credit_outcome *outcome = &outcomes[sent[j]];
        outcome->status = -(int)item->status;
        outcome->replayed = item->replayed;
        outcome->seq = item->seq;
        snprintf(outcome->error, sizeof(outcome->error), "%s", item->error ? item->error : "");
    }
    free(sent);
    if (response)
        famledger__response__free_unpacked(response, NULL);
    return rc;
}

int fl_person_deceased(fl_client *client, const char *person_no, const char *evidence,
                       fl_person *person)
{
    Famledger__PersonDeceasedRequest body = FAMLEDGER__PERSON_DECEASED_REQUEST__INIT;
    body.person_no = (char *)person_no;
    body.evidence = (char *)(evidence ? evidence : "");
    return client_person_call(client, FAMLEDGER__REQUEST__BODY_PERSON_DECEASED, &body, person);
}
