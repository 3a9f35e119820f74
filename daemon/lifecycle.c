/* lifecycle.c -- the life of persons and accounts: freezes, suspensions, withdrawals (提取) for
 * the six legal reasons, and transfers between regions (跨省转移). */
#include "lifecycle.h"

#include "account.h"
#include "books.h"
#include "entry_check.h"
#include "ledger.h"
#include "person.h"
#include "reference.h"
#include "state.h"
#include "validate.h"
#include "wallet.h"

#include <string.h>

static bool reason_text_valid(const char *text)
{
    return validate_name(text); /* 1..128 bytes of UTF-8, no control characters */
}

int lifecycle_freeze_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__AccountFreezeRequest *freeze = request->account_freeze;
    Famledger__Account *account;
    int rc = account_require(ctx, freeze->person_no, "person", NULL, &account);
    if (rc)
        return rc;
    if (freeze->frozen && !reason_text_valid(freeze->reason))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "a freeze needs a reason");
    if (account->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED)
        return request_fail(ctx, FL_ERR_ACCOUNT_CLOSED, "the account of %s is closed",
                            freeze->person_no);
    bool frozen = account->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_FROZEN;
    if (frozen != (bool)freeze->frozen) {
        Famledger__AccountFrozen changed = FAMLEDGER__ACCOUNT_FROZEN__INIT;
        changed.person_no = freeze->person_no;
        changed.frozen = freeze->frozen;
        changed.reason = freeze->frozen ? freeze->reason : (char *)"";
        changed.balance_fen = account->balance_fen;
        Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
        entry.body_case = FAMLEDGER__ENTRY__BODY_ACCOUNT_FROZEN;
        entry.account_frozen = &changed;
        account->status = freeze->frozen ? FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_FROZEN
                                         : FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_OPEN;
        account->freeze_reason = changed.reason;
        if ((rc = ledger_append(ctx, &entry)) || (rc = account_move(ctx, account, 0, entry.seq)))
            return request_fail(ctx, rc, "cannot record the freeze");
    }
    Famledger__AccountReply *reply = ARENA_NEW(ctx->arena, Famledger__AccountReply);
    famledger__account_reply__init(reply);
    reply->account = account;
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_ACCOUNT;
    ctx->response->account = reply;
    return 0;
}

int lifecycle_suspend_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__PersonSuspendRequest *suspend = request->person_suspend;
    Famledger__Person *person;
    int rc = person_require(ctx, suspend->person_no, "person", &person);
    if (rc)
        return rc;
    if (suspend->suspended && !reason_text_valid(suspend->reason))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "a suspension needs a reason");
    if ((bool)person->suspended != (bool)suspend->suspended) {
        Famledger__PersonSuspended changed = FAMLEDGER__PERSON_SUSPENDED__INIT;
        changed.person_no = suspend->person_no;
        changed.suspended = suspend->suspended;
        changed.reason = suspend->suspended ? suspend->reason : (char *)"";
        Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
        entry.body_case = FAMLEDGER__ENTRY__BODY_PERSON_SUSPENDED;
        entry.person_suspended = &changed;
        person->suspended = suspend->suspended;
        person->suspend_reason = changed.reason;
        if ((rc = ledger_append(ctx, &entry)) ||
            (rc = state_person_put(ctx->txn, ctx->arena, person)))
            return request_fail(ctx, rc, "cannot record the suspension");
    }
    return person_reply(ctx, person);
}

/* Remove `person_no` from the binding list `db` of `owner`. */
static int binding_list_drop(struct request_ctx *ctx, enum store_db db, const char *owner,
                             const char *person_no)
{
    Famledger__BindingList *list;
    int rc = state_bindings_get(ctx->txn, ctx->arena, db, owner, &list);
    size_t kept = 0;
    for (size_t j = 0; rc == 0 && j < list->n_bindings; j++) {
        const Famledger__Binding *binding = list->bindings[j];
        const char *other = db == STORE_DB_FUNDERS ? binding->holder : binding->beneficiary;
        if (strcmp(other, person_no) != 0)
            list->bindings[kept++] = list->bindings[j];
    }
    if (rc == 0)
        list->n_bindings = kept;
    return rc ? rc : state_bindings_put(ctx->txn, ctx->arena, db, owner, list);
}

