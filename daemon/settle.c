/* settle.c -- quote and settle: sequential multi-account deduction.
 *
 * The funding order of a patient is their own account (when they have one, open and not
 * frozen), then each bound holder's account in the beneficiary's funding order, skipping frozen
 * or closed accounts and holders whose province does not let mutual aid pay the category. Each
 * account gives what it has, up to what is left; the rest is cash. A quote and a settlement run
 * the same plan, so a quote equals the settlement made right after it.
 */
#include "settle.h"

#include "account.h"
#include "aid.h"
#include "books.h"
#include "family.h"
#include "fl_limits.h"
#include "hold.h"
#include "ledger.h"
#include "log.h"
#include "merchant.h"
#include "patient.h"
#include "person.h"
#include "prefetch.h"
#include "reference.h"
#include "refund.h"
#include "require.h"
#include "state.h"
#include "validate.h"
#include "wallet.h"

#include <string.h>

/* The category a request means (unspecified: a pharmacy's), or false for one we do not know. */
static bool settle_category(Famledger__Category *category)
{
    if (*category == FAMLEDGER__CATEGORY__CATEGORY_UNSPECIFIED)
        *category = FAMLEDGER__CATEGORY__CATEGORY_PHARMACY;
    return *category <= FAMLEDGER__CATEGORY__CATEGORY_LONG_TERM_CARE;
}

/* A plain quote reserves nothing, so its merchant reference may be empty. */
static int settle_validate(struct request_ctx *ctx, Famledger__SettleRequest *settle, bool quote)
{
    if (!settle_category(&settle->category))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "unknown category");
    if (!validate_person_no(settle->merchant_code))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "merchant_code must be 1 to 32 letters or digits");
    if (!(quote && *settle->merchant_reference == '\0') &&
        !validate_reference(settle->merchant_reference))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "merchant_reference must be 1 to 64 printable ASCII characters");
    if (!validate_amount_fen(settle->amount_fen))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "amount must be positive and at most 100000000.00 yuan");
    return request_require_merchant(ctx, settle->merchant_code);
}

/* The settlement as the ledger records it: the validated fields, defaults filled in, built by
 * us. The entry and the idempotency fingerprint are made of this, never of the client's
 * bytes, so a retry is "the same" when these fields are the same (docs/PROTOCOL.md). */
static Famledger__SettleRequest *settle_command_make(struct request_ctx *ctx,
                                                     const Famledger__SettleRequest *settle)
{
    REQUIRE(settle->category != FAMLEDGER__CATEGORY__CATEGORY_UNSPECIFIED); /* validated */
    Famledger__SettleRequest *command = ARENA_NEW(ctx->arena, Famledger__SettleRequest);
    famledger__settle_request__init(command);
    command->merchant_code = arena_strdup(ctx->arena, settle->merchant_code);
    command->merchant_reference = arena_strdup(ctx->arena, settle->merchant_reference);
    command->patient = arena_strdup(ctx->arena, settle->patient);
    command->amount_fen = settle->amount_fen;
    command->category = settle->category;
    command->no_account = settle->no_account;
    command->all_or_nothing = settle->all_or_nothing;
    command->hold_id = settle->hold_id;
    return command;
}

int settle_command_prepare(struct request_ctx *ctx, Famledger__SettleRequest *settle, bool quote,
                           Famledger__SettleRequest **command)
{
    int rc = settle_validate(ctx, settle, quote);
    if (rc)
        return rc;
    *command = settle_command_make(ctx, settle);
    return 0;
}

static bool settle_category_optional(Famledger__Category category)
{
    return category == FAMLEDGER__CATEGORY__CATEGORY_COMMERCIAL_INSURANCE ||
           category == FAMLEDGER__CATEGORY__CATEGORY_LONG_TERM_CARE;
}

/* Mutual-aid money may pay the optional categories only where the holder's province allows. */
static bool settle_province_allows(const struct config *config, uint32_t province,
                                   Famledger__Category category)
{
    if (category == FAMLEDGER__CATEGORY__CATEGORY_COMMERCIAL_INSURANCE)
        return config_ids_contain(&config->commercial_insurance_provinces, province);
    return config_ids_contain(&config->long_term_care_provinces, province);
}

/* Add a leg of min(available, cap, remaining) taken from `holder` (an account, or with a NULL
 * account the patient's wallet, whose balance is `balance_fen`). */
