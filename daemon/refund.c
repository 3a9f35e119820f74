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
#include "aid.h"
#include "books.h"
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
    Famledger__Account *accounts[LEGS_MAX]; /* NULL where the refund is cash due or a wallet */
    const Famledger__Leg *from[LEGS_MAX];   /* the settlement leg each refund leg restores */
    bool patient_gone; /* died, opted out or moved out: their wallet takes nothing back */
};

/* Whether the patient is no longer insured here, read once for a refund with a wallet leg: a
 * refund to their wallet is then owed in cash (to them, or to their heirs), as one to a
 * closed account is, since nothing could spend or pay out that wallet again. */
static int refund_patient_gone(struct request_ctx *ctx, struct refund_plan *plan)
{
    Famledger__Person *patient;
    int rc = state_person_get(ctx->txn, ctx->arena, plan->settlement->patient, &patient);
    if (rc <= 0)
        return request_fail(ctx, rc < 0 ? rc : FL_ERR_INTERNAL, "cannot read the patient %s",
                            plan->settlement->patient);
    plan->patient_gone = patient->status == FAMLEDGER__PERSON_STATUS__PERSON_DECEASED ||
                         patient->status == FAMLEDGER__PERSON_STATUS__PERSON_MOVED_OUT ||
                         patient->status == FAMLEDGER__PERSON_STATUS__PERSON_OPTED_OUT;
    return 0;
}

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
        int64_t wallet_balance = 0;
        int rc;
        if (leg->wallet && (rc = refund_patient_gone(ctx, plan)))
            return rc;
        rc = leg->wallet ? books_balance_get(ctx->txn, ctx->arena,
                                             FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET,
                                             leg->holder, &wallet_balance)
                         : state_account_get(ctx->txn, ctx->arena, leg->holder, &account);
        if (rc < 0)
            return request_fail(ctx, rc, "cannot read the account of %s", leg->holder);
        Famledger__RefundLeg *back = ARENA_NEW(ctx->arena, Famledger__RefundLeg);
        famledger__refund_leg__init(back);
        back->holder = leg->holder;
        back->amount_fen = give;
        plan->from[refund->n_legs] = leg;
        if (leg->wallet) { /* back to the wallet, or owed in cash once its owner has gone */
            back->wallet = 1;
            if (plan->patient_gone)
                back->cash_refund_due = 1;
            else
                back->balance_after_fen = wallet_balance + give;
            account = NULL;
        } else if (rc == 0 || account->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED) {
            back->cash_refund_due = 1;
            account = NULL;
        } else {
            if ((rc = account_may_receive(ctx, account, give)))
                return rc;
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

/* Give back the mutual aid of leg `i` in the account that gave it: the one the refund moves,
 * or, when the money goes back in cash (a closed account), the record itself. */
static int refund_aid(struct request_ctx *ctx, struct refund_plan *plan, size_t i)
{
    const Famledger__Settlement *settlement = plan->settlement;
    const char *holder = plan->from[i]->holder;
    Famledger__Account *account = plan->accounts[i];
    int rc = account ? 1 : state_account_get(ctx->txn, ctx->arena, holder, &account);
    if (rc <= 0)
        return request_fail(ctx, rc < 0 ? rc : FL_ERR_INTERNAL, "cannot read the account of %s",
                            holder);
    if ((rc = aid_usage_move(ctx, account, settlement->patient, settlement->time_us,
                             -plan->refund->legs[i]->amount_fen)) != 0)
        return rc;
    if (plan->accounts[i]) /* stored with its move */
        return 0;
    return (rc = state_account_put(ctx->txn, ctx->arena, account))
               ? request_fail(ctx, rc, "cannot store the account of %s", holder)
               : 0;
}

/* Append `entry` (a refund or a reversal, its body set) with the refund's postings, move the
 * accounts and store the settlement as it now stands. */
static int refund_apply(struct request_ctx *ctx, struct refund_plan *plan,
                        Famledger__Entry *entry)
{
    Famledger__Settlement *settlement = plan->settlement;
    const Famledger__Refund *refund = plan->refund;
    /* The merchant's payable gives back what the accounts get, or what is owed in cash to a
     * holder whose account has closed. */
    for (size_t i = 0; i < refund->n_legs; i++)
        books_post(ctx, entry, refund->legs[i]->cash_refund_due
                                   ? FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CASH_REFUND_DUE
                               : refund->legs[i]->wallet
                                   ? FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET
                                   : FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_PERSONAL,
                   refund->legs[i]->holder, refund->legs[i]->amount_fen);
    books_post(ctx, entry, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_MERCHANT_PAYABLE,
               settlement->merchant_code, -refund->amount_fen);
    int rc = ledger_append(ctx, entry);
    for (size_t i = 0; rc == 0 && i < plan->refund->n_legs; i++) {
        /* Mutual aid given back makes room again under the limit of the settlement's month;
         * a settlement made before limits existed (format 2) was never counted. */
        if (plan->from[i]->mutual_aid && settlement->aid_counted &&
            (rc = refund_aid(ctx, plan, i)) != 0)
            return rc;
        if (plan->accounts[i])
            rc = account_move(ctx, plan->accounts[i], plan->refund->legs[i]->amount_fen,
                              entry->seq);
    }
    plan->refund->refund_id = entry->seq;
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
    return rc;
}

static int refund_record(struct request_ctx *ctx, struct refund_plan *plan,
                         const struct reference_key *key, const uint8_t fingerprint[HASH_BYTES])
{
    Famledger__Refunded refunded = FAMLEDGER__REFUNDED__INIT;
    refunded.settlement_id = plan->settlement->settlement_id;
    refunded.merchant_code = plan->settlement->merchant_code;
    refunded.patient = plan->settlement->patient;
    refunded.settled_us = plan->settlement->time_us;
    refunded.refund = plan->refund;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_REFUNDED;
    entry.refunded = &refunded;
    int rc = refund_apply(ctx, plan, &entry);
    if (rc == 0)
        rc = reference_record(ctx->txn, key, fingerprint, entry.seq);
    return rc ? request_fail(ctx, rc, "cannot record the refund") : 0;
}

/* A retry: the refund as its entry recorded it, and the settlement as it stands. */
static int refund_replay(struct request_ctx *ctx, uint64_t seq)
{
    Famledger__Entry *entry;
    int rc = ledger_entry_read(ctx->txn, ctx->arena, seq, &entry);
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

/* The refund of `amount_fen` (a cancel: all that is left), planned leg by leg. */
static int refund_plan_start(struct request_ctx *ctx, struct refund_plan *plan,
                             const char *reference, bool cancel, int64_t amount_fen)
{
    plan->refund = ARENA_NEW(ctx->arena, Famledger__Refund);
    famledger__refund__init(plan->refund);
    plan->refund->reference = (char *)reference;
    plan->refund->cancel = cancel;
    plan->refund->amount_fen = amount_fen;
    plan->refund->time_us = ctx->time_us;
    plan->refund->settlement_id = plan->settlement->settlement_id;
    plan->settlement->cancelled = plan->settlement->cancelled || cancel;
    return refund_plan_make(ctx, plan, amount_fen);
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
        return request_fail(ctx, FL_ERR_REFUND_EXCEEDS_PAID, "only %s yuan of what the accounts "
                            "paid is left to refund", request_yuan(ctx, left));
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
        (rc = refund_checks(ctx, request, cancel, plan.settlement, &amount_fen)) ||
        (rc = refund_plan_start(ctx, &plan, request->merchant_reference, cancel, amount_fen)) ||
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

/* ---- reversal by merchant reference ---- */

const uint8_t refund_reversed_fingerprint[HASH_BYTES]; /* all zero */

static int reverse_reply(struct request_ctx *ctx, uint64_t seq, Famledger__Settlement *settlement,
                         Famledger__Refund *refund)
{
    Famledger__ReverseReply *reply = ARENA_NEW(ctx->arena, Famledger__ReverseReply);
    famledger__reverse_reply__init(reply);
    reply->seq = seq;
    reply->settlement_found = settlement != NULL;
    reply->settlement = settlement;
    reply->refund = refund;
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_REVERSE;
    ctx->response->reverse = reply;
    return 0;
}

/* A second reversal of the same reference answers the first, with the settlement as it
 * stands now. */
static int reverse_replay(struct request_ctx *ctx, uint64_t seq)
{
    Famledger__Entry *entry;
    int rc = ledger_entry_read(ctx->txn, ctx->arena, seq, &entry);
    if (rc <= 0 || entry->body_case != FAMLEDGER__ENTRY__BODY_REVERSED)
        return request_fail(ctx, FL_ERR_INTERNAL, "reversal entry %llu is unreadable",
                            (unsigned long long)seq);
    Famledger__Settlement *settlement = NULL;
    if (entry->reversed->settlement_id &&
        (rc = settlement_load(ctx, entry->reversed->settlement_id, &settlement)))
        return rc;
    if (entry->reversed->refund)
        entry->reversed->refund->refund_id = seq;
    ctx->response->replayed = 1;
    return reverse_reply(ctx, seq, settlement, entry->reversed->refund);
}

/* The settlement exists: cancel what is left of it (nothing, when it was cancelled or fully
 * refunded already: the reversal then only closes it). */
static int reverse_found(struct request_ctx *ctx, Famledger__ReverseRequest *command,
                         uint64_t settlement_id, Famledger__Entry *entry,
                         Famledger__Reversed *reversed, struct refund_plan *plan)
{
    int rc = settlement_load(ctx, settlement_id, &plan->settlement);
    if (rc)
        return rc;
    Famledger__Settlement *settlement = plan->settlement;
    reversed->settlement_id = settlement_id;
    reversed->patient = settlement->patient;
    reversed->settled_us = settlement->time_us;
    int64_t left = settlement->acct_pay_fen + settlement->acct_mulaid_pay_fen -
                   settlement->refunded_fen;
    if (settlement->cancelled || left == 0) {
        settlement->cancelled = 1;
        uint8_t id[8];
        store_u64_encode(id, settlement_id);
        if ((rc = ledger_append(ctx, entry)) ||
            (rc = state_message_put(ctx->txn, ctx->arena, STORE_DB_SETTLEMENTS, id, sizeof(id),
                                    &settlement->base)))
            return request_fail(ctx, rc, "cannot record the reversal");
        return 0;
    }
    if ((rc = refund_plan_start(ctx, plan, command->merchant_reference, true, left)))
        return rc;
    reversed->refund = plan->refund;
    if ((rc = refund_apply(ctx, plan, entry)))
        return request_fail(ctx, rc, "cannot record the reversal");
    return 0;
}

int refund_reverse_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__ReverseRequest *in = request->reverse;
    if (!validate_person_no(in->merchant_code))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "merchant_code must be 1 to 32 letters or digits");
    if (!validate_reference(in->merchant_reference))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "merchant_reference must be 1 to 64 printable ASCII characters");
    int rc = request_require_merchant(ctx, in->merchant_code);
    if (rc)
        return rc;
    Famledger__ReverseRequest *command = ARENA_NEW(ctx->arena, Famledger__ReverseRequest);
    famledger__reverse_request__init(command);
    command->merchant_code = arena_strdup(ctx->arena, in->merchant_code);
    command->merchant_reference = arena_strdup(ctx->arena, in->merchant_reference);
    struct reference_key key, settle_key;
    uint8_t fingerprint[HASH_BYTES];
    uint64_t seq;
    rc = reference_lookup(ctx, 'V', command->merchant_code, command->merchant_reference,
                          &command->base, &key, fingerprint, &seq);
    if (rc != 0)
        return rc < 0 ? rc : reverse_replay(ctx, seq);
    reference_key_make(&settle_key, 'S', command->merchant_code, command->merchant_reference);
    if ((rc = reference_seq_find(ctx->txn, &settle_key, &seq)) < 0)
        return request_fail(ctx, rc, "cannot read reference %s", command->merchant_reference);
    Famledger__Reversed reversed = FAMLEDGER__REVERSED__INIT;
    reversed.request = command;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_REVERSED;
    entry.reversed = &reversed;
    struct refund_plan plan = {0};
    if (rc == 1)
        rc = reverse_found(ctx, command, seq, &entry, &reversed, &plan);
    else if ((rc = ledger_append(ctx, &entry)) == 0)
        /* Nothing arrived yet: the settlement reference now names this reversal. */
        rc = reference_record(ctx->txn, &settle_key, refund_reversed_fingerprint, entry.seq);
    if (rc == 0)
        rc = reference_record(ctx->txn, &key, fingerprint, entry.seq);
    if (rc)
        return ctx->response->status ? rc : request_fail(ctx, rc, "cannot record the reversal");
    return reverse_reply(ctx, entry.seq, plan.settlement, reversed.refund);
}
