/* table_digest.h -- a derived table folded into one count and one sum, computed the same way by
 * famledgerd over what it stores (StateDigestRequest) and by verify over what the log says it
 * should store, so that a table of millions of records is compared without being sent.
 *
 * Each record holds items: an owner (a person's link, a holder's beneficiary, a reference and
 * its entry) and the fields of what it holds. A digest counts the items and sums one term a
 * item, so it does not depend on the order they are added in. The term is SipHash-2-4
 * (libsodium's crypto_shorthash), keyed by a key drawn at random for each verify, of an
 * encoding of the owner and fields that no other item shares. Without the key nobody can tell
 * which records fold alike: a record changed on disk beforehand, with others changed to make up
 * for it, changes the digest but for a chance of 2^-64. (An unkeyed mix could be inverted:
 * whoever could write the file could have computed the compensating changes.)
 */
#ifndef FAMLEDGER_TABLE_DIGEST_H
#define FAMLEDGER_TABLE_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "famledger.pb-c.h"

/* The definition of the items and their terms below: a daemon folds a table only for a
 * client of the same definition (StateDigestRequest.version), so that a ledgerctl and a
 * famledgerd of different releases never take each other's digests for a difference.
 * 3: a person's item holds its scheme.
 * 4: a person's name, registration and suspension reason, an account's freeze reason, and
 *    every field of a holder's bindings.
 * 5: patient_links instead of patient_settlements, and the head of a patient's chain in the
 *    account or person record that keeps it (format 8).
 * 6: settlements: what each says, each refund it keeps, whether it is cancelled.
 * 7: wallet_links, each link with the wallet's balance after it (format 11). */
#define TABLE_DIGEST_VERSION 7

#define TABLE_DIGEST_KEY_BYTES 16
#define TABLE_DIGEST_FIELDS_MAX 6

struct table_digest_key {
    uint8_t bytes[TABLE_DIGEST_KEY_BYTES];
};

struct table_digest {
    uint64_t count, sum;
};

/* What one item holds: numbers as they are, and at most one text, in the term as it is (a
 * region, a person number; up to TABLE_DIGEST_TEXT_MAX bytes, a longer one by its keyed hash).
 * Other texts go in as fields through table_digest_text. An item of a table always has the
 * same number of fields, and a text or none. */
#define TABLE_DIGEST_TEXT_MAX 64
struct table_digest_item {
    size_t count;
    uint64_t fields[TABLE_DIGEST_FIELDS_MAX];
    const char *text; /* NUL-terminated, or NULL */
};

/* Start libsodium, before any digest is made: 0, or -1 when it cannot start. */
int table_digest_ready(void);

/* A fresh random key (libsodium's randombytes): 0, or -1 when libsodium cannot start. */
int table_digest_key_random(struct table_digest_key *key);

/* A 64-bit hash of `size` bytes, not keyed: for finding keys in verify's tables only, never
 * for a digest. */
uint64_t table_digest_hash(const void *bytes, size_t size);

/* The keyed hash (SipHash-2-4) of `size` bytes: for a fingerprint that must not be forgeable
 * by whoever wrote the stored side (verify's of a settlement). */
uint64_t table_digest_keyed(const struct table_digest_key *key, const void *bytes, size_t size);

/* The keyed hash of a NUL-terminated text, as a field of an item. */
uint64_t table_digest_text(const struct table_digest_key *key, const char *text);

/* The term of `item` under `owner`, and its addition to `digest`. */
uint64_t table_digest_term(const struct table_digest_key *key, const void *owner,
                           size_t owner_bytes, const struct table_digest_item *item);
void table_digest_add(struct table_digest *digest, const struct table_digest_key *key,
                      const void *owner, size_t owner_bytes, const struct table_digest_item *item);

/* An item of one number: a sequence number, an amount. */
struct table_digest_item table_digest_one(uint64_t value);

/* A big-endian u64, as keys and index values store sequence numbers. */
uint64_t table_digest_u64(const uint8_t in[8]);

/* The item of a chain's link: entry `seq`, whose owner's entry before it is `prev`. */
struct table_digest_item table_digest_link(uint64_t seq, uint64_t prev);
/* The item of a link of a wallet's chain: the same, and the wallet's balance after `seq`. */
struct table_digest_item table_digest_wallet_link(uint64_t seq, uint64_t prev,
                                                  int64_t balance_after_fen);

/* The item of an account's figures, and of one relative's mutual-aid counts in it. */
struct table_digest_item table_digest_account(int64_t balance_fen, int64_t credited_fen,
                                              int64_t debited_fen, int status,
                                              uint64_t last_seq, int64_t held_fen);
struct table_digest_item table_digest_aid(const char *beneficiary, uint32_t month,
                                          int64_t month_fen, uint32_t year, int64_t year_fen);

