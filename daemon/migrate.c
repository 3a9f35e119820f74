/* migrate.c -- a person brought over from a legacy system (MigrateRequest): registration, the
 * personal account and its balance on the day of migration, in one entry (PersonMigrated).
 *
 * A province moves tens of millions of people at once. One entry a person, instead of a
 * registration, an opening and a credit, is a third of the log and of the indexes; sent in
 * batches of a thousand, a migration runs at the pace of the disk. The row is its own
 * idempotency key (scope 'M', the person number), so that a migration stopped anywhere is
 * simply run again.
 */
#include "migrate.h"

#include "account.h"
#include "books.h"
#include "fl_limits.h"
#include "ledger.h"
#include "person.h"
#include "reference.h"
#include "state.h"

/* A replay is answered with the person as stored now. */
static int migrate_replay(struct request_ctx *ctx, const char *person_no)
{
    Famledger__Person *person;
    int rc = state_person_get(ctx->txn, ctx->arena, person_no, &person);
    if (rc != 1)
        return request_fail(ctx, FL_ERR_INTERNAL, "the migrated person %s is unreadable",
                            person_no);
    ctx->response->replayed = 1;
    return person_reply(ctx, person);
}

int migrate_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const Famledger__MigrateRequest *row = request->migrate;
    int rc = person_fields_validate(ctx, row->person_no, row->name, row->region, row->scheme);
    if (rc)
        return rc;
    bool employee = row->scheme == FAMLEDGER__SCHEME__SCHEME_EMPLOYEE;
    if (row->opening_balance_fen < 0 || row->opening_balance_fen > AMOUNT_FEN_MAX)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "opening_balance must be 0 to 100000000.00 yuan");
    if (!employee && row->opening_balance_fen != 0)
        return request_fail(ctx, FL_ERR_NOT_EMPLOYEE, "%s is insured under the resident scheme, "
                            "which has no personal account to hold a balance", row->person_no);

    struct reference_key key;
    uint8_t fingerprint[HASH_BYTES];
    uint64_t seq;
    rc = reference_lookup(ctx, 'M', "", row->person_no, &row->base, &key, fingerprint, &seq);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return migrate_replay(ctx, row->person_no);
    Famledger__Person *existing;
    rc = state_person_get(ctx->txn, ctx->arena, row->person_no, &existing);
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read person %s", row->person_no);
    if (rc == 1)
        return request_fail(ctx, FL_ERR_PERSON_EXISTS, "person %s is already registered (not by "
                            "this migration)", row->person_no);

    Famledger__PersonMigrated *migrated = ARENA_NEW(ctx->arena, Famledger__PersonMigrated);
    famledger__person_migrated__init(migrated);
    migrated->person_no = row->person_no;
    migrated->name = row->name;
    migrated->region = row->region;
    migrated->scheme = row->scheme;
    migrated->opening_balance_fen = row->opening_balance_fen;
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.body_case = FAMLEDGER__ENTRY__BODY_PERSON_MIGRATED;
    entry.person_migrated = migrated;
    /* The balance comes from the fund of the person's region, as an allocation does. */
    if (row->opening_balance_fen > 0) {
        books_post(ctx, &entry, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_FUND, row->region,
                   -row->opening_balance_fen);
        books_post(ctx, &entry, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_PERSONAL, row->person_no,
                   row->opening_balance_fen);
    }
    if ((rc = ledger_append(ctx, &entry)))
        return request_fail(ctx, rc, "cannot append to the ledger");

    Famledger__Person *person = ARENA_NEW(ctx->arena, Famledger__Person);
    famledger__person__init(person);
    person->person_no = row->person_no;
    person->name = row->name;
    person->region = row->region;
    person->scheme = row->scheme;
    person->status = FAMLEDGER__PERSON_STATUS__PERSON_ACTIVE;
    person->registered_seq = entry.seq;
    person->has_account = employee;
    if ((rc = state_person_put(ctx->txn, ctx->arena, person)))
        return request_fail(ctx, rc, "cannot store person %s", row->person_no);
    if (employee) {
        Famledger__Account account = FAMLEDGER__ACCOUNT__INIT;
        account.person_no = row->person_no;
        account.status = FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_OPEN;
        account.opened_seq = entry.seq;
        account.balance_fen = row->opening_balance_fen;
        account.credited_fen = row->opening_balance_fen;
        if ((rc = account_chain(ctx, &account, entry.seq)) ||
            (rc = state_account_put(ctx->txn, ctx->arena, &account)))
            return request_fail(ctx, rc, "cannot store the account of %s", row->person_no);
    }
    if ((rc = reference_record(ctx->txn, &key, fingerprint, entry.seq)))
        return request_fail(ctx, rc, "cannot record the migration of %s", row->person_no);
    return person_reply(ctx, person);
}