static void plan_leg(struct request_ctx *ctx, struct settle_plan *plan, const char *holder,
                     Famledger__Account *account, int64_t balance_fen, int64_t available_fen,
                     int64_t cap_fen, bool mutual_aid)
{
    Famledger__Settlement *settlement = plan->settlement;
    int64_t take = settlement->cash_pay_fen;
    take = available_fen < take ? available_fen : take;
    take = cap_fen < take ? cap_fen : take;
    if (take <= 0)
        return;
    REQUIRE(settlement->n_legs < LEGS_MAX);
    Famledger__Leg *leg = ARENA_NEW(ctx->arena, Famledger__Leg);
    famledger__leg__init(leg);
    leg->holder = (char *)holder;
    leg->amount_fen = take;
    leg->balance_after_fen = balance_fen - take;
    leg->mutual_aid = mutual_aid;
    leg->wallet = account == NULL;
    plan->accounts[settlement->n_legs] = account;
    settlement->legs[settlement->n_legs++] = leg;
    settlement->cash_pay_fen -= take;
    if (mutual_aid)
        settlement->acct_mulaid_pay_fen += take;
    else
        settlement->acct_pay_fen += take;
}

/* Take from an open account what it has available (not held for a quote), up to `cap_fen`. */
static void plan_take(struct request_ctx *ctx, struct settle_plan *plan,
                      Famledger__Account *account, int64_t cap_fen, bool mutual_aid)
{
    if (account->status != FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_OPEN)
        return;
    plan_leg(ctx, plan, account->person_no, account, account->balance_fen,
             account->balance_fen - account->held_fen, cap_fen, mutual_aid);
}

/* Whether mutual aid from `holder_no` (*holder: their person record) may pay for the patient
 * now: policy applies when money moves, not only when the binding was made. Across provinces
 * both must still have mutual aid switched on; the optional categories need the holder's
 * province to allow them. */
static int funder_allowed(struct request_ctx *ctx, const char *holder_no,
                          uint32_t patient_province, Famledger__Category category,
                          Famledger__Person **holder)
{
    int rc = state_person_get(ctx->txn, ctx->arena, holder_no, holder);
    if (rc <= 0)
        return rc;
    uint32_t province = family_province((*holder)->region);
    if (province != patient_province &&
        !(config_ids_contain(&ctx->config->cross_province, province) &&
          config_ids_contain(&ctx->config->cross_province, patient_province)))
        return 0;
    return !settle_category_optional(category) ||
           settle_province_allows(ctx->config, province, category);
}

static int plan_funders(struct request_ctx *ctx, struct settle_plan *plan,
                        const Famledger__Person *patient_person, Famledger__Category category)
{
    if (plan->settlement->cash_pay_fen == 0)
        return 0; /* paid in full: no funder's records are read (nor wanted by the prefetch) */
    const char *patient = patient_person->person_no;
    uint32_t patient_province = family_province(patient_person->region);
    Famledger__BindingList *funders;
    int rc = state_bindings_get(ctx->txn, ctx->arena, STORE_DB_FUNDERS, patient, &funders);
    for (size_t i = 0; rc == 0 && i < funders->n_bindings && plan->settlement->cash_pay_fen > 0;
         i++) {
        const char *holder_no = funders->bindings[i]->holder;
        Famledger__Person *holder;
        Famledger__Account *account;
        int64_t room = 0;
        rc = state_account_get(ctx->txn, ctx->arena, holder_no, &account);
        if (rc == 1)
            rc = funder_allowed(ctx, holder_no, patient_province, category, &holder);
        if (rc == 1) {
            int room_rc = aid_room(ctx, account, holder->region, patient, ctx->time_us, &room);
            if (room_rc)
                return room_rc; /* failed the request already */
            plan_take(ctx, plan, account, room, true);
        }
        rc = rc < 0 ? rc : 0;
    }
    return rc ? request_fail(ctx, rc, "cannot read the funders of %s", patient) : 0;
}

/* Whether `patient` may settle at `merchant` at all. */
static int settle_patient_allowed(struct request_ctx *ctx, const Famledger__Person *patient,
                                  const Famledger__Merchant *merchant)
{
    if (patient->status == FAMLEDGER__PERSON_STATUS__PERSON_DECEASED)
        return request_fail(ctx, FL_ERR_PERSON_DECEASED, "%s is deceased and cannot be a "
                            "patient", patient->person_no);
    int rc = person_require_insured(ctx, patient);
    if (rc)
        return rc;
    if (patient->suspended)
        return request_fail(ctx, FL_ERR_PERSON_SUSPENDED, "networked settlement of %s is "
                            "suspended: %s", patient->person_no, patient->suspend_reason);
    uint32_t province = family_province(patient->region);
    if (family_province(merchant->region) != province &&
        !config_ids_contain(&ctx->config->remote_settlement_provinces, province))
        return request_fail(ctx, FL_ERR_REMOTE_NOT_ALLOWED, "merchant %s is in province %02u; "
                            "insured of province %02u may not settle outside it",
                            merchant->code, (unsigned)family_province(merchant->region),
                            (unsigned)province);
    return 0;
}

