/* person.c -- insured persons: registration and lookup. */
#include "person.h"

#include "books.h"
#include "ledger.h"
#include "state.h"
#include "validate.h"

#include <string.h>

int person_require(struct request_ctx *ctx, const char *person_no, const char *role,
                   Famledger__Person **person)
{
    if (!validate_person_no(person_no)) {
        bool plain = strcmp(role, "person") == 0; /* not "the person's person number" */
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "the %s%sperson number must be 1 to 32 letters or digits",
                            plain ? "" : role, plain ? "" : "'s ");
    }
    int rc = state_person_get(ctx->txn, ctx->arena, person_no, person);
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read person %s", person_no);
    if (rc == 0)
        return request_fail(ctx, FL_ERR_UNKNOWN_PERSON, "%s %s is not registered", role,
                            person_no);
    return 0;
}

int person_require_insured(struct request_ctx *ctx, const Famledger__Person *person)
{
    if (person->status != FAMLEDGER__PERSON_STATUS__PERSON_MOVED_OUT &&
        person->status != FAMLEDGER__PERSON_STATUS__PERSON_OPTED_OUT)
        return 0;
    return request_fail(ctx, FL_ERR_PERSON_INACTIVE, "%s %s and is not insured here",
                        person->person_no,
                        person->status == FAMLEDGER__PERSON_STATUS__PERSON_MOVED_OUT
                            ? "moved out"
                            : "opted out");
}

int person_reply(struct request_ctx *ctx, Famledger__Person *person)
{
    Famledger__PersonReply *reply = ARENA_NEW(ctx->arena, Famledger__PersonReply);
    famledger__person_reply__init(reply);
    reply->person = person;
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_PERSON;
    ctx->response->person = reply;
    return 0;
}

int person_fields_validate(struct request_ctx *ctx, const char *person_no, const char *name,
                           const char *region, Famledger__Scheme scheme)
{
    if (!validate_person_no(person_no))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "person_no must be 1 to 32 letters or digits");
    if (!validate_name(name))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "name must be 1 to 128 bytes of UTF-8 without control characters");
    if (!validate_region(region))
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "region must be a 6-digit admdvs code, got '%s'", region);
    if (scheme != FAMLEDGER__SCHEME__SCHEME_EMPLOYEE && scheme != FAMLEDGER__SCHEME__SCHEME_RESIDENT)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "scheme must be employee or resident");
    return 0;
}

static int person_add_validate(struct request_ctx *ctx, const Famledger__PersonAddRequest *add)
{
    return person_fields_validate(ctx, add->person_no, add->name, add->region, add->scheme);
}

int person_add_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__PersonAddRequest *add = request->person_add;
    int rc = person_add_validate(ctx, add);
    if (rc)
        return rc;
    Famledger__Person *existing;
    rc = state_person_get(ctx->txn, ctx->arena, add->person_no, &existing);
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read person %s", add->person_no);
    if (rc == 1)
        return request_fail(ctx, FL_ERR_PERSON_EXISTS, "person %s is already registered",
                            add->person_no);

    Famledger__PersonRegistered *registered = ARENA_NEW(ctx->arena, Famledger__PersonRegistered);
    famledger__person_registered__init(registered);
    registered->person_no = add->person_no;
    registered->name = add->name;
    registered->region = add->region;
    registered->scheme = add->scheme;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_PERSON_REGISTERED;
    entry.person_registered = registered;
    rc = ledger_append(ctx, &entry);
    if (rc)
        return request_fail(ctx, rc, "cannot append to the ledger");

    Famledger__Person *person = ARENA_NEW(ctx->arena, Famledger__Person);
    famledger__person__init(person);
    person->person_no = add->person_no;
    person->name = add->name;
    person->region = add->region;
    person->scheme = add->scheme;
    person->status = FAMLEDGER__PERSON_STATUS__PERSON_ACTIVE;
    person->registered_seq = entry.seq;
    rc = state_person_put(ctx->txn, ctx->arena, person);
    if (rc)
        return request_fail(ctx, rc, "cannot store person %s", add->person_no);
    return person_reply(ctx, person);
}

int person_get_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    Famledger__Person *person;
    int rc = person_require(ctx, request->person_get->person_no, "person", &person);
    if (rc || (rc = person_reply(ctx, person)))
        return rc;
    /* What the heirs at a counter ask first: how much is owed, before any payout. */
    rc = books_balance_get(ctx->txn, ctx->arena,
                           FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CASH_REFUND_DUE,
                           person->person_no, &ctx->response->person->cash_refund_due_fen);
    return rc ? request_fail(ctx, rc, "cannot read what is owed to %s", person->person_no) : 0;
}