/* A deceased person is funded by nobody: end every binding that pays for them. Returns how
 * many, or < 0. */
static int bindings_end_funded(struct request_ctx *ctx, const char *beneficiary)
{
    Famledger__BindingList *funders;
    int rc = state_bindings_get(ctx->txn, ctx->arena, STORE_DB_FUNDERS, beneficiary, &funders);
    for (size_t i = 0; rc == 0 && i < funders->n_bindings; i++)
        rc = binding_list_drop(ctx, STORE_DB_FUNDED, funders->bindings[i]->holder, beneficiary);
    if (rc)
        return rc;
    int ended = (int)funders->n_bindings;
    funders->n_bindings = 0;
    rc = state_bindings_put(ctx->txn, ctx->arena, STORE_DB_FUNDERS, beneficiary, funders);
    return rc ? rc : ended;
}

int lifecycle_deceased_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__PersonDeceasedRequest *died = request->person_deceased;
    Famledger__Person *person;
    int rc = person_require(ctx, died->person_no, "person", &person);
    if (rc)
        return rc;
    if (!validate_reference(died->evidence))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "a death is recorded on evidence: the "
                            "death certificate or household-register number (1 to 64 printable "
                            "ASCII characters)");
    if (person->status == FAMLEDGER__PERSON_STATUS__PERSON_DECEASED) {
        ctx->response->replayed = 1; /* recorded already: nothing more to do */
        return person_reply(ctx, person);
    }
    Famledger__Account *account = NULL;
    if ((rc = state_account_get(ctx->txn, ctx->arena, person->person_no, &account)) < 0)
        return request_fail(ctx, rc, "cannot read the account of %s", person->person_no);
    if (account && account->status != FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "%s holds an account: record the death "
                            "with a death withdrawal, which pays the balance to the heirs",
                            person->person_no);
    int64_t wallet_fen, available;
    if ((rc = wallet_available(ctx, person->person_no, &wallet_fen, &available)))
        return rc;
    if (wallet_fen > 0)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "the wallet of %s holds %s yuan: record "
                            "the death with a death withdrawal, which pays it to the heirs",
                            person->person_no, request_yuan(ctx, wallet_fen));
    int ended = bindings_end_funded(ctx, person->person_no);
    if (ended < 0)
        return request_fail(ctx, ended, "cannot end the bindings of %s", person->person_no);
    Famledger__PersonDied record = FAMLEDGER__PERSON_DIED__INIT;
    record.person_no = person->person_no;
    record.evidence = arena_strdup(ctx->arena, died->evidence);
    record.bindings_ended = (uint32_t)ended;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_PERSON_DIED;
    entry.person_died = &record;
    person->status = FAMLEDGER__PERSON_STATUS__PERSON_DECEASED;
    if ((rc = ledger_append(ctx, &entry)) ||
        (rc = state_person_put(ctx->txn, ctx->arena, person)))
        return request_fail(ctx, rc, "cannot record the death of %s", person->person_no);
    return person_reply(ctx, person);
}

/* A closed account funds nobody: end every binding it funds. Returns how many, or < 0. */
static int bindings_end(struct request_ctx *ctx, const char *holder)
{
    Famledger__BindingList *funded;
    int rc = state_bindings_get(ctx->txn, ctx->arena, STORE_DB_FUNDED, holder, &funded);
    for (size_t i = 0; rc == 0 && i < funded->n_bindings; i++)
        rc = binding_list_drop(ctx, STORE_DB_FUNDERS, funded->bindings[i]->beneficiary, holder);
    if (rc)
        return rc;
    int ended = (int)funded->n_bindings;
    funded->n_bindings = 0;
    rc = state_bindings_put(ctx->txn, ctx->arena, STORE_DB_FUNDED, holder, funded);
    return rc ? rc : ended;
}

