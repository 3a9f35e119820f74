/* lifecycle.c -- the life of persons and accounts: freezes, suspensions, withdrawals (提取) for
 * the six legal reasons, and transfers between regions (跨省转移). */
#include "lifecycle.h"

#include "account.h"
#include "ledger.h"
#include "person.h"
#include "reference.h"
#include "state.h"
#include "validate.h"

#include <string.h>

static bool reason_text_valid(const char *text)
{
    return validate_name(text); /* 1..128 bytes of UTF-8, no control characters */
}

int lifecycle_freeze_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__AccountFreezeRequest *freeze = request->account_freeze;
    Famledger__Account *account;
    int rc = account_require(ctx, freeze->person_no, "person", &account);
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

/* A closed account funds nobody: end every binding it funds. Returns how many, or < 0. */
static int bindings_end(struct request_ctx *ctx, const char *holder)
{
    Famledger__BindingList *funded, *funders;
    int rc = state_bindings_get(ctx->txn, ctx->arena, STORE_DB_FUNDED, holder, &funded);
    for (size_t i = 0; rc == 0 && i < funded->n_bindings; i++) {
        const char *beneficiary = funded->bindings[i]->beneficiary;
        rc = state_bindings_get(ctx->txn, ctx->arena, STORE_DB_FUNDERS, beneficiary, &funders);
        size_t kept = 0;
        for (size_t j = 0; rc == 0 && j < funders->n_bindings; j++)
            if (strcmp(funders->bindings[j]->holder, holder) != 0)
                funders->bindings[kept++] = funders->bindings[j];
        funders->n_bindings = kept;
        if (rc == 0)
            rc = state_bindings_put(ctx->txn, ctx->arena, STORE_DB_FUNDERS, beneficiary, funders);
    }
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
    int rc = ledger_entry_get(ctx->txn, ctx->arena, seq, &entry, NULL, NULL);
    Famledger__Movement *movement = NULL;
    if (rc == 1 && entry->body_case == FAMLEDGER__ENTRY__BODY_WITHDRAWN)
        movement = entry->withdrawn->movement;
    else if (rc == 1 && entry->body_case == FAMLEDGER__ENTRY__BODY_TRANSFERRED_OUT)
        movement = entry->transferred_out->movement;
    else if (rc == 1 && entry->body_case == FAMLEDGER__ENTRY__BODY_TRANSFERRED_IN)
        movement = entry->transferred_in->movement;
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

/* Move `movement->amount_fen` (signed) on the account, closing it if asked, after appending
 * `entry`; then record the reference and answer. */
static int movement_record(struct request_ctx *ctx, Famledger__Entry *entry,
                           Famledger__Movement *movement, Famledger__Account *account,
                           const struct reference_key *key, const uint8_t fingerprint[HASH_BYTES])
{
    int64_t delta = strcmp(movement->kind, "transfer_in") == 0 ? movement->amount_fen
                                                                : -movement->amount_fen;
    movement->balance_after_fen = account->balance_fen + delta;
    if (movement->account_closed) {
        int ended = bindings_end(ctx, account->person_no);
        if (ended < 0)
            return request_fail(ctx, ended, "cannot end the bindings of %s", account->person_no);
        movement->bindings_ended = (uint32_t)ended;
        account->status = FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED;
    }
    int rc;
    if ((rc = ledger_append(ctx, entry)) || (rc = account_move(ctx, account, delta, entry->seq)) ||
        (rc = reference_record(ctx->txn, key, fingerprint, entry->seq)))
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
                                  Famledger__Account **account)
{
    int rc = account_require(ctx, person_no, "person", account);
    if (rc)
        return rc;
    if ((*account)->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED)
        return request_fail(ctx, FL_ERR_ACCOUNT_CLOSED, "the account of %s is closed",
                            person_no);
    if ((*account)->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_FROZEN)
        return request_fail(ctx, FL_ERR_ACCOUNT_FROZEN, "the account of %s is frozen",
                            person_no);
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
                                "the amount must be positive and at most the balance (%lld fen)",
                                (long long)balance);
        return 0;
    case FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_DEATH: /* the heir checked above */
    case FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_OPT_OUT:
    case FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_EMIGRATION:
    case FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_TRANSFER_NOT_ACCEPTED:
        if (withdraw->amount_fen != 0 && withdraw->amount_fen != balance)
            return request_fail(ctx, FL_ERR_WITHDRAWAL_NOT_ALLOWED,
                                "this reason withdraws the whole balance (%lld fen) and closes "
                                "the account", (long long)balance);
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
    Famledger__Account *account;
    if ((rc = account_require_paying(ctx, withdraw->person_no, &account)))
        return rc;
    Famledger__Movement *movement = movement_new(ctx, "withdrawal", withdraw->person_no,
                                                 withdraw->reference);
    movement->reason = withdraw->reason;
    if ((rc = withdraw_rules(ctx, withdraw, account, movement)))
        return rc;
    Famledger__Withdrawn withdrawn = FAMLEDGER__WITHDRAWN__INIT;
    withdrawn.request = withdraw;
    withdrawn.movement = movement;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_WITHDRAWN;
    entry.withdrawn = &withdrawn;
    return movement_record(ctx, &entry, movement, account, &key, fingerprint);
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
    Famledger__Account *account;
    if ((rc = account_require_paying(ctx, transfer->person_no, &account)))
        return rc;
    Famledger__Movement *movement = movement_new(ctx, "transfer_out", transfer->person_no,
                                                 transfer->reference);
    movement->amount_fen = account->balance_fen;
    movement->account_closed = 1;
    Famledger__TransferredOut out = FAMLEDGER__TRANSFERRED_OUT__INIT;
    out.request = transfer;
    out.movement = movement;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_TRANSFERRED_OUT;
    entry.transferred_out = &out;
    return movement_record(ctx, &entry, movement, account, &key, fingerprint);
}

int lifecycle_transfer_in_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    Famledger__TransferInRequest *transfer = request->transfer_in;
    if (!validate_region(transfer->from_region))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "from_region must be a 6-digit admdvs "
                            "code");
    if (!validate_amount_fen(transfer->amount_fen))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "amount must be positive");
    struct reference_key key;
    uint8_t fingerprint[HASH_BYTES];
    int rc = movement_reference(ctx, 'T', transfer->reference, &transfer->base, &key,
                                fingerprint);
    if (rc)
        return rc < 0 ? rc : 0;
    Famledger__Account *account;
    if ((rc = account_require_receiving(ctx, transfer->person_no, transfer->amount_fen,
                                        &account)))
        return rc;
    Famledger__Movement *movement = movement_new(ctx, "transfer_in", transfer->person_no,
                                                 transfer->reference);
    movement->amount_fen = transfer->amount_fen;
    Famledger__TransferredIn in = FAMLEDGER__TRANSFERRED_IN__INIT;
    in.request = transfer;
    in.movement = movement;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_TRANSFERRED_IN;
    entry.transferred_in = &in;
    return movement_record(ctx, &entry, movement, account, &key, fingerprint);
}