/* Whether the merchant and the patient may settle at all, asked by every settlement, quote and
 * hold, and by a capture too: a capture is the settlement (2102) its hold promised, so a
 * patient suspended for impersonation, deceased or gone, or a merchant suspended, since the
 * quote was held refuses it (the hold expires). */
static int settle_admit(struct request_ctx *ctx, const Famledger__SettleRequest *settle,
                        Famledger__Merchant **merchant, Famledger__Person **patient)
{
    int rc;
    if ((rc = merchant_require_settling(ctx, settle->merchant_code, settle->category,
                                        merchant)) ||
        (rc = person_require(ctx, settle->patient, "patient", patient)))
        return rc;
    return settle_patient_allowed(ctx, *patient, *merchant);
}

/* Everything quote, hold and settle share: the checks, then the split. Writes nothing. */
int settle_plan_make(struct request_ctx *ctx, const Famledger__SettleRequest *settle,
                     struct settle_plan *plan)
{
    Famledger__Merchant *merchant;
    Famledger__Person *patient;
    int rc = settle_admit(ctx, settle, &merchant, &patient);
    if (rc)
        return rc;
    Famledger__Settlement *settlement = ARENA_NEW(ctx->arena, Famledger__Settlement);
    famledger__settlement__init(settlement);
    settlement->merchant_code = settle->merchant_code;
    settlement->merchant_reference = settle->merchant_reference;
    settlement->patient = settle->patient;
    settlement->amount_fen = settle->amount_fen;
    settlement->category = settle->category;
    settlement->cash_pay_fen = settle->amount_fen; /* what is left; legs take from it */
    settlement->time_us = ctx->time_us;
    settlement->legs = ARENA_ARRAY(ctx->arena, Famledger__Leg *, LEGS_MAX);
    plan->settlement = settlement;
    plan->patient = patient;
    plan->own = NULL;
    plan->held_us = 0;
    if (settle->no_account)
        return 0;
    Famledger__Account *own = NULL;
    if ((rc = state_account_get(ctx->txn, ctx->arena, settle->patient, &own)) < 0)
        return request_fail(ctx, rc, "cannot read the account of %s", settle->patient);
    plan->own = own;
    if (own) {
        plan_take(ctx, plan, own, INT64_MAX, false);
        settlement->balc_fen = own->balance_fen - settlement->acct_pay_fen;
    }
    if (settlement->cash_pay_fen == 0)
        return 0; /* the own account paid it all: nothing else is read */
    /* The wallet is the patient's own money: right after their own account (POLICY.md). */
    int64_t wallet_balance_fen, wallet_available_fen;
    if ((rc = wallet_available(ctx, settle->patient, &wallet_balance_fen, &wallet_available_fen)))
        return rc;
    plan_leg(ctx, plan, patient->person_no, NULL, wallet_balance_fen, wallet_available_fen,
             INT64_MAX, false);
    return plan_funders(ctx, plan, patient, settle->category);
}

void settle_prefetch(struct request_ctx *ctx, const Famledger__SettleRequest *request)
{
    Famledger__SettleRequest settle = *request;
    if (!settle_category(&settle.category) || !validate_person_no(settle.merchant_code) ||
        !validate_person_no(settle.patient) || !validate_amount_fen(settle.amount_fen))
        return;
    /* settle_handle's reads, in its order: the reference, then the plan, which reads the
     * patient, their account and each funder's until one pays the rest (as of this snapshot;
     * the writer reads any further funder it needs itself); the patient's chain head is in
     * one of them. */
    struct reference_key key;
    uint64_t seq;
    if (validate_reference(settle.merchant_reference)) {
        reference_key_make(&key, 'S', settle.merchant_code, settle.merchant_reference);
        (void)reference_seq_find(ctx->txn, &key, &seq);
    }
    struct settle_plan plan;
    (void)settle_plan_make(ctx, &settle, &plan);
}

