/* state.c -- derived state kept beside the log: persons and accounts. */
#include "state.h"

#include "famledger_status.h"
#include "require.h"

#include <string.h>

int state_message_put(struct store_txn *txn, struct arena *arena, enum store_db db,
                      const void *key, size_t key_bytes, const ProtobufCMessage *message)
{
    size_t bytes = protobuf_c_message_get_packed_size(message);
    uint8_t *packed = arena_alloc(arena, bytes ? bytes : 1);
    REQUIRE(protobuf_c_message_pack(message, packed) == bytes);
    return store_put(txn, db, key, key_bytes, packed, bytes);
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
    return state_message_get(txn, arena, STORE_DB_PERSONS, person_no,
                             &famledger__person__descriptor, (ProtobufCMessage **)out);
}

int state_person_put(struct store_txn *txn, struct arena *arena, const Famledger__Person *person)
{
    return state_message_put(txn, arena, STORE_DB_PERSONS, person->person_no,
                             strlen(person->person_no), &person->base);
}

int state_account_get(struct store_txn *txn, struct arena *arena, const char *person_no,
                      Famledger__Account **out)
{
    return state_message_get(txn, arena, STORE_DB_ACCOUNTS, person_no,
                             &famledger__account__descriptor, (ProtobufCMessage **)out);
}

int state_account_put(struct store_txn *txn, struct arena *arena,
                      const Famledger__Account *account)
{
    /* The ledger's invariant: no balance is ever negative. */
    REQUIRE(account->balance_fen >= 0);
    return state_message_put(txn, arena, STORE_DB_ACCOUNTS, account->person_no,
                             strlen(account->person_no), &account->base);
}
