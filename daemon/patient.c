/* patient.c -- the settlements made for a patient, a chain (format 8). */
#include "patient.h"

#include "fl_limits.h"
#include "log.h"
#include "state.h"

#include <string.h>

/* The record that keeps the head of `patient_no`'s chain: their account when they have one. */
struct patient_home {
    Famledger__Person *person;
    Famledger__Account *account; /* NULL: the person keeps the head */
};

/* Read what `home` lacks of the patient's records: the person, then, when they have an
 * account, the account. */
static int patient_home_get(struct store_txn *txn, struct arena *arena, const char *patient_no,
                            struct patient_home *home)
{
    int rc = home->person ? 1 : state_person_get(txn, arena, patient_no, &home->person);
    const char *missing = "person";
    if (rc == 1 && !home->person->has_account)
        home->account = NULL;
    else if (rc == 1 && !home->account) {
        rc = state_account_get(txn, arena, patient_no, &home->account);
        missing = "account";
    }
    if (rc == 1)
        return 0;
    if (rc == 0)
        log_error("patient: %s has settlements but no %s record: the ledger is damaged",
                  patient_no, missing);
    return rc < 0 ? rc : FL_ERR_INTERNAL;
}

static uint64_t *patient_home_head(struct patient_home *home)
{
    return home->account ? &home->account->patient_last_seq : &home->person->patient_last_seq;
}

static int patient_home_put(struct store_txn *txn, struct arena *arena,
                            const struct patient_home *home)
{
    return home->account ? state_account_put(txn, arena, home->account)
                         : state_person_put(txn, arena, home->person);
}

int patient_chain(struct request_ctx *ctx, const char *patient_no, Famledger__Person *person,
                  Famledger__Account *account, bool account_stored, uint64_t seq)
{
    struct patient_home home = {.person = person, .account = account};
    /* An account a leg moves is the patient's: it keeps the head whatever else was read. */
    int rc = account_stored ? 0 : patient_home_get(ctx->txn, ctx->arena, patient_no, &home);
    if (rc)
        return rc;
    uint64_t *head = patient_home_head(&home);
    if (*head >= seq) { /* read from disk: damage, never the start of an abort */
        log_error("patient: the stored head of %s's settlements is entry %llu, not before %llu: "
                  "the ledger is damaged", patient_no, (unsigned long long)*head,
                  (unsigned long long)seq);
        return FL_ERR_INTERNAL;
    }
    if ((rc = store_chain_link(ctx->txn, STORE_DB_PATIENT_LINKS, seq, patient_no,
                               strlen(patient_no), *head)))
        return rc;
    *head = seq;
    return account_stored ? 0 : patient_home_put(ctx->txn, ctx->arena, &home);
}

int patient_head(struct request_ctx *ctx, const Famledger__Person *person, uint64_t *head)
{
    *head = person->patient_last_seq;
    if (!person->has_account)
        return 0;
    Famledger__Account *account;
    int rc = state_account_get(ctx->txn, ctx->arena, person->person_no, &account);
    if (rc == 1)
        *head = account->patient_last_seq;
    return rc == 1 ? 0
                   : request_fail(ctx, rc < 0 ? rc : FL_ERR_INTERNAL,
                                  "cannot read the account of %s", person->person_no);
}

int patient_page(struct request_ctx *ctx, const Famledger__Person *person, uint64_t cursor,
                 uint64_t *seqs, size_t seqs_max, size_t *count, uint64_t *next_cursor)
{
    uint64_t head;
    int rc = patient_head(ctx, person, &head);
    if (rc)
        return rc;
    rc = store_chain_page(ctx->txn, STORE_DB_PATIENT_LINKS, person->person_no,
                          strlen(person->person_no), head, cursor, true, seqs, seqs_max, count,
                          next_cursor);
    return rc ? request_fail(ctx, rc, "cannot read the settlements of %s", person->person_no)
              : 0;
}

/* ---- the upgrade to format 8 ---- */

struct settlements_fold {
    struct store_txn *txn;
    struct arena arena;
    char patient[PERSON_NO_BYTES_MAX + 1]; /* of the chain being linked */
    uint64_t last_seq;                     /* its last link, 0 before the first */
    uint64_t links, patients;
};

/* The chain before is complete: its head goes into the patient's account or person record. */
static int fold_chain_end(struct settlements_fold *fold)
{
    if (fold->last_seq == 0)
        return 0;
    struct patient_home home = {.person = NULL, .account = NULL};
    int rc = patient_home_get(fold->txn, &fold->arena, fold->patient, &home);
    if (rc == 0) {
        *patient_home_head(&home) = fold->last_seq;
        rc = patient_home_put(fold->txn, &fold->arena, &home);
    } else {
        log_error("store: the settlements of %s cannot be linked: restore the ledger from a "
                  "backup (docs/OPERATIONS.md)", fold->patient);
    }
    fold->last_seq = 0;
    fold->patients++;
    arena_reset(&fold->arena);
    return rc;
}

/* patient_settlements: patient -> each seq, ascending: each becomes a link. */
static int fold_link_row(void *context, const struct store_bytes *key,
                         const struct store_bytes *value)
{
    struct settlements_fold *fold = context;
    uint64_t seq = value->size == 8 ? store_u64_decode(value->data) : 0;
    if (key->size == 0 || key->size > PERSON_NO_BYTES_MAX || memchr(key->data, 0, key->size) ||
        seq == 0) {
        log_error("store: a record of patient_settlements (key of %zu bytes, value of %zu) is "
                  "not a patient and a settlement: the ledger is damaged. Restore it from a "
                  "backup (docs/OPERATIONS.md)", key->size, value->size);
        return FL_ERR_INTERNAL;
    }
    if (key->size != strlen(fold->patient) || memcmp(key->data, fold->patient, key->size) != 0) {
        int rc = fold_chain_end(fold);
        if (rc)
            return rc;
        memcpy(fold->patient, key->data, key->size);
        fold->patient[key->size] = '\0';
    }
    if (seq <= fold->last_seq) { /* LMDB keeps a key's values sorted: only damage does this */
        log_error("store: patient_settlements of %s holds entry %llu after %llu: the ledger is "
                  "damaged. Restore it from a backup (docs/OPERATIONS.md)", fold->patient,
                  (unsigned long long)seq, (unsigned long long)fold->last_seq);
        return FL_ERR_INTERNAL;
    }
    int rc = store_chain_link(fold->txn, STORE_DB_PATIENT_LINKS, seq, fold->patient, key->size,
                              fold->last_seq);
    fold->last_seq = seq;
    fold->links++;
    return rc;
}

int patient_settlements_fold(struct store_txn *txn)
{
    struct settlements_fold fold = {.txn = txn};
    arena_init(&fold.arena);
    int rc = store_retire(txn, "patient_settlements", true, fold_link_row, &fold);
    if (rc == 0)
        rc = fold_chain_end(&fold);
    if (rc == 0)
        log_info("store: patients' settlements as chains: %llu links, %llu patients",
                 (unsigned long long)fold.links, (unsigned long long)fold.patients);
    arena_free(&fold.arena);
    return rc;
}
