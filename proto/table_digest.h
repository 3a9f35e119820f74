/* table_digest.h -- a derived table folded into one count and one sum, computed the same way by
 * famledgerd over what it stores (StateDigestRequest) and by verify over what the log says it
 * should store, so that a table of millions of records is compared without being sent.
 *
 * Each record holds items: a (key, 64-bit item) pair, its key being the record's owner (a
 * person's link, a holder's beneficiary, a reference and its entry). A digest counts the items
 * and sums a mix of each key and item, so it does not depend on the order they are added in,
 * and a missing, extra or changed item changes it (but for a collision of 64-bit sums: the
 * digest finds accidents of storage and code, not forgeries, which the hash chain covers).
 */
#ifndef FAMLEDGER_TABLE_DIGEST_H
#define FAMLEDGER_TABLE_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "famledger.pb-c.h"

/* The definition of the items and their hashes below: a daemon folds a table only for a
 * client of the same definition (StateDigestRequest.version), so that a ledgerctl and a
 * famledgerd of different releases never take each other's digests for a difference. */
#define TABLE_DIGEST_VERSION 1

struct table_digest {
    uint64_t count, sum;
};

/* A 64-bit hash of `size` bytes: the keys' hash here and in verify's tables. */
uint64_t table_digest_hash(const void *bytes, size_t size);

/* splitmix64's finaliser: items spread over 64 bits, so that sums of different sets differ. */
uint64_t table_digest_mix(uint64_t item);

/* Add one item under `key` to `digest`. */
void table_digest_add(struct table_digest *digest, const void *key, size_t key_bytes,
                      uint64_t item);

/* A big-endian u64, as keys and index values store sequence numbers. */
uint64_t table_digest_u64(const uint8_t in[8]);

/* The item of a chain's link: entry `seq`, whose owner's entry before it is `prev`. */
uint64_t table_digest_link(uint64_t seq, uint64_t prev);

/* The item of an account's figures, and of one relative's mutual-aid counts in it. */
uint64_t table_digest_account(int64_t balance_fen, int64_t credited_fen, int64_t debited_fen,
                              int status, uint64_t last_seq, int64_t held_fen);
uint64_t table_digest_aid(const char *beneficiary, uint32_t month, int64_t month_fen,
                          uint32_t year, int64_t year_fen);

/* The item of a person's flags, status (unspecified reads as active) and region. */
uint64_t table_digest_person(bool has_account, bool suspended, int status, const char *region);

/* Whether the stored records of `table` have items defined here. */
bool table_digest_known(Famledger__StateTable table);

typedef void (*table_digest_item_cb)(void *context, const uint8_t *key, size_t key_bytes,
                                     uint64_t item);

/* Give each item of one stored record of `table` to item_cb:
 * - account_links, merchant_links (seq ‖ owner -> prev): one, under the owner;
 * - references, patient_settlements (key -> seq ‖ ...): one, the seq under the key;
 * - funded (holder -> BindingList): one a beneficiary (the hash of its number), under the
 *   holder;
 * - accounts (Account): table_digest_account, and table_digest_aid for each relative's
 *   counts, under the account's person number;
 * - persons (Person): table_digest_person, under the person number.
 * These are what verify compares of each record: a digest that agrees stands for a walk that
 * finds nothing.
 * Returns 0, or -1 when the record does not read as one of the table (damaged, or a table
 * that table_digest_known refuses), with no item given. */
int table_digest_items(Famledger__StateTable table, const uint8_t *key, size_t key_bytes,
                       const uint8_t *value, size_t value_bytes, table_digest_item_cb item_cb,
                       void *context);

#endif