/* The item of a person's flags, status (unspecified reads as active), scheme and region. */
struct table_digest_item table_digest_person(bool has_account, bool suspended, int status,
                                             int scheme, const char *region);
/* The item of what a person was registered as: the entry that registered them, their name. */
struct table_digest_item table_digest_registered(uint64_t registered_seq, const char *name);
/* The item of why a person is suspended or an account frozen: a text that is not empty (none
 * without one). */
struct table_digest_item table_digest_reason(const char *reason);
/* The item of the head of a patient's chain (patient_links), in the account that keeps it, or
 * the person without one: none while they have had no settlement. */
struct table_digest_item table_digest_patient_head(uint64_t seq);

/* The keyed hash of every field of a binding (its holder, beneficiary, relation, evidence and
 * channel) with `bound_seq`, the entry that made it: a log entry's binding keeps 0 there. */
uint64_t table_digest_binding(const struct table_digest_key *key,
                              const Famledger__Binding *binding, uint64_t bound_seq);
/* The item of a binding in a holder's funded list: its table_digest_binding. */
struct table_digest_item table_digest_funded(uint64_t binding);

/* The most legs a settlement has (FL_LEGS_MAX: the own account, the wallet, each funder). */
#define TABLE_DIGEST_LEGS_MAX 18

/* The keyed hash of what a settlement says and no refund changes: its parties, reference,
 * amounts, category, time, hold and aid flag, and each leg's holder, amount, balance after and
 * kind (the first TABLE_DIGEST_LEGS_MAX legs, and how many there are). The settled entry's and
 * the stored record's must be the same: refunds give back to the stored legs, so a stored
 * record made to name another holder would pay them. */
uint64_t table_digest_settlement(const struct table_digest_key *key,
                                 const Famledger__Settlement *settlement);

/* The keyed hash of `message` as protobuf-c packs it (the same fields, the same bytes); 0 when
 * out of memory, which differs from what the other side computes. */
uint64_t table_digest_message(const struct table_digest_key *key,
                              const ProtobufCMessage *message);

/* The keyed hash of `refund` as a stored settlement keeps it: its id `refund_id` (a refund in
 * the log leaves out its own entry's seq). */
uint64_t table_digest_refund(const struct table_digest_key *key, const Famledger__Refund *refund,
                             uint64_t refund_id);

/* The items of a settlement, under its id (8 bytes big-endian, its key in the table): what it
 * says (table_digest_settlement), each refund it keeps (table_digest_refund), and one more
 * once it is cancelled. */
enum table_digest_settlement_part {
    TABLE_DIGEST_SETTLED = 1,
    TABLE_DIGEST_REFUND = 2,
    TABLE_DIGEST_CANCELLED = 3,
};
struct table_digest_item table_digest_settlement_part(enum table_digest_settlement_part part,
                                                      uint64_t hash);

/* Whether the stored records of `table` have items defined here. */
bool table_digest_known(Famledger__StateTable table);

typedef void (*table_digest_item_cb)(void *context, const uint8_t *owner, size_t owner_bytes,
                                     const struct table_digest_item *item);

/* Give each item of one stored record of `table` to item_cb (`key`: the digest's, for the
 * hashes of bindings):
 * - account_links, merchant_links, patient_links (seq ‖ owner -> prev): one, under the owner;
 * - wallet_links (seq ‖ person -> prev ‖ balance after): table_digest_wallet_link, under the
 *   person;
 * - references (key -> seq ‖ fingerprint): one, the seq under the key;
 * - funded (holder -> BindingList): table_digest_funded of each binding, under the holder;
 * - accounts (Account): table_digest_account, table_digest_aid for each relative's counts
 *   table_digest_reason of a freeze and table_digest_patient_head of the patient's chain,
 *   under the account's person number;
 * - persons (Person): table_digest_person, table_digest_registered, table_digest_reason of a
 *   suspension and table_digest_patient_head of the patient's chain, under the person number;
 * - settlements (id -> Settlement): table_digest_settlement_part of each part, under the id.
 *   A record is damaged unless it is whole in itself: its id is its key, it has no more legs
 *   than a settlement has (TABLE_DIGEST_LEGS_MAX), and each leg counts as
 *   given back what the refunds it keeps gave that holder (and that kind of leg), no less than
 *   nothing and no more than it paid, the legs together its refunded amount; every refund leg
 *   goes to one of its legs. verify then needs to keep nothing of a settlement but whether it
 *   is one, is cancelled and counted mutual aid.
 * These are what verify compares of each record: a digest that agrees stands for a walk that
 * finds nothing.
 * Returns 0, or -1 when the record does not read as one of the table (damaged, or a table
 * that table_digest_known refuses), with no item given. */
int table_digest_items(const struct table_digest_key *key, Famledger__StateTable table,
                       const uint8_t *record_key,
                       size_t record_key_bytes, const uint8_t *value, size_t value_bytes,
                       table_digest_item_cb item_cb, void *context);

#endif