int settlement_reply(struct request_ctx *ctx, Famledger__Settlement *settlement)
{
    Famledger__SettlementReply *reply = ARENA_NEW(ctx->arena, Famledger__SettlementReply);
    famledger__settlement_reply__init(reply);
    reply->settlement = settlement;
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_SETTLEMENT;
    ctx->response->settlement = reply;
    return 0;
}

int settle_insufficient(struct request_ctx *ctx, const Famledger__Settlement *settlement)
{
    char covered[32], amount[32];
    int64_t accounts = settlement->acct_pay_fen + settlement->acct_mulaid_pay_fen;
    snprintf(covered, sizeof(covered), "%lld.%02lld", (long long)(accounts / 100),
             (long long)(accounts % 100));
    snprintf(amount, sizeof(amount), "%lld.%02lld", (long long)(settlement->amount_fen / 100),
             (long long)(settlement->amount_fen % 100));
    return request_fail(ctx, FL_ERR_INSUFFICIENT_FUNDS, "the accounts cover %s of %s yuan; "
                        "nothing was taken", covered, amount);
}

int settle_quote_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    Famledger__SettleRequest *settle = request->quote;
    struct settle_plan plan;
    int rc;
    if (settle->hold_id)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "a quote captures no hold; settle does");
    if ((rc = settle_validate(ctx, settle, true)) || (rc = settle_plan_make(ctx, settle, &plan)))
        return rc;
    if (settle->all_or_nothing && plan.settlement->cash_pay_fen > 0)
        return settle_insufficient(ctx, plan.settlement);
    return settlement_reply(ctx, plan.settlement);
}

/* The reply to a settlement, first time or replay, is rebuilt from its entry. */
static int settle_reply_from_entry(struct request_ctx *ctx, uint64_t seq)
{
    Famledger__Entry *entry;
    int rc = ledger_entry_read(ctx->txn, ctx->arena, seq, &entry);
    if (rc <= 0 || entry->body_case != FAMLEDGER__ENTRY__BODY_SETTLED)
        return request_fail(ctx, FL_ERR_INTERNAL, "settlement entry %llu is unreadable",
                            (unsigned long long)seq);
    Famledger__Settlement *settlement = entry->settled->settlement;
    settlement->settlement_id = seq;
    return settlement_reply(ctx, settlement);
}

static int settle_record(struct request_ctx *ctx, Famledger__SettleRequest *settle,
                         struct settle_plan *plan, const struct reference_key *key,
                         const uint8_t fingerprint[HASH_BYTES])
{
    Famledger__Settlement *settlement = plan->settlement;
    REQUIRE(settlement->acct_pay_fen + settlement->acct_mulaid_pay_fen +
                settlement->cash_pay_fen == settlement->amount_fen);
    REQUIRE(settlement->cash_pay_fen >= 0 && settlement->n_legs <= LEGS_MAX);
    /* Its mutual aid counts against the family's limits (when captured, it did as a hold, and
     * counts on in the month of the capture). */
    settlement->aid_counted = true;
    settlement->aid_at_capture = settle->hold_id != 0;
    Famledger__Settled settled = FAMLEDGER__SETTLED__INIT;
    settled.request = settle;
    settled.settlement = settlement;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_SETTLED;
    entry.settled = &settled;
    /* The accounts and the wallet pay the merchant's payable; the cash never enters the books. */
    for (size_t i = 0; i < settlement->n_legs; i++)
        books_post(ctx, &entry, settlement->legs[i]->wallet
                                    ? FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET
                                    : FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_PERSONAL,
                   settlement->legs[i]->holder, -settlement->legs[i]->amount_fen);
    books_post(ctx, &entry, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_MERCHANT_PAYABLE,
               settlement->merchant_code,
               settlement->acct_pay_fen + settlement->acct_mulaid_pay_fen);
    int rc = ledger_append(ctx, &entry);
    /* The patient's own account, when a leg moves it, keeps their chain's head with the move;
     * what the plan read of the patient is not read again. */
    Famledger__Account *moved = NULL;
    for (size_t i = 0; i < settlement->n_legs; i++)
        if (!settlement->legs[i]->mutual_aid && plan->accounts[i])
            moved = plan->accounts[i];
    if (rc == 0 && (rc = patient_chain(ctx, settlement->patient, plan->patient,
                                       moved ? moved : plan->own, moved != NULL, entry.seq)))
        return request_fail(ctx, rc, "cannot record the settlement");
    for (size_t i = 0; rc == 0 && i < settlement->n_legs; i++) {
        const Famledger__Leg *leg = settlement->legs[i];
        /* A relative's leg counts against the family's limits in the account it stores with
         * the move; a captured hold counted its mutual aid when it was placed, and carries it
         * to the month it is captured in. */
        if (leg->mutual_aid) {
            REQUIRE(plan->accounts[i]); /* mutual aid comes from a relative's account */
            if ((rc = settle->hold_id
                          ? aid_usage_carry(ctx, plan->accounts[i], settlement->patient,
                                            plan->held_us, ctx->time_us, leg->amount_fen)
                          : aid_usage_move(ctx, plan->accounts[i], settlement->patient,
                                           ctx->time_us, leg->amount_fen)) != 0)
                return rc; /* failed the request already */
        }
        if (plan->accounts[i])
            rc = account_move(ctx, plan->accounts[i], -leg->amount_fen, entry.seq);
    }
    if (rc == 0) {
        uint8_t id[8];
        store_u64_encode(id, entry.seq);
        settlement->settlement_id = entry.seq;
        rc = state_message_put(ctx->txn, ctx->arena, STORE_DB_SETTLEMENTS, id, sizeof(id),
                               &settlement->base);
    }
    if (rc == 0)
        rc = reference_record(ctx->txn, key, fingerprint, entry.seq);
    return rc ? request_fail(ctx, rc, "cannot record the settlement") : 0;
}

