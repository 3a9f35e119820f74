/* refund.c -- cancellations and refunds: money back to the legs it came from.
 *
 * A refund returns part of what the accounts paid; a cancel returns all that is left and closes
 * the settlement to further refunds. Legs are restored in reverse order of deduction: the last
 * account debited is restored first. A leg whose account has closed since is not credited; it
 * is recorded as cash the merchant owes that holder. Cash paid at the counter is the merchant's
 * to return and never enters the ledger.
 */
#include "refund.h"

#include "account.h"
#include "fl_limits.h"
#include "ledger.h"
#include "reference.h"
#include "settle.h"
#include "state.h"
#include "validate.h"

#include <string.h>

struct refund_plan {
    Famledger__Settlement *settlement;
    Famledger__Refund *refund;
    Famledger__Account *accounts[LEGS_MAX]; /* NULL where the refund is cash due */
};

static int refund_validate(struct request_ctx *ctx, Famledger__RefundRequest *refund, bool cancel)
{
    if (!validate_person_no(refund->merchant_code))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "merchant_code must be 1 to 32 letters or digits");
    if (!validate_reference(refund->merchant_reference))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "merchant_reference must be 1 to 64 printable ASCII characters");
    if (refund->settlement_id == 0)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "settlement_id is missing");
    if (cancel && refund->amount_fen != 0)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "a cancel returns all that is left "
                            "and takes no amount; send a refund for part of it");
    if (!cancel && !validate_amount_fen(refund->amount_fen))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "amount must be positive");
    return request_require_merchant(ctx, refund->merchant_code);
}

static int refund_reply(struct request_ctx *ctx, Famledger__Refund *refund,
                        Famledger__Settlement *settlement)
{
    Famledger__RefundReply *reply = ARENA_NEW(ctx->arena, Famledger__RefundReply);
    famledger__refund_reply__init(reply);
    reply->refund = refund;
    reply->settlement = settlement;
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_REFUND;
    ctx->response->refund = reply;
    return 0;
}

/* Restore `amount_fen` to the legs, last first; writes nothing yet. */
static int refund_plan_make(struct request_ctx *ctx, struct refund_plan *plan,
                            int64_t amount_fen)
{
    Famledger__Settlement *settlement = plan->settlement;
    Famledger__Refund *refund = plan->refund;
    refund->legs = ARENA_ARRAY(ctx->arena, Famledger__RefundLeg *, LEGS_MAX);
    int64_t left = amount_fen;
    for (size_t i = settlement->n_legs; i-- > 0 && left > 0;) {
        Famledger__Leg *leg = settlement->legs[i];
        int64_t give = leg->amount_fen - leg->refunded_fen;
        give = give < left ? give : left;
        if (give <= 0)
            continue;
        Famledger__Account *account = NULL;
        int rc = state_account_get(ctx->txn, ctx->arena, leg->holder, &account);
        if (rc < 0)
            return request_fail(ctx, rc, "cannot read the account of %s", leg->holder);
        Famledger__RefundLeg *back = ARENA_NEW(ctx->arena, Famledger__RefundLeg);
        famledger__refund_leg__init(back);
        back->holder = leg->holder;
        back->amount_fen = give;
        if (rc == 0 || account->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED) {
            back->cash_refund_due = 1;
            account = NULL;
        } else {
            back->balance_after_fen = account->balance_fen + give;
        }
        plan->accounts[refund->n_legs] = account;
        refund->legs[refund->n_legs++] = back;
        leg->refunded_fen += give;
        left -= give;
    }
    settlement->refunded_fen += amount_fen;
    return 0;
}

static int refund_record(struct request_ctx *ctx, struct refund_plan *plan,
                         const struct reference_key *key, const uint8_t fingerprint[HASH_BYTES])
{
    Famledger__Settlement *settlement = plan->settlement;
    Famledger__Refunded refunded = FAMLEDGER__REFUNDED__INIT;
    refunded.settlement_id = settlement->settlement_id;
    refunded.merchant_code = settlement->merchant_code;
    refunded.refund = plan->refund;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_REFUNDED;
    entry.refunded = &refunded;
    int rc = ledger_append(ctx, &entry);
    for (size_t i = 0; rc == 0 && i < plan->refund->n_legs; i++)
        if (plan->accounts[i])
            rc = account_move(ctx, plan->accounts[i], plan->refund->legs[i]->amount_fen,
                              entry.seq);
    plan->refund->refund_id = entry.seq;
    Famledger__Refund **refunds = ARENA_ARRAY(ctx->arena, Famledger__Refund *,
                                              settlement->n_refunds + 1);
    if (settlement->n_refunds)
        memcpy(refunds, settlement->refunds, settlement->n_refunds * sizeof(*refunds));
    refunds[settlement->n_refunds++] = plan->refund;
    settlement->refunds = refunds;
    if (rc == 0) {
        uint8_t id[8];
        store_u64_encode(id, settlement->settlement_id);
        rc = state_message_put(ctx->txn, ctx->arena, STORE_DB_SETTLEMENTS, id, sizeof(id),
                               &settlement->base);
    }
    if (rc == 0)
        rc = ledger_index_merchant_day(ctx, settlement->merchant_code, entry.seq);
    if (rc == 0)
        rc = reference_record(ctx->txn, key, fingerprint, entry.seq);
    return rc ? request_fail(ctx, rc, "cannot record the refund") : 0;
}