static int movement_reply(struct request_ctx *ctx, Famledger__Movement *movement, uint64_t seq)
{
    movement->seq = seq;
    Famledger__MovementReply *reply = ARENA_NEW(ctx->arena, Famledger__MovementReply);
    famledger__movement_reply__init(reply);
    reply->movement = movement;
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_MOVEMENT;
    ctx->response->movement = reply;
    return 0;
}

/* A retry of a withdrawal or transfer answers the movement its entry recorded. */
static int movement_replay(struct request_ctx *ctx, uint64_t seq)
{
    Famledger__Entry *entry;
    int rc = ledger_entry_read(ctx->txn, ctx->arena, seq, &entry);
    Famledger__Movement *movement = rc == 1 ? entry_movement(entry) : NULL;
    if (!movement)
        return request_fail(ctx, FL_ERR_INTERNAL, "entry %llu is unreadable",
                            (unsigned long long)seq);
    ctx->response->replayed = 1;
    return movement_reply(ctx, movement, seq);
}

/* Look up an idempotency reference: 0 to go on, 1 after answering a replay, < 0 on error. */
static int movement_reference(struct request_ctx *ctx, char scope, const char *reference,
                              const ProtobufCMessage *request, struct reference_key *key,
                              uint8_t fingerprint[HASH_BYTES])
{
    if (!validate_reference(reference))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "reference must be 1 to 64 printable ASCII characters");
    uint64_t seq;
    int rc = reference_lookup(ctx, scope, "", reference, request, key, fingerprint, &seq);
    if (rc == 1) {
        int replay = movement_replay(ctx, seq);
        return replay ? replay : 1;
    }
    return rc;
}

/* Where a movement's money comes from or goes to, and what becomes of the person. */
struct movement_effect {
    Famledger__Person *person;
    Famledger__Account *account;
    Famledger__AccountClass counter_class; /* the system account on the other side */
    const char *counter_id;
    Famledger__PersonStatus status_after;  /* unspecified: unchanged */
    bool person_changed;                   /* the person's region changed */
    bool cash_due;                         /* the money is owed in cash: the account stays */
    const struct reference_key *link_key;  /* a transfer-in: the transfer-out it completes */
};

/* Close the account if the movement closes it, ending the bindings that must end: those it
 * funds, and at a death those that fund the person (who may have had no account). */
static int movement_close(struct request_ctx *ctx, Famledger__Movement *movement,
                          const struct movement_effect *effect)
{
    bool died = effect->status_after == FAMLEDGER__PERSON_STATUS__PERSON_DECEASED;
    if (!movement->account_closed && !died)
        return 0;
    const char *person_no = effect->person->person_no;
    int ended = movement->account_closed ? bindings_end(ctx, person_no) : 0, also = 0;
    if (ended >= 0 && died)
        also = bindings_end_funded(ctx, person_no);
    if (ended < 0 || also < 0)
        return request_fail(ctx, ended < 0 ? ended : also, "cannot end the bindings of %s",
                            person_no);
    movement->bindings_ended = (uint32_t)(ended + also);
    if (movement->account_closed)
        effect->account->status = FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED;
    return 0;
}

/* Move `movement->amount_fen` on the account (in for a transfer-in, out otherwise) and
 * `movement->wallet_fen` out of the person's wallet against the effect's system account,
 * closing the account if asked, after appending `entry`; then record the reference and answer.
 * A death withdrawal of a person without an open account moves their wallet only. */
