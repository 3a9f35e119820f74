/* state.c -- derived state kept beside the log: persons and accounts. */
#include "state.h"

#include "famledger_status.h"
#include "log.h"
#include "require.h"
#include "validate.h"

#include <string.h>

int state_message_put(struct store_txn *txn, struct arena *arena, enum store_db db,
                      const void *key, size_t key_bytes, const ProtobufCMessage *message)
{
    size_t bytes = protobuf_c_message_get_packed_size(message);
    uint8_t *packed = arena_alloc(arena, bytes ? bytes : 1);
    REQUIRE(protobuf_c_message_pack(message, packed) == bytes);
    return store_put(txn, db, key, key_bytes, packed, bytes);
}

int state_record_get(struct store_txn *txn, struct arena *arena, enum store_db db,
                     const void *key, size_t key_bytes,
                     const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **out)
{
    struct store_bytes value;
    int rc = store_get(txn, db, key, key_bytes, &value);
    if (rc <= 0)
        return rc;
    *out = protobuf_c_message_unpack(descriptor, &arena->protobuf, value.size, value.data);
    if (*out)
        return 1;
    log_error("state: a stored %s record of %zu bytes is damaged", descriptor->short_name,
              value.size);
    return FL_ERR_INTERNAL;
}

static int state_message_get(struct store_txn *txn, struct arena *arena, enum store_db db,
                             const char *key, const ProtobufCMessageDescriptor *descriptor,
                             ProtobufCMessage **out)
{
    struct store_bytes value;
    int rc = store_get(txn, db, key, strlen(key), &value);
    if (rc <= 0)
        return rc;
    *out = protobuf_c_message_unpack(descriptor, &arena->protobuf, value.size, value.data);
    return *out ? 1 : FL_ERR_INTERNAL;
}

int state_person_get(struct store_txn *txn, struct arena *arena, const char *person_no,
                     Famledger__Person **out)
{
    int rc = state_message_get(txn, arena, STORE_DB_PERSONS, person_no,
                               &famledger__person__descriptor, (ProtobufCMessage **)out);
    /* Checked, not trusted, like an account: entries are built from what it says (the region
     * a withdrawal posts to), and must never be built from a damaged record. */
    if (rc == 1 &&
        (strcmp((*out)->person_no, person_no) != 0 || !validate_region((*out)->region))) {
        log_error("state: the stored person %s is damaged: it does not name itself, or has no "
                  "region", person_no);
        return FL_ERR_INTERNAL;
    }
    return rc;
}

int state_person_put(struct store_txn *txn, struct arena *arena, const Famledger__Person *person)
{
    return state_message_put(txn, arena, STORE_DB_PERSONS, person->person_no,
                             strlen(person->person_no), &person->base);
}

int state_account_get(struct store_txn *txn, struct arena *arena, const char *person_no,
                      Famledger__Account **out)
{
    int rc = state_message_get(txn, arena, STORE_DB_ACCOUNTS, person_no,
                               &famledger__account__descriptor, (ProtobufCMessage **)out);
    if (rc != 1)
        return rc;
    /* Data read from disk is checked, not trusted: a damaged record is an error, never the
     * start of an abort (REQUIRE guards what we write). */
    const Famledger__Account *account = *out;
    if (account->balance_fen < 0 || account->credited_fen < 0 || account->debited_fen < 0 ||
        account->held_fen < 0 || account->held_fen > account->balance_fen ||
        account->credited_fen - account->debited_fen != account->balance_fen ||
        /* every closing movement takes the whole balance */
        (account->status == FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_CLOSED && account->balance_fen) ||
        strcmp(account->person_no, person_no) != 0) {
        log_error("state: the stored account of %s is damaged (status %d, balance %lld, credited "
                  "%lld, debited %lld)", person_no, (int)account->status,
                  (long long)account->balance_fen, (long long)account->credited_fen,
                  (long long)account->debited_fen);
        return FL_ERR_INTERNAL;
    }
    return 1;
}

int state_account_put(struct store_txn *txn, struct arena *arena,
                      const Famledger__Account *account)
{
    /* The ledger's invariant: no balance is ever negative. */
    REQUIRE(account->balance_fen >= 0);
    return state_message_put(txn, arena, STORE_DB_ACCOUNTS, account->person_no,
                             strlen(account->person_no), &account->base);
}

int state_bindings_get(struct store_txn *txn, struct arena *arena, enum store_db db,
                       const char *person_no, Famledger__BindingList **out)
{
    int rc = state_message_get(txn, arena, db, person_no, &famledger__binding_list__descriptor,
                               (ProtobufCMessage **)out);
    if (rc == 0) {
        *out = ARENA_NEW(arena, Famledger__BindingList);
        famledger__binding_list__init(*out);
    }
    return rc < 0 ? rc : 0;
}

int state_bindings_put(struct store_txn *txn, struct arena *arena, enum store_db db,
                       const char *person_no, const Famledger__BindingList *list)
{
    return state_message_put(txn, arena, db, person_no, strlen(person_no), &list->base);
}

int state_merchant_get(struct store_txn *txn, struct arena *arena, const char *code,
                       Famledger__Merchant **out)
{
    int rc = state_message_get(txn, arena, STORE_DB_MERCHANTS, code,
                               &famledger__merchant__descriptor, (ProtobufCMessage **)out);
    if (rc == 1 && (strcmp((*out)->code, code) != 0 || !validate_region((*out)->region))) {
        log_error("state: the stored merchant %s is damaged: it does not name itself, or has "
                  "no region", code);
        return FL_ERR_INTERNAL;
    }
    return rc;
}

int state_merchant_put(struct store_txn *txn, struct arena *arena,
                       const Famledger__Merchant *merchant)
{
    return state_message_put(txn, arena, STORE_DB_MERCHANTS, merchant->code,
                             strlen(merchant->code), &merchant->base);
}
