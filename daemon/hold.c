/* hold.c -- held quotes: reserve, capture, release, expire. */
#include "hold.h"

#include "aid.h"
#include "books.h"
#include "due.h"
#include "family.h"
#include "ledger.h"
#include "log.h"
#include "reference.h"
#include "require.h"
#include "state.h"
#include "wallet.h"

#include <string.h>

static int hold_load(struct request_ctx *ctx, uint64_t hold_id, Famledger__Hold **hold)
{
    uint8_t key[8];
    store_u64_encode(key, hold_id);
    int rc = state_record_get(ctx->txn, ctx->arena, STORE_DB_HOLDS, key, sizeof(key),
                              &famledger__hold__descriptor, (ProtobufCMessage **)hold);
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read hold %llu", (unsigned long long)hold_id);
    if (rc == 0)
        return request_fail(ctx, FL_ERR_UNKNOWN_HOLD, "no hold %llu", (unsigned long long)hold_id);
    if (!(*hold)->request || !(*hold)->quote)
        return request_fail(ctx, FL_ERR_INTERNAL, "hold %llu is damaged",
                            (unsigned long long)hold_id);
    return 0;
}

static int hold_store(struct request_ctx *ctx, const Famledger__Hold *hold)
{
    uint8_t key[8];
    store_u64_encode(key, hold->hold_id);
    return state_message_put(ctx->txn, ctx->arena, STORE_DB_HOLDS, key, sizeof(key),
                             &hold->base);
}

static int hold_reply(struct request_ctx *ctx, Famledger__Hold *hold)
{
    Famledger__HoldReply *reply = ARENA_NEW(ctx->arena, Famledger__HoldReply);
    famledger__hold_reply__init(reply);
    reply->hold = hold;
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_HOLD;
    ctx->response->hold = reply;
    return 0;
}

static int leg_damaged(struct request_ctx *ctx, const Famledger__Leg *leg)
{
    log_error("hold: a leg of %lld fen from %s does not match what is held: damaged data; verify "
              "names it", (long long)leg->amount_fen, leg->holder);
    return request_fail(ctx, FL_ERR_INTERNAL, "the hold does not match what %s holds",
                        leg->holder);
}

/* Reserve (sign +1) or free (-1) one leg of a hold, and with `count_aid` count its mutual aid
 * against the family's limits (or give it back) in the account it stores. A freed account is
 * returned in *account (NULL for a wallet leg) so that the capture moves the record it
 * changed. */
static int leg_reserve(struct request_ctx *ctx, const Famledger__Settlement *quote,
                       const Famledger__Leg *leg, int sign, bool count_aid,
                       Famledger__Account **account)
{
    int64_t amount = sign * leg->amount_fen;
    *account = NULL;
    if (leg->wallet) {
        Famledger__Wallet *wallet;
        int rc = wallet_load(ctx, leg->holder, &wallet);
        if (rc)
            return rc;
        wallet->held_fen += amount;
        if (wallet->held_fen < 0) /* a hold read from disk that its wallet does not match */
            return leg_damaged(ctx, leg);
        return (rc = wallet_store(ctx, wallet)) ? request_fail(ctx, rc, "cannot store a wallet")
                                                : 0;
    }
    int rc = state_account_get(ctx->txn, ctx->arena, leg->holder, account);
    if (rc <= 0)
        return request_fail(ctx, rc < 0 ? rc : FL_ERR_INTERNAL, "cannot read the account of %s",
                            leg->holder);
    (*account)->held_fen += amount;
    /* Placing, the plan took only what was available; freeing, the hold read from disk must
     * match what the account holds. */
    if ((*account)->held_fen < 0 || (*account)->held_fen > (*account)->balance_fen)
        return leg_damaged(ctx, leg);
    if (count_aid && leg->mutual_aid &&
        (rc = aid_usage_move(ctx, *account, quote->patient, quote->time_us, amount)) != 0)
        return rc;
    return (rc = state_account_put(ctx->txn, ctx->arena, *account))
               ? request_fail(ctx, rc, "cannot store the account of %s", leg->holder)
               : 0;
}

/* Reserve or free every leg; mutual aid counts against the limits while held. */
static int hold_reserve(struct request_ctx *ctx, const Famledger__Hold *hold, int sign,
                        bool count_aid)
{
    const Famledger__Settlement *quote = hold->quote;
    for (size_t i = 0; i < quote->n_legs; i++) {
        Famledger__Account *account;
        int rc = leg_reserve(ctx, quote, quote->legs[i], sign, count_aid, &account);
        if (rc)
            return rc;
    }
    return 0;
}

