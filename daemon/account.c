/* account.c -- personal accounts: opening, credits, lookups, and moving balances. */
#include "account.h"

#include "books.h"
#include "fl_limits.h"
#include "ledger.h"
#include "log.h"
#include "person.h"
#include "reference.h"
#include "require.h"
#include "state.h"
#include "validate.h"

#include <string.h>

static int account_reply(struct request_ctx *ctx, Famledger__Account *account)
{
    Famledger__AccountReply *reply = ARENA_NEW(ctx->arena, Famledger__AccountReply);
    famledger__account_reply__init(reply);
    reply->account = account;
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_ACCOUNT;
    ctx->response->account = reply;
    return 0;
}

int account_require(struct request_ctx *ctx, const char *person_no, const char *role,
                    Famledger__Person **person_out, Famledger__Account **account)
{
    Famledger__Person *person;
    int rc = person_require(ctx, person_no, role, &person);
    if (person_out)
        *person_out = person;
    if (rc)
        return rc;
    rc = state_account_get(ctx->txn, ctx->arena, person_no, account);
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read the account of %s", person_no);
    if (rc == 0)
        return request_fail(ctx, FL_ERR_NO_ACCOUNT, "%s %s has no personal account", role,
                            person_no);
    return 0;
}

int account_require_receiving(struct request_ctx *ctx, const char *person_no, int64_t amount_fen,
                              Famledger__Person **person, Famledger__Account **account)
{
    int rc = account_require(ctx, person_no, "person", person, account);
    if (rc)
        return rc;
    if ((*account)->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED)
        return request_fail(ctx, FL_ERR_ACCOUNT_CLOSED, "the account of %s is closed",
                            person_no);
    return account_may_receive(ctx, *account, amount_fen);
}

int account_may_receive(struct request_ctx *ctx, const Famledger__Account *account,
                        int64_t amount_fen)
{
    REQUIRE(amount_fen >= 0);
    if (account->credited_fen <= INT64_MAX - amount_fen)
        return 0;
    return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "the account of %s has received %s yuan "
                        "in all, and %s more would overflow its totals", account->person_no,
                        request_yuan(ctx, account->credited_fen), request_yuan(ctx, amount_fen));
}

int account_chain(struct request_ctx *ctx, Famledger__Account *account, uint64_t seq)
{
    if (account->last_seq == seq)
        return 0;
    if (account->last_seq > seq) { /* read from disk: damage, never the start of an abort */
        log_error("account: the stored account of %s ends its statement at entry %llu, not "
                  "before %llu: the ledger is damaged (ledgerctl verify names it)",
                  account->person_no, (unsigned long long)account->last_seq,
                  (unsigned long long)seq);
        return FL_ERR_INTERNAL;
    }
    int rc = store_chain_link(ctx->txn, STORE_DB_ACCOUNT_LINKS, seq, account->person_no,
                              strlen(account->person_no), account->last_seq);
    if (rc == 0)
        account->last_seq = seq;
    return rc;
}

int account_move(struct request_ctx *ctx, Famledger__Account *account, int64_t amount_fen,
                 uint64_t seq)
{
    /* First: within what the account may receive, no sum below overflows. */
    int rc = amount_fen >= 0 ? account_may_receive(ctx, account, amount_fen) : 0;
    if (rc)
        return rc;
    REQUIRE(amount_fen >= 0 || account->balance_fen >= -amount_fen);
    /* Held money stays until its hold ends: only the available balance ever moves out. */
    REQUIRE(account->balance_fen + amount_fen >= account->held_fen);
    account->balance_fen += amount_fen;
    if (amount_fen >= 0)
        account->credited_fen += amount_fen;
    else
        account->debited_fen -= amount_fen;
    rc = account_chain(ctx, account, seq);
    return rc ? rc : state_account_put(ctx->txn, ctx->arena, account);
}

/* Enrolling again: a person whose account closed when they opted out (or moved out) gets it
 * back, with its history and an empty balance (a closing withdrawal took it all). */