static int movement_record(struct request_ctx *ctx, Famledger__Entry *entry,
                           Famledger__Movement *movement, const struct movement_effect *effect,
                           const struct reference_key *key, const uint8_t fingerprint[HASH_BYTES])
{
    /* Money owed in cash never enters the account (its record is not moved). */
    Famledger__Account *account = effect->cash_due ? NULL : effect->account;
    int64_t delta = strcmp(movement->kind, "transfer_in") == 0 ? movement->amount_fen
                                                                : -movement->amount_fen;
    movement->balance_after_fen = account ? account->balance_fen + delta : 0;
    /* ...and the account stays closed, as the reply says (account_closed: a client of the C
     * library, whose fl_movement has no room for cash_refund_due, reads it there). */
    movement->cash_refund_due = effect->cash_due;
    movement->account_closed |= effect->cash_due;
    int rc = movement_close(ctx, movement, effect);
    if (rc)
        return rc;
    books_post(ctx, entry,
               effect->cash_due ? FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CASH_REFUND_DUE
                                : FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_PERSONAL,
               effect->person->person_no, delta);
    books_post(ctx, entry, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET,
               effect->person->person_no, -movement->wallet_fen);
    books_post(ctx, entry, effect->counter_class, effect->counter_id,
               movement->wallet_fen - delta);
    bool person_changed = effect->person_changed;
    if (effect->status_after && effect->status_after != effect->person->status) {
        effect->person->status = effect->status_after;
        person_changed = true;
    }
    if ((rc = ledger_append(ctx, entry)) ||
        (account && (rc = account_move(ctx, account, delta, entry->seq))) ||
        (rc = reference_record(ctx->txn, key, fingerprint, entry->seq)) ||
        (person_changed && (rc = state_person_put(ctx->txn, ctx->arena, effect->person))) ||
        (effect->link_key &&
         (rc = reference_record(ctx->txn, effect->link_key, fingerprint, entry->seq))))
        return request_fail(ctx, rc, "cannot record the %s", movement->kind);
    return movement_reply(ctx, movement, entry->seq);
}

static Famledger__Movement *movement_new(struct request_ctx *ctx, const char *kind,
                                         const char *person_no, const char *reference)
{
    Famledger__Movement *movement = ARENA_NEW(ctx->arena, Famledger__Movement);
    famledger__movement__init(movement);
    movement->kind = (char *)kind;
    movement->person_no = (char *)person_no;
    movement->reference = (char *)reference;
    return movement;
}

/* An account money may leave: open, not frozen. */
static int account_require_paying(struct request_ctx *ctx, const char *person_no,
                                  Famledger__Person **person, Famledger__Account **account)
{
    int rc = account_require(ctx, person_no, "person", person, account);
    if (rc)
        return rc;
    if ((*account)->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED)
        return request_fail(ctx, FL_ERR_ACCOUNT_CLOSED, "the account of %s is closed",
                            person_no);
    if ((*account)->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_FROZEN)
        return request_fail(ctx, FL_ERR_ACCOUNT_FROZEN, "the account of %s is frozen",
                            person_no);
    /* A held quote was promised its legs: money leaves the account only after the hold ends
     * (captured, released, or expired within hold_seconds_max). */
    if ((*account)->held_fen > 0)
        return request_fail(ctx, FL_ERR_ACCOUNT_HELD, "%s yuan of the account of %s is held for "
                            "a quote; try again when the hold ends",
                            request_yuan(ctx, (*account)->held_fen), person_no);
    return 0;
}