int hold_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__HoldRequest *in = request->hold;
    if (!in->quote)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "a hold needs its quote");
    if (in->hold_seconds == 0 || in->hold_seconds > ctx->config->hold_seconds_max)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "hold_seconds must be from 1 to %llu",
                            (unsigned long long)ctx->config->hold_seconds_max);
    if (in->quote->hold_id)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "a hold captures no other hold");
    Famledger__HoldRequest *command = ARENA_NEW(ctx->arena, Famledger__HoldRequest);
    famledger__hold_request__init(command);
    command->hold_seconds = in->hold_seconds;
    int rc = settle_command_prepare(ctx, in->quote, false, &command->quote);
    if (rc)
        return rc;
    struct reference_key key;
    uint8_t fingerprint[HASH_BYTES];
    uint64_t seq;
    Famledger__Hold *hold;
    rc = reference_lookup(ctx, 'H', command->quote->merchant_code,
                          command->quote->merchant_reference, &command->base, &key, fingerprint,
                          &seq);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        ctx->response->replayed = 1;
        return (rc = hold_load(ctx, seq, &hold)) ? rc : hold_reply(ctx, hold);
    }
    struct settle_plan plan;
    if ((rc = settle_plan_make(ctx, command->quote, &plan)))
        return rc;
    if (command->quote->all_or_nothing && plan.settlement->cash_pay_fen > 0)
        return settle_insufficient(ctx, plan.settlement);
    hold = ARENA_NEW(ctx->arena, Famledger__Hold);
    famledger__hold__init(hold);
    hold->request = command->quote;
    hold->quote = plan.settlement;
    hold->expires_at_us = ctx->time_us + (int64_t)command->hold_seconds * 1000000;
    hold->state = FAMLEDGER__HOLD_STATE__HOLD_OPEN;
    Famledger__HoldPlaced placed = FAMLEDGER__HOLD_PLACED__INIT;
    placed.hold = hold;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_HOLD_PLACED;
    entry.hold_placed = &placed;
    if ((rc = ledger_append(ctx, &entry)))
        return request_fail(ctx, rc, "cannot record the hold");
    hold->hold_id = entry.seq;
    if ((rc = hold_reserve(ctx, hold, +1, true)))
        return rc;
    if ((rc = hold_store(ctx, hold)) ||
        (rc = due_add(ctx->txn, hold->expires_at_us, DUE_HOLD_EXPIRY, hold->hold_id)) ||
        (rc = reference_record(ctx->txn, &key, fingerprint, hold->hold_id)))
        return request_fail(ctx, rc, "cannot record the hold");
    return hold_reply(ctx, hold);
}

/* Released or expired: an entry, the legs freed, the aid given back, the timer gone. */
static int hold_close(struct request_ctx *ctx, Famledger__Hold *hold, Famledger__HoldState state)
{
    REQUIRE(hold->state == FAMLEDGER__HOLD_STATE__HOLD_OPEN);
    hold->state = state;
    Famledger__HoldClosed closed = FAMLEDGER__HOLD_CLOSED__INIT;
    closed.hold = hold;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_HOLD_CLOSED;
    entry.hold_closed = &closed;
    int rc = ledger_append(ctx, &entry);
    if (rc)
        return request_fail(ctx, rc, "cannot record the end of hold %llu",
                            (unsigned long long)hold->hold_id);
    hold->closed_seq = entry.seq;
    if ((rc = hold_reserve(ctx, hold, -1, true)))
        return rc;
    if ((rc = hold_store(ctx, hold)) ||
        (rc = due_delete(ctx->txn, hold->expires_at_us, DUE_HOLD_EXPIRY, hold->hold_id)))
        return request_fail(ctx, rc, "cannot record the end of hold %llu",
                            (unsigned long long)hold->hold_id);
    return 0;
}

static const char *hold_state_name(Famledger__HoldState state)
{
    switch (state) {
    case FAMLEDGER__HOLD_STATE__HOLD_OPEN: return "open";
    case FAMLEDGER__HOLD_STATE__HOLD_CAPTURED: return "captured";
    case FAMLEDGER__HOLD_STATE__HOLD_RELEASED: return "released";
    case FAMLEDGER__HOLD_STATE__HOLD_EXPIRED: return "expired";
    default: return "unknown";
    }
}

int hold_release_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    Famledger__Hold *hold;
    int rc = hold_load(ctx, request->hold_release->hold_id, &hold);
    if (rc || (rc = request_require_merchant(ctx, hold->request->merchant_code)))
        return rc;
    if (hold->state == FAMLEDGER__HOLD_STATE__HOLD_RELEASED) {
        ctx->response->replayed = 1;
        return hold_reply(ctx, hold);
    }
    if (hold->state != FAMLEDGER__HOLD_STATE__HOLD_OPEN)
        return request_fail(ctx, FL_ERR_HOLD_CLOSED, "hold %llu is %s (entry %llu)",
                            (unsigned long long)hold->hold_id, hold_state_name(hold->state),
                            (unsigned long long)hold->closed_seq);
    if ((rc = hold_close(ctx, hold, FAMLEDGER__HOLD_STATE__HOLD_RELEASED)))
        return rc;
    return hold_reply(ctx, hold);
}