static int account_reopen(struct request_ctx *ctx, Famledger__Person *person)
{
    Famledger__Account *account;
    int rc = state_account_get(ctx->txn, ctx->arena, person->person_no, &account);
    if (rc <= 0)
        return request_fail(ctx, rc < 0 ? rc : FL_ERR_INTERNAL, "cannot read the account of %s",
                            person->person_no);
    if (account->status != FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED)
        return request_fail(ctx, FL_ERR_ACCOUNT_EXISTS, "%s already has a personal account",
                            person->person_no);
    REQUIRE(account->balance_fen == 0); /* every closing movement takes the whole balance */
    Famledger__AccountReopened reopened = FAMLEDGER__ACCOUNT_REOPENED__INIT;
    reopened.person_no = person->person_no;
    reopened.region = person->region;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_ACCOUNT_REOPENED;
    entry.account_reopened = &reopened;
    account->status = FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_OPEN;
    person->status = FAMLEDGER__PERSON_STATUS__PERSON_ACTIVE;
    if ((rc = ledger_append(ctx, &entry)))
        return request_fail(ctx, rc, "cannot append to the ledger");
    account->opened_seq = entry.seq;
    if ((rc = account_chain(ctx, account, entry.seq)) ||
        (rc = state_account_put(ctx->txn, ctx->arena, account)) ||
        (rc = state_person_put(ctx->txn, ctx->arena, person)))
        return request_fail(ctx, rc, "cannot store the account of %s", person->person_no);
    return account_reply(ctx, account);
}

int account_open_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const char *person_no = request->account_open->person_no;
    Famledger__Person *person;
    int rc = person_require(ctx, person_no, "person", &person);
    if (rc)
        return rc;
    if (person->scheme != FAMLEDGER__SCHEME__SCHEME_EMPLOYEE)
        return request_fail(ctx, FL_ERR_NOT_EMPLOYEE,
                            "%s is insured under the resident scheme, which has no personal "
                            "account", person_no);
    if (person->status == FAMLEDGER__PERSON_STATUS__PERSON_DECEASED)
        return request_fail(ctx, FL_ERR_PERSON_DECEASED, "%s is deceased", person_no);
    if (person->has_account)
        return account_reopen(ctx, person);

    Famledger__AccountOpened *opened = ARENA_NEW(ctx->arena, Famledger__AccountOpened);
    famledger__account_opened__init(opened);
    opened->person_no = person->person_no;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_ACCOUNT_OPENED;
    entry.account_opened = opened;
    rc = ledger_append(ctx, &entry);
    if (rc)
        return request_fail(ctx, rc, "cannot append to the ledger");

    Famledger__Account *account = ARENA_NEW(ctx->arena, Famledger__Account);
    famledger__account__init(account);
    account->person_no = person->person_no;
    account->status = FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_OPEN;
    account->opened_seq = entry.seq;
    /* The head of the person's settlements as a patient moves into the account (patient.h). */
    account->patient_last_seq = person->patient_last_seq;
    person->patient_last_seq = 0;
    person->has_account = 1;
    if ((rc = account_chain(ctx, account, entry.seq)) ||
        (rc = state_account_put(ctx->txn, ctx->arena, account)) ||
        (rc = state_person_put(ctx->txn, ctx->arena, person)))
        return request_fail(ctx, rc, "cannot store the account of %s", person_no);
    return account_reply(ctx, account);
}

int account_get_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    Famledger__Account *account;
    int rc = account_require(ctx, request->account_get->person_no, "person", NULL, &account);
    return rc ? rc : account_reply(ctx, account);
}

/* The reply to a credit, first time or replay, is rebuilt from its entry. */
static int credit_reply(struct request_ctx *ctx, uint64_t seq)
{
    Famledger__Entry *entry;
    int rc = ledger_entry_read(ctx->txn, ctx->arena, seq, &entry);
    if (rc <= 0 || entry->body_case != FAMLEDGER__ENTRY__BODY_ACCOUNT_CREDITED)
        return request_fail(ctx, FL_ERR_INTERNAL, "credit entry %llu is unreadable",
                            (unsigned long long)seq);
    const Famledger__AccountCredited *credited = entry->account_credited;
    Famledger__CreditReply *reply = ARENA_NEW(ctx->arena, Famledger__CreditReply);
    famledger__credit_reply__init(reply);
    reply->seq = seq;
    reply->person_no = credited->person_no;
    reply->amount_fen = credited->amount_fen;
    reply->kind = credited->kind;
    reply->reference = credited->reference;
    reply->balance_after_fen = credited->balance_after_fen;
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_CREDIT;
    ctx->response->credit = reply;
    return 0;
}

