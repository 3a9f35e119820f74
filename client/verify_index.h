/* verify_index.h -- what verify expects of each derived table, keyed, compared both ways.
 *
 * For every key of a table (a person's account entries, a day, a merchant's day, a reference,
 * a holder's funded list, a merchant) the replay of the log adds items (table_digest.h: the
 * fields of what the key holds) to an "expected" digest, the walk of the stored table adds its
 * items to a "stored" digest, and any key whose count or sum differs is named. Each item's term
 * is keyed by the verify's random key, so that no stored record could have been made to fold
 * like another. Memory grows with the number of keys, not with the number of items.
 */
#ifndef FAMLEDGER_VERIFY_INDEX_H
#define FAMLEDGER_VERIFY_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record_table.h"
#include "table_digest.h"

struct digest_record {
    uint8_t *key;
    size_t key_bytes;
    struct table_digest expected, stored;
};

/* A key's record, in the order keys came (record_table.h). Zeroed: empty, ready for keys once
 * `key` is set. */
struct digest_map {
    const char *name;    /* the table, for messages */
    const struct table_digest_key *key; /* of this verify's terms (table_digest.h) */
    struct record_table records;
    bool whole;                 /* one digest for the whole table (digest_map_whole) */
    bool periodic;              /* keyed for a period, then whole (digest_map_periodic) */
    struct digest_record total; /* that digest; its key is empty */
};

/* Keep one digest for all the table's items instead of one a key: no memory a key, so none
 * that grows with the ledger, and a difference is found but not placed (verify then replays
 * again with this table keyed, to name the key). Only for tables whose items are only ever
 * added with digest_add, never replaced (digest_set) or summed (digest_add_amount). */
void digest_map_whole(struct digest_map *map);

/* Sum amounts by key only while their period lasts, then keep each key's final sum as one item
 * of a whole digest (digest_fold): for the totals of a business day, which no entry moves once
 * the log is past the day. Memory is one period's keys; stored amounts go into the whole digest
 * at once. A difference is found but not placed, as with digest_map_whole. */
void digest_map_periodic(struct digest_map *map);

/* End the period of a periodic map: each key's expected sum becomes an item of the whole
 * digest, and the keys are forgotten. Nothing for any other map. */
void digest_fold(struct digest_map *map);

/* Add an item to the expected (or, with `stored`, the stored) digest of `key`. A stored item
 * under a key the log never made creates the key, with an empty expectation. Returns 0 or -1
 * (out of memory). */
int digest_add(struct digest_map *map, const void *key, size_t key_bytes,
               const struct table_digest_item *item, bool stored);

/* Add a signed amount to the sum of `key`: for balances and totals, where many postings make one
 * stored figure. The expected count of such a key is one row; each stored row counts one. */
int digest_add_amount(struct digest_map *map, const void *key, size_t key_bytes,
                      int64_t amount, bool stored);

/* The record of `key` whose expected sum the caller moves, as digest_add_amount would (one
 * expected row), made when new (*created says so): for several moves of one key, or moves that
 * depend on the sum so far, found once. NULL when out of memory. */
struct digest_record *digest_amount_record(struct digest_map *map, const void *key,
                                           size_t key_bytes, bool *created);

/* Make `item` the only expected item of `key` (a record that is replaced, not appended). */
int digest_set(struct digest_map *map, const void *key, size_t key_bytes,
               const struct table_digest_item *item);

/* Replace one expected item of `key`, `from`, by `to` (a merchant's status: one of two items). */
int digest_swap(struct digest_map *map, const void *key, size_t key_bytes,
                const struct table_digest_item *from, const struct table_digest_item *to);

/* The expected sum of `key` so far (0 when the key is unknown): for amounts replayed with a
 * floor (aid usage never goes below zero). */
int64_t digest_expected_amount(struct digest_map *map, const void *key, size_t key_bytes);

/* The first record whose digests differ, or NULL. */
const struct digest_record *digest_first_difference(const struct digest_map *map);

/* The key as text: NUL bytes shown as '/'. */
void digest_key_text(const struct digest_record *record, char *text, size_t text_bytes);

void digest_map_free(struct digest_map *map);

#endif