/* The rules of each reason: what amount, what evidence, whether the account closes. */
static int withdraw_rules(struct request_ctx *ctx, const Famledger__WithdrawRequest *withdraw,
                          const Famledger__Account *account, Famledger__Movement *movement)
{
    int64_t balance = account->balance_fen;
    switch (withdraw->reason) {
    case FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_MAJOR_DISEASE: /* evidence checked above */
    case FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_LONG_TERM_ELSEWHERE:
        movement->amount_fen = withdraw->amount_fen ? withdraw->amount_fen : balance;
        if (movement->amount_fen <= 0 || movement->amount_fen > balance)
            return request_fail(ctx, FL_ERR_WITHDRAWAL_NOT_ALLOWED,
                                "the amount must be positive and at most the balance (%s yuan)",
                                request_yuan(ctx, balance));
        return 0;
    case FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_DEATH: /* the heir checked above */
    case FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_OPT_OUT:
    case FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_EMIGRATION:
    case FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_TRANSFER_NOT_ACCEPTED:
        /* Whole-balance reasons: a closed-account person may not come back to them. */
        if (withdraw->amount_fen != 0 && withdraw->amount_fen != balance)
            return request_fail(ctx, FL_ERR_WITHDRAWAL_NOT_ALLOWED,
                                "this reason withdraws the whole balance (%s yuan) and closes "
                                "the account", request_yuan(ctx, balance));
        movement->amount_fen = balance;
        movement->account_closed = 1;
        return 0;
    default:
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "unknown withdrawal reason");
    }
}

/* The withdrawal as the ledger records it: only the evidence its reason takes, checked. The
 * entry and the fingerprint are made of this, never of the client's bytes. */
static int withdraw_command_make(struct request_ctx *ctx, const Famledger__WithdrawRequest *in,
                                 Famledger__WithdrawRequest **out)
{
    bool disease = in->reason == FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_MAJOR_DISEASE;
    bool death = in->reason == FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_DEATH;
    if (!disease && *in->disease_code)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "disease_code is only for major-disease withdrawals");
    if (!death && *in->heir)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "heir is only for death withdrawals");
    if (disease && !validate_reference(in->disease_code))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "major-disease withdrawals need the disease code (1 to 64 "
                            "printable ASCII characters)");
    if (death && !validate_name(in->heir))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "a death withdrawal names the heir (1 to 128 bytes of text)");
    Famledger__WithdrawRequest *command = ARENA_NEW(ctx->arena, Famledger__WithdrawRequest);
    famledger__withdraw_request__init(command);
    command->person_no = arena_strdup(ctx->arena, in->person_no);
    command->reason = in->reason;
    command->reference = arena_strdup(ctx->arena, in->reference);
    command->amount_fen = in->amount_fen;
    command->disease_code = arena_strdup(ctx->arena, in->disease_code);
    command->heir = arena_strdup(ctx->arena, in->heir);
    *out = command;
    return 0;
}

/* What a withdrawal makes of the person: a death is final; opting out or leaving the country
 * (or for a region that does not take the balance) ends their insurance here. */
static Famledger__PersonStatus withdraw_status_after(Famledger__WithdrawalReason reason)
{
    switch (reason) {
    case FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_DEATH:
        return FAMLEDGER__PERSON_STATUS__PERSON_DECEASED;
    case FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_OPT_OUT:
        return FAMLEDGER__PERSON_STATUS__PERSON_OPTED_OUT;
    case FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_EMIGRATION:
    case FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_TRANSFER_NOT_ACCEPTED:
        return FAMLEDGER__PERSON_STATUS__PERSON_MOVED_OUT;
    default:
        return FAMLEDGER__PERSON_STATUS__PERSON_STATUS_UNSPECIFIED;
    }
}

/* A major-disease withdrawal names a listed disease, when a list is configured. */
static int withdraw_disease_listed(struct request_ctx *ctx,
                                   const Famledger__WithdrawRequest *withdraw)
{
    if (withdraw->reason != FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_MAJOR_DISEASE ||
        config_disease_listed(ctx->config, withdraw->disease_code))
        return 0;
    return request_fail(ctx, FL_ERR_WITHDRAWAL_NOT_ALLOWED, "disease %s is not on the list of "
                        "major diseases (%s)", withdraw->disease_code,
                        ctx->config->major_disease_codes_path);
}

/* The person's wallet (医保钱包), which a withdrawal that closes the account or records a death
 * pays out whole: the money is theirs (or the heirs'), and no entry could move it once they
 * are gone. Refused while a held quote reserves part of it, as the account's money is. */