static int credit_validate(struct request_ctx *ctx, Famledger__CreditRequest *credit)
{
    if (!validate_amount_fen(credit->amount_fen))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "amount must be positive and at most 100000000.00 yuan");
    if (!validate_reference(credit->reference))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "reference must be 1 to 64 printable ASCII characters");
    if (credit->kind == FAMLEDGER__CREDIT_KIND__CREDIT_KIND_UNSPECIFIED)
        credit->kind = FAMLEDGER__CREDIT_KIND__CREDIT_ALLOCATION;
    if (credit->kind != FAMLEDGER__CREDIT_KIND__CREDIT_ALLOCATION &&
        credit->kind != FAMLEDGER__CREDIT_KIND__CREDIT_DEPOSIT)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "kind must be allocation or deposit");
    return 0;
}

int account_credit_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    /* Normalised in place (the request belongs to this handler) so that "unspecified" and
     * "allocation" fingerprint alike. */
    Famledger__CreditRequest *credit = request->credit;
    int rc = credit_validate(ctx, credit);
    if (rc)
        return rc;

    struct reference_key key;
    uint8_t fingerprint[HASH_BYTES];
    uint64_t seq;
    rc = reference_lookup(ctx, 'C', "", credit->reference, &credit->base, &key, fingerprint,
                          &seq);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        ctx->response->replayed = 1;
        return credit_reply(ctx, seq);
    }
    Famledger__Person *person;
    Famledger__Account *account;
    if ((rc = account_require_receiving(ctx, credit->person_no, credit->amount_fen, &person,
                                        &account)))
        return rc;

    Famledger__AccountCredited *credited = ARENA_NEW(ctx->arena, Famledger__AccountCredited);
    famledger__account_credited__init(credited);
    credited->person_no = credit->person_no;
    credited->amount_fen = credit->amount_fen;
    credited->kind = credit->kind;
    credited->reference = credit->reference;
    credited->balance_after_fen = account->balance_fen + credit->amount_fen;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_ACCOUNT_CREDITED;
    entry.account_credited = credited;
    /* Allocations and deposits come from the fund of the person's region. */
    books_post(ctx, &entry, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_FUND, person->region,
               -credit->amount_fen);
    books_post(ctx, &entry, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_PERSONAL, credit->person_no,
               credit->amount_fen);
    if ((rc = ledger_append(ctx, &entry)) ||
        (rc = account_move(ctx, account, credit->amount_fen, entry.seq)) ||
        (rc = reference_record(ctx->txn, &key, fingerprint, entry.seq)))
        return request_fail(ctx, rc, "cannot record the credit");
    return credit_reply(ctx, entry.seq);
}

/* Run one credit of a batch in a nested transaction; its outcome goes into `item`. */
static int credit_batch_one(struct request_ctx *ctx, Famledger__CreditRequest *credit,
                            Famledger__CreditBatchItem *item)
{
    struct store_txn *child;
    int rc = store_nested_begin(ctx->txn, &child);
    if (rc)
        return rc;
    Famledger__Response response = FAMLEDGER__RESPONSE__INIT;
    struct request_ctx one = *ctx;
    one.txn = child;
    one.response = &response;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_CREDIT;
    request.credit = credit;
    rc = account_credit_handle(&one, &request);
    item->status = response.status;
    item->error = response.error ? response.error : (char *)"";
    item->replayed = response.replayed;
    if (rc == 0) {
        item->seq = response.credit->seq;
        return store_commit(child);
    }
    store_abort(child);
    return 0;
}

int account_credit_batch_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__CreditBatchRequest *batch = request->credit_batch;
    if (batch->n_credits == 0 || batch->n_credits > CREDIT_BATCH_MAX)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "a batch holds 1 to %d credits",
                            CREDIT_BATCH_MAX);
    Famledger__CreditBatchReply *reply = ARENA_NEW(ctx->arena, Famledger__CreditBatchReply);
    famledger__credit_batch_reply__init(reply);
    reply->items = ARENA_ARRAY(ctx->arena, Famledger__CreditBatchItem *, batch->n_credits);
    for (size_t i = 0; i < batch->n_credits; i++) {
        Famledger__CreditBatchItem *item = ARENA_NEW(ctx->arena, Famledger__CreditBatchItem);
        famledger__credit_batch_item__init(item);
        int rc = credit_batch_one(ctx, batch->credits[i], item);
        if (rc)
            return request_fail(ctx, rc, "cannot record credit %zu of the batch", i + 1);
        reply->items[reply->n_items++] = item;
    }
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_CREDIT_BATCH;
    ctx->response->credit_batch = reply;
    return 0;
}