int hold_expire(struct request_ctx *ctx, uint64_t hold_id)
{
    Famledger__Hold *hold;
    int rc = hold_load(ctx, hold_id, &hold);
    if (rc)
        return rc;
    if (hold->state != FAMLEDGER__HOLD_STATE__HOLD_OPEN) {
        rc = due_delete(ctx->txn, hold->expires_at_us, DUE_HOLD_EXPIRY, hold_id);
        return rc ? request_fail(ctx, rc, "cannot drop the timer of hold %llu",
                                 (unsigned long long)hold_id)
                  : 0;
    }
    return hold_close(ctx, hold, FAMLEDGER__HOLD_STATE__HOLD_EXPIRED);
}

/* The settlement must be the quote that was held: same merchant, patient, amount, category. */
static int hold_matches(struct request_ctx *ctx, const Famledger__Hold *hold,
                        const Famledger__SettleRequest *settle)
{
    const Famledger__SettleRequest *held = hold->request;
    if (hold->state != FAMLEDGER__HOLD_STATE__HOLD_OPEN)
        return request_fail(ctx, FL_ERR_HOLD_CLOSED, "hold %llu is %s (entry %llu)",
                            (unsigned long long)hold->hold_id, hold_state_name(hold->state),
                            (unsigned long long)hold->closed_seq);
    if (ctx->time_us >= hold->expires_at_us)
        return request_fail(ctx, FL_ERR_HOLD_CLOSED, "hold %llu has expired",
                            (unsigned long long)hold->hold_id);
    if (strcmp(held->merchant_code, settle->merchant_code) != 0)
        return request_fail(ctx, FL_ERR_WRONG_MERCHANT, "hold %llu belongs to merchant %s",
                            (unsigned long long)hold->hold_id, held->merchant_code);
    if (strcmp(held->patient, settle->patient) != 0 || held->amount_fen != settle->amount_fen ||
        held->category != settle->category)
        return request_fail(ctx, FL_ERR_HOLD_MISMATCH, "hold %llu is for %s, %s yuan of "
                            "category %d; the settlement is for %s, %s yuan of category %d",
                            (unsigned long long)hold->hold_id, held->patient,
                            request_yuan(ctx, held->amount_fen), (int)held->category,
                            settle->patient, request_yuan(ctx, settle->amount_fen),
                            (int)settle->category);
    return 0;
}

int hold_capture_plan(struct request_ctx *ctx, const Famledger__SettleRequest *settle,
                      struct settle_plan *plan)
{
    Famledger__Hold *hold;
    int rc = hold_load(ctx, settle->hold_id, &hold);
    if (rc || (rc = hold_matches(ctx, hold, settle)))
        return rc;
    Famledger__Settlement *settlement = hold->quote;
    settlement->merchant_reference = settle->merchant_reference;
    plan->held_us = settlement->time_us;
    settlement->time_us = ctx->time_us;
    settlement->hold_id = hold->hold_id;
    plan->settlement = settlement;
    plan->patient = NULL;
    plan->own = NULL;
    for (size_t i = 0; i < settlement->n_legs; i++) {
        Famledger__Leg *leg = settlement->legs[i];
        Famledger__Account *account;
        /* A relative who unbound since withdrew their consent: their money pays no more. */
        if (leg->mutual_aid &&
            (rc = family_bound(ctx->txn, ctx->arena, leg->holder, settle->patient)) != 1)
            return rc < 0 ? request_fail(ctx, rc, "cannot read the bindings of %s", leg->holder)
                          : request_fail(ctx, FL_ERR_NOT_BOUND, "%s no longer funds %s; the "
                                         "hold cannot be captured (release it and settle "
                                         "again)", leg->holder, settle->patient);
        if ((rc = leg_reserve(ctx, settlement, leg, -1, false, &account)))
            return rc;
        int64_t balance = 0;
        if (account && account->status != FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_OPEN)
            return request_fail(ctx, FL_ERR_ACCOUNT_FROZEN, "the account of %s is frozen; the "
                                "hold cannot be captured", leg->holder);
        if (!account && (rc = books_balance_get(ctx->txn, ctx->arena,
                                                FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET,
                                                leg->holder, &balance)))
            return request_fail(ctx, rc, "cannot read the wallet of %s", leg->holder);
        leg->balance_after_fen = (account ? account->balance_fen : balance) - leg->amount_fen;
        if (account && !leg->mutual_aid)
            settlement->balc_fen = leg->balance_after_fen;
        plan->accounts[i] = account;
    }
    return 0;
}

int hold_captured(struct request_ctx *ctx, uint64_t hold_id,
                  const Famledger__Settlement *settlement)
{
    Famledger__Hold *hold;
    int rc = hold_load(ctx, hold_id, &hold);
    if (rc)
        return rc;
    REQUIRE(hold->state == FAMLEDGER__HOLD_STATE__HOLD_OPEN);
    hold->state = FAMLEDGER__HOLD_STATE__HOLD_CAPTURED;
    hold->closed_seq = settlement->settlement_id;
    if ((rc = hold_store(ctx, hold)) ||
        (rc = due_delete(ctx->txn, hold->expires_at_us, DUE_HOLD_EXPIRY, hold_id)))
        return request_fail(ctx, rc, "cannot record the capture of hold %llu",
                            (unsigned long long)hold_id);
    return 0;
}