static int wallet_take(struct request_ctx *ctx, const char *person_no, int64_t *wallet_fen)
{
    int64_t available;
    int rc = wallet_available(ctx, person_no, wallet_fen, &available);
    if (rc == 0 && available != *wallet_fen)
        return request_fail(ctx, FL_ERR_ACCOUNT_HELD, "%s yuan of the wallet of %s is held for "
                            "a quote; try again when the hold ends",
                            request_yuan(ctx, *wallet_fen - available), person_no);
    return rc;
}

/* A death withdrawal of a person without an open account (a resident-scheme beneficiary, or
 * one whose account closed before) pays their wallet to the heir: then *only is set, with
 * effect->person, and effect->account stays NULL. Otherwise the withdrawal is from the open
 * account, as any is. */
static int withdraw_wallet_only(struct request_ctx *ctx, const Famledger__WithdrawRequest *in,
                                struct movement_effect *effect, Famledger__Movement *movement,
                                bool *only)
{
    *only = false;
    if (in->reason != FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_DEATH)
        return 0;
    Famledger__Person *person;
    Famledger__Account *account = NULL;
    int rc = person_require(ctx, in->person_no, "person", &person);
    if (rc)
        return rc;
    if ((rc = state_account_get(ctx->txn, ctx->arena, person->person_no, &account)) < 0)
        return request_fail(ctx, rc, "cannot read the account of %s", person->person_no);
    if (account && account->status != FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED)
        return 0;
    if (person->status == FAMLEDGER__PERSON_STATUS__PERSON_DECEASED)
        return request_fail(ctx, FL_ERR_PERSON_DECEASED, "%s is recorded as deceased",
                            person->person_no);
    if ((rc = wallet_take(ctx, person->person_no, &movement->wallet_fen)))
        return rc;
    if (movement->wallet_fen == 0)
        return request_fail(ctx, account ? FL_ERR_ACCOUNT_CLOSED : FL_ERR_NO_ACCOUNT,
                            "%s has no open account and nothing in their wallet: record the "
                            "death with person deceased", person->person_no);
    if (in->amount_fen != 0)
        return request_fail(ctx, FL_ERR_WITHDRAWAL_NOT_ALLOWED, "%s has no open account: the "
                            "death withdrawal pays their wallet whole (%s yuan); give no "
                            "amount", person->person_no,
                            request_yuan(ctx, movement->wallet_fen));
    effect->person = person;
    *only = true;
    return 0;
}

int lifecycle_withdraw_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    Famledger__WithdrawRequest *withdraw = NULL;
    int rc = withdraw_command_make(ctx, request->withdraw, &withdraw);
    if (rc)
        return rc;
    if (withdraw->amount_fen < 0)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "amount must not be negative");
    struct reference_key key;
    uint8_t fingerprint[HASH_BYTES];
    rc = movement_reference(ctx, 'W', withdraw->reference, &withdraw->base, &key, fingerprint);
    if (rc)
        return rc < 0 ? rc : 0;
    struct movement_effect effect = {.counter_class = FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_FUND};
    Famledger__Movement *movement = movement_new(ctx, "withdrawal", withdraw->person_no,
                                                 withdraw->reference);
    movement->reason = withdraw->reason;
    bool wallet_only;
    if ((rc = withdraw_wallet_only(ctx, withdraw, &effect, movement, &wallet_only)))
        return rc;
    if (!wallet_only &&
        ((rc = account_require_paying(ctx, withdraw->person_no, &effect.person,
                                      &effect.account)) ||
         (rc = withdraw_disease_listed(ctx, withdraw)) ||
         (rc = withdraw_rules(ctx, withdraw, effect.account, movement)) ||
         (movement->account_closed &&
          (rc = wallet_take(ctx, withdraw->person_no, &movement->wallet_fen)))))
        return rc;
    /* Money withdrawn is paid out by the fund of the person's region. */
    effect.counter_id = effect.person->region;
    effect.status_after = withdraw_status_after(withdraw->reason);
    Famledger__Withdrawn withdrawn = FAMLEDGER__WITHDRAWN__INIT;
    withdrawn.request = withdraw;
    withdrawn.movement = movement;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_WITHDRAWN;
    entry.withdrawn = &withdrawn;
    return movement_record(ctx, &entry, movement, &effect, &key, fingerprint);
}