/* Whether the settlement reference `key` names a reversal that came before any settlement. */
static bool settle_reversed(struct store_txn *txn, const struct reference_key *key)
{
    uint64_t seq;
    return reference_find(txn, key, refund_reversed_fingerprint, &seq) == 1;
}

static int settle_run(struct request_ctx *ctx, const Famledger__Request *request);

int settle_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    /* What a prefetch thread read for it while it waited: the store takes what is still right
     * instead of searching its trees again (store_ahead_use). */
    struct store_ahead ahead;
    bool made_ahead = prefetch_take(ctx->prefetch, ctx->ahead_ticket, &ahead);
    struct store *store = store_of(ctx->txn);
    if (made_ahead)
        store_ahead_use(store, &ahead);
    int rc = settle_run(ctx, request);
    if (made_ahead)
        store_ahead_use(store, NULL);
    return rc;
}

static int settle_run(struct request_ctx *ctx, const Famledger__Request *request)
{
    int rc = settle_validate(ctx, request->settle, false);
    if (rc)
        return rc;
    Famledger__SettleRequest *settle = settle_command_make(ctx, request->settle);
    struct reference_key key;
    uint8_t fingerprint[HASH_BYTES];
    uint64_t seq;
    rc = reference_lookup(ctx, 'S', settle->merchant_code, settle->merchant_reference,
                          &settle->base, &key, fingerprint, &seq);
    if (rc == FL_ERR_CONFLICT && settle_reversed(ctx->txn, &key))
        return request_fail(ctx, FL_ERR_REVERSED, "the merchant reversed %s (entry %llu) "
                            "before it arrived; nothing was taken",
                            settle->merchant_reference, (unsigned long long)seq);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        ctx->response->replayed = 1;
        return settle_reply_from_entry(ctx, seq);
    }
    struct settle_plan plan;
    if (settle->hold_id) {
        Famledger__Merchant *merchant;
        Famledger__Person *patient;
        if ((rc = settle_admit(ctx, settle, &merchant, &patient)) ||
            (rc = hold_capture_plan(ctx, settle, &plan)))
            return rc;
        plan.patient = patient; /* read once: settle_record keeps their chain in it */
    } else if ((rc = settle_plan_make(ctx, settle, &plan))) {
        return rc;
    }
    if (settle->all_or_nothing && plan.settlement->cash_pay_fen > 0)
        return settle_insufficient(ctx, plan.settlement);
    if ((rc = settle_record(ctx, settle, &plan, &key, fingerprint)) ||
        (settle->hold_id && (rc = hold_captured(ctx, settle->hold_id, plan.settlement))))
        return rc;
    return settlement_reply(ctx, plan.settlement);
}

static bool fen_in_range(int64_t amount_fen)
{
    return amount_fen >= 0 && amount_fen <= AMOUNT_FEN_MAX;
}

/* Whether a stored settlement adds up as the handlers that wrote it made it: refunds plan from
 * its legs, and legs that do not add up would make an entry that does not balance. Each amount
 * is at most AMOUNT_FEN_MAX, so that the sums below cannot overflow. */