/* A retry: the refund as its entry recorded it, and the settlement as it stands. */
static int refund_replay(struct request_ctx *ctx, uint64_t seq)
{
    Famledger__Entry *entry;
    int rc = ledger_entry_get(ctx->txn, ctx->arena, seq, &entry, NULL, NULL);
    if (rc <= 0 || entry->body_case != FAMLEDGER__ENTRY__BODY_REFUNDED)
        return request_fail(ctx, FL_ERR_INTERNAL, "refund entry %llu is unreadable",
                            (unsigned long long)seq);
    Famledger__Settlement *settlement;
    if ((rc = settlement_load(ctx, entry->refunded->settlement_id, &settlement)))
        return rc;
    entry->refunded->refund->refund_id = seq;
    ctx->response->replayed = 1;
    return refund_reply(ctx, entry->refunded->refund, settlement);
}

static int refund_checks(struct request_ctx *ctx, const Famledger__RefundRequest *request,
                         bool cancel, Famledger__Settlement *settlement, int64_t *amount_fen)
{
    if (strcmp(settlement->merchant_code, request->merchant_code) != 0)
        return request_fail(ctx, FL_ERR_WRONG_MERCHANT, "settlement %llu belongs to merchant %s",
                            (unsigned long long)settlement->settlement_id,
                            settlement->merchant_code);
    if (settlement->cancelled)
        return request_fail(ctx, FL_ERR_ALREADY_CANCELLED, "settlement %llu is already cancelled",
                            (unsigned long long)settlement->settlement_id);
    /* The cap bounds partial refunds; a cancel is always possible while money is left. */
    if (!cancel && settlement->n_refunds >= REFUNDS_PER_SETTLEMENT_MAX)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "settlement %llu already has %d "
                            "refunds; cancel it instead",
                            (unsigned long long)settlement->settlement_id,
                            REFUNDS_PER_SETTLEMENT_MAX);
    int64_t left = settlement->acct_pay_fen + settlement->acct_mulaid_pay_fen -
                   settlement->refunded_fen;
    *amount_fen = cancel ? left : request->amount_fen;
    if (*amount_fen > left)
        return request_fail(ctx, FL_ERR_REFUND_EXCEEDS_PAID, "only %lld fen of what the accounts "
                            "paid is left to refund", (long long)left);
    return 0;
}

static int refund_run(struct request_ctx *ctx, Famledger__RefundRequest *request, bool cancel)
{
    int rc = refund_validate(ctx, request, cancel);
    if (rc)
        return rc;
    struct reference_key key;
    uint8_t fingerprint[HASH_BYTES];
    uint64_t seq;
    rc = reference_lookup(ctx, 'R', request->merchant_code, request->merchant_reference,
                          &request->base, &key, fingerprint, &seq);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return refund_replay(ctx, seq);

    struct refund_plan plan = {0};
    int64_t amount_fen = 0;
    if ((rc = settlement_load(ctx, request->settlement_id, &plan.settlement)) ||
        (rc = refund_checks(ctx, request, cancel, plan.settlement, &amount_fen)))
        return rc;
    plan.refund = ARENA_NEW(ctx->arena, Famledger__Refund);
    famledger__refund__init(plan.refund);
    plan.refund->reference = request->merchant_reference;
    plan.refund->cancel = cancel;
    plan.refund->amount_fen = amount_fen;
    plan.refund->time_us = ctx->time_us;
    plan.refund->settlement_id = plan.settlement->settlement_id;
    plan.settlement->cancelled = cancel;
    if ((rc = refund_plan_make(ctx, &plan, amount_fen)) ||
        (rc = refund_record(ctx, &plan, &key, fingerprint)))
        return rc;
    return refund_reply(ctx, plan.refund, plan.settlement);
}

int refund_cancel_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    return refund_run(ctx, request->cancel, true);
}

int refund_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    return refund_run(ctx, request->refund, false);
}