int lifecycle_transfer_out_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    Famledger__TransferOutRequest *transfer = request->transfer_out;
    if (!validate_region(transfer->to_region))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "to_region must be a 6-digit admdvs "
                            "code");
    struct reference_key key;
    uint8_t fingerprint[HASH_BYTES];
    int rc = movement_reference(ctx, 'T', transfer->reference, &transfer->base, &key,
                                fingerprint);
    if (rc)
        return rc < 0 ? rc : 0;
    /* The balance waits in the clearing account of the region it goes to. */
    struct movement_effect effect = {
        .counter_class = FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CLEARING,
        .counter_id = transfer->to_region,
        .status_after = FAMLEDGER__PERSON_STATUS__PERSON_MOVED_OUT,
    };
    if ((rc = account_require_paying(ctx, transfer->person_no, &effect.person,
                                     &effect.account)))
        return rc;
    Famledger__Movement *movement = movement_new(ctx, "transfer_out", transfer->person_no,
                                                 transfer->reference);
    movement->amount_fen = effect.account->balance_fen;
    movement->account_closed = 1;
    Famledger__TransferredOut out = FAMLEDGER__TRANSFERRED_OUT__INIT;
    out.request = transfer;
    out.movement = movement;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_TRANSFERRED_OUT;
    entry.transferred_out = &out;
    return movement_record(ctx, &entry, movement, &effect, &key, fingerprint);
}

/* The account a transfer-in credits: an open or frozen one, or the closed account of a person
 * who moved out and now comes back (reopened, in the region they come to). */
static int transfer_in_account(struct request_ctx *ctx, Famledger__TransferInRequest *transfer,
                               struct movement_effect *effect)
{
    if (*transfer->to_region && !validate_region(transfer->to_region))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "to_region must be a 6-digit admdvs "
                            "code");
    int rc = account_require(ctx, transfer->person_no, "person", &effect->person,
                             &effect->account);
    if (rc)
        return rc;
    Famledger__Person *person = effect->person;
    Famledger__Account *account = effect->account;
    /* Died while their money was on its way from a transfer-out of this ledger: it arrives,
     * owed in cash to the heirs, and the account stays closed. Money from outside does not
     * come to the dead. */
    if (person->status == FAMLEDGER__PERSON_STATUS__PERSON_DECEASED) {
        if (!transfer->transfer_out_seq)
            return request_fail(ctx, FL_ERR_PERSON_DECEASED, "%s is deceased",
                                person->person_no);
        effect->cash_due = true;
        return 0;
    }
    if (account->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED) {
        if (person->status != FAMLEDGER__PERSON_STATUS__PERSON_MOVED_OUT)
            return request_fail(ctx, FL_ERR_ACCOUNT_CLOSED, "the account of %s is closed",
                                person->person_no);
        account->status = FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_OPEN;
        effect->status_after = FAMLEDGER__PERSON_STATUS__PERSON_ACTIVE;
    }
    return account_may_receive(ctx, account, transfer->amount_fen);
}

/* A transfer-in that names the transfer-out it completes takes its money from the clearing
 * account that transfer-out filled: same person, same amount, once. The person's region
 * becomes the one they moved to. */