static bool settlement_adds_up(const Famledger__Settlement *s, uint64_t settlement_id)
{
    if (s->settlement_id != settlement_id || !validate_person_no(s->merchant_code) ||
        !validate_person_no(s->patient) || !fen_in_range(s->amount_fen) ||
        !fen_in_range(s->acct_pay_fen) || !fen_in_range(s->acct_mulaid_pay_fen) ||
        !fen_in_range(s->cash_pay_fen) || !fen_in_range(s->refunded_fen) ||
        s->n_legs > LEGS_MAX || s->n_refunds > REFUNDS_PER_SETTLEMENT_MAX + 1)
        return false;
    int64_t paid_fen = s->acct_pay_fen + s->acct_mulaid_pay_fen, legs_fen = 0, back_fen = 0;
    if (paid_fen + s->cash_pay_fen != s->amount_fen || s->refunded_fen > paid_fen)
        return false;
    for (size_t i = 0; i < s->n_legs; i++) {
        const Famledger__Leg *leg = s->legs[i];
        if (!validate_person_no(leg->holder) || !fen_in_range(leg->amount_fen) ||
            !fen_in_range(leg->refunded_fen) || leg->refunded_fen > leg->amount_fen)
            return false;
        legs_fen += leg->amount_fen;
        back_fen += leg->refunded_fen;
    }
    int64_t refunds_fen = 0;
    for (size_t i = 0; i < s->n_refunds; i++) {
        if (!fen_in_range(s->refunds[i]->amount_fen))
            return false;
        refunds_fen += s->refunds[i]->amount_fen;
    }
    return legs_fen == paid_fen && back_fen == s->refunded_fen && refunds_fen == s->refunded_fen;
}

int settlement_load(struct request_ctx *ctx, uint64_t settlement_id,
                    Famledger__Settlement **settlement)
{
    uint8_t id[8];
    store_u64_encode(id, settlement_id);
    struct store_bytes value;
    int rc = store_get(ctx->txn, STORE_DB_SETTLEMENTS, id, sizeof(id), &value);
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read settlement %llu",
                            (unsigned long long)settlement_id);
    if (rc == 0)
        return request_fail(ctx, FL_ERR_UNKNOWN_SETTLEMENT, "no settlement %llu",
                            (unsigned long long)settlement_id);
    *settlement = famledger__settlement__unpack(&ctx->arena->protobuf, value.size, value.data);
    if (*settlement && settlement_adds_up(*settlement, settlement_id))
        return 0;
    /* Data read from disk is checked, not trusted, as state_account_get checks an account. */
    log_error("settle: the stored settlement %llu is damaged: it does not decode, or its legs, "
              "refunds and totals do not add up (ledgerctl verify names it)",
              (unsigned long long)settlement_id);
    return request_fail(ctx, FL_ERR_INTERNAL, "settlement %llu is damaged",
                        (unsigned long long)settlement_id);
}

/* The settlement a merchant made under its own reference. */
static int settlement_find_by_reference(struct request_ctx *ctx, const char *merchant,
                                        const char *reference, uint64_t *settlement_id)
{
    if (!validate_person_no(merchant) || !validate_reference(reference))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "a settlement is found by its id, or "
                            "by merchant_code and merchant_reference");
    int rc = request_require_merchant_reader(ctx, merchant);
    if (rc)
        return rc;
    struct reference_key key;
    reference_key_make(&key, 'S', merchant, reference);
    rc = reference_seq_find(ctx->txn, &key, settlement_id);
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read reference %s", reference);
    if (rc == 0)
        return request_fail(ctx, FL_ERR_UNKNOWN_SETTLEMENT, "merchant %s has no settlement %s",
                            merchant, reference);
    if (settle_reversed(ctx->txn, &key))
        return request_fail(ctx, FL_ERR_REVERSED, "merchant %s reversed %s (entry %llu) before "
                            "any settlement arrived", merchant, reference,
                            (unsigned long long)*settlement_id);
    return 0;
}

int settlement_get_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__SettlementGetRequest *get = request->settlement_get;
    Famledger__Settlement *settlement;
    uint64_t settlement_id = get->settlement_id;
    int rc = 0;
    if (settlement_id == 0) /* by reference, which must then be whole */
        rc = settlement_find_by_reference(ctx, get->merchant_code, get->merchant_reference,
                                          &settlement_id);
    if (rc || (rc = settlement_load(ctx, settlement_id, &settlement)))
        return rc;
    /* Auditors read every settlement; a pharmacy only its own. */
    if ((rc = request_require_merchant_reader(ctx, settlement->merchant_code)))
        return rc;
    return settlement_reply(ctx, settlement);
}
