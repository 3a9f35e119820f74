/* state.h -- derived state kept beside the log: persons and accounts, as protobuf records.
 *
 * Everything here can be rebuilt by replaying the log; handlers update it in the same
 * transaction as the entry that changes it.
 */
#ifndef FAMLEDGER_STATE_H
#define FAMLEDGER_STATE_H

#include "arena.h"
#include "famledger.pb-c.h"
#include "store.h"

/* Each get returns 1 with *out (allocated in `arena`) when found, 0 when absent, or < 0. */
int state_person_get(struct store_txn *txn, struct arena *arena, const char *person_no,
                     Famledger__Person **out);
int state_person_put(struct store_txn *txn, struct arena *arena, const Famledger__Person *person);

int state_account_get(struct store_txn *txn, struct arena *arena, const char *person_no,
                      Famledger__Account **out);
int state_account_put(struct store_txn *txn, struct arena *arena,
                      const Famledger__Account *account);

/* The bindings of a person in STORE_DB_FUNDERS or STORE_DB_FUNDED: always returns a list (an
 * empty one when there is none), or < 0. */
int state_bindings_get(struct store_txn *txn, struct arena *arena, enum store_db db,
                       const char *person_no, Famledger__BindingList **out);
int state_bindings_put(struct store_txn *txn, struct arena *arena, enum store_db db,
                       const char *person_no, const Famledger__BindingList *list);

int state_merchant_get(struct store_txn *txn, struct arena *arena, const char *code,
                       Famledger__Merchant **out);
int state_merchant_put(struct store_txn *txn, struct arena *arena,
                       const Famledger__Merchant *merchant);

/* Any record of `db` under `key`, unpacked in `arena`: 1 found, 0 absent, FL_ERR_INTERNAL
 * (logged) when it does not decode, or another negative storage error. */
int state_record_get(struct store_txn *txn, struct arena *arena, enum store_db db,
                     const void *key, size_t key_bytes,
                     const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **out);

/* Pack any message into the arena and put it under `key`. */
int state_message_put(struct store_txn *txn, struct arena *arena, enum store_db db,
                      const void *key, size_t key_bytes, const ProtobufCMessage *message);

#endif