static int transfer_in_link(struct request_ctx *ctx, Famledger__TransferInRequest *transfer,
                            struct movement_effect *effect, struct reference_key *link_key)
{
    const char *to_region = transfer->to_region;
    if (transfer->transfer_out_seq) {
        Famledger__Entry *out;
        uint64_t seq = transfer->transfer_out_seq, used;
        int rc = ledger_entry_read(ctx->txn, ctx->arena, seq, &out);
        if (rc < 0)
            return request_fail(ctx, rc, "cannot read entry %llu", (unsigned long long)seq);
        if (rc == 0 || out->body_case != FAMLEDGER__ENTRY__BODY_TRANSFERRED_OUT)
            return request_fail(ctx, FL_ERR_TRANSFER_MISMATCH, "entry %llu is not a "
                                "transfer-out", (unsigned long long)seq);
        if (!out->transferred_out->movement || !out->transferred_out->request)
            return request_fail(ctx, FL_ERR_INTERNAL, "transfer-out entry %llu is unreadable",
                                (unsigned long long)seq);
        const Famledger__Movement *sent = out->transferred_out->movement;
        const char *sent_to = out->transferred_out->request->to_region;
        if (strcmp(sent->person_no, transfer->person_no) != 0 ||
            sent->amount_fen != transfer->amount_fen || (*to_region && strcmp(to_region, sent_to)))
            return request_fail(ctx, FL_ERR_TRANSFER_MISMATCH, "transfer-out %llu sent %s yuan "
                                "of %s to region %s", (unsigned long long)seq,
                                request_yuan(ctx, sent->amount_fen), sent->person_no, sent_to);
        char number[24];
        snprintf(number, sizeof(number), "%llu", (unsigned long long)seq);
        reference_key_make(link_key, 'L', "", number);
        if ((rc = reference_seq_find(ctx->txn, link_key, &used)) != 0)
            return rc < 0 ? request_fail(ctx, rc, "cannot read the transfer links")
                          : request_fail(ctx, FL_ERR_TRANSFER_MISMATCH, "transfer-out %llu was "
                                         "completed by entry %llu", (unsigned long long)seq,
                                         (unsigned long long)used);
        effect->counter_id = sent_to;
        /* The entry names the region the person moves to, which its clearing posting names
         * too when money moved: verify reads it from there, and from here when none did. */
        to_region = transfer->to_region = (char *)sent_to;
    }
    if (*to_region && strcmp(to_region, effect->person->region) != 0) {
        effect->person->region = (char *)to_region;
        effect->person_changed = true;
    }
    return 0;
}

int lifecycle_transfer_in_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    Famledger__TransferInRequest *transfer = request->transfer_in;
    /* A transfer-in that completes a transfer-out of this ledger takes its region from it. */
    if (!(transfer->transfer_out_seq && !*transfer->from_region) &&
        !validate_region(transfer->from_region))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "from_region must be a 6-digit admdvs "
                            "code");
    /* An empty account moves too: its transfer-out sent 0, and the transfer-in that completes
     * it carries 0 (transfer_in_link holds it to what was sent). */
    if (!validate_amount_fen(transfer->amount_fen) &&
        !(transfer->amount_fen == 0 && transfer->transfer_out_seq))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "amount must be positive");
    struct reference_key key;
    uint8_t fingerprint[HASH_BYTES];
    int rc = movement_reference(ctx, 'T', transfer->reference, &transfer->base, &key,
                                fingerprint);
    if (rc)
        return rc < 0 ? rc : 0;
    struct movement_effect effect = {
        .counter_class = FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CLEARING,
        .counter_id = transfer->from_region,
    };
    struct reference_key link_key;
    if ((rc = transfer_in_account(ctx, transfer, &effect)) ||
        (rc = transfer_in_link(ctx, transfer, &effect, &link_key)))
        return rc;
    if (transfer->transfer_out_seq)
        effect.link_key = &link_key;
    Famledger__Movement *movement = movement_new(ctx, "transfer_in", transfer->person_no,
                                                 transfer->reference);
    movement->amount_fen = transfer->amount_fen;
    Famledger__TransferredIn in = FAMLEDGER__TRANSFERRED_IN__INIT;
    in.request = transfer;
    in.movement = movement;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_TRANSFERRED_IN;
    entry.transferred_in = &in;
    return movement_record(ctx, &entry, movement, &effect, &key, fingerprint);
}
